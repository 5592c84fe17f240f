"""The recommended starting configurations (operations guide) pass the start-up checks.

Each is loaded as `run` loads it and checked at a price typical of its market, on an
account funded as its backtest section says: the grid must pay its fees (interval_vs_fees)
and the funds must cover its window (balance). The stablecoin grid is only sound on a zero
maker fee: at the standard 0.1% the same check refuses it, as the guide says.
"""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.domain.instrument import split_symbol
from market_maker.engine.startup import safety_checks
from market_maker.exchanges.base import Balance
from market_maker.risk.checks import SafetyCheck, failures

ROOT = Path(__file__).resolve().parents[2]
STARTING = ROOT / "src" / "market_maker" / "examples" / "starting"
GUIDE = ROOT / "docs" / "operations_guide.md"
TYPICAL_PRICE = {"btc_usdm.yaml": "100000", "eth_usdm.yaml": "2500", "usdc_usdt_spot.yaml": "1"}


def checks(config: AppConfig, price: Decimal, maker_fee: Decimal) -> dict[SafetyCheck, str]:
    base, quote = split_symbol(config.symbol)
    funds = {
        quote: Balance(quote, config.backtest.initial_quote, Decimal(0)),
        base: Balance(base, config.backtest.initial_base, Decimal(0)),
    }
    results = safety_checks(
        config,
        funds,
        price,
        maker_fee=maker_fee,
        taker_fee=config.backtest.taker_fee,
        spot=config.backtest.spot,
    )
    return {r.check: r.message for r in failures(results)}


def test_the_guide_lists_exactly_the_shipped_files() -> None:
    section = GUIDE.read_text(encoding="utf-8").split("### Recommended starting values")[1]
    listed = set(re.findall(r"`(\w+\.yaml)`", section.split("\n## ")[0]))
    assert listed == {p.name for p in STARTING.glob("*.yaml")} == set(TYPICAL_PRICE)


@pytest.mark.parametrize("name", sorted(TYPICAL_PRICE))
def test_a_starting_configuration_passes_the_start_up_checks(name: str) -> None:
    config = load_config(STARTING / name)
    price = Decimal(TYPICAL_PRICE[name])
    assert checks(config, price, config.backtest.maker_fee) == {}


def test_the_stablecoin_grid_cannot_pay_the_standard_fee() -> None:
    config = load_config(STARTING / "usdc_usdt_spot.yaml")
    assert config.backtest.maker_fee == 0
    refused = checks(config, Decimal(1), Decimal("0.001"))
    assert SafetyCheck.INTERVAL_VS_FEES in refused, refused


@pytest.mark.parametrize("name", ["btc_usdm.yaml", "eth_usdm.yaml"])
def test_the_interval_is_several_round_trips_of_fees(name: str) -> None:
    config = load_config(STARTING / name)
    price = Decimal(TYPICAL_PRICE[name])
    grid = config.grid
    step = grid.base_interval if grid.spacing.value == "arithmetic" else price * grid.base_interval
    assert step >= 3 * 2 * config.backtest.maker_fee * price
