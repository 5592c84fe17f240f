"""Which run events raise which alerts: risk events, reconciler corrections, outages."""

from typing import Any

from market_maker.config.alerts import AlertKind, AlertsConfig
from market_maker.domain.enums import RiskState
from market_maker.exchanges.base import RetryableExchangeError
from market_maker.live.outage import OutageWatch
from market_maker.ops.alert_sources import RunAlerts
from market_maker.risk.events import RiskEvent, RiskEventKind

N, R, H = RiskState.NORMAL, RiskState.RISK_MODE, RiskState.HALTED


class Raised:
    """The ``Notify`` port, recording what was raised (the alerter's own tests cover it)."""

    def __init__(self) -> None:
        self.alerts: list[tuple[AlertKind, str, dict[str, Any]]] = []

    def notify(self, kind: AlertKind, message: str, **fields: object) -> bool:
        self.alerts.append((kind, message, fields))
        return True

    def kinds(self) -> list[AlertKind]:
        return [kind for kind, _, _ in self.alerts]


def alerts(**settings: Any) -> tuple[RunAlerts, Raised]:
    raised = Raised()
    return RunAlerts(raised, AlertsConfig(**settings)), raised


def test_entering_risk_mode_or_a_halt_raises_an_alert_leaving_them_does_not() -> None:
    run, raised = alerts()
    events = [
        RiskEvent.of(1, RiskEventKind.VOLATILITY_ANOMALY, N, "volume 8x"),
        RiskEvent.of(2, RiskEventKind.CALM_RECOVERY, R, "calm"),
        RiskEvent.of(3, RiskEventKind.DRAWDOWN_PCT, N, "drawdown 12%"),
        RiskEvent.of(4, RiskEventKind.BREAKER_RESET, H, "reset"),
        RiskEvent.of(5, RiskEventKind.POSITION_DIVERGENCE, N, "position 0.01 vs 0"),
        RiskEvent.of(6, RiskEventKind.COOLDOWN_EXPIRED, H, "cooldown"),
        RiskEvent.of(7, RiskEventKind.OPERATOR_HALT, N, "maintenance"),
    ]
    for event in events:
        run.on_risk_event(event)
    assert [(k, m) for k, m, _ in raised.alerts] == [
        (AlertKind.RISK_MODE, "risk mode: volume 8x"),
        (AlertKind.HALTED, "halted by the circuit breaker: drawdown 12%"),
        (AlertKind.HALTED, "halted by the reconciler: position 0.01 vs 0"),
        (AlertKind.HALTED, "halted by an operator: maintenance"),
    ]
    assert raised.alerts[1][2] == {
        "event": RiskEventKind.DRAWDOWN_PCT,
        "since_ms": 3,
        "reason": "drawdown 12%",
    }


def test_only_new_divergence_corrections_raise_an_alert() -> None:
    run, raised = alerts()
    run.check_corrections({"QueryOrder": 4, "BookUpdate": 2, "OrderCleaner": 9})  # routine
    run.check_corrections({"QueryOrder": 4, "CorrectPosition": 1})
    run.check_corrections({"QueryOrder": 5, "CorrectPosition": 1})  # nothing new of note
    run.check_corrections({"CorrectPosition": 1, "AdoptOrder": 2, "Halt": 1})
    assert raised.alerts == [
        (
            AlertKind.RECONCILIATION_DIVERGENCE,
            "the reconciler found the exchange and the book apart and corrected it: "
            "CorrectPosition 1",
            {"CorrectPosition": 1},
        ),
        (
            AlertKind.RECONCILIATION_DIVERGENCE,
            "the reconciler found the exchange and the book apart and corrected it: "
            "AdoptOrder 2, Halt 1",
            {"AdoptOrder": 2, "Halt": 1},
        ),
    ]


def test_an_outage_raises_one_alert_past_n_failures_and_one_when_it_ends() -> None:
    run, raised = alerts(outage_failures=3, outage_s=3600)
    watch = OutageWatch(draw=lambda: 0.0)
    error = RetryableExchangeError("HTTP 503")
    for i in range(2):  # a short outage: below both thresholds
        watch.failed(error, i * 1000)
        run.check_outage(watch)
    watch.answered(5_000)
    run.check_outage(watch)
    assert raised.alerts == []  # a blip raises nothing, not even its end
    for i in range(6):
        watch.failed(error, 10_000 + i * 1000)
        run.check_outage(watch)
    watch.answered(20_000)
    run.check_outage(watch)
    run.check_outage(watch)  # the next polls: nothing more
    assert raised.kinds() == [AlertKind.EXCHANGE_ERRORS, AlertKind.EXCHANGE_RECOVERED]
    (_, down, down_fields), (_, up, up_fields) = raised.alerts
    assert down == "exchange unavailable for 2 s (3 failed polls): HTTP 503"
    assert down_fields == {
        "failures": 3,
        "outage_s": 2.0,
        "error": "HTTP 503",
        "started_ms": 10_000,
    }
    assert up == "exchange available again after 10 s and 6 retries"
    assert up_fields == {"retries": 6, "outage_s": 10.0, "error": "HTTP 503"}


def test_an_outage_raises_its_alert_after_outage_s_seconds_even_with_few_failures() -> None:
    run, raised = alerts(outage_failures=100, outage_s=60)
    watch = OutageWatch(draw=lambda: 0.0)
    for ms in (0, 30_000, 59_000):
        watch.failed(RetryableExchangeError("timeout"), ms)
        run.check_outage(watch)
    assert raised.alerts == []
    watch.failed(RetryableExchangeError("timeout"), 61_000)
    run.check_outage(watch)
    assert raised.kinds() == [AlertKind.EXCHANGE_ERRORS]
