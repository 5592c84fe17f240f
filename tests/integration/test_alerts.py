"""Alerts delivered to real HTTP receivers: a JSON webhook and a stand-in Telegram Bot API.

Deliveries go over HTTP to servers on localhost (``tests.support.alert_receivers``). The
rate limit runs on an injected clock. A receiver that hangs or answers 500 must not change
a live run in any way: the same run, on a manual clock, waits exactly as it does without
alerts, and ``notify`` never blocks (the bounded queue drops and counts instead).
"""

import logging
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.alerts import AlertKind, AlertsConfig
from market_maker.config.app import AppConfig
from market_maker.domain.instrument import Instrument, MarketRules
from market_maker.domain.orders import OrderUpdate
from market_maker.engine.execution import CheckpointPolicy
from market_maker.engine.grid import simple_engine
from market_maker.engine.observers import Observers
from market_maker.exchanges.base import RetryableExchangeError
from market_maker.live.outage import OutageWatch
from market_maker.live.polled import PolledOrderUpdates
from market_maker.live.runner import LiveRunner, LiveSources
from market_maker.live.venue_rules import with_venue_rules
from market_maker.ops.alert_senders import Alert, TelegramSender, WebhookSender
from market_maker.ops.alert_sources import RunAlerts
from market_maker.ops.alerts import Alerter
from market_maker.slots.model import OrderRecord
from market_maker.stores.memory import MemoryStore
from tests.support.alert_receivers import telegram_api, webhook_receiver
from tests.support.live import T0, FakeVenue, ManualClock, Script, VenueMarketData

pytestmark = pytest.mark.timeout(120)

TOKEN = "987654321:AAF_test-token-never-shown"
CHAT = "-1001234"


class Clock:
    """A settable monotonic clock for the rate limit."""

    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


def alerter(senders: list, **kwargs: object) -> Alerter:  # type: ignore[type-arg]
    kwargs.setdefault("wall_ms", lambda: T0)
    return Alerter("grid1", "BTC/USDT", senders, **kwargs)  # type: ignore[arg-type]


def test_the_webhook_receives_each_alert_as_a_json_post() -> None:
    with webhook_receiver() as receiver:
        with alerter([WebhookSender(receiver.url, 5)]) as alerts:
            assert alerts.notify(
                AlertKind.HALTED,
                "halted by the circuit breaker: drawdown 12%",
                level=Decimal("100.50"),
                event=AlertKind.HALTED,
                failures=3,
            )
            received = receiver.take()
        assert alerts.delivered == 1 and alerts.failed == 0
    assert received.path == "/"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["User-Agent"].startswith("market-maker/")
    assert received.body == {
        "bot_id": "grid1",
        "symbol": "BTC/USDT",
        "kind": "halted",
        "message": "halted by the circuit breaker: drawdown 12%",
        "fields": {"level": "100.50", "event": "halted", "failures": 3},
        "ts": "2025-05-14T00:00:00.000Z",
    }


def test_telegram_receives_a_send_message_with_the_chat_and_the_text() -> None:
    with telegram_api(TOKEN, frozenset({CHAT})) as api:
        with alerter([TelegramSender(TOKEN, CHAT, api.url, 5)]) as alerts:
            alerts.notify(AlertKind.RISK_MODE, "risk mode: volume 8x", reason="volume 8x")
            received = api.take()
        assert alerts.delivered == 1
    assert received.path == f"/bot{TOKEN}/sendMessage"
    assert received.body == {
        "chat_id": CHAT,
        "text": "[grid1 BTC/USDT] risk_mode\nrisk mode: volume 8x\nreason: volume 8x\n"
        "2025-05-14T00:00:00.000Z",
    }


@pytest.mark.parametrize(
    ("token", "chat", "why"),
    [
        ("111:wrong-token", CHAT, "Telegram refused the message: HTTP 401, Unauthorized"),
        (TOKEN, "-999", "Telegram refused the message: HTTP 400, Bad Request: chat not found"),
    ],
)
def test_a_telegram_refusal_is_counted_and_logged_once_without_the_token(
    caplog: pytest.LogCaptureFixture, token: str, chat: str, why: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="market_maker.ops.alerts")
    with telegram_api(TOKEN, frozenset({CHAT})) as api:
        with alerter([TelegramSender(token, chat, api.url, 5)], min_interval_s=0) as alerts:
            for n in range(3):
                alerts.notify(AlertKind.STUCK_SLOTS, f"slot {n} stuck")
        assert len(api.drain()) == 3
    assert (alerts.delivered, alerts.failed) == (0, 3)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0] == (
        f"alert to telegram not delivered: {why} (stuck_slots alert dropped; further "
        "failures are counted, not logged)"
    )
    assert warnings[1].startswith("alerts: 0 delivered, 3 failed deliveries, 0 dropped")
    assert len(warnings) == 2  # the failure once, the summary at close
    assert token not in caplog.text


def test_an_unreachable_webhook_is_a_counted_failure() -> None:
    with webhook_receiver() as receiver:
        url = receiver.url
    with alerter([WebhookSender(url, 5)]) as alerts:  # nothing listens there any more
        alerts.notify(AlertKind.HALTED, "halted")
    assert (alerts.delivered, alerts.failed) == (0, 1)


def test_one_alert_per_kind_per_interval_and_the_next_counts_the_suppressed() -> None:
    clock = Clock()
    with (
        webhook_receiver() as receiver,
        alerter([WebhookSender(receiver.url, 5)], min_interval_s=300, monotonic=clock) as a,
    ):
        sent = [a.notify(AlertKind.HALTED, "halted 1")]
        clock.s = 100
        sent += [a.notify(AlertKind.HALTED, "halted 2"), a.notify(AlertKind.HALTED, "3")]
        sent.append(a.notify(AlertKind.RISK_MODE, "risk mode"))  # another kind: its own
        clock.s = 299.9
        sent.append(a.notify(AlertKind.HALTED, "halted 4"))
        clock.s = 300
        sent.append(a.notify(AlertKind.HALTED, "halted 5"))
        bodies = [receiver.take().body for _ in range(3)]
    assert sent == [True, False, False, True, False, True]
    assert (a.queued, a.suppressed) == (3, 3)
    assert [(b["kind"], b["message"], b["fields"]) for b in bodies] == [
        ("halted", "halted 1", {}),
        ("risk_mode", "risk mode", {}),
        ("halted", "halted 5", {"suppressed": 3}),
    ]


def test_kinds_not_enabled_are_not_sent() -> None:
    with webhook_receiver() as receiver:
        with alerter([WebhookSender(receiver.url, 5)], kinds={AlertKind.HALTED}) as alerts:
            assert not alerts.notify(AlertKind.RISK_MODE, "risk mode")
            assert alerts.notify(AlertKind.HALTED, "halted")
            assert receiver.take().body["kind"] == "halted"
        assert receiver.drain() == []


class Recorded:
    """A sender that keeps what it was given (the rate limit does not depend on the sender;
    deliveries over HTTP are the tests above)."""

    name = "recorded"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


@settings(max_examples=60)
@given(
    st.floats(0, 100),
    st.lists(st.tuples(st.sampled_from(list(AlertKind)), st.floats(0, 50)), max_size=40),
)
def test_the_rate_limit_sends_what_a_plain_reference_sends(
    interval: float, calls: list[tuple[AlertKind, float]]
) -> None:
    """Per kind: sent iff none was sent within ``interval``; the held-back ones counted."""
    clock, recorded = Clock(), Recorded()
    expected: list[tuple[AlertKind, int]] = []
    last: dict[AlertKind, float] = {}
    held: dict[AlertKind, int] = {}
    with alerter([recorded], min_interval_s=interval, monotonic=clock, queue_size=100) as a:
        for kind, step in calls:
            clock.s += step
            send = not (interval and kind in last and clock.s - last[kind] < interval)
            assert a.notify(kind, "x") is send
            if send:
                expected.append((kind, held.pop(kind, 0)))
                last[kind] = clock.s
            else:
                held[kind] = held.get(kind, 0) + 1
    assert [(al.kind, al.fields.get("suppressed", 0)) for al in recorded.alerts] == expected
    assert (a.queued, a.suppressed) == (len(expected), len(calls) - len(expected))


# -- a slow or broken receiver does not touch the run --------------------------------------

D = Decimal
SYMBOL = "BTC/USDT"
CONFIG = {
    "bot_id": "alerts",
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

    def poll(self, known: list[OrderRecord]) -> list[OrderUpdate]:
        if self.failures:
            self.failures -= 1
            raise RetryableExchangeError("HTTP 503")
        return self.inner.poll(known)


def scripted_run(alerts: Alerter | None) -> tuple[list[float], list[tuple[object, ...]]]:
    """One scripted run (trades, an outage, stuck-slot alerts); its waits and its orders."""
    config = with_venue_rules(AppConfig.model_validate(CONFIG), RULES, venue="memory")
    venue = FakeVenue(simulated_exchange(config), RULES)
    orders = FlakyOrders(PolledOrderUpdates(venue.exchange, SYMBOL))
    run_alerts = RunAlerts(alerts, AlertsConfig(outage_failures=2)) if alerts else None
    raise_stuck: Callable[[], object] = (
        (lambda: [alerts.notify(AlertKind.STUCK_SLOTS, f"{n} stuck") for n in range(10)])
        if alerts
        else (lambda: None)
    )
    script = Script(
        [
            *venue.minute(0, "100000", "99990", "99960"),
            raise_stuck,  # the health check's alerts, on the runner's thread
            lambda: setattr(orders, "failures", 4),
            *venue.minute(1, "99948", "99930", "99980", "100005", "100010"),
        ]
    )
    clock = ManualClock(0, script)
    engine = simple_engine(
        config,
        venue.exchange,
        MemoryStore(),
        observer=Observers.of([run_alerts]) if run_alerts else None,
        checkpoint=CheckpointPolicy.EVERY_CHANGE,
    )
    sources = LiveSources(venue=venue, market=VenueMarketData(venue), orders=orders, clock=clock)
    runner = LiveRunner(
        config,
        engine,
        sources,
        RULES,
        freeze_heap=False,
        on_poll=run_alerts.on_poll if run_alerts else None,
        outages=OutageWatch(draw=lambda: 0.0),
    )
    script.stop = runner.request_stop
    runner.run()
    orders_placed = venue.exchange.orders.values()
    return clock.waits, [(o.request.client_order_id, o.status, o.filled) for o in orders_placed]


def test_a_hanging_receiver_changes_nothing_in_the_run(caplog: pytest.LogCaptureFixture) -> None:
    baseline = scripted_run(None)
    waits, placed = baseline
    assert placed and waits[waits.index(2.0) - 1 :][:4] == [1.0, 2.0, 4.0, 8.0]  # an outage
    with webhook_receiver("hang") as receiver:
        alerts = alerter([WebhookSender(receiver.url, 30)], min_interval_s=0, queue_size=3)
        alerts.start()
        alerts.notify(AlertKind.HALTED, "before the run")
        assert receiver.take().body["message"] == "before the run"  # held by the receiver
        assert scripted_run(alerts) == baseline  # the same waits on the clock, same orders
        # the run raised 10 stuck + exchange_errors + exchange_recovered: 3 fit the queue
        assert (alerts.queued, alerts.dropped) == (4, 9)
        assert receiver.drain() == []  # nothing else got through while it hung
        receiver.release()
        assert alerts.close()
        kinds = [r.body["kind"] for r in receiver.drain()]
    assert kinds == ["stuck_slots"] * 3
    assert (alerts.delivered, alerts.failed) == (4, 0)
    drops = [r for r in caplog.records if "alert queue full" in r.getMessage()]
    assert len(drops) == 1  # logged once


def test_a_failing_receiver_changes_nothing_in_the_run(caplog: pytest.LogCaptureFixture) -> None:
    baseline = scripted_run(None)
    with webhook_receiver("fail") as receiver:
        alerts = alerter([WebhookSender(receiver.url, 30)], min_interval_s=0, queue_size=3)
        with alerts:
            assert scripted_run(alerts) == baseline
        assert alerts.queued + alerts.dropped == 12
        assert alerts.queued == alerts.failed == len(receiver.drain()) >= 3
    assert alerts.delivered == 0
    failures = [r for r in caplog.records if "not delivered" in r.getMessage()]
    assert [r.levelno for r in failures].count(logging.WARNING) == 1  # logged once
