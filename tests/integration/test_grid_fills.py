"""The default grid trades through its levels on the price shapes that broke the old rule.

The grid used to rebuild its buy window from the level nearest the price and cancel the
buy the price was about to reach. On a smooth decline it never filled; on real candles
walked 20 times finer (as live prices arrive) it made no fill at all and placed thousands
of orders. These tests run the packaged default configuration as a user would.
"""

from decimal import Decimal

import pytest

from market_maker.backtest.result import BacktestResult
from market_maker.backtest.runner import run_backtest
from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.paths import linear_candles
from market_maker.data.sample import sample_candles_path
from market_maker.domain.enums import Side
from support.shared_data import shared_data

D = Decimal


@pytest.fixture(scope="module")
def config() -> AppConfig:
    return load_config(default_backtest_config_path())


def assert_identity(result: BacktestResult) -> None:
    s = result.summary
    assert s.final_equity - s.initial_equity == s.realized_pnl + s.unrealized_pnl - s.fees_paid


def test_a_smooth_decline_and_recovery_buys_each_level_and_sells_it_back(
    config: AppConfig,
) -> None:
    """1,000 USDT down in 1 USDT steps and back up: 20 levels of 50 USDT each way."""
    top = D(100_000)
    prices = [top - i for i in range(1001)] + [top - 1000 + i for i in range(1, 1001)]
    # A flat first candle: the grid anchors at 100,000, its first decision price.
    result = run_backtest(config, linear_candles(config.symbol, [top, *prices]))

    cap = int(config.grid.max_inventory / config.grid.order_qty)  # 15 levels of 0.002 BTC
    buys = [f.price for f in result.fills if f.side == Side.BUY.value]
    sells = [f.price for f in result.fills if f.side == Side.SELL.value]
    interval = config.grid.base_interval
    # One level at a time, down to the inventory cap: the 15 levels below the start...
    assert sorted(buys, reverse=True) == [top - interval * k for k in range(1, cap + 1)]
    # ... each sold back one interval higher on the way up.
    assert sorted(sells) == sorted(b + interval for b in buys)
    assert result.summary.fills == 2 * cap >= 24
    assert result.summary.realized_pnl == interval * config.grid.order_qty * cap > 0
    assert result.summary.final_inventory == 0
    assert_identity(result)


def _refinement(config: AppConfig, candles: list, factor: int) -> tuple[BacktestResult, ...]:  # type: ignore[type-arg]
    coarse = run_backtest(config, candles)
    fine = run_backtest(config, candles, refine=factor)
    assert_identity(coarse)
    assert_identity(fine)
    return coarse, fine


def test_a_path_20_times_finer_than_the_sample_candles_trades_alike(config: AppConfig) -> None:
    """The bundled 3 days of real candles, and the same prices walked 20 times finer."""
    candles = list(load_candles(sample_candles_path(), symbol=config.symbol).candles)
    coarse, fine = _refinement(config, candles, 20)
    assert coarse.summary.fills > 1000
    assert fine.summary.fills >= D("0.8") * coarse.summary.fills
    assert fine.summary.orders_placed <= 2 * coarse.summary.orders_placed
    assert fine.summary.realized_pnl > 0
    # The risk monitor saw the same candles either way.
    assert [e.kind for e in fine.risk_events] == [e.kind for e in coarse.risk_events]


def test_the_first_3000_perpetual_candles_walked_20_times_finer(config: AppConfig) -> None:
    """The issue's measurement: 292 fills on candles and none 20 times finer, before."""
    path = shared_data("binance_usdm_perp_1m_2025/BTC_USDT_USDT-1m-futures.csv")
    candles = list(load_candles(path, symbol=config.symbol).candles[:3000])
    coarse, fine = _refinement(config, candles, 20)
    assert fine.summary.fills >= D("0.8") * coarse.summary.fills > 0
    assert fine.summary.orders_placed <= 2 * coarse.summary.orders_placed
