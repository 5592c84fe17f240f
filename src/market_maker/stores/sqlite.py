"""SQLite store: the bot state in one row of a local database file (Simple engine store).

Each ``save`` writes the whole checksummed snapshot (``market_maker.state.snapshot``) in one
``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction, so after a crash at any instruction ``load``
finds either the previous state or the new one, never a mix. ``load`` verifies the snapshot
and that the row agrees with it, and raises ``StateIntegrityError`` for a present-but-bad row:
a corrupted state is never reported as "no state", because starting fresh next to live
orders would orphan them.

Settings, and why:

* ``journal_mode=WAL``: a commit appends to the write-ahead log (its frames are checksummed,
  so a torn append is ignored on recovery), and readers such as a status command do not block
  the writer.
* ``synchronous=FULL`` (default): the log is fsynced at every commit, so a ``save`` that has
  returned survives power loss. ``synchronous="NORMAL"`` fsyncs only at checkpoints: still
  atomic and never corrupt, and it survives a crash of the process, but the last few saves
  may be lost on power loss. Choose it only where that is acceptable (backtests, research);
  see ``docs/stores.md`` for the measured cost of each.

Schema (``PRAGMA user_version`` = ``SCHEMA_VERSION``): one ``bot_state`` row per bot and
symbol, so several bots can share a file. A file with a newer schema is refused.
SQLite errors are translated at this edge into ``StoreError`` with what to do.
"""

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Literal, get_args

from market_maker.domain.errors import StateIntegrityError
from market_maker.pb import state_pb2
from market_maker.state import snapshot
from market_maker.state.model import GridState
from market_maker.stores.base import (
    REFUSE,
    StoreCorruptError,
    StoreError,
    check_version_order,
)

SCHEMA_VERSION = 1
"""Version of the table layout, kept in ``PRAGMA user_version``."""

MAX_VERSION = 2**63 - 1
"""Highest ``GridState.version`` SQLite's signed 64-bit INTEGER can hold."""


Synchronous = Literal["FULL", "NORMAL"]
"""``FULL``: a returned save survives power loss. ``NORMAL``: it survives a process crash."""

COLUMNS = ("bot_id", "symbol", "version", "checksum", "state", "saved_at_ms")

_CREATE = """
CREATE TABLE bot_state (
    bot_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (typeof(version) = 'integer' AND version >= 0),
    checksum TEXT NOT NULL CHECK (typeof(checksum) = 'text'),
    state BLOB NOT NULL CHECK (typeof(state) = 'blob'),
    saved_at_ms INTEGER NOT NULL,
    PRIMARY KEY (bot_id, symbol)
)
"""
# The cast reads whatever a tampered row holds as bytes (a TEXT value may not even be UTF-8);
# ``typeof`` tells whether it was a BLOB.
_SELECT = """
SELECT version, checksum, CAST(state AS BLOB), typeof(state)
FROM bot_state WHERE bot_id = ? AND symbol = ?
"""
_UPSERT = """
INSERT INTO bot_state (bot_id, symbol, version, checksum, state, saved_at_ms)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (bot_id, symbol) DO UPDATE SET
    version = excluded.version,
    checksum = excluded.checksum,
    state = excluded.state,
    saved_at_ms = excluded.saved_at_ms
"""

# What to do about an SQLite error, by primary result code (extended codes share the prefix).
_HINTS = {
    "SQLITE_NOTADB": f"the file is not a SQLite database; check the path; {REFUSE}",
    "SQLITE_CORRUPT": f"the database file is damaged; {REFUSE}",
    "SQLITE_CANTOPEN": "check that the directory exists and that the file is not a directory",
    "SQLITE_READONLY": (
        "the file, or its directory (which holds the -wal and -shm files), is not writable: "
        "fix the permissions"
    ),
    "SQLITE_PERM": "the operating system denied access: fix the permissions",
    "SQLITE_BUSY": (
        "another process held the database lock longer than the busy timeout: is another "
        "bot writing to this file? (one process per bot and symbol)"
    ),
    "SQLITE_LOCKED": "another connection in this process holds the lock",
    "SQLITE_FULL": "the disk is full: free space (the last committed state is intact)",
    "SQLITE_IOERR": "the operating system reported an I/O error: check the disk",
}
_CORRUPT = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}


def wall_clock_ms() -> int:
    """Milliseconds since the epoch (the default clock for ``saved_at_ms``)."""
    return time.time_ns() // 1_000_000


class SqliteStore:
    """The state of one bot on one symbol, in one row of an SQLite file in WAL mode.

    Safe to call from several threads (calls are serialised); use one store, in one process,
    per bot and symbol. Usable as a context manager, which closes it.
    """

    def __init__(
        self,
        path: Path,
        *,
        bot_id: str,
        symbol: str,
        clock: Callable[[], int] = wall_clock_ms,
        synchronous: Synchronous = "FULL",
        busy_timeout_s: float = 5.0,
    ) -> None:
        """Open (creating if missing) the store file and check its schema.

        Args:
            path: The database file. A missing or empty file becomes a new store.
            bot_id: Bot whose row this store reads and writes.
            symbol: Unified symbol of that row.
            clock: Milliseconds since the epoch, recorded as ``saved_at_ms``.
            synchronous: ``"FULL"`` (default): a returned save survives power loss.
                ``"NORMAL"``: cheaper, still atomic, but the last saves may be lost on power
                loss; for backtests and research only.
            busy_timeout_s: How long to wait for another connection's write lock.

        Raises:
            StoreError: The file cannot be opened or is not a store of a known schema.
        """
        self.path = Path(path)
        self.bot_id = bot_id
        self.symbol = symbol
        self.synchronous: Synchronous = synchronous
        self._clock = clock
        self._lock = threading.Lock()
        self._where = f"SQLite store {self.path} (bot {bot_id!r} on {symbol!r})"
        if synchronous not in get_args(Synchronous):
            raise StoreError(
                f"{self._where}: synchronous must be one of {', '.join(get_args(Synchronous))}, "
                f"found {synchronous!r}"
            )
        try:
            conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._translate(exc, "open the file") from exc
        try:
            self._open(conn)
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    # -- the Store interface ---------------------------------------------------------------

    def load(self) -> GridState | None:
        """Return the verified stored state, or ``None`` when this bot has no row.

        Raises:
            StateIntegrityError: The row is present but its snapshot fails verification or
                disagrees with the row (checksum, bot, symbol or version).
            StoreError: The database cannot be read.
        """
        with self._connection("load the state") as conn:
            row = conn.execute(_SELECT, (self.bot_id, self.symbol)).fetchone()
        return None if row is None else self._verify(*row)

    def save(self, state: GridState) -> None:
        """Replace the stored state with ``state`` in one transaction.

        Raises:
            StaleStateError: The stored version is higher, or equal with different content.
            StoreError: The state belongs to another bot or symbol, its version does not fit
                SQLite, or the database cannot be written.
        """
        if (state.bot_id, state.symbol) != (self.bot_id, self.symbol):
            raise StoreError(
                f"{self._where}: refusing to save the state of bot {state.bot_id!r} on "
                f"{state.symbol!r} here; open a store for that bot and symbol"
            )
        if not 0 <= state.version <= MAX_VERSION:
            raise StoreError(
                f"{self._where}: state version must be within 0..{MAX_VERSION} (SQLite "
                f"INTEGER), found {state.version}"
            )
        sealed = snapshot.seal(state)
        data = sealed.SerializeToString(deterministic=True)  # == snapshot.serialize(state)
        with self._connection("save the state") as conn, self._transaction(conn):
            row = conn.execute(_SELECT, (self.bot_id, self.symbol)).fetchone()
            if row is not None:
                check_version_order(
                    where=self._where,
                    stored_version=row[0],
                    stored=row[2],
                    new_version=state.version,
                    new=data,
                )
                if row[0] == state.version:
                    return  # the same bytes are already stored
            values = (self.bot_id, self.symbol, state.version, sealed.checksum, data)
            conn.execute(_UPSERT, (*values, self._clock()))

    def close(self) -> None:
        """Close the database (checkpointing the log when last). Idempotent."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error as exc:
                raise self._translate(exc, "close the file") from exc

    def __enter__(self) -> "SqliteStore":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _open(self, conn: sqlite3.Connection) -> None:
        """Set the pragmas, then create the schema or check the existing one."""
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"{self._where}: expected journal_mode wal, SQLite kept {mode!r}; the file "
                    "system may not support WAL (e.g. a network share): use a local disk"
                )
            conn.execute(f"PRAGMA synchronous={self.synchronous}")  # validated: a Literal
            # macOS: fsync does not flush the drive's cache, F_FULLFSYNC does. No-op elsewhere.
            conn.execute(f"PRAGMA fullfsync={'ON' if self.synchronous == 'FULL' else 'OFF'}")
            if self._schema_version(conn) == 0:
                with self._transaction(conn):  # re-read under the write lock: a racing opener
                    if self._schema_version(conn) == 0:
                        self._create(conn)
            self._check_schema(conn)
        except sqlite3.Error as exc:
            raise self._translate(exc, "open the file") from exc

    @staticmethod
    def _schema_version(conn: sqlite3.Connection) -> int:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        return version

    def _create(self, conn: sqlite3.Connection) -> None:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        if tables:
            raise StoreError(
                f"{self._where}: the database has tables {', '.join(sorted(tables))} but no "
                "market-maker schema version, so it is not a state store; use another path"
            )
        conn.execute(_CREATE)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        version = self._schema_version(conn)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self._where}: the file has store schema version {version}, newer than "
                f"version {SCHEMA_VERSION} that this market-maker understands: it was written "
                "by a newer release; upgrade market-maker (do not downgrade a store)"
            )
        columns = tuple(r[1] for r in conn.execute("PRAGMA table_info(bot_state)"))
        if version != SCHEMA_VERSION or columns != COLUMNS:
            raise StoreError(
                f"{self._where}: expected schema version {SCHEMA_VERSION} with table bot_state"
                f"{COLUMNS}, found version {version} with columns {columns or 'none'}; the "
                "file was changed by something other than market-maker"
            )

    @contextmanager
    def _connection(self, doing: str) -> Iterator[sqlite3.Connection]:
        """Hold the lock on the open connection; translate SQLite errors into ours."""
        with self._lock:
            if self._conn is None:
                raise StoreError(f"{self._where} is closed; cannot {doing}")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._translate(exc, doing) from exc

    @staticmethod
    @contextmanager
    def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` (take the write lock now, so the read-check-write is atomic)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):  # the original error is the one to report
                    conn.execute("ROLLBACK")
            raise

    def _verify(self, version: object, checksum: object, blob: bytes, kind: str) -> GridState:
        """Decode the row's snapshot and check the row agrees with it."""
        if kind != "blob":
            raise StateIntegrityError(
                f"{self._where}: expected the state column to hold a BLOB, found {kind.upper()}; "
                f"{REFUSE}"
            )
        try:
            state = snapshot.load(blob)
        except StateIntegrityError as exc:
            # The snapshot's own message ends with its refusal; ours names the runbook page.
            detail = str(exc).split("; refusing to start", 1)[0]
            raise StateIntegrityError(
                f"{self._where}: the stored state fails verification: {detail}; {REFUSE}"
            ) from exc
        embedded = state_pb2.State.FromString(blob).checksum
        mismatches = []
        if checksum != embedded:
            mismatches.append(
                f"the checksum column holds {checksum!r} but the state's embedded checksum is "
                f"{embedded!r}"
            )
        if (state.bot_id, state.symbol) != (self.bot_id, self.symbol):
            mismatches.append(
                f"the row holds the state of bot {state.bot_id!r} on {state.symbol!r}"
            )
        if version != state.version:
            mismatches.append(
                f"the version column holds {version!r} but the state's version is {state.version}"
            )
        if mismatches:
            raise StateIntegrityError(f"{self._where}: {'; '.join(mismatches)}; {REFUSE}")
        return state

    def _translate(self, exc: sqlite3.Error, doing: str) -> StoreError:
        """Our error for an SQLite error: what failed, SQLite's words, and what to do."""
        name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
        primary = "_".join(name.split("_")[:2])
        hint = _HINTS.get(primary, "see the SQLite error above")
        cls = StoreCorruptError if primary in _CORRUPT else StoreError
        return cls(f"{self._where}: cannot {doing}: {exc} ({name}); {hint}")
