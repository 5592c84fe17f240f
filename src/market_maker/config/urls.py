"""The two URLs a configuration names, checked without connecting: the database and the venue.

``check_database_url`` accepts what the Durable engine can open: a SQLite file whose folder
exists (the file itself is created at the first run) or in memory, or a PostgreSQL server
through psycopg. ``check_venue_url`` accepts ``http(s)://host[:port]``. Both raise a
pydantic error of type ``INVALID_SETTING`` whose context holds the value as shown (a
password masked: ``mask_database_url``) and the fix; the loader turns it into a
``ConfigProblem``. What only a connection can tell (a server that is down, a damaged file)
is reported when the bot first connects (``market_maker.durable.database_errors``,
``market_maker.live.venue_errors``).
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

from pydantic_core import PydanticCustomError

INVALID_SETTING = "invalid_setting"
"""Error type of a setting refused with its own fix; context: ``shown`` and ``fix``."""

DATABASE_KINDS = {"sqlite": "pysqlite", "postgresql": "psycopg"}
"""Supported database kinds and the one driver of each the bot installs."""

DATABASE_FORMS = (
    "write sqlite:///path/to/bot.db for a SQLite file (four slashes before an absolute "
    "path) or postgresql+psycopg://user:password@host:5432/database for PostgreSQL"
)
VENUE_FORM = (
    "write it as http(s)://host[:port], e.g. http://127.0.0.1:8765 for the paper exchange, "
    "or remove venue.url to trade on the exchange itself"
)


def invalid_setting(problem: str, shown: str, fix: str) -> PydanticCustomError:
    """A validation error that the loader shows as ``problem (got shown)`` and ``fix``."""
    # The message is passed through the context: a URL may hold braces.
    return PydanticCustomError(
        INVALID_SETTING, "{problem}", {"problem": problem, "shown": shown, "fix": fix}
    )


def mask_database_url(url: str) -> str:
    """``url`` with the password replaced by ``***`` (``scheme://user:***@host/...``).

    Works on text that is not a valid URL too (``user:password@host`` without a scheme):
    everything between the first ``:`` of the user part and the last ``@`` is hidden, so a
    password holding ``@``, ``:`` or ``/`` never shows (a path holding both may be masked
    too: more is hidden, never less).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not at or not colon:
        return url
    return f"{scheme}{sep}{user}:***@{host}"


def check_database_url(url: str) -> None:
    """Refuse a database URL the Durable engine cannot open, before connecting.

    Raises:
        PydanticCustomError: Not a URL, a kind other than SQLite or PostgreSQL, a driver
            that is not installed, a port out of range, or a SQLite file whose folder is
            missing (or that is a folder itself).
    """
    # Imported here: SQLAlchemy takes a quarter second to import, and a backtest needs none.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    shown = repr(mask_database_url(url))
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise invalid_setting(
            "not a database URL (kind://[user[:password]@]host[:port]/database)",
            shown,
            DATABASE_FORMS,
        ) from None
    kind, _, driver = parsed.drivername.partition("+")
    if kind == "postgres":
        raise invalid_setting(
            "postgres:// is not a kind SQLAlchemy knows", shown, "write postgresql+psycopg://"
        )
    if kind not in DATABASE_KINDS:
        raise invalid_setting(
            f"{kind} databases are not supported: the bot keeps its state in SQLite or PostgreSQL",
            shown,
            DATABASE_FORMS,
        )
    if driver not in ("", DATABASE_KINDS[kind]):
        raise invalid_setting(
            f"the {kind} driver {driver} is not installed with the bot",
            shown,
            f"write {kind}+{DATABASE_KINDS[kind]}:// (or plain {kind}://)",
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise invalid_setting(
            f"port {parsed.port} is not a port number (1 to 65535)",
            shown,
            "write the PostgreSQL server's port, 5432 by default",
        )
    if kind == "sqlite":
        _check_sqlite_file(parsed.database, shown)


def _check_sqlite_file(database: str | None, shown: str) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return  # in memory, or an SQLite URI: nothing on disk to check here
    path = Path(database)
    folder = Path(os.path.abspath(path.parent))  # absolute and normalised, for the message
    if path.is_dir():
        raise invalid_setting(
            f"{path} is a folder, not a database file",
            shown,
            f"name a file inside it, e.g. sqlite:///{path / 'bot.db'}",
        )
    if not folder.exists():
        raise invalid_setting(
            f"the folder {folder} of the SQLite file does not exist",
            shown,
            f"create it (mkdir -p {folder}) or name a file in an existing folder; the file "
            "itself is created at the first run",
        )
    if not folder.is_dir():
        raise invalid_setting(
            f"{folder} is not a folder, so the SQLite file cannot be created in it",
            shown,
            "name a file in an existing folder",
        )


def check_venue_url(url: str) -> None:
    """Refuse a venue URL that is not ``http(s)://host[:port]``, before connecting.

    Raises:
        PydanticCustomError: No scheme or another scheme, no host, a bad port, a user and
            password, or a path, query or fragment (ignored by the adapter).
    """
    shown = repr(mask_database_url(url))
    if any(c.isspace() for c in url):
        raise invalid_setting("the URL holds spaces", shown, VENUE_FORM)
    if "://" not in url:
        raise invalid_setting(
            "not a URL: it has no scheme (http:// or https://)",
            shown,
            f"write http://{url} (or https://{url}), or remove venue.url to trade on the "
            "exchange itself",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise invalid_setting(
            f"the scheme {parts.scheme}:// is not http:// or https://", shown, VENUE_FORM
        )
    if "@" in parts.netloc:
        raise invalid_setting(
            "the URL holds a user or password: credentials never go in the configuration",
            shown,
            "remove them; set MARKET_MAKER_API_KEY and MARKET_MAKER_API_SECRET, or "
            "venue.secrets_file",
        )
    if not parts.hostname:
        raise invalid_setting("the URL has no host", shown, VENUE_FORM)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise invalid_setting(
            f"port {parts.netloc.rpartition(':')[2]!r} is not a port number (1 to 65535)",
            shown,
            VENUE_FORM,
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise invalid_setting(
            "the URL has a path, query or fragment, which would be ignored: requests keep "
            "the exchange's own paths on this host and port",
            shown,
            f"write only {parts.scheme}://{parts.netloc}",
        )
