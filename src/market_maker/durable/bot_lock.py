"""One process per bot: a lock held for the process's life, released by its death.

A bot (a bot id on a symbol) writes its state, its orders and its DBOS workflows; two
processes of the same bot would place each other's orders twice and overwrite each other's
state. ``acquire_bot_lock`` takes the bot's lock before the Durable engine touches anything
and refuses a second process with ``BotAlreadyRunningError``. The lock is one the operating
system or the database server releases when the holder dies, so ``kill -9`` leaves nothing
stale behind:

* **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a 64-bit key
  derived from the bot id and symbol, held by a dedicated connection kept open (in
  autocommit, so it never sits idle in a transaction). The server releases it when the
  connection closes, also when the process dies. The connection's ``application_name``
  names the holder (bot, symbol, pid, host), which the refusal reports.
* **SQLite**: ``fcntl.flock`` on a sidecar file next to the database,
  ``<database>.<bot_id>-<SYMBOLCODE>.lock``, holding the holder's pid and host. The kernel
  releases it when the file is closed or the process dies. The file itself stays (deleting
  a lock file races with a process that opened it). Local file systems only: ``flock`` is
  not reliable on network file systems.
* An in-memory SQLite database is private to its process: nothing to lock.

Bots with different ids or symbols use different keys and files, so any number of them run
side by side on one database.
"""

import fcntl
import hashlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from market_maker.domain.errors import MarketMakerError
from market_maker.durable.database import connect_args
from market_maker.slots.client_ids import id_prefix

_PG_NAME_MAX = 63  # PostgreSQL truncates application_name to NAMEDATALEN - 1 bytes


class BotAlreadyRunningError(MarketMakerError):
    """Another process already runs this bot (same bot id and symbol) on this database."""


def lock_key(bot_id: str, symbol: str) -> int:
    """The bot's advisory-lock key: a signed 64-bit number from its bot id and symbol."""
    digest = hashlib.sha256(f"market-maker/bot/{bot_id}/{symbol}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def holder_name(bot_id: str, symbol: str) -> str:
    """How a lock holder describes itself: bot, symbol, pid and host."""
    return f"market-maker {bot_id} {symbol} pid {os.getpid()} on {socket.gethostname()}"


class BotLock:
    """The held lock of one bot; ``release`` gives it up (idempotent)."""

    def __init__(self, release: Callable[[], None] | None = None) -> None:
        self._release = release

    @property
    def held(self) -> bool:
        """True until released (an in-memory database's lock is never held)."""
        return self._release is not None

    def release(self) -> None:
        """Give the lock up; the next process of this bot may start."""
        release, self._release = self._release, None
        if release is not None:
            release()


RELEASE_WAIT_S = 5.0
"""How long a start waits for a held lock to be released before it refuses.

A process restarted right after its predecessor was killed may find the lock still held
for a moment: PostgreSQL ends the dead client's session only once it notices the closed
socket. A live holder is refused after this wait.
"""


def acquire_bot_lock(
    database_url: str, bot_id: str, symbol: str, *, wait_s: float = RELEASE_WAIT_S
) -> BotLock:
    """Take the lock of ``bot_id`` on ``symbol`` in ``database_url``'s database.

    Raises ``BotAlreadyRunningError`` (naming the bot, the database and the holder) when
    another process still holds it after ``wait_s`` seconds.
    """
    url = sa.engine.make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite" and (
        not url.database or url.database == ":memory:" or url.database.startswith("file::")
    ):
        return BotLock()
    if backend not in ("postgresql", "sqlite"):
        raise MarketMakerError(
            f"durable.database_url: expected a sqlite:/// file or a postgresql+psycopg:// "
            f"URL, found {url.render_as_string(hide_password=True)}"
        )
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if backend == "postgresql":
                return _postgres_lock(url, bot_id, symbol)
            assert url.database is not None
            return _file_lock(url, Path(url.database), bot_id, symbol)
        except BotAlreadyRunningError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.1)  # polling the lock: nothing signals its release to this process


def _refusal(url: sa.URL, bot_id: str, symbol: str, holder: str) -> BotAlreadyRunningError:
    where = url.render_as_string(hide_password=True)
    return BotAlreadyRunningError(
        f"bot {bot_id} on {symbol} is already running on {where}: another process holds "
        f"its lock ({holder}). Stop that process first (SIGTERM lets it save and exit), or "
        "give this one another bot_id or symbol; bots with different ids or symbols may "
        "share the database."
    )


def _postgres_lock(url: sa.URL, bot_id: str, symbol: str) -> BotLock:
    name = holder_name(bot_id, symbol).encode()[:_PG_NAME_MAX].decode(errors="ignore")
    engine = sa.create_engine(
        url, poolclass=NullPool, connect_args={**connect_args(url), "application_name": name}
    ).execution_options(isolation_level="AUTOCOMMIT")
    key = lock_key(bot_id, symbol)
    conn = engine.connect()
    try:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        if not got:
            raise _refusal(url, bot_id, symbol, _postgres_holder(conn, key))
    except BaseException:
        conn.close()
        engine.dispose()
        raise

    def release() -> None:
        try:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        except sa.exc.DBAPIError:
            pass  # the connection is gone, and the lock with it
        finally:
            conn.close()
            engine.dispose()

    return BotLock(release)


def _postgres_holder(conn: sa.Connection, key: int) -> str:
    """Who holds ``key``: the holder's ``application_name`` and backend pid, if visible."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute(
        sa.text(
            "SELECT a.application_name, a.pid FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
        ),
        {"hi": unsigned >> 32, "lo": unsigned & 0xFFFF_FFFF},
    ).first()
    if row is None:
        return "holder not visible to this database user"
    return f"{row.application_name or 'unnamed client'}, server backend pid {row.pid}"


def _file_lock(url: sa.URL, database: Path, bot_id: str, symbol: str) -> BotLock:
    path = database.with_name(f"{database.name}.{id_prefix(bot_id, symbol).rstrip('-')}.lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise MarketMakerError(
            f"durable.database_url: cannot open the bot's lock file {path} next to the "
            f"database ({exc.strerror}); check that the directory exists and is writable"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "holder unknown"
        os.close(fd)
        raise _refusal(url, bot_id, symbol, f"{holder}; lock file {path}") from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, holder_name(bot_id, symbol).encode() + b"\n", 0)

    def release() -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return BotLock(release)


def bot_running(database_url: str, bot_id: str, symbol: str) -> bool:
    """Whether a process runs ``bot_id`` on ``symbol`` now: its lock is held.

    Takes the lock for an instant when it is free (a bot starting at that very moment
    waits for it, see ``RELEASE_WAIT_S``). A SQLite database that does not exist yet, or
    an in-memory one, runs no bot.
    """
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return False
    try:
        lock = acquire_bot_lock(database_url, bot_id, symbol, wait_s=0)
    except BotAlreadyRunningError:
        return True
    lock.release()
    return False


__all__ = ["BotAlreadyRunningError", "BotLock", "acquire_bot_lock", "bot_running", "lock_key"]
