"""The risk layer wired into the Simple engine: each component, checked on the venue.

Most tests drive the engine candle by candle over the bundled sample (three sideways days
of BTC/USDT perpetual 1m candles), the way ``run_backtest`` does, and look at the
``SimulatedExchange`` after every decision: which orders rest, which fills happened. The
*losing* configuration spaces levels 10 USDT apart while a round trip at 0.02% maker fees
costs about 41.6 USDT per BTC at 104,000: every round trip loses, so the breaker trips.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from market_maker.backtest.runner import run_backtest, simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.domain.enums import Liquidity, OrderStatus, RiskState, Side
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.engine.base import EngineObserver
from market_maker.engine.simple import SimpleEngine
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.risk.events import RiskEvent, RiskEventKind
from market_maker.slots.book import BookedFill
from market_maker.stores.memory import MemoryStore

D = Decimal
LOSING_INTERVAL = "10"  # USDT, below the ~41.6 USDT of fees of one round trip per BTC


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        nested = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = _merge(base[key], value) if nested else value
    return out


@pytest.fixture(scope="module")
def sample_config() -> AppConfig:
    return load_config(default_backtest_config_path())


@pytest.fixture(scope="module")
def candles(sample_config: AppConfig) -> tuple[Candle, ...]:
    return load_candles(sample_candles_path(), symbol=sample_config.symbol).candles


@pytest.fixture(scope="module")
def configure(sample_config: AppConfig) -> Callable[..., AppConfig]:
    """The sample's configuration with nested changes: ``configure(grid={...}, risk={...})``."""
    dumped = sample_config.model_dump(mode="json")

    def make(**changes: Any) -> AppConfig:
        return AppConfig.model_validate(_merge(dumped, changes))

    return make


# -- driving ---------------------------------------------------------------------------------


@dataclass
class Recorder(EngineObserver):
    """What the engine reported, each tagged with the index of the candle being driven."""

    at: int = -1
    fills: list[tuple[int, BookedFill]] = field(default_factory=list)
    events: list[tuple[int, RiskEvent]] = field(default_factory=list)

    def on_fill(self, fill: BookedFill) -> None:
        self.fills.append((self.at, fill))

    def on_risk_event(self, event: RiskEvent) -> None:
        self.events.append((self.at, event))

    def first(self, kind: RiskEventKind) -> tuple[int, RiskEvent]:
        return next((i, e) for i, e in self.events if e.kind is kind)


@dataclass
class Run:
    config: AppConfig
    exchange: SimulatedExchange
    engine: SimpleEngine
    recorder: Recorder

    @classmethod
    def start(cls, config: AppConfig) -> "Run":
        exchange = simulated_exchange(config)
        recorder = Recorder()
        engine = SimpleEngine(config, exchange, MemoryStore(), observer=recorder)
        engine.start()
        return cls(config, exchange, engine, recorder)

    def step(self, i: int, candle: Candle) -> None:
        """Candle ``i`` the way ``run_backtest`` drives it."""
        self.recorder.at = i
        for report in self.exchange.on_candle(candle):
            self.engine.on_order_update(report)
        self.engine.on_candle(candle)
        self.engine.on_price_update(PriceUpdate(self.config.symbol, candle.close, candle.open_time_ms))

    def openings(self) -> list[str]:
        """Opening orders resting on the venue (closing orders are sent reduce-only)."""
        return [c for c, o in self.exchange.resting.items() if not o.request.reduce_only]

    def closes(self) -> list[str]:
        return [c for c, o in self.exchange.resting.items() if o.request.reduce_only]


def drive_until(run: Run, candles: Sequence[Candle], kind: RiskEventKind) -> int:
    """Drive until an event of ``kind`` happens; return the index of its candle."""
    for i, candle in enumerate(candles):
        run.step(i, candle)
        if any(e.kind is kind for _, e in run.recorder.events):
            return i
    pytest.fail(f"no {kind.value} event in {len(candles)} candles")


def losing_trips(fills: Sequence[tuple[Decimal, Decimal, Decimal, Decimal, int]]) -> list[int]:
    """Times of the completed round trips that lost money, net of fees, in order, with the
    streak length at each: an independent recount from ``(slot, signed qty, realized pnl,
    fee, ts)`` rows. Returns the ts at which each streak length first reached 1, 2, 3...
    """
    position: dict[Decimal, Decimal] = {}
    pnl: dict[Decimal, Decimal] = {}
    streak = 0
    reached: list[int] = []
    for slot, qty, realized, fee, ts in fills:
        position[slot] = position.get(slot, D(0)) + qty
        pnl[slot] = pnl.get(slot, D(0)) + realized - fee
        if position[slot] == 0:
            streak = streak + 1 if pnl.pop(slot) < 0 else 0
            if streak > len(reached):
                reached.append(ts)
    return reached


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
    streak_reached_at = losing_trips(rows)
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
        if run.recorder.events and run.recorder.events[-1][0] == i:
            if run.recorder.events[-1][1].kind is RiskEventKind.COOLDOWN_EXPIRED:
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

    last_index, last = run.recorder.events[-1]
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
    return AppConfig.model_validate(_merge(base, changes))


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
    first = SimpleEngine(config, exchange, store)
    first.start()
    run = Run(config, exchange, first, Recorder())
    for i, candle in enumerate(calm_then_spike()):
        run.step(i, candle)
    assert first.state.risk_state is RiskState.RISK_MODE
    first.stop()

    second = SimpleEngine(config, exchange, store)
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
