r"""Python opcodes one backtest executes, by function: where pure-Python time goes, exactly.

Usage (from the repository root, after ``make`` installed .venv)::

    PYTHONPATH=src .venv/bin/python benchmarks/opcodes.py --out now.json [--limit 10000]
    PYTHONPATH=<other checkout>/src .venv/bin/python benchmarks/opcodes.py --out before.json
    .venv/bin/python benchmarks/opcodes.py --compare before.json now.json

Instruction counts (``benchmarks/instructions.py``) say how much a version costs; they do not
say which Python function costs it, since the interpreter's own functions do the work.
This traces every opcode of one backtest (``sys.settrace`` with opcode events: about 50
times slower than a plain run, so the default is the first 10,000 candles) and counts them
per function; ``--compare`` prints the totals and the functions that changed most. Opcodes
are not time (a call costs more than an addition), but the same work gives the same count
on every run. It reports figures; it never passes or fails.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared/data/binance_spot_1m_2025/BTC_USDT-1m.csv"


def count(config: Path, data: Path, limit: int) -> Counter[str]:
    """Opcodes executed per ``file:function`` by one backtest of the first ``limit`` candles."""
    from market_maker.backtest.runner import run_backtest
    from market_maker.config.loader import load_config
    from market_maker.data.candles import load_candles

    settings = load_config(config)
    candles = load_candles(data, symbol=settings.symbol).candles[:limit]
    counts: Counter[str] = Counter()

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            code = frame.f_code
            counts[f"{code.co_filename.rpartition('/src/')[2]}:{code.co_name}"] += 1
        return local

    def start(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return local

    sys.settrace(start)
    try:
        run_backtest(settings, candles)
    finally:
        sys.settrace(None)
    return counts


def compare(before: Path, after: Path, top: int) -> None:
    """Print both totals and the ``top`` functions whose counts changed most."""
    old, new = (json.loads(path.read_text()) for path in (before, after))
    total_old, total_new = sum(old.values()), sum(new.values())
    print(f"opcodes: {total_old:,} -> {total_new:,} ({(total_new / total_old - 1) * 100:+.2f}%)")
    changes = {name: new.get(name, 0) - old.get(name, 0) for name in old.keys() | new.keys()}
    for name, change in sorted(changes.items(), key=lambda item: -abs(item[1]))[:top]:
        print(f"{change:+12,} {old.get(name, 0):12,} {new.get(name, 0):12,}  {name}")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "benchmarks/nautilus_equivalent.yaml")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=10_000)
    parser.add_argument("--out", type=Path, help="write the counts here (JSON)")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare, args.top)
        return
    if args.out is None:
        parser.error("give --out FILE (or --compare BEFORE AFTER)")
    counts = count(args.config, args.data, args.limit)
    args.out.write_text(json.dumps(dict(counts.most_common()), indent=0))
    print(f"{sum(counts.values()):,} opcodes in {len(counts)} functions -> {args.out}")


if __name__ == "__main__":
    main()
