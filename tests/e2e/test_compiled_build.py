"""The optional mypyc-compiled copy (``make compiled``) trades exactly like the source.

Builds the copy as ``scripts/build_compiled.py`` does, then runs the default backtest on the
bundled sample through the CLI with and without it: the JSON reports must be identical
apart from the timings.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMINGS = ("elapsed_s", "events_per_s")


def _backtest(report: Path, pythonpath: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [sys.executable, "-m", "market_maker", "backtest", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(report.read_text())
    for key in TIMINGS:
        data["summary"].pop(key)
    return data


@pytest.mark.timeout(1200)  # compiling 24 modules takes 30-70 s on this machine
def test_the_compiled_copy_writes_the_same_report_as_the_source(tmp_path: Path) -> None:
    out = tmp_path / "compiled"
    build = subprocess.run(
        [sys.executable, str(ROOT / "scripts/build_compiled.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-5000:]
    probe = subprocess.run(
        [sys.executable, "-c", "import market_maker.slots.book as b; print(b.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(out)},
    )
    assert probe.stdout.strip().endswith(".so")  # the compiled module is the one imported
    assert not list((ROOT / "src").rglob("*.so"))  # the source tree was never touched

    compiled = _backtest(tmp_path / "compiled.json", out)
    pure = _backtest(tmp_path / "pure.json", None)
    assert compiled["summary"]["fills"] > 0
    assert compiled == pure
