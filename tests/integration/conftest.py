"""Fixtures shared by the integration tests: the packaged sample configuration and data."""

from collections.abc import Callable
from typing import Any

import pytest

from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.domain.market import Candle
from support.risk_runs import merge


@pytest.fixture(scope="module")
def sample_config() -> AppConfig:
    """The packaged backtest configuration."""
    return load_config(default_backtest_config_path())


@pytest.fixture(scope="module")
def candles(sample_config: AppConfig) -> tuple[Candle, ...]:
    """The bundled sample: three days of BTC/USDT perpetual 1-minute candles."""
    return load_candles(sample_candles_path(), symbol=sample_config.symbol).candles


@pytest.fixture(scope="module")
def configure(sample_config: AppConfig) -> Callable[..., AppConfig]:
    """The sample's configuration with nested changes: ``configure(grid={...}, risk={...})``."""
    dumped = sample_config.model_dump(mode="json")

    def make(**changes: Any) -> AppConfig:
        return AppConfig.model_validate(merge(dumped, changes))

    return make
