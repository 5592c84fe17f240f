"""``market-maker download``: candles from an exchange (through ccxt) into a candle file.

The command checks its arguments, opens the output (continuing an existing file after its
last candle), pages through the exchange's closed candles and shows a progress bar (one
plain line per page when the output is not a terminal). Bad arguments exit with status 2
and a message naming the value and the fix; an exchange that stays unreachable exits
with status 1 (run the same command again: it resumes); Ctrl-C keeps every page written.
"""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from market_maker.data.download import DEFAULT_LIMIT, DownloadReport, download_candles, parse_time
from market_maker.exchanges.base import RetryableExchangeError

EXIT_UNREACHABLE = 1
"""Exit status when the exchange stayed unreachable (the file keeps what was written)."""


def _utc(ms: int | None) -> str:
    if ms is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000)) + " UTC"


def download(
    symbol: Annotated[
        str, typer.Option("--symbol", "-s", help="Unified symbol: BTC/USDT, BTC/USDT:USDT.")
    ],
    since: Annotated[
        str,
        typer.Option(help="First open time: 2025-01-01 or 2025-01-01T12:00 (UTC)."),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Output: .csv (exact decimals), .parquet or .feather."),
    ],
    exchange: Annotated[str, typer.Option(help="ccxt's exchange id.")] = "binance",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle length.")] = "1m",
    until: Annotated[
        str | None,
        typer.Option(
            help="Stop before this open time (exclusive); default: now.", show_default=False
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Another server speaking the exchange's API (e.g. the paper exchange: "
            "http://127.0.0.1:8765).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=5000, help="Candles asked for per request.")
    ] = DEFAULT_LIMIT,
) -> None:
    """Download closed candles through ccxt into a file the backtest reads (resumable).

    An existing --out file is continued after its last candle.
    """
    since_ms = parse_time(since, "--since")
    until_ms = parse_time(until, "--until") if until is not None else None
    from market_maker.data.candle_output import open_output
    from market_maker.exchanges.ccxt.candles import CcxtCandles

    console = Console(stderr=False)
    try:
        pager = CcxtCandles(exchange, symbol, timeframe, url=url)
    except RetryableExchangeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from None
    output = open_output(out, pager.timeframe_ms)
    if output.last_open_ms is not None:
        typer.echo(f"{out}: resuming after its last candle, {_utc(output.last_open_ms)}")
    report: DownloadReport | None = None
    with _Progress(console, pager.timeframe_ms) as show:
        try:
            report = download_candles(
                pager,
                output,
                since_ms=since_ms,
                until_ms=until_ms,
                now_ms=pager.now_ms,
                limit=limit,
                progress=show,
            )
        except RetryableExchangeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
        except KeyboardInterrupt:
            typer.echo(f"interrupted: {out} keeps every page written; run again to resume")
            raise
    typer.echo(
        f"{out}: {report.written:,} candles written ({report.requests:,} requests, "
        f"{pager.retries} retries), last {_utc(report.last_ms)}"
    )
    if report.missing:
        typer.echo(
            f"note: the exchange's data misses {report.missing:,} candles (gaps kept as they "
            "are); backtest it with --allow-gaps"
        )


class _Progress:
    """A progress callback: a rich bar on a terminal, one plain line per page elsewhere."""

    def __init__(self, console: Console, timeframe_ms: int) -> None:
        self.console = console
        self.timeframe_ms = timeframe_ms
        self.bar: Progress | None = None
        self.task: object = None

    def __enter__(self) -> "_Progress":
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("[bold]candles"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, report: DownloadReport) -> None:
        start = report.start_ms
        total = max(1, (report.end_ms - start) // self.timeframe_ms)
        done = 0 if report.last_ms is None else (report.last_ms - start) // self.timeframe_ms + 1
        if self.bar is None:
            typer.echo(f"{report.written:,} candles written, up to {_utc(report.last_ms)}")
            return
        if self.task is None:
            self.task = self.bar.add_task("", total=total)
        self.bar.update(
            self.task,  # type: ignore[arg-type]
            completed=min(done, total),
            description=f"up to {_utc(report.last_ms)}",
        )
