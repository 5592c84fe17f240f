"""What raises alerts during a live run: risk events, reconciler corrections, outages.

``RunAlerts`` is both an ``EngineObserver`` (compose it with the run's tracker through
``market_maker.engine.observers.Observers``) and a poll hook (``on_poll``, chained after
the progress view): the engine tells it of risk events as they happen; after every poll
it looks at the engine's correction counts and the runner's outage. It decides *whether*
to alert; the ``Notify`` port (``Alerter.notify``) decides when and where.

* ``risk_mode``: a risk event into ``RISK_MODE`` (the volatility monitor);
* ``halted``: a risk event into ``HALTED``: the circuit breaker (losses, drawdown), the
  reconciler (position divergence) or an operator;
* ``reconciliation_divergence``: the reconciler corrected something the book and the
  exchange disagreed on (``DIVERGENCE_CORRECTIONS``; a report it merely booked late or an
  order it looked up is routine and raises nothing);
* ``exchange_errors``: an outage reached ``alerts.outage_failures`` failed polls or
  ``alerts.outage_s`` seconds (once per outage); ``exchange_recovered`` when that outage
  ends.
"""

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from market_maker.config.alerts import AlertKind, AlertsConfig
from market_maker.domain.enums import RiskState
from market_maker.engine.base import EngineObserver
from market_maker.live.outage import OutageWatch
from market_maker.risk.events import RiskEvent, RiskEventKind

if TYPE_CHECKING:
    from market_maker.live.runner import LiveRunner

DIVERGENCE_CORRECTIONS = ("AdoptOrder", "CancelUnknownOrder", "CorrectPosition", "Halt")
"""Reconciler corrections that mean the exchange and the book disagreed (engine counts)."""

_HALTED_BY = {
    RiskEventKind.POSITION_DIVERGENCE: "the reconciler",
    RiskEventKind.OPERATOR_HALT: "an operator",
}


class Notify(Protocol):
    """Raises an alert (``Alerter.notify``): never blocks, never raises."""

    def notify(self, kind: AlertKind, message: str, **fields: object) -> bool:
        """Raise an alert of ``kind``; True when it was queued."""
        ...


class RunAlerts(EngineObserver):
    """Turns a run's risk events, corrections and outages into alerts.

    Args:
        alerts: Where alerts go (``Alerter``).
        settings: The outage thresholds (``alerts.outage_failures``, ``alerts.outage_s``).
    """

    def __init__(self, alerts: Notify, settings: AlertsConfig) -> None:
        self.alerts = alerts
        self.outage_failures = settings.outage_failures
        self.outage_s = settings.outage_s
        self._corrections: Counter[str] = Counter()  # divergence corrections alerted so far
        self._outage_alerted = False

    def on_risk_event(self, event: RiskEvent) -> None:
        """Alert on entering ``RISK_MODE`` or ``HALTED``."""
        fields = {"event": event.kind, "since_ms": event.ts_ms, "reason": event.reason}
        if event.state_after is RiskState.RISK_MODE:
            self.alerts.notify(AlertKind.RISK_MODE, f"risk mode: {event.reason}", **fields)
        elif event.state_after is RiskState.HALTED:
            by = _HALTED_BY.get(event.kind, "the circuit breaker")
            self.alerts.notify(AlertKind.HALTED, f"halted by {by}: {event.reason}", **fields)

    def on_poll(self, runner: "LiveRunner") -> None:
        """After a poll: the reconciler's new corrections, and the exchange's outage."""
        self.check_corrections(runner.engine.corrections)
        self.check_outage(runner.outages)

    def check_corrections(self, counts: Mapping[str, int]) -> None:
        """Alert when divergence corrections were made since the last look."""
        new = {
            kind: counts.get(kind, 0) - self._corrections[kind]
            for kind in DIVERGENCE_CORRECTIONS
            if counts.get(kind, 0) > self._corrections[kind]
        }
        if not new:
            return
        self._corrections.update(new)
        listed = ", ".join(f"{kind} {n}" for kind, n in new.items())
        self.alerts.notify(
            AlertKind.RECONCILIATION_DIVERGENCE,
            f"the reconciler found the exchange and the book apart and corrected it: {listed}",
            **new,
        )

    def check_outage(self, outages: OutageWatch) -> None:
        """Alert once per outage past the thresholds, and when that outage ends."""
        outage = outages.current
        if outage is not None:
            past = outage.failures >= self.outage_failures or outage.duration_s >= self.outage_s
            if past and not self._outage_alerted:
                self._outage_alerted = True
                self.alerts.notify(
                    AlertKind.EXCHANGE_ERRORS,
                    f"exchange unavailable for {outage.duration_s:.0f} s "
                    f"({outage.failures} failed polls): {outage.error}",
                    failures=outage.failures,
                    outage_s=round(outage.duration_s, 3),
                    error=outage.error,
                    started_ms=outage.started_ms,
                )
            return
        ended = outages.last_ended
        if self._outage_alerted and ended is not None:
            self._outage_alerted = False
            self.alerts.notify(
                AlertKind.EXCHANGE_RECOVERED,
                f"exchange available again after {ended.duration_s:.0f} s and "
                f"{ended.failures} retries",
                retries=ended.failures,
                outage_s=round(ended.duration_s, 3),
                error=ended.error,
            )


__all__ = ["DIVERGENCE_CORRECTIONS", "Notify", "RunAlerts"]
