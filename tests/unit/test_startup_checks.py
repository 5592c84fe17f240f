"""Startup safety checks against a configured grid: a live or paper start refuses on failure."""

from decimal import Decimal

import pytest

from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.engine.startup import planned_openings, refuse_unsafe_start, safety_checks
from market_maker.exchanges.base import Balance
from market_maker.risk.checks import SafetyCheckError

CONFIG = load_config(default_backtest_config_path())  # long, 10 buys of 0.002 BTC, 50 apart
PRICE = Decimal("104000")


def balances(usdt: str) -> dict[str, Balance]:
    zero = Decimal(0)
    return {"USDT": Balance("USDT", Decimal(usdt), zero), "BTC": Balance("BTC", zero, zero)}


def test_planned_openings_are_the_window_and_a_kept_level_within_the_exposure_cap() -> None:
    # The window starts 50 below the price (the first level at least the buffer below); a
    # buy resting on the level at the price would be kept as the price came close to it.
    orders = planned_openings(CONFIG, PRICE)
    assert [o.price for o in orders] == [PRICE - 50 * i for i in range(0, 11)]
    assert {o.qty for o in orders} == {Decimal("0.002")}


def test_a_funded_sane_grid_starts() -> None:
    fees = {"maker_fee": Decimal("0.0002"), "taker_fee": Decimal("0.0005"), "spot": False}
    results = refuse_unsafe_start(CONFIG, balances("10000"), PRICE, **fees)
    assert {r.name for r in results} == {
        "balance",
        "leverage",
        "interval_vs_fees",
        "instrument_precision",
    }
    assert all(r.passed for r in results)


def test_an_underfunded_grid_with_fees_above_the_interval_refuses_naming_both() -> None:
    fees = {"maker_fee": Decimal("0.001"), "taker_fee": Decimal("0.001"), "spot": True}
    with pytest.raises(SafetyCheckError) as caught:
        refuse_unsafe_start(CONFIG, balances("100"), PRICE, **fees)
    text = str(caught.value)
    assert text.startswith("refusing to start, 2 safety check(s) failed:")
    assert "balance:" in text and "free 100" in text and "deposit" in text
    assert "interval_vs_fees:" in text and "50" in text
    # The same configuration in a backtest is only a warning (the checks still report it).
    failed = [r.name for r in safety_checks(CONFIG, balances("100"), PRICE, **fees) if not r.passed]
    assert failed == ["balance", "interval_vs_fees"]
