"""What a real venue records beyond the matching engine: trades, times, the entry price.

The simulated exchange reports cumulative order states. A Binance-like venue also numbers
every fill as a trade (per-symbol, increasing ids), stamps orders with creation and update
times, keeps the position's average entry price (USDⓈ-M serves it) and pushes each change
to the user-data streams. ``Journal`` derives all of it from the reports the simulated
exchange returns; ``PaperVenue`` feeds it under its lock, in the order things happen.

Times are **market time** (milliseconds since the epoch of the replayed candles), not wall
time: orders and trades line up with the klines a client reads.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import Liquidity, OrderStatus, Side
from market_maker.domain.market import Candle
from market_maker.domain.orders import OrderUpdate, PlaceOrderRequest


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill of one of our orders, as the venue numbers it.

    Attributes:
        id: Trade id, increasing from 1 (one symbol per venue, so per-symbol too).
        order_id: The venue's id of the order.
        client_order_id: The order's client id.
        side: Side of our order.
        price: Fill price, quote currency.
        qty: Fill quantity, base currency.
        fee: Fee charged, quote currency.
        time_ms: Market time of the fill.
        maker: True when our order rested (maker), False when it took.
        realized_pnl: Profit realized by this fill against the position's entry price
            (quote currency, before fees; 0 for a fill that opens or grows the position).
    """

    id: int
    order_id: str
    client_order_id: str
    side: Side
    price: Decimal
    qty: Decimal
    fee: Decimal
    time_ms: int
    maker: bool
    realized_pnl: Decimal


class EventKind(Enum):
    """What happened to an order (Binance's execution type)."""

    NEW = "NEW"
    """Accepted and resting (or about to fill at once)."""
    CANCELED = "CANCELED"
    """Cancelled by its owner."""
    EXPIRED = "EXPIRED"
    """Ended by the venue (a reduce-only order left with nothing to reduce)."""
    TRADE = "TRADE"
    """Filled in part or in full."""


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A change of one order, pushed to the user-data streams.

    Attributes:
        kind: What happened.
        request: The order as placed.
        update: Its state after the change (cumulative fields).
        trade: The fill, for ``TRADE``.
        created_ms: When the order was placed (market time).
        time_ms: When this change happened (market time).
    """

    kind: EventKind
    request: PlaceOrderRequest
    update: OrderUpdate
    trade: Trade | None
    created_ms: int
    time_ms: int


@dataclass(frozen=True, slots=True)
class CandleEvent:
    """A candle market time has just completed.

    Attributes:
        index: 1-based index of the candle in the replayed data.
        candle: The candle.
    """

    index: int
    candle: Candle


@dataclass(frozen=True, slots=True)
class OrderView:
    """One order as a venue answers a lookup.

    Attributes:
        request: The order as placed.
        update: Its current state.
        created_ms: When it was placed (market time).
        updated_ms: When it last changed (market time).
    """

    request: PlaceOrderRequest
    update: OrderUpdate
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True)
class TickEvent:
    """Market time has moved one step: what the ticker shows now.

    Attributes:
        time_ms: Market time after the step.
        closed: Candles closed so far.
        forming: The candle still forming (trade replays), ``None`` when none is.
    """

    time_ms: int
    closed: int
    forming: Candle | None


VenueEvent = OrderEvent | CandleEvent | TickEvent
"""Everything the venue pushes to its listeners, in the order it happened."""


@dataclass(slots=True)
class Position:
    """The signed position with its average entry price (netting, one-way mode).

    Attributes:
        qty: Signed base quantity (negative = short).
        entry_price: Average price of the open quantity (0 when flat).
        realized_pnl: Profit realized so far against the entry price, before fees.
    """

    qty: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO

    def apply(self, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        """Book a fill; return the profit it realized (0 when it opens or grows)."""
        signed = qty * side.sign
        if self.qty == 0 or (self.qty > 0) == (signed > 0):
            total = self.qty + signed
            self.entry_price = (self.entry_price * abs(self.qty) + price * qty) / abs(total)
            self.qty = total
            return ZERO
        closed = min(qty, abs(self.qty))
        direction = 1 if self.qty > 0 else -1
        realized = (price - self.entry_price) * closed * direction
        self.realized_pnl += realized
        self.qty += signed
        if self.qty == 0:
            self.entry_price = ZERO
        elif (self.qty > 0) != (direction > 0):
            self.entry_price = price  # flipped: the rest opened at this fill's price
        return realized


class Journal:
    """Trades, order times and the position, derived from the simulated exchange's reports.

    ``position`` starts at ``initial_position`` (the base balance the account starts
    with) at ``initial_price``.
    """

    def __init__(self, initial_position: Decimal = ZERO, initial_price: Decimal = ZERO) -> None:
        self.trades: list[Trade] = []
        self.position = Position(initial_position, initial_price if initial_position else ZERO)
        self.order_ids: dict[str, str] = {}  # venue order id -> client order id
        self.created_ms: dict[str, int] = {}  # client order id -> placement time
        self.updated_ms: dict[str, int] = {}  # client order id -> time of its latest change
        self.reasons: dict[str, str] = {}  # client order id -> why it was rejected or expired
        self.last_trade_ms = 0

    def client_id(self, order_id: str) -> str | None:
        """The client order id of the venue's order ``order_id``, or ``None``."""
        return self.order_ids.get(order_id)

    def view(self, request: PlaceOrderRequest, update: OrderUpdate, now_ms: int) -> OrderView:
        """``update`` of the order ``request`` with the times the journal holds."""
        created = self.created_ms.get(request.client_order_id, now_ms)
        updated = self.updated_ms.get(request.client_order_id, created)
        return OrderView(request, update, created, updated)

    def placed(self, request: PlaceOrderRequest, first: OrderUpdate, now_ms: int) -> None:
        """Note a newly booked order (accepted or rejected on its merits) and its time."""
        cid = request.client_order_id
        self.order_ids[first.order_id] = cid
        self.created_ms[cid] = now_ms
        self.updated_ms[cid] = now_ms
        if first.reject_reason:
            self.reasons[cid] = first.reject_reason

    def record(
        self, request: PlaceOrderRequest, report: OrderUpdate, now_ms: int
    ) -> OrderEvent | None:
        """Book one report of a booked order; the stream event it makes, if any.

        A fill becomes a numbered ``Trade`` and moves the position; a REJECTED report makes
        no event (Binance answers a refused order with an error and streams nothing).
        """
        cid = request.client_order_id
        created = self.created_ms.setdefault(cid, now_ms)
        self.updated_ms[cid] = now_ms
        if report.reject_reason:
            self.reasons[cid] = report.reject_reason
        if report.last_fill_qty > 0:
            price, qty = report.last_fill_price, report.last_fill_qty
            realized = self.position.apply(report.side, qty, price)
            trade = Trade(
                id=len(self.trades) + 1,
                order_id=report.order_id,
                client_order_id=cid,
                side=report.side,
                price=price,
                qty=qty,
                fee=report.last_fee,
                time_ms=now_ms,
                maker=report.liquidity is Liquidity.MAKER,
                realized_pnl=realized,
            )
            self.trades.append(trade)
            self.last_trade_ms = now_ms
            return OrderEvent(EventKind.TRADE, request, report, trade, created, now_ms)
        kind = _KINDS.get(report.status)
        if kind is None:
            return None
        return OrderEvent(kind, request, report, None, created, now_ms)


_KINDS = {
    OrderStatus.NEW: EventKind.NEW,
    OrderStatus.CANCELED: EventKind.CANCELED,
    OrderStatus.EXPIRED: EventKind.EXPIRED,
}
