"""Reconciliation in the Simple engine: each divergence between venue and book, corrected exactly.

Every test drives the real ``SimulatedExchange`` into one divergence behind the engine's back
(an order it never sent, an order cancelled or filled without its report reaching the bot,
a fill while the bot was stopped, a manual trade on the same account) and checks the
correction the engine carried out: the counts in ``engine.upkeep.corrections`` and the
resulting book and venue. Real stores (memory and SQLite), no mocks.

The grid: BTC/USDT, levels 100 USDT apart, three buys of 0.01 BTC below the price; the first
candle closes at 100,000, so the buys rest at 99,900, 99,800 and 99,700.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.enums import (
    OrderRole,
    OrderStatus,
    OrderType,
    RiskState,
    Side,
    SlotStatus,
    TimeInForce,
)
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.engine.base import EngineObserver
from market_maker.engine.grid import GridEngine, simple_engine
from market_maker.exchanges.base import RetryableExchangeError
from market_maker.exchanges.simulated import SimulatedExchange, SimulatedExchangeConfig
from market_maker.risk.events import RiskEvent, RiskEventKind
from market_maker.slots.book import BookedFill
from market_maker.slots.client_ids import make_client_order_id, parse_client_order_id
from market_maker.stores.base import Store
from market_maker.stores.memory import MemoryStore
from market_maker.stores.sqlite import SqliteStore

D = Decimal
BOT = "rk1"
SYMBOL = "BTC/USDT"
T0 = 1_700_000_000_000
MINUTE = 60_000
QTY = D("0.01")
MAKER = D("0.0002")
TAKER = D("0.0005")


def make_config(risk: dict[str, Any] | None = None) -> AppConfig:
    return AppConfig.model_validate(
        {
            "bot_id": BOT,
            "symbol": SYMBOL,
            "instrument": {"tick_size": "0.01", "step_size": "0.0001", "min_qty": "0.0001"},
            "grid": {
                "mode": "long",
                "base_interval": "100",
                "buy_window": 3,
                "sell_window": 3,
                "order_qty": str(QTY),
                "max_inventory": "1",
            },
            "backtest": {
                "initial_quote": "100000",
                "maker_fee": str(MAKER),
                "taker_fee": str(TAKER),
                "spot": False,
            },
            # Reconcile on every candle (60 s of event time), so a test sees the correction
            # on the candle after it caused the divergence.
            "risk": {"reconciler": {"interval_s": 60}, **(risk or {})},
        }
    )


def bar(i: int, close: str = "100000", low: str | None = None, volume: str = "10") -> Candle:
    """The ``i``-th one-minute candle: opens at ``close``, dips to ``low``, 10 USDT above."""
    c = D(close)
    bottom = c - 10 if low is None else D(low)
    return Candle(SYMBOL, T0 + i * MINUTE, 60, c, c + 10, bottom, c, D(volume))


class Recorder(EngineObserver):
    def __init__(self) -> None:
        self.fills: list[BookedFill] = []
        self.events: list[RiskEvent] = []

    def on_fill(self, fill: BookedFill) -> None:
        self.fills.append(fill)

    def on_risk_event(self, event: RiskEvent) -> None:
        self.events.append(event)


def step(engine: GridEngine, exchange: SimulatedExchange, candle: Candle) -> None:
    """One candle the way the backtest runner drives it."""
    for report in exchange.on_candle(candle):
        engine.on_order_update(report)
    engine.on_candle(candle)
    engine.on_price_update(PriceUpdate(SYMBOL, candle.close, candle.open_time_ms))


def resting(exchange: SimulatedExchange) -> dict[str, tuple[Side, Decimal, bool]]:
    """The venue's resting orders: client order id -> (side, price, reduce-only)."""
    return {
        cid: (o.request.side, o.request.price, o.request.reduce_only)
        for cid, o in exchange.resting.items()
    }


def resting_buys(exchange: SimulatedExchange) -> set[Decimal]:
    return {price for side, price, _ in resting(exchange).values() if side is Side.BUY}


def cid_at(engine: GridEngine, level: str) -> str:
    order = engine.state.book.slots[D(level)].active_order
    assert order is not None
    return order.client_order_id


def limit(cid: str, side: Side, price: str, qty: Decimal, *, post_only: bool = True) -> Any:
    return PlaceOrderRequest(
        SYMBOL, side, OrderType.LIMIT, TimeInForce.GTC, D(price), qty, post_only, False, cid
    )


@pytest.fixture
def venue() -> SimulatedExchange:
    return simulated_exchange(make_config())


def started(
    config: AppConfig, exchange: SimulatedExchange, store: Store | None = None
) -> tuple[GridEngine, Recorder]:
    recorder = Recorder()
    engine = simple_engine(config, exchange, store or MemoryStore(), observer=recorder)
    engine.start()
    return engine, recorder


# -- (a) unknown open orders of ours ---------------------------------------------------------


def test_unknown_order_of_ours_is_cancelled_under_policy_cancel(venue: SimulatedExchange) -> None:
    ours = make_client_order_id(BOT, SYMBOL, D(99_000), Side.BUY, 7)
    foreign = make_client_order_id("other", SYMBOL, D(99_000), Side.BUY, 7)
    venue.place_order(limit(ours, Side.BUY, "99000", QTY))
    venue.place_order(limit(foreign, Side.BUY, "99000", QTY))

    engine, _ = started(make_config({"reconciler": {"unknown_orders": "cancel"}}), venue)

    assert engine.upkeep.corrections == Counter({"CancelUnknownOrder": 1})
    assert venue.orders[ours].status is OrderStatus.CANCELED
    assert set(venue.resting) == {foreign}  # another bot's order is left alone
    assert len(engine.state.book) == 0


def test_unknown_order_of_ours_is_adopted_into_its_slot_under_policy_adopt(
    venue: SimulatedExchange,
) -> None:
    ours = make_client_order_id(BOT, SYMBOL, D(99_900), Side.BUY, 7)
    malformed = f"{BOT}-BTCUSDT-not-an-id-of-ours"
    venue.place_order(limit(ours, Side.BUY, "99900", QTY))
    venue.place_order(limit(malformed, Side.BUY, "99800", QTY))

    engine, _ = started(make_config({"reconciler": {"unknown_orders": "adopt"}}), venue)

    # A parseable id is adopted; an id that carries our prefix but does not parse is
    # cancelled whatever the policy.
    assert engine.upkeep.corrections == Counter({"AdoptOrder": 1, "CancelUnknownOrder": 1})
    assert venue.orders[malformed].status is OrderStatus.CANCELED
    slot = engine.state.book.slots[D(99_900)]
    assert slot.status is SlotStatus.LOCKED
    assert slot.order is not None
    assert (slot.order.client_order_id, slot.order.role, slot.order.status) == (
        ours,
        OrderRole.OPEN,
        OrderStatus.NEW,
    )
    assert engine.state.book.order_seq == 7

    step(engine, venue, bar(0))
    # The adopted buy is exactly the grid's order at 99,900: kept, not replaced; the other
    # two levels get new orders whose generations never reuse the adopted one.
    assert ours in venue.resting
    assert resting_buys(venue) == {D(99_900), D(99_800), D(99_700)}
    others = [parse_client_order_id(c).generation for c in venue.resting if c != ours]
    assert len(others) == 2
    assert min(others) > 7
    assert engine.upkeep.corrections == Counter({"AdoptOrder": 1, "CancelUnknownOrder": 1})


def partial_venue() -> SimulatedExchange:
    """A venue where our orders may take half of a candle's volume (partial fills)."""
    return SimulatedExchange(
        SYMBOL,
        {"USDT": D(100_000)},
        SimulatedExchangeConfig(
            maker_fee=MAKER,
            taker_fee=TAKER,
            spot=False,
            max_fill_fraction=D("0.5"),
            qty_step=D("0.0001"),
        ),
    )


ADOPT = {"reconciler": {"unknown_orders": "adopt", "interval_s": 60}}


def test_partially_filled_unknown_order_adopted_by_a_fresh_bot_does_not_halt() -> None:
    # The order was sent by this bot before its state was lost; half of it has filled.
    venue = partial_venue()
    ours = make_client_order_id(BOT, SYMBOL, D(99_900), Side.BUY, 5)
    venue.place_order(limit(ours, Side.BUY, "99900", QTY))
    reports = venue.on_candle(bar(0, close="99950", low="99850", volume="0.008"))
    assert [(r.status, r.cum_filled_qty) for r in reports] == [
        (OrderStatus.PARTIALLY_FILLED, D("0.004"))
    ]
    assert venue.total("BTC") == D("0.004")

    engine, recorder = started(make_config(ADOPT), venue)

    # The position on the venue is exactly the adopted order's fill: nothing diverges.
    assert engine.upkeep.corrections == Counter({"AdoptOrder": 1})
    assert recorder.events == []
    assert engine.state.risk_state is RiskState.NORMAL
    assert engine.state.book.inventory == D("0.004")
    assert engine.state.position_offset == 0


def test_fill_of_an_order_adopted_later_reaches_the_observer() -> None:
    venue = partial_venue()
    engine, recorder = started(make_config(ADOPT), venue)
    step(engine, venue, bar(0))
    assert engine.state.position_offset == 0
    ours = make_client_order_id(BOT, SYMBOL, D(99_950), Side.BUY, 50)
    venue.place_order(limit(ours, Side.BUY, "99950", QTY))

    # Half of the unknown order fills; its report reaches the engine, which cannot book it.
    step(engine, venue, bar(1, close="99990", low="99940", volume="0.008"))

    assert engine.upkeep.corrections == Counter({"AdoptOrder": 1})
    assert engine.state.book.inventory == D("0.004")
    assert recorder.events == []  # the position check agrees
    price = D(99_950)
    filled = D("0.004")
    # Booked fills reach the observer (the backtest's fill ledger, the risk layer).
    assert [(f.client_order_id, f.qty, f.quote, f.fee) for f in recorder.fills] == [
        (ours, filled, price * filled, price * filled * MAKER)
    ]


# -- (b) vanished orders ---------------------------------------------------------------------


def test_order_cancelled_behind_the_books_back_is_queried_and_booked(
    venue: SimulatedExchange,
) -> None:
    engine, recorder = started(make_config(), venue)
    step(engine, venue, bar(0))
    assert resting_buys(venue) == {D(99_900), D(99_800), D(99_700)}
    gone = cid_at(engine, "99800")
    assert venue.cancel_order(CancelOrderRequest(SYMBOL, gone)) is not None
    assert engine.state.book.slots[D(99_800)].status is SlotStatus.LOCKED  # the book missed it

    step(engine, venue, bar(1))

    assert engine.upkeep.corrections == Counter({"QueryOrder": 1})
    record = engine.state.book.find_order(gone)
    assert record is not None
    assert record.status is OrderStatus.CANCELED
    # The slot was freed and the decision after the reconciliation re-placed its order.
    replacement = cid_at(engine, "99800")
    assert replacement != gone
    assert replacement in venue.resting
    assert resting_buys(venue) == {D(99_900), D(99_800), D(99_700)}
    assert recorder.fills == []


def test_fill_whose_report_was_lost_is_queried_and_booked_once_at_its_real_price(
    venue: SimulatedExchange,
) -> None:
    engine, recorder = started(make_config(), venue)
    step(engine, venue, bar(0))
    filled = cid_at(engine, "99900")
    lost = venue.on_candle(bar(1, close="99950", low="99850"))  # the reports never arrive
    assert [r.client_order_id for r in lost] == [filled]

    engine.on_candle(bar(1, close="99950", low="99850"))
    engine.on_price_update(PriceUpdate(SYMBOL, D(99_950), T0 + MINUTE))

    assert engine.upkeep.corrections == Counter({"QueryOrder": 1})  # no position correction
    price = D(99_900)
    assert [(f.client_order_id, f.side, f.qty, f.quote, f.fee) for f in recorder.fills] == [
        (filled, Side.BUY, QTY, price * QTY, price * QTY * MAKER)
    ]
    assert recorder.fills[0].price == price
    assert engine.state.book.slots[price].position_qty == QTY
    assert engine.state.book.fees_paid == D("0.1998")

    engine.on_order_update(lost[0])  # the lost report turns up late: nothing new to book
    step(engine, venue, bar(2, close="99950", low="99900"))
    assert len(recorder.fills) == 1
    assert engine.upkeep.corrections == Counter({"QueryOrder": 1})
    # The slot's take-profit rests one level up.
    close = engine.state.book.slots[price].active_order
    assert close is not None
    assert (close.role, close.side, close.price) == (OrderRole.CLOSE, Side.SELL, D(100_000))
    assert close.client_order_id in venue.resting


def test_pending_intent_that_never_reached_the_venue_is_resolved_absent(
    venue: SimulatedExchange,
) -> None:
    class LosesThePlace:
        """The venue, but one place call times out before the order reaches it."""

        def __init__(self, inner: SimulatedExchange) -> None:
            self.inner, self.calls = inner, 0

        def place_order(self, request: PlaceOrderRequest) -> OrderUpdate:
            self.calls += 1
            if self.calls == 2:
                raise RetryableExchangeError("timeout")
            return self.inner.place_order(request)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    flaky = LosesThePlace(venue)
    engine = simple_engine(make_config(), flaky, MemoryStore())  # type: ignore[arg-type]
    engine.start()
    engine.on_candle(bar(0))
    engine.on_price_update(PriceUpdate(SYMBOL, D(100_000), T0))
    pending = engine.state.book.pending()
    assert [s.level for s in pending] == [D(99_800)]
    assert pending[0].order is not None
    lost = pending[0].order.client_order_id
    assert lost not in venue.orders

    step(engine, venue, bar(1))

    assert engine.upkeep.corrections == Counter({"QueryOrder": 1})
    record = engine.state.book.find_order(lost)
    assert record is not None
    assert (record.status, record.reject_reason) == (OrderStatus.REJECTED, "absent on lookup")
    assert resting_buys(venue) == {D(99_900), D(99_800), D(99_700)}
    assert engine.state.book.pending() == []


# -- (c) a fill while the bot was down -------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    opened: list[Store] = []
    memory = MemoryStore()

    def make() -> Store:
        if request.param == "memory":
            return memory
        store = SqliteStore(tmp_path / "state.db", bot_id=BOT, symbol=SYMBOL)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_fill_while_the_bot_was_down_is_booked_once_with_its_real_price_and_fee(
    venue: SimulatedExchange, store_factory: Callable[[], Store]
) -> None:
    config = make_config()
    first, _ = started(config, venue, store_factory())
    step(first, venue, bar(0))
    filled = cid_at(first, "99900")
    first.stop()

    # Down time: the market trades through the top buy; nobody hears the report.
    reports = venue.on_candle(bar(1, close="99950", low="99850"))
    assert [(r.client_order_id, r.status) for r in reports] == [(filled, OrderStatus.FILLED)]

    second, recorder = started(config, venue, store_factory())

    assert second.upkeep.corrections == Counter({"QueryOrder": 1})
    price = D(99_900)
    # A lookup reports cumulative figures (the real price and fee), not the fill's liquidity.
    assert [(f.client_order_id, f.side, f.qty, f.quote, f.fee) for f in recorder.fills] == [
        (filled, Side.BUY, QTY, price * QTY, price * QTY * MAKER)
    ]
    assert recorder.fills[0].price == price
    book = second.state.book
    assert book.slots[price].position_qty == QTY
    assert book.slots[price].cost_basis == price * QTY
    assert book.fees_paid == D("0.1998")
    assert recorder.events == []  # the position matches: no divergence, no halt

    second.on_order_update(reports[0])  # the report arrives after all: already booked
    step(second, venue, bar(2, close="99950", low="99900"))
    assert len(recorder.fills) == 1
    second.stop()

    third, again = started(config, venue, store_factory())  # and a restart books nothing twice
    assert third.upkeep.corrections == Counter()
    assert again.fills == []
    assert third.state.book.slots[price].position_qty == QTY
    assert third.state.book.fees_paid == D("0.1998")


# -- (d) position drift ----------------------------------------------------------------------


def _holding_two_levels() -> tuple[GridEngine, Recorder, SimulatedExchange]:
    """An engine whose grid holds 0.02 BTC (99,900 and 99,800 filled), reconciled clean."""
    config = make_config({"breaker": {"cooldown_s": 60}})
    exchange = simulated_exchange(config)
    engine, recorder = started(config, exchange)
    step(engine, exchange, bar(0))
    step(engine, exchange, bar(1, close="99760", low="99750"))
    assert engine.state.book.inventory == D("0.02")
    assert exchange.total("BTC") == D("0.02")
    assert engine.upkeep.corrections == Counter()
    assert engine.state.position_offset == 0
    return engine, recorder, exchange


@pytest.mark.parametrize(
    ("side", "qty", "offset"),
    [
        (Side.BUY, "0.0001", "0.0001"),  # 0.0001 / 0.0201 = 0.50%
        (Side.SELL, "0.0002", "-0.0002"),  # 0.0002 / 0.02 = exactly 1%: still corrected
    ],
)
def test_small_position_drift_is_corrected_without_halting(
    side: Side, qty: str, offset: str
) -> None:
    engine, recorder, exchange = _holding_two_levels()
    price = "99000" if side is Side.SELL else "101000"
    manual = exchange.place_order(limit("manual-1", side, price, D(qty), post_only=False))
    assert manual.status is OrderStatus.FILLED  # a manual taker trade on the same account

    step(engine, exchange, bar(2, close="99760", low="99740"))

    # Seen on two consistent reads in a row (divergence_confirmations 2), then corrected.
    confirmed = Counter({"SuspectDivergence": 1, "CorrectPosition": 1})
    assert engine.upkeep.corrections == confirmed
    assert engine.state.position_offset == D(offset)
    assert engine.state.risk_state is RiskState.NORMAL
    assert recorder.events == []
    assert engine.state.book.inventory == D("0.02")  # the grid's own slots are untouched
    assert resting_buys(exchange)  # still trading

    step(engine, exchange, bar(3, close="99760", low="99740"))
    assert engine.upkeep.corrections == confirmed  # corrected for good


@pytest.mark.parametrize("qty", ["0.0003", "0.01"])  # 1.48% and 33% apart
def test_large_position_drift_halts_until_an_operator_resets(qty: str) -> None:
    engine, recorder, exchange = _holding_two_levels()
    closes = {c for c, (_, _, reduce) in resting(exchange).items() if reduce}
    assert len(closes) == 2
    exchange.place_order(limit("manual-1", Side.BUY, "101000", D(qty), post_only=False))

    step(engine, exchange, bar(2, close="99760", low="99740"))

    assert engine.upkeep.corrections == Counter({"SuspectDivergence": 1, "Halt": 1})
    assert engine.state.position_offset == 0  # not corrected
    assert [(e.kind, e.state_before, e.state_after) for e in recorder.events] == [
        (RiskEventKind.POSITION_DIVERGENCE, RiskState.NORMAL, RiskState.HALTED)
    ]
    assert engine.state.risk_state is RiskState.HALTED
    assert resting_buys(exchange) == set()  # no opening order rests
    assert set(resting(exchange)) == closes  # the take-profits are kept (policy keep)

    # A divergence halt does not expire with the cooldown (60 s here): it needs a reset.
    for i in range(3, 8):
        step(engine, exchange, bar(i, close="99760", low="99740"))
    assert engine.state.risk_state is RiskState.HALTED
    assert len(recorder.events) == 1
    assert resting_buys(exchange) == set()
