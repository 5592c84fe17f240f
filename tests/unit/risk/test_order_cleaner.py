"""Order cleaner and halt plan: which resting orders the risk layer cancels."""

from decimal import Decimal

import pytest

from market_maker.domain.enums import OrderRole, OrderStatus, Side, SlotStatus
from market_maker.domain.orders import CancelOrderRequest
from market_maker.risk.cleaner import clean_orders, is_cancellable
from market_maker.risk.config import OrderCleanerConfig
from market_maker.slots.client_ids import make_client_order_id
from market_maker.slots.model import OrderRecord, Slot

D = Decimal
BOT, SYMBOL = "rk1", "BTC/USDT"
PRICE = D(100)


def slot(
    level: int | str,
    *,
    side: Side = Side.BUY,
    role: OrderRole = OrderRole.OPEN,
    status: SlotStatus = SlotStatus.LOCKED,
    order_status: OrderStatus | None = OrderStatus.NEW,
    price: int | str | None = None,
    position: int | str = 0,
    filled: str = "0",
    cancel_requested: bool = False,
    generation: int = 1,
) -> Slot:
    lvl = D(level)
    record = OrderRecord(
        client_order_id=make_client_order_id(BOT, SYMBOL, lvl, side, generation),
        level=lvl,
        side=side,
        role=role,
        price=D(price) if price is not None else lvl,
        qty=D(1),
        generation=generation,
        order_id=f"x{level}" if status is SlotStatus.LOCKED else "",
        status=order_status,
        filled_qty=D(filled),
        cancel_requested=cancel_requested,
    )
    return Slot(lvl, status=status, position_qty=D(position), generation=generation, order=record)


def book(*slots: Slot) -> dict[Decimal, Slot]:
    return {s.level: s for s in slots}


def cid(s: Slot) -> str:
    assert s.order is not None
    return s.order.client_order_id


def cfg(**kw: object) -> OrderCleanerConfig:
    return OrderCleanerConfig.model_validate(kw)


def test_everything_off_cancels_nothing() -> None:
    slots = book(slot(90), slot(80))
    placed = {cid(s): 0 for s in slots.values()}
    assert clean_orders(slots, now_ms=10**12, price=PRICE, config=cfg(), placed_at_ms=placed) == []


def test_age_rule_cancels_orders_strictly_older_than_the_limit() -> None:
    old, edge, young = slot(90), slot(80), slot(70)
    placed = {cid(old): 0, cid(edge): 1_000, cid(young): 50_000}
    out = clean_orders(
        book(old, edge, young),
        now_ms=61_000,
        price=PRICE,
        config=cfg(max_order_age_s=60),
        placed_at_ms=placed,
    )
    assert [c.client_order_id for c in out] == [cid(old)]
    assert out[0].level == 90
    assert out[0].order_id == "x90"
    assert "resting 61s, longer than max_order_age_s 60" in out[0].reason


def test_age_rule_skips_orders_with_unknown_placement_time() -> None:
    out = clean_orders(
        book(slot(90)), now_ms=10**12, price=PRICE, config=cfg(max_order_age_s=1), placed_at_ms={}
    )
    assert out == []


def test_closing_orders_are_left_alone_unless_configured() -> None:
    closing = slot(90, side=Side.SELL, role=OrderRole.CLOSE, position=1, price=110)
    placed = {cid(closing): 0}

    def clean(config: OrderCleanerConfig) -> list[str]:
        out = clean_orders(
            book(closing), now_ms=10**9, price=PRICE, config=config, placed_at_ms=placed
        )
        return [c.client_order_id for c in out]

    assert clean(cfg(max_order_age_s=1)) == []
    assert clean(cfg(max_order_age_s=1, include_closing_orders=True)) == [cid(closing)]


def test_trim_cancels_the_orders_furthest_from_the_price_first() -> None:
    slots = book(slot(99), slot(95), slot(80), slot(60), slot(130, side=Side.SELL, price=130))
    out = clean_orders(slots, now_ms=0, price=PRICE, config=cfg(max_open_orders=3), placed_at_ms={})
    assert [c.level for c in out] == [D(60), D(130)]  # 40 and 30 away
    assert "5 open orders > max_open_orders 3" in out[0].reason
    assert "40 from price 100" in out[0].reason


def test_trim_counts_pending_and_closing_orders_but_only_cancels_selectable_ones() -> None:
    pending = slot(98, status=SlotStatus.PENDING, order_status=None, generation=2)
    closing = slot(50, side=Side.SELL, role=OrderRole.CLOSE, position=1, price=200)
    slots = book(pending, closing, slot(97), slot(90))
    out = clean_orders(slots, now_ms=0, price=PRICE, config=cfg(max_open_orders=2), placed_at_ms={})
    # 4 orders count, 2 must go: the closing one (furthest) and the pending one are not
    # selectable, so the two opening ones go, furthest first.
    assert [c.level for c in out] == [D(90), D(97)]


def test_orders_already_being_cancelled_do_not_count_and_are_not_selected_again() -> None:
    going = slot(10, cancel_requested=True)
    slots = book(going, slot(99), slot(98))
    out = clean_orders(slots, now_ms=0, price=PRICE, config=cfg(max_open_orders=2), placed_at_ms={})
    assert out == []


def test_age_and_trim_together_never_select_an_order_twice() -> None:
    a, b, c = slot(60), slot(70), slot(99)
    placed = {cid(a): 0, cid(b): 10**9, cid(c): 10**9}
    out = clean_orders(
        book(a, b, c),
        now_ms=10**9,
        price=PRICE,
        config=cfg(max_order_age_s=60, max_open_orders=1),
        placed_at_ms=placed,
    )
    assert [x.level for x in out] == [D(60), D(70)]
    assert "max_order_age_s" in out[0].reason
    assert "max_open_orders" in out[1].reason
    assert "2 open orders" in out[1].reason  # the aged order no longer counts


def test_ties_in_distance_break_by_client_order_id() -> None:
    low, high = slot(90), slot(110, side=Side.SELL)
    out = clean_orders(
        book(high, low), now_ms=0, price=PRICE, config=cfg(max_open_orders=1), placed_at_ms={}
    )
    assert [x.client_order_id for x in out] == [min(cid(low), cid(high))]


@pytest.mark.parametrize(
    ("candidate", "cancellable"),
    [
        (slot(90), True),
        (slot(90, order_status=OrderStatus.PARTIALLY_FILLED, filled="0.4"), True),
        (slot(90, status=SlotStatus.PENDING, order_status=None), False),
        (slot(90, cancel_requested=True), False),
        (slot(90, order_status=OrderStatus.FILLED), False),
        (slot(90, status=SlotStatus.FREE, order_status=OrderStatus.CANCELED), False),
    ],
)
def test_what_the_risk_layer_may_cancel(candidate: Slot, cancellable: bool) -> None:
    assert is_cancellable(candidate) is cancellable


def test_an_order_with_a_fill_in_flight_waits_until_the_fill_is_booked() -> None:
    partial = slot(60, order_status=OrderStatus.PARTIALLY_FILLED, filled="0.4")
    slots = book(partial, slot(99))

    def clean(in_flight: set[str]) -> list[Decimal]:
        config = cfg(max_open_orders=1)
        out = clean_orders(
            slots, now_ms=0, price=PRICE, config=config, placed_at_ms={}, in_flight=in_flight
        )
        return [x.level for x in out]

    assert clean({cid(partial)}) == [D(99)]  # the next furthest instead
    assert clean(set()) == [D(60)]


def test_cancel_decision_becomes_a_cancel_request() -> None:
    out = clean_orders(
        book(slot(60), slot(99)),
        now_ms=0,
        price=PRICE,
        config=cfg(max_open_orders=1),
        placed_at_ms={},
    )
    request = out[0].to_request(SYMBOL)
    assert request == CancelOrderRequest(SYMBOL, out[0].client_order_id, "x60")
