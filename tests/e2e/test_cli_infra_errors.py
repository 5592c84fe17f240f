"""Every infrastructure fault ends the CLI with a clear message, exit status 2, no traceback.

Each test runs the real command in a subprocess as a user would (``run --config``,
``status --config``, ``config validate``, ``run`` for paper trading) against real broken
infrastructure: damaged SQLite files, the local PostgreSQL server asked for a database or
a user it does not have, a port where nothing listens, a host name that does not resolve,
a socket that never answers, an HTTP server that is not the exchange. Each message names
the setting and the value (a password masked, never shown) and ends with a ``fix:`` line.
"""

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.dead_servers import not_found_server, refusing_port, silent_server
from tests.support.paper_process import PaperProcess, live_config, paper_exchange_process

pytestmark = pytest.mark.timeout(120)

PASSWORD = "pw-s3cret-9"
"""The password in every database URL of these tests: it must never be printed."""
DEAD_HOST = "no-such-host.invalid"
"""A host name that never resolves (``.invalid`` is reserved, RFC 2606)."""
PG = "127.0.0.1:5432"
"""The local PostgreSQL server (trust authentication: any password is accepted)."""
DB = "durable.database_url"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``market-maker ARGS`` in its own process, without API keys from this environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MAKER_")}
    command = [sys.executable, "-m", "market_maker", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=100, check=False, cwd=cwd, env=env
    )


def refused(done: subprocess.CompletedProcess[str], setting: str, value: str) -> tuple[str, str]:
    """Check a clean refusal; its message line and its fix.

    Exit status 2, nothing on stdout but what the command printed before, no traceback, no
    password, and on stderr one paragraph: ``error: SETTING: what (got VALUE)`` then
    ``  fix: ...``.
    """
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    assert PASSWORD not in output, output
    message, _, fix = done.stderr.rstrip("\n").partition("\n  fix: ")
    assert message.startswith(f"error: {setting}: "), done.stderr
    assert message.endswith(f"(got {value})"), done.stderr
    assert "\n" not in message and fix and "\n" not in fix, done.stderr
    return message, fix


def masked(url: str) -> str:
    """``url`` as the messages show it: quoted, the password replaced by ``***``."""
    return repr(url.replace(f":{PASSWORD}@", ":***@"))


def bot_config(folder: Path, url: str | None, database_url: str, **venue: object) -> Path:
    """A paper bot's configuration with this database and venue settings."""
    return live_config(folder, url, "usdm", durable={"database_url": database_url}, venue=venue)


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaperProcess]:
    """One paper exchange for the module: a `run` reaches the database only after connecting."""
    with paper_exchange_process(tmp_path_factory.mktemp("exchange"), "usdm") as px:
        px.control.advance(1)
        yield px


@pytest.fixture(params=["run", "status"])
def bot_command(request: pytest.FixtureRequest, exchange: PaperProcess) -> Iterator[list[str]]:
    """``run --config`` (after connecting to the exchange) or ``status --config``.

    After a refused ``run`` the exchange holds no order: the bot stopped before trading.
    """
    args = ["run", "--quiet", "--config"] if request.param == "run" else ["status", "--config"]
    yield args
    assert not exchange.control.ledger().orders


# -- the durable database: SQLite -----------------------------------------------------------


def _text_file(path: Path) -> None:
    path.write_text("notes, not a database\n" * 50)


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(16_384))


def _corrupted_pages(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [("row",)] * 100)
    conn.close()
    with path.open("r+b") as f:  # the schema page, after SQLite's 100-byte header
        f.seek(100)
        f.write(b"\xff" * 400)


DAMAGES: dict[str, Callable[[Path], None]] = {
    "text-file": _text_file,
    "random-bytes": _random_bytes,
    "corrupted-pages": _corrupted_pages,
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_sqlite_file_is_named_and_left_untouched(
    tmp_path: Path, exchange: PaperProcess, bot_command: list[str], damage: str
) -> None:
    path = tmp_path / "bot.db"
    DAMAGES[damage](path)
    before = path.read_bytes()
    url = f"sqlite:///{path}"

    done = cli(*bot_command, str(bot_config(tmp_path, exchange.url, url)))

    message, fix = refused(done, DB, repr(url))
    assert f"the file {path} is not a usable SQLite database" in message
    assert "damaged" in message
    assert "restore the last good backup" in fix and "crash-recovery" in fix
    assert path.read_bytes() == before  # kept as it was, for analysis


@pytest.mark.parametrize("command", ["config", "run", "status"])
def test_a_sqlite_file_in_a_missing_folder_is_refused_before_anything_runs(
    tmp_path: Path, command: str
) -> None:
    folder = tmp_path / "state" / "bots"
    url = f"sqlite:///{folder / 'bot.db'}"
    config = str(bot_config(tmp_path, "http://127.0.0.1:9", url))
    args = {
        "config": ["config", "validate", config],
        "run": ["run", "--quiet", "--config", config],
        "status": ["status", "--config", config],
    }[command]

    done = cli(*args)

    message, fix = refused(done, DB, repr(url))
    assert f"the folder {folder} of the SQLite file does not exist" in message
    assert f"mkdir -p {folder}" in fix and "created at the first run" in fix
    assert not (tmp_path / "state").exists()


def test_a_folder_given_as_the_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}"

    done = cli("config", "validate", str(bot_config(tmp_path, None, url)))

    message, fix = refused(done, DB, repr(url))
    assert "is a folder, not a database file" in message
    assert f"sqlite:///{tmp_path / 'bot.db'}" in fix


# -- the durable database: PostgreSQL -------------------------------------------------------


def test_a_postgres_database_that_does_not_exist(
    tmp_path: Path, exchange: PaperProcess, bot_command: list[str]
) -> None:
    name = f"mm_absent_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://postgres:{PASSWORD}@{PG}/{name}"

    done = cli(*bot_command, str(bot_config(tmp_path, exchange.url, url)))

    message, fix = refused(done, DB, masked(url))
    assert f"the PostgreSQL server at {PG} has no database {name!r}" in message
    assert f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}" in fix


def test_a_postgres_user_the_server_refuses(
    tmp_path: Path, exchange: PaperProcess, bot_command: list[str]
) -> None:
    user = f"mm_nobody_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://{user}:{PASSWORD}@{PG}/postgres"

    done = cli(*bot_command, str(bot_config(tmp_path, exchange.url, url)))

    message, fix = refused(done, DB, masked(url))
    assert f"the PostgreSQL server at {PG} refused user {user!r}" in message
    assert "user name and password" in fix and "pg_hba.conf" in fix


def test_a_postgres_port_where_nothing_listens(
    tmp_path: Path, exchange: PaperProcess, bot_command: list[str]
) -> None:
    with refusing_port() as port:
        url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{port}/bot"
        done = cli(*bot_command, str(bot_config(tmp_path, exchange.url, url)))

    message, fix = refused(done, DB, masked(url))
    assert f"nothing accepts connections at 127.0.0.1:{port} (connection refused)" in message
    assert "start PostgreSQL there" in fix and "host and port" in fix


def test_a_postgres_host_that_does_not_resolve(
    tmp_path: Path, exchange: PaperProcess, bot_command: list[str]
) -> None:
    url = f"postgresql+psycopg://postgres:{PASSWORD}@{DEAD_HOST}:5432/bot"

    done = cli(*bot_command, str(bot_config(tmp_path, exchange.url, url)))

    message, fix = refused(done, DB, masked(url))
    assert f"the host {DEAD_HOST!r} is not known" in message
    assert "correct the host" in fix


def test_a_postgres_host_that_never_answers_gives_up_after_the_connect_timeout(
    tmp_path: Path, exchange: PaperProcess, bot_command: list[str]
) -> None:
    with silent_server() as port:
        url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{port}/bot?connect_timeout=1"
        started = time.monotonic()
        done = cli(*bot_command, str(bot_config(tmp_path, exchange.url, url)))
        elapsed = time.monotonic() - started

    message, fix = refused(done, DB, masked(url))
    assert f"127.0.0.1:{port} did not answer within the connect timeout (1 s)" in message
    assert "connect_timeout" in fix
    assert elapsed < 30  # imports and the exchange's connect included; it never hangs


# -- the durable database: the kind of URL --------------------------------------------------

UNSUPPORTED_DATABASES = [
    ("mysql", f"mysql://bot:{PASSWORD}@db.example:3306/bot", "mysql databases are not supported"),
    ("redis", "redis://localhost:6379/0", "redis databases are not supported"),
    ("garbage", "my database", "not a database URL"),
    ("postgres-scheme", f"postgres://bot:{PASSWORD}@{PG}/bot", "postgres:// is not a kind"),
    ("other-driver", f"postgresql+asyncpg://bot@{PG}/bot", "driver asyncpg is not installed"),
]


@pytest.mark.parametrize(
    ("url", "problem"), [pytest.param(u, p, id=i) for i, u, p in UNSUPPORTED_DATABASES]
)
def test_an_unsupported_database_url_fails_validation(
    tmp_path: Path, url: str, problem: str
) -> None:
    done = cli("config", "validate", str(bot_config(tmp_path, None, url)))

    message, fix = refused(done, DB, masked(url))
    assert problem in message
    assert "postgresql+psycopg://" in fix


@pytest.mark.parametrize("command", ["run", "status"])
def test_run_and_status_refuse_an_unsupported_database_url_too(
    tmp_path: Path, command: str
) -> None:
    url = f"mysql://bot:{PASSWORD}@db.example:3306/bot"
    config = str(bot_config(tmp_path, "http://127.0.0.1:9", url))

    done = cli(command, "--config", config)

    message, _ = refused(done, DB, masked(url))
    assert "mysql databases are not supported" in message


def test_config_validate_shows_a_database_url_with_its_password_masked(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://bot:{PASSWORD}@{PG}/bots?connect_timeout=5"
    config = str(bot_config(tmp_path, None, url))

    table = cli("config", "validate", config)
    as_json = cli("config", "validate", config, "--json")

    assert table.returncode == 0 and as_json.returncode == 0, table.stderr + as_json.stderr
    assert PASSWORD not in table.stdout + table.stderr + as_json.stdout + as_json.stderr
    assert "durable.database_url" in table.stdout
    shown = json.loads(as_json.stdout)["durable"]["database_url"]
    assert shown == f"postgresql+psycopg://bot:***@{PG}/bots?connect_timeout=5"


# -- the venue ----------------------------------------------------------------------------

MALFORMED_VENUE_URLS = [
    ("no-scheme", "127.0.0.1:8765", "has no scheme", "write http://127.0.0.1:8765"),
    ("ftp", "ftp://127.0.0.1:8765", "ftp:// is not http:// or https://", "http(s)://host"),
    ("no-host", "http://:8765", "the URL has no host", "http(s)://host[:port]"),
    ("port-not-a-number", "http://127.0.0.1:87a5", "'87a5' is not a port number", "[:port]"),
    ("port-out-of-range", "http://127.0.0.1:87650", "'87650' is not a port number", "[:port]"),
    ("path", "http://127.0.0.1:8765/fapi/v1", "a path, query or fragment", "127.0.0.1:8765"),
    ("spaces", "http://127.0.0.1: 8765", "holds spaces", "http(s)://host[:port]"),
]


@pytest.mark.parametrize(
    ("url", "problem", "fix_words"),
    [pytest.param(u, p, f, id=i) for i, u, p, f in MALFORMED_VENUE_URLS],
)
def test_a_malformed_venue_url_fails_validation(
    tmp_path: Path, url: str, problem: str, fix_words: str
) -> None:
    done = cli("config", "validate", str(bot_config(tmp_path, url, "sqlite:///bot.db")))

    message, fix = refused(done, "venue.url", repr(url))
    assert problem in message
    assert fix_words in fix


def test_a_venue_url_holding_credentials_is_refused_without_showing_them(
    tmp_path: Path,
) -> None:
    url = f"http://key:{PASSWORD}@127.0.0.1:8765"

    done = cli("config", "validate", str(bot_config(tmp_path, url, "sqlite:///bot.db")))

    message, fix = refused(done, "venue.url", repr("http://key:***@127.0.0.1:8765"))
    assert "holds a user or password" in message
    assert "MARKET_MAKER_API_KEY" in fix


def test_run_refuses_a_malformed_venue_url_before_connecting(tmp_path: Path) -> None:
    url = "http://:8765"

    done = cli("run", "--quiet", "--config", str(bot_config(tmp_path, url, "sqlite:///bot.db")))

    message, _ = refused(done, "venue.url", repr(url))
    assert "the URL has no host" in message
    assert not list(tmp_path.glob("bot.db*"))


def _run_on(tmp_path: Path, url: str, timeout_s: float) -> tuple[str, str, float]:
    config = bot_config(tmp_path, url, f"sqlite:///{tmp_path / 'bot.db'}", timeout_s=timeout_s)
    started = time.monotonic()
    done = cli("run", "--quiet", "--config", str(config))
    elapsed = time.monotonic() - started
    message, fix = refused(done, "venue.url", repr(url))
    assert "nothing was traded" in message
    assert not (tmp_path / "bot.db").exists()  # it gave up before the database
    return message, fix, elapsed


def test_an_exchange_that_never_answers_gives_up_in_bounded_time(tmp_path: Path) -> None:
    with silent_server() as port:
        url = f"http://127.0.0.1:{port}"
        message, fix, elapsed = _run_on(tmp_path, url, timeout_s=0.5)

    assert f"the server at {url} did not answer within venue.timeout_s (0.5 s)" in message
    assert "4 attempts over" in message
    assert "is running and answering" in fix and "raise venue.timeout_s (now 0.5 s)" in fix
    # Four attempts of 0.5 s and at most 3.5 s of backoff, plus the process's start.
    assert elapsed < 30


def test_an_exchange_port_where_nothing_listens(tmp_path: Path) -> None:
    with refusing_port() as port:
        url = f"http://127.0.0.1:{port}"
        message, fix, _ = _run_on(tmp_path, url, timeout_s=1)

    assert f"the server at {url} refused the connection (nothing listens there)" in message
    assert "start the server, or correct the host and port in venue.url" in fix


def test_an_exchange_host_that_does_not_resolve(tmp_path: Path) -> None:
    url = f"http://{DEAD_HOST}:8765"

    message, fix, _ = _run_on(tmp_path, url, timeout_s=1)

    assert f"the host {DEAD_HOST!r} is not known" in message
    assert "correct the host in venue.url" in fix


def test_a_web_server_that_is_not_the_exchange(tmp_path: Path) -> None:
    with not_found_server() as url:
        message, fix, _ = _run_on(tmp_path, url, timeout_s=1)

    assert f"the server at {url} answered only with errors" in message and "404" in message
    assert "binanceusdm-compatible server" in fix


# -- paper trading --------------------------------------------------------------------------


def test_paper_trading_names_a_file_in_the_way_of_its_state_folder(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file where paper trading wants a folder\n")

    done = cli("run", "--quiet", cwd=tmp_path)

    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    message, _, fix = done.stderr.rstrip("\n").partition("\n  fix: ")
    assert message.startswith("error: paper trading keeps its state in out/paper/"), output
    assert message.endswith(f"{tmp_path / 'out'}: Not a directory"), output
    assert fix == f"move {tmp_path / 'out'} away, or run from another folder"
