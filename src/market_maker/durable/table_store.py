"""A ``Store`` over the application tables, for saves made outside workflows.

Decisions' anchor and center, the risk layer's state and the ATR change outside any order
workflow; the Durable engine saves them through this store, in their own transaction.
Workflow transactions write through ``repository.save`` directly.
"""

import time

import sqlalchemy as sa

from market_maker.durable import repository
from market_maker.slots.book import BookedFill
from market_maker.state.model import GridState


class TableStore:
    """Loads and saves one bot's state in the application tables of ``engine``'s database."""

    def __init__(self, engine: sa.Engine, *, bot_id: str, symbol: str) -> None:
        self.engine = engine
        self.bot_id = bot_id
        self.symbol = symbol

    def load(self) -> GridState | None:
        """The stored state (checksum verified), or None for a new bot."""
        with self.engine.connect() as conn:
            return repository.load(conn, self.bot_id, self.symbol)

    def save(self, state: GridState) -> None:
        """Write ``state`` and every row it changed since the last save, atomically.

        Fill rows are written by the workflows that book them, never here.
        """
        with self.engine.begin() as conn:
            write(conn, state, [])

    def close(self) -> None:
        """The engine's connections belong to its owner; nothing to close here."""


def write(conn: sa.Connection, state: GridState, fills: list[BookedFill]) -> None:
    """Save ``state`` with its unsaved rows and ``fills`` in ``conn``'s transaction."""
    changed, retired = state.book.take_unsaved()
    repository.save(conn, state, changed, retired, fills, saved_at_ms=int(time.time() * 1000))
