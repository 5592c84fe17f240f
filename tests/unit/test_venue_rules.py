"""A live run takes the instrument and fee rates from the venue; the config may only agree."""

from decimal import Decimal
from typing import Any

import pytest

from market_maker.config.app import AppConfig
from market_maker.domain.instrument import Instrument, MarketRules
from market_maker.live.venue_rules import VenueMismatchError, mismatches, with_venue_rules

D = Decimal
RULES = MarketRules(
    Instrument("BTC/USDT", D("0.10"), D("0.001"), D("0.001"), D("5")),
    D("0.0002"),
    D("0.0005"),
    True,
)


def config(**sections: Any) -> AppConfig:
    raw: dict[str, Any] = {
        "bot_id": "b1",
        "symbol": "BTC/USDT",
        "instrument": {"tick_size": "0.1", "step_size": "0.001"},
        "grid": {"order_qty": "0.002", "max_inventory": "0.02"},
    }
    return AppConfig.model_validate(raw | sections)


def test_values_the_config_leaves_out_are_the_venues_and_equal_numbers_agree() -> None:
    mine = config()  # tick 0.1 == the venue's 0.10; no minimums, no fees stated
    effective = with_venue_rules(mine, RULES, venue="http://venue")
    assert effective.to_instrument() == RULES.instrument  # written as the venue writes it
    assert str(effective.instrument.tick_size) == "0.10"
    assert (effective.instrument.min_qty, effective.instrument.min_notional) == (D("0.001"), 5)
    bt = effective.backtest
    assert (bt.maker_fee, bt.taker_fee, bt.spot) == (D("0.0002"), D("0.0005"), True)
    assert effective.grid == mine.grid and effective.bot_id == mine.bot_id


def test_a_stated_value_that_differs_names_the_field_both_values_and_the_fix() -> None:
    mine = config(
        instrument={"tick_size": "0.01", "step_size": "0.001", "min_notional": "10"},
        backtest={"maker_fee": "0.001", "spot": False, "initial_quote": "500"},
    )
    with pytest.raises(VenueMismatchError) as caught:
        with_venue_rules(mine, RULES, venue="binance at http://venue")
    message = str(caught.value)
    assert message.splitlines() == [
        "the configuration disagrees with binance at http://venue on BTC/USDT:",
        "  instrument.tick_size: the configuration says 0.01 but the venue says 0.10; fix: "
        "set instrument.tick_size to 0.10 or remove it from the configuration (the venue's "
        "value is used)",
        "  instrument.min_notional: the configuration says 10 but the venue says 5; fix: set "
        "instrument.min_notional to 5 or remove it from the configuration (the venue's value "
        "is used)",
        "  backtest.maker_fee: the configuration says 0.001 but the venue says 0.0002; fix: "
        "set backtest.maker_fee to 0.0002 or remove it from the configuration (the venue's "
        "value is used)",
        "  backtest.spot: the configuration says false but the venue says true; fix: set "
        "backtest.spot to true or remove it from the configuration (the venue's value is used)",
    ]


def test_fees_left_at_their_defaults_are_not_compared() -> None:
    # backtest.maker_fee defaults to 0.001, the venue charges 0.0002: not stated, no conflict.
    assert mismatches(config(backtest={"initial_quote": "500"}), RULES) == []


def test_rules_of_another_symbol_are_refused() -> None:
    other = MarketRules(Instrument("ETH/USDT", D("0.01"), D("0.001")), D(0), D(0), True)
    (problem,) = mismatches(config(), other)
    assert problem.startswith("symbol: the configuration says BTC/USDT but the venue answered")
