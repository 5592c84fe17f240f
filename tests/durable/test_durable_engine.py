"""The Durable engine trades exactly like the Simple engine, idempotently, on SQLite and PG."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from dbos import DBOS, SetWorkflowID

from market_maker.backtest.result import BacktestResult
from market_maker.backtest.runner import run_backtest, simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import OrderAction
from market_maker.durable import migrate, repository, schema
from market_maker.durable.execution import DurableExecution, durable_engine
from market_maker.durable.workflows import cycle_id, update_id
from market_maker.engine.base import EngineObserver
from market_maker.engine.grid import GridEngine
from market_maker.state import snapshot
from support.shared_data import shared_data

CONFIG = load_config(default_backtest_config_path())
PERP = "binance_usdm_perp_1m_2025/BTC_USDT_USDT-1m-futures.csv"  # MIT, real candles


@pytest.fixture(scope="module")
def candles() -> tuple[Candle, ...]:
    return load_candles(shared_data(PERP), symbol=CONFIG.symbol).candles


def _same_trading(a: BacktestResult, b: BacktestResult) -> None:
    assert a.fills == b.fills
    assert (a.summary.orders_placed, a.summary.orders_canceled) == (
        b.summary.orders_placed,
        b.summary.orders_canceled,
    )
    assert a.summary.realized_pnl == b.summary.realized_pnl
    assert a.summary.fees_paid == b.summary.fees_paid
    assert a.final_balances == b.final_balances
    assert a.risk_events == b.risk_events


@pytest.mark.timeout(1500)  # about 2 min alone; CI's coverage and a busy machine triple it
def test_parity_with_the_simple_engine_on_5000_real_candles(
    tmp_path: Path, candles: tuple[Candle, ...]
) -> None:
    data = candles[:5000]
    simple = run_backtest(CONFIG, data)
    durable = run_backtest(CONFIG, data, durable_url=f"sqlite:///{tmp_path / 'bot.db'}")
    assert simple.summary.fills > 200  # real trading happened
    _same_trading(simple, durable)


def test_parity_and_tables_on_each_backend(database_url: str, candles: tuple[Candle, ...]) -> None:
    data = candles[:600]
    simple = run_backtest(CONFIG, data)
    durable = run_backtest(CONFIG, data, durable_url=database_url)
    _same_trading(simple, durable)
    engine = sa.create_engine(database_url)
    try:
        assert migrate.current_revision(engine) == migrate.HEAD
        with engine.connect() as conn:
            row = conn.execute(sa.select(schema.state)).one()
            state = snapshot.load(row.snapshot)
            fills = conn.execute(sa.select(sa.func.count()).select_from(schema.fills)).scalar()
            open_rows = conn.execute(
                sa.select(schema.orders.c.client_order_id).where(
                    schema.orders.c.status.in_(["NEW", "PARTIALLY_FILLED", "PENDING"])
                )
            ).scalars()
            held = {o.client_order_id for o in state.book.active_orders()}
            assert set(open_rows) == held
        assert row.checksum == snapshot.seal(state).checksum
        assert fills == len(durable.fills)  # every booked fill has exactly one row
        assert state.book.realized_pnl == durable.summary.realized_pnl
    finally:
        engine.dispose()


def execution_of(engine: GridEngine) -> DurableExecution:
    """The engine's durable execution (its workflows and database)."""
    assert isinstance(engine.execution, DurableExecution)
    return engine.execution


def _engine(config: AppConfig, url: str) -> tuple[GridEngine, object]:
    venue = simulated_exchange(config)
    return durable_engine(config, venue, database_url=url), venue


def test_replayed_updates_and_reinvoked_workflows_change_nothing(
    database_url: str, candles: tuple[Candle, ...]
) -> None:
    engine, venue = _engine(CONFIG, database_url)
    engine.start()
    try:
        reports = []
        versions = []
        for candle in candles[:400]:
            for report in venue.on_candle(candle):  # type: ignore[attr-defined]
                engine.on_order_update(report)
                reports.append(report)
            engine.on_candle(candle)
            versions.append(engine.state.version)
            engine.on_price_update(PriceUpdate(CONFIG.symbol, candle.close, candle.open_time_ms))
        assert len(reports) > 20
        before = snapshot.serialize(engine.state)
        fills_before = engine.state.book.realized_pnl, engine.state.book.fees_paid
        for report in reports + reports:  # every update delivered twice more
            engine.on_order_update(report)
        assert (engine.state.book.realized_pnl, engine.state.book.fees_paid) == fills_before
        slots_after = dict(engine.state.book.slots)
        assert slots_after == dict(snapshot.load(before).book.slots)
        # Re-invoking completed decision cycles returns their recorded outcome; nothing runs.
        cycles = DBOS.list_workflows(name="mm_decision_cycle", status="SUCCESS", load_output=False)
        assert cycles
        placed = engine.orders_placed
        for status in cycles[:5]:
            handle = DBOS.retrieve_workflow(status.workflow_id)
            with SetWorkflowID(status.workflow_id):
                again = execution_of(engine).workflows.decision_cycle([])  # type: ignore[union-attr]
            assert again == handle.get_result()
        assert engine.orders_placed == placed
        assert dict(engine.state.book.slots) == slots_after
    finally:
        engine.stop()


class _Actions(EngineObserver):
    """Every action the engine executed, grouped by decision cycle."""

    def __init__(self) -> None:
        self.cycles: list[list[OrderAction]] = []

    def on_action(self, action: OrderAction) -> None:
        self.cycles.append([action])  # regrouped by the test, one price update at a time


def _fill_rows(url: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(schema.fills))]
    finally:
        engine.dispose()


def test_transaction_steps_run_again_after_their_commit_change_nothing(
    database_url: str, candles: tuple[Candle, ...]
) -> None:
    """The at-least-once window: a step that committed is re-run (recovery). Nothing moves."""
    actions = _Actions()
    venue = simulated_exchange(CONFIG)
    engine = durable_engine(CONFIG, venue, database_url=database_url, observer=actions)
    engine.start()
    try:
        reports = []
        cycles: list[list[OrderAction]] = []
        for candle in candles[:400]:
            for report in venue.on_candle(candle):
                engine.on_order_update(report)
                reports.append(report)
            engine.on_candle(candle)
            actions.cycles.clear()
            engine.on_price_update(PriceUpdate(CONFIG.symbol, candle.close, candle.open_time_ms))
            if actions.cycles:
                cycles.append([a for (a,) in actions.cycles])
        book = engine.state.book
        fills = [r for r in reports if r.last_fill_qty > 0]
        assert len(fills) > 10 and len(cycles) > 20
        before = (book.realized_pnl, book.fees_paid, dict(book.slots), book.inventory)
        rows_before = _fill_rows(database_url)
        version = engine.state.version
        steps = execution_of(engine).workflows
        assert steps is not None
        for cycle in cycles[-5:]:  # the intents of recent cycles, recorded again
            steps.record_intents(cycle)
        steps.book_reports(reports, [])  # every report, booked again
        after = (book.realized_pnl, book.fees_paid, dict(book.slots), book.inventory)
        assert after == before
        assert _fill_rows(database_url) == rows_before  # no fill row written twice
        assert engine.state.version == version + 6  # each re-run committed a new version
        assert execution_of(engine).db is not None
        with execution_of(engine).db.connect() as conn:
            stored = repository.load(conn, CONFIG.bot_id, CONFIG.symbol)
        assert stored is not None and dict(stored.book.slots) == before[2]
    finally:
        engine.stop()


def test_a_workflow_run_after_its_booking_committed_books_nothing_more(
    database_url: str, candles: tuple[Candle, ...]
) -> None:
    """The booking runs in the workflow body, not as a step: after a crash between its
    commit and DBOS's record of the workflow, recovery runs the body again. It must book
    nothing the second time and the workflow must still end SUCCESS."""
    engine, venue = _engine(CONFIG, database_url)
    engine.start()
    try:
        steps = execution_of(engine).workflows
        assert steps is not None
        fill = None
        for candle in candles[:600]:
            for report in venue.on_candle(candle):  # type: ignore[attr-defined]
                if fill is None and report.last_fill_qty > 0:
                    fill = report  # booked and committed as the body would, but no workflow
                    assert steps.book_reports([report], [])  # it booked a fill
                else:
                    engine.on_order_update(report)
            if fill is not None:
                break
            engine.on_candle(candle)
            engine.on_price_update(PriceUpdate(CONFIG.symbol, candle.close, candle.open_time_ms))
        assert fill is not None
        book = engine.state.book
        before = (book.realized_pnl, book.fees_paid, dict(book.slots), book.inventory)
        rows = _fill_rows(database_url)
        assert rows
        wid = update_id(execution_of(engine).prefix, fill)
        assert DBOS.get_workflow_status(wid) is None  # DBOS has no record of it
        engine.on_order_update(fill)  # the workflow runs its body, as a recovery would
        status = DBOS.get_workflow_status(wid)
        assert status is not None and status.status == "SUCCESS"
        assert DBOS.retrieve_workflow(wid).get_result() == []  # the body booked nothing
        assert (book.realized_pnl, book.fees_paid, dict(book.slots), book.inventory) == before
        assert _fill_rows(database_url) == rows  # no fill row twice
    finally:
        engine.stop()


def test_a_restart_resumes_from_the_tables(tmp_path: Path, candles: tuple[Candle, ...]) -> None:
    data = candles[:700]
    reference = run_backtest(CONFIG, data)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    venue = simulated_exchange(CONFIG)
    first = run_backtest(CONFIG, data[:350], exchange=venue, durable_url=url)
    second = run_backtest(CONFIG, data, exchange=venue, start_index=350, durable_url=url)
    assert first.fills + second.fills == reference.fills
    assert second.final_balances == reference.final_balances
    assert cycle_id("x-", 3) == "x-cycle-3"


def test_the_migration_creates_exactly_the_declared_schema(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = sa.create_engine(database_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        migrate.upgrade(engine)  # idempotent
        assert migrate.current_revision(engine) == migrate.HEAD
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_checkpoint_progress_saves_the_time_a_quiet_price_update_reached(
    database_url: str, candles: tuple[Candle, ...]
) -> None:
    """``status`` reads the tables: after a batch, they hold the last price the bot saw."""
    venue = simulated_exchange(CONFIG)
    engine = durable_engine(CONFIG, venue, database_url=database_url)
    engine.start()
    try:

        def stored() -> tuple[int, int]:
            assert execution_of(engine).db is not None
            with execution_of(engine).db.connect() as conn:
                state = repository.load(conn, CONFIG.bot_id, CONFIG.symbol)
            assert state is not None
            return state.version, state.last_update_ms

        first = candles[0]
        engine.on_candle(first)
        engine.on_price_update(PriceUpdate(CONFIG.symbol, first.close, first.open_time_ms))
        engine.checkpoint_progress()
        # The same price a minute later: no action, no workflow, nothing saved by itself.
        later = first.open_time_ms + 60_000
        engine.on_price_update(PriceUpdate(CONFIG.symbol, first.close, later))
        version, seen_ms = stored()
        assert seen_ms == first.open_time_ms
        engine.checkpoint_progress()
        assert stored() == (version + 1, later)
        engine.checkpoint_progress()  # nothing new: no save
        assert stored() == (version + 1, later)
    finally:
        engine.stop()
