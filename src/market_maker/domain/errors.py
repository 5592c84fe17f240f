"""The project's own error hierarchy.

Third-party errors are translated into these at the edge, so callers only ever handle
ours. Every message says what was expected, what was found, and what to do.
"""


class MarketMakerError(Exception):
    """Base class of every error this project raises on purpose."""


class InvalidDecimalError(MarketMakerError, ValueError):
    """A string that should hold an exact decimal number does not."""


class InstrumentError(MarketMakerError, ValueError):
    """Instrument rules are missing or inconsistent (tick size, step size, minimums)."""


class ClientOrderIdError(MarketMakerError, ValueError):
    """A client order id cannot be built within the exchange's limits, or cannot be decoded."""


class IllegalTransitionError(MarketMakerError):
    """A slot received an event its current status does not accept."""


class StateIntegrityError(MarketMakerError):
    """A persisted state snapshot failed verification (checksum mismatch or bad content).

    This is never turned into "no state": starting fresh would orphan live orders.
    """


class OutputError(MarketMakerError):
    """A report or other output file could not be written."""


class InfrastructureError(MarketMakerError):
    """A database or an exchange the configuration points at cannot be used.

    The message has the shape of a configuration problem: the setting, what went wrong,
    the value (a database URL's password masked), then an indented ``fix:`` line.

    Attributes:
        setting: Dotted name of the setting, e.g. ``durable.database_url``.
        value: The setting's value as shown (never a password or a key).
        problem: What went wrong, in plain words.
        fix: What the operator does about it.
    """

    def __init__(self, setting: str, value: str, problem: str, fix: str) -> None:
        self.setting = setting
        self.value = value
        self.problem = problem
        self.fix = fix
        super().__init__(f"{setting}: {problem} (got {value})\n  fix: {fix}")
