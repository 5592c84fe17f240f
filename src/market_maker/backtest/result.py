"""What a backtest produces: the summary, every fill, and the sampled equity curve.

All money and quantities are ``Decimal``; the JSON report writes them as decimal strings.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_EQUITY_POINTS = 10_000
"""Most points an equity curve keeps, however long the run (even: see ``EquityCurve``)."""


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill as the bot booked it.

    Attributes:
        ts_ms: Event time (the candle's open time for candle backtests, the trade's time
            for tick backtests).
        side: ``BUY`` or ``SELL``.
        price: Average price of the booked quantity.
        qty: Quantity, base currency.
        fee: Fee, quote currency.
        liquidity: ``maker`` or ``taker``.
        client_order_id: The order's deterministic id.
        slot: Level of the slot that owns the order.
        realized_pnl: PnL this fill realised, before fees.
    """

    ts_ms: int
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    liquidity: str
    client_order_id: str
    slot: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class RiskEventRecord:
    """One change of the risk state.

    Attributes:
        ts_ms: Event time.
        kind: Why (e.g. ``volatility_anomaly``, ``consecutive_losses``, ``calm_recovery``).
        reason: Explanation with the numbers.
        state_before: Risk state of the component before (``NORMAL``, ``RISK_MODE``,
            ``HALTED``).
        state_after: Its state after.
    """

    ts_ms: int
    kind: str
    reason: str
    state_before: str
    state_after: str


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """One sample of the equity curve.

    Attributes:
        ts_ms: Event time.
        price: Mark price (candle close, or trade price on ticks).
        equity: Cash plus inventory at the mark, quote currency.
        inventory: Signed position, base currency.
        center: Grid center at that time (``None`` before the first decision).
        interval: Absolute price distance between levels at that time.
    """

    ts_ms: int
    price: Decimal
    equity: Decimal
    inventory: Decimal
    center: Decimal | None
    interval: Decimal | None


class EquityCurve:
    """An equity curve that never holds more than ``max_points`` points.

    The loops offer a *candidate* point every ``equity_sample_every`` events (ticks also
    thin by trade time) and keep every ``stride``-th candidate, ``stride`` starting at 1.
    When the curve is full, every other point is dropped and ``stride`` doubles, so the
    curve stays the one a run sampled every ``stride`` candidates from the start would
    have (evenly spaced), plus the run's last event, which is always added. A run with at
    most ``max_points`` candidates keeps all of them, as before the bound existed.
    """

    __slots__ = ("_candidates", "max_points", "points", "stride")

    def __init__(self, max_points: int = MAX_EQUITY_POINTS) -> None:
        if max_points < 2 or max_points % 2:
            raise ValueError(
                f"max_points: expected an even number of at least 2, found {max_points}"
            )
        self.max_points = max_points
        self.points: list[EquityPoint] = []
        self.stride = 1
        self._candidates = 0

    def due(self) -> bool:
        """Count one candidate; whether the curve keeps it (then ``add`` it)."""
        count = self._candidates
        self._candidates = count + 1
        return count % self.stride == 0

    def add(self, point: EquityPoint) -> None:
        """Append a kept candidate, or the run's last point; halve the curve when full."""
        points = self.points
        if len(points) >= self.max_points:
            del points[1::2]  # keeps candidates 0, 2s, 4s...: those of the doubled stride
            self.stride *= 2
        points.append(point)


@dataclass(frozen=True, slots=True)
class Summary:
    """Headline figures of a run (names as in the JSON report).

    ``events`` counts the market events replayed (candles, or trades on ticks; the report's
    ``data`` section says which) and ``events_per_s`` is their rate in wall-clock time.
    """

    symbol: str
    start_ms: int
    end_ms: int
    initial_equity: Decimal
    final_equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal
    return_pct: Decimal
    max_drawdown_pct: Decimal
    fills: int
    orders_placed: int
    orders_canceled: int
    max_inventory: Decimal
    final_inventory: Decimal
    volume_quote: Decimal
    events: int
    elapsed_s: float
    events_per_s: float


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """A complete backtest outcome.

    Attributes:
        summary: Headline figures.
        fills: Every fill, in order.
        equity_curve: Sampled every ``equity_sample_every`` events (at most 60) plus the
            last event; on trade ticks also at most once per ``equity_sample_ms`` of trade
            time (see ``tick_replay``). At most ``MAX_EQUITY_POINTS`` points: a longer
            run keeps every 2nd, 4th... sample (see ``EquityCurve``).
        initial_balances: Starting balances by asset (for replaying the fills).
        final_balances: Ending balances by asset.
        config: The effective configuration, JSON-ready.
        warnings: Problems worth a researcher's attention (e.g. failed safety checks).
        risk_events: Every change of the risk state, in order.
        extra: Further JSON-ready sections: ``data`` (``kind`` ``candles`` or ``trades``
            and how they were replayed), ``decisions``, ``safety_checks``,
            ``reconciliation``.
    """

    summary: Summary
    fills: list[FillRecord]
    equity_curve: list[EquityPoint]
    initial_balances: dict[str, Decimal]
    final_balances: dict[str, Decimal]
    config: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    risk_events: list[RiskEventRecord] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
