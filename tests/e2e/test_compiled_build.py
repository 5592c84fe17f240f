"""The optional mypyc-compiled copy (``make compiled``) trades exactly like the source.

Builds the copy once as ``scripts/build_compiled.py`` does, then runs the default backtest
on the bundled sample through the CLI with and without it (the JSON reports must be
identical apart from the timings), and ``market-maker run`` from it against the paper
exchange through kills and restarts.
"""

import json
import os
import re
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


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled copy, built once for this module as ``make compiled`` builds it."""
    out = tmp_path_factory.mktemp("compiled") / "compiled"
    build = subprocess.run(
        [sys.executable, str(ROOT / "scripts/build_compiled.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-5000:]
    return out


def _module_file(module: str, pythonpath: Path) -> str:
    probe = subprocess.run(
        [sys.executable, "-c", f"import {module} as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(pythonpath)},
    )
    return probe.stdout.strip()


def _value_types() -> list[tuple[str, str]]:
    """(module, class) of every ``@value`` type in the source."""
    found = []
    for path in sorted((ROOT / "src/market_maker").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
        found += [
            (module, name) for name in re.findall(r"^@value\nclass (\w+)", path.read_text(), re.M)
        ]
    return found


@pytest.mark.timeout(1200)
def test_the_value_types_are_native_classes_in_the_compiled_copy(compiled: Path) -> None:
    """A native (C extension) class keeps its fields in the instance struct, so it has no
    ``__slots__`` in its namespace (the source's slotted classes do); it is still a
    dataclass with value equality and hashing."""
    types = _value_types()
    assert len(types) >= 16
    probe = "\n".join(
        [
            "import dataclasses, importlib, json, sys",
            "out = {}",
            "for module, name in json.loads(sys.argv[1]):",
            "    cls = getattr(importlib.import_module(module), name)",
            "    out[name] = ['__slots__' in vars(cls), dataclasses.is_dataclass(cls),",
            "                 cls.__hash__ is not None and cls.__eq__ is not object.__eq__]",
            "print(json.dumps(out))",
        ]
    )

    def shapes(pythonpath: Path) -> dict[str, list[bool]]:
        done = subprocess.run(
            [sys.executable, "-c", probe, json.dumps(types)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(pythonpath)},
        )
        found: dict[str, list[bool]] = json.loads(done.stdout)
        return found

    assert all(shape == [False, True, True] for shape in shapes(compiled).values())
    assert all(shape == [True, True, True] for shape in shapes(ROOT / "src").values())


@pytest.mark.timeout(1200)  # compiling the hot path takes 30-70 s on this machine
def test_the_compiled_copy_writes_the_same_report_as_the_source(
    compiled: Path, tmp_path: Path
) -> None:
    assert _module_file("market_maker.slots.book", compiled).endswith(".so")
    assert not list((ROOT / "src").rglob("*.so"))  # the source tree was never touched

    ours = _backtest(tmp_path / "compiled.json", compiled)
    pure = _backtest(tmp_path / "pure.json", None)
    assert ours["summary"]["fills"] > 0
    assert ours == pure


COMPILED_BEHAVIOUR_TESTS = (
    "tests/unit/test_candles.py",
    "tests/unit/test_bounded_memory.py",
    "tests/durable/test_order_log.py",
    "tests/unit/test_book.py",
    "tests/unit/test_identity_memo.py",
    "tests/unit/test_proto_convert.py",
)
"""Unit tests of modules whose compiled code could behave differently (mypyc checks types,
unpacks iterators and reads class attributes its own way): candle loading and columns, the
fill log, the engine and its order log, and the value types (native classes there) in the
slot book, the identity memo and the protobuf conversions."""
COMPILED_UNDER_TEST = (
    "market_maker.data.candles",
    "market_maker.data.candle_columns",
    "market_maker.data.fields",
    "market_maker.backtest.result",
    "market_maker.engine.order_log",
)


@pytest.mark.timeout(1200)
def test_the_compiled_modules_pass_their_unit_tests(compiled: Path) -> None:
    """The tests import the compiled copy (``PYTHONPATH``), and their modules are compiled."""
    for module in COMPILED_UNDER_TEST:
        assert _module_file(module, compiled).endswith(".so"), module
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
        + [str(ROOT / test) for test in COMPILED_BEHAVIOUR_TESTS],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(compiled)},
    )
    assert done.returncode == 0, done.stdout[-5000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


@pytest.mark.timeout(1200)
def test_the_compiled_copy_runs_the_durable_bot_through_kills_and_restarts(
    compiled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``market-maker run`` from the compiled copy: the compiled engine with the interpreted
    DBOS execution (an interpreted subclass of a compiled class could not even be
    imported). The crash harness starts the paper exchange and the bot as processes that
    inherit ``PYTHONPATH``, kills the bot three times, and audits its books against the
    exchange's ledger."""
    from market_maker.live.chaos import run_chaos

    assert _module_file("market_maker.engine.grid", compiled).endswith(".so")
    assert _module_file("market_maker.durable.execution", compiled).endswith(".py")
    monkeypatch.setenv("PYTHONPATH", str(compiled))
    report = run_chaos(3, seed=11, workdir=tmp_path / "chaos")
    assert report.violations == []
    assert report.cycles == 3 and report.orders > 0
