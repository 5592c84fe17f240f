"""``market-maker status``: the bot's state from its database, running or stopped.

Reads the checksummed snapshot in ``mm_state`` (never writes), so it is safe next to a
running bot, and shows it through the read model (``market_maker.state.views``): decimals
are strings.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from market_maker.config.app import AppConfig
from market_maker.durable import repository, schema
from market_maker.durable.database import connect_args
from market_maker.durable.database_errors import database_errors
from market_maker.live.audit import BookedFillRow
from market_maker.state.views import state_view


def bot_status(config: AppConfig) -> dict[str, Any] | None:
    """The bot's state as plain data, or None when its database holds no state yet.

    Raises:
        InfrastructureError: The database cannot be read (damaged, unreachable...).
    """
    url = sa.make_url(config.durable.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None  # never create the file: a status check must not write
    with _reading(config) as conn:
        if not sa.inspect(conn).has_table("mm_state"):
            return None
        state = repository.load(conn, config.bot_id, config.symbol)
    if state is None:
        return None
    return state_view(state)


def booked_fill_rows(config: AppConfig) -> list[BookedFillRow]:
    """Every fill the bot of ``config`` booked (its ``mm_fills`` rows), for the audit."""
    fills = schema.fills
    with _reading(config) as conn:
        rows = conn.execute(
            sa.select(fills.c.client_order_id, fills.c.qty, fills.c.fee)
            .where(fills.c.bot_id == config.bot_id, fills.c.symbol == config.symbol)
            .order_by(fills.c.client_order_id, fills.c.seq)
        ).all()
    return [BookedFillRow(r.client_order_id, Decimal(r.qty), Decimal(r.fee)) for r in rows]


@contextmanager
def _reading(config: AppConfig) -> Iterator[sa.Connection]:
    """A connection to the bot's database that writes nothing (no WAL switch, no DDL)."""
    url = config.durable.database_url
    with database_errors(url):
        engine = sa.create_engine(url, connect_args=connect_args(url))
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()
