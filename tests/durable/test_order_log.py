"""Order and fill log lines: slot, client order id and workflow id, on both executions.

The Durable engine (real DBOS on a SQLite file) logs every order action and fill at INFO
with the id of the DBOS workflow that did it, and every id is a workflow DBOS recorded.
The direct execution (backtests) logs them at DEBUG only: at INFO a backtest logs nothing.
"""

import logging
from pathlib import Path

import pytest
from dbos import DBOS

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.domain.market import PriceUpdate
from market_maker.domain.orders import OrderUpdate
from market_maker.durable.execution import durable_engine
from market_maker.durable.workflows import cycle_id
from market_maker.engine.base import EngineObserver
from market_maker.engine.grid import GridEngine, simple_engine
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.slots.book import BookedFill
from market_maker.slots.client_ids import id_prefix
from market_maker.stores.memory import MemoryStore

CONFIG = load_config(default_backtest_config_path())
ACTIONS = {"order placed", "order rejected", "order cancelled", "order cancel: already finished"}


class Fills(EngineObserver):
    def __init__(self) -> None:
        self.fills: list[BookedFill] = []

    def on_fill(self, fill: BookedFill) -> None:
        self.fills.append(fill)


def trade(engine: GridEngine, venue: SimulatedExchange, candles: int) -> list[OrderUpdate]:
    """Run ``candles`` sample candles through the engine as a backtest does; the reports."""
    reports = []
    for candle in load_candles(sample_candles_path(), symbol=CONFIG.symbol).candles[:candles]:
        for report in venue.on_candle(candle):
            engine.on_order_update(report)
            reports.append(report)
        engine.on_candle(candle)
        engine.on_price_update(PriceUpdate(CONFIG.symbol, candle.close, candle.open_time_ms))
    return reports


def test_the_durable_engine_logs_each_action_and_fill_with_its_workflow(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fills = Fills()
    venue = simulated_exchange(CONFIG)
    engine = durable_engine(
        CONFIG, venue, database_url=f"sqlite:///{tmp_path / 'bot.db'}", observer=fills
    )
    prefix = id_prefix(CONFIG.bot_id, CONFIG.symbol)
    caplog.set_level(logging.INFO, logger="market_maker.durable.workflows")
    engine.start()
    try:
        reports = trade(engine, venue, 400)
        records = [r for r in caplog.records if r.name == "market_maker.durable.workflows"]
        workflows = {s.workflow_id for s in DBOS.list_workflows(load_output=False)}
        actions = [r for r in records if r.getMessage() in ACTIONS]
        logged_fills = [r for r in records if r.getMessage() == "fill"]
        for again in reports:  # every report delivered once more: booked, and logged, once
            engine.on_order_update(again)
        refills = [
            r for r in caplog.records if r.name.endswith("workflows") and r.getMessage() == "fill"
        ]
    finally:
        engine.stop()
    placed = [r for r in actions if r.getMessage() == "order placed"]
    rejected = sum(r.getMessage() == "order rejected" for r in actions)
    assert len(placed) == engine.orders_placed - rejected
    assert len(fills.fills) > 20 and len(refills) == len(logged_fills)
    for record in actions:
        wid = record.workflow_id  # type: ignore[attr-defined]
        assert wid in workflows and wid.startswith(cycle_id(prefix, 0).removesuffix("0"))
        order = engine.state.book.find_order(record.client_order_id)  # type: ignore[attr-defined]
        assert order is not None and order.level == record.slot  # type: ignore[attr-defined]
    assert {r.action for r in actions} == {"PLACE", "CANCEL"}  # type: ignore[attr-defined]
    booked = [(f.client_order_id, f.qty, f.level) for f in fills.fills]
    assert [(r.client_order_id, r.qty, r.slot) for r in logged_fills] == booked  # type: ignore[attr-defined]
    fill_workflows = [r.workflow_id for r in logged_fills]  # type: ignore[attr-defined]
    assert set(fill_workflows) <= workflows
    assert any(wid.startswith(f"{prefix}update-") for wid in fill_workflows)


def test_the_direct_execution_logs_orders_and_fills_at_debug_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = "market_maker.engine.execution"
    venue = simulated_exchange(CONFIG)
    caplog.set_level(logging.INFO, logger=logger)
    quiet = simple_engine(CONFIG, venue, MemoryStore())
    quiet.start()
    trade(quiet, venue, 400)
    assert quiet.orders_placed > 20
    assert [r for r in caplog.records if r.name == logger] == []  # a backtest logs nothing

    fills = Fills()
    venue = simulated_exchange(CONFIG)
    caplog.set_level(logging.DEBUG, logger=logger)
    engine = simple_engine(CONFIG, venue, MemoryStore(), observer=fills)
    engine.start()
    trade(engine, venue, 400)
    records = [r for r in caplog.records if r.name == logger]
    actions = [r for r in records if r.getMessage() in ACTIONS]
    assert len(actions) == engine.orders_placed + engine.orders_canceled
    assert all(r.workflow_id is None for r in records)  # type: ignore[attr-defined]
    fill_records = [r for r in records if r.getMessage() == "fill"]
    logged = [(r.client_order_id, r.qty) for r in fill_records]  # type: ignore[attr-defined]
    assert logged == [(f.client_order_id, f.qty) for f in fills.fills] and logged
