"""Create or migrate the application tables with Alembic (never ad-hoc DDL)."""

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0002"
"""The schema revision this build writes."""


MIGRATION_LOCK_KEY = 0x6D6D_6D69_6772_6174  # "mmmigrat"
"""PostgreSQL advisory-lock key that serializes migrations of several bots' processes."""


def upgrade(engine: sa.Engine) -> None:
    """Bring the application tables of ``engine``'s database to ``HEAD``.

    Processes of several bots may start at once on one database, so the migration runs
    in one transaction that first takes a lock: on PostgreSQL a transaction-level advisory
    lock, on SQLite the write lock (``BEGIN IMMEDIATE``: pysqlite would begin a transaction
    only before the first INSERT, leaving Alembic's version check and the DDL unguarded).
    One process migrates; the others then find the schema at ``HEAD``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
