"""``market-maker state import``: a Simple engine bot's state becomes the Durable engine's.

The Simple engine trades the bundled sample on the simulated exchange with a real
``SqliteStore`` (every change saved), so the state has a position, resting orders, fills
and realized PnL. The import must land exactly that state in the Durable tables, on SQLite
and PostgreSQL; every refusal exits 2, names the problem and changes no table.
"""

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from market_maker.backtest.runner import run_backtest, simulated_exchange
from market_maker.cli.main import run
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.durable import migrate, repository
from market_maker.durable.bot_lock import acquire_bot_lock
from market_maker.durable.database import create_engine
from market_maker.engine.execution import CheckpointPolicy
from market_maker.state import snapshot
from market_maker.state.model import GridState
from market_maker.state.views import state_view
from market_maker.stores.sqlite import SqliteStore

pytestmark = pytest.mark.timeout(120)

CANDLES = 600
"""Ten hours of the sample: enough for fills, a position and resting orders."""
TABLES = ("mm_state", "mm_slots", "mm_orders", "mm_fills")


@pytest.fixture(scope="module")
def simple_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Simple engine store after the sample bot traded ``CANDLES`` candles."""
    config = load_config(default_backtest_config_path())
    candles = load_candles(sample_candles_path(), symbol=config.symbol).candles[:CANDLES]
    path = tmp_path_factory.mktemp("simple") / "simple.db"
    with SqliteStore(path, bot_id=config.bot_id, symbol=config.symbol) as store:
        run_backtest(
            config,
            candles,
            store=store,
            exchange=simulated_exchange(config),
            checkpoint=CheckpointPolicy.EVERY_CHANGE,
        )
    return path


@pytest.fixture
def store_file(simple_store: Path, tmp_path: Path) -> Path:
    """This test's own copy of the store (a refusal test may damage it)."""
    copy = tmp_path / "simple.db"
    shutil.copyfile(simple_store, copy)
    return copy


def _stored(path: Path) -> GridState:
    with SqliteStore(path, bot_id="sample", symbol="BTC/USDT:USDT") as store:
        state = store.load()
    assert state is not None
    return state


@pytest.fixture
def write_config(tmp_path: Path, database_url: str) -> Callable[..., Path]:
    """Write the sample configuration for ``database_url`` with changes; return its path."""

    def write(**changes: Any) -> Path:
        raw = yaml.safe_load(default_backtest_config_path().read_text())
        raw["durable"] = {"database_url": database_url}
        raw.update(changes)
        path = tmp_path / f"bot-{len(list(tmp_path.glob('bot-*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    return write


def _tables(url: str) -> dict[str, list[Any]] | None:
    """Every row of the Durable tables, or None when the database or its tables do not exist."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return None
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("mm_state"):
                return None
            return {
                name: sorted(conn.execute(sa.text(f"SELECT * FROM {name}")).all(), key=repr)
                for name in TABLES
            }
    finally:
        engine.dispose()


def _durable_state(url: str) -> GridState | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return repository.load(conn, "sample", "BTC/USDT:USDT")
    finally:
        engine.dispose()


def test_the_durable_tables_hold_exactly_the_simple_engines_state(
    store_file: Path,
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = _stored(store_file)
    book = expected.book
    # A realistic state: a position, resting orders, booked fills and retired orders.
    assert book.inventory != 0 and book.realized_pnl != 0 and book.fees_paid > 0
    assert len(book.active_orders()) > 5 and len(book.retired) > 5
    config = write_config()

    assert run(["state", "import", "--from", str(store_file), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"state version: {expected.version}" in out
    assert f"open orders: {len(book.active_orders())}" in out
    assert f"position: {book.inventory}" in out and "next: market-maker run" in out

    imported = _durable_state(database_url)
    assert imported is not None
    assert snapshot.serialize(imported) == snapshot.serialize(expected)
    assert state_view(imported) == state_view(expected)
    rows = _tables(database_url)
    assert rows is not None
    assert len(rows["mm_slots"]) == len(book.slots)
    order_ids = {r.client_order_id for r in rows["mm_orders"]}
    held = {s.order.client_order_id for s in book if s.order is not None}
    assert order_ids == held | set(book.retired)
    assert rows["mm_fills"] == []  # a Simple store keeps no fill history
    assert snapshot.serialize(_stored(store_file)) == snapshot.serialize(expected)  # only read


def test_a_dry_run_checks_and_prints_but_writes_nothing(
    store_file: Path,
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config()
    argv = ["state", "import", "--from", str(store_file), "--config", str(config)]
    assert run([*argv, "--dry-run"]) == 0
    assert "dry run: would import bot sample" in capsys.readouterr().out
    assert _tables(database_url) is None


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err.startswith("error: ")
    return captured.err


def test_a_store_without_this_bot_is_refused_naming_the_bots_it_holds(
    store_file: Path,
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(bot_id="other")
    err = _refused(["state", "import", "--from", str(store_file), "-c", str(config)], capsys)
    assert "no state for bot_id 'other'" in err and "it holds bot_id 'sample'" in err
    assert _tables(database_url) is None


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100], ids=["empty", "text"])
def test_a_file_that_is_not_a_store_is_refused(
    tmp_path: Path,
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    err = _refused(["state", "import", "--from", str(path), "-c", str(write_config())], capsys)
    assert f"--from {path}" in err and ("empty" in err or "not a readable" in err)
    assert path.read_bytes() == content  # never turned into a store
    assert _tables(database_url) is None


def test_a_tampered_store_is_refused(
    store_file: Path,
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with sqlite3.connect(store_file) as conn:
        (blob,) = conn.execute("SELECT state FROM bot_state").fetchone()
        damaged = bytearray(blob)
        damaged[len(damaged) // 2] ^= 0x01
        conn.execute("UPDATE bot_state SET state = ?", (bytes(damaged),))
    conn.close()
    err = _refused(
        ["state", "import", "--from", str(store_file), "-c", str(write_config())], capsys
    )
    assert "fails verification" in err
    assert _tables(database_url) is None


def test_a_database_that_already_holds_the_bots_state_is_left_as_it_is(
    store_file: Path,
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["state", "import", "--from", str(store_file), "--config", str(write_config())]
    assert run(argv) == 0
    before = _tables(database_url)
    capsys.readouterr()
    err = _refused(argv, capsys)
    assert "already holds a Durable engine state" in err and "nothing imported" in err
    err = _refused([*argv, "--dry-run"], capsys)
    assert "already holds" in err
    assert _tables(database_url) == before


def test_a_running_bot_is_refused(
    store_file: Path,
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config()
    argv = ["state", "import", "--from", str(store_file), "-c", str(config)]
    lock = acquire_bot_lock(database_url, "sample", "BTC/USDT:USDT")  # as `run` holds it
    try:
        database = create_engine(database_url)  # a starting bot, before its first save
        migrate.upgrade(database)
        database.dispose()
        before = _tables(database_url)
        errors = [_refused(args, capsys) for args in (argv, [*argv, "--dry-run"])]
    finally:
        lock.release()
    for err in errors:
        assert "is running" in err and "nothing imported" in err and "market-maker stop" in err
    assert before is not None and before["mm_state"] == []
    assert _tables(database_url) == before


def test_a_database_where_the_bot_ran_on_the_durable_engine_is_refused(
    store_file: Path,
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_path = write_config()
    config = load_config(config_path)
    candles = load_candles(sample_candles_path(), symbol=config.symbol).candles[:120]
    # The Durable engine's own state. DBOS keeps a log handler on the stderr it finds at its
    # first start: the session's, not this test's captured one (closed after the test).
    with capsys.disabled():
        run_backtest(config, candles, durable_url=database_url)
    argv = ["state", "import", "--from", str(store_file), "--config", str(config_path)]
    err = _refused(argv, capsys)
    assert "already holds a Durable engine state" in err
    # Its state row removed by hand, its workflows stay: their ids are named after state
    # versions, which the imported state would reuse.
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM mm_state"))
    finally:
        engine.dispose()
    before = _tables(database_url)
    for args in (argv, [*argv, "--dry-run"]):
        err = _refused(args, capsys)
        assert "DBOS workflow(s)" in err and "nothing imported" in err
    assert _tables(database_url) == before


def test_a_sqlite_database_in_a_missing_folder_is_refused_by_the_dry_run_too(
    store_file: Path,
    tmp_path: Path,
    write_config: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere' / 'bot.db'}"
    config = write_config(durable={"database_url": url})
    argv = ["state", "import", "--from", str(store_file), "--config", str(config)]
    for args in (argv, [*argv, "--dry-run"]):
        err = _refused(args, capsys)
        assert f"the folder {tmp_path / 'nowhere'}" in err and "does not exist" in err
    assert not (tmp_path / "nowhere").exists()


def test_a_store_written_by_a_newer_release_is_refused(
    store_file: Path,
    write_config: Callable[..., Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with sqlite3.connect(store_file) as conn:
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    err = _refused(
        ["state", "import", "--from", str(store_file), "-c", str(write_config())], capsys
    )
    assert "schema version 2, newer than version 1" in err and "upgrade market-maker" in err
    assert _tables(database_url) is None
