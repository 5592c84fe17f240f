"""Startup safety checks: each check's verdict, numbers and fix."""

from dataclasses import replace
from decimal import Decimal

import pytest

from market_maker.domain.enums import Side
from market_maker.risk.checks import (
    PlannedOrder,
    SafetyCheck,
    SafetyCheckError,
    SafetyInputs,
    failures,
    raise_on_failure,
    run_safety_checks,
)

D = Decimal
BUYS = tuple(PlannedOrder(Side.BUY, D(100 - i), D(1)) for i in range(1, 4))  # 99+98+97 = 294
SELLS = tuple(PlannedOrder(Side.SELL, D(100 + i), D("0.5")) for i in range(1, 3))  # 101.5 notional


def inputs(**kw: object) -> SafetyInputs:
    base = SafetyInputs(
        price=D(100),
        opening_orders=BUYS + SELLS,
        quote_free=D(1000),
        base_free=D(5),
        spot=True,
        interval_quote=D(1),
        maker_fee_rate=D("0.001"),
        taker_fee_rate=D("0.004"),
        post_only=True,
        tick_size=D("0.01"),
        step_size=D("0.001"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def result(kind: SafetyCheck, **kw: object) -> tuple[bool, str]:
    (found,) = [r for r in run_safety_checks(inputs(**kw)) if r.check is kind]
    return found.passed, found.message


def test_a_sound_grid_passes_every_check_in_order() -> None:
    results = run_safety_checks(inputs())
    assert [r.check for r in results] == list(SafetyCheck)
    assert all(r.passed for r in results)
    assert [r.name for r in results] == [
        "balance",
        "leverage",
        "interval_vs_fees",
        "instrument_precision",
    ]
    assert failures(results) == []
    raise_on_failure(results)


def test_spot_balance_needs_quote_for_all_buys_plus_fees() -> None:
    needed = D(294) * D("1.001")  # 294.294
    assert result(SafetyCheck.BALANCE, quote_free=needed)[0]
    passed, message = result(SafetyCheck.BALANCE, quote_free=needed - D("0.001"))
    assert not passed
    assert "need 294.294 quote (free 294.293)" in message
    assert "deposit the difference" in message


def test_spot_balance_needs_base_for_all_opening_sells() -> None:
    assert result(SafetyCheck.BALANCE, base_free=D(1))[0]
    passed, message = result(SafetyCheck.BALANCE, base_free=D("0.999"))
    assert not passed
    assert "need 1.0 base (free 0.999)" in message


def test_taker_fee_counts_for_a_grid_that_is_not_post_only() -> None:
    needed = D(294) * D("1.004")
    assert result(SafetyCheck.BALANCE, post_only=False, quote_free=needed, interval_quote=D(2))[0]
    assert not result(SafetyCheck.BALANCE, post_only=False, quote_free=needed - 1)[0]


def test_derivative_margin_covers_the_larger_side_at_the_leverage() -> None:
    kw = {"spot": False, "leverage": D(4), "max_leverage": D(5), "base_free": D(0)}
    needed = D(294) / 4 + D(294) * D("0.001")  # 73.5 + 0.294
    assert result(SafetyCheck.BALANCE, quote_free=needed, **kw)[0]
    passed, message = result(SafetyCheck.BALANCE, quote_free=needed - D("0.01"), **kw)
    assert not passed
    assert "larger side (294 notional)" in message
    assert "73.794 margin at leverage 4" in message


def test_leverage_above_the_bound_or_not_positive_fails() -> None:
    assert result(SafetyCheck.LEVERAGE, leverage=D(5), max_leverage=D(5))[0]
    passed, message = result(SafetyCheck.LEVERAGE, leverage=D(6), max_leverage=D(5))
    assert not passed
    assert "leverage 6, allowed up to 5" in message
    assert "max_leverage" in message
    assert not result(SafetyCheck.LEVERAGE, leverage=D(0))[0]
    assert not result(SafetyCheck.BALANCE, spot=False, leverage=D(0))[0]


def test_interval_must_exceed_round_trip_fees() -> None:
    # maker 0.1% both sides at 100: 100 * 0.002 / 0.999 = 0.2002...
    required = D(100) * D("0.002") / D("0.999")
    assert result(SafetyCheck.INTERVAL_VS_FEES, interval_quote=D("0.2003"))[0]
    assert not result(SafetyCheck.INTERVAL_VS_FEES, interval_quote=required)[0]
    passed, message = result(SafetyCheck.INTERVAL_VS_FEES, interval_quote=D("0.2"))
    assert not passed
    assert "interval 0.2 at price 100" in message
    assert "maker fee 0.001 on both sides" in message
    # 0.2002002..., shown rounded up to a hundredth of the 0.01 tick, never 28 digits
    assert "round-trip fees 0.2003 (" in message
    assert "raise the interval above 0.2003 " in message


@pytest.mark.parametrize(
    ("tick", "shown"), [(D("0.01"), "211.3589"), (D("0.1"), "211.359"), (None, "211.35881882")]
)
def test_the_required_interval_is_shown_rounded_up(tick: Decimal | None, shown: str) -> None:
    # BTC at 105573.73, maker 0.1%: 211.3588188188... USDT per round trip
    passed, message = result(
        SafetyCheck.INTERVAL_VS_FEES, price=D("105573.73"), interval_quote=D(100), tick_size=tick
    )
    assert not passed
    assert f"round-trip fees {shown} (" in message
    assert f"raise the interval above {shown} or" in message


def test_interval_is_checked_at_taker_fees_without_post_only() -> None:
    passed, message = result(SafetyCheck.INTERVAL_VS_FEES, post_only=False, interval_quote=D("0.5"))
    assert not passed  # 100 * 0.008 / 0.996 = 0.803
    assert "taker fee 0.004" in message


@pytest.mark.parametrize(
    ("tick", "step", "missing"),
    [
        (None, D(1), "tick_size"),
        (D("0.1"), D(0), "step_size"),
        (None, None, "tick_size and step_size"),
    ],
)
def test_instrument_precision_must_be_known(
    tick: Decimal | None, step: Decimal | None, missing: str
) -> None:
    passed, message = result(SafetyCheck.INSTRUMENT_PRECISION, tick_size=tick, step_size=step)
    assert not passed
    assert f"{missing} unknown" in message


def test_raise_on_failure_names_every_failed_check() -> None:
    results = run_safety_checks(inputs(quote_free=D(1), tick_size=None))
    assert [r.check for r in failures(results)] == [
        SafetyCheck.BALANCE,
        SafetyCheck.INSTRUMENT_PRECISION,
    ]
    with pytest.raises(SafetyCheckError, match="2 safety check") as info:
        raise_on_failure(results)
    assert "balance:" in str(info.value)
    assert "instrument_precision:" in str(info.value)
    assert "leverage:" not in str(info.value)
