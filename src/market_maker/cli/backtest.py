"""``market-maker backtest``: run a configuration over candles or trade ticks and report.

Before anything is loaded or simulated, the command checks its paths: no report may
overwrite an input (``--config``, ``--data``, ``--trades``) or another report, and every
report path must be writable (its folder is created if missing). A long run therefore never
fails only at the end, and never destroys its own input.
"""

import ctypes
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeRemainingColumn

from market_maker.backtest.report_html import write_html
from market_maker.backtest.report_json import write_json
from market_maker.backtest.report_terminal import print_summary
from market_maker.backtest.result import BacktestResult
from market_maker.backtest.runner import run_backtest, run_trade_backtest
from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, default_ticks_config_path
from market_maker.data.candles import load_candles
from market_maker.data.sample import SAMPLE_ARGUMENT, sample_candles_path, sample_trades_path
from market_maker.data.trades import load_trades
from market_maker.domain.errors import MarketMakerError, OutputError

PROGRESS_AFTER_S = 1.0
"""A progress bar appears once a run has taken this long."""

SAMPLE = SAMPLE_ARGUMENT
"""``--trades sample`` names the bundled trade sample (write ``./sample`` for a file)."""

DEFAULT_CANDLE_S = 60
"""Length of the candles built from trades when ``--candles`` is not given, seconds."""

REPORTS = {"--json": "JSON", "--html": "HTML"}
"""The output options and the report each writes."""

MMAP_THRESHOLD_BYTES = 128 * 1024
"""Blocks from this size up come straight from the OS (glibc's default, pinned)."""
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def pin_mmap_threshold() -> bool:
    """Keep glibc from serving large blocks from its heap once large blocks were freed.

    glibc raises its mmap threshold each time a large block is freed (up to 32 MB), so the
    candle columns and the fill buffer, which grow by ``realloc`` while a run goes on, then
    come from the heap, where a grown block may leave its old copy behind as a hole: the
    peak memory of a run grows more than its data does. Setting the threshold once turns
    that adjustment off; from then on large blocks are mapped and grow in place. Returns
    whether it was set (not on a C library without ``mallopt``, e.g. macOS).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


@dataclass(frozen=True, slots=True)
class BacktestPaths:
    """What one ``backtest`` command reads and writes, defaults resolved.

    Attributes:
        config: The configuration file.
        data: The candle file (``None`` when trading on ticks).
        trades: The trade file (``None`` when trading on candles).
        candle_s: Length of the candles built from the trades, seconds.
        json_path: Where the JSON report goes, if anywhere.
        html_path: Where the HTML report goes, if anywhere.
        refine: Pieces each candle is walked as (1 = the candles as they are).
    """

    config: Path
    data: Path | None
    trades: Path | None
    candle_s: int
    json_path: Path | None
    html_path: Path | None
    refine: int = 1

    @property
    def inputs(self) -> list[tuple[str, Path]]:
        """``(option, path)`` of every file the run reads."""
        found = [("--config", self.config), ("--data", self.data), ("--trades", self.trades)]
        return [(option, path) for option, path in found if path is not None]

    @property
    def outputs(self) -> list[tuple[str, Path]]:
        """``(option, path)`` of every file the run writes."""
        found = [("--json", self.json_path), ("--html", self.html_path)]
        return [(option, path) for option, path in found if path is not None]


def backtest_paths(
    config: Path | None,
    data: Path | None,
    trades: str | None,
    candle_s: int | None,
    json_path: Path | None,
    html_path: Path | None,
    refine: int = 1,
) -> BacktestPaths:
    """Check the options against each other and resolve the defaults; touches no file.

    Raises:
        MarketMakerError: ``--trades`` with ``--data``, ``--candles`` without ``--trades`` or
            below 1, ``--refine`` below 1 or with ``--trades``, or a report path that is an
            input or another report's path.
    """
    if trades is not None and data is not None:
        raise MarketMakerError(
            f"--trades {trades} and --data {data} cannot be used together: a backtest runs "
            "on trade ticks or on candles; pass only one of them"
        )
    if candle_s is not None and trades is None:
        raise MarketMakerError(
            f"--candles {candle_s} only applies to --trades (it sets the candles built from "
            "trades); remove it, or add --trades PATH"
        )
    if candle_s is not None and candle_s < 1:
        raise MarketMakerError(
            f"--candles: expected a candle length of at least 1 second, found {candle_s}; "
            f"pass e.g. --candles {DEFAULT_CANDLE_S}"
        )
    if refine < 1:
        raise MarketMakerError(
            f"--refine: expected a whole number of pieces per candle, at least 1, found "
            f"{refine}; pass e.g. --refine 20"
        )
    if refine > 1 and trades is not None:
        raise MarketMakerError(
            f"--refine {refine} only applies to candles (it walks each candle as finer "
            "pieces); trade ticks are as fine as the data gets: remove --refine"
        )
    trades_path = None
    if trades is not None:
        trades_path = sample_trades_path() if trades == SAMPLE else Path(trades)
    if config is None:
        config = (
            default_ticks_config_path() if trades is not None else default_backtest_config_path()
        )
    paths = BacktestPaths(
        config=config,
        data=data if data is not None or trades is not None else sample_candles_path(),
        trades=trades_path,
        candle_s=candle_s if candle_s is not None else DEFAULT_CANDLE_S,
        json_path=json_path,
        html_path=html_path,
        refine=refine,
    )
    check_distinct(paths.inputs, paths.outputs)
    return paths


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: equal once resolved, or one inode (hard links)."""
    if _resolved(a) == _resolved(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): resolving said all there is to say
        return False


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return path.absolute()


def check_distinct(inputs: Sequence[tuple[str, Path]], outputs: Sequence[tuple[str, Path]]) -> None:
    """Refuse a report path that is an input's path or another report's.

    Raises:
        OutputError: Naming both options and the path.
    """
    for i, (option, path) in enumerate(outputs):
        for input_option, input_path in inputs:
            if same_file(path, input_path):
                raise OutputError(
                    f"{option} {_shown(path)} is the same file as the input {input_option} "
                    f"{_shown(input_path)}: writing the report would destroy it; give "
                    f"{option} another path"
                )
        for other_option, other in outputs[:i]:
            if same_file(path, other):
                raise OutputError(
                    f"{other_option} {_shown(other)} and {option} {_shown(path)} are the same "
                    "file: one report would overwrite the other; give each report its own path"
                )


def _shown(path: Path) -> str:
    """The path as given, and where it leads when that differs (``./a`` -> ``/x/a``)."""
    resolved = _resolved(path)
    return str(path) if resolved == path else f"{path} (= {resolved})"


def check_writable(outputs: Sequence[tuple[str, Path]]) -> None:
    """Make sure every report can be written, before the run.

    Creates missing folders; opens an existing file for appending (nothing is truncated or
    changed); creates a new file and removes it again.

    Raises:
        OutputError: A path cannot be written, naming its option and the reason.
    """
    for option, path in outputs:
        try:
            if (blocker := _file_in_the_way(path.parent)) is not None:
                raise NotADirectoryError(0, f"{blocker} is a file, not a folder")
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise IsADirectoryError(0, "it is a folder")
            if path.exists() or path.is_symlink():
                with path.open("ab"):
                    pass
            else:
                with path.open("xb"):
                    pass
                path.unlink()
        except OSError as exc:
            raise _write_error(option, path, exc) from exc


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing ancestor of ``folder`` (itself included) when it is no folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _write_error(option: str, path: Path, exc: OSError) -> OutputError:
    return OutputError(
        f"cannot write the {REPORTS[option]} report to {path} ({option}): "
        f"{exc.strerror or exc}; choose a path in a folder you can write to"
    )


class _LazyProgress:
    """A progress bar that only shows up on runs longer than ``PROGRESS_AFTER_S``."""

    def __init__(self, total: int, console: Console, unit: str) -> None:
        self.total = total
        self.console = console
        self.unit = unit
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
            self.task = self.bar.add_task(self.unit, total=self.total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _check_input(option: str, path: Path, hint: str) -> None:
    if not path.exists():
        raise MarketMakerError(f"{option} {path}: no such file; {hint}")
    if path.is_dir():
        raise MarketMakerError(f"{option} {path}: is a folder, not a file; {hint}")


def run_backtest_command(
    config: AppConfig,
    paths: BacktestPaths,
    *,
    skip_bad_rows: bool,
    allow_gaps: bool,
    console: Console,
) -> BacktestResult:
    """Check the paths, load the data, run, print the summary and write the reports."""
    if paths.trades is not None:
        _check_input(
            "--trades",
            paths.trades,
            "pass a trade CSV (.csv or .csv.gz), or `--trades sample` for the bundled sample",
        )
    if paths.data is not None:
        _check_input(
            "--data", paths.data, "pass a candle file (.csv, .csv.gz, .feather or .parquet)"
        )
    check_writable(paths.outputs)
    pin_mmap_threshold()
    run: Callable[[_LazyProgress], BacktestResult]
    if paths.trades is not None:
        trades = load_trades(paths.trades, symbol=config.symbol, skip_bad_rows=skip_bad_rows)
        skipped, total, unit = trades.skipped, len(trades), "trades"

        def run(progress: _LazyProgress) -> BacktestResult:
            return run_trade_backtest(
                config, trades.trades, candle_s=paths.candle_s, progress=progress
            )

    else:
        assert paths.data is not None  # backtest_paths gives one or the other
        series = load_candles(
            paths.data, symbol=config.symbol, skip_bad_rows=skip_bad_rows, allow_gaps=allow_gaps
        )
        skipped, total, unit = series.skipped, len(series.candles), "candles"

        def run(progress: _LazyProgress) -> BacktestResult:
            return run_backtest(config, series.candles, progress=progress, refine=paths.refine)

    for problem in skipped:
        console.print(f"skipped {problem}", style="yellow", markup=False)
    progress = _LazyProgress(total, console, unit)
    try:
        result = run(progress)
    finally:
        progress.close()
    print_summary(result, console)
    writers = {"--json": write_json, "--html": write_html}
    for option, path in paths.outputs:
        _write(writers[option], result, path, option)
        console.print(f"{REPORTS[option]} report: {path}", markup=False)
    return result


def _write(
    writer: Callable[[BacktestResult, Path], None], result: BacktestResult, path: Path, option: str
) -> None:
    """Write a report, creating its folder; turn file-system failures into a clear error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(result, path)
    except OSError as exc:
        raise _write_error(option, path, exc) from exc
