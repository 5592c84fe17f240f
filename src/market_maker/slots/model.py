"""Slot and order-record values (mirrors of ``InventorySlot`` in the protobuf models).

Both are frozen: every change produces a new value, so a snapshot of the book is a cheap
shallow copy and nothing mutates a slot behind the book's back.
"""

from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import OrderRole, OrderStatus, PositionStatus, Side, SlotStatus
from market_maker.domain.values import value


@value
class OrderRecord:
    """One order of one slot, with everything booked from it so far.

    Attributes:
        client_order_id: Our deterministic id.
        level: Key of the slot the order belongs to.
        side: Buy or sell.
        role: Opens or closes the slot's position.
        price: Limit price.
        qty: Order quantity.
        generation: Order sequence number embedded in the client order id.
        order_id: The exchange's id ("" until acknowledged).
        status: Last exchange status; ``None`` while the outcome is unknown (write-ahead).
        filled_qty: Cumulative filled quantity booked.
        filled_quote: Cumulative filled quote value booked.
        fee: Cumulative fee booked, in quote currency.
        cancel_requested: A cancel was sent and its outcome is not yet known.
        post_only: Sent as post-only.
        reduce_only: Sent as reduce-only.
        reject_reason: Exchange's reason for a reject, or why the record was closed.
        placed_ms: Event time at which the order was recorded as sent (0 = unknown).
    """

    client_order_id: str
    level: Decimal
    side: Side
    role: OrderRole
    price: Decimal
    qty: Decimal
    generation: int
    order_id: str = ""
    status: OrderStatus | None = None
    filled_qty: Decimal = ZERO
    filled_quote: Decimal = ZERO
    fee: Decimal = ZERO
    cancel_requested: bool = False
    post_only: bool = True
    reduce_only: bool = False
    reject_reason: str = ""
    placed_ms: int = 0

    @property
    def is_active(self) -> bool:
        """True while the order may still rest on the exchange (pending or not terminal)."""
        return self.status is None or not self.status.is_terminal

    @property
    def remaining_qty(self) -> Decimal:
        """Quantity not yet filled."""
        return self.qty - self.filled_qty


@value
class Slot:
    """One grid level: the unit of locking, idempotency and accounting.

    Attributes:
        level: The grid level price; the slot's key.
        status: FREE, PENDING or LOCKED (see ``market_maker.slots.machine``).
        position_qty: Signed position held by this slot (shorts negative).
        cost_basis: Signed cost of the position: sum of signed opening notionals minus what
            closing fills removed. Kept instead of an average price so accounting is exact.
        realized_pnl: PnL realised by this slot's closing fills, before fees.
        fees_paid: Fees paid by this slot's fills, in quote currency.
        generation: Sequence number of the slot's latest order (0 before the first).
        post_only_fail_count: Consecutive post-only rejects (reset by an acknowledgement).
        order: The current order, or the last one when the slot is FREE.
    """

    level: Decimal
    status: SlotStatus = SlotStatus.FREE
    position_qty: Decimal = ZERO
    cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    generation: int = 0
    post_only_fail_count: int = 0
    order: OrderRecord | None = None

    @property
    def position_status(self) -> PositionStatus:
        """FILLED while the slot holds a position, EMPTY otherwise."""
        return PositionStatus.FILLED if self.position_qty else PositionStatus.EMPTY

    @property
    def entry_price(self) -> Decimal | None:
        """Average entry price of the position (derived from ``cost_basis``), or ``None``."""
        if not self.position_qty:
            return None
        return self.cost_basis / self.position_qty

    @property
    def active_order(self) -> OrderRecord | None:
        """The order in flight, if any."""
        if self.order is not None and self.status is not SlotStatus.FREE:
            return self.order
        return None

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """Mark-to-market PnL of the position at ``mark``."""
        return self.position_qty * mark - self.cost_basis
