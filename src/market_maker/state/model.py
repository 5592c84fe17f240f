"""The complete state of one bot on one symbol (mirror of the ``State`` protobuf message)."""

from dataclasses import dataclass
from decimal import Decimal

from market_maker.domain.enums import RiskState
from market_maker.indicators.atr import AtrSnapshot
from market_maker.risk.layer import RiskLayerSnapshot
from market_maker.slots.book import SlotBook


@dataclass(slots=True)
class GridState:
    """Everything needed to resume a bot exactly where it stopped.

    Attributes:
        bot_id: Identifies the bot; prefix of its client order ids.
        symbol: Unified symbol traded.
        book: Slots, orders and PnL totals.
        anchor_price: Origin of the grid lattice (set at the first price, then fixed).
        last_price: Last market price seen.
        last_update_ms: Event time of the last market or order event applied.
        version: Monotonic; incremented by every persisted change.
        risk_state: Risk state the strategy last decided with.
        center_price: Grid center of the last decision.
        interval: Effective interval of the last decision (config unit).
        baseline_atr: ATR at which the interval equals the base interval, once known.
        atr: Incremental ATR state.
        position_offset: Base currency on the exchange outside the slots (set at the first
            reconciliation; corrected by later ones).
        risk_layer: The risk components' state (monitor, breaker, open round trips).
        last_trade_id: The venue's trade id of the newest own trade the reconciler booked
            (``None`` until its first consistent read); it reads the trade list after it.
    """

    bot_id: str
    symbol: str
    book: SlotBook
    anchor_price: Decimal | None = None
    last_price: Decimal | None = None
    last_update_ms: int = 0
    version: int = 0
    risk_state: RiskState = RiskState.NORMAL
    center_price: Decimal | None = None
    interval: Decimal | None = None
    baseline_atr: Decimal | None = None
    atr: AtrSnapshot | None = None
    position_offset: Decimal | None = None
    risk_layer: RiskLayerSnapshot | None = None
    last_trade_id: int | None = None
