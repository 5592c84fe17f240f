"""Hypothesis properties of the risk layer in the Simple engine, checked on the venue.

A random grid trades a short random price path through the real engine and the real
``SimulatedExchange``. Risk events are forced: volume spikes in the generated candles trip a
monitor with a small window; a tiny ``max_consecutive_losses`` (with levels often closer
than the fees) or a small drawdown limit trips the breaker; and the test itself calls
``engine.set_risk`` and ``engine.reset_risk`` at random candles. After every candle's
decision:

* no opening order rests on the venue while the risk state is RISK_MODE or HALTED;
* HALTED with the ``cancel`` policy leaves nothing resting; with ``flatten``, nothing resting
  and no position;
* the position never exceeds ``grid.max_inventory``, in the book or on the venue.
"""

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.enums import GridMode, HaltedClosingPolicy, OrderRole, RiskState
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.engine.grid import simple_engine
from market_maker.stores.memory import MemoryStore

D = Decimal
SYMBOL = "BTC/USDT"
T0 = 1_700_000_000_000
START = D(100_000)
STEP = D("0.001")


@dataclass(frozen=True)
class Case:
    config: AppConfig
    candles: tuple[Candle, ...]
    injections: dict[int, str]  # candle index -> "risk_mode" | "halted" | "reset"


@st.composite
def cases(draw: st.DrawFn) -> Case:
    mode = draw(st.sampled_from(GridMode))
    policy = draw(st.sampled_from(HaltedClosingPolicy))
    # 30 USDT is below the ~40 USDT of maker fees of a round trip per BTC: every trip loses.
    interval = draw(st.sampled_from([D(30), D(100), D(250)]))
    qty_steps = draw(st.integers(1, 10))
    max_inventory = STEP * qty_steps * draw(st.integers(1, 6))
    config = AppConfig.model_validate(
        {
            "bot_id": "prop",
            "symbol": SYMBOL,
            "instrument": {"tick_size": "0.01", "step_size": str(STEP), "min_qty": str(STEP)},
            "grid": {
                "mode": mode.value,
                "base_interval": str(interval),
                "buy_window": draw(st.integers(1, 5)),
                "sell_window": draw(st.integers(1, 5)),
                "order_qty": str(STEP * qty_steps),
                "max_inventory": str(max_inventory),
                "skew_factor": draw(st.sampled_from(["0", "0.0005"])),
                "halted_closing_orders": policy.value,
            },
            "backtest": {
                "initial_quote": "1000000",
                "maker_fee": "0.0002",
                "taker_fee": "0.0005",
                "spot": False,
            },
            "risk": {
                "monitor": {
                    "window_candles": draw(st.integers(2, 6)),
                    "volume_multiplier": "4",
                    "require_close_below_average": draw(st.booleans()),
                    "calm_candles": draw(st.integers(0, 8)),
                },
                "breaker": {
                    "max_consecutive_losses": draw(st.integers(1, 3)),
                    "cooldown_s": draw(st.sampled_from([0, 120, 900])),
                    "max_drawdown_quote": draw(st.sampled_from([None, "2", "20"])),
                },
                "cleaner": {
                    "max_order_age_s": draw(st.sampled_from([0, 300])),
                    "max_open_orders": draw(st.sampled_from([0, 3, 8])),
                },
            },
        }
    )
    n = draw(st.integers(50, 150))
    moves = draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n))
    wicks = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    spikes = draw(st.sets(st.integers(0, n - 1), max_size=n // 8))
    unit = interval / 4
    candles: list[Candle] = []
    close = START
    for i in range(n):
        open_ = close
        close = open_ + moves[i] * unit
        wick = wicks[i] * unit / 2
        volume = D(200) if i in spikes else D(10)
        candles.append(
            Candle(
                SYMBOL,
                T0 + i * 60_000,
                60,
                open_,
                max(open_, close) + wick,
                min(open_, close) - wick,
                close,
                volume,
            )
        )
    injections = draw(
        st.dictionaries(
            st.integers(0, n - 1), st.sampled_from(["risk_mode", "halted", "reset"]), max_size=4
        )
    )
    return Case(config, tuple(candles), injections)


@settings(max_examples=100, deadline=None)
@given(case=cases())
def test_no_opening_order_rests_outside_normal_and_inventory_stays_capped(case: Case) -> None:
    config = case.config
    grid = config.grid
    exchange = simulated_exchange(config)
    engine = simple_engine(config, exchange, MemoryStore())
    engine.start()
    states: set[RiskState] = set()
    for i, candle in enumerate(case.candles):
        for report in exchange.on_candle(candle):
            engine.on_order_update(report)
        engine.on_candle(candle)
        injected = case.injections.get(i)
        if injected == "risk_mode":
            engine.set_risk(RiskState.RISK_MODE)
        elif injected == "halted":
            engine.set_risk(RiskState.HALTED)
        elif injected == "reset":
            engine.reset_risk(candle.open_time_ms)
        engine.on_price_update(PriceUpdate(SYMBOL, candle.close, candle.open_time_ms))

        state = engine.state.risk_state
        states.add(state)
        resting = list(exchange.resting.values())
        if state is not RiskState.NORMAL:
            book = engine.state.book
            openings = [
                o.request
                for o in resting
                if (record := book.find_order(o.request.client_order_id)) is None
                or record.role is OrderRole.OPEN
            ]
            assert openings == [], (i, state)
        if state is RiskState.HALTED and grid.halted_closing_orders is not (
            HaltedClosingPolicy.KEEP
        ):
            assert resting == [], (i, grid.halted_closing_orders)
            if grid.halted_closing_orders is HaltedClosingPolicy.FLATTEN:
                assert engine.state.book.inventory == 0, i
        assert abs(engine.state.book.inventory) <= grid.max_inventory, i
        assert abs(exchange.total("BTC")) <= grid.max_inventory, i
        assert exchange.total("BTC") == engine.state.book.inventory, i
    for kind in sorted({e.kind.value for e in engine.risk.events}):
        event(f"risk event: {kind}")
    event(f"fills: {'none' if not exchange.fills else 'some'}")
