"""Risk mode on real falling markets: openings leave the venue, take-profits stay, trading resumes.

Each scenario drives the Simple engine candle by candle over a window of real 1-minute
candles, exactly as ``run_backtest`` does (venue first, then the engine books the reports,
folds the candle, decides at the close), and inspects the ``SimulatedExchange`` after every
decision. The volatility monitor runs with its defaults (a volume above 8x the last hour's
average with a close below the hour's average close; back to NORMAL after 30 calm
candles); the breaker's losing-streak rule is off so that only the monitor acts.

Windows (chosen by scanning the files for the largest one-hour drops and the monitor's
anomalies):

* **FTX BTC-PERP, 2022-01-21 09:01 -> 2022-01-22 11:40 UTC** (rows 29,400-30,999): BTC falls
  from 39,135 to about 34,200 (-12.6%), with -6.1% in the hour to 21:52 on Jan 21. The
  monitor flags four volume spikes, the last at 2022-01-22 09:49 (56.9M USD traded in one
  minute, 14.7x the hour's average, -2.1% in half an hour). FTX prices are whole dollars and
  volume is quote notional: tick 1 USD, step 0.0001 BTC (the monitor only compares volumes
  with each other, so the unit does not matter to it).
* **Binance ETH/USDT spot, 2025-06-21 15:20 -> 2025-06-22 07:59 UTC** (rows 47,000-47,999):
  at 21:24 ETH drops 3.3% in one minute (2,387.89 -> 2,308.33) on 22,673 ETH, about 105x
  the hour's average volume, and again at 21:31 to 2,255.90: the sharpest drop with the
  largest volume spike of the 90-day file.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import pytest

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.data.candles import load_candles
from market_maker.domain.enums import OrderRole, OrderStatus, RiskState
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.engine.base import EngineObserver
from market_maker.engine.grid import simple_engine
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.risk.events import RiskEvent, RiskEventKind
from market_maker.slots.client_ids import parse_client_order_id
from market_maker.stores.memory import MemoryStore
from support.shared_data import shared_data

D = Decimal


@dataclass(frozen=True)
class Scenario:
    file: str
    symbol: str
    rows: tuple[int, int]
    spike_open_ms: int  # a candle the monitor must flag
    instrument: dict[str, str]
    grid: dict[str, Any]
    backtest: dict[str, Any]
    anomalies: int  # RISK_MODE entries in the window


FTX = Scenario(
    file="ftx_btc_perp_1m_2022/btc-perp-20211231-20220201_1m.csv",
    symbol="BTC/USD:USD",
    rows=(29_400, 31_000),
    spike_open_ms=1_642_844_940_000,  # 2022-01-22 09:49 UTC
    instrument={"tick_size": "1", "step_size": "0.0001", "min_qty": "0.0001"},
    grid={"base_interval": "50", "order_qty": "0.01", "max_inventory": "1"},
    backtest={"maker_fee": "0.0002", "taker_fee": "0.0007", "spot": False},
    anomalies=4,
)
ETH = Scenario(
    file="binance_spot_1m_2025/ETH_USDT-1m.csv",
    symbol="ETH/USDT",
    rows=(47_000, 48_000),
    spike_open_ms=1_750_541_040_000,  # 2025-06-21 21:24 UTC
    instrument={"tick_size": "0.01", "step_size": "0.0001", "min_qty": "0.0001"},
    grid={"base_interval": "10", "order_qty": "0.1", "max_inventory": "5"},
    backtest={"maker_fee": "0.001", "taker_fee": "0.001", "spot": True},
    anomalies=7,
)


@cache
def _load(file: str, symbol: str) -> tuple[Candle, ...]:
    return load_candles(shared_data(file), symbol=symbol).candles


def window(scenario: Scenario) -> tuple[Candle, ...]:
    start, stop = scenario.rows
    return _load(scenario.file, scenario.symbol)[start:stop]


def config_for(scenario: Scenario) -> AppConfig:
    return AppConfig.model_validate(
        {
            "bot_id": "scn",
            "symbol": scenario.symbol,
            "instrument": scenario.instrument,
            "grid": {"mode": "long", "buy_window": 5, "sell_window": 5, **scenario.grid},
            "backtest": {"initial_quote": "100000", **scenario.backtest},
            "risk": {"breaker": {"max_consecutive_losses": 0}},
        }
    )


class Recorder(EngineObserver):
    def __init__(self) -> None:
        self.at = -1
        self.events: list[tuple[int, RiskEvent]] = []

    def on_risk_event(self, event: RiskEvent) -> None:
        self.events.append((self.at, event))


@dataclass
class Observation:
    """The venue and the book after one candle's decision."""

    state: RiskState
    openings: list[str]  # opening orders resting on the venue
    held: dict[Decimal, str]  # slot level -> id of its closing order, for every held slot
    resting: set[str]  # every order resting on the venue
    cancelled_closes: list[Decimal]  # slots whose closing order was cancelled this candle


def drive(scenario: Scenario) -> tuple[list[Observation], Recorder]:
    config = config_for(scenario)
    exchange: SimulatedExchange = simulated_exchange(config)
    recorder = Recorder()
    engine = simple_engine(config, exchange, MemoryStore(), observer=recorder)
    engine.start()
    observed: list[Observation] = []
    for i, candle in enumerate(window(scenario)):
        recorder.at = i
        closes_before = [c for c, o in exchange.resting.items() if o.request.reduce_only]
        for report in exchange.on_candle(candle):
            engine.on_order_update(report)
        engine.on_candle(candle)
        engine.on_price_update(PriceUpdate(config.symbol, candle.close, candle.open_time_ms))
        held: dict[Decimal, str] = {}
        for slot in engine.state.book:
            if slot.position_qty:
                order = slot.active_order
                assert order is not None, f"candle {i}: slot {slot.level} holds without a close"
                assert order.role is OrderRole.CLOSE
                assert order.remaining_qty == slot.position_qty
                held[slot.level] = order.client_order_id
        observed.append(
            Observation(
                engine.state.risk_state,
                [c for c, o in exchange.resting.items() if not o.request.reduce_only],
                held,
                set(exchange.resting),
                [
                    parse_client_order_id(c).level
                    for c in closes_before
                    if exchange.orders[c].status is OrderStatus.CANCELED
                ],
            )
        )
    return observed, recorder


def periods(events: Sequence[tuple[int, RiskEvent]]) -> list[tuple[int, int | None]]:
    """(entry candle, recovery candle) of each RISK_MODE period."""
    out: list[tuple[int, int | None]] = []
    for i, event in events:
        if event.kind is RiskEventKind.VOLATILITY_ANOMALY:
            out.append((i, None))
        else:
            assert event.kind is RiskEventKind.CALM_RECOVERY
            assert out
            assert out[-1][1] is None
            out[-1] = (out[-1][0], i)
    return out


@pytest.fixture(scope="module", params=[FTX, ETH], ids=["ftx-btc-perp-2022-01", "eth-2025-06"])
def scenario_run(
    request: pytest.FixtureRequest,
) -> tuple[Scenario, list[Observation], list[tuple[int, int | None]]]:
    scenario: Scenario = request.param
    observed, recorder = drive(scenario)
    return scenario, observed, periods(recorder.events)


def test_the_volume_spike_of_the_drop_enters_risk_mode(
    scenario_run: tuple[Scenario, list[Observation], list[tuple[int, int | None]]],
) -> None:
    scenario, observed, spans = scenario_run
    candles = window(scenario)
    spike = next(i for i, c in enumerate(candles) if c.open_time_ms == scenario.spike_open_ms)
    assert len(spans) == scenario.anomalies
    assert any(start <= spike and (end is None or spike < end) for start, end in spans)
    assert observed[spike].state is RiskState.RISK_MODE
    assert candles[spike].close < candles[spike].open  # a falling candle
    assert candles[-1].close < candles[0].close  # and a falling window


def test_no_opening_order_rests_on_the_venue_in_risk_mode(
    scenario_run: tuple[Scenario, list[Observation], list[tuple[int, int | None]]],
) -> None:
    _, observed, spans = scenario_run
    for start, _ in spans:
        assert observed[start - 1].state is RiskState.NORMAL
        assert observed[start - 1].openings, "the grid was trading before the spike"
        assert observed[start].openings == []  # gone with the decision at the spike's close
        assert observed[start + 1].openings == []  # and still gone one candle later
    for i, seen in enumerate(observed):
        if seen.state is RiskState.RISK_MODE:
            assert seen.openings == [], i


def test_take_profit_orders_of_held_slots_survive_risk_mode(
    scenario_run: tuple[Scenario, list[Observation], list[tuple[int, int | None]]],
) -> None:
    _, observed, spans = scenario_run
    held_at_entry = 0
    for start, _ in spans:
        held_at_entry += len(observed[start].held)
    assert held_at_entry > 0  # the falling market left positions to protect
    for i, seen in enumerate(observed):
        if seen.state is RiskState.RISK_MODE:
            # Every held slot's take-profit rests on the venue, and nothing else does.
            assert set(seen.held.values()) == seen.resting, i
            # A take-profit is only cancelled to be re-quoted (when the price comes within
            # the safety gap of it, it follows the price): its slot keeps a closing order.
            assert set(seen.cancelled_closes) <= set(seen.held), i


def test_trading_resumes_after_the_calm_period(
    scenario_run: tuple[Scenario, list[Observation], list[tuple[int, int | None]]],
) -> None:
    _, observed, spans = scenario_run
    recovered = [(start, end) for start, end in spans if end is not None]
    assert len(recovered) >= len(spans) - 1
    for start, end in recovered:
        assert end - start >= 30  # at least calm_candles closed candles
        assert observed[end].state is RiskState.NORMAL
        assert observed[end].openings, f"no opening order rests after recovery at {end}"
