"""The backtest's candle loop and its equity tracker (the hot path of every backtest).

Kept apart from the runner so that ``scripts/build_compiled.py`` can compile it: the venue
is typed by the ``ReplayVenue`` protocol (what the loop uses of the simulated exchange), so
a wrapped venue (tests wrap it to inject crashes) passes the compiled code's checks.
"""

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Protocol

from market_maker.backtest.result import MAX_EQUITY_POINTS, EquityCurve, EquityPoint
from market_maker.config.app import AppConfig
from market_maker.data.paths import split_candle
from market_maker.domain.decimals import ZERO
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import OrderUpdate
from market_maker.engine.base import Engine


class ReplayVenue(Protocol):
    """What the loop needs of the simulated exchange."""

    base: str
    quote: str

    @property
    def fill_count(self) -> int:
        """How many fill reports the venue has sent so far."""

    def total(self, asset: str) -> Decimal:
        """Free plus locked balance of ``asset``."""

    def on_candle(self, candle: Candle) -> list[OrderUpdate]:
        """Fill what the candle's path reaches; the reports, in order."""


class EquityTracker:
    """Equity, drawdown and inventory of the venue's account, marked candle by candle."""

    def __init__(
        self, exchange: ReplayVenue, initial: dict[str, Decimal], initial_equity: Decimal
    ) -> None:
        self.exchange = exchange
        self.initial_base = initial[exchange.base]
        self.peak = self.trough = initial_equity
        self.max_drawdown = ZERO
        self.max_inventory = ZERO
        self.inventory = self.cash = ZERO
        self._fills_seen = -1

    def mark(self, price: Decimal) -> Decimal:
        """Equity at ``price``; updates the drawdown and inventory extremes."""
        exchange = self.exchange
        if exchange.fill_count != self._fills_seen:  # balances only move on fills
            self._fills_seen = exchange.fill_count
            self.inventory = exchange.total(exchange.base)
            self.cash = exchange.total(exchange.quote)
            self.max_inventory = max(self.max_inventory, abs(self.inventory - self.initial_base))
        equity = self.cash + self.inventory * price
        if equity > self.peak:
            self.peak = self.trough = equity
        elif equity < self.trough:  # the deepest point since the peak sets its drawdown
            self.trough = equity
            peak = self.peak
            if peak > 0 and (dd := (peak - equity) / peak) > self.max_drawdown:
                self.max_drawdown = dd
        return equity


def replay(
    engine: Engine,
    exchange: ReplayVenue,
    candles: Sequence[Candle],
    config: AppConfig,
    resume_from: Candle | None,
    progress: Callable[[int], None] | None,
    progress_every: int,
    initial: dict[str, Decimal],
    initial_equity: Decimal,
    refine: int = 1,
    max_points: int = MAX_EQUITY_POINTS,
) -> tuple[list[EquityPoint], EquityTracker]:
    """Start the engine and feed it every candle; return the equity curve and tracker.

    The curve holds at most ``max_points`` points (``EquityCurve``).

    With ``refine`` above 1 each candle is walked as that many shorter candles along its
    path (``market_maker.data.paths.refine``): the venue fills and the engine decides at
    every piece, while the risk monitor and the ATR still get the whole candle, once, as a
    live bot gets one-minute candles and far finer prices.
    """
    engine.start()
    if resume_from is not None:
        engine.on_price_update(
            PriceUpdate(config.symbol, resume_from.close, resume_from.open_time_ms)
        )
    symbol = config.symbol
    sample_every = config.backtest.equity_sample_every
    curve = EquityCurve(max_points)
    due, keep = curve.due, curve.add
    on_order_update, on_candle, on_price = (
        engine.on_order_update,
        engine.on_candle,
        engine.on_price_update,
    )
    track = EquityTracker(exchange, initial, initial_equity)
    last = len(candles) - 1
    tick = config.instrument.tick_size
    for i, candle in enumerate(candles):
        piece = candle
        if refine > 1:
            pieces = split_candle(candle, refine, tick)
            piece = pieces.pop()
            for before in pieces:
                for report in exchange.on_candle(before):
                    on_order_update(report)
                on_price(PriceUpdate(symbol, before.close, before.open_time_ms))
                track.mark(before.close)
        reports = exchange.on_candle(piece)
        if reports:
            for report in reports:
                on_order_update(report)
        on_candle(candle)
        close = candle.close
        on_price(PriceUpdate(symbol, close, piece.open_time_ms))
        equity = track.mark(close)
        if (i % sample_every == 0 and due()) or i == last:
            state = engine.state
            keep(
                EquityPoint(
                    candle.open_time_ms,
                    close,
                    equity,
                    track.inventory,
                    state.center_price,
                    state.interval,
                )
            )
        if progress is not None and i % progress_every == 0:
            progress(i)
    return curve.points, track


__all__ = ["EquityTracker", "ReplayVenue", "replay"]
