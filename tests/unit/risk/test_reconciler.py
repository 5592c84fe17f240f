"""Reconciler: every kind of divergence between the exchange and the slot book."""

from dataclasses import replace
from decimal import Decimal

import pytest

from market_maker.domain.enums import OrderRole, OrderStatus, Side, SlotStatus
from market_maker.domain.orders import OrderUpdate
from market_maker.risk.config import ReconcilerConfig, UnknownOrderPolicy
from market_maker.risk.reconcile import (
    AdoptOrder,
    BookUpdate,
    CancelUnknownOrder,
    CorrectPosition,
    Halt,
    QueryOrder,
    ReconcileResult,
    divergence_pct,
    reconcile,
)
from market_maker.slots.book import SlotBook
from market_maker.slots.client_ids import make_client_order_id
from market_maker.slots.model import OrderRecord, Slot
from support.states import place

D = Decimal
BOT, SYMBOL = "rk1", "BTC/USDT"
CANCEL = ReconcilerConfig()
ADOPT = ReconcilerConfig(unknown_orders=UnknownOrderPolicy.ADOPT)


def cid(level: int | str, side: Side = Side.BUY, generation: int = 1, bot: str = BOT) -> str:
    return make_client_order_id(bot, SYMBOL, D(level), side, generation)


def slot(
    level: int,
    *,
    side: Side = Side.BUY,
    status: SlotStatus = SlotStatus.LOCKED,
    order_status: OrderStatus | None = OrderStatus.NEW,
    position: str = "0",
    filled: str = "0",
    generation: int = 1,
    role: OrderRole = OrderRole.OPEN,
) -> Slot:
    record = OrderRecord(
        client_order_id=cid(level, side, generation),
        level=D(level),
        side=side,
        role=role,
        price=D(level),
        qty=D(1),
        generation=generation,
        order_id="" if order_status is None else f"x{generation}",
        status=order_status,
        filled_qty=D(filled),
        filled_quote=D(filled) * level,
    )
    return Slot(
        D(level), status=status, position_qty=D(position), generation=generation, order=record
    )


def report(
    client_order_id: str,
    status: OrderStatus = OrderStatus.NEW,
    *,
    side: Side = Side.BUY,
    price: str = "90",
    filled: str = "0",
    fee: str = "0",
    order_id: str = "x1",
) -> OrderUpdate:
    return OrderUpdate(
        SYMBOL,
        order_id,
        client_order_id,
        side,
        status,
        D(price),
        D(1),
        cum_filled_qty=D(filled),
        cum_quote_qty=D(filled) * D(price),
        cum_fee=D(fee),
    )


def mirror(s: Slot) -> OrderUpdate:
    """The exchange's report of a slot's order, exactly as the book has it."""
    o = s.order
    assert o is not None and o.status is not None
    filled = str(o.filled_qty)
    return report(
        o.client_order_id,
        o.status,
        side=o.side,
        price=str(o.price),
        filled=filled,
        order_id=o.order_id,
    )


def run(
    slots: list[Slot],
    open_orders: list[OrderUpdate],
    *,
    config: ReconcilerConfig = CANCEL,
    recent: list[OrderUpdate] | None = None,
    position: str | None = None,
    offset: str = "0",
    divergent_checks: int | None = None,
) -> ReconcileResult:
    """The verdict; by default on a divergence already seen as often as confirmation needs."""
    if divergent_checks is None:
        divergent_checks = config.divergence_confirmations - 1
    return reconcile(
        {s.level: s for s in slots},
        bot_id=BOT,
        symbol=SYMBOL,
        open_orders=open_orders,
        config=config,
        recent_reports=recent or [],
        exchange_position=D(position) if position is not None else None,
        position_offset=D(offset),
        divergent_checks=divergent_checks,
    )


def test_a_book_in_step_with_the_exchange_needs_nothing() -> None:
    slots = [
        slot(90),
        slot(80, order_status=OrderStatus.PARTIALLY_FILLED, filled="0.5", position="0.5"),
    ]
    result = run(slots, [mirror(s) for s in slots], position="0.5")
    assert result.corrections == ()
    assert result.foreign_orders == 0
    assert result.position_checked
    assert result.halt is None


def test_foreign_orders_are_left_alone_and_counted() -> None:
    foreign = [
        report("manual-order-1"),
        report(cid(90, bot="zz9")),  # another bot on the same symbol
        report(make_client_order_id(BOT, "ETH/USDT", D(90), Side.BUY, 1)),  # us, other market
    ]
    result = run([], foreign, config=ADOPT, position="0")
    assert result.corrections == ()
    assert result.foreign_orders == 3


def test_unknown_order_of_ours_is_cancelled_by_default() -> None:
    stray = report(cid(85, generation=7), order_id="ex-7")
    (correction,) = run([], [stray]).corrections
    assert correction == CancelUnknownOrder(cid(85, generation=7), "ex-7", correction.reason)
    assert "not known to any slot; policy cancel" in correction.reason


def test_unknown_order_of_ours_is_adopted_into_the_slot_its_id_names() -> None:
    stray = report(cid("85.5", generation=7))
    (correction,) = run([], [stray], config=ADOPT).corrections
    assert isinstance(correction, AdoptOrder)
    assert (correction.level, correction.side, correction.role) == (
        D("85.5"),
        Side.BUY,
        OrderRole.OPEN,
    )
    assert correction.generation == 7
    assert correction.update is stray


def test_adopted_sell_against_a_long_slot_is_its_closing_order() -> None:
    holder = slot(85, status=SlotStatus.FREE, order_status=OrderStatus.FILLED, position="1")
    stray = report(cid(85, Side.SELL, generation=9), side=Side.SELL, price="95")
    (correction,) = run([holder], [stray], config=ADOPT).corrections
    assert isinstance(correction, AdoptOrder)
    assert correction.role is OrderRole.CLOSE


def test_adoption_refused_when_the_slot_is_busy_or_already_taken() -> None:
    busy = slot(80)
    strays = [
        report(cid(80, generation=5)),
        report(cid(70, generation=5)),
        report(cid(70, generation=6)),
    ]
    result = run([busy], [mirror(busy), *strays], config=ADOPT)
    adopted = [c for c in result.corrections if isinstance(c, AdoptOrder)]
    cancelled = {
        c.client_order_id: c.reason for c in result.corrections if isinstance(c, CancelUnknownOrder)
    }
    assert [a.update.client_order_id for a in adopted] == [cid(70, generation=5)]
    assert set(cancelled) == {cid(70, generation=6), cid(80, generation=5)}
    assert all("already has an order in flight" in r for r in cancelled.values())
    assert isinstance(result.corrections[0], AdoptOrder)  # adoptions before cancels


def test_an_id_with_our_prefix_that_does_not_parse_is_cancelled() -> None:
    broken = report(f"{BOT}-BTCUSDT-garbage")
    (correction,) = run([], [broken], config=ADOPT).corrections
    assert isinstance(correction, CancelUnknownOrder)
    assert "not a valid client order id" in correction.reason


def test_pending_intent_found_resting_is_booked_as_acknowledged() -> None:
    pending = slot(90, status=SlotStatus.PENDING, order_status=None)
    seen = report(cid(90), price="90")
    (correction,) = run([pending], [seen], position="0").corrections
    assert correction == BookUpdate(D(90), seen, correction.reason)
    assert "the book has no status" in correction.reason


def test_missed_partial_fill_is_booked_and_explains_the_position() -> None:
    resting = slot(90)
    seen = report(cid(90), OrderStatus.PARTIALLY_FILLED, filled="0.4", fee="0.036")
    result = run([resting], [seen], position="0.4")
    assert [type(c) for c in result.corrections] == [BookUpdate]
    assert "0.4 filled (fee 0.036)" in result.corrections[0].reason
    assert result.position_checked


@pytest.mark.parametrize("status", [SlotStatus.LOCKED, SlotStatus.PENDING])
def test_vanished_order_is_queried_and_the_position_check_waits(status: SlotStatus) -> None:
    gone = slot(
        90, status=status, order_status=OrderStatus.NEW if status is SlotStatus.LOCKED else None
    )
    result = run([gone], [], position="5")
    assert result.corrections == (QueryOrder(D(90), cid(90), result.corrections[0].reason),)
    what = "resting order" if status is SlotStatus.LOCKED else "pending intent"
    assert result.corrections[0].reason.startswith(what)
    assert not result.position_checked


def test_order_filled_while_offline_is_booked_with_its_real_price_and_fee() -> None:
    gone = slot(90)
    filled = report(cid(90), OrderStatus.FILLED, price="89.5", filled="1", fee="0.0895")
    result = run([gone], [], recent=[filled], position="1")
    (correction,) = result.corrections
    assert isinstance(correction, BookUpdate)
    assert correction.update.cum_quote_qty == D("89.5")
    assert correction.update.cum_fee == D("0.0895")
    assert result.position_checked  # the fill explains the position: nothing to correct


def test_fill_after_a_cancel_is_booked_on_the_free_slot() -> None:
    cancelled = slot(
        90, status=SlotStatus.FREE, order_status=OrderStatus.CANCELED, filled="0.2", position="0.2"
    )
    late = report(cid(90), OrderStatus.CANCELED, filled="0.3", fee="0.01")
    result = run([cancelled], [], recent=[late], position="0.3")
    assert [type(c) for c in result.corrections] == [BookUpdate]


def test_the_newest_report_of_an_order_wins() -> None:
    resting = slot(90)
    old = report(cid(90), OrderStatus.PARTIALLY_FILLED, filled="0.2")
    new = report(cid(90), OrderStatus.PARTIALLY_FILLED, filled="0.6")
    (correction,) = run([resting], [new], recent=[old], position="0.6").corrections
    assert isinstance(correction, BookUpdate)
    assert correction.update is new


def test_orphan_order_the_book_closed_is_cancelled_even_under_adopt() -> None:
    closed = slot(90, status=SlotStatus.FREE, order_status=OrderStatus.CANCELED)
    alive = report(cid(90))
    (correction,) = run([closed], [alive], config=ADOPT).corrections
    assert isinstance(correction, CancelUnknownOrder)
    assert "closed by the book but rests on the exchange" in correction.reason


def test_small_position_drift_is_corrected() -> None:
    holder = slot(90, status=SlotStatus.FREE, order_status=OrderStatus.FILLED, position="10")
    (correction,) = run([holder], [], position="10.1").corrections
    assert isinstance(correction, CorrectPosition)
    assert (correction.expected, correction.actual) == (D(10), D("10.1"))
    assert correction.divergence_pct == D("0.1") / D("10.1") * 100
    assert "within max_divergence_pct 1" in correction.reason


def test_large_position_drift_halts() -> None:
    holder = slot(90, status=SlotStatus.FREE, order_status=OrderStatus.FILLED, position="10")
    result = run([holder], [], position="9")
    (correction,) = result.corrections
    assert isinstance(correction, Halt)
    assert result.halt is correction
    assert correction.divergence_pct == 10
    assert "exchange position 9, book expects 10 (10.0000% apart" in correction.reason
    assert "then reset" in correction.reason


def test_drift_exactly_at_the_limit_is_still_corrected() -> None:
    holder = slot(90, status=SlotStatus.FREE, order_status=OrderStatus.FILLED, position="99")
    (correction,) = run([holder], [], position="100").corrections
    assert isinstance(correction, CorrectPosition)


def test_position_offset_and_missing_exchange_position() -> None:
    holder = slot(90, status=SlotStatus.FREE, order_status=OrderStatus.FILLED, position="1")
    assert run([holder], [], position="3", offset="2").corrections == ()
    unchecked = run([holder], [], position=None)
    assert unchecked.corrections == ()
    assert not unchecked.position_checked


def test_adopted_fills_count_towards_the_expected_position() -> None:
    stray = report(cid(70, generation=3), OrderStatus.PARTIALLY_FILLED, filled="0.5")
    result = run([], [stray], config=ADOPT, position="0.5")
    assert [type(c) for c in result.corrections] == [AdoptOrder]


@pytest.mark.parametrize(
    ("expected", "actual", "pct"),
    [("0", "0", "0"), ("0", "1", "100"), ("2", "1", "50"), ("-1", "1", "200"), ("4", "5", "20")],
)
def test_divergence_percent(expected: str, actual: str, pct: str) -> None:
    assert divergence_pct(D(expected), D(actual)) == D(pct)


def test_booking_the_corrections_into_a_real_book_brings_it_in_step() -> None:
    book = SlotBook(BOT, SYMBOL)
    levels = [D(90), D(80), D(70)]
    for level in levels:
        book.record_intent(place(book, level, Side.BUY, D(1), level))
    ids = [r.client_order_id for r in book.active_orders()]
    acked = [
        replace(report(i, price=str(lv)), order_id=f"o{lv}")
        for i, lv in zip(ids, levels, strict=True)
    ]
    for update in acked[:2]:
        book.apply_update(update)  # the third acknowledgement was lost
    partial = replace(
        acked[1],
        status=OrderStatus.PARTIALLY_FILLED,
        cum_filled_qty=D("0.25"),
        cum_quote_qty=D(20),
        cum_fee=D("0.02"),
    )
    exchange = [acked[0], partial, acked[2]]
    first = reconcile(
        book.slots,
        bot_id=BOT,
        symbol=SYMBOL,
        open_orders=exchange,
        config=CANCEL,
        exchange_position=D("0.25"),
    )
    assert [type(c) for c in first.corrections] == [BookUpdate, BookUpdate]
    for correction in first.corrections:
        assert isinstance(correction, BookUpdate)
        book.apply_update(correction.update)
    assert book.slots[D(70)].status is SlotStatus.LOCKED
    assert book.inventory == D("0.25")
    again = reconcile(
        book.slots,
        bot_id=BOT,
        symbol=SYMBOL,
        open_orders=exchange,
        config=CANCEL,
        exchange_position=D("0.25"),
    )
    assert again.corrections == ()
