"""The database and venue URLs of a configuration, checked without connecting.

Each refusal reaches the user as one ``ConfigProblem``: the field, the value with any
password masked, what is wrong and a fix; what is accepted loads unchanged.
"""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from market_maker.config.app import DurableConfig, VenueConfig
from market_maker.config.loader import ConfigError, ConfigProblem, load_config
from market_maker.config.urls import INVALID_SETTING, mask_database_url

PASSWORD = "pw-s3cret-9"

CONFIG = """\
bot_id: demo
symbol: BTC/USDT
instrument: {{tick_size: 0.01, step_size: 0.00001}}
grid: {{base_interval: 100, order_qty: 0.001, max_inventory: 0.01}}
{section}:
  {key}: '{value}'
"""


def _problem(tmp_path: Path, section: str, key: str, value: str) -> ConfigProblem:
    path = tmp_path / "bot.yaml"
    path.write_text(CONFIG.format(section=section, key=key, value=value))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert problem.field == f"{section}.{key}"
    assert PASSWORD not in str(caught.value)
    return problem


def _loads(tmp_path: Path, section: str, key: str, value: str) -> str:
    path = tmp_path / "bot.yaml"
    path.write_text(CONFIG.format(section=section, key=key, value=value))
    return str(getattr(getattr(load_config(path), section), key))


# -- database URLs --------------------------------------------------------------------------

BAD_DATABASES = [
    # (id, URL, value shown, words of the message, words of the fix)
    (
        "mysql",
        f"mysql://bot:{PASSWORD}@db:3306/bot",
        "'mysql://bot:***@db:3306/bot'",
        "mysql databases are not supported",
        "postgresql+psycopg://user:password@host:5432/database",
    ),
    ("redis", "redis://localhost:6379/0", "'redis://localhost:6379/0'", "redis", "sqlite:///"),
    ("text", "bot database", "'bot database'", "not a database URL", "sqlite:///path"),
    ("empty", "", "''", "not a database URL", "sqlite:///path"),
    ("postgres", "postgres://u@h/db", "'postgres://u@h/db'", "postgres://", "postgresql+psycopg"),
    (
        "asyncpg",
        f"postgresql+asyncpg://u:{PASSWORD}@h/db",
        "'postgresql+asyncpg://u:***@h/db'",
        "the postgresql driver asyncpg is not installed",
        "postgresql+psycopg://",
    ),
    ("aiosqlite", "sqlite+aiosqlite:///x.db", "'sqlite+aiosqlite:///x.db'", "aiosqlite", "sqlite+"),
    (
        "port-not-a-number",
        f"postgresql://u:{PASSWORD}@h:54a/db",
        "'postgresql://u:***@h:54a/db'",
        "not a database URL",
        "postgresql+psycopg://",
    ),
    (
        "port-out-of-range",
        f"postgresql://u:{PASSWORD}@h:99999/db",
        "'postgresql://u:***@h:99999/db'",
        "port 99999 is not a port number",
        "5432",
    ),
]


@pytest.mark.parametrize(
    ("url", "shown", "message", "fix"), [pytest.param(*c[1:], id=c[0]) for c in BAD_DATABASES]
)
def test_an_unusable_database_url_is_one_problem_with_its_fix(
    tmp_path: Path, url: str, shown: str, message: str, fix: str
) -> None:
    problem = _problem(tmp_path, "durable", "database_url", url)

    assert problem.value == shown
    assert message in problem.message
    assert fix in problem.fix


def test_a_sqlite_file_in_a_missing_folder_names_the_folder_and_mkdir(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "bots"

    problem = _problem(tmp_path, "durable", "database_url", f"sqlite:///{folder}/bot.db")

    assert problem.message == f"the folder {folder} of the SQLite file does not exist"
    assert problem.fix.startswith(f"create it (mkdir -p {folder})")


def test_a_relative_sqlite_path_is_checked_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    problem = _problem(tmp_path, "durable", "database_url", "sqlite:///out/bot.db")
    (tmp_path / "out").mkdir()

    assert f"the folder {tmp_path / 'out'} of" in problem.message
    assert _loads(tmp_path, "durable", "database_url", "sqlite:///out/bot.db")


def test_a_sqlite_path_under_a_file_or_naming_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("a file")

    under_file = _problem(tmp_path, "durable", "database_url", f"sqlite:///{tmp_path}/notes/b.db")
    a_folder = _problem(tmp_path, "durable", "database_url", f"sqlite:///{tmp_path}")

    assert under_file.message.startswith(f"{tmp_path / 'notes'} is not a folder")
    assert a_folder.message == f"{tmp_path} is a folder, not a database file"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///market_maker.db",  # the default: a file in the working folder
        "sqlite://",  # in memory
        "sqlite:///:memory:",
        "sqlite+pysqlite:///bot.db",
        "postgresql+psycopg://bot@127.0.0.1:5432/bots",
        f"postgresql://bot:{PASSWORD}@db.internal/bots?connect_timeout=3",
        "postgresql+psycopg:///bots",  # the local socket
    ],
)
def test_supported_database_urls_load_unchanged(tmp_path: Path, url: str) -> None:
    assert DurableConfig(database_url=url).database_url == url
    assert _loads(tmp_path, "durable", "database_url", url) == url


def test_an_absolute_sqlite_file_in_an_existing_folder_is_accepted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"

    assert DurableConfig(database_url=url).database_url == url
    assert not (tmp_path / "bot.db").exists()  # checked, not created


def test_a_raw_validation_error_never_shows_the_database_url() -> None:
    with pytest.raises(ValidationError) as caught:
        DurableConfig(database_url=f"mysql://bot:{PASSWORD}@db/bot")

    assert PASSWORD not in str(caught.value)
    [error] = caught.value.errors()
    assert error["type"] == INVALID_SETTING


# -- masking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://bot:pw@h:5432/db", "postgresql+psycopg://bot:***@h:5432/db"),
        ("postgresql+psycopg://bot@h/db", "postgresql+psycopg://bot@h/db"),
        ("postgresql://:pw@h/db", "postgresql://:***@h/db"),
        ("postgresql://bot:p@ss/w:rd@h/db", "postgresql://bot:***@h/db"),
        ("sqlite:///a@b/bot.db", "sqlite:///a@b/bot.db"),
        ("sqlite:///a:b@c.db", "sqlite:///a:***@c.db"),  # more hidden, never less
        ("sqlite:///bot.db", "sqlite:///bot.db"),
        ("bot:pw@db/bots", "bot:***@db/bots"),  # no scheme: masked all the same
    ],
)
def test_mask_database_url(url: str, shown: str) -> None:
    assert mask_database_url(url) == shown


_NO_AT = st.text(st.characters(blacklist_characters="@"), max_size=20)


@given(
    user=st.text(st.characters(blacklist_characters=":@/"), max_size=12),
    password=st.text(min_size=1, max_size=30),
    host=_NO_AT,
)
def test_a_masked_url_never_holds_the_password(user: str, password: str, host: str) -> None:
    for scheme in ("postgresql+psycopg://", ""):
        url = f"{scheme}{user}:{password}@{host}"

        assert mask_database_url(url) == f"{scheme}{user}:***@{host}"


# -- venue URLs ---------------------------------------------------------------------------

BAD_VENUES = [
    ("no-scheme", "127.0.0.1:8765", "it has no scheme", "write http://127.0.0.1:8765"),
    ("ftp", "ftp://127.0.0.1:8765", "the scheme ftp:// is not", "http(s)://host[:port]"),
    ("ws", "ws://127.0.0.1:8765", "the scheme ws:// is not", "http(s)://host[:port]"),
    ("no-host", "http://:8765", "the URL has no host", "http(s)://host[:port]"),
    ("scheme-only", "http://", "the URL has no host", "http(s)://host[:port]"),
    ("port-text", "http://h:port", "port 'port' is not a port number", "[:port]"),
    ("port-zero", "http://h:0", "port '0' is not a port number", "[:port]"),
    ("port-too-big", "http://h:65536", "port '65536' is not a port number", "[:port]"),
    ("path", "http://h:8765/api", "path, query or fragment", "write only http://h:8765"),
    ("query", "https://h?x=1", "path, query or fragment", "write only https://h"),
    ("spaces", " http://h:8765", "holds spaces", "http(s)://host[:port]"),
]


@pytest.mark.parametrize(
    ("url", "message", "fix"), [pytest.param(*c[1:], id=c[0]) for c in BAD_VENUES]
)
def test_a_malformed_venue_url_is_one_problem_with_its_fix(
    tmp_path: Path, url: str, message: str, fix: str
) -> None:
    problem = _problem(tmp_path, "venue", "url", url)

    assert problem.value == repr(url)
    assert message in problem.message
    assert fix in problem.fix


def test_a_venue_url_with_credentials_is_refused_and_masked(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "venue", "url", f"https://key:{PASSWORD}@h")

    assert problem.value == "'https://key:***@h'"
    assert "MARKET_MAKER_API_KEY" in problem.fix


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765", "https://paper.example", "http://[::1]:8765/", "http://h:65535"],
)
def test_http_urls_of_a_host_and_port_are_accepted(url: str) -> None:
    assert VenueConfig(url=url).url == url
