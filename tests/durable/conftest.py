"""Databases for Durable-engine tests: a fresh SQLite file, or a fresh PostgreSQL database.

PostgreSQL runs on 127.0.0.1:5432 (trust auth) on this machine and in CI; each test gets
its own database, dropped afterwards.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.scratch_db import scratch_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with nothing in it, of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    with scratch_database("mm_test") as url:
        yield url
