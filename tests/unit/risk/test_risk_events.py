"""Risk events: the transition table, event validation and state combination."""

import pytest

from market_maker.domain.enums import RiskState
from market_maker.domain.errors import IllegalTransitionError
from market_maker.risk.events import (
    HALT_KINDS,
    TRANSITIONS,
    RiskEvent,
    RiskEventKind,
    combine_states,
    risk_transition,
)

N, R, H = RiskState.NORMAL, RiskState.RISK_MODE, RiskState.HALTED


def test_every_kind_has_exactly_one_legal_transition() -> None:
    kinds = [kind for (_, kind) in TRANSITIONS]
    assert sorted(k.value for k in kinds) == sorted(k.value for k in RiskEventKind)


def test_halted_is_left_only_by_cooldown_or_reset() -> None:
    leaving = {
        kind for (state, kind), after in TRANSITIONS.items() if state is H and after is not H
    }
    assert leaving == {RiskEventKind.COOLDOWN_EXPIRED, RiskEventKind.BREAKER_RESET}


def test_halt_kinds_are_the_ones_leading_to_halted() -> None:
    halting = {
        RiskEventKind.CONSECUTIVE_LOSSES,
        RiskEventKind.DRAWDOWN_QUOTE,
        RiskEventKind.DRAWDOWN_PCT,
        RiskEventKind.POSITION_DIVERGENCE,
        RiskEventKind.OPERATOR_HALT,
    }
    assert halting == HALT_KINDS


def test_illegal_pair_raises_with_the_legal_alternatives() -> None:
    with pytest.raises(
        IllegalTransitionError, match="cooldown_expired is not allowed in state NORMAL"
    ):
        risk_transition(N, RiskEventKind.COOLDOWN_EXPIRED)
    with pytest.raises(IllegalTransitionError, match="breaker_reset"):
        risk_transition(H, RiskEventKind.CALM_RECOVERY)


def test_an_event_contradicting_the_table_cannot_be_built() -> None:
    with pytest.raises(IllegalTransitionError, match="leads to HALTED, not RISK_MODE"):
        RiskEvent(1, RiskEventKind.OPERATOR_HALT, "x", N, R)
    event = RiskEvent.of(7, RiskEventKind.VOLATILITY_ANOMALY, N, "spike", "BTC/USDT")
    assert (event.state_after, event.symbol, event.ts_ms) == (R, "BTC/USDT", 7)


@pytest.mark.parametrize(
    ("monitor", "breaker", "combined"),
    [(N, N, N), (R, N, R), (N, H, H), (R, H, H)],
)
def test_halted_beats_risk_mode_beats_normal(
    monitor: RiskState, breaker: RiskState, combined: RiskState
) -> None:
    assert combine_states(monitor, breaker) is combined
    assert combine_states(breaker, monitor) is combined
