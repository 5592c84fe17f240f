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
