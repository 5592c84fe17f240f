"""The log setup of ``market-maker run``: structlog rendering for every ``logging`` call.

The package logs through the standard ``logging`` module (``logging.getLogger(__name__)``,
structured fields as ``extra``). ``configure_logging`` installs one handler on the root
logger whose formatter is structlog's ``ProcessorFormatter``, so every line, the package's
and its libraries' (DBOS, ccxt), and any ``structlog.get_logger()`` call render the same
way:

* ``LogFormat.TEXT``: one readable line per event, ``timestamp [level] event [logger]
  key=value ...`` (colours on a terminal);
* ``LogFormat.JSON``: one JSON object per line: ``timestamp``, ``level``, ``logger``,
  ``event`` and every structured field (decimals as exact strings, enums by value).

``--log-level`` applies to the package's loggers (``market_maker.*``); libraries log
warnings and errors only. Lines go to stderr, or to ``--log-file`` instead.

While a rich ``Live`` display runs (the progress view), lines must not garble it:
``Live`` replaces ``sys.stderr`` with a proxy that prints through its console, above the
live region. The terminal handler therefore looks ``sys.stderr`` up at every line instead
of keeping the stream it started with.
"""

import logging
import sys
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from market_maker.ops.log_settings import LogFileError, LogFormat, LogLevel

PACKAGE_LOGGER = "market_maker"
"""The logger ``--log-level`` applies to (every module's logger is under it)."""
LIBRARY_LEVEL = logging.WARNING
"""Least level of the lines libraries log (DBOS, ccxt, SQLAlchemy, websockets)."""


class TerminalHandler(logging.Handler):
    """Writes each formatted line to the ``sys.stderr`` of the moment.

    A rich ``Live`` display swaps ``sys.stderr`` for a proxy that prints above its live
    region; a handler holding the original stream would draw through the display.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Write the formatted record and a newline to the current stderr."""
        try:
            line = self.format(record)
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


_FORMATTER_KEYS = ("message", "asctime")
"""Attributes a formatter (another handler's) may have set on a record: not fields."""


def plain_values(logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: decimals as exact strings, enums by value (JSON and text).

    Also drops what another handler's formatter left on the record (``message``,
    ``asctime``), which ``ExtraAdder`` would otherwise take for fields.
    """
    for key in _FORMATTER_KEYS:
        event_dict.pop(key, None)
    for key, value in event_dict.items():
        if isinstance(value, Decimal):
            event_dict[key] = str(value)
        elif isinstance(value, Enum):
            event_dict[key] = value.value
    return event_dict


def _renderer(fmt: LogFormat, colors: bool) -> list[Processor]:
    if fmt is LogFormat.JSON:
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return [
        structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=structlog.dev.plain_traceback
        )
    ]


def formatter(fmt: LogFormat, *, colors: bool = False) -> structlog.stdlib.ProcessorFormatter:
    """The ``logging`` formatter rendering records (stdlib's and structlog's) in ``fmt``."""
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            timestamper,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            plain_values,
            *_renderer(fmt, colors),
        ],
    )


TRACEBACK = "Traceback (most recent call last)"


class ShortLibraryTracebacks(logging.Filter):
    """Library records (DBOS, ccxt) without their tracebacks: the text before, then the error.

    DBOS logs some background failures (a lost database, say) with the whole traceback in
    the message; an operator needs the error, not the frames. Our own records, and every
    record at ``--log-level debug``, pass unchanged.
    """

    def __init__(self, keep: Callable[[], bool]) -> None:
        super().__init__()
        self.keep = keep

    def filter(self, record: logging.LogRecord) -> bool:
        """Shorten ``record`` in place when it is a library's (always lets it through)."""
        if record.name.startswith(PACKAGE_LOGGER) or self.keep():
            return True
        text = record.getMessage()
        if TRACEBACK in text:
            before, _, frames = text.partition(TRACEBACK)
            lines = [line for line in frames.splitlines() if line.strip()]
            error = lines[-1].strip() if lines else ""
            record.msg, record.args = f"{before.rstrip()} {error}".strip(), None
        if record.exc_info:
            raised = record.exc_info[1]
            message = record.getMessage()
            record.msg = f"{message}: {raised!r}" if raised is not None else message
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


class LogSetup:
    """The installed log configuration; ``close`` (or leaving the ``with`` block) undoes it.

    Attributes:
        handler: The one handler installed on the root logger.
        path: The log file, when lines go to one.
    """

    def __init__(self, handler: logging.Handler, path: Path | None) -> None:
        self.handler = handler
        self.path = path
        root, package, dbos = (logging.getLogger(n) for n in ("", PACKAGE_LOGGER, "dbos"))
        self._saved = (root.level, package.level)
        self._dbos_guard = logging.NullHandler()  # DBOS then keeps its records propagating
        self._dbos = dbos

    def _install(self, level: LogLevel) -> None:
        root = logging.getLogger()
        self.handler.addFilter(ShortLibraryTracebacks(lambda: level.number <= logging.DEBUG))
        root.addHandler(self.handler)
        root.setLevel(max(LIBRARY_LEVEL, level.number))  # libraries: warnings at least
        logging.getLogger(PACKAGE_LOGGER).setLevel(level.number)
        # DBOS adds a console handler of its own, and stops propagation, unless its logger
        # already has a handler: a silent one routes its lines through ours.
        self._dbos.addHandler(self._dbos_guard)
        self._dbos.propagate = True
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=False,
        )

    def close(self) -> None:
        """Remove the handler, restore the levels and structlog's defaults, close the file."""
        root = logging.getLogger()
        root.removeHandler(self.handler)
        self._dbos.removeHandler(self._dbos_guard)
        root_level, package_level = self._saved
        root.setLevel(root_level)
        logging.getLogger(PACKAGE_LOGGER).setLevel(package_level)
        structlog.reset_defaults()
        self.handler.close()

    def __enter__(self) -> "LogSetup":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def configure_logging(
    fmt: LogFormat = LogFormat.TEXT,
    level: LogLevel = LogLevel.INFO,
    path: Path | None = None,
) -> LogSetup:
    """Render every log line in ``fmt`` at ``level`` on stderr, or in the file ``path``.

    The file is appended to (a restarted bot continues its log). Use the result as a
    context manager, or ``close`` it, to undo the setup.

    Raises:
        LogFileError: ``path`` cannot be opened for writing (the message names
            ``--log-file``, the path and the fix).
    """
    handler: logging.Handler
    if path is None:
        handler = TerminalHandler()
        colors = fmt is LogFormat.TEXT and _is_terminal(sys.stderr)
    else:
        try:
            handler = logging.FileHandler(path, mode="a", encoding="utf-8")
        except OSError as exc:
            raise LogFileError(
                f"--log-file {path}: cannot open it for writing ({exc.strerror or exc}); "
                "create its folder, or give a writable file path"
            ) from None
        colors = False
    handler.setFormatter(formatter(fmt, colors=colors))
    setup = LogSetup(handler, path)
    setup._install(level)
    return setup


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty()) if callable(isatty) else False


__all__ = [
    "LIBRARY_LEVEL",
    "PACKAGE_LOGGER",
    "LogFileError",
    "LogFormat",
    "LogLevel",
    "LogSetup",
    "TerminalHandler",
    "configure_logging",
    "formatter",
    "plain_values",
]
