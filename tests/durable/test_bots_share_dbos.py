"""Two bots' Durable engines on one database never recover each other's workflows.

A crash leaves a workflow PENDING; here one bot's finished decision cycle is set back to
PENDING in the real DBOS tables (as a crash would have left it), and the engines are
started one after the other in this process, each as its own DBOS application.
"""

import logging

import pytest
import sqlalchemy as sa

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.domain.market import PriceUpdate
from market_maker.durable.execution import DurableExecution, durable_engine
from market_maker.engine.grid import GridEngine
from support.shared_data import shared_data

pytestmark = pytest.mark.timeout(180)

BASE = load_config(default_backtest_config_path())
ALPHA = BASE.model_copy(update={"bot_id": "alpha"})
BETA = BASE.model_copy(update={"bot_id": "beta"})
ALPHA_ETH = BASE.model_copy(update={"bot_id": "alpha", "symbol": "ETH/USDT:USDT"})
PERP = "binance_usdm_perp_1m_2025/BTC_USDT_USDT-1m-futures.csv"  # MIT, real candles


def started(config: AppConfig, url: str) -> GridEngine:
    engine = durable_engine(config, simulated_exchange(config), database_url=url)
    engine.start()
    return engine


def trade_a_little(engine: GridEngine, config: AppConfig) -> None:
    candles = load_candles(shared_data(PERP), symbol=config.symbol).candles[:30]
    for candle in candles:
        engine.on_candle(candle)
        engine.on_price_update(PriceUpdate(config.symbol, candle.close, candle.open_time_ms))


def workflows(url: str) -> sa.Table:
    engine = sa.create_engine(url)
    schema = None if engine.dialect.name == "sqlite" else "dbos"
    table = sa.Table("workflow_status", sa.MetaData(), schema=schema, autoload_with=engine)
    engine.dispose()
    return table


def execute(url: str, statement: sa.Executable) -> list[sa.Row[object]]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(statement)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def left_pending(url: str, config: AppConfig, **changes: str) -> str:
    """Set one of ``config``'s finished decision cycles back to PENDING; its id."""
    ws = workflows(url)
    prefix = DurableExecution(config, simulated_exchange(config)).prefix
    (wid,) = execute(
        url,
        sa.select(ws.c.workflow_uuid)
        .where(ws.c.workflow_uuid.startswith(f"{prefix}cycle-"), ws.c.status == "SUCCESS")
        .order_by(ws.c.created_at.desc())
        .limit(1),
    )[0]
    execute(
        url,
        sa.update(ws)
        .where(ws.c.workflow_uuid == wid)
        .values(status="PENDING", output=None, **changes),
    )
    return str(wid)


def status_of(url: str, workflow_id: str) -> str:
    ws = workflows(url)
    ((status,),) = execute(url, sa.select(ws.c.status).where(ws.c.workflow_uuid == workflow_id))
    return str(status)


@pytest.mark.parametrize("other", [BETA, ALPHA_ETH], ids=["other-bot-id", "other-symbol"])
def test_a_bot_recovers_its_own_pending_workflow_and_never_another_bots(
    database_url: str, other: AppConfig
) -> None:
    alpha = started(ALPHA, database_url)
    trade_a_little(alpha, ALPHA)
    alpha.stop()
    pending = left_pending(database_url, ALPHA)  # alpha "crashed" inside this cycle

    beta = started(other, database_url)  # same executor id ("local"), same database
    try:
        assert beta.recovered == 0
        trade_a_little(beta, other)
        assert status_of(database_url, pending) == "PENDING"  # beta left it alone
    finally:
        beta.stop()

    alpha = started(ALPHA, database_url)
    try:
        assert alpha.recovered == 1
        assert status_of(database_url, pending) == "SUCCESS"  # its own bot finished it
    finally:
        alpha.stop()


def test_a_workflow_left_by_another_version_is_reported_not_waited_for(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    alpha = started(ALPHA, database_url)
    trade_a_little(alpha, ALPHA)
    alpha.stop()
    pending = left_pending(database_url, ALPHA, application_version="market-maker-old@0")

    with caplog.at_level(logging.ERROR, logger="market_maker.durable.execution"):
        alpha = started(ALPHA, database_url)  # returns: it does not wait forever
    try:
        assert alpha.recovered == 0
        assert f"workflow {pending} of this bot was left PENDING" in caplog.text
        assert "application version market-maker-old@0" in caplog.text
    finally:
        alpha.stop()
