"""Circuit breaker: losing streaks and drawdowns trip the bot to ``HALTED``.

Rules:

* **Losing round trip**: a completed round trip whose realised PnL *net of fees* is below
  zero. A round trip at zero or better ends the streak. ``max_consecutive_losses`` losses in
  a row trip the breaker.
* **Drawdown** is measured from the peak equity seen since start (or since the last time the
  breaker re-armed): ``peak - equity`` in quote currency, and ``(peak - equity) / peak x 100``
  percent when the peak is positive. Reaching either limit trips the breaker.
* **Leaving HALTED**: only ``on_time`` once ``cooldown_s`` has passed since an *automatic*
  trip (losses or drawdown), or ``reset`` by an operator. Halts from the reconciler (position
  divergence) or an operator never expire: they need a manual reset. ``cooldown_s = 0``
  means every halt needs a manual reset.
* **Re-arming** (cooldown expiry or reset) clears the losing streak and moves the equity peak
  to the latest equity seen, so the drawdown budget starts again from there. Without that
  the same drawdown would trip again on the next equity update.
* ``enabled = false`` switches off the automatic rules; ``trip`` (reconciler, operator)
  always works.
"""

from dataclasses import dataclass
from decimal import Decimal

from market_maker.domain.enums import RiskState
from market_maker.risk.config import CircuitBreakerConfig
from market_maker.risk.events import HALT_KINDS, RiskEvent, RiskEventKind, RiskInputError

AUTOMATIC_KINDS = frozenset(
    {RiskEventKind.CONSECUTIVE_LOSSES, RiskEventKind.DRAWDOWN_QUOTE, RiskEventKind.DRAWDOWN_PCT}
)
"""Halt kinds the breaker decides itself; only these expire with the cooldown."""


@dataclass(frozen=True, slots=True)
class CircuitBreakerSnapshot:
    """Everything needed to resume a ``CircuitBreaker`` exactly.

    Attributes:
        state: ``NORMAL`` or ``HALTED``.
        consecutive_losses: Losing round trips in a row so far.
        peak_equity: Highest equity seen since the breaker last armed (quote currency).
        last_equity: Latest equity seen (quote currency).
        tripped_at_ms: When the current halt began, milliseconds since the epoch.
        trip_kind: Why the current halt began.
        trip_reason: Explanation of the current halt ("" when not halted).
    """

    state: RiskState
    consecutive_losses: int
    peak_equity: Decimal | None
    last_equity: Decimal | None
    tripped_at_ms: int | None
    trip_kind: RiskEventKind | None
    trip_reason: str


class CircuitBreaker:
    """Trips to ``HALTED`` on losing streaks and drawdowns; recovers by cooldown or reset."""

    def __init__(self, config: CircuitBreakerConfig) -> None:
        self.config = config
        self._state = RiskState.NORMAL
        self.consecutive_losses = 0
        self.peak_equity: Decimal | None = None
        self.last_equity: Decimal | None = None
        self.tripped_at_ms: int | None = None
        self.trip_kind: RiskEventKind | None = None
        self.trip_reason = ""

    @property
    def state(self) -> RiskState:
        """``NORMAL`` or ``HALTED``."""
        return self._state

    @property
    def halted(self) -> bool:
        """True while the breaker is open."""
        return self._state is RiskState.HALTED

    @property
    def resumes_at_ms(self) -> int | None:
        """When the cooldown ends the current halt, or ``None`` (not halted / manual only)."""
        if not self.halted or self.tripped_at_ms is None or not self.config.cooldown_s:
            return None
        if self.trip_kind not in AUTOMATIC_KINDS:
            return None
        return self.tripped_at_ms + self.config.cooldown_s * 1000

    def on_round_trip(self, pnl: Decimal, ts_ms: int) -> RiskEvent | None:
        """Count one completed round trip with its realised PnL net of fees (quote currency)."""
        self.consecutive_losses = self.consecutive_losses + 1 if pnl < 0 else 0
        limit = self.config.max_consecutive_losses
        if not self.config.enabled or not limit or self.consecutive_losses < limit:
            return None
        return self._trip(
            RiskEventKind.CONSECUTIVE_LOSSES,
            f"{self.consecutive_losses} losing round trips in a row (limit {limit}); "
            f"the last lost {-pnl}",
            ts_ms,
        )

    def on_equity(self, equity: Decimal, ts_ms: int) -> RiskEvent | None:
        """Track equity (quote currency, marked to market) against its peak."""
        self.last_equity = equity
        if self.peak_equity is None or equity > self.peak_equity:
            self.peak_equity = equity
        if not self.config.enabled:
            return None
        peak = self.peak_equity
        drawdown = peak - equity
        cap = self.config.max_drawdown_quote
        if cap is not None and drawdown >= cap:
            return self._trip(
                RiskEventKind.DRAWDOWN_QUOTE,
                f"drawdown {drawdown} from peak equity {peak} to {equity} reached the limit "
                f"of {cap} (quote currency)",
                ts_ms,
            )
        cap_pct = self.config.max_drawdown_pct
        if cap_pct is not None and peak > 0:
            pct = drawdown / peak * 100
            if pct >= cap_pct:
                return self._trip(
                    RiskEventKind.DRAWDOWN_PCT,
                    f"drawdown {pct:.4f}% from peak equity {peak} to {equity} reached the limit "
                    f"of {cap_pct}%",
                    ts_ms,
                )
        return None

    def on_time(self, ts_ms: int) -> RiskEvent | None:
        """Let time pass: ends an automatic halt once its cooldown has run out."""
        resume = self.resumes_at_ms
        if resume is None or ts_ms < resume:
            return None
        kind = self.trip_kind.value if self.trip_kind else "halt"
        reason = f"cooldown of {self.config.cooldown_s}s after {kind} ended; trading resumes"
        return self._rearm(RiskEventKind.COOLDOWN_EXPIRED, reason, ts_ms)

    def trip(self, kind: RiskEventKind, reason: str, ts_ms: int) -> RiskEvent | None:
        """Halt for an outside reason (reconciler divergence, operator); needs a manual reset."""
        if kind in AUTOMATIC_KINDS or kind not in HALT_KINDS:
            raise RiskInputError(
                f"trip() takes {RiskEventKind.POSITION_DIVERGENCE.value} or "
                f"{RiskEventKind.OPERATOR_HALT.value}, found {kind.value}"
            )
        return self._trip(kind, reason, ts_ms)

    def reset(self, ts_ms: int) -> RiskEvent | None:
        """Manual reset: re-arm the breaker; returns the event if a halt ended."""
        if not self.halted:
            self._clear_counters()
            return None
        return self._rearm(RiskEventKind.BREAKER_RESET, "circuit breaker reset by operator", ts_ms)

    def snapshot(self) -> CircuitBreakerSnapshot:
        """Capture the state for a checkpoint."""
        return CircuitBreakerSnapshot(
            self._state,
            self.consecutive_losses,
            self.peak_equity,
            self.last_equity,
            self.tripped_at_ms,
            self.trip_kind,
            self.trip_reason,
        )

    @classmethod
    def restore(
        cls, config: CircuitBreakerConfig, snap: CircuitBreakerSnapshot
    ) -> "CircuitBreaker":
        """Rebuild a breaker that continues where ``snap`` was taken."""
        breaker = cls(config)
        breaker._state = snap.state
        breaker.consecutive_losses = snap.consecutive_losses
        breaker.peak_equity, breaker.last_equity = snap.peak_equity, snap.last_equity
        breaker.tripped_at_ms, breaker.trip_kind = snap.tripped_at_ms, snap.trip_kind
        breaker.trip_reason = snap.trip_reason
        return breaker

    def _trip(self, kind: RiskEventKind, reason: str, ts_ms: int) -> RiskEvent | None:
        if self.halted:
            return None  # already open: the first reason stands
        event = RiskEvent.of(ts_ms, kind, self._state, reason)
        self._state = event.state_after
        self.tripped_at_ms, self.trip_kind, self.trip_reason = ts_ms, kind, reason
        return event

    def _rearm(self, kind: RiskEventKind, reason: str, ts_ms: int) -> RiskEvent:
        event = RiskEvent.of(ts_ms, kind, self._state, reason)
        self._state = event.state_after
        self.tripped_at_ms, self.trip_kind, self.trip_reason = None, None, ""
        self._clear_counters()
        return event

    def _clear_counters(self) -> None:
        self.consecutive_losses = 0
        self.peak_equity = self.last_equity
