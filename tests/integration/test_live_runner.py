"""The live runner on in-memory sources: a real engine and a real simulated exchange, a
venue with a ticker between candle closes, and a manual clock (no sleeping, no threads).
"""

from decimal import Decimal

import pytest

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.enums import OrderStatus
from market_maker.domain.instrument import Instrument, MarketRules
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import OrderUpdate
from market_maker.engine.execution import CheckpointPolicy
from market_maker.engine.grid import simple_engine
from market_maker.exchanges.base import RetryableExchangeError
from market_maker.live.polled import PolledOrderUpdates
from market_maker.live.runner import LiveRunner, LiveSources
from market_maker.live.venue_rules import with_venue_rules
from market_maker.risk.checks import SafetyCheckError
from market_maker.slots.model import OrderRecord
from market_maker.stores.memory import MemoryStore
from tests.support.live import (
    T0,
    FakeVenue,
    ManualClock,
    PushedOrderUpdates,
    RecordingEngine,
    Script,
    VenueMarketData,
)

pytestmark = pytest.mark.timeout(60)

D = Decimal
SYMBOL = "BTC/USDT"
CONFIG = {
    "bot_id": "live",
    "symbol": SYMBOL,
    "instrument": {"tick_size": "0.1", "step_size": "0.001", "min_qty": "0.001"},
    "grid": {
        "mode": "long",
        "base_interval": "50",
        "order_qty": "0.002",
        "max_inventory": "0.02",
        "buy_window": 3,
        "sell_window": 3,
    },
    "backtest": {"initial_quote": "10000", "maker_fee": "0.0002", "spot": True},
    "venue": {"poll_interval_s": 1},
}
RULES = MarketRules(
    Instrument(SYMBOL, D("0.1"), D("0.001"), D("0.001"), D("5")), D("0.0002"), D("0.0005"), True
)


def make_venue(initial_quote: str = "10000") -> FakeVenue:
    raw = {**CONFIG, "backtest": {**CONFIG["backtest"], "initial_quote": initial_quote}}  # type: ignore[dict-item]
    config = with_venue_rules(AppConfig.model_validate(raw), RULES, venue="memory")
    return FakeVenue(simulated_exchange(config), RULES)


class Run:
    """One runner on ``venue``: a real Simple engine on ``store``, recorded."""

    def __init__(
        self,
        venue: FakeVenue,
        store: MemoryStore,
        script: Script,
        *,
        catch_up_limit: int = 1000,
        orders: object = None,
    ) -> None:
        config = with_venue_rules(AppConfig.model_validate(CONFIG), RULES, venue="memory")
        inner = simple_engine(
            config, venue.exchange, store, checkpoint=CheckpointPolicy.EVERY_CHANGE
        )
        self.engine = RecordingEngine(inner)
        self.market = VenueMarketData(venue)
        self.clock = ManualClock(0, script)
        sources = LiveSources(
            venue=venue,
            market=self.market,
            orders=orders or PolledOrderUpdates(venue.exchange, SYMBOL),  # type: ignore[arg-type]
            clock=self.clock,
        )
        self.runner = LiveRunner(
            config, self.engine, sources, RULES, catch_up_limit=catch_up_limit, freeze_heap=False
        )
        script.stop = self.runner.request_stop

    def run(self) -> RecordingEngine:
        self.runner.run()
        return self.engine


def books_what_the_venue_did(engine: RecordingEngine, venue: FakeVenue) -> None:
    """Every fill of the venue is booked once: fees and position agree."""
    book = engine.state.book
    assert venue.exchange.fills
    assert book.fees_paid == sum(f.last_fee for f in venue.exchange.fills)
    assert book.inventory == venue.exchange.balances()["BTC"].total


def test_decides_on_every_ticker_price_between_candle_closes() -> None:
    venue, store = make_venue(), MemoryStore()
    steps = [
        *venue.minute(0, "100000", "99990", "99980", "99970", "99960", "99955"),
        *venue.minute(1, "99948", "99940", "99960", "99980", "99990", "99995"),
        *venue.minute(2, "100002", "100010", "100020", "100030", "100040", "100050"),
    ]
    run = Run(venue, store, Script(steps))
    engine = run.run()

    published_prices = [(e.ts_ms, e.price) for e in venue.published if isinstance(e, PriceUpdate)]
    assert [(ts, p) for _, ts, p in engine.kinds("price")] == published_prices  # each one
    assert engine.kinds("candle") == [
        ("candle", T0),
        ("candle", T0 + 60_000),
        ("candle", T0 + 120_000),
    ]
    # The buy at 99950 filled at the first trade of minute 1 and was booked, and its
    # closing sell placed, before that minute's candle closed.
    filled = [i for i, e in enumerate(engine.log) if e[0] == "order" and e[2] is OrderStatus.FILLED]
    assert filled and filled[0] < engine.log.index(("candle", T0 + 60_000))
    assert venue.exchange.fills[0].last_fill_price == D("99950.0")
    assert any(f.side.value == "SELL" for f in venue.exchange.fills)  # and it took profit
    books_what_the_venue_did(engine, venue)
    assert engine.stopped == 1
    assert set(run.clock.waits) == {1.0}  # polls on schedule, never a real sleep
    assert store.load() is not None and store.load().last_update_ms == T0 + 170_000  # type: ignore[union-attr]


def test_a_batch_decides_only_at_its_latest_price_and_feeds_every_candle_in_order() -> None:
    venue, store = make_venue(), MemoryStore()
    steps = [
        *venue.minute(0, "100000", "99990", "99980"),
        *venue.minute(1, "99970", "99948", "99960"),
        *venue.minute(2, "99970", "99990", "100010"),
    ]
    run = Run(venue, store, Script(steps, per_wait=3))  # three events reach each poll
    engine = run.run()

    assert engine.kinds("candle") == [
        ("candle", T0),
        ("candle", T0 + 60_000),
        ("candle", T0 + 120_000),
    ]
    prices = [e for e in venue.published if isinstance(e, PriceUpdate)]
    batches = [venue.published[i : i + 3] for i in range(0, len(venue.published), 3)]
    latest = [[e for e in b if isinstance(e, PriceUpdate)][-1] for b in batches]
    assert [(ts, p) for _, ts, p in engine.kinds("price")] == [(e.ts_ms, e.price) for e in latest]
    assert run.runner.counts.superseded == len(prices) - len(latest)
    # Candles and prices are fed in the order they happened.
    where = {
        (("candle", e.open_time_ms) if isinstance(e, Candle) else ("price", e.ts_ms)): i
        for i, e in enumerate(venue.published)
    }
    fed = [where[e[:2]] for e in engine.log if e[0] in ("candle", "price")]
    assert fed == sorted(fed)


def test_a_restart_catches_up_on_the_newest_missed_candles_then_decides_once() -> None:
    venue, store = make_venue(), MemoryStore()
    first = Run(venue, store, Script(venue.minute(0, "100000", "99990"))).run()
    assert first.kinds("candle") == [("candle", T0)]
    assert store.load().last_update_ms == T0 + 10_000  # type: ignore[union-attr]

    for minute in range(1, 9):  # the bot is down for 8 minutes
        for step in venue.minute(minute, "99980", "99948", "99960"):
            step()
    second = Run(venue, store, Script(venue.minute(9, "99970")), catch_up_limit=5)
    engine = second.run()

    # The newest 5 missed candles, oldest first, then one decision at the price now.
    assert engine.log[: engine.log.index(("candle", T0 + 9 * 60_000))] == [
        *[("candle", T0 + m * 60_000) for m in range(4, 9)],
        ("price", T0 + 8 * 60_000 + 20_000, D("99960")),
        ("price", T0 + 9 * 60_000, D("99970")),
    ]
    assert engine.started == 1 and engine.stopped == 1
    # The fills the venue made while the bot was down were found and booked.
    books_what_the_venue_did(engine, venue)


def test_repeated_events_from_a_reconnecting_source_are_fed_once() -> None:
    venue, store = make_venue(), MemoryStore()
    steps = [*venue.minute(0, "100000", "99990"), *venue.minute(1, "99970", "99960")]
    script = Script(steps, per_wait=3)
    run = Run(venue, store, script)

    def repeat_then_continue() -> None:
        script()
        run.market.replay = True  # the next poll repeats the previous batch first

    run.clock.on_wait = repeat_then_continue
    engine = run.run()
    assert engine.kinds("candle") == [("candle", T0), ("candle", T0 + 60_000)]
    assert len(engine.kinds("price")) == len({e[1] for e in engine.kinds("price")})
    assert run.runner.counts.ignored > 0


def test_pushed_order_reports_with_repeats_are_booked_once() -> None:
    venue, store = make_venue(), MemoryStore()
    steps = [
        *venue.minute(0, "100000", "99990", "99960"),
        *venue.minute(1, "99948", "99930", "99980", "100005", "100010"),
    ]
    engine = Run(venue, store, Script(steps), orders=PushedOrderUpdates(venue)).run()
    reports = engine.kinds("order")
    assert reports and len(reports) == 2 * len(venue.pushed)  # every report came twice
    books_what_the_venue_did(engine, venue)  # and each fill was booked once


class FlakyOrders:
    """Polled order updates whose first ``failures`` polls fail like a dropped connection."""

    def __init__(self, inner: PolledOrderUpdates, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def poll(self, known: list[OrderRecord]) -> list[OrderUpdate]:
        if self.failures:
            self.failures -= 1
            raise RetryableExchangeError("connection reset")
        return self.inner.poll(known)


def test_an_exchange_error_keeps_the_polled_events_for_the_next_poll() -> None:
    venue, store = make_venue(), MemoryStore()
    flaky = FlakyOrders(PolledOrderUpdates(venue.exchange, SYMBOL), failures=0)
    steps = [
        *venue.minute(0, "100000", "99990"),
        lambda: setattr(flaky, "failures", 2),  # the next two polls fail
        *venue.minute(1, "99970", "99948", "99960"),
    ]
    engine = Run(venue, store, Script(steps), orders=flaky).run()
    # Nothing was lost: every candle fed; the prices polled during the outage were decided
    # on once it ended (the latest of them), and every fill was booked.
    assert engine.kinds("candle") == [("candle", T0), ("candle", T0 + 60_000)]
    assert engine.kinds("price")[-1] == ("price", T0 + 80_000, D("99960"))
    books_what_the_venue_did(engine, venue)


def test_nothing_is_sent_when_a_startup_safety_check_fails_at_the_first_price() -> None:
    venue, store = make_venue(initial_quote="1"), MemoryStore()  # cannot afford the grid
    run = Run(venue, store, Script(venue.minute(0, "100000", "99990")))
    with pytest.raises(SafetyCheckError, match="balance"):
        run.run()
    assert venue.exchange.orders == {}
    assert run.engine.kinds("price") == []
    assert run.engine.stopped == 1  # stopped cleanly, state saved


def test_polled_order_updates_report_only_what_the_book_has_not_booked() -> None:
    venue = make_venue()

    source = PolledOrderUpdates(venue.exchange, SYMBOL)
    assert source.poll([]) == []  # nothing held: nothing asked
    store = MemoryStore()
    engine = Run(venue, store, Script(venue.minute(0, "100000"))).run()
    held = engine.state.book.active_orders()
    assert held and source.poll(held) == []  # the venue agrees with the book
    venue.tick(T0 + 60_000, "99948")  # the buy at 99950 fills
    reports = source.poll(held)
    assert [(r.status, r.price) for r in reports] == [(OrderStatus.FILLED, D("99950.0"))]


def test_tick_to_order_is_measured_for_each_decision_that_sent_orders() -> None:
    venue, store = make_venue(), MemoryStore()
    steps = [
        *venue.minute(0, "100000", "99990", "99980", "99970", "99960", "99955"),
        *venue.minute(1, "99948", "99940", "99960", "99980", "99990", "99995"),
    ]
    run = Run(venue, store, Script(steps))
    measured: list[float] = []
    run.runner.on_tick_to_order = measured.append
    sent: list[bool] = []
    decide = run.engine.on_price_update

    def counting(update: PriceUpdate) -> None:
        before = (run.engine.orders_placed, run.engine.orders_canceled)
        decide(update)
        sent.append((run.engine.orders_placed, run.engine.orders_canceled) != before)

    run.engine.on_price_update = counting  # type: ignore[method-assign]
    run.run()
    assert len(measured) == sum(sent) > 1  # the first grid, and the fills' follow-ups
    assert len(sent) > len(measured)  # decisions that sent nothing are not measured
    assert all(0 <= s < 5 for s in measured)
