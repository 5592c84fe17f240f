"""Live trading on replayed trade ticks: ``paper-exchange --trades`` and ``run --config``.

The paper exchange replays the bundled sample of 19,904 real Binance spot trades (about
11 minutes) one second of trade time per step, filling resting orders trade by trade; the
bot trades through the unmodified ccxt ``binance`` class and its websocket streams,
deciding on each ticker the exchange pushes. At the end the bot's books must equal the
exchange's ledger to the last digit, and every fill must carry the time of a real trade
at the order's limit price (a trade replay fills on prints, not on candle ranges).
"""

from pathlib import Path
from typing import Any

import pytest

from market_maker.config.loader import load_config
from market_maker.data.sample import sample_trades_path
from market_maker.data.trades import load_trades
from tests.support.paper_process import (
    checked_books,
    live_config,
    paper_exchange_process,
    trade_to_the_end,
)

pytestmark = pytest.mark.timeout(180)

SPEED = 40.0
"""Steps (seconds of trade time) per second of the replay: 651 steps in about 16 s."""
TICKS: dict[str, dict[str, Any]] = {
    "grid": {
        "mode": "long",
        "spacing": "arithmetic",
        "base_interval": "20",
        "buy_window": 8,
        "sell_window": 8,
        "order_qty": "0.001",
        "max_inventory": "0.012",
        "skew_factor": "0.0005",
        "safety_buffer": "0.1",
        "requote_tolerance": "0.25",
    },
    "instrument": {
        "tick_size": "0.01",
        "step_size": "0.00001",
        "min_qty": "0.00001",
        "min_notional": "5",
    },
    "backtest": {"initial_quote": "10000", "maker_fee": "0.0001", "taker_fee": "0.001"},
}
"""A fine spot grid (20 USDT levels) that the 11 minutes of the sample cross many times."""


def test_a_bot_trades_replayed_ticks_and_its_books_equal_the_ledger(tmp_path: Path) -> None:
    grid, instrument, backtest = TICKS["grid"], TICKS["instrument"], TICKS["backtest"]
    exchange_config = live_config(
        tmp_path,
        None,
        "spot",
        name="exchange.yaml",
        grid=grid,
        instrument=instrument,
        backtest=backtest,
    )
    with paper_exchange_process(
        tmp_path, "spot", config=exchange_config, extra=("--trades", "sample")
    ) as px:
        assert any("19,904 trades (651 steps of 1000 ms)" in line for line in px.lines)
        config_path = live_config(
            tmp_path, px.url, "spot", grid=grid, instrument=instrument, backtest=backtest
        )
        config = load_config(config_path)
        control = px.control
        bot = trade_to_the_end(config_path, tmp_path, control, SPEED)
        books, ledger = checked_books(config, control, bot)
    assert len(ledger.fills) >= 10 and books.realized_pnl != 0
    times = {t.ts_ms for t in load_trades(sample_trades_path(), symbol="BTC/USDT").trades}
    resting = [f for f in ledger.fills if f.ts_ms in times]
    # a resting order fills at its limit when a trade prints at or through it: at a real
    # trade's time (an order placed into the market fills at once, at market time instead)
    assert len(resting) >= len(ledger.fills) - 2, ledger.fills
    assert all(f.last_fill_price == f.price for f in resting)
