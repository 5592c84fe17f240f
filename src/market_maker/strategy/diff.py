"""Turn the difference between the target state and the slots into PLACE / CANCEL actions.

Declarative: whatever the slots hold (partial fills, drifted orders, leftovers from before a
restart), the diff moves them towards the target, and an order already close enough to its
target stays put (``requote_tolerance``) to keep queue position and spare rate limits.

One order per slot at a time: a slot whose order must be replaced is cancelled now and
filled again by a later decision, once the cancel is confirmed.
"""

from collections.abc import Mapping
from decimal import Decimal

from market_maker.domain.enums import OrderRole, OrderType, Side, SlotStatus, TimeInForce
from market_maker.domain.orders import (
    ActionKind,
    CancelOrderRequest,
    OrderAction,
    PlaceOrderRequest,
)
from market_maker.domain.values import value
from market_maker.slots.client_ids import make_client_order_id
from market_maker.slots.model import OrderRecord, Slot
from market_maker.strategy.target import TargetOrder, TargetState


def _matches(order: OrderRecord, target: TargetOrder, tolerance: Decimal) -> bool:
    if order.side is not target.side or order.role is not target.role:
        return False
    if abs(order.price - target.price) > tolerance:
        return False
    if order.post_only and not target.post_only:
        return False  # a passive order cannot stand in for a marketable one (a flatten)
    # A closing order must cover exactly the position it closes.
    return target.role is OrderRole.OPEN or order.remaining_qty == target.qty


def match_openings(
    targets: list[TargetOrder], orders: list[OrderRecord], tolerance: Decimal
) -> tuple[list[TargetOrder], list[OrderRecord]]:
    """Pair opening targets with resting opening orders (by level); return the unmatched of each.

    Both lists hold opening orders only, so matching is side and price within ``tolerance``.
    """
    if not orders or not targets:
        return list(targets), list(orders)
    free = {o.level: o for o in orders}  # one order per slot
    pending_targets: list[TargetOrder] = []
    for target in targets:  # exact level first: the common case with a static interval
        order = free.get(target.level)
        if (
            order is not None
            and order.side is target.side
            and abs(order.price - target.price) <= tolerance
        ):
            del free[target.level]
        else:
            pending_targets.append(target)
    unmatched: list[TargetOrder] = []
    for target in pending_targets:  # then the nearest resting order within tolerance
        best: OrderRecord | None = None
        for order in free.values():
            if _matches(order, target, tolerance) and (
                best is None or abs(order.price - target.price) < abs(best.price - target.price)
            ):
                best = order
        if best is None:
            unmatched.append(target)
        else:
            del free[best.level]
    return unmatched, list(free.values())


@value
class DiffResult:
    """The actions, and whether executing them as planned reaches the target.

    Attributes:
        actions: Cancels, then places.
        complete: Nothing was deferred: no stale order was left uncancelled (pending, or its
            cancel already in flight) and no target waited for a busy slot.
    """

    actions: list[OrderAction]
    complete: bool


def close_work(
    close: TargetOrder | None, order: OrderRecord | None, tolerance: Decimal
) -> tuple[OrderRecord | None, TargetOrder | None]:
    """What one slot's closing side needs: ``(stale close order, close to place)``.

    ``close`` is the slot's target closing order and ``order`` its active order. An active
    opening order is not judged here (the opening diff matches or cancels it).
    """
    if order is not None and order.role is OrderRole.CLOSE:
        if close is not None and _matches(order, close, tolerance):
            return None, None
        return order, close
    return None, close


def build_actions(
    stale: list[OrderRecord],
    to_place: list[TargetOrder],
    slots: Mapping[Decimal, Slot],
    *,
    price: Decimal,
    bot_id: str,
    symbol: str,
    next_generation: int,
) -> DiffResult:
    """Cancels of ``stale`` by level, then places of ``to_place`` nearest the price first.

    ``to_place`` must list closes by level, then unmatched buys, then sells, nearest first:
    the sort is stable, so that order breaks ties and fixes every client order id.
    """
    actions: list[OrderAction] = []
    complete = True
    for order in sorted(stale, key=lambda o: (o.level, o.client_order_id)):
        if slots[order.level].status is SlotStatus.LOCKED and not order.cancel_requested:
            cancel = CancelOrderRequest(symbol, order.client_order_id, order.order_id)
            actions.append(OrderAction(ActionKind.CANCEL, order.level, cancel=cancel))
        else:
            complete = False

    generation = next_generation
    # Nearest first; at one price the buy first (False sorts first; no enum `value` lookup).
    for t in sorted(to_place, key=lambda t: (abs(t.price - price), t.price, t.side is Side.SELL)):
        busy = slots.get(t.level)
        if busy is not None and busy.status is not SlotStatus.FREE:
            complete = False
            continue  # the slot's current order must finish (or be cancelled) first
        cid = make_client_order_id(bot_id, symbol, t.level, t.side, generation)
        place = PlaceOrderRequest(
            symbol,
            t.side,
            OrderType.LIMIT,
            TimeInForce.GTC,
            t.price,
            t.qty,
            t.post_only,
            t.reduce_only,
            cid,
        )
        actions.append(OrderAction(ActionKind.PLACE, t.level, place=place, generation=generation))
        generation += 1
    return DiffResult(actions, complete)


def diff_target(
    target: TargetState,
    slots: Mapping[Decimal, Slot],
    *,
    bot_id: str,
    symbol: str,
    next_generation: int,
    tolerance: Decimal,
) -> DiffResult:
    """Actions that move ``slots`` towards ``target``: cancels first, then places.

    The reference definition of the diff: it walks every slot. Engines use
    ``market_maker.strategy.planner.Planner``, which maintains the same result incrementally.

    Args:
        target: The strategy's target state.
        slots: Current slots by level.
        bot_id: For client order ids.
        symbol: For requests and client order ids.
        next_generation: Generation of the first order placed (the book's ``order_seq + 1``);
            each further place takes the next number.
        tolerance: Absolute price distance within which a resting order counts as on target.
    """
    closes = {t.level: t for t in target.closes}
    open_orders: dict[Side, list[OrderRecord]] = {Side.BUY: [], Side.SELL: []}
    stale: list[OrderRecord] = []
    to_place: list[TargetOrder] = []
    for level in sorted(slots.keys() | closes.keys()):
        slot = slots.get(level)
        order = slot.active_order if slot is not None else None
        if order is not None and order.role is OrderRole.OPEN:
            open_orders[order.side].append(order)
        old, new = close_work(closes.get(level), order, tolerance)
        if old is not None:
            stale.append(old)
        if new is not None:
            to_place.append(new)
    for side in Side:
        targets = [t for t in target.openings if t.side is side]
        unmatched, leftover = match_openings(targets, open_orders[side], tolerance)
        to_place += unmatched
        stale += leftover
    return build_actions(
        stale,
        to_place,
        slots,
        price=target.price,
        bot_id=bot_id,
        symbol=symbol,
        next_generation=next_generation,
    )
