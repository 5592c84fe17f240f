"""Properties of the slot book under an adversarial exchange.

A Hypothesis state machine drives the book only through its public API while the simulated
exchange plays the venue: reports are lost, duplicated, delayed and reordered, orders reach
the exchange without their acknowledgement, and pending outcomes are resolved by lookup.
"""

import random
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from market_maker.domain.enums import OrderStatus, OrderType, Side, SlotStatus, TimeInForce
from market_maker.domain.orders import ActionKind, OrderAction, OrderUpdate, PlaceOrderRequest
from market_maker.slots.book import SlotBook
from market_maker.slots.client_ids import make_client_order_id
from support.market import Market

SYMBOL = "BTC/USDT"
LEVELS = [Decimal(100 + 10 * i) for i in range(4)]
ZERO = Decimal(0)


@dataclass
class Booked:
    qty: Decimal = ZERO
    quote: Decimal = ZERO
    fee: Decimal = ZERO


class BookVsExchange(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.book = SlotBook("p1", SYMBOL)
        self.market = Market(SYMBOL)
        self.outbox: list[OrderUpdate] = []  # reports on their way to the bot
        self.delivered: list[OrderUpdate] = []
        self.cash = ZERO  # from booked fills: -sign * quote - fee
        self.signed_fills = ZERO

    def _apply(self, update: OrderUpdate) -> None:
        result = self.book.apply_update(update)
        for fill in result.fills:
            self.cash -= fill.side.sign * fill.quote + fill.fee
            self.signed_fills += fill.side.sign * fill.qty
        self.delivered.append(update)

    @rule(
        level=st.sampled_from(LEVELS),
        side=st.sampled_from(list(Side)),
        qty=st.sampled_from(["0.5", "1", "2"]),
        fate=st.sampled_from(["ok", "lost", "no-ack"]),
    )
    def place(self, level: Decimal, side: Side, qty: str, fate: str) -> None:
        slot = self.book.get(level)
        if slot is not None and slot.status is not SlotStatus.FREE:
            return
        cid = make_client_order_id("p1", SYMBOL, level, side, self.book.order_seq + 1)
        request = PlaceOrderRequest(
            SYMBOL, side, OrderType.LIMIT, TimeInForce.GTC, level, Decimal(qty), False, False, cid
        )
        self.book.record_intent(OrderAction(ActionKind.PLACE, level, place=request))
        if fate == "lost":  # crashed before the call: the exchange never saw it
            return
        report = self.market.place(request)
        if fate == "ok":
            self.outbox.append(report)

    @precondition(lambda self: self.market.open_orders())
    @rule(data=st.data(), fraction=st.sampled_from(["0.5", "1"]))
    def fill(self, data: st.DataObject, fraction: str) -> None:
        """A trade at a resting order's price, of all or half its remaining quantity: it
        fills that order, or better-priced ones first (at their limits)."""
        order = data.draw(st.sampled_from(self.market.open_orders()))
        remaining = order.request.qty - order.filled
        qty = remaining if fraction == "1" else remaining / 2
        self.outbox.extend(self.market.trade(order.request.price, qty))

    @precondition(lambda self: any(s.status is SlotStatus.LOCKED for s in self.book))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        locked = [s for s in self.book if s.status is SlotStatus.LOCKED]
        slot = data.draw(st.sampled_from(locked))
        assert slot.order is not None
        self.book.record_cancel_sent(slot.level)
        report = self.market.cancel(slot.order.client_order_id)
        if report is not None:
            self.outbox.append(report)

    @precondition(lambda self: self.outbox)
    @rule(data=st.data())
    def deliver_any(self, data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(self.outbox) - 1))
        self._apply(self.outbox.pop(index))  # out of order

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        self._apply(data.draw(st.sampled_from(self.delivered)))  # duplicate or stale

    @precondition(lambda self: self.outbox)
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        self.outbox.pop(data.draw(st.integers(0, len(self.outbox) - 1)))  # lost report

    @precondition(lambda self: self.book.pending())
    @rule(data=st.data())
    def resolve(self, data: st.DataObject) -> None:
        slot = data.draw(st.sampled_from(self.book.pending()))
        assert slot.order is not None
        found = self.market.exchange.get_order(SYMBOL, slot.order.client_order_id)
        if found is None:
            self.book.resolve_absent(slot.order.client_order_id)
        else:  # the lookup returns the order's current state
            self._apply(found)

    def _snapshot(self, cid: str) -> OrderUpdate:
        found = self.market.exchange.get_order(SYMBOL, cid)
        assert found is not None
        return found

    @invariant()
    def slot_status_agrees_with_its_order(self) -> None:
        if not hasattr(self, "book"):
            return
        for slot in self.book:
            order = slot.order
            if slot.status is SlotStatus.PENDING:
                assert order is not None and order.status is None
            elif slot.status is SlotStatus.LOCKED:
                assert order is not None
                assert order.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
            else:
                assert order is None or not order.is_active

    @invariant()
    def books_balance(self) -> None:
        if not hasattr(self, "book"):
            return
        book = self.book
        assert book.inventory == sum((s.position_qty for s in book), ZERO) == self.signed_fills
        assert book.cost_basis == sum((s.cost_basis for s in book), ZERO)
        mark = Decimal("123.45")
        assert book.unrealized_pnl(mark) == sum((s.unrealized_pnl(mark) for s in book), ZERO)
        assert book.realized_pnl == sum((s.realized_pnl for s in book), ZERO)
        assert self.cash + book.fees_paid == book.realized_pnl - sum(
            (s.cost_basis for s in book), ZERO
        )

    def teardown(self) -> None:
        if not hasattr(self, "book"):
            return
        # Converge: every order the exchange knows is looked up once, pending ones resolved.
        for cid in list(self.market.orders):
            self._apply(self._snapshot(cid))
        for slot in self.book.pending():
            assert slot.order is not None
            self.book.resolve_absent(slot.order.client_order_id)
        # Every fill the exchange reports is booked exactly once.
        for cid, o in self.market.orders.items():
            record = self.book.find_order(cid)
            assert record is not None
            assert (record.filled_qty, record.filled_quote, record.fee) == (
                o.filled,
                o.quote,
                o.fee,
            )
        exchange_position = sum(
            (o.request.side.sign * o.filled for o in self.market.orders.values()), ZERO
        )
        assert exchange_position == self.market.exchange.total("BTC")
        assert self.book.inventory == exchange_position
        assert self.book.fees_paid == sum((o.fee for o in self.market.orders.values()), ZERO)
        assert not self.book.pending()


def test_book_against_an_adversarial_exchange() -> None:
    run_state_machine_as_test(BookVsExchange)


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=6))
def test_any_permutation_of_duplicated_updates_gives_the_same_book(seed: int, n: int) -> None:
    rng = random.Random(seed)
    market = Market(SYMBOL)
    log: list[OrderUpdate] = []  # every report the exchange sent, in order
    actions = []
    book_a, book_b = SlotBook("p1", SYMBOL), SlotBook("p1", SYMBOL)
    for i in range(n):
        level = Decimal(100 + i)
        side = rng.choice(list(Side))
        cid = make_client_order_id("p1", SYMBOL, level, side, i + 1)
        request = PlaceOrderRequest(
            SYMBOL,
            side,
            OrderType.LIMIT,
            TimeInForce.GTC,
            level,
            Decimal(rng.choice([1, 2, 3])),
            False,
            False,
            cid,
        )
        actions.append(OrderAction(ActionKind.PLACE, level, place=request))
        log.append(market.place(request))
    for _ in range(rng.randint(0, 12)):
        open_orders = market.open_orders()
        if not open_orders:
            break
        o = rng.choice(open_orders)
        if rng.random() < 0.2:
            cancelled = market.cancel(o.request.client_order_id)
            assert cancelled is not None
            log.append(cancelled)
        else:
            remaining = o.request.qty - o.filled
            log += market.trade(o.request.price, rng.choice([remaining, remaining / 2]))
    for action in actions:
        book_a.record_intent(action)
        book_b.record_intent(action)
    for update in log:
        book_a.apply_update(update)
    shuffled = log + rng.sample(log, k=len(log) // 2)
    rng.shuffle(shuffled)
    note(f"{len(shuffled)} deliveries")
    for update in shuffled:
        book_b.apply_update(update)
    assert book_a.slots == book_b.slots
    assert (book_a.inventory, book_a.realized_pnl, book_a.fees_paid) == (
        book_b.inventory,
        book_b.realized_pnl,
        book_b.fees_paid,
    )
