"""The health rule: each reason on its own, the worst level wins, and the slot watch."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.config.operations import OperationsConfig
from market_maker.ops.health import HealthInputs, HealthLevel, SlotWatch, assess

NOW = 1_800_000_000_000
CONFIG = OperationsConfig(
    stale_price_s=30, error_window_s=60, max_errors_in_window=5, stuck_pending_s=60
)


def view(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "running": True,
        "wall_ms": NOW,
        "price_wall_ms": NOW - 1_000,
        "risk_state": "NORMAL",
        "halt": None,
        "slots": [
            {"level": "100", "status": "LOCKED", "client_order_id": "a"},
            {"level": "90", "status": "FREE", "client_order_id": ""},
        ],
    }
    return {**base, **changes}


def inputs(**changes: Any) -> HealthInputs:
    base: dict[str, Any] = {
        "view": view(),
        "watched_since_ms": {},
        "errors_in_window": 0,
        "database_error": None,
        "now_ms": NOW,
    }
    return HealthInputs(**{**base, **changes})


def test_a_trading_bot_is_healthy() -> None:
    verdict = assess(inputs(), CONFIG)
    assert verdict.level is HealthLevel.HEALTHY
    assert verdict.as_json() == {"status": "healthy", "reasons": []}


@pytest.mark.parametrize(
    ("changes", "level", "words"),
    [
        ({"view": {}}, HealthLevel.UNHEALTHY, "starting"),
        ({"view": view(running=False)}, HealthLevel.UNHEALTHY, "stopped"),
        ({"view": view(price_wall_ms=None)}, HealthLevel.UNHEALTHY, "no price yet"),
        (
            {"view": view(price_wall_ms=NOW - 31_000)},
            HealthLevel.UNHEALTHY,
            "stale price: the last price was decided on 31 s ago "
            "(limit operations.stale_price_s = 30 s)",
        ),
        (
            {
                "view": view(
                    risk_state="HALTED",
                    halt={"kind": "reconciliation", "reason": "position differs"},
                )
            },
            HealthLevel.UNHEALTHY,
            "halted: the circuit breaker is open (reconciliation: position differs)",
        ),
        ({"database_error": "unable to open"}, HealthLevel.UNHEALTHY, "database unreachable"),
        ({"view": view(risk_state="RISK_MODE")}, HealthLevel.DEGRADED, "risk mode"),
        (
            {"errors_in_window": 6},
            HealthLevel.DEGRADED,
            "exchange errors: 6 in the last 60 s (limit operations.max_errors_in_window = 5)",
        ),
        (
            {
                "view": view(slots=[{"level": "100", "status": "PENDING"}]),
                "watched_since_ms": {"100": NOW - 61_000},
            },
            HealthLevel.DEGRADED,
            "stuck slot: 100 has been PENDING for 61 s (limit operations.stuck_pending_s = 60 s)",
        ),
    ],
)
def test_each_rule_gives_its_level_and_a_reason_naming_the_setting(
    changes: dict[str, Any], level: HealthLevel, words: str
) -> None:
    verdict = assess(inputs(**changes), CONFIG)
    assert verdict.level is level
    assert any(words in reason for reason in verdict.reasons), verdict.reasons


def test_limits_are_not_reasons_yet() -> None:
    at_limit = inputs(
        view=view(price_wall_ms=NOW - 30_000, slots=[{"level": "1", "status": "PENDING"}]),
        errors_in_window=5,
        watched_since_ms={"1": NOW - 60_000},
    )
    assert assess(at_limit, CONFIG).level is HealthLevel.HEALTHY


def test_a_resting_order_is_never_stuck_unless_a_locked_limit_is_set() -> None:
    old = inputs(watched_since_ms={"100": NOW - 86_400_000})
    assert assess(old, CONFIG).level is HealthLevel.HEALTHY
    strict = CONFIG.model_copy(update={"stuck_locked_s": 3600.0})
    verdict = assess(old, strict)
    assert verdict.level is HealthLevel.DEGRADED
    assert "100 has been LOCKED for 86400 s (limit operations.stuck_locked_s" in verdict.reasons[0]


def test_unhealthy_wins_and_every_reason_is_listed() -> None:
    verdict = assess(
        inputs(view=view(risk_state="RISK_MODE"), errors_in_window=9, database_error="gone"),
        CONFIG,
    )
    assert verdict.level is HealthLevel.UNHEALTHY
    assert len(verdict.reasons) == 3
    assert verdict.reasons[0].startswith("database unreachable")


@given(
    errors=st.integers(0, 20),
    age_s=st.integers(0, 100),
    risk=st.sampled_from(["NORMAL", "RISK_MODE", "HALTED"]),
    db=st.booleans(),
)
def test_the_level_is_the_worst_reason(errors: int, age_s: int, risk: str, db: bool) -> None:
    verdict = assess(
        inputs(
            view=view(price_wall_ms=NOW - age_s * 1000, risk_state=risk),
            errors_in_window=errors,
            database_error=None if db else "down",
        ),
        CONFIG,
    )
    unhealthy = age_s > 30 or risk == "HALTED" or not db
    degraded = errors > 5 or risk == "RISK_MODE"
    expected = (
        HealthLevel.UNHEALTHY
        if unhealthy
        else HealthLevel.DEGRADED
        if degraded
        else HealthLevel.HEALTHY
    )
    assert verdict.level is expected
    assert bool(verdict.reasons) == (expected is not HealthLevel.HEALTHY)


def test_slot_watch_keeps_the_time_a_slot_entered_its_state() -> None:
    watch = SlotWatch()
    slot = {"level": "100", "status": "PENDING", "client_order_id": "a"}
    watch.observe({"wall_ms": 1_000, "slots": [slot]})
    watch.observe({"wall_ms": 5_000, "slots": [slot]})
    assert watch.since == {"100": 1_000}  # still the same PENDING order
    locked = {**slot, "status": "LOCKED"}
    watch.observe({"wall_ms": 7_000, "slots": [locked]})
    assert watch.since == {"100": 7_000}  # progress: acknowledged
    watch.observe({"wall_ms": 9_000, "slots": [{**locked, "client_order_id": "b"}]})
    assert watch.since == {"100": 9_000}  # a new order on the slot
    watch.observe({"wall_ms": 11_000, "slots": [{**locked, "status": "FREE"}]})
    assert watch.since == {}
