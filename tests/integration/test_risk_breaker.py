"""The risk layer in the Simple engine: safety checks and the circuit breaker, on the venue.

The tests drive the engine candle by candle over the bundled sample (three sideways days
of BTC/USDT perpetual 1m candles), the way ``run_backtest`` does, and look at the
``SimulatedExchange`` after every decision. The *losing* configuration spaces levels 10 USDT
apart while a round trip at 0.02% maker fees costs about 41.6 USDT per BTC at 104,000:
every round trip loses, so the breaker trips.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from market_maker.backtest.runner import run_backtest
from market_maker.config.app import AppConfig
from market_maker.domain.enums import Liquidity, RiskState, Side
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.risk.events import RiskEventKind
from support.risk_runs import LOSING_INTERVAL, D, Run, drive_until, losing_streaks

# -- safety checks ---------------------------------------------------------------------------


def _checks(result_extra: dict[str, Any]) -> dict[str, bool]:
    return {c["check"]: c["passed"] for c in result_extra["safety_checks"]}


def test_interval_below_fees_is_a_warning_and_a_failed_interval_vs_fees_check(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...]
) -> None:
    result = run_backtest(configure(grid={"base_interval": LOSING_INTERVAL}), candles[:30])
    assert _checks(result.extra) == {
        "balance": True,
        "leverage": True,
        "interval_vs_fees": False,
        "instrument_precision": True,
    }
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("safety check interval_vs_fees failed: interval 10 ")


def test_a_tiny_balance_fails_the_balance_check(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...]
) -> None:
    result = run_backtest(configure(backtest={"initial_quote": "1"}), candles[:30])
    assert _checks(result.extra) == {
        "balance": False,
        "leverage": True,
        "interval_vs_fees": True,
        "instrument_precision": True,
    }
    assert [w.split(":")[0] for w in result.warnings] == ["safety check balance failed"]


def test_a_sane_config_passes_every_check(
    sample_config: AppConfig, candles: tuple[Candle, ...]
) -> None:
    result = run_backtest(sample_config, candles[:30])
    assert all(_checks(result.extra).values())
    assert result.warnings == []


# -- circuit breaker: losing streaks ---------------------------------------------------------


@pytest.mark.parametrize("limit", [3, 6])
def test_breaker_trips_after_n_losing_round_trips_in_a_backtest(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...], limit: int
) -> None:
    config = configure(
        grid={"base_interval": LOSING_INTERVAL},
        risk={"breaker": {"max_consecutive_losses": limit}},
    )
    result = run_backtest(config, candles)

    trips = [e for e in result.risk_events if e.kind == "consecutive_losses"]
    assert len(trips) == 1  # no cooldown: halted for the rest of the run
    trip = trips[0]
    assert (trip.state_before, trip.state_after) == ("NORMAL", "HALTED")
    assert trip.reason.startswith(f"{limit} losing round trips in a row (limit {limit})")
    rows = [
        (f.slot, f.qty if f.side == "BUY" else -f.qty, f.realized_pnl, f.fee, f.ts_ms)
        for f in result.fills
    ]
    streak_reached_at = losing_streaks(rows)
    assert streak_reached_at[limit - 1] == trip.ts_ms  # the limit-th losing trip in a row
    # Nothing opens afterwards: every later fill closes a position (sells, in a long grid).
    assert all(f.side == "SELL" for f in result.fills if f.ts_ms > trip.ts_ms)


def test_after_a_trip_no_opening_order_ever_rests_again(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...]
) -> None:
    config = configure(
        grid={"base_interval": LOSING_INTERVAL},
        risk={"breaker": {"max_consecutive_losses": 6}},
    )
    run = Run.start(config)
    tripped = drive_until(run, candles, RiskEventKind.CONSECUTIVE_LOSSES)
    assert run.engine.state.risk_state is RiskState.HALTED
    held = run.engine.state.book.inventory
    assert held > 0
    for i in range(tripped + 1, len(candles)):
        run.step(i, candles[i])
        assert run.openings() == [], i
        assert run.engine.state.risk_state is RiskState.HALTED
        # Policy keep: every held slot keeps its take-profit resting.
        positions = sum(o.request.qty for o in run.exchange.resting.values())
        assert positions == run.engine.state.book.inventory
    assert run.engine.state.book.inventory < held  # some take-profits filled meanwhile


def test_cooldown_ends_the_halt_and_trading_resumes(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...]
) -> None:
    config = configure(
        grid={"base_interval": LOSING_INTERVAL},
        risk={"breaker": {"max_consecutive_losses": 3, "cooldown_s": 600}},
    )
    run = Run.start(config)
    data = candles[:300]
    resumed_at: list[int] = []
    for i, candle in enumerate(data):
        run.step(i, candle)
        state = run.engine.state.risk_state
        if state is RiskState.HALTED:
            assert run.openings() == [], i
        now = [e.kind for at, e in run.recorder.events if at == i]
        if RiskEventKind.COOLDOWN_EXPIRED in now:
            resumed_at.append(i)
            assert state is RiskState.NORMAL
            assert run.openings(), i  # opening orders rest again at once
    breaker = [
        e
        for _, e in run.recorder.events
        if e.kind in (RiskEventKind.CONSECUTIVE_LOSSES, RiskEventKind.COOLDOWN_EXPIRED)
    ]
    assert len(resumed_at) >= 2
    # Strictly alternating trip / expiry, each expiry exactly cooldown_s after its trip.
    for trip, expiry in zip(breaker[::2], breaker[1::2], strict=False):
        assert trip.kind is RiskEventKind.CONSECUTIVE_LOSSES
        assert expiry.kind is RiskEventKind.COOLDOWN_EXPIRED
        assert expiry.ts_ms == trip.ts_ms + 600_000


def test_manual_reset_ends_a_halt_and_trading_resumes(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...]
) -> None:
    config = configure(
        grid={"base_interval": LOSING_INTERVAL},
        risk={"breaker": {"max_consecutive_losses": 3}},
    )
    run = Run.start(config)
    tripped = drive_until(run, candles, RiskEventKind.CONSECUTIVE_LOSSES)
    for i in range(tripped + 1, tripped + 60):  # an hour: no cooldown, still halted
        run.step(i, candles[i])
        assert run.openings() == []
    reset_at = candles[tripped + 60].open_time_ms
    run.engine.reset_risk(reset_at)

    last = run.recorder.events[-1][1]
    assert (last.kind, last.ts_ms, last.state_before, last.state_after) == (
        RiskEventKind.BREAKER_RESET,
        reset_at,
        RiskState.HALTED,
        RiskState.NORMAL,
    )
    assert run.engine.state.risk_state is RiskState.NORMAL
    run.step(tripped + 60, candles[tripped + 60])
    assert run.openings()


# -- halted closing-order policies -----------------------------------------------------------


def test_flatten_policy_closes_the_position_with_taker_fills(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...]
) -> None:
    config = configure(
        grid={"base_interval": LOSING_INTERVAL, "halted_closing_orders": "flatten"},
        risk={"breaker": {"max_consecutive_losses": 6}},
    )
    run = Run.start(config)
    taker = config.backtest.taker_fee
    for i, candle in enumerate(candles):
        run.recorder.at = i
        for report in run.exchange.on_candle(candle):
            run.engine.on_order_update(report)
        if run.engine.risk.breaker.halted:
            break
        run.engine.on_candle(candle)
        run.engine.on_price_update(PriceUpdate(config.symbol, candle.close, candle.open_time_ms))
    else:
        pytest.fail("the breaker never tripped")
    held = run.engine.state.book.inventory
    assert held > 0
    fills_before = len(run.recorder.fills)

    run.engine.on_candle(candle)
    run.engine.on_price_update(PriceUpdate(config.symbol, candle.close, candle.open_time_ms))

    flattening = [f for _, f in run.recorder.fills[fills_before:]]
    assert flattening
    assert all(f.side is Side.SELL and f.liquidity is Liquidity.TAKER for f in flattening)
    assert sum(f.qty for f in flattening) == held
    for f in flattening:
        assert f.price == candle.close  # crosses at the last price
        assert f.fee == f.quote * taker
    assert run.engine.state.book.inventory == 0
    assert run.exchange.total("BTC") == 0
    assert run.exchange.resting == {}
    for i in range(candles.index(candle) + 1, candles.index(candle) + 200):
        run.step(i, candles[i])
        assert run.exchange.resting == {}
    assert len(run.recorder.fills) == fills_before + len(flattening)


def test_cancel_policy_leaves_nothing_resting_and_keeps_the_position(
    configure: Callable[..., AppConfig], candles: tuple[Candle, ...]
) -> None:
    config = configure(
        grid={"base_interval": LOSING_INTERVAL, "halted_closing_orders": "cancel"},
        risk={"breaker": {"max_consecutive_losses": 6}},
    )
    run = Run.start(config)
    tripped = drive_until(run, candles, RiskEventKind.CONSECUTIVE_LOSSES)
    held = run.engine.state.book.inventory
    assert held > 0
    assert run.exchange.resting == {}
    fills, orders = len(run.recorder.fills), len(run.exchange.orders)
    for i in range(tripped + 1, len(candles)):
        run.step(i, candles[i])
        assert run.exchange.resting == {}, i
    assert len(run.exchange.orders) == orders  # not a single order sent while halted
    assert len(run.recorder.fills) == fills
    assert run.engine.state.book.inventory == held == run.exchange.total("BTC")


# -- circuit breaker: drawdown ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "kind"),
    [
        ({"max_drawdown_quote": "10"}, RiskEventKind.DRAWDOWN_QUOTE),
        ({"max_drawdown_pct": "0.1"}, RiskEventKind.DRAWDOWN_PCT),
    ],
)
def test_drawdown_limit_trips_on_equity_exactly_when_the_venue_says(
    configure: Callable[..., AppConfig],
    candles: tuple[Candle, ...],
    limit: dict[str, str],
    kind: RiskEventKind,
) -> None:
    config = configure(risk={"breaker": {"max_consecutive_losses": 0, **limit}})
    run = Run.start(config)
    cap_quote = D(limit.get("max_drawdown_quote", "Infinity"))
    cap_pct = D(limit.get("max_drawdown_pct", "Infinity"))
    # The expected trips, from the venue's own balances marked at each close. An operator
    # resets each halt one candle later; the breaker then re-arms from the latest equity.
    peak: Decimal | None = None
    equity = D(0)
    halted = False
    expected: list[int] = []
    for i, candle in enumerate(candles[:2000]):
        if halted:
            run.engine.reset_risk(candle.open_time_ms)
            halted, peak = False, equity
        run.step(i, candle)
        equity = run.exchange.total("USDT") + run.exchange.total("BTC") * candle.close
        peak = equity if peak is None else max(peak, equity)
        if peak - equity >= cap_quote or (peak - equity) / peak * 100 >= cap_pct:
            expected.append(candle.open_time_ms)
            halted = True
            assert run.engine.state.risk_state is RiskState.HALTED
            assert run.openings() == []
        else:
            assert run.engine.state.risk_state is not RiskState.HALTED, i
    trips = [e for _, e in run.recorder.events if e.state_after is RiskState.HALTED]
    assert len(expected) >= 2
    assert [(e.kind, e.ts_ms) for e in trips] == [(kind, ts) for ts in expected]
