"""The log setup: JSON and text rendering of stdlib and structlog calls, levels, file, Live."""

import io
import json
import logging
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from rich.console import Console
from rich.live import Live
from rich.text import Text

from market_maker.domain.enums import Side
from market_maker.ops.logs import LogFileError, LogFormat, LogLevel, configure_logging

PKG = logging.getLogger("market_maker.tests.logs")
LIB = logging.getLogger("somelibrary.module")


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_json_lines_carry_the_event_its_level_logger_time_and_every_structured_field(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.log"
    with configure_logging(LogFormat.JSON, LogLevel.INFO, path):
        PKG.info(
            "order placed: %s",
            "grid1-BTCUSDT-B1-x",
            extra={
                "slot": Decimal("100.50"),
                "client_order_id": "grid1-BTCUSDT-B1-x",
                "workflow_id": None,
                "side": Side.BUY,
            },
        )
        structlog.get_logger("market_maker.tests.native").warning("native", retries=3)
    first, second = (json.loads(line) for line in lines(path))
    assert first["event"] == "order placed: grid1-BTCUSDT-B1-x"
    assert first["level"] == "info"
    assert first["logger"] == "market_maker.tests.logs"
    assert first["timestamp"].endswith("Z")
    # exact decimals as strings, enums by value, None as null
    assert (first["slot"], first["side"], first["workflow_id"]) == ("100.50", "BUY", None)
    assert first["client_order_id"] == "grid1-BTCUSDT-B1-x"
    assert set(first) == {
        *("event", "level", "logger", "timestamp"),
        *("slot", "client_order_id", "workflow_id", "side"),
    }
    # a structlog call renders through the same formatter, with the same keys
    assert second == {
        "event": "native",
        "retries": 3,
        "level": "warning",
        "logger": "market_maker.tests.native",
        "timestamp": second["timestamp"],
    }


def test_text_lines_are_readable_with_key_value_fields(tmp_path: Path) -> None:
    path = tmp_path / "bot.log"
    with configure_logging(LogFormat.TEXT, LogLevel.INFO, path):
        PKG.warning("exchange unavailable", extra={"error": "timed out", "retry_in_s": 1.0})
    (line,) = lines(path)
    assert "[warning  ] exchange unavailable" in line
    assert "[market_maker.tests.logs]" in line
    assert "error='timed out'" in line and "retry_in_s=1.0" in line
    assert "message=" not in line  # what pytest's own handler left on the record
    assert "\x1b[" not in line  # no colour codes in a file


def test_the_level_applies_to_the_package_and_libraries_log_warnings_at_least(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.log"
    with configure_logging(LogFormat.JSON, LogLevel.DEBUG, path):
        PKG.debug("package debug")
        LIB.info("library info")
        LIB.warning("library warning")
    with configure_logging(LogFormat.JSON, LogLevel.ERROR, path):  # appended to
        PKG.warning("package warning")
        LIB.warning("library warning, hidden at error")
        PKG.error("package error")
    events = [json.loads(line)["event"] for line in lines(path)]
    assert events == ["package debug", "library warning", "package error"]


def test_closing_restores_the_logging_state(tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with configure_logging(LogFormat.JSON, LogLevel.DEBUG, tmp_path / "bot.log") as setup:
        assert setup.handler in root.handlers
    assert root.handlers == handlers and root.level == level
    assert not structlog.is_configured()


@pytest.mark.parametrize("name", ["missing/bot.log", "."])
def test_a_log_file_that_cannot_be_opened_names_the_option_and_the_fix(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    with pytest.raises(LogFileError) as raised:
        configure_logging(LogFormat.JSON, LogLevel.INFO, path)
    message = str(raised.value)
    assert message.startswith(f"--log-file {path}: cannot open it for writing")
    assert "create its folder, or give a writable file path" in message


def test_lines_go_to_the_stderr_of_the_moment(capsys: pytest.CaptureFixture[str]) -> None:
    with configure_logging(LogFormat.JSON, LogLevel.INFO):
        PKG.info("to stderr")
    captured = capsys.readouterr()
    assert json.loads(captured.err)["event"] == "to stderr"
    assert captured.out == ""


def test_lines_logged_during_a_live_display_print_above_it_through_its_console(
    capsys: pytest.CaptureFixture[str],
) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=200, color_system=None)
    with configure_logging(LogFormat.TEXT, LogLevel.INFO):
        live = Live(Text("LIVE REGION"), console=console, auto_refresh=False)
        before = sys.stderr
        live.start()
        try:
            assert sys.stderr is not before  # Live redirected it
            PKG.warning("during the display")
            live.update(Text("LIVE REGION 2"), refresh=True)
        finally:
            live.stop()
    drawn = screen.getvalue()
    assert "during the display" in drawn  # printed by the live console, above its region
    line_at = drawn.index("during the display")
    assert drawn.index("LIVE REGION 2") > line_at  # the region was drawn again below it
    assert "during the display" not in capsys.readouterr().err  # not written past the display


def test_library_tracebacks_shrink_to_their_error_and_ours_stay_whole() -> None:
    from market_maker.ops.logs import ShortLibraryTracebacks

    shrink = ShortLibraryTracebacks(lambda: False)
    text = (
        "Exception polling schedules: Traceback (most recent call last):\n"
        '  File "x.py", line 1, in f\n    g()\n'
        "sqlalchemy.exc.OperationalError: connection failed\n"
    )
    record = logging.LogRecord("dbos", logging.WARNING, "x", 1, text, None, None)
    assert shrink.filter(record)
    assert record.getMessage() == (
        "Exception polling schedules: sqlalchemy.exc.OperationalError: connection failed"
    )
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        info = sys.exc_info()
    with_info = logging.LogRecord("ccxt.base", logging.ERROR, "x", 1, "failed %s", ("call",), info)
    assert shrink.filter(with_info)
    assert (
        with_info.exc_info is None and with_info.getMessage() == "failed call: ValueError('boom')"
    )
    ours = logging.LogRecord("market_maker.x", logging.WARNING, "x", 1, text, None, info)
    assert shrink.filter(ours) and ours.getMessage() == text and ours.exc_info is info
    debug = ShortLibraryTracebacks(lambda: True)
    kept = logging.LogRecord("dbos", logging.WARNING, "x", 1, text, None, None)
    assert debug.filter(kept) and kept.getMessage() == text
