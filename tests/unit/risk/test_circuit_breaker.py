"""CircuitBreaker: losing streaks, drawdowns, cooldown, manual reset, checkpoints."""

from decimal import Decimal

import pytest

from market_maker.domain.enums import RiskState
from market_maker.risk.breaker import CircuitBreaker
from market_maker.risk.config import CircuitBreakerConfig
from market_maker.risk.events import RiskEventKind, RiskInputError

D = Decimal


def breaker(**kw: object) -> CircuitBreaker:
    return CircuitBreaker(CircuitBreakerConfig.model_validate(kw))


def test_consecutive_losses_trip_at_the_limit() -> None:
    cb = breaker(max_consecutive_losses=3)
    assert cb.on_round_trip(D("-1"), 1) is None
    assert cb.on_round_trip(D("-2"), 2) is None
    event = cb.on_round_trip(D("-0.5"), 3)
    assert event is not None
    assert event.kind is RiskEventKind.CONSECUTIVE_LOSSES
    assert (event.state_before, event.state_after) == (RiskState.NORMAL, RiskState.HALTED)
    assert event.ts_ms == 3
    assert "3 losing round trips in a row (limit 3)" in event.reason
    assert "lost 0.5" in event.reason
    assert cb.halted
    assert cb.trip_kind is RiskEventKind.CONSECUTIVE_LOSSES


@pytest.mark.parametrize("pnl", [D(0), D("0.01")])
def test_a_break_even_or_winning_round_trip_ends_the_streak(pnl: Decimal) -> None:
    cb = breaker(max_consecutive_losses=2)
    cb.on_round_trip(D(-1), 1)
    cb.on_round_trip(pnl, 2)
    assert cb.consecutive_losses == 0
    assert cb.on_round_trip(D(-1), 3) is None
    assert cb.on_round_trip(D(-1), 4) is not None


def test_zero_loss_limit_disables_the_streak_rule() -> None:
    cb = breaker(max_consecutive_losses=0)
    for i in range(50):
        assert cb.on_round_trip(D(-1), i) is None
    assert cb.consecutive_losses == 50


def test_drawdown_in_quote_currency_is_measured_from_the_peak() -> None:
    cb = breaker(max_drawdown_quote=D(100))
    assert cb.on_equity(D(1000), 1) is None
    assert cb.on_equity(D(1200), 2) is None  # new peak
    assert cb.on_equity(D("1100.01"), 3) is None  # 99.99 below the peak
    event = cb.on_equity(D(1100), 4)  # exactly 100 below: reaches the limit
    assert event is not None
    assert event.kind is RiskEventKind.DRAWDOWN_QUOTE
    assert "drawdown 100 from peak equity 1200 to 1100" in event.reason


def test_drawdown_in_percent_of_the_peak() -> None:
    cb = breaker(max_drawdown_pct=D(10))
    cb.on_equity(D(2000), 1)
    assert cb.on_equity(D(1801), 2) is None  # 9.95%
    event = cb.on_equity(D(1800), 3)
    assert event is not None
    assert event.kind is RiskEventKind.DRAWDOWN_PCT
    assert "10.0000%" in event.reason


def test_percent_drawdown_is_not_computed_without_a_positive_peak() -> None:
    cb = breaker(max_drawdown_pct=D(10))
    assert cb.on_equity(D(0), 1) is None
    assert cb.on_equity(D(-50), 2) is None
    assert not cb.halted


def test_cooldown_ends_an_automatic_halt_and_not_a_moment_earlier() -> None:
    cb = breaker(max_consecutive_losses=1, cooldown_s=60)
    cb.on_round_trip(D(-1), 1_000)
    assert cb.resumes_at_ms == 61_000
    assert cb.on_time(60_999) is None
    assert cb.halted
    event = cb.on_time(61_000)
    assert event is not None
    assert event.kind is RiskEventKind.COOLDOWN_EXPIRED
    assert (event.state_before, event.state_after) == (RiskState.HALTED, RiskState.NORMAL)
    assert "cooldown of 60s after consecutive_losses ended" in event.reason
    assert cb.state is RiskState.NORMAL
    assert cb.resumes_at_ms is None
    assert cb.on_time(10**9) is None


def test_zero_cooldown_means_manual_reset_only() -> None:
    cb = breaker(max_consecutive_losses=1, cooldown_s=0)
    cb.on_round_trip(D(-1), 1)
    assert cb.resumes_at_ms is None
    assert cb.on_time(10**12) is None
    event = cb.reset(10**12 + 1)
    assert event is not None
    assert event.kind is RiskEventKind.BREAKER_RESET
    assert not cb.halted


@pytest.mark.parametrize("kind", [RiskEventKind.POSITION_DIVERGENCE, RiskEventKind.OPERATOR_HALT])
def test_outside_halts_ignore_the_cooldown(kind: RiskEventKind) -> None:
    cb = breaker(cooldown_s=1)
    event = cb.trip(kind, "exchange position 2, book 1", 5)
    assert event is not None
    assert event.kind is kind
    assert event.reason == "exchange position 2, book 1"
    assert cb.on_time(10**12) is None
    assert cb.halted
    assert cb.reset(10**12) is not None


@pytest.mark.parametrize(
    "kind",
    [RiskEventKind.CONSECUTIVE_LOSSES, RiskEventKind.COOLDOWN_EXPIRED, RiskEventKind.CALM_RECOVERY],
)
def test_trip_refuses_kinds_the_breaker_decides_or_that_do_not_halt(kind: RiskEventKind) -> None:
    with pytest.raises(RiskInputError, match=kind.value):
        breaker().trip(kind, "x", 1)


def test_the_first_reason_stands_while_halted() -> None:
    cb = breaker(max_consecutive_losses=1, max_drawdown_quote=D(1))
    first = cb.on_round_trip(D(-5), 1)
    assert first is not None
    cb.on_equity(D(100), 2)
    assert cb.on_equity(D(10), 3) is None
    assert cb.trip(RiskEventKind.OPERATOR_HALT, "stop", 4) is None
    assert cb.trip_kind is RiskEventKind.CONSECUTIVE_LOSSES
    assert cb.trip_reason == first.reason
    assert cb.tripped_at_ms == 1


def test_rearming_clears_the_streak_and_moves_the_peak_to_the_latest_equity() -> None:
    cb = breaker(max_drawdown_quote=D(100), max_consecutive_losses=3, cooldown_s=1)
    cb.on_round_trip(D(-1), 0)
    cb.on_round_trip(D(-1), 0)
    cb.on_equity(D(1000), 1)
    assert cb.on_equity(D(900), 2) is not None
    assert cb.on_time(2_000) is not None
    assert cb.consecutive_losses == 0
    assert cb.peak_equity == 900
    assert cb.on_equity(D(850), 3) is None  # 50 below the new peak
    assert cb.on_equity(D(800), 4) is not None  # 100 below it


def test_reset_while_normal_rearms_and_reports_nothing() -> None:
    cb = breaker(max_consecutive_losses=2)
    cb.on_round_trip(D(-1), 1)
    cb.on_equity(D(500), 1)
    cb.on_equity(D(400), 2)
    assert cb.reset(3) is None
    assert cb.consecutive_losses == 0
    assert cb.peak_equity == 400


def test_disabled_breaker_never_trips_by_itself_but_outside_halts_work() -> None:
    cb = breaker(enabled=False, max_consecutive_losses=1, max_drawdown_quote=D(1))
    assert cb.on_round_trip(D(-1), 1) is None
    cb.on_equity(D(100), 2)
    assert cb.on_equity(D(1), 3) is None
    assert not cb.halted
    assert cb.trip(RiskEventKind.POSITION_DIVERGENCE, "gap", 4) is not None


def test_snapshot_restore_round_trips_a_halt() -> None:
    cfg = CircuitBreakerConfig(max_drawdown_pct=D(5), cooldown_s=30)
    cb = CircuitBreaker(cfg)
    cb.on_round_trip(D(-2), 1)
    cb.on_equity(D(100), 2)
    cb.on_equity(D(94), 3)
    resumed = CircuitBreaker.restore(cfg, cb.snapshot())
    assert resumed.snapshot() == cb.snapshot()
    assert resumed.halted
    assert resumed.resumes_at_ms == 30_003
    assert resumed.on_time(30_003) == cb.on_time(30_003)
