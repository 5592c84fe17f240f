"""The operators' control channel: commands queued in the bot's database (``mm_commands``).

An operator (``market-maker risk reset``, the dashboard) never calls into a running engine
from another thread or process: it *submits* a command row; the bot's runner takes the
pending ones between decisions, on its own thread (``LiveRunner``), carries each out
through the engine's operator verbs (``ops.operator``) and writes the outcome back. A
command submitted while the bot is stopped waits for its next start, where it is carried
out before the first decision (a ``stop`` sent to a stopped bot is refused then: there was
nothing to stop).

Each row keeps who asked (``actor``), when, the outcome (``done``, ``refused`` with the
reason, ``failed``) and a JSON result, so the table is also the audit log of operator
actions.
"""

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from market_maker.durable import schema
from market_maker.ops.command_kinds import CommandKind, CommandStatus


def wall_ms() -> int:
    """Wall-clock time now, milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Command:
    """One command and its outcome.

    Attributes:
        id: Its number, in submission order.
        kind: What was asked.
        args: Its arguments (e.g. ``{"level": "61800"}``, ``{"dry_run": true}``).
        actor: Who asked (``cli:user@host``, ``dashboard:127.0.0.1``).
        created_ms: When it was submitted (wall clock).
        status: Pending, done, refused or failed.
        result: What it did or why not (``{"message": ...}`` and details).
        done_ms: When the bot finished it (None while pending).
    """

    id: int
    kind: CommandKind
    args: Mapping[str, Any] = field(default_factory=dict)
    actor: str = ""
    created_ms: int = 0
    status: CommandStatus = CommandStatus.PENDING
    result: Mapping[str, Any] = field(default_factory=dict)
    done_ms: int | None = None

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``--json`` and the HTTP API."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "args": dict(self.args),
            "actor": self.actor,
            "created_ms": self.created_ms,
            "status": self.status.value,
            "result": dict(self.result),
            "done_ms": self.done_ms,
        }


class CommandQueue:
    """The ``mm_commands`` rows of one bot (bot id and symbol) in its database.

    Args:
        engine: The database (the bot's ``durable.database_url``), schema migrated.
        bot_id: The bot.
        symbol: Its symbol.
        clock: Wall-clock milliseconds (tests pass a fake).
    """

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

    def _mine(self) -> sa.ColumnElement[bool]:
        c = schema.commands.c
        return sa.and_(c.bot_id == self.bot_id, c.symbol == self.symbol)

    def submit(self, kind: CommandKind, args: Mapping[str, Any], actor: str) -> Command:
        """Queue ``kind`` for the bot; the command as stored (pending)."""
        created = self.clock()
        with self.engine.begin() as conn:
            row_id = conn.execute(
                schema.commands.insert().values(
                    bot_id=self.bot_id,
                    symbol=self.symbol,
                    kind=kind.value,
                    args=json.dumps(dict(args), sort_keys=True),
                    actor=actor[:128],
                    created_ms=created,
                    status=CommandStatus.PENDING.value,
                    result="{}",
                    done_ms=None,
                )
            ).inserted_primary_key
        assert row_id is not None
        return Command(int(row_id[0]), kind, dict(args), actor[:128], created)

    def pending(self) -> list[Command]:
        """The commands waiting, oldest first."""
        c = schema.commands.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(schema.commands)
                .where(self._mine(), c.status == CommandStatus.PENDING.value)
                .order_by(c.id)
            ).all()
        return [_command(row) for row in rows]

    def finish(self, command_id: int, status: CommandStatus, result: Mapping[str, Any]) -> None:
        """Record the outcome of a pending command (once: a finished one is left alone)."""
        c = schema.commands.c
        with self.engine.begin() as conn:
            conn.execute(
                schema.commands.update()
                .where(
                    self._mine(),
                    c.id == command_id,
                    c.status == CommandStatus.PENDING.value,
                )
                .values(
                    status=status.value,
                    result=json.dumps(dict(result), sort_keys=True),
                    done_ms=self.clock(),
                )
            )

    def get(self, command_id: int) -> Command | None:
        """One command, or None when this bot has no command of that number."""
        c = schema.commands.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(schema.commands).where(self._mine(), c.id == command_id)
            ).first()
        return None if row is None else _command(row)

    def recent(self, limit: int = 50) -> list[Command]:
        """The latest ``limit`` commands, newest first (the audit log of operator actions)."""
        c = schema.commands.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(schema.commands).where(self._mine()).order_by(c.id.desc()).limit(limit)
            ).all()
        return [_command(row) for row in rows]


def _command(row: sa.Row[Any]) -> Command:
    return Command(
        id=int(row.id),
        kind=CommandKind(row.kind),
        args=json.loads(row.args),
        actor=row.actor,
        created_ms=int(row.created_ms),
        status=CommandStatus(row.status),
        result=json.loads(row.result),
        done_ms=None if row.done_ms is None else int(row.done_ms),
    )


__all__ = ["Command", "CommandKind", "CommandQueue", "CommandStatus", "wall_ms"]
