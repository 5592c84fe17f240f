"""The SQLAlchemy engine of the application tables (the same database as DBOS's own tables).

SQLite: the file is switched to WAL (persistent in the file), every connection waits up to
30 s for a lock instead of failing, and transactions start ``IMMEDIATE`` (the write lock is
taken at ``BEGIN``, so two writers never deadlock upgrading a read lock). Commits keep
SQLite's default ``synchronous=FULL``: a committed intent survives a power cut.
PostgreSQL: a plain pool without a pre-ping round trip per checkout (a dropped connection
fails its statement, and the caller's transaction is not committed), and a bounded wait
for a connection (``CONNECT_TIMEOUT_S``, or the URL's ``connect_timeout``): a server that
never answers fails the start instead of hanging it.
"""

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

CONNECT_TIMEOUT_S = 10
"""Seconds to wait for a PostgreSQL connection when the URL sets no ``connect_timeout``.

The same default as DBOS's own engine, so the bot's engines and DBOS's give up together.
"""


def connect_args(url: str | sa.URL) -> dict[str, Any]:
    """The driver's connect arguments for ``url``: PostgreSQL gets a bounded connect wait."""
    parsed = sa.make_url(url)
    if parsed.drivername.startswith("postgresql") and "connect_timeout" not in parsed.query:
        return {"connect_timeout": CONNECT_TIMEOUT_S}
    return {}


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = "IMMEDIATE"
    dbapi_conn.execute("PRAGMA busy_timeout=30000")


def create_engine(url: str, *, connect: bool = True) -> sa.Engine:
    """An engine for ``url`` (``sqlite:///file`` or ``postgresql+psycopg://...``).

    ``connect=False`` opens no connection yet (nor creates a SQLite file): WAL mode is then
    left to whoever opens the database first with ``connect=True`` (the Durable engine).
    """
    engine = sa.create_engine(url, pool_pre_ping=False, connect_args=connect_args(url))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        if connect:
            enable_wal(engine)
    return engine


WAL_WAIT_S = 30.0
"""Longest wait to switch a fresh SQLite file to WAL while other processes open it too."""


def enable_wal(
    engine: sa.Engine,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    """Switch ``engine``'s SQLite file to WAL, waiting for other processes opening it.

    Changing the journal mode needs the file to itself, and SQLite answers "database is
    locked" at once instead of using the busy timeout: bots starting together on a fresh
    file failed their start. Retried with a short backoff for up to ``WAL_WAIT_S``; a file
    already in WAL (every later start) needs no switch.
    """
    deadline, pause = monotonic() + WAL_WAIT_S, 0.01
    while True:
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            return
        except sa.exc.OperationalError as exc:
            if "database is locked" not in str(exc) or monotonic() >= deadline:
                raise
        sleep(pause)  # another process holds the file for its own switch: a brief wait
        pause = min(pause * 2, 0.5)


__all__ = ["CONNECT_TIMEOUT_S", "connect_args", "create_engine"]
