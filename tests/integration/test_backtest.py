"""Backtests on real data: exact accounting, honest fills, determinism, crash and restart."""

import itertools
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from market_maker.backtest.result import BacktestResult
from market_maker.backtest.runner import run_backtest, simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.market import Candle
from market_maker.domain.orders import OrderUpdate, PlaceOrderRequest
from market_maker.engine.execution import CheckpointPolicy
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.stores.sqlite import SqliteStore


@pytest.fixture(scope="module")
def config(sample_config: AppConfig) -> AppConfig:
    """The packaged configuration (``candles`` is the bundled sample, from conftest)."""
    return sample_config


@pytest.fixture(scope="module")
def result(config: AppConfig, candles: tuple[Candle, ...]) -> BacktestResult:
    return run_backtest(config, candles)


def test_the_sample_trades(result: BacktestResult) -> None:
    s = result.summary
    assert s.fills > 100 and s.orders_placed > s.fills and s.events == 4320


def test_accounting_identity_is_exact(result: BacktestResult) -> None:
    s = result.summary
    assert s.final_equity - s.initial_equity == s.realized_pnl + s.unrealized_pnl - s.fees_paid


def test_replaying_the_fills_reproduces_balances_fees_and_inventory(
    result: BacktestResult,
) -> None:
    base, quote = "BTC", "USDT"
    cash = result.initial_balances[quote]
    inventory = result.initial_balances[base]
    fees = Decimal(0)
    for f in result.fills:
        sign = 1 if f.side == "BUY" else -1
        cash -= sign * f.price * f.qty + f.fee
        inventory += sign * f.qty
        fees += f.fee
    mark = result.equity_curve[-1].price
    s = result.summary
    assert (cash, inventory) == (result.final_balances[quote], result.final_balances[base])
    assert fees == s.fees_paid and inventory == s.final_inventory
    assert cash + inventory * mark == s.final_equity


def test_every_fill_lies_in_its_candle_and_post_only_never_takes(
    result: BacktestResult, candles: tuple[Candle, ...]
) -> None:
    by_time = {c.open_time_ms: c for c in candles}
    assert result.fills
    for f in result.fills:
        c = by_time[f.ts_ms]
        assert c.low <= f.price <= c.high, f
        assert f.liquidity == "maker"  # every order of this config is post-only


def test_equity_is_sampled_at_least_every_60_events(result: BacktestResult) -> None:
    times = [p.ts_ms for p in result.equity_curve]
    assert all(b - a <= 60 * 60_000 for a, b in itertools.pairwise(times))
    assert times[-1] == result.summary.end_ms


def test_skipping_unchanged_decisions_changes_nothing(
    config: AppConfig, candles: tuple[Candle, ...], result: BacktestResult
) -> None:
    full = run_backtest(config, candles, always_decide=True)
    assert full.extra["decisions"] > result.extra["decisions"] + 1000  # it really skipped
    assert full.fills == result.fills
    assert (full.summary.orders_placed, full.summary.orders_canceled) == (
        result.summary.orders_placed,
        result.summary.orders_canceled,
    )
    assert full.summary.final_equity == result.summary.final_equity


class Crash(BaseException):
    """The process dies (a BaseException, so nothing in the engine can catch it)."""


class CrashingExchange:
    """The simulated venue, but the bot dies around its ``at``-th place call."""

    def __init__(self, inner: SimulatedExchange, at: int, after_call: bool) -> None:
        self.inner, self.at, self.after_call, self.calls = inner, at, after_call, 0

    def place_order(self, request: PlaceOrderRequest) -> OrderUpdate:
        self.calls += 1
        if self.calls == self.at and not self.after_call:
            raise Crash  # intent recorded, the exchange never saw the order
        report = self.inner.place_order(request)
        if self.calls == self.at:
            raise Crash  # the exchange has the order, the bot never saw the report
        return report

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _fill_keys(fills: Sequence[object]) -> list[tuple[object, ...]]:
    return [(f.ts_ms, f.side, f.price, f.qty, f.fee, f.slot) for f in fills]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def short_run(
    config: AppConfig, candles: tuple[Candle, ...]
) -> tuple[tuple[Candle, ...], BacktestResult]:
    data = candles[:900]
    return data, run_backtest(config, data)


@pytest.mark.parametrize("after_call", [False, True], ids=["before-call", "after-call"])
@pytest.mark.parametrize("crash_at", [7, 150, 500])
def test_killed_and_restarted_from_sqlite_ends_like_an_uninterrupted_run(
    tmp_path: Path,
    config: AppConfig,
    short_run: tuple[tuple[Candle, ...], BacktestResult],
    crash_at: int,
    after_call: bool,
) -> None:
    data, reference = short_run
    venue = simulated_exchange(config)
    crashing = CrashingExchange(venue, crash_at, after_call)
    store = SqliteStore(tmp_path / "state.db", bot_id=config.bot_id, symbol=config.symbol)
    completed = -1  # index of the last candle the run finished

    def count(i: int) -> None:
        nonlocal completed
        completed = i

    with pytest.raises(Crash):
        run_backtest(
            config,
            data,
            store=store,
            exchange=crashing,  # type: ignore[arg-type]
            checkpoint=CheckpointPolicy.EVERY_CHANGE,
            progress=count,
            progress_every=1,
        )
    store.close()
    fills_before = list(venue.fills)
    # The bot died inside candle completed + 1, which the exchange had already processed.
    restart_at = completed + 2
    store = SqliteStore(tmp_path / "state.db", bot_id=config.bot_id, symbol=config.symbol)
    resumed = run_backtest(
        config,
        data,
        store=store,
        exchange=venue,
        start_index=restart_at,
        checkpoint=CheckpointPolicy.EVERY_CHANGE,
    )
    store.close()
    assert len(venue.fills) == len(fills_before) + len(resumed.fills)
    venue_fills = [
        (f.ts_ms, f.side.value, f.last_fill_price, f.last_fill_qty, f.last_fee) for f in venue.fills
    ]
    assert venue_fills == [(k[0], k[1], k[2], k[3], k[4]) for k in _fill_keys(reference.fills)]
    assert resumed.summary.realized_pnl == reference.summary.realized_pnl
    assert resumed.summary.fees_paid == reference.summary.fees_paid
    assert resumed.final_balances == reference.final_balances
    # No order left untracked: every resting order on the venue is held by a slot.
    store = SqliteStore(tmp_path / "state.db", bot_id=config.bot_id, symbol=config.symbol)
    state = store.load()
    store.close()
    assert state is not None
    held = {o.client_order_id for o in state.book.active_orders()}
    assert {o.client_order_id for o in venue.open_orders(config.symbol)} == held


def test_a_restart_inside_risk_mode_resumes_the_risk_layer_exactly(
    tmp_path: Path, config: AppConfig, candles: tuple[Candle, ...], result: BacktestResult
) -> None:
    entries = [e for e in result.risk_events if e.state_after == "RISK_MODE"]
    assert entries, "the sample must enter risk mode for this test to mean anything"
    # Stop five candles into the first risk-mode period (the calm count is at work).
    split = next(i for i, c in enumerate(candles) if c.open_time_ms > entries[0].ts_ms) + 5
    venue = simulated_exchange(config)
    store = SqliteStore(tmp_path / "state.db", bot_id=config.bot_id, symbol=config.symbol)
    first = run_backtest(
        config,
        candles[:split],
        store=store,
        exchange=venue,
        checkpoint=CheckpointPolicy.EVERY_CHANGE,
    )
    store.close()
    store = SqliteStore(tmp_path / "state.db", bot_id=config.bot_id, symbol=config.symbol)
    state = store.load()
    assert state is not None and state.risk_state.value == "RISK_MODE"
    assert state.risk_layer is not None and state.risk_layer.monitor.markets[0].anomalous
    second = run_backtest(
        config,
        candles,
        store=store,
        exchange=venue,
        start_index=split,
        checkpoint=CheckpointPolicy.EVERY_CHANGE,
    )
    store.close()
    assert _fill_keys([*first.fills, *second.fills]) == _fill_keys(result.fills)
    assert first.risk_events + second.risk_events == result.risk_events
    assert second.final_balances == result.final_balances
