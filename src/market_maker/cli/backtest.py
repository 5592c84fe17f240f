"""``market-maker backtest``: run a configuration over candles and report."""

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeRemainingColumn

from market_maker.backtest.report_html import write_html
from market_maker.backtest.report_json import write_json
from market_maker.backtest.report_terminal import print_summary
from market_maker.backtest.result import BacktestResult
from market_maker.backtest.runner import run_backtest
from market_maker.config.app import AppConfig
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.domain.errors import OutputError

PROGRESS_AFTER_S = 1.0
"""A progress bar appears once a run has taken this long."""


class _LazyProgress:
    """A progress bar that only shows up on runs longer than ``PROGRESS_AFTER_S``."""

    def __init__(self, total: int, console: Console) -> None:
        self.total = total
        self.console = console
        self.started = time.perf_counter()
        self.bar: Progress | None = None
        self.task = TaskID(0)

    def __call__(self, done: int) -> None:
        if self.bar is None:
            if time.perf_counter() - self.started < PROGRESS_AFTER_S:
                return
            self.bar = Progress(
                "backtest",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("candles", total=self.total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_backtest_command(
    config: AppConfig,
    data: Path | None,
    *,
    json_path: Path | None,
    html_path: Path | None,
    skip_bad_rows: bool,
    allow_gaps: bool,
    console: Console,
) -> BacktestResult:
    """Load the candles, run, print the summary and write the requested reports."""
    source = data if data is not None else sample_candles_path()
    series = load_candles(
        source, symbol=config.symbol, skip_bad_rows=skip_bad_rows, allow_gaps=allow_gaps
    )
    for problem in series.skipped:
        console.print(f"skipped {problem}", style="yellow", markup=False)
    progress = _LazyProgress(len(series.candles), console)
    try:
        result = run_backtest(config, series.candles, progress=progress)
    finally:
        progress.close()
    print_summary(result, console)
    if json_path is not None:
        _write(write_json, result, json_path, "JSON")
        console.print(f"JSON report: {json_path}", markup=False)
    if html_path is not None:
        _write(write_html, result, html_path, "HTML")
        console.print(f"HTML report: {html_path}", markup=False)
    return result


def _write(
    writer: Callable[[BacktestResult, Path], None], result: BacktestResult, path: Path, kind: str
) -> None:
    """Write a report, creating its folder; turn file-system failures into a clear error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(result, path)
    except OSError as exc:
        raise OutputError(
            f"cannot write the {kind} report to {path}: {exc.strerror or exc}; "
            "choose a path in a folder you can write to"
        ) from exc
