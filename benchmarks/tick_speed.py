r"""Backtest speed on trade ticks: trades per second, one decision per trade.

Usage (from the repository root, after ``make`` installed .venv)::

    .venv/bin/python benchmarks/tick_speed.py \\
        [--config src/market_maker/examples/ticks.yaml] [--trades PATH] [--candles 60] \\
        [--repeat 3] [--loops 1] [--keep-breaker]

Defaults: the packaged ticks example on the bundled sample (19,904 Binance spot BTC/USDT
trades, about 11 minutes). ``--loops N`` replays the sample N times back to back (each copy
shifted in time past the previous one), for a longer run and to see that memory stays flat.

The example's 10 USDT levels lose the 0.2% round-trip fees on every round trip, so its
loss breaker halts the grid about 3 minutes into the sample, and a halted grid decides
nothing: that would flatter the speed. The benchmark therefore switches the breaker's
loss count off unless ``--keep-breaker`` is given.

Prints one JSON line per run and a summary line (median and best of the runs): ``load_s``
(reading and checking the file), ``wall_s`` (the simulation only), ``trades_per_s``
(trades / wall_s), orders, cancels, fills, decisions and ``peak_rss_mb``. It reports
figures; it never passes or fails on time.
"""

import argparse
import dataclasses
import time
from pathlib import Path

from figures import print_run, print_summary

from market_maker.backtest.runner import run_trade_backtest
from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.data.sample import sample_trades_path
from market_maker.data.trades import Trade, load_trades

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "src/market_maker/examples/ticks.yaml"


def looped(trades: tuple[Trade, ...], loops: int) -> list[Trade]:
    """``trades`` repeated ``loops`` times, each copy one second after the previous one."""
    span = trades[-1].ts_ms - trades[0].ts_ms + 1000
    out: list[Trade] = []
    for n in range(loops):
        out += [
            dataclasses.replace(t, ts_ms=t.ts_ms + n * span, trade_id=f"{n}-{t.trade_id}")
            for t in trades
        ]
    return out


def without_loss_breaker(config: AppConfig) -> AppConfig:
    """``config`` with the breaker's consecutive-loss count switched off."""
    dumped = config.model_dump(mode="json")
    dumped["risk"]["breaker"]["max_consecutive_losses"] = 0
    return AppConfig.model_validate(dumped)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--trades", type=Path, default=None, help="default: the bundled sample")
    parser.add_argument("--candles", type=int, default=60, help="candle length, seconds")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loops", type=int, default=1, help="replay the file N times")
    parser.add_argument("--keep-breaker", action="store_true", help="leave the loss breaker on")
    args = parser.parse_args()

    config = load_config(args.config)
    if not args.keep_breaker:
        config = without_loss_breaker(config)
    path = args.trades if args.trades is not None else sample_trades_path()
    started = time.perf_counter()
    series = load_trades(path, symbol=config.symbol)
    load_s = time.perf_counter() - started
    trades = looped(series.trades, args.loops) if args.loops > 1 else list(series.trades)
    walls = []
    for _ in range(args.repeat):
        result = run_trade_backtest(config, trades, candle_s=args.candles)
        walls.append(result.summary.elapsed_s)
        print_run(
            result, len(trades), "trades", {"trades_file": str(path), "load_s": round(load_s, 3)}
        )
    print_summary(walls, len(trades), "trades")


if __name__ == "__main__":
    main()
