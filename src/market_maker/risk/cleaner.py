"""Order cleaner: which resting orders to cancel, decided from the book's view.

It reads the slot book only and sends nothing. (What HALTED cancels is the strategy's
business: its target holds no opening orders then, and closes per
``halted_closing_orders``.) Which orders it may select
("cancellable by the risk layer") is defined once, in ``is_cancellable``:

* the slot is ``LOCKED`` (the exchange acknowledged the order; a ``PENDING`` slot's outcome
  is unknown, so it is resolved first and considered on a later pass);
* the order's booked status is ``NEW`` or ``PARTIALLY_FILLED``;
* no cancel was already requested for it;
* it has no fill in flight: its client order id is not in ``in_flight``, the set of orders
  with exchange reports received but not yet applied to the book. A partially filled order
  is therefore only cancelled once every fill the bot has heard of is booked; fills that
  race the cancel arrive with the cancel report, whose cumulative figures the book books.

``OrderRecord`` carries no timestamp, so the age rule takes the placement time of each order
as a mapping ``client_order_id -> placed at (ms)``; an order missing from the mapping has an
unknown age and the age rule skips it.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from market_maker.domain.enums import OrderRole, OrderStatus, SlotStatus
from market_maker.domain.orders import CancelOrderRequest
from market_maker.risk.config import OrderCleanerConfig
from market_maker.slots.model import OrderRecord, Slot

_RESTING = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


@dataclass(frozen=True, slots=True)
class OrderCancel:
    """One order the risk layer wants cancelled.

    Attributes:
        level: Key of the slot that owns the order.
        client_order_id: Our id of the order.
        order_id: The exchange's id.
        reason: Why, with the numbers.
    """

    level: Decimal
    client_order_id: str
    order_id: str
    reason: str

    def to_request(self, symbol: str) -> CancelOrderRequest:
        """The cancel request to send for this decision."""
        return CancelOrderRequest(symbol, self.client_order_id, self.order_id)


def is_cancellable(slot: Slot, in_flight: Collection[str] = ()) -> bool:
    """True when the risk layer may cancel ``slot``'s order now (rules in the module doc)."""
    order = slot.order
    return (
        slot.status is SlotStatus.LOCKED
        and order is not None
        and order.status in _RESTING
        and not order.cancel_requested
        and order.client_order_id not in in_flight
    )


def clean_orders(
    slots: Mapping[Decimal, Slot],
    *,
    now_ms: int,
    price: Decimal,
    config: OrderCleanerConfig,
    placed_at_ms: Mapping[str, int],
    in_flight: Collection[str] = (),
) -> list[OrderCancel]:
    """Orders to cancel for age and for count, age first, then furthest from ``price`` first.

    Age rule: an order resting longer than ``max_order_age_s`` (strictly) is cancelled.
    Count rule: every order in flight that is not already being cancelled counts (opening
    and closing, pending or resting, as the exchange sees them); while the count exceeds
    ``max_open_orders``, the selectable order furthest from ``price`` is cancelled (ties: the
    lower client order id first). Closing orders are selectable only with
    ``include_closing_orders``.
    """
    selectable = [
        order
        for slot in slots.values()
        if is_cancellable(slot, in_flight)
        and (order := slot.order) is not None
        and (config.include_closing_orders or order.role is OrderRole.OPEN)
    ]
    out: list[OrderCancel] = []
    chosen: set[str] = set()
    if config.max_order_age_s:
        limit_ms = config.max_order_age_s * 1000
        for order in sorted(selectable, key=lambda o: o.level):
            placed = placed_at_ms.get(order.client_order_id)
            if placed is not None and now_ms - placed > limit_ms:
                age_s = Decimal(now_ms - placed) / 1000
                reason = f"resting {age_s}s, longer than max_order_age_s {config.max_order_age_s}"
                out.append(_cancel(order, reason))
                chosen.add(order.client_order_id)
    if config.max_open_orders:
        open_count = sum(
            1
            for slot in slots.values()
            if (o := slot.active_order) is not None
            and not o.cancel_requested
            and o.client_order_id not in chosen
        )
        excess = open_count - config.max_open_orders
        rest = [o for o in selectable if o.client_order_id not in chosen]
        rest.sort(key=lambda o: (-abs(o.price - price), o.client_order_id))
        for order in rest[: max(excess, 0)]:
            reason = (
                f"{open_count} open orders > max_open_orders {config.max_open_orders}; "
                f"{abs(order.price - price)} from price {price} is among the furthest"
            )
            out.append(_cancel(order, reason))
    return out


def _cancel(order: OrderRecord, reason: str) -> OrderCancel:
    return OrderCancel(order.level, order.client_order_id, order.order_id, reason)
