"""Database failures become one operator message: real SQLite files, the real PostgreSQL server.

``database_errors`` is exercised where it sits in production (the Durable engine's start)
and on its own against real failures: damaged files, a database or a user the server does
not have, a port where nothing listens, a host that does not resolve, a server that never
answers. Failures that are not the database's go through unchanged.
"""

import random
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.domain.errors import InfrastructureError, MarketMakerError
from market_maker.durable import database
from market_maker.durable.bot_lock import acquire_bot_lock
from market_maker.durable.database_errors import database_error, database_errors
from market_maker.durable.execution import durable_engine
from tests.support.dead_servers import refusing_port, silent_server

pytestmark = pytest.mark.timeout(60)

CONFIG = load_config(default_backtest_config_path())
PASSWORD = "pw-s3cret-9"
PG = "postgresql+psycopg://postgres"


def _text(path: Path) -> None:
    path.write_text("notes, not a database\n" * 50)


def _random(path: Path) -> None:
    path.write_bytes(random.Random(3).randbytes(8192))


def _corrupted(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with path.open("r+b") as f:
        f.seek(100)
        f.write(b"\xff" * 400)


DAMAGES: dict[str, Callable[[Path], None]] = {
    "text": _text,
    "random": _random,
    "corrupted": _corrupted,
}


def _failure(url: str, touch: Callable[[str], object]) -> InfrastructureError:
    with pytest.raises(InfrastructureError) as caught, database_errors(url):
        touch(url)
    error = caught.value
    assert error.setting == "durable.database_url"
    assert PASSWORD not in str(error)
    return error


def _connect(url: str) -> None:
    engine = sa.create_engine(url, connect_args=database.connect_args(url))
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_sqlite_file_points_to_the_crash_recovery_runbook(
    tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "bot.db"
    DAMAGES[damage](path)
    url = f"sqlite:///{path}"

    error = _failure(url, database.create_engine)

    assert error.value == repr(url)
    assert error.problem.startswith(f"the file {path} is not a usable SQLite database (")
    assert "operations_guide.md#crash-recovery" in error.fix
    assert str(error) == f"durable.database_url: {error.problem} (got {error.value})\n  fix: " + (
        error.fix
    )


def test_a_failed_start_leaves_no_dbos_no_engine_and_no_lock_behind(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    _text(bad)
    engine = durable_engine(CONFIG, simulated_exchange(CONFIG), database_url=f"sqlite:///{bad}")

    with pytest.raises(InfrastructureError, match="not a usable SQLite database"):
        engine.start()

    acquire_bot_lock(f"sqlite:///{bad}", CONFIG.bot_id, CONFIG.symbol, wait_s=0).release()
    good = durable_engine(
        CONFIG, simulated_exchange(CONFIG), database_url=f"sqlite:///{tmp_path / 'good.db'}"
    )
    good.start()  # one Durable engine per process: the failed one is gone
    good.stop()


def test_a_postgres_database_that_does_not_exist_names_createdb() -> None:
    name = f"mm_absent_{uuid.uuid4().hex[:8]}"
    url = f"{PG}:{PASSWORD}@127.0.0.1:5432/{name}"

    error = _failure(url, _connect)

    assert error.value == repr(f"{PG}:***@127.0.0.1:5432/{name}")
    assert error.problem == f"the PostgreSQL server at 127.0.0.1:5432 has no database {name!r}"
    assert error.fix.startswith(f"create it (createdb -h 127.0.0.1 -p 5432 -U postgres {name})")


def test_a_user_the_server_does_not_know_is_an_authentication_refusal() -> None:
    user = f"mm_nobody_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://{user}:{PASSWORD}@127.0.0.1:5432/postgres"

    error = _failure(url, _connect)

    assert error.problem.startswith(
        f"the PostgreSQL server at 127.0.0.1:5432 refused user {user!r}"
    )
    assert "pg_hba.conf" in error.fix


def test_a_port_where_nothing_listens() -> None:
    with refusing_port() as port:
        error = _failure(f"{PG}@127.0.0.1:{port}/bot", _connect)

    assert error.problem == f"nothing accepts connections at 127.0.0.1:{port} (connection refused)"


def test_a_host_that_does_not_resolve() -> None:
    error = _failure(f"{PG}@no-such-host.invalid/bot", _connect)

    assert (
        error.problem == "the host 'no-such-host.invalid' is not known (its name does not resolve)"
    )


def test_a_server_that_never_answers_fails_after_the_urls_connect_timeout() -> None:
    with silent_server() as port:
        error = _failure(f"{PG}@127.0.0.1:{port}/bot?connect_timeout=1", _connect)

    assert error.problem == (
        f"the server at 127.0.0.1:{port} did not answer within the connect timeout (1 s)"
    )


def test_the_bots_engines_wait_a_bounded_time_for_postgres_unless_the_url_says() -> None:
    assert database.connect_args(f"{PG}@h/db") == {"connect_timeout": database.CONNECT_TIMEOUT_S}
    assert database.connect_args(f"{PG}@h/db?connect_timeout=3") == {}
    assert database.connect_args("sqlite:///bot.db") == {}


def test_a_wrapped_driver_error_is_translated_and_its_password_scrubbed() -> None:
    url = f"{PG}:{PASSWORD}@db.internal/bots"
    cause = psycopg.OperationalError(f"odd failure quoting {PASSWORD}\nsecond line")
    wrapper = RuntimeError("DBOS failed")  # as DBOS wraps a database error
    wrapper.__cause__ = cause

    error = _failure(url, lambda _: _raise(wrapper))

    assert error.problem == "PostgreSQL at db.internal:5432 failed: odd failure quoting ***"
    assert "user may create tables" in error.fix


def test_our_errors_and_failures_that_are_not_the_databases_go_through_unchanged() -> None:
    ours = MarketMakerError("refusing to start from a tampered state")
    ours.__cause__ = sqlite3.DatabaseError("file is not a database")
    other = RuntimeError("a bug")

    for raised in (ours, other):
        with pytest.raises(type(raised)) as caught, database_errors("sqlite:///bot.db"):
            raise raised
        assert caught.value is raised


def test_an_unrecognised_sqlite_failure_still_names_the_file_and_the_words() -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorname = "SQLITE_BUSY"

    error = database_error(busy, "sqlite:///state/bot.db")

    assert error.problem == "SQLite cannot use the file state/bot.db: database is locked"
    assert "one process per bot and symbol" in error.fix


def _raise(exc: BaseException) -> None:
    raise exc


def test_a_wrapper_raised_while_handling_a_database_error_is_translated(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    _text(path)
    url = f"sqlite:///{path}"

    def wrap(suppress: bool) -> None:
        conn = sqlite3.connect(path)
        try:
            conn.execute("SELECT * FROM sqlite_master")
        except sqlite3.DatabaseError:
            if suppress:
                raise RuntimeError("unrelated to the database") from None
            raise RuntimeError("launch failed")  # noqa: B904 (as a wrapper without `from`)
        finally:
            conn.close()

    with (
        pytest.raises(InfrastructureError, match="not a usable SQLite database"),
        database_errors(url),
    ):
        wrap(suppress=False)
    with pytest.raises(RuntimeError, match="unrelated"), database_errors(url):
        wrap(suppress=True)
