"""State stores against real SQLite files: round trips, integrity, atomicity under SIGKILL."""

import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from market_maker.domain.enums import Side, SlotStatus
from market_maker.domain.errors import StateIntegrityError
from market_maker.state import snapshot
from market_maker.state.model import GridState
from market_maker.stores.base import (
    REFUSE,
    StaleStateError,
    Store,
    StoreCorruptError,
    StoreError,
)
from market_maker.stores.memory import MemoryStore
from market_maker.stores.sqlite import (
    COLUMNS,
    MAX_VERSION,
    SCHEMA_VERSION,
    SqliteStore,
    Synchronous,
)
from support.states import BOT, QTY, SYMBOL, build, grid_state, place, trade_round

TESTS_DIR = Path(__file__).resolve().parents[1]
NOW_MS = 1_750_000_000_000
RUNBOOK_LINK = "see docs/operations_guide.md#crash-recovery"

StoreFactory = Callable[[], Store]


def clock() -> int:
    return NOW_MS


def open_sqlite(
    path: Path,
    *,
    bot_id: str = BOT,
    symbol: str = SYMBOL,
    synchronous: Synchronous = "FULL",
    busy_timeout_s: float = 5.0,
) -> SqliteStore:
    return SqliteStore(
        path,
        bot_id=bot_id,
        symbol=symbol,
        clock=clock,
        synchronous=synchronous,
        busy_timeout_s=busy_timeout_s,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def sqlite_store(db: Path) -> Iterator[SqliteStore]:
    with open_sqlite(db) as store:
        yield store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, db: Path) -> Iterator[Store]:
    """Each store, through the ``Store`` protocol only."""
    opened: Store = MemoryStore() if request.param == "memory" else open_sqlite(db)
    yield opened
    opened.close()


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, as a tamperer or another tool would open the file."""
    return sqlite3.connect(path, isolation_level=None)


def tamper(path: Path, sql: str, *params: object) -> None:
    conn = raw(path)
    try:
        assert conn.execute(sql, params).rowcount == 1
    finally:
        conn.close()


def blob_of(path: Path, bot_id: str = BOT) -> bytes:
    conn = raw(path)
    try:
        row = conn.execute("SELECT state FROM bot_state WHERE bot_id = ?", (bot_id,)).fetchone()
    finally:
        conn.close()
    data: bytes = row[0]
    return data


def same(a: GridState | None, b: GridState) -> bool:
    """Equal states: the same canonical snapshot bytes."""
    return a is not None and snapshot.serialize(a) == snapshot.serialize(b)


# -- behaviour shared by every store ----------------------------------------------------------


def test_both_stores_implement_the_store_protocol(db: Path) -> None:
    stores: list[Store] = [MemoryStore(), open_sqlite(db)]  # type-checked: structural match
    for store in stores:
        for name in ("load", "save", "close", "__enter__", "__exit__"):
            assert callable(getattr(store, name)), (type(store).__name__, name)
        store.close()


def test_a_fresh_store_has_no_state(store: Store) -> None:
    assert store.load() is None


def test_the_saved_state_loads_back_identically(store: Store) -> None:
    state = grid_state(version=3, variant=5)
    store.save(state)
    loaded = store.load()
    assert loaded is not None and same(loaded, state)
    assert loaded is not state and loaded.book is not state.book
    assert loaded.book.inventory == state.book.inventory
    assert loaded.book.realized_pnl == state.book.realized_pnl > 0


def test_a_higher_version_replaces_the_state(store: Store) -> None:
    store.save(grid_state(version=1, variant=0))
    newer = grid_state(version=2, variant=4)
    store.save(newer)
    assert same(store.load(), newer)


def test_mutating_the_saved_or_loaded_state_changes_nothing_stored(store: Store) -> None:
    state = grid_state(version=1)
    expected = snapshot.serialize(state)
    store.save(state)
    state.version = 99
    state.book.realized_pnl += 1000
    trade_round(state.book, build()[1], 50, 7)
    loaded = store.load()
    assert loaded is not None
    assert snapshot.serialize(loaded) == expected
    loaded.last_price = None
    loaded.book.slots.clear()
    again = store.load()
    assert again is not None and snapshot.serialize(again) == expected


def test_a_lower_version_is_refused(store: Store) -> None:
    current = grid_state(version=5, variant=1)
    store.save(current)
    with pytest.raises(StaleStateError, match=r"version 4 over the stored version 5.*another"):
        store.save(grid_state(version=4, variant=2))
    assert same(store.load(), current)


def test_resaving_the_same_state_is_idempotent(store: Store) -> None:
    state = grid_state(version=7)
    store.save(state)
    store.save(state)
    store.save(grid_state(version=7))  # rebuilt: equal bytes
    assert same(store.load(), state)


def test_the_same_version_with_other_content_is_refused(store: Store) -> None:
    store.save(grid_state(version=7, variant=1))
    with pytest.raises(StaleStateError, match="version 7 is already stored with different"):
        store.save(grid_state(version=7, variant=2))
    assert same(store.load(), grid_state(version=7, variant=1))


def test_close_is_idempotent_and_a_closed_store_refuses_work(store: Store) -> None:
    store.save(grid_state())
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.load()
    with pytest.raises(StoreError, match="closed"):
        store.save(grid_state(version=2))


def test_stores_are_context_managers(db: Path) -> None:
    with MemoryStore() as memory:
        memory.save(grid_state())
    with pytest.raises(StoreError, match="closed"):
        memory.load()
    with open_sqlite(db) as sqlite_store:
        sqlite_store.save(grid_state())
    with pytest.raises(StoreError, match="closed"):
        sqlite_store.load()


# -- SQLite: the file ---------------------------------------------------------------------------


def test_the_file_is_in_wal_mode_with_the_current_schema(db: Path) -> None:
    with open_sqlite(db) as store:
        store.save(grid_state())
        conn = raw(db)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            columns = tuple(r[1] for r in conn.execute("PRAGMA table_info(bot_state)"))
            assert columns == COLUMNS
            pk = [r[1] for r in conn.execute("PRAGMA table_info(bot_state)") if r[5]]
            assert pk == ["bot_id", "symbol"]
        finally:
            conn.close()


def test_the_row_holds_the_snapshot_its_checksum_and_the_injected_time(db: Path) -> None:
    state = grid_state(version=12)
    with open_sqlite(db) as store:
        store.save(state)
    conn = raw(db)
    try:
        row = conn.execute("SELECT * FROM bot_state").fetchall()
    finally:
        conn.close()
    assert row == [
        (BOT, SYMBOL, 12, snapshot.seal(state).checksum, snapshot.serialize(state), NOW_MS)
    ]


def test_saved_at_defaults_to_the_wall_clock_in_milliseconds(db: Path) -> None:
    before = time.time_ns() // 1_000_000
    with SqliteStore(db, bot_id=BOT, symbol=SYMBOL) as store:
        store.save(grid_state())
    after = time.time_ns() // 1_000_000
    conn = raw(db)
    try:
        (saved_at,) = conn.execute("SELECT saved_at_ms FROM bot_state").fetchone()
    finally:
        conn.close()
    assert before <= saved_at <= after


def test_an_idempotent_resave_does_not_rewrite_the_row(db: Path) -> None:
    times = iter([1, 2])
    state = grid_state()
    with SqliteStore(db, bot_id=BOT, symbol=SYMBOL, clock=lambda: next(times)) as store:
        store.save(state)
        store.save(state)
    conn = raw(db)
    try:
        assert conn.execute("SELECT saved_at_ms FROM bot_state").fetchall() == [(1,)]
    finally:
        conn.close()


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_a_restart_continues_with_the_same_slots_orders_and_pnl(
    db: Path, synchronous: Synchronous
) -> None:
    state, exchange = build(version=4, variant=6)
    with open_sqlite(db, synchronous=synchronous) as store:
        store.save(state)
    with open_sqlite(db, synchronous=synchronous) as store:  # the restart
        resumed = store.load()
    assert resumed is not None
    assert resumed.book.slots == state.book.slots
    assert resumed.book.retired == state.book.retired
    assert resumed.book.order_seq == state.book.order_seq
    assert (resumed.book.realized_pnl, resumed.book.fees_paid, resumed.book.inventory) == (
        state.book.realized_pnl,
        state.book.fees_paid,
        state.book.inventory,
    )
    # Both books go on trading against the same exchange and stay identical: the resumed
    # one books fills of orders sent before the restart and continues the id sequence.
    updates = exchange.move_to(min(state.book.slots))
    assert any(u.last_fill_qty for u in updates)
    for update in updates:
        assert state.book.apply_update(update) == resumed.book.apply_update(update)
    free = next(s.level for s in state.book if s.status is SlotStatus.FREE and not s.position_qty)
    action = place(state.book, free, Side.BUY, QTY, free)
    assert place(resumed.book, free, Side.BUY, QTY, free) == action
    for book in (state.book, resumed.book):
        book.record_intent(action)
    assert action.place is not None
    ack = exchange.place(action.place)
    assert state.book.apply_update(ack) == resumed.book.apply_update(ack)
    state.version = resumed.version = 5
    assert same(resumed, state)


def test_several_bots_share_one_file(db: Path) -> None:
    states = {
        (BOT, SYMBOL): grid_state(version=3, variant=1),
        ("other", SYMBOL): grid_state(bot_id="other", version=1, variant=2),
        (BOT, "ETH/USDT"): grid_state(symbol="ETH/USDT", version=9, variant=3),
    }
    stores = {key: open_sqlite(db, bot_id=key[0], symbol=key[1]) for key in states}
    try:
        for key, store in stores.items():
            assert store.load() is None
            store.save(states[key])
        stores[(BOT, SYMBOL)].save(grid_state(version=4, variant=5))
        states[(BOT, SYMBOL)] = grid_state(version=4, variant=5)
        for key, store in stores.items():
            assert same(store.load(), states[key]), key
    finally:
        for store in stores.values():
            store.close()


def test_a_store_refuses_another_bots_state(sqlite_store: SqliteStore) -> None:
    with pytest.raises(StoreError, match=r"state of bot 'other' on 'BTC/USDT' here"):
        sqlite_store.save(grid_state(bot_id="other"))
    with pytest.raises(StoreError, match=r"state of bot 'st1' on 'ETH/USDT' here"):
        sqlite_store.save(grid_state(symbol="ETH/USDT"))
    assert sqlite_store.load() is None


def test_a_second_writer_of_the_same_bot_is_refused(db: Path) -> None:
    """Two processes resumed from version 1; the second one's next save is refused."""
    with open_sqlite(db) as first, open_sqlite(db) as second:
        first.save(grid_state(version=1))
        copy = second.load()
        assert copy is not None
        first.save(grid_state(version=2, variant=3))
        copy.version = 2
        copy.last_price = None
        with pytest.raises(StaleStateError, match="version 2 is already stored with different"):
            second.save(copy)
        copy.version = 1
        with pytest.raises(StaleStateError, match="version 1 over the stored version 2"):
            second.save(copy)
        assert same(second.load(), grid_state(version=2, variant=3))


def test_a_version_beyond_sqlite_integers_is_refused(sqlite_store: SqliteStore) -> None:
    with pytest.raises(StoreError, match=rf"within 0\.\.{MAX_VERSION}.*found {MAX_VERSION + 1}"):
        sqlite_store.save(grid_state(version=MAX_VERSION + 1))
    sqlite_store.save(grid_state(version=MAX_VERSION))
    loaded = sqlite_store.load()
    assert loaded is not None and loaded.version == MAX_VERSION


def test_a_writer_holding_the_lock_too_long_is_reported(db: Path) -> None:
    with open_sqlite(db, busy_timeout_s=0.0) as store:
        other = raw(db)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match=r"cannot save.*SQLITE_BUSY.*another process"):
                store.save(grid_state())
            other.execute("ROLLBACK")
        finally:
            other.close()
        store.save(grid_state())  # the store recovered: no transaction left open
        assert same(store.load(), grid_state())


def test_an_unknown_synchronous_setting_is_refused(db: Path) -> None:
    with pytest.raises(StoreError, match=r"synchronous must be one of FULL, NORMAL, found 'OFF'"):
        open_sqlite(db, synchronous="OFF")  # type: ignore[arg-type]


# -- SQLite: refusing tampered or corrupted state -------------------------------------------------


def saved(db: Path, state: GridState | None = None) -> GridState:
    state = state or grid_state(version=5, variant=2)
    with open_sqlite(db) as store:
        store.save(state)
    return state


def refused_load(db: Path) -> str:
    """Load through a fresh store; return the message of the integrity error it must raise."""
    with open_sqlite(db) as store, pytest.raises(StateIntegrityError) as info:
        store.load()
    message = str(info.value)
    assert str(db) in message
    assert f"bot {BOT!r} on {SYMBOL!r}" in message
    assert REFUSE in message and RUNBOOK_LINK in message
    return message


@pytest.mark.parametrize("offset", [0, 17, 100, 1000, -100, -1])
def test_a_flipped_byte_in_the_state_is_refused(db: Path, offset: int) -> None:
    saved(db)
    blob = bytearray(blob_of(db))
    blob[offset] ^= 0x20
    tamper(db, "UPDATE bot_state SET state = ?", bytes(blob))
    message = refused_load(db)
    assert "stored state fails verification" in message


def test_a_changed_checksum_column_is_refused(db: Path) -> None:
    state = saved(db)
    tamper(db, "UPDATE bot_state SET checksum = ?", "0" * 64)
    message = refused_load(db)
    assert f"checksum column holds {'0' * 64!r}" in message
    assert snapshot.seal(state).checksum in message


def test_another_bots_state_swapped_into_the_row_is_refused(db: Path) -> None:
    other = grid_state(bot_id="other", version=5, variant=2)
    saved(db)
    tamper(
        db,
        "UPDATE bot_state SET state = ?, checksum = ? WHERE bot_id = ?",
        snapshot.serialize(other),
        snapshot.seal(other).checksum,
        BOT,
    )
    message = refused_load(db)
    assert "row holds the state of bot 'other' on 'BTC/USDT'" in message


def test_a_changed_version_column_is_refused(db: Path) -> None:
    saved(db)
    tamper(db, "UPDATE bot_state SET version = 6")
    assert "version column holds 6 but the state's version is 5" in refused_load(db)


def test_an_older_state_put_back_in_the_row_is_refused(db: Path) -> None:
    old = grid_state(version=4, variant=1)
    saved(db, old)
    old_row = (snapshot.serialize(old), snapshot.seal(old).checksum)
    saved(db, grid_state(version=5, variant=2))
    tamper(db, "UPDATE bot_state SET state = ?, checksum = ?", *old_row)
    assert "version column holds 5 but the state's version is 4" in refused_load(db)


def test_a_state_column_that_is_not_a_blob_is_refused(db: Path) -> None:
    saved(db)
    conn = raw(db)
    try:
        conn.execute("PRAGMA ignore_check_constraints = ON")  # what a tamperer can do
        conn.execute("UPDATE bot_state SET state = CAST(state AS TEXT)")
    finally:
        conn.close()
    assert "expected the state column to hold a BLOB, found TEXT" in refused_load(db)


def test_a_truncated_file_is_refused(db: Path) -> None:
    saved(db)
    data = db.read_bytes()
    assert len(data) >= 4 * 4096  # schema, table and the state's overflow pages
    db.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreCorruptError) as info, open_sqlite(db) as store:
        store.load()
    message = str(info.value)
    assert str(db) in message and "malformed" in message and RUNBOOK_LINK in message
    assert isinstance(info.value, StoreError) and isinstance(info.value, StateIntegrityError)


def test_a_garbage_file_is_refused(db: Path) -> None:
    db.write_bytes(b"grid bot notes, not a database\n" * 200)
    with pytest.raises(StoreError, match=r"not a database \(SQLITE_NOTADB\); the file is not a"):
        open_sqlite(db)
    assert db.read_bytes() == b"grid bot notes, not a database\n" * 200  # left untouched


def test_an_empty_file_is_a_new_store(db: Path) -> None:
    """SQLite treats a zero-byte file as an empty database (see docs/stores.md)."""
    db.touch()
    with open_sqlite(db) as store:
        assert store.load() is None


def test_a_newer_schema_is_refused(db: Path) -> None:
    saved(db)
    conn = raw(db)
    try:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    finally:
        conn.close()
    with pytest.raises(StoreError, match=r"schema version 2, newer than version 1.*upgrade"):
        open_sqlite(db)


def test_a_database_of_something_else_is_refused(db: Path) -> None:
    conn = raw(db)
    try:
        conn.execute("CREATE TABLE workflow_status (id TEXT)")
    finally:
        conn.close()
    with pytest.raises(StoreError, match=r"tables workflow_status but no market-maker schema"):
        open_sqlite(db)


def test_an_altered_schema_is_refused(db: Path) -> None:
    saved(db)
    conn = raw(db)
    try:
        conn.execute("ALTER TABLE bot_state RENAME COLUMN saved_at_ms TO saved_at")
    finally:
        conn.close()
    with pytest.raises(
        StoreError, match=r"expected schema version 1 with table bot_state.*'saved_at'"
    ):
        open_sqlite(db)


def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "state.db"
    with pytest.raises(StoreError, match=r"SQLITE_CANTOPEN.*check that the directory exists"):
        open_sqlite(path)
    assert not path.parent.exists()


# -- SQLite: atomicity under SIGKILL -----------------------------------------------------------

CHILD = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from support.states import grid_state
from market_maker.stores.sqlite import SqliteStore

variants = [grid_state(slots={slots}, variant=i) for i in range({variants})]
with SqliteStore(Path({path!r}), bot_id={bot!r}, symbol={symbol!r}) as store:
    version = 0
    while True:
        version += 1
        state = variants[version % len(variants)]
        state.version = version
        store.save(state)
        print(version, flush=True)
"""
SLOTS, VARIANTS = 30, 5


def expected_at(version: int) -> GridState:
    state = grid_state(slots=SLOTS, variant=version % VARIANTS)
    state.version = version
    return state


@pytest.mark.parametrize("seed", range(5))
def test_a_save_killed_at_any_moment_leaves_a_whole_state(tmp_path: Path, seed: int) -> None:
    db = tmp_path / "crash.db"
    kill_after = random.Random(seed).randint(5, 60)
    code = CHILD.format(
        tests=str(TESTS_DIR), slots=SLOTS, variants=VARIANTS, path=str(db), bot=BOT, symbol=SYMBOL
    )
    with subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        confirmed = 0
        while confirmed < kill_after:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"the child stopped after version {confirmed}: {child.stderr.read()}")
            confirmed = int(line)
        child.kill()  # SIGKILL, while it keeps saving
        assert child.wait() == -9
    assert db.with_name("crash.db-wal").exists()  # killed: the log was not checkpointed away
    with open_sqlite(db) as store:
        loaded = store.load()
    assert loaded is not None
    assert loaded.version >= confirmed  # a save that returned is kept
    assert same(loaded, expected_at(loaded.version))  # and it is one the child wrote, whole
    conn = raw(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
