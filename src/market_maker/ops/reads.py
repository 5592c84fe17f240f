"""What the operator commands read from a bot's database (running or stopped; never writes).

The bot's state comes from its checksummed snapshot (``live.status.bot_status``), its
fills from ``mm_fills`` (filterable by time), what the running process last published
from ``mm_runs`` (``ops.heartbeat``), and whether it runs now from its lock.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from market_maker.config.app import AppConfig
from market_maker.durable import schema
from market_maker.durable.bot_lock import bot_running
from market_maker.live.status import bot_status
from market_maker.ops.commands import Command, CommandQueue
from market_maker.ops.heartbeat import RunInfo, read_run


@dataclass(frozen=True, slots=True)
class BotReading:
    """A bot as its database shows it.

    Attributes:
        state: Its read model (``state.views.state_view``), None before its first save.
        run: Its latest run as it published it, None when it never published.
        running: Whether a process runs it now (its lock is held).
    """

    state: dict[str, Any] | None
    run: RunInfo | None
    running: bool


def _database(config: AppConfig) -> sa.Engine | None:
    url = sa.make_url(config.durable.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None  # never create the file: reading must not write
    return sa.create_engine(url)


def read_bot(config: AppConfig) -> BotReading:
    """The bot's state, its latest published run and whether it runs now."""
    state = bot_status(config)
    database = _database(config)
    run = None
    if database is not None:
        try:
            run = read_run(database, config.bot_id, config.symbol)
        finally:
            database.dispose()
    running = bot_running(config.durable.database_url, config.bot_id, config.symbol)
    return BotReading(state, run, running)


def read_fills(
    config: AppConfig,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The bot's booked fills (``mm_fills``) in time order, decimals as strings.

    ``since_ms`` is inclusive and ``until_ms`` exclusive (market time of the fill);
    ``limit`` keeps the newest.
    """
    database = _database(config)
    if database is None:
        return []
    c = schema.fills.c
    query = sa.select(schema.fills).where(c.bot_id == config.bot_id, c.symbol == config.symbol)
    if since_ms is not None:
        query = query.where(c.ts_ms >= since_ms)
    if until_ms is not None:
        query = query.where(c.ts_ms < until_ms)
    query = query.order_by(c.ts_ms.desc(), c.client_order_id.desc(), c.seq.desc())
    if limit is not None:
        query = query.limit(limit)
    try:
        with database.connect() as conn:
            if not sa.inspect(conn).has_table("mm_fills"):
                return []
            rows = conn.execute(query).all()
    finally:
        database.dispose()
    return [
        {
            "ts_ms": int(r.ts_ms),
            "client_order_id": r.client_order_id,
            "seq": int(r.seq),
            "side": r.side,
            "qty": r.qty,
            "quote": r.quote,
            "fee": r.fee,
            "realized_pnl": r.realized_pnl,
            "liquidity": r.liquidity,
            "trade_id": r.trade_id,
        }
        for r in reversed(rows)
    ]


def read_commands(config: AppConfig, limit: int = 200) -> list[Command]:
    """The bot's latest operator commands, newest first (none before its first run)."""
    database = _database(config)
    if database is None:
        return []
    try:
        with database.connect() as conn:
            if not sa.inspect(conn).has_table("mm_commands"):
                return []
        return CommandQueue(database, config.bot_id, config.symbol).recent(limit)
    finally:
        database.dispose()


__all__ = ["BotReading", "read_bot", "read_commands", "read_fills"]
