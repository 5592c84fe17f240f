"""The SQLAlchemy engine of the application tables (the same database as DBOS's own tables).

SQLite: the file is switched to WAL (persistent in the file), every connection waits up to
30 s for a lock instead of failing, and transactions start ``IMMEDIATE`` (the write lock is
taken at ``BEGIN``, so two writers never deadlock upgrading a read lock). Commits keep
SQLite's default ``synchronous=FULL``: a committed intent survives a power cut.
PostgreSQL: a plain pool without a pre-ping round trip per checkout (a dropped connection
fails its statement, and the caller's transaction is not committed).
"""

from typing import Any

import sqlalchemy as sa


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = "IMMEDIATE"
    dbapi_conn.execute("PRAGMA busy_timeout=30000")


def create_engine(url: str, *, connect: bool = True) -> sa.Engine:
    """An engine for ``url`` (``sqlite:///file`` or ``postgresql+psycopg://...``).

    ``connect=False`` opens no connection yet (nor creates a SQLite file): WAL mode is then
    left to whoever opens the database first with ``connect=True`` (the Durable engine).
    """
    engine = sa.create_engine(url, pool_pre_ping=False)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        if connect:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    return engine


__all__ = ["create_engine"]
