"""The risk package is pure: it imports only domain, slots, indicators and itself."""

import ast
import sys
from pathlib import Path

import market_maker.risk

ROOT = Path(market_maker.risk.__file__).parent
ALLOWED_INNER = {"domain", "slots", "indicators", "risk"}
FORBIDDEN_STDLIB = {
    "time", "datetime", "random", "os", "socket", "sqlite3", "subprocess", "threading",
    "asyncio", "uuid", "logging", "pathlib", "io",
}  # fmt: skip


def test_risk_imports_point_inward_only() -> None:
    files = sorted(ROOT.glob("*.py"))
    assert len(files) >= 7
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "market_maker":
                    assert parts[1] in ALLOWED_INNER, f"{path.name} imports {name}"
                else:
                    assert parts[0] not in FORBIDDEN_STDLIB, f"{path.name} imports {name}"
                    assert parts[0] == "pydantic" or parts[0] in sys.stdlib_module_names, name


def test_no_floats_in_the_risk_package() -> None:
    for path in sorted(ROOT.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        floats = [
            n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, float)
        ]
        calls = [
            n for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "float"
        ]  # fmt: skip
        assert not floats and not calls, f"{path.name} uses floats"
