"""A throwaway PostgreSQL database: for the test suite, the benchmarks and crash-harness runs.

Creates an empty database with a unique name through an administrative connection and
drops it afterwards (``WITH (FORCE)``: connections a test left open do not block the drop).
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

LOCAL_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
"""The local server of the project's machines and CI (trust authentication)."""


@contextmanager
def scratch_database(prefix: str, server: str = LOCAL_SERVER) -> Iterator[str]:
    """The URL of a new, empty database on ``server`` named ``{prefix}_{random}``; dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield f"{server}/{name}"
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


__all__ = ["LOCAL_SERVER", "scratch_database"]
