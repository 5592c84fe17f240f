"""What an operator can ask a bot to do, and where a command stands.

Kept apart from ``ops.commands`` (the queue, on the bot's database) so that the CLI can
name a command without importing SQLAlchemy: every ``market-maker`` command, a backtest
too, imports the CLI's operator commands.
"""

from enum import StrEnum


class CommandKind(StrEnum):
    """What an operator can ask a bot to do."""

    STOP = "stop"
    RISK_RESET = "risk_reset"
    HALT = "halt"
    BREAKER_RESET = "breaker_reset"
    SLOT_RELEASE = "slot_release"
    CANCEL_OPENINGS = "cancel_openings"
    RECONCILE = "reconcile"


class CommandStatus(StrEnum):
    """Where a command stands."""

    PENDING = "pending"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"
