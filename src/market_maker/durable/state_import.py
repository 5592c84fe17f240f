"""Move a bot from the Simple engine to the Durable engine: import its state.

The Simple engine (*Development / Backtest*) keeps a bot's ``GridState`` in a
``SqliteStore`` file; the Durable engine (*Production*) keeps the same ``GridState`` in its
application tables (``mm_state`` and the projection rows). ``read_simple_state`` reads and
verifies the bot's row of a store file without writing to it; ``import_state`` writes it
as the Durable engine's state, migrating a new database first, as ``market-maker run`` does.

Every refusal happens before anything is written and raises ``StateImportError`` (a
damaged row: the store's ``StateIntegrityError``; a database that cannot be used:
``InfrastructureError``), whose message says what was found and what to do: the store
file is missing, not a store, damaged or holds no state for this bot; a Durable bot of the
same id and symbol is running; the database already holds a state for it, or DBOS
workflows of it (a bot whose state row was removed: its new workflow ids, named after state
versions, would collide with the recorded ones). The import itself is one transaction that
re-checks the last two conditions under the bot's lock.
"""

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from market_maker.config.app import AppConfig
from market_maker.config.urls import mask_database_url
from market_maker.domain.errors import MarketMakerError
from market_maker.durable import database, migrate, repository, schema
from market_maker.durable.bot_lock import (
    BotAlreadyRunningError,
    acquire_bot_lock,
    bot_running,
)
from market_maker.durable.database_errors import database_errors
from market_maker.slots.client_ids import id_prefix
from market_maker.state.model import GridState
from market_maker.stores.sqlite import COLUMNS, SCHEMA_VERSION, SqliteStore


class StateImportError(MarketMakerError):
    """The import was refused before anything was written; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class StoredBot:
    """One row of a Simple engine store: a bot id, its symbol and its state version."""

    bot_id: str
    symbol: str
    version: int


def _describe(bots: list[StoredBot]) -> str:
    if not bots:
        return "it holds no state at all (the bot never saved)"
    held = ", ".join(f"bot_id {b.bot_id!r} on {b.symbol!r} (version {b.version})" for b in bots)
    return f"it holds {held}"


def stored_bots(path: Path) -> list[StoredBot]:
    """The bots whose state a Simple engine store file holds, read without writing.

    Raises:
        StateImportError: The file is missing, empty, not an SQLite database or not a store
            of the schema this market-maker reads.
    """
    where = f"--from {path}"
    if not path.exists():
        raise StateImportError(f"{where}: no such file; give the Simple engine's SQLite store")
    if not path.is_file():
        raise StateImportError(f"{where}: not a file; give the Simple engine's SQLite store")
    if path.stat().st_size == 0:
        raise StateImportError(f"{where}: the file is empty, not a Simple engine store")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StateImportError(f"{where}: cannot open it: {exc}") from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        columns = tuple(r[1] for r in conn.execute("PRAGMA table_info(bot_state)"))
        if version > SCHEMA_VERSION:
            raise StateImportError(
                f"{where}: the store has schema version {version}, newer than version "
                f"{SCHEMA_VERSION} that this market-maker reads: it was written by a newer "
                "release; upgrade market-maker"
            )
        if version != SCHEMA_VERSION or columns != COLUMNS:
            raise StateImportError(
                f"{where}: not a Simple engine store: expected schema version "
                f"{SCHEMA_VERSION} with table bot_state{COLUMNS}, found version {version} "
                f"with columns {columns or 'none'}; check the path"
            )
        rows = conn.execute(
            "SELECT bot_id, symbol, version FROM bot_state ORDER BY bot_id, symbol"
        ).fetchall()
    except sqlite3.Error as exc:  # not a database, damaged, unreadable
        raise StateImportError(
            f"{where}: not a readable Simple engine store: {exc}; check the path (a damaged "
            "store cannot be imported: see docs/operations_guide.md#crash-recovery)"
        ) from None
    finally:
        conn.close()
    return [StoredBot(str(b), str(s), int(v)) for b, s, v in rows]


def read_simple_state(path: Path, bot_id: str, symbol: str) -> GridState:
    """The verified state of ``bot_id`` on ``symbol`` in the Simple engine store at ``path``.

    The store's own checks apply (snapshot checksum, row against snapshot). The file must
    already be a store: nothing is created or written.

    Raises:
        StateImportError: Not a store, or no state for this bot (the message lists the bots
            the file holds).
        StateIntegrityError: The bot's row fails verification.
        StoreError: The store cannot be read.
    """
    bots = stored_bots(path)
    if not any((b.bot_id, b.symbol) == (bot_id, symbol) for b in bots):
        raise StateImportError(
            f"--from {path}: no state for bot_id {bot_id!r} on {symbol!r} (bot_id and symbol "
            f"of --config); {_describe(bots)}. Give the store and configuration of the same bot"
        )
    with SqliteStore(path, bot_id=bot_id, symbol=symbol) as store:
        state = store.load()
    assert state is not None  # the row exists: load returns it verified, or raises
    return state


DBOS_SCHEMA = {"postgresql": "dbos"}
"""Where DBOS keeps its system tables, by dialect (DBOS's default; SQLite: no schema)."""


@dataclass(frozen=True, slots=True)
class DurableSide:
    """What the Durable database already holds of a bot.

    Attributes:
        version: Version of its state in ``mm_state``, None when it has none.
        workflows: DBOS workflows whose id carries its client-order-id prefix.
    """

    version: int | None = None
    workflows: int = 0


def durable_side(config: AppConfig) -> DurableSide:
    """What the bot's Durable database holds of it already (reads only).

    A SQLite database that does not exist yet is not created.

    Raises:
        InfrastructureError: The database cannot be read.
    """
    url = config.durable.database_url
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return DurableSide()
    with database_errors(url):
        engine = sa.create_engine(url, connect_args=database.connect_args(url))
        try:
            with engine.connect() as conn:
                return _durable_side(conn, config.bot_id, config.symbol)
        finally:
            engine.dispose()


def _durable_side(conn: sa.Connection, bot_id: str, symbol: str) -> DurableSide:
    inspector = sa.inspect(conn)
    version = None
    if inspector.has_table(schema.state.name):
        c = schema.state.c
        found = conn.execute(
            sa.select(c.version).where(c.bot_id == bot_id, c.symbol == symbol)
        ).scalar_one_or_none()
        version = None if found is None else int(found)
    workflows = 0
    dbos_schema = DBOS_SCHEMA.get(conn.dialect.name)
    if inspector.has_table("workflow_status", schema=dbos_schema):
        status = sa.table("workflow_status", sa.column("workflow_uuid"), schema=dbos_schema)
        prefix = id_prefix(bot_id, symbol)
        workflows = conn.execute(
            sa.select(sa.func.count())
            .select_from(status)
            .where(status.c.workflow_uuid.startswith(prefix, autoescape=True))
        ).scalar_one()
    return DurableSide(version, int(workflows))


def _refuse_found(config: AppConfig, found: DurableSide) -> StateImportError | None:
    """The refusal for what the database holds of the bot, None when it holds nothing."""
    where = mask_database_url(config.durable.database_url)
    bot = f"bot_id {config.bot_id!r} on {config.symbol!r}"
    if found.version is not None:
        return StateImportError(
            f"{where} already holds a Durable engine state (version {found.version}) for "
            f"{bot}: nothing imported. That state is the Durable bot's own and an import "
            "never replaces it. Import into another durable.database_url, or give the bot "
            "another bot_id"
        )
    if found.workflows:
        return StateImportError(
            f"{where} holds no state for {bot} but {found.workflows} DBOS workflow(s) of "
            "it: the bot ran on this database and its state was removed. Its new decision "
            "cycles would take the ids of recorded ones (they are named after the state "
            "version), so nothing imported. Import into another durable.database_url, or "
            "give the bot another bot_id"
        )
    return None


def _refuse_running(config: AppConfig) -> StateImportError:
    return StateImportError(
        f"bot_id {config.bot_id!r} on {config.symbol!r} is running on "
        f"{mask_database_url(config.durable.database_url)}: nothing imported. Stop it first "
        "(`market-maker stop --config ...`); a running bot's state is never replaced"
    )


def check_import(config: AppConfig) -> None:
    """Refuse unless the Durable side may receive the bot's state (reads only).

    Raises:
        StateImportError: The bot runs, its database already holds its state or DBOS
            workflows of it, or a SQLite database's folder does not exist.
        InfrastructureError: The database cannot be read.
    """
    url = config.durable.database_url
    parsed = sa.make_url(url)
    folder = Path(parsed.database or ".").parent
    if parsed.get_backend_name() == "sqlite" and parsed.database and not folder.is_dir():
        raise StateImportError(
            f"durable.database_url: the folder {folder} of {mask_database_url(url)} does "
            "not exist: nothing imported. Create it, or fix the URL"
        )
    with database_errors(url):
        running = bot_running(url, config.bot_id, config.symbol)
    if running:
        raise _refuse_running(config)
    refusal = _refuse_found(config, durable_side(config))
    if refusal is not None:
        raise refusal


def import_state(config: AppConfig, state: GridState) -> None:
    """Write ``state`` as the Durable engine's state of the bot of ``config``.

    Holds the bot's lock for the import (a ``market-maker run`` starting meanwhile is
    refused), migrates the application tables as a start does, and writes the snapshot
    and all its projection rows (slots, current and retired orders) in one transaction.
    The fill history is not in a Simple store, so ``mm_fills`` starts empty.

    Raises:
        StateImportError: The bot runs, or the database already holds a state or DBOS
            workflows of it.
        InfrastructureError: The database cannot be used.
    """
    if (state.bot_id, state.symbol) != (config.bot_id, config.symbol):
        raise StateImportError(
            f"the state is bot_id {state.bot_id!r} on {state.symbol!r}, the configuration "
            f"{config.bot_id!r} on {config.symbol!r}; give the store of the configured bot"
        )
    url = config.durable.database_url
    with database_errors(url):
        try:
            lock = acquire_bot_lock(url, config.bot_id, config.symbol, wait_s=0)
        except BotAlreadyRunningError:
            raise _refuse_running(config) from None
        try:
            engine = database.create_engine(url)
            try:
                migrate.upgrade(engine)
                with engine.begin() as conn:
                    found = _durable_side(conn, config.bot_id, config.symbol)
                    if (refusal := _refuse_found(config, found)) is not None:
                        raise refusal
                    state.book.take_unsaved()  # every row is written below, not only changes
                    repository.save(
                        conn,
                        state,
                        changed=list(state.book.slots),
                        retired=list(state.book.retired),
                        fills=[],
                        saved_at_ms=time.time_ns() // 1_000_000,
                    )
            finally:
                engine.dispose()
        finally:
            lock.release()


__all__ = [
    "DurableSide",
    "StateImportError",
    "StoredBot",
    "check_import",
    "durable_side",
    "import_state",
    "read_simple_state",
    "stored_bots",
]
