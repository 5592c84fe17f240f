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
import json
import resource
import statistics
import time
from pathlib import Path

import market_maker.slots.book
from market_maker.backtest.runner import run_backtest
from market_maker.config.loader import load_config
from market_maker.data.candles import load_candles

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared/data/binance_spot_1m_2025/BTC_USDT-1m.csv"
# "compiled" when PYTHONPATH points at scripts/build_compiled.py's output (make bench-compiled).
BUILD = "compiled" if market_maker.slots.book.__file__.endswith(".so") else "pure Python"


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
        s = result.summary
        walls.append(s.elapsed_s)
        print(
            json.dumps(
                {
                    "data": str(args.data),
                    "build": BUILD,
                    "candles": len(candles),
                    "load_s": round(load_s, 3),
                    "wall_s": round(s.elapsed_s, 3),
                    "candles_per_s": round(len(candles) / s.elapsed_s),
                    "orders": s.orders_placed,
                    "cancels": s.orders_canceled,
                    "fills": s.fills,
                    "realized_pnl": str(s.realized_pnl),
                    "fees": str(s.fees_paid),
                    "decisions": result.extra.get("decisions"),
                    "peak_rss_mb": round(
                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                    ),
                }
            )
        )
    median, best = statistics.median(walls), min(walls)
    print(
        json.dumps(
            {
                "median_wall_s": round(median, 3),
                "median_candles_per_s": round(len(candles) / median),
                "best_wall_s": round(best, 3),
                "best_candles_per_s": round(len(candles) / best),
            }
        )
    )


if __name__ == "__main__":
    main()
