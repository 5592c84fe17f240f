"""Backtests on trade ticks: the bundled 11 minutes of BTC/USDT spot trades, one decision each.

Exact accounting, fills on both sides that the trades really printed through, candles built
on the fly exactly as ``trades_to_candles`` builds them, a thinned equity curve, and the
band skip proven exact on ticks too.
"""

import itertools
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from market_maker.backtest.report_json import replay_fills, result_to_json
from market_maker.backtest.result import BacktestResult
from market_maker.backtest.runner import run_trade_backtest, simulated_exchange
from market_maker.backtest.tick_replay import replay_trades
from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.data.sample import SAMPLE_TRADES_SYMBOL, sample_trades_path
from market_maker.data.trades import Trade, load_trades, trades_to_candles
from market_maker.domain.market import Candle
from market_maker.engine.grid import GridEngine, simple_engine
from market_maker.stores.memory import MemoryStore

TICKS_YAML = Path(__file__).resolve().parents[2] / "src/market_maker/examples/ticks.yaml"


@pytest.fixture(scope="module")
def config() -> AppConfig:
    """The packaged ticks example."""
    return load_config(TICKS_YAML)


@pytest.fixture(scope="module")
def trades(config: AppConfig) -> tuple[Trade, ...]:
    """The bundled sample: 19,904 Binance spot BTC/USDT trades over about 11 minutes."""
    assert config.symbol == SAMPLE_TRADES_SYMBOL
    return load_trades(sample_trades_path(), symbol=config.symbol).trades


@pytest.fixture(scope="module")
def result(config: AppConfig, trades: tuple[Trade, ...]) -> BacktestResult:
    return run_trade_backtest(config, trades)


def test_one_event_per_trade_and_the_data_kind_is_reported(
    result: BacktestResult, trades: tuple[Trade, ...]
) -> None:
    s = result.summary
    assert s.events == len(trades) == 19_904
    assert (s.start_ms, s.end_ms) == (trades[0].ts_ms, trades[-1].ts_ms)
    assert result.extra["data"] == {
        "kind": "trades",
        "candle_s": 60,
        "candles": len(trades_to_candles(trades, 60).candles),
        "equity_sample_ms": 1000,
    }


def test_the_grid_fills_on_both_sides(result: BacktestResult) -> None:
    # Fails with a grid that cancels a resting order as the price approaches it: on ticks
    # the price approaches every level in small steps, so such a grid never fills.
    sides = {f.side for f in result.fills}
    assert result.summary.fills > 0 and sides == {"BUY", "SELL"}, (result.summary, sides)


def test_accounting_identity_is_exact(result: BacktestResult) -> None:
    s = result.summary
    assert s.final_equity - s.initial_equity == s.realized_pnl + s.unrealized_pnl - s.fees_paid
    assert s.final_equity == (
        result.final_balances["USDT"] + result.final_balances["BTC"] * result.equity_curve[-1].price
    )


def test_the_report_replays_to_the_same_balances(result: BacktestResult) -> None:
    report = result_to_json(result)
    assert replay_fills(report).mismatches(report) == []


def test_every_fill_is_a_maker_fill_at_a_price_a_trade_of_its_time_reached(
    result: BacktestResult, trades: tuple[Trade, ...]
) -> None:
    prices: dict[int, list[Decimal]] = defaultdict(list)
    for trade in trades:
        prices[trade.ts_ms].append(trade.price)
    assert result.fills
    for f in result.fills:
        assert f.liquidity == "maker", f
        reached = prices[f.ts_ms]
        if f.side == "BUY":
            assert min(reached) <= f.price, f  # a trade printed at or below the buy
        else:
            assert max(reached) >= f.price, f


def test_equity_curve_is_thinned_by_trade_time_and_ends_at_the_last_trade(
    result: BacktestResult, trades: tuple[Trade, ...]
) -> None:
    times = [p.ts_ms for p in result.equity_curve]
    assert times[0] == trades[0].ts_ms and times[-1] == trades[-1].ts_ms
    assert result.equity_curve[-1].price == trades[-1].price
    assert all(b - a >= 1000 for a, b in itertools.pairwise(times[:-1]))
    span_s = (trades[-1].ts_ms - trades[0].ts_ms) // 1000
    assert 100 < len(times) <= span_s + 2  # about one point a second, not one per trade


def test_a_resting_order_a_trade_prints_through_fills_at_its_limit(
    config: AppConfig, trades: tuple[Trade, ...]
) -> None:
    venue = simulated_exchange(config)
    run_trade_backtest(config, trades, exchange=venue)
    assert venue.fills
    off_limit = [f for f in venue.fills if f.last_fill_price != f.price]
    assert off_limit == []  # the book matches a resting order at its own price


class _CandleRecorder:
    """The Simple engine, remembering the candles it is fed (a wrapper, not a subclass: the
    compiled engine cannot be subclassed)."""

    def __init__(self, engine: GridEngine) -> None:
        self.engine, self.seen = engine, list[Candle]()

    def on_candle(self, candle: Candle) -> None:
        self.seen.append(candle)
        self.engine.on_candle(candle)

    def __getattr__(self, name: str) -> object:
        return getattr(self.engine, name)


@pytest.mark.parametrize("candle_s", [1, 7, 60, 300])
def test_candles_built_on_the_fly_are_those_of_trades_to_candles(
    config: AppConfig, trades: tuple[Trade, ...], candle_s: int
) -> None:
    venue = simulated_exchange(config)
    engine = _CandleRecorder(simple_engine(config, venue, MemoryStore()))
    initial = {"USDT": venue.total("USDT"), "BTC": venue.total("BTC")}
    _, _, bars = replay_trades(
        engine,  # type: ignore[arg-type]
        venue,
        trades,
        config,
        candle_s,
        None,
        1 << 30,
        initial,
        initial["USDT"],
    )
    expected = trades_to_candles(trades, candle_s).candles
    assert engine.seen == list(expected) and bars == len(expected)
    assert all(c.closed for c in engine.seen)


def test_skipping_unchanged_decisions_changes_nothing_on_ticks(
    config: AppConfig, trades: tuple[Trade, ...], result: BacktestResult
) -> None:
    full = run_trade_backtest(config, trades, always_decide=True)
    assert full.extra["decisions"] > result.extra["decisions"] + 5_000  # it really skipped
    assert full.fills == result.fills
    assert (full.summary.orders_placed, full.summary.orders_canceled) == (
        result.summary.orders_placed,
        result.summary.orders_canceled,
    )
    assert full.summary.final_equity == result.summary.final_equity


def test_bad_arguments_are_refused(config: AppConfig, trades: tuple[Trade, ...]) -> None:
    with pytest.raises(ValueError, match="at least one trade"):
        run_trade_backtest(config, ())
    with pytest.raises(ValueError, match="candle_s"):
        run_trade_backtest(config, trades[:10], candle_s=0)
