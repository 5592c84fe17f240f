"""The operations side of ``market-maker run``: its log options and its alerts.

``--log-format``, ``--log-level`` and ``--log-file`` are declared here once (the same
names on both ways of running: with ``--config`` and paper trading); ``run_logging``
installs the log setup (``market_maker.ops.logs``) for the command. ``run_alerts`` starts
the bot's alerts when its configuration names a destination, and stops them (delivering
what is queued, within a bound) when the run ends.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from market_maker.config.app import AppConfig
from market_maker.ops.log_settings import LogFormat, LogLevel

if TYPE_CHECKING:
    from market_maker.live.runner import LiveRunner
    from market_maker.ops.alert_sources import RunAlerts
    from market_maker.ops.logs import LogSetup

LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        case_sensitive=False,
        help="Log lines as readable text (key=value fields) or one JSON object per line.",
    ),
]
LogLevelOption = Annotated[
    LogLevel | None,
    typer.Option(
        "--log-level",
        case_sensitive=False,
        help="Least level logged: debug, info, warning, error [default: info with --config "
        "(orders, fills, risk events); warning for paper trading, whose display shows them].",
        show_default=False,
    ),
]
LogFileOption = Annotated[
    Path | None,
    typer.Option(
        "--log-file",
        help="Append the log lines to this file instead of writing them to stderr.",
        show_default=False,
        dir_okay=False,
    ),
]

PollHook = Callable[["LiveRunner"], None]
"""The runner's ``on_poll`` hook."""


def run_logging(
    fmt: LogFormat, level: LogLevel | None, path: Path | None, *, paper: bool
) -> "LogSetup":
    """The log setup of ``run`` (undo it with ``close`` or a ``with`` block).

    Raises:
        LogFileError: ``--log-file`` cannot be opened for writing.
    """
    from market_maker.ops.logs import configure_logging

    default = LogLevel.WARNING if paper else LogLevel.INFO
    return configure_logging(fmt, level or default, path)


@contextmanager
def run_alerts(config: AppConfig) -> Iterator["RunAlerts | None"]:
    """The run's alerts while the block runs (None: no destination configured).

    Raises:
        MarketMakerError: A Telegram chat is configured without a usable token.
    """
    from market_maker.ops.alert_sources import RunAlerts
    from market_maker.ops.alerts import alerter_from_config

    alerter = alerter_from_config(config, os.environ)
    if alerter is None:
        yield None
        return
    with alerter:
        yield RunAlerts(alerter, config.alerts)


def then(first: PollHook, second: PollHook | None) -> PollHook:
    """One poll hook that runs ``first``, then ``second`` (when given)."""
    if second is None:
        return first

    def both(runner: "LiveRunner") -> None:
        first(runner)
        second(runner)

    return both


__all__ = [
    "LogFileOption",
    "LogFormatOption",
    "LogLevelOption",
    "run_alerts",
    "run_logging",
    "then",
]
