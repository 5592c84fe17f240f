"""Processes of several bots starting at once on a fresh database migrate it once, all fine."""

import subprocess
import sys

import pytest
import sqlalchemy as sa

from market_maker.durable import migrate

pytestmark = pytest.mark.timeout(120)

PROCESSES = 4
MIGRATOR = """\
import sys
from market_maker.durable import database, migrate
engine = database.create_engine(sys.argv[1])
sys.stdin.read(1)  # every process is ready: go together
migrate.upgrade(engine)
engine.dispose()
"""


def test_processes_migrating_a_fresh_database_together_all_succeed(database_url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATOR, database_url],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for proc in procs:  # release them as close together as the pipes allow
            assert proc.stdin is not None
            proc.stdin.write("x")
            proc.stdin.flush()
        errors = [proc.communicate(timeout=60)[1] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert [proc.returncode for proc in procs] == [0] * PROCESSES, errors
    engine = sa.create_engine(database_url)
    try:
        assert migrate.current_revision(engine) == migrate.HEAD
    finally:
        engine.dispose()
