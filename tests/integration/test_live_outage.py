"""An exchange outage under the live runner: backoff on the injected clock, two log lines.

A real Simple engine trades on a real simulated exchange behind a venue with a ticker
(``tests.support.live``); the order source fails like a dropped connection for a while.
The manual clock records every wait, so the backoff is read off exactly, without sleeping.
"""

import logging
import threading
from decimal import Decimal

import pytest

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.instrument import Instrument, MarketRules
from market_maker.domain.orders import OrderUpdate
from market_maker.engine.execution import CheckpointPolicy
from market_maker.engine.grid import simple_engine
from market_maker.exchanges.base import Balance, RetryableExchangeError
from market_maker.live.outage import Backoff, OutageWatch
from market_maker.live.polled import PolledOrderUpdates, SystemClock
from market_maker.live.run_summary import RunTracker
from market_maker.live.runner import LiveRunner, LiveSources
from market_maker.live.venue_rules import with_venue_rules
from market_maker.slots.model import OrderRecord
from market_maker.stores.memory import MemoryStore
from tests.support.live import FakeVenue, ManualClock, Script, VenueMarketData

pytestmark = pytest.mark.timeout(60)

D = Decimal
SYMBOL = "BTC/USDT"
CONFIG = {
    "bot_id": "out",
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


class FlakyOrders:
    """Polled order updates that fail like a dropped connection while ``failures`` > 0."""

    def __init__(self, inner: PolledOrderUpdates) -> None:
        self.inner = inner
        self.failures = 0
        self.polls = 0

    def poll(self, known: list[OrderRecord]) -> list[OrderUpdate]:
        self.polls += 1
        if self.failures:
            self.failures -= 1
            raise RetryableExchangeError("fetch_open_orders BTC/USDT: HTTP 503")
        return self.inner.poll(known)


class RecordingClock(ManualClock):
    """A manual clock that also records which event each wait could be cut short by."""

    def __init__(self, on_wait: Script) -> None:
        super().__init__(0, on_wait)
        self.events: list[threading.Event] = []

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        self.events.append(wake)
        return super().wait(seconds, wake)


def runner_on(script: Script) -> tuple[LiveRunner, FakeVenue, FlakyOrders, RecordingClock]:
    config = with_venue_rules(AppConfig.model_validate(CONFIG), RULES, venue="memory")
    venue = FakeVenue(simulated_exchange(config), RULES)
    engine = simple_engine(
        config, venue.exchange, MemoryStore(), checkpoint=CheckpointPolicy.EVERY_CHANGE
    )
    orders = FlakyOrders(PolledOrderUpdates(venue.exchange, SYMBOL))
    clock = RecordingClock(script)
    sources = LiveSources(venue=venue, market=VenueMarketData(venue), orders=orders, clock=clock)
    runner = LiveRunner(
        config, engine, sources, RULES, freeze_heap=False, outages=OutageWatch(draw=lambda: 0.0)
    )
    script.stop = runner.request_stop
    return runner, venue, orders, clock


def test_an_outage_backs_off_exponentially_and_is_logged_once_each_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = Script([])
    runner, venue, orders, clock = runner_on(script)
    script.steps = [
        *venue.minute(0, "100000", "99990"),
        lambda: setattr(orders, "failures", 6),  # the next six polls fail
        runner.wake.set,  # a stream delivers during the outage: no early retry
        *venue.minute(1, "99970", "99948", "99960", "99980", "99990", "100000", "100010"),
    ]
    caplog.set_level(logging.INFO)
    runner.run()

    outage = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    start = clock.waits.index(2.0) - 1
    assert clock.waits[start : start + 6] == outage  # doubling to the 30 s cap
    before, after = clock.waits[:start], clock.waits[start + 6 :]
    assert set(before) == set(after) == {1.0}  # otherwise the 1 s schedule
    # the backoff waits only for a stop; the schedule's waits also for a stream's wake
    events = ["stop" if e is runner.stop_requested else "wake" for e in clock.events]
    assert events[start : start + 6] == ["stop"] * 6
    assert set(events[:start] + events[start + 6 :]) == {"wake"}

    lines = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "market_maker.live.outage"
    ]
    assert lines == [
        (
            "WARNING",
            "exchange unavailable: fetch_open_orders BTC/USDT: HTTP 503; retrying with "
            "backoff (next try in 1.0 s)",
        ),
        ("INFO", "exchange available again after 61.0 s and 6 retries"),
    ]
    assert runner.outages.outages == 1 and runner.outages.current is None
    assert runner.engine.state.book.fees_paid == sum(f.last_fee for f in venue.exchange.fills)


def test_a_stop_cuts_a_backoff_short_on_the_wall_clock() -> None:
    """A 30 s backoff on the real clock: the run ends as soon as it is asked to stop."""
    script = Script([])
    runner, venue, orders, _ = runner_on(script)
    venue.tick(1_747_180_800_000, "100000")
    runner.sources = LiveSources(runner.sources.venue, runner.sources.market, orders, SystemClock())
    runner.outages = OutageWatch(Backoff(first_s=30, cap_s=30), draw=lambda: 0.0)
    orders.failures = 1_000_000
    failed = threading.Event()
    runner.on_poll = lambda r: failed.set() if r.outages.current else None
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    assert failed.wait(30), "the first poll did not fail"
    runner.request_stop()
    thread.join(10)  # far shorter than the 30 s backoff it was in
    assert not thread.is_alive()
    assert orders.polls == 1  # no retry happened


class AccountOutage(FakeVenue):
    """A venue whose account endpoint fails once, right after the start-up checks read it."""

    calls = 0

    def balances(self) -> dict[str, Balance]:
        self.calls += 1
        if self.calls == 2:
            raise RetryableExchangeError("GET /api/v3/account: HTTP 503")
        return super().balances()


def test_an_outage_when_the_tracker_first_reads_the_account_does_not_end_the_run() -> None:
    config = with_venue_rules(AppConfig.model_validate(CONFIG), RULES, venue="memory")
    venue = AccountOutage(simulated_exchange(config), RULES)
    script = Script([*venue.minute(0, "100000", "99990", "99960")])
    engine = simple_engine(config, venue.exchange, MemoryStore())
    tracker = RunTracker(SYMBOL)
    sources = LiveSources(
        venue=venue,
        market=VenueMarketData(venue),
        orders=PolledOrderUpdates(venue.exchange, SYMBOL),
        clock=ManualClock(0, script),
    )
    runner = LiveRunner(config, engine, sources, RULES, freeze_heap=False, on_poll=tracker.on_poll)
    script.stop = runner.request_stop
    runner.run()
    assert venue.calls >= 3  # the failed read was tried again at a later poll
    assert tracker.started and runner.counts.prices == 3
