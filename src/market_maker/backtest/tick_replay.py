"""The backtest's trade-tick loop: one decision per trade, candles built on the fly.

The tick counterpart of ``replay.py`` and, like it, compiled by ``scripts/build_compiled.py``;
the engine and the venue are typed by protocols (what the loop uses of them), so that a
wrapped engine or venue passes the compiled code's checks. Per trade, in this order:

1. the venue fills the resting orders the trade prints at or through (``on_trade``), and
   the engine books the reports;
2. when the trade opens a new bar of ``candle_s`` seconds, the finished bar goes to
   ``engine.on_candle`` (risk monitor, ATR), built by the ``CandleBuilder`` that
   ``market_maker.data.trades.trades_to_candles`` uses too; the last bar is handed over
   after the last trade;
3. the engine decides at the trade's price (``on_price_update``; its band skip makes the
   many unchanged decisions cheap).

Equity is marked at every trade (drawdown and inventory extremes are exact), but the curve
keeps a point only every ``equity_sample_every`` trades **and** at least ``sample_ms`` of
trade time after the previous point, plus the first and the last trade: a busy market
prints hundreds of trades a second, and a report of one point per trade would be mostly
noise. The curve holds at most ``max_points`` points (``EquityCurve``: a longer run keeps
every 2nd, 4th... of those samples).
"""

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Protocol

from market_maker.backtest.replay import EquityTracker, ReplayVenue
from market_maker.backtest.result import MAX_EQUITY_POINTS, EquityCurve, EquityPoint
from market_maker.config.app import AppConfig
from market_maker.data.trades import CandleBuilder, Trade
from market_maker.domain.market import PriceUpdate
from market_maker.domain.orders import OrderUpdate
from market_maker.engine.base import Engine

TRADE_SAMPLE_MS = 1000
"""Least trade time between two equity-curve points of a tick backtest, milliseconds."""


class TradeVenue(ReplayVenue, Protocol):
    """What the tick loop needs of the simulated exchange."""

    def on_trade(self, ts_ms: int, price: Decimal, qty: Decimal) -> list[OrderUpdate]:
        """Fill the resting orders one trade reaches; the reports, in order."""


def replay_trades(
    engine: Engine,
    exchange: TradeVenue,
    trades: Sequence[Trade],
    config: AppConfig,
    candle_s: int,
    progress: Callable[[int], None] | None,
    progress_every: int,
    initial: dict[str, Decimal],
    initial_equity: Decimal,
    sample_ms: int = TRADE_SAMPLE_MS,
    max_points: int = MAX_EQUITY_POINTS,
) -> tuple[list[EquityPoint], EquityTracker, int]:
    """Start the engine and feed it every trade.

    Returns:
        The equity curve, the tracker (drawdown, inventory) and the number of candles the
        engine received.
    """
    builder = CandleBuilder(config.symbol, candle_s)  # checks candle_s
    engine.start()
    symbol = config.symbol
    sample_every = config.backtest.equity_sample_every
    curve = EquityCurve(max_points)
    due, keep = curve.due, curve.add
    on_order_update, on_candle, on_price = (
        engine.on_order_update,
        engine.on_candle,
        engine.on_price_update,
    )
    on_trade = exchange.on_trade
    track = EquityTracker(exchange, initial, initial_equity)
    last = len(trades) - 1
    bars = 0
    add = builder.add
    next_sample_ms = 0
    for i, trade in enumerate(trades):
        ts, price = trade.ts_ms, trade.price
        reports = on_trade(ts, price, trade.qty)
        if reports:
            for report in reports:
                on_order_update(report)
        if (finished := add(ts, price, trade.qty)) is not None:
            on_candle(finished)
            bars += 1
        on_price(PriceUpdate(symbol, price, ts))
        equity = track.mark(price)
        sample = i % sample_every == 0 and (i == 0 or ts >= next_sample_ms)
        if sample:
            next_sample_ms = ts + sample_ms
        if (sample and due()) or i == last:
            state = engine.state
            keep(
                EquityPoint(ts, price, equity, track.inventory, state.center_price, state.interval)
            )
        if progress is not None and i % progress_every == 0:
            progress(i)
    if (bar := builder.finish()) is not None:  # the data ends: as complete as it gets
        on_candle(bar)
        bars += 1
    return curve.points, track, bars


__all__ = ["TRADE_SAMPLE_MS", "TradeVenue", "replay_trades"]
