r"""Build the optional compiled copy of the hot path (mypyc), beside the source tree.

Usage (from the repository root, after ``make`` installed .venv)::

    .venv/bin/python scripts/build_compiled.py [--out build/compiled]
    PYTHONPATH=build/compiled .venv/bin/market-maker backtest ...   # runs the compiled copy

Copies ``src/market_maker`` to ``OUT/market_maker`` and compiles the modules in ``MODULES``
there with mypyc (C extensions built with the machine's gcc; the code is already
``mypy --strict``). The source tree is never touched, so an edited ``.py`` is never shadowed
by a stale extension; ``PYTHONPATH`` puts the copy ahead of the editable install. Results
are identical to the pure-Python package (the test suite checks a backtest report byte for
byte); only the speed differs. Rebuild after changing the source, Python or mypy.

The ``@value`` types become native classes: mypyc compiles a class as a C extension type only
when it knows every decorator, so the copy spells ``@value`` as ``@dataclass(unsafe_hash=True)``
(what ``value`` builds outside the tests, less the ``__slots__`` a native class does not
need). Compiled code then reads their fields from the C struct instead of looking each one up
by name, about a tenth of a backtest's instructions. Like the production source they are
frozen for the type checker only; the test suite's truly frozen mode (``STRICT``) applies to
the source.

Left out on purpose: ``domain/values.py`` (a compiled function cannot carry the attribute
``dataclass_transform`` sets), ``domain/decimals.py`` (compiled argument checks would turn a
non-string into mypyc's ``TypeError`` instead of our ``InvalidDecimalError``),
``strategy/config.py`` and ``risk/config.py`` (pydantic models do not compile),
``engine/base.py`` (interpreted classes cannot subclass a compiled one, and observers are
subclassed everywhere) and everything outside the hot path. Compiled code checks
annotations at run time: ``backtest/replay.py`` types its venue by a protocol so that a
wrapped venue passes.
"""

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODULES = [
    "domain/__init__.py",
    "domain/enums.py",
    "domain/errors.py",
    "domain/instrument.py",
    "domain/market.py",
    "domain/orders.py",
    "exchanges/simulated.py",
    "slots/__init__.py",
    "slots/accounting.py",
    "slots/book.py",
    "slots/client_ids.py",
    "slots/machine.py",
    "slots/model.py",
    "strategy/__init__.py",
    "strategy/decide.py",
    "strategy/diff.py",
    "strategy/interval.py",
    "strategy/lattice.py",
    "strategy/planner.py",
    "strategy/sizing.py",
    "strategy/target.py",
    "engine/execution.py",
    "engine/order_log.py",
    "engine/grid.py",
    "engine/risk_gate.py",
    "engine/upkeep.py",
    "risk/__init__.py",
    "risk/breaker.py",
    "risk/checks.py",
    "risk/cleaner.py",
    "risk/events.py",
    "risk/layer.py",
    "risk/monitor.py",
    "risk/reconcile.py",
    "indicators/__init__.py",
    "indicators/atr.py",
    "backtest/replay.py",
    "backtest/result.py",
    "backtest/tick_replay.py",
    "data/candle_columns.py",
    "data/candles.py",
    "data/fields.py",
]


VALUE_IMPORT = "from market_maker.domain.values import value\n"
VALUE_DECORATOR = re.compile(r"^@value$", re.MULTILINE)


def native_values(text: str) -> str:
    """``text`` with ``@value`` spelled as the ``@dataclass`` mypyc knows (a native class)."""
    if not VALUE_DECORATOR.search(text):
        return text
    if VALUE_IMPORT not in text:
        raise SystemExit(f"a module uses @value without the line {VALUE_IMPORT!r}; import it so")
    text = text.replace(VALUE_IMPORT, "from dataclasses import dataclass\n")
    return VALUE_DECORATOR.sub("@dataclass(unsafe_hash=True)", text)


def build(out: Path) -> None:
    """Copy the package to ``out`` and compile ``MODULES`` in place there."""
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(
        ROOT / "src/market_maker",
        out / "market_maker",
        ignore=shutil.ignore_patterns("__pycache__", "*.so"),
    )
    files = [f"market_maker/{m}" for m in MODULES]
    for name in files:
        module = out / name
        module.write_text(native_values(module.read_text()))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mypyc", *files],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-20_000:] + done.stderr[-20_000:])
        raise SystemExit(f"mypyc failed (exit {done.returncode}); its output is above")
    shutil.rmtree(out / "build", ignore_errors=True)  # setuptools' intermediate files
    print(
        f"compiled {len(files)} modules into {out} in {time.perf_counter() - started:.0f} s; "
        f"run with PYTHONPATH={out}",
        file=sys.stderr,
    )


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build/compiled")
    build(parser.parse_args().out)


if __name__ == "__main__":
    main()
