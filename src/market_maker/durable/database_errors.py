"""Database failures as an operator reads them: the setting, the URL, what went wrong, the fix.

SQLAlchemy, sqlite3, psycopg and DBOS raise exceptions worded for developers, with a
traceback. Where the Durable engine and ``status`` first touch the database (the bot's
lock, the engine and its migrations, DBOS's launch, the status read), ``database_errors``
turns them into one ``InfrastructureError`` naming ``durable.database_url``, the URL with
its password masked, what went wrong (a damaged SQLite file, a folder that cannot hold it,
a PostgreSQL server that is down, unknown, silent, missing the database or refusing the
user) and the fix. The classification reads SQLite's result code and, for PostgreSQL,
libpq's and the server's English wording (a connection failure carries no SQLSTATE); a
failure it does not recognise still gets the setting, the value, the driver's own words
and a general fix.
"""

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

from market_maker.config.urls import DATABASE_FORMS, mask_database_url
from market_maker.domain.errors import InfrastructureError, MarketMakerError
from market_maker.durable.database import CONNECT_TIMEOUT_S

SETTING = "durable.database_url"
"""The setting every database failure names."""

CRASH_RECOVERY = "docs/operations_guide.md#crash-recovery"
"""The runbook for a damaged database."""


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Within the block, a database failure becomes an ``InfrastructureError`` for ``url``.

    A database failure is a SQLAlchemy error, or any exception with a sqlite3 or psycopg
    error behind it (DBOS may wrap one). Our own errors and everything else go through
    unchanged.
    """
    try:
        yield
    except MarketMakerError:
        raise
    except Exception as exc:
        if not isinstance(exc, sa.exc.SQLAlchemyError) and _driver_error(exc) is None:
            raise
        raise database_error(exc, url) from exc


def database_error(exc: BaseException, url: str) -> InfrastructureError:
    """The operator's message for ``exc``, raised while using the database at ``url``."""
    shown = repr(mask_database_url(url))
    driver = _driver_error(exc) or exc
    text = _first_line(driver, url)
    try:
        parsed: sa.URL | None = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        parsed = None
    kind = parsed.drivername.partition("+")[0] if parsed is not None else ""
    if parsed is not None and kind == "sqlite":
        problem, fix = _sqlite(driver, text, parsed.database or ":memory:")
    elif parsed is not None and kind == "postgresql":
        problem, fix = _postgres(text, parsed)
    else:
        problem, fix = f"the database cannot be used: {text}", DATABASE_FORMS
    return InfrastructureError(SETTING, shown, problem, fix)


def _driver_error(exc: BaseException) -> BaseException | None:
    """The sqlite3 or psycopg exception behind ``exc``, or None.

    Behind means SQLAlchemy's ``orig``, a cause, or the exception being handled when
    ``exc`` was raised (a wrapper raised without ``from``).
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, sqlite3.Error | psycopg.Error):
            return current
        orig = getattr(current, "orig", None)
        todo += [
            orig if isinstance(orig, BaseException) else None,
            current.__cause__,
            None if current.__suppress_context__ else current.__context__,
        ]
    return None


_LIBPQ_PREFIX = re.compile(r'^connection to server at "[^"]*", port \d+ failed: (FATAL:\s+)?')


def _first_line(exc: BaseException, url: str) -> str:
    """The driver's message, first line, without a password it might quote."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = _LIBPQ_PREFIX.sub("", text.removeprefix("connection failed: "))
    try:
        password = sa.make_url(url).password
    except (sa.exc.ArgumentError, ValueError):
        password = None
    return text.replace(password, "***") if password else text


# -- SQLite ----------------------------------------------------------------------------------

_DAMAGED = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}


def _sqlite(driver: BaseException, text: str, database: str) -> tuple[str, str]:
    name = getattr(driver, "sqlite_errorname", "") or ""
    primary = "_".join(name.split("_")[:2])
    if primary in _DAMAGED:
        return (
            f"the file {database} is not a usable SQLite database ({text}): it is damaged, "
            "or it is not a database file",
            "stop every process using it and keep a copy; then restore the last good "
            "backup, or cancel the bot's open orders on the exchange and move the file away "
            f"to start afresh ({CRASH_RECOVERY}); or point durable.database_url at the "
            "right file",
        )
    fixes = {
        "SQLITE_CANTOPEN": "check that its folder exists and that the path names a file, "
        "not a folder",
        "SQLITE_READONLY": "make the file and its folder (which holds the -wal and -shm "
        "files) writable by the bot's user",
        "SQLITE_PERM": "make the file and its folder readable and writable by the bot's user",
        "SQLITE_BUSY": "another process held the database lock too long: run one process "
        "per bot and symbol, and keep other programs off the file",
        "SQLITE_FULL": "free disk space (the last committed state is intact)",
        "SQLITE_IOERR": "the operating system reported an I/O error: check the disk",
    }
    fix = fixes.get(
        primary,
        "check that the file is a database this bot wrote and that its folder is writable",
    )
    return f"SQLite cannot use the file {database}: {text}", fix


# -- PostgreSQL ------------------------------------------------------------------------------

_NO_DATABASE = re.compile(r'database "([^"]*)" does not exist')
_AUTH = re.compile(
    r'role "[^"]*" does not exist|password authentication failed|no pg_hba\.conf entry|'
    r"authentication failed|password is required|permission denied for database",
    re.IGNORECASE,
)
_REFUSED = re.compile(r"connection refused", re.IGNORECASE)
_UNKNOWN_HOST = re.compile(
    r"failed to resolve host|could not translate host name|name or service not known|"
    r"nodename nor servname|temporary failure in name resolution",
    re.IGNORECASE,
)
_SILENT = re.compile(r"timeout expired|timed out|connection timeout", re.IGNORECASE)
_NOT_POSTGRES = re.compile(
    r"ssl negotiation|server closed the connection unexpectedly|invalid response|"
    r"unsupported frontend protocol",
    re.IGNORECASE,
)
_HOST_FIX = "correct the host and port in durable.database_url"


def _postgres(text: str, url: sa.URL) -> tuple[str, str]:
    host = url.host or "the local socket"
    where = f"{host}:{url.port or 5432}" if url.host else host
    if found := _NO_DATABASE.search(text):
        name = found.group(1)
        return (
            f"the PostgreSQL server at {where} has no database {name!r}",
            f"create it (createdb -h {url.host or 'localhost'} -p {url.port or 5432} -U "
            f"{url.username or 'postgres'} {name}) or correct the database name in "
            "durable.database_url",
        )
    if _AUTH.search(text):
        return (
            f"the PostgreSQL server at {where} refused user {url.username or '(none)'!r}: {text}",
            "check the user name and password in durable.database_url, and that the "
            "server's pg_hba.conf lets this user connect to this database from this host",
        )
    if _REFUSED.search(text):
        return (
            f"nothing accepts connections at {where} (connection refused)",
            f"start PostgreSQL there, or {_HOST_FIX}",
        )
    if _UNKNOWN_HOST.search(text):
        return (
            f"the host {host!r} is not known (its name does not resolve)",
            "correct the host in durable.database_url, or check this machine's DNS",
        )
    if _SILENT.search(text):
        wait = url.query.get("connect_timeout", str(CONNECT_TIMEOUT_S))
        return (
            f"the server at {where} did not answer within the connect timeout ({wait} s)",
            f"check that PostgreSQL runs there and that no firewall drops the connection, "
            f"or {_HOST_FIX}; the wait is the URL's connect_timeout (e.g. "
            "?connect_timeout=30)",
        )
    if _NOT_POSTGRES.search(text):
        return (
            f"the server at {where} does not answer like PostgreSQL ({text})",
            f"{_HOST_FIX} (PostgreSQL listens on 5432 by default)",
        )
    return (
        f"PostgreSQL at {where} failed: {text}",
        "check that the server runs, that the URL's host, port, database, user and "
        "password are right, and that the user may create tables in the database",
    )


__all__ = ["SETTING", "database_error", "database_errors"]
