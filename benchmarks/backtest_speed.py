r"""Backtest speed and peak memory on a full candle file.

Usage (from the repository root, after ``make`` installed .venv)::

    .venv/bin/python benchmarks/backtest_speed.py \\
        [--config benchmarks/nautilus_equivalent.yaml] \\
        [--data ../shared/data/binance_spot_1m_2025/BTC_USDT-1m.csv] [--repeat 3]

Prints one JSON line per run and a summary line (median and best of the runs: this
machine's speed varies by up to 50% from minute to minute, so compare figures taken back to
back): ``load_s`` (reading and checking the file), ``wall_s`` (the simulation only, like
``wall_s`` of ../shared/bench/nautilus_grid.py), ``candles_per_s`` (candles / wall_s),
orders, fills, PnL and ``peak_rss_mb`` (the process's peak resident memory). It reports
figures; it never passes or fails on time.
"""

import argparse
import time
from pathlib import Path

from figures import print_run, print_summary

from market_maker.backtest.runner import run_backtest
from market_maker.config.loader import load_config
from market_maker.data.candles import load_candles

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared/data/binance_spot_1m_2025/BTC_USDT-1m.csv"


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "benchmarks/nautilus_equivalent.yaml")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N candles")
    args = parser.parse_args()

    config = load_config(args.config)
    started = time.perf_counter()
    series = load_candles(args.data, symbol=config.symbol)
    load_s = time.perf_counter() - started
    candles = series.candles[: args.limit] if args.limit else series.candles
    walls = []
    for _ in range(args.repeat):
        result = run_backtest(config, candles)
        walls.append(result.summary.elapsed_s)
        print_run(
            result, len(candles), "candles", {"data": str(args.data), "load_s": round(load_s, 3)}
        )
    print_summary(walls, len(candles), "candles")


if __name__ == "__main__":
    main()
