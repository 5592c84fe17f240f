"""Risk events: the record every risk component emits when its state changes.

Each component owns part of the risk state: the ``RiskMonitor`` moves between ``NORMAL`` and
``RISK_MODE``, the ``CircuitBreaker`` between ``NORMAL`` and ``HALTED``. ``TRANSITIONS`` is
the table of every legal ``(state before, kind) -> state after``; a ``RiskEvent`` that is not
in the table cannot be built, so an illegal transition can never reach a report.
``combine_states`` folds the two components into the one ``RiskState`` the strategy sees.
"""

from dataclasses import dataclass
from enum import Enum

from market_maker.domain.enums import RiskState
from market_maker.domain.errors import IllegalTransitionError, MarketMakerError


class RiskInputError(MarketMakerError, ValueError):
    """A risk component received an input it cannot use (a bug in the caller)."""


class RiskEventKind(Enum):
    """Why a risk state changed."""

    VOLATILITY_ANOMALY = "volatility_anomaly"
    """Monitor: a volume spike (with a close below the average) entered ``RISK_MODE``."""
    CALM_RECOVERY = "calm_recovery"
    """Monitor: enough calm closed candles passed; back to ``NORMAL``."""
    MONITOR_RESET = "monitor_reset"
    """Monitor: an operator reset ``RISK_MODE`` by hand."""
    CONSECUTIVE_LOSSES = "consecutive_losses"
    """Breaker: too many losing round trips in a row; ``HALTED``."""
    DRAWDOWN_QUOTE = "drawdown_quote"
    """Breaker: equity fell from its peak by the configured amount; ``HALTED``."""
    DRAWDOWN_PCT = "drawdown_pct"
    """Breaker: equity fell from its peak by the configured percentage; ``HALTED``."""
    POSITION_DIVERGENCE = "position_divergence"
    """Breaker: the reconciler found the exchange position too far from the book; ``HALTED``."""
    OPERATOR_HALT = "operator_halt"
    """Breaker: an operator halted the bot by hand; ``HALTED``."""
    COOLDOWN_EXPIRED = "cooldown_expired"
    """Breaker: the cooldown after an automatic trip ran out; back to ``NORMAL``."""
    BREAKER_RESET = "breaker_reset"
    """Breaker: an operator reset ``HALTED`` by hand."""


_N, _R, _H = RiskState.NORMAL, RiskState.RISK_MODE, RiskState.HALTED

TRANSITIONS: dict[tuple[RiskState, RiskEventKind], RiskState] = {
    (_N, RiskEventKind.VOLATILITY_ANOMALY): _R,
    (_R, RiskEventKind.CALM_RECOVERY): _N,
    (_R, RiskEventKind.MONITOR_RESET): _N,
    (_N, RiskEventKind.CONSECUTIVE_LOSSES): _H,
    (_N, RiskEventKind.DRAWDOWN_QUOTE): _H,
    (_N, RiskEventKind.DRAWDOWN_PCT): _H,
    (_N, RiskEventKind.POSITION_DIVERGENCE): _H,
    (_N, RiskEventKind.OPERATOR_HALT): _H,
    # HALTED is left only by the cooldown or by an operator.
    (_H, RiskEventKind.COOLDOWN_EXPIRED): _N,
    (_H, RiskEventKind.BREAKER_RESET): _N,
}
"""Every legal ``(state before, kind) -> state after`` of a risk component."""

HALT_KINDS = frozenset(kind for (_, kind), after in TRANSITIONS.items() if after is _H)
"""Kinds that trip the circuit breaker."""


def risk_transition(state: RiskState, kind: RiskEventKind) -> RiskState:
    """The state after ``kind`` happens in ``state``; raise ``IllegalTransitionError`` if none."""
    try:
        return TRANSITIONS[(state, kind)]
    except KeyError:
        raise IllegalTransitionError(
            f"risk event {kind.value} is not allowed in state {state.value}; legal kinds "
            f"there: {sorted(k.value for (s, k) in TRANSITIONS if s is state)}"
        ) from None


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """One change of a risk component's state, for logs and reports.

    Attributes:
        ts_ms: Event time, milliseconds since the epoch (the time of the input that caused it).
        kind: Why the state changed.
        reason: Human-readable explanation naming the numbers that caused it.
        state_before: The component's state before the event.
        state_after: The component's state after the event.
        symbol: The market concerned ("" when the event is not about one market).
    """

    ts_ms: int
    kind: RiskEventKind
    reason: str
    state_before: RiskState
    state_after: RiskState
    symbol: str = ""

    def __post_init__(self) -> None:
        expected = risk_transition(self.state_before, self.kind)
        if expected is not self.state_after:
            raise IllegalTransitionError(
                f"risk event {self.kind.value} from {self.state_before.value} leads to "
                f"{expected.value}, not {self.state_after.value}"
            )

    @classmethod
    def of(
        cls, ts_ms: int, kind: RiskEventKind, before: RiskState, reason: str, symbol: str = ""
    ) -> "RiskEvent":
        """Build the event of ``kind`` from ``before``, taking the next state from the table."""
        return cls(ts_ms, kind, reason, before, risk_transition(before, kind), symbol)


def combine_states(monitor: RiskState, breaker: RiskState) -> RiskState:
    """The risk state the strategy sees: ``HALTED`` wins over ``RISK_MODE`` over ``NORMAL``."""
    if RiskState.HALTED in (monitor, breaker):
        return RiskState.HALTED
    if RiskState.RISK_MODE in (monitor, breaker):
        return RiskState.RISK_MODE
    return RiskState.NORMAL
