"""What a running bot publishes about itself (``mm_runs``): since when, its heartbeat, its view.

One row per bot (bot id and symbol). ``BotRun`` writes it: at the start (``started_ms``,
pid, host), then every beat (``heartbeat_ms`` and the bot's *view*: its read model plus
what only the running process knows, as JSON), and at a clean stop (``stopped_ms``).
``read_run`` reads it for ``market-maker status`` and friends. Whether the bot runs *now*
is the bot lock's answer (``durable.bot_lock.bot_running``), not the heartbeat's: a killed
bot leaves a row without ``stopped_ms``, which the heartbeat's age then explains.
"""

import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from market_maker.durable import schema
from market_maker.ops.commands import wall_ms


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The latest run of a bot as it published it.

    Attributes:
        started_ms: When it started (wall clock).
        heartbeat_ms: Its latest beat.
        stopped_ms: When it stopped cleanly (None: running, or killed).
        pid: Its process id.
        host: Its host name.
        view: What it published at its latest beat.
    """

    started_ms: int
    heartbeat_ms: int
    stopped_ms: int | None
    pid: int
    host: str
    view: Mapping[str, Any]


class BotRun:
    """Writes one bot's ``mm_runs`` row (from the bot's own thread)."""

    def __init__(
        self,
        engine: sa.Engine,
        bot_id: str,
        symbol: str,
        *,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.engine = engine
        self.bot_id = bot_id
        self.symbol = symbol
        self.clock = clock
        self.started_ms: int | None = None

    def _key(self) -> sa.ColumnElement[bool]:
        c = schema.runs.c
        return sa.and_(c.bot_id == self.bot_id, c.symbol == self.symbol)

    def start(self, view: Mapping[str, Any]) -> None:
        """Record the start of a run (replacing the previous run's row)."""
        now = self.clock()
        self.started_ms = now
        row = {
            "started_ms": now,
            "heartbeat_ms": now,
            "stopped_ms": None,
            "pid": os.getpid(),
            "host": socket.gethostname()[:128],
            "view": json.dumps(dict(view), sort_keys=True),
        }
        with self.engine.begin() as conn:
            done = conn.execute(schema.runs.update().where(self._key()).values(**row))
            if done.rowcount == 0:
                conn.execute(
                    schema.runs.insert().values(bot_id=self.bot_id, symbol=self.symbol, **row)
                )

    def beat(self, view: Mapping[str, Any]) -> None:
        """Publish the bot's view now."""
        with self.engine.begin() as conn:
            conn.execute(
                schema.runs.update()
                .where(self._key())
                .values(heartbeat_ms=self.clock(), view=json.dumps(dict(view), sort_keys=True))
            )

    def stop(self, view: Mapping[str, Any] | None = None) -> None:
        """Record a clean stop (with the final view when given)."""
        values: dict[str, Any] = {"stopped_ms": self.clock()}
        if view is not None:
            values["view"] = json.dumps(dict(view), sort_keys=True)
        with self.engine.begin() as conn:
            conn.execute(schema.runs.update().where(self._key()).values(**values))


def read_run(engine: sa.Engine, bot_id: str, symbol: str) -> RunInfo | None:
    """The bot's latest run, or None when it never ran with this build (or has no table)."""
    c = schema.runs.c
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("mm_runs"):
            return None
        row = conn.execute(
            sa.select(schema.runs).where(c.bot_id == bot_id, c.symbol == symbol)
        ).first()
    if row is None:
        return None
    return RunInfo(
        int(row.started_ms),
        int(row.heartbeat_ms),
        None if row.stopped_ms is None else int(row.stopped_ms),
        int(row.pid),
        row.host,
        json.loads(row.view),
    )


__all__ = ["BotRun", "RunInfo", "read_run"]
