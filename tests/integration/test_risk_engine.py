"""The risk layer in the Simple engine: order cleaner, open-order cap and monitor resets.

Short synthetic paths, where every order's age and every volume spike is known, plus the
bundled sample for the cap.
"""

from collections.abc import Callable
from typing import Any

import pytest

from market_maker.backtest.runner import run_backtest, simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.enums import OrderStatus, RiskState
from market_maker.domain.market import Candle
from market_maker.engine.grid import simple_engine
from market_maker.risk.events import RiskEventKind
from market_maker.stores.memory import MemoryStore
from support.risk_runs import D, Recorder, Run, merge

# -- order cleaner ---------------------------------------------------------------------------

SYNTH = "BTC/USDT"
T0 = 1_700_000_000_000


def synthetic_config(**changes: Any) -> AppConfig:
    base = {
        "bot_id": "clean",
        "symbol": SYNTH,
        "instrument": {"tick_size": "0.01", "step_size": "0.0001", "min_qty": "0.0001"},
        "grid": {
            "base_interval": "100",
            "buy_window": 3,
            "sell_window": 3,
            "order_qty": "0.01",
            "max_inventory": "1",
        },
        "backtest": {"maker_fee": "0.0002", "taker_fee": "0.0005", "spot": False},
    }
    return AppConfig.model_validate(merge(base, changes))


def bar(i: int, close: str, low: str | None = None, volume: str = "10") -> Candle:
    c = D(close)
    bottom = c - 10 if low is None else D(low)
    return Candle(SYNTH, T0 + i * 60_000, 60, c, c + 10, bottom, c, D(volume))


def test_cleaner_cancels_orders_older_than_max_age_and_the_strategy_replaces_them() -> None:
    run = Run.start(synthetic_config(risk={"cleaner": {"max_order_age_s": 300}}))
    path = [bar(0, "100000"), bar(1, "99950", low="99850")]  # 99,900 fills: a take-profit
    path += [bar(i, "99950") for i in range(2, 20)]
    first_seen: dict[str, int] = {}
    cleaned = 0
    for i, candle in enumerate(path):
        before = {c: o.request.price for c, o in run.exchange.resting.items()}
        run.step(i, candle)
        now = candle.open_time_ms
        for cid in run.exchange.resting:
            first_seen.setdefault(cid, now)
        gone = [c for c in before if run.exchange.orders[c].status is OrderStatus.CANCELED]
        for cid in gone:
            assert now - first_seen[cid] > 300_000  # only orders past their age
            assert not run.exchange.orders[cid].request.reduce_only
        cleaned += len(gone)
        for cid in run.openings():  # nothing older than the limit survives a decision
            assert now - first_seen[cid] <= 300_000
        if gone:  # re-placed at the same prices, under new ids
            assert sorted(before.values()) == sorted(
                o.request.price for o in run.exchange.resting.values()
            )
    assert cleaned >= 6
    assert run.engine.upkeep.corrections["OrderCleaner"] == cleaned
    # The take-profit of the 99,900 slot is a closing order: never cleaned by default.
    closes = run.closes()
    assert len(closes) == 1
    assert first_seen[closes[0]] == T0 + 60_000


def test_backtest_reports_the_cleaners_cancels_as_corrections(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...]
) -> None:
    plain = run_backtest(configure(), candles[:600])
    cleaned = run_backtest(configure(risk={"cleaner": {"max_order_age_s": 600}}), candles[:600])
    assert plain.extra["reconciliation"] == {}
    assert set(cleaned.extra["reconciliation"]) == {"OrderCleaner"}
    count = cleaned.extra["reconciliation"]["OrderCleaner"]
    assert count > 0
    assert count <= cleaned.summary.orders_canceled  # the cleaner's cancels are among them


def test_max_open_orders_caps_the_orders_resting_on_the_venue(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...]
) -> None:
    cap = 4
    run = Run.start(configure(risk={"cleaner": {"max_open_orders": cap}}))
    uncapped = Run.start(configure())
    at_cap = with_closes_at_cap = 0
    most_uncapped = 0
    for i, candle in enumerate(candles[:1500]):
        run.step(i, candle)
        uncapped.step(i, candle)
        openings, closes = len(run.openings()), len(run.closes())
        # Closing orders protect positions and are never capped; openings fill the rest.
        assert openings <= max(0, cap - closes), i
        assert openings + closes <= max(cap, closes), i
        at_cap += openings + closes == cap
        with_closes_at_cap += closes > 0 and openings + closes == cap
        most_uncapped = max(most_uncapped, len(uncapped.openings()))
    assert at_cap > 100
    assert with_closes_at_cap > 10
    assert most_uncapped > cap  # without the cap more would rest


# -- volatility monitor: manual reset and restart --------------------------------------------

MONITOR = {
    "monitor": {"window_candles": 3, "volume_multiplier": "5", "calm_candles": 0},
    "breaker": {"max_consecutive_losses": 0},
}


def calm_then_spike() -> list[Candle]:
    path = [bar(i, "100000") for i in range(5)]
    return [*path, bar(5, "99980", volume="100")]  # 10x the volume, closing lower


def test_manual_reset_ends_risk_mode_that_never_calms_by_itself() -> None:
    run = Run.start(synthetic_config(risk=MONITOR))
    path = calm_then_spike() + [bar(i, "99980") for i in range(6, 40)]
    for i, candle in enumerate(path):
        run.step(i, candle)
        if i >= 5:
            assert run.engine.state.risk_state is RiskState.RISK_MODE
            assert run.openings() == []
    assert [e.kind for _, e in run.recorder.events] == [RiskEventKind.VOLATILITY_ANOMALY]

    run.engine.reset_risk(T0 + 40 * 60_000)
    run.step(40, bar(40, "99980"))
    assert [e.kind for _, e in run.recorder.events] == [
        RiskEventKind.VOLATILITY_ANOMALY,
        RiskEventKind.MONITOR_RESET,
    ]
    assert run.engine.state.risk_state is RiskState.NORMAL
    assert len(run.openings()) == 3


@pytest.mark.parametrize("restart", [False, True], ids=["running", "after-restart"])
def test_manual_reset_leaves_a_risk_state_set_by_hand(restart: bool) -> None:
    config = synthetic_config(risk={"breaker": {"max_consecutive_losses": 0}})
    store = MemoryStore()
    exchange = simulated_exchange(config)
    engine = simple_engine(config, exchange, store)
    engine.start()
    run = Run(config, exchange, engine, Recorder())
    run.step(0, bar(0, "100000"))
    assert len(run.openings()) == 3
    engine.set_risk(RiskState.RISK_MODE)
    run.step(1, bar(1, "100000"))
    assert run.openings() == []
    if restart:
        engine.stop()
        engine = simple_engine(config, exchange, store)
        engine.start()
        run = Run(config, exchange, engine, Recorder())

    # "Operator reset: leave RISK_MODE and HALTED" (GridEngine.reset_risk).
    engine.reset_risk(T0 + 2 * 60_000)
    run.step(2, bar(2, "100000"))
    assert engine.state.risk_state is RiskState.NORMAL
    assert len(run.openings()) == 3


@pytest.mark.parametrize(
    ("calm_candles", "reset", "resumes"),
    [(5, False, True), (0, True, True), (0, False, False)],
    ids=["calm-period", "manual-reset", "no-calm-no-reset"],
)
def test_a_bot_restarted_in_risk_mode_stays_there_until_calm_or_reset(
    calm_candles: int, reset: bool, resumes: bool
) -> None:
    risk = {**MONITOR, "monitor": {**MONITOR["monitor"], "calm_candles": calm_candles}}
    config = synthetic_config(risk=risk)
    store = MemoryStore()
    exchange = simulated_exchange(config)
    first = simple_engine(config, exchange, store)
    first.start()
    run = Run(config, exchange, first, Recorder())
    for i, candle in enumerate(calm_then_spike()):
        run.step(i, candle)
    assert first.state.risk_state is RiskState.RISK_MODE
    first.stop()

    second = simple_engine(config, exchange, store)
    second.start()
    assert second.state.risk_state is RiskState.RISK_MODE
    run = Run(config, exchange, second, Recorder())
    run.step(6, bar(6, "99980"))
    assert run.openings() == []  # the restart alone does not leave RISK_MODE
    if reset:
        second.reset_risk(T0 + 7 * 60_000)
    for i in range(7, 30):  # 23 calm candles, far more than calm_candles
        run.step(i, bar(i, "99980"))
    expected = RiskState.NORMAL if resumes else RiskState.RISK_MODE
    assert second.state.risk_state is expected
    assert len(run.openings()) == (3 if resumes else 0)
