"""Technical-reference tables rendered from the code: interfaces and the Durable engine's tables.

An interface table lists every public member of a ``typing.Protocol`` class with its
signature and the first paragraph of its docstring, read from the module's source with
``ast`` (attribute docstrings, the string under an annotated attribute, exist only in the
source). The table of the Durable engine's tables lists every column of
``market_maker.durable.schema.metadata`` with the meaning kept in its ``info["doc"]``.
Both fail loudly when a member or a column has no documentation, so an undocumented
addition cannot reach the docs.
"""

import ast
import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa


class UndocumentedError(ValueError):
    """A public member or column the reference would list without a meaning."""


@dataclass(frozen=True)
class Member:
    """One public member of an interface."""

    name: str
    kind: str
    """``method``, ``property`` or ``attribute``."""
    signature: str
    doc: str


def _first_paragraph(doc: str) -> str:
    text = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    return text.replace("``", "`")


def _docstring_after(body: list[ast.stmt], index: int) -> str | None:
    if index + 1 < len(body):
        nxt = body[index + 1]
        if (
            isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            return nxt.value.value
    return None


def _signature(node: ast.FunctionDef) -> str:
    args = ast.unparse(node.args).replace("self, ", "").replace("self", "")
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"({args}){returns}".replace("'", "").replace('"', "")


def interface_members(qualified: str) -> list[Member]:
    """Public members of the class ``module.Class``, in source order, with their docs.

    Raises ``UndocumentedError`` naming every public member without a docstring.
    """
    module_name, _, class_name = qualified.rpartition(".")
    source = Path(inspect.getfile(importlib.import_module(module_name))).read_text("utf-8")
    classes = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.ClassDef) and n.name == class_name
    ]
    if not classes:
        raise ValueError(f"{qualified}: no such class in {module_name}")
    members: list[Member] = []
    missing: list[str] = []
    body = classes[0].body
    for i, node in enumerate(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, kind = node.target.id, "attribute"
            signature, doc = f": {ast.unparse(node.annotation)}", _docstring_after(body, i)
        elif isinstance(node, ast.FunctionDef):
            name = node.name
            decorators = {ast.unparse(d) for d in node.decorator_list}
            kind = "property" if "property" in decorators else "method"
            if kind == "property" and node.returns is not None:
                signature = f": {ast.unparse(node.returns)}".replace("'", "").replace('"', "")
            else:
                signature = _signature(node)
            doc = ast.get_docstring(node)
        else:
            continue
        if name.startswith("_"):
            continue
        if not doc:
            missing.append(name)
            continue
        members.append(Member(name, kind, signature, _first_paragraph(doc)))
    if missing:
        raise UndocumentedError(f"{qualified}: document {', '.join(missing)} (a docstring)")
    return members


def interface_table(qualified: str) -> str:
    """Markdown table of an interface's members: member, kind, signature, what it does."""
    lines = ["| member | kind | signature | what it is |", "|---|---|---|---|"]
    for m in interface_members(qualified):
        signature, doc = m.signature.replace("|", "\\|"), m.doc.replace("|", "\\|")
        lines.append(f"| `{m.name}` | {m.kind} | `{signature}` | {doc} |")
    return "\n".join(lines)


def durable_tables(metadata: sa.MetaData | None = None) -> str:
    """Markdown table of every column of the Durable engine's application tables.

    Raises ``UndocumentedError`` naming each column without ``info["doc"]``.
    """
    if metadata is None:
        from market_maker.durable.schema import metadata as schema_metadata

        metadata = schema_metadata
    lines = ["| table | column | type | key / null | meaning |", "|---|---|---|---|---|"]
    missing: list[str] = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        for column in table.columns:
            doc = column.info.get("doc")
            if not doc:
                missing.append(f"{table.name}.{column.name}")
                continue
            key = "primary" if column.primary_key else ("nullable" if column.nullable else "")
            lines.append(f"| `{table.name}` | `{column.name}` | `{column.type}` | {key} | {doc} |")
    if missing:
        raise UndocumentedError(
            f"document these columns with info={{'doc': ...}}: {', '.join(missing)}"
        )
    return "\n".join(lines)


def interface_tables() -> dict[str, Callable[[], str]]:
    """A generator of each interface table, by marker name (for ``docs_tables.GENERATORS``)."""
    return {name: functools.partial(interface_table, q) for name, q in INTERFACES.items()}


INTERFACES = {
    "engine-interface": "market_maker.engine.base.Engine",
    "store-interface": "market_maker.stores.base.Store",
    "exchange-interface": "market_maker.exchanges.base.Exchange",
    "ledger-port": "market_maker.engine.execution.Ledger",
}
"""Generated interface tables of the technical reference, by marker name."""
