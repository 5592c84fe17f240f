"""Create or migrate the application tables with Alembic (never ad-hoc DDL)."""

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0001"
"""The schema revision this build writes."""


MIGRATION_LOCK_KEY = 0x6D6D_6D69_6772_6174  # "mmmigrat"
"""PostgreSQL advisory-lock key that serializes migrations of several bots' processes."""


def upgrade(engine: sa.Engine) -> None:
    """Bring the application tables of ``engine``'s database to ``HEAD``.

    Processes of several bots may start at once on one database: on PostgreSQL the
    migration holds a transaction-level advisory lock, so one migrates and the others then
    find the schema at ``HEAD``; SQLite transactions here take the write lock at ``BEGIN``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
