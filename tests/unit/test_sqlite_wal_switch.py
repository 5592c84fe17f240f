"""Bots starting together on a fresh SQLite file: the switch to WAL waits for the others.

Two processes switching one fresh file to WAL at the same instant: SQLite answers one of
them "database is locked" at once, without its busy timeout (seen: 2 starts in 30 and 3 in
80 of four processes opening a fresh file together failed; with the retry none in 120).
The engine here answers as SQLite did, a given number of times, then lets the switch
through; the real switch on a real file is checked at the end.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from market_maker.durable.database import WAL_WAIT_S, create_engine, enable_wal

LOCKED = sa.exc.OperationalError(
    "PRAGMA journal_mode=WAL", {}, sqlite3.OperationalError("database is locked")
)


class Contended:
    """An engine whose file another process is switching: locked ``busy`` times, then free."""

    def __init__(self, real: sa.Engine, busy: int, error: Exception = LOCKED) -> None:
        self.real, self.busy, self.error, self.tries = real, busy, error, 0

    @contextmanager
    def connect(self) -> Iterator[Any]:
        self.tries += 1
        if self.tries <= self.busy:
            raise self.error
        with self.real.connect() as conn:
            yield conn


def journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def test_a_locked_file_is_tried_again_until_the_switch_goes_through(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    engine = Contended(create_engine(f"sqlite:///{path}", connect=False), busy=3)
    waits: list[float] = []
    enable_wal(engine, sleep=waits.append)  # type: ignore[arg-type]
    assert engine.tries == 4 and waits == [0.01, 0.02, 0.04]
    assert journal_mode(path) == "wal"


def test_it_gives_up_after_its_deadline_with_the_databases_error(tmp_path: Path) -> None:
    engine = Contended(create_engine(f"sqlite:///{tmp_path / 'x.db'}", connect=False), 10**6)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(sa.exc.OperationalError, match="database is locked"):
        enable_wal(engine, sleep=sleep, monotonic=lambda: now[0])  # type: ignore[arg-type]
    assert WAL_WAIT_S <= now[0] < WAL_WAIT_S + 1


def test_any_other_error_is_not_retried(tmp_path: Path) -> None:
    other = sa.exc.OperationalError("x", {}, sqlite3.OperationalError("disk I/O error"))
    engine = Contended(create_engine(f"sqlite:///{tmp_path / 'x.db'}", connect=False), 5, other)
    with pytest.raises(sa.exc.OperationalError, match="disk I/O error"):
        enable_wal(engine, sleep=lambda s: None)  # type: ignore[arg-type]
    assert engine.tries == 1


def test_create_engine_leaves_the_file_in_wal(tmp_path: Path) -> None:
    create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert journal_mode(tmp_path / "x.db") == "wal"
