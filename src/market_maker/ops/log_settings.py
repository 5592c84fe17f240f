"""The settings of the log setup, without the setup: cheap to import for the CLI's options.

``market_maker.ops.logs`` (which imports structlog) applies them.
"""

import logging
from enum import Enum

from market_maker.domain.errors import MarketMakerError


class LogFormat(Enum):
    """How log lines are written."""

    TEXT = "text"
    """Readable lines: timestamp, level, event, logger and ``key=value`` fields."""
    JSON = "json"
    """One JSON object per line, for log collectors."""


class LogLevel(Enum):
    """Least level of the package's log lines."""

    DEBUG = "debug"
    """Everything, including each order and fill of a backtest and each failed retry."""
    INFO = "info"
    """Orders, fills, risk events, outages starting and ending, reconciliations."""
    WARNING = "warning"
    """What needs attention: outages, unknown outcomes, reconciliation corrections."""
    ERROR = "error"
    """Failures only."""

    @property
    def number(self) -> int:
        """The ``logging`` level number."""
        return int(logging.getLevelName(self.value.upper()))


class LogFileError(MarketMakerError):
    """The log file cannot be opened for writing."""


__all__ = ["LogFileError", "LogFormat", "LogLevel"]
