"""Drive the Simple engine candle by candle, as ``run_backtest`` does, and watch the venue."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.engine.base import EngineObserver
from market_maker.engine.grid import GridEngine, simple_engine
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.risk.events import RiskEvent, RiskEventKind
from market_maker.slots.book import BookedFill
from market_maker.stores.memory import MemoryStore

D = Decimal
LOSING_INTERVAL = "10"  # USDT, below the ~41.6 USDT of fees of one round trip per BTC


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        nested = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = merge(base[key], value) if nested else value
    return out


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


@dataclass
class Run:
    config: AppConfig
    exchange: SimulatedExchange
    engine: GridEngine
    recorder: Recorder

    @classmethod
    def start(cls, config: AppConfig) -> "Run":
        exchange = simulated_exchange(config)
        recorder = Recorder()
        engine = simple_engine(config, exchange, MemoryStore(), observer=recorder)
        engine.start()
        return cls(config, exchange, engine, recorder)

    def step(self, i: int, candle: Candle) -> None:
        """Candle ``i`` the way ``run_backtest`` drives it."""
        self.recorder.at = i
        for report in self.exchange.on_candle(candle):
            self.engine.on_order_update(report)
        self.engine.on_candle(candle)
        update = PriceUpdate(self.config.symbol, candle.close, candle.open_time_ms)
        self.engine.on_price_update(update)

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


def losing_streaks(fills: Sequence[tuple[Decimal, Decimal, Decimal, Decimal, int]]) -> list[int]:
    """When the losing streak first reached 1, 2, 3... round trips (``ts_ms`` of each).

    An independent recount from fill rows ``(slot, signed qty, realized pnl, fee, ts_ms)``:
    a round trip is a slot's fills from flat back to flat; it loses when its realised PnL
    net of fees is below zero, and a round trip at zero or better ends the streak.
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
