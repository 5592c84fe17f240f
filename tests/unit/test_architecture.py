"""Imports point inward: the pure core never reaches out to the shell or to I/O."""

import ast
from pathlib import Path

import pytest

import market_maker

ROOT = Path(market_maker.__file__).parent
# Each pure package may import only itself and the packages listed for it.
ALLOWED = {
    "domain": {"domain"},
    "indicators": {"domain", "indicators"},
    "slots": {"domain", "indicators", "slots"},
    "strategy": {"domain", "indicators", "slots", "strategy"},
    "risk": {"domain", "indicators", "slots", "risk"},
}
THIRD_PARTY_ALLOWED = {"pydantic"}  # validated config models in strategy/config.py
FORBIDDEN_STDLIB = {
    "time",
    "datetime",
    "random",
    "os",
    "socket",
    "sqlite3",
    "subprocess",
    "threading",
    "asyncio",
    "uuid",
    "logging",
    "pathlib",
    "io",
}


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_pure_packages_import_inward_only(package: str) -> None:
    files = sorted((ROOT / package).glob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "market_maker":
                inner = name.split(".")[1]
                assert inner in ALLOWED[package], f"{path.name} imports {name}"
            else:
                assert top not in FORBIDDEN_STDLIB, f"{path.name} imports {name} (I/O or clock)"
                assert top in THIRD_PARTY_ALLOWED or _is_stdlib(top), f"{path.name}: {name}"


def _is_stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names


# -- the shell: third-party boundaries ------------------------------------------------------

SHELL_RULES: dict[str, tuple[str, ...]] = {
    # module (top-level import name) -> the only package prefixes that may import it
    "dbos": ("durable",),  # DBOS stays inside the durable engine
    "ccxt": ("exchanges.ccxt",),  # ccxt stays inside its exchange adapter
    "prometheus_client": ("ops",),  # metrics stay inside the operations package
}
NEVER_IMPORTS: dict[str, tuple[str, ...]] = {
    # package prefix -> market_maker packages it must not import
    "engine": ("durable",),  # the engine never knows how it is made durable
}
# Nothing imports the test suite or the development tooling.
FORBIDDEN_EVERYWHERE = ("tests", "support", "conftest", "devtools")


def shell_violations(root: Path) -> list[str]:
    """Every broken shell rule in the package at ``root``, as ``file: what``."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] == "pb":  # generated protobuf code
            continue
        dotted = ".".join(rel.with_suffix("").parts)
        for name in _imports(path):  # lazy imports inside functions included
            top = name.split(".")[0]
            allowed = SHELL_RULES.get(top)
            if allowed is not None and not any(
                dotted == p or dotted.startswith(p + ".") for p in allowed
            ):
                found.append(f"{rel}: imports {name} (only {', '.join(allowed)} may)")
            if top in FORBIDDEN_EVERYWHERE:
                found.append(f"{rel}: imports the test suite or tooling ({name})")
            if top == "market_maker" and "." in name:
                inner = name.split(".")[1]
                for package, banned in NEVER_IMPORTS.items():
                    if (dotted == package or dotted.startswith(package + ".")) and inner in banned:
                        found.append(f"{rel}: imports {name} ({package} never imports {inner})")
    return found


def test_the_shell_keeps_its_third_party_boundaries() -> None:
    assert shell_violations(ROOT) == []


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("engine/bad.py", "import dbos\n", "imports dbos"),
        ("cli/bad.py", "def f():\n    from dbos import DBOS\n", "imports dbos"),
        ("exchanges/bad.py", "import ccxt\n", "imports ccxt"),
        ("live/bad.py", "from prometheus_client import Counter\n", "imports prometheus_client"),
        ("engine/bad.py", "from market_maker.durable import engine\n", "engine never imports"),
        ("backtest/bad.py", "from support.market import execute\n", "the test suite"),
        ("state/bad.py", "from devtools.proto_doc import render\n", "the test suite"),
    ],
)
def test_a_broken_shell_rule_is_caught(
    tmp_path: Path, where: str, source: str, expected: str
) -> None:
    """The checker on a copy of the package with one rule broken reports exactly that file."""
    import shutil

    copy = tmp_path / "market_maker"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    (copy / where).write_text(source)
    found = shell_violations(copy)
    assert len(found) == 1 and found[0].startswith(where) and expected in found[0], found


def test_allowed_imports_are_not_reported(tmp_path: Path) -> None:
    (tmp_path / "durable").mkdir()
    (tmp_path / "durable" / "x.py").write_text("from dbos import DBOS\n")
    (tmp_path / "exchanges" / "ccxt").mkdir(parents=True)
    (tmp_path / "exchanges" / "ccxt" / "adapter.py").write_text("import ccxt\n")
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "metrics.py").write_text("import prometheus_client\n")
    assert shell_violations(tmp_path) == []


# -- no import cycles ---------------------------------------------------------------------


def _module_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (lazy and type-checking imports too)."""
    modules = {
        ".".join(p.relative_to(root).with_suffix("").parts): p
        for p in root.rglob("*.py")
        if p.relative_to(root).parts[0] != "pb"
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            found: list[str] = []
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for dotted in found:
                if dotted.startswith("market_maker."):
                    inner = dotted.removeprefix("market_maker.")
                    if inner in modules and not inner.endswith("__init__"):
                        targets.add(inner)
        graph[name] = targets - {name}
    return graph


def import_cycles(root: Path) -> list[list[str]]:
    """Every cycle of module imports in the package at ``root`` (one path per cycle)."""
    graph = _module_graph(root)
    cycles: list[list[str]] = []
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        if node in path:
            cycles.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            walk(nxt, [*path, node])
        done.add(node)

    for start in sorted(graph):
        walk(start, [])
    return cycles


def test_the_package_has_no_import_cycles() -> None:
    assert import_cycles(ROOT) == []


def test_an_import_cycle_is_caught(tmp_path: Path) -> None:
    """The workflows importing the durable execution (which imports them) is a cycle."""
    import shutil

    copy = tmp_path / "market_maker"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    workflows = copy / "durable" / "workflows.py"
    workflows.write_text(
        workflows.read_text() + "\nfrom market_maker.durable.execution import DurableExecution\n"
    )
    cycles = import_cycles(copy)
    assert cycles and all({"durable.workflows", "durable.execution"} <= set(c) for c in cycles)
