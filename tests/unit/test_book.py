"""Scenario tests of the slot book: each SPEC §5 rule, one at a time."""

from dataclasses import replace
from decimal import Decimal

import pytest

from market_maker.domain.enums import (
    OrderRole,
    OrderStatus,
    OrderType,
    PositionStatus,
    Side,
    SlotStatus,
    TimeInForce,
)
from market_maker.domain.errors import ClientOrderIdError, IllegalTransitionError
from market_maker.domain.orders import ActionKind, OrderAction, OrderUpdate, PlaceOrderRequest
from market_maker.slots.book import InvalidOrderUpdateError, SlotBook
from market_maker.slots.client_ids import make_client_order_id
from market_maker.slots.machine import SlotEvent
from support.market import Market

SYMBOL = "BTC/USDT"
L = Decimal(100)


def place(
    book: SlotBook,
    level: Decimal = L,
    side: Side = Side.BUY,
    qty: str = "1",
    price: Decimal | None = None,
    post_only: bool = True,
) -> OrderAction:
    cid = make_client_order_id(book.bot_id, SYMBOL, level, side, book.order_seq + 1)
    req = PlaceOrderRequest(
        SYMBOL,
        side,
        OrderType.LIMIT,
        TimeInForce.GTC,
        price if price is not None else level,
        Decimal(qty),
        post_only,
        False,
        cid,
    )
    action = OrderAction(ActionKind.PLACE, level, place=req)
    book.record_intent(action)
    return action


def overtaking(cancel: OrderUpdate) -> OrderUpdate:
    """The cancel report as it looks when it overtakes the report of an earlier fill."""
    return replace(cancel, cum_filled_qty=Decimal(0), cum_quote_qty=Decimal(0), cum_fee=Decimal(0))


@pytest.fixture
def book() -> SlotBook:
    return SlotBook("t1", SYMBOL)


@pytest.fixture
def market() -> Market:
    return Market(SYMBOL)


def test_intent_is_recorded_before_the_call(book: SlotBook) -> None:
    action = place(book)
    slot = book.slots[L]
    assert slot.status is SlotStatus.PENDING
    assert slot.order is not None and slot.order.status is None
    assert book.order_seq == 1 and slot.generation == 1
    assert book.find_order(action.client_order_id) == slot.order
    assert book.pending() == [slot]
    assert book.active_orders() == [slot.order]


def test_second_intent_on_a_busy_slot_is_illegal(book: SlotBook) -> None:
    place(book)
    with pytest.raises(IllegalTransitionError):
        place(book)


def test_generation_can_never_be_reused(book: SlotBook) -> None:
    action = place(book)
    book.resolve_absent(action.client_order_id)
    with pytest.raises(ClientOrderIdError, match="never be reused"):
        book.record_intent(action)


def test_ack_locks_and_duplicates_change_nothing(book: SlotBook, market: Market) -> None:
    action = place(book)
    assert action.place
    ack = market.place(action.place)
    result = book.apply_update(ack)
    assert result.event is SlotEvent.ACK and book.slots[L].status is SlotStatus.LOCKED
    before = book.slots[L]
    again = book.apply_update(ack)
    assert again.fills == () and book.slots[L] == before


def test_post_only_reject_frees_and_counts_then_ack_resets(book: SlotBook, market: Market) -> None:
    market.quote(Decimal(99))
    for n in (1, 2):
        action = place(book)
        assert action.place
        result = book.apply_update(market.place(action.place))
        assert result.event is SlotEvent.REJECT
        assert book.slots[L].status is SlotStatus.FREE
        assert book.slots[L].post_only_fail_count == n
    assert book.reset_post_only_failures() == 1
    assert book.slots[L].post_only_fail_count == 0
    book.slots[L] = replace(book.slots[L], post_only_fail_count=2)
    market.quote(Decimal(101))
    action = place(book)
    assert action.place
    book.apply_update(market.place(action.place))
    assert book.slots[L].post_only_fail_count == 0


def test_unknown_outcome_found_on_lookup_locks(book: SlotBook, market: Market) -> None:
    action = place(book)
    assert action.place
    market.place(action.place)  # reached the exchange, the report was lost
    (pending,) = book.pending()
    assert pending.order is not None
    found = market.orders[pending.order.client_order_id]
    book.apply_update(market.fill(found.request.client_order_id, Decimal("0.25")))
    assert book.slots[L].status is SlotStatus.LOCKED
    assert book.slots[L].position_qty == Decimal("0.25")


def test_unknown_outcome_absent_frees_and_a_late_report_is_an_orphan(
    book: SlotBook, market: Market
) -> None:
    action = place(book)
    assert action.place
    slot = book.resolve_absent(action.client_order_id)
    assert slot.status is SlotStatus.FREE and slot.order is None
    record = book.find_order(action.client_order_id)
    assert record is not None and record.status is OrderStatus.REJECTED
    late = book.apply_update(market.place(action.place))  # it did exist after all
    assert late.orphan and late.event is None


def test_partial_fills_book_the_delta_of_cumulative_quantity(
    book: SlotBook, market: Market
) -> None:
    action = place(book)
    assert action.place
    book.apply_update(market.place(action.place))
    first = market.fill(action.client_order_id, Decimal("0.3"))
    second = market.fill(action.client_order_id, Decimal("0.5"))
    r1 = book.apply_update(first)
    r2 = book.apply_update(second)
    assert [f.qty for f in (*r1.fills, *r2.fills)] == [Decimal("0.3"), Decimal("0.5")]
    assert book.apply_update(first).fills == ()  # stale
    slot = book.slots[L]
    assert slot.status is SlotStatus.LOCKED and slot.position_qty == Decimal("0.8")
    assert slot.fees_paid == Decimal("0.08") == book.fees_paid
    done = book.apply_update(market.fill(action.client_order_id, Decimal("0.2")))
    assert done.event is SlotEvent.FILL
    slot = book.slots[L]
    assert slot.status is SlotStatus.FREE and slot.position_status is PositionStatus.FILLED
    assert slot.entry_price == L and book.inventory == 1


def test_closing_fill_realises_pnl_and_empties_the_slot(book: SlotBook, market: Market) -> None:
    buy = place(book)
    assert buy.place
    book.apply_update(market.place(buy.place))
    book.apply_update(market.fill(buy.client_order_id, Decimal(1)))
    sell = place(book, side=Side.SELL, price=Decimal(110))
    assert sell.place
    assert book.slots[L].order is not None and book.slots[L].order.role is OrderRole.CLOSE
    book.apply_update(market.place(sell.place))
    result = book.apply_update(market.fill(sell.client_order_id, Decimal(1)))
    assert result.fills[0].realized_pnl == 10 and result.fills[0].price == 110
    slot = book.slots[L]
    assert slot.position_status is PositionStatus.EMPTY and slot.cost_basis == 0
    assert book.realized_pnl == 10 and book.fees_paid == Decimal("0.210")
    assert book.find_order(buy.client_order_id) is not None  # retired, still findable


def test_cancel_keeps_partial_fill_and_late_fill_after_cancel_is_booked(
    book: SlotBook, market: Market
) -> None:
    action = place(book)
    assert action.place
    book.apply_update(market.place(action.place))
    book.record_cancel_sent(L)
    assert book.slots[L].order is not None and book.slots[L].order.cancel_requested
    fill = market.fill(action.client_order_id, Decimal("0.4"))
    cancel = market.cancel(action.client_order_id)
    assert cancel is not None
    # The cancel report overtakes the fill report.
    assert book.apply_update(overtaking(cancel)).event is SlotEvent.CANCELED
    assert book.slots[L].status is SlotStatus.FREE and book.slots[L].position_qty == 0
    late = book.apply_update(fill)
    assert late.fills[0].qty == Decimal("0.4") and late.event is None
    assert book.slots[L].position_qty == Decimal("0.4")
    assert book.apply_update(cancel).fills == ()  # same cumulative figures: nothing new
    record = book.slots[L].order
    assert record is not None and record.status is OrderStatus.CANCELED


def test_late_fill_of_a_retired_order_lands_on_its_slot(book: SlotBook, market: Market) -> None:
    first = place(book)
    assert first.place
    book.apply_update(market.place(first.place))
    fill = market.fill(first.client_order_id, Decimal("0.5"))
    cancel = market.cancel(first.client_order_id)
    assert cancel is not None
    book.apply_update(overtaking(cancel))
    market.quote(Decimal(101))  # the market moved off the level: a buy there rests again
    second = place(book)  # the slot moves on, the first order retires
    assert second.place
    book.apply_update(market.place(second.place))
    result = book.apply_update(fill)
    assert result.level == L and result.fills[0].qty == Decimal("0.5")
    assert book.slots[L].position_qty == Decimal("0.5")
    assert book.slots[L].status is SlotStatus.LOCKED  # the current order is untouched


def test_unknown_orders_are_surfaced_not_applied(book: SlotBook) -> None:
    foreign = OrderUpdate(SYMBOL, "9", "someone-else", Side.BUY, OrderStatus.NEW, L, Decimal(1))
    ours = replace(foreign, client_order_id=make_client_order_id("t1", SYMBOL, L, Side.BUY, 7))
    assert book.apply_update(foreign).unknown and not book.is_ours("someone-else")
    assert book.apply_update(ours).unknown and book.is_ours(ours.client_order_id)
    assert len(book) == 0


def test_prune_drops_free_empty_slots_and_late_updates_recreate_them(
    book: SlotBook, market: Market
) -> None:
    action = place(book)
    assert action.place
    book.apply_update(market.place(action.place))
    fill = market.fill(action.client_order_id, Decimal("0.1"))
    cancel = market.cancel(action.client_order_id)
    assert cancel is not None
    book.apply_update(overtaking(cancel))
    other = place(book, level=Decimal(90))
    assert book.prune(keep=[]) == 1 and L not in book.slots and Decimal(90) in book.slots
    book.apply_update(fill)
    assert book.slots[L].position_qty == Decimal("0.1")
    assert other.client_order_id


def test_retired_memory_is_bounded() -> None:
    book = SlotBook("t1", SYMBOL, retired_limit=3)
    for _ in range(6):
        action = place(book)
        book.resolve_absent(action.client_order_id)
    assert len(book.retired) == 3


def test_retirements_nobody_takes_stay_bounded_and_lose_nothing_savable() -> None:
    """A store that never calls take_unsaved (the Simple engine's) must not grow the book."""
    book = SlotBook("t1", SYMBOL, retired_limit=3)
    ids = []
    for _ in range(200):
        action = place(book)
        ids.append(action.client_order_id)
        book.resolve_absent(action.client_order_id)
        assert len(book._unsaved_retired) <= 2 * book.retired_limit
    _, retired = book.take_unsaved()
    # Every id still savable (its record is kept) is reported; a few older ones may be too
    # (a store skips an id whose record is gone).
    assert set(book.retired) == set(ids[-3:]) <= set(retired)
    assert len(retired) <= 2 * book.retired_limit


def test_a_store_that_takes_retirements_gets_every_one() -> None:
    book = SlotBook("t1", SYMBOL, retired_limit=3)
    ids, taken = [], []
    for _ in range(50):
        action = place(book)
        ids.append(action.client_order_id)
        book.resolve_absent(action.client_order_id)
        taken += book.take_unsaved()[1]
    assert taken == ids  # each retired once its outcome was resolved


def test_release_frees_a_stuck_slot(book: SlotBook, market: Market) -> None:
    action = place(book)
    assert action.place
    book.apply_update(market.place(action.place))
    slot = book.release(L, "checked by hand: order gone")
    assert slot.status is SlotStatus.FREE
    record = book.find_order(action.client_order_id)
    assert record is not None and record.reject_reason == "checked by hand: order gone"
    with pytest.raises(ValueError, match="no order"):
        book.release(L, "again")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"side": Side.SELL}, "was sent as BUY"),
        ({"cum_filled_qty": Decimal(2), "cum_quote_qty": Decimal(200)}, "filled of an order"),
        ({"cum_filled_qty": Decimal(1), "cum_quote_qty": Decimal(0)}, "quote value"),
    ],
)
def test_self_contradicting_updates_are_refused(
    book: SlotBook, market: Market, change: dict[str, object], match: str
) -> None:
    action = place(book)
    assert action.place
    ack = market.place(action.place)
    with pytest.raises(InvalidOrderUpdateError, match=match):
        book.apply_update(replace(ack, **change))  # type: ignore[arg-type]
    assert book.slots[L].status is SlotStatus.PENDING


def test_record_intent_needs_a_place_action(book: SlotBook) -> None:
    with pytest.raises(ValueError, match="PLACE"):
        book.record_intent(OrderAction(ActionKind.CANCEL, L))


def test_unrealized_and_totals(book: SlotBook, market: Market) -> None:
    action = place(book, qty="2")
    assert action.place
    book.apply_update(market.place(action.place))
    book.apply_update(market.fill(action.client_order_id, Decimal(2)))
    assert book.unrealized_pnl(Decimal(105)) == 10
    assert list(book) == [book.slots[L]] and book.get(L) is book.slots[L]


def test_failed_cancel_can_be_resent(book: SlotBook, market: Market) -> None:
    action = place(book)
    assert action.place
    book.apply_update(market.place(action.place))
    book.record_cancel_sent(L)
    slot = book.record_cancel_failed(L)
    assert slot.order is not None and not slot.order.cancel_requested
    assert slot.status is SlotStatus.LOCKED
    assert book.record_cancel_failed(L) == slot  # nothing to clear: unchanged


def test_prune_keeps_slots_waiting_out_post_only_rejects(book: SlotBook, market: Market) -> None:
    market.quote(Decimal(99))
    action = place(book)
    assert action.place
    book.apply_update(market.place(action.place))  # post-only reject
    assert book.slots[L].post_only_fail_count == 1
    assert book.prune() == 0 and L in book.slots
