"""The ``market-maker`` command line.

Commands stay thin: they load configuration, call into the package and print. Errors the
project raises on purpose (``MarketMakerError``) are turned into a short ``error:`` message on
stderr and exit status 2 in one place, ``run()``, so no command ever shows a traceback for a
user mistake.
"""

import json
import os
import sys
from collections.abc import Iterator, Sequence
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from market_maker import __version__
from market_maker.cli.download import download
from market_maker.cli.operate import install as install_operator_commands
from market_maker.cli.paper import paper_exchange
from market_maker.cli.run_ops import (
    LogFileOption,
    LogFormatOption,
    LogLevelOption,
    run_alerts,
    run_logging,
    then,
)
from market_maker.cli.state import state_app
from market_maker.config.app import AppConfig, DurableConfig
from market_maker.config.loader import (
    ConfigError,
    default_config_path,
    load_config,
)
from market_maker.config.urls import mask_database_url
from market_maker.domain.decimals import decimal_to_str
from market_maker.domain.errors import MarketMakerError
from market_maker.ops.log_settings import LogFormat

if TYPE_CHECKING:
    from market_maker.exchanges.ccxt import CcxtVenue
    from market_maker.ops.http import OpsServer
    from market_maker.ops.wiring import BotOperations

PROG_NAME = "market-maker"
EXIT_USER_ERROR = 2
"""Exit status for a bad configuration or any other error the user can fix."""
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""

app = typer.Typer(
    name=PROG_NAME,
    help="A crash-safe grid-trading market maker.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Check and show configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG_NAME} {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Run, test and inspect a grid-trading market maker."""


@config_app.command("validate")
def validate(
    path: Annotated[
        Path, typer.Argument(help="Configuration file (.yaml, .yml or .toml).", show_default=False)
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the effective configuration as JSON.")
    ] = False,
) -> None:
    """Validate a configuration file and print every effective setting, defaults included.

    Exits with status 2 and one ``error:`` line per problem when the file is not valid.
    """
    config = load_config(path)
    if as_json:
        typer.echo(json.dumps(plain(config), indent=2))
        return
    console = Console()
    console.print(f"ok: {path}", markup=False, highlight=False)
    console.print(settings_table(config))


@app.command()
def demo(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Configuration file; defaults to the packaged example.",
            show_default=False,
        ),
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help="Number of price steps to simulate.")] = 12,
) -> None:
    """Run the grid along a sample price path against a simulated exchange and print it."""
    app_config = load_config(config if config is not None else default_config_path())
    # Imported here so that `config validate` and `--version` do not load the simulation.
    from market_maker.cli.demo import run_demo

    run_demo(app_config, steps, Console())


@app.command(name="run")
def run_bot(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="The bot's configuration file (YAML or TOML): trade it on the exchange of "
            "its venue section. Without it: paper trading (see above).",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress display or lines; warnings and errors still show."
        ),
    ] = False,
    speed: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Paper trading only: candles the paper exchange replays per second (the "
            "4,320-candle sample takes about two minutes at 40).",
        ),
    ] = 40.0,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="Paper trading only: candles to replay (.csv, .csv.gz, .feather, .parquet) "
            "instead of the bundled sample.",
            show_default=False,
        ),
    ] = None,
    log_format: LogFormatOption = LogFormat.TEXT,
    log_level: LogLevelOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Trade the grid: paper trading, or with --config on a real exchange through ccxt.

    Without --config: paper trading, nothing to set up and no network needed.
    A local paper exchange replays the bundled 3-day BTC/USDT sample at --speed;
    the packaged bot trades on it through ccxt and the Durable engine (state in
    out/paper/, emptied at each start) and shows its progress. At the end of the
    data (or at Ctrl-C) it prints the run's summary and checks its books against
    the exchange's ledger: exit 0 when they agree, 1 when they differ.

    With --config FILE: the bot trades on venue.exchange (or the server at
    venue.url, or the testnet with venue.sandbox) until Ctrl-C or SIGTERM, then
    saves its state and exits 0; its orders stay on the exchange. API keys come
    from MARKET_MAKER_API_KEY and MARKET_MAKER_API_SECRET or venue.secrets_file.
    A bad setting, refused keys or a failed safety check: exit 2, nothing placed.
    It serves metrics, health and a web dashboard on operations.http_host:http_port
    (127.0.0.1:9309 by default; control needs MARKET_MAKER_DASHBOARD_TOKEN).

    Logs: readable lines on stderr, or JSON (--log-format json), or appended to
    --log-file; every order, fill and risk event with --config (docs/operations_guide.md,
    Logs and alerts).

    Step by step from paper trading to a real exchange: docs/operations_guide.md.
    """
    app_config = load_config(config) if config is not None else None
    with run_logging(log_format, log_level, log_file, paper=app_config is None):
        if app_config is None:
            from market_maker.cli.paper_trading import run_paper_trading

            if not run_paper_trading(Console(), data=data, speed=speed, quiet=quiet):
                raise typer.Exit(1)
            return
        _run_configured(app_config, quiet=quiet)


def _run_configured(app_config: AppConfig, *, quiet: bool) -> None:
    """``run --config``: trade until a signal, with progress, alerts and the summary lines."""
    from market_maker.durable import faults
    from market_maker.durable.database_errors import database_errors
    from market_maker.engine.observers import Observers
    from market_maker.live.progress import ProgressView
    from market_maker.live.run_summary import RunTracker
    from market_maker.live.session import reconciliation_summary, run_live, venue_name
    from market_maker.ops.wiring import BotOperations

    try:
        faults.arm_from_environment()  # crash tests only; inert unless the variable is set
    except ValueError as exc:
        raise MarketMakerError(str(exc)) from None
    console = Console()
    tracker = RunTracker(app_config.symbol)
    delivery: list[str] = []

    def on_close(venue: "CcxtVenue") -> None:
        delivery.append(venue.order_updates.describe())

    operations = BotOperations.for_config(app_config)
    server = None
    try:
        server = _serve_operations(operations)
        # a database lost mid-run (after the checks at the start) is reported like one
        # refused at the start: the setting, the URL, the reason, the fix; no traceback
        with database_errors(app_config.durable.database_url), run_alerts(app_config) as alerts:
            observer = Observers.of([tracker, alerts])
            alerts_hook = alerts.on_poll if alerts is not None else None
            operations.notify = alerts.alerts.notify if alerts is not None else None
            if quiet:
                hook = then(tracker.on_poll, alerts_hook)
                runner = run_live(
                    app_config,
                    observer=observer,
                    on_poll=hook,
                    on_close=on_close,
                    operations=operations,
                )
            else:
                with ProgressView(tracker, console) as view:
                    hook = then(view, alerts_hook)
                    runner = run_live(
                        app_config,
                        observer=observer,
                        on_poll=hook,
                        on_close=on_close,
                        operations=operations,
                    )
    finally:
        if server is not None:
            server.stop()
        operations.close()
    typer.echo(
        f"stopped after {runner.candles_seen} candles on {venue_name(app_config)}; state "
        f"saved in {mask_database_url(app_config.durable.database_url)}"
    )
    typer.echo(reconciliation_summary(runner.engine))
    for line in delivery:
        typer.echo(line)


def _serve_operations(operations: "BotOperations") -> "OpsServer | None":
    """Start the bot's HTTP endpoint (``operations.http_enabled``) and say where it listens."""
    settings = operations.config.operations
    if not settings.http_enabled:
        return None
    from market_maker.ops.http import TOKEN_VARIABLE, OpsServer, create_app

    app = create_app(operations, token=os.environ.get(TOKEN_VARIABLE) or None)
    server = OpsServer(app, settings.http_host, settings.http_port)
    url = server.start()
    typer.echo(f"operations: {url} (metrics /metrics, health /health, dashboard /)")
    return server


@app.command()
def backtest(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Configuration file; defaults to the packaged backtest example (with "
            "--trades: the packaged ticks example).",
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="Candles (.csv, .csv.gz, .feather, .parquet); defaults to the bundled sample.",
            show_default=False,
        ),
    ] = None,
    trades: Annotated[
        str | None,
        typer.Option(
            "--trades",
            "-t",
            metavar="<path>",
            help="Trade ticks (.csv, .csv.gz) instead of candles: one decision per trade. "
            "`sample` = the bundled 11 minutes of BTC/USDT spot trades.",
            show_default=False,
        ),
    ] = None,
    candles: Annotated[
        int | None,
        typer.Option(
            "--candles",
            metavar="<seconds>",
            help="With --trades: length of the candles built from the trades for the risk "
            "monitor and the ATR (default 60).",
            show_default=False,
        ),
    ] = None,
    refine: Annotated[
        int,
        typer.Option(
            "--refine",
            metavar="<pieces>",
            help="Walk each candle as this many shorter candles along its path (open, "
            "low/high, high/low, close), deciding at each, as live prices arrive; the risk "
            "monitor and ATR still get the whole candles. 1 = off.",
        ),
    ] = 1,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.", show_default=False)
    ] = None,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML report here.", show_default=False)
    ] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Drop bad data rows instead of stopping.")
    ] = False,
    allow_gaps: Annotated[
        bool, typer.Option("--allow-gaps", help="Accept missing candles.")
    ] = False,
) -> None:
    """Backtest a grid on historical candles or trade ticks; report PnL, fees, drawdown, fills.

    A report path that is an input, another report or not writable fails at once (exit 2).
    """
    from market_maker.cli.backtest import backtest_paths, run_backtest_command

    paths = backtest_paths(config, data, trades, candles, json_path, html_path, refine)
    app_config = load_config(paths.config)
    run_backtest_command(
        app_config,
        paths,
        skip_bad_rows=skip_bad_rows,
        allow_gaps=allow_gaps,
        console=Console(),
    )


app.command("paper-exchange")(paper_exchange)
app.command("download")(download)
install_operator_commands(app)
app.add_typer(state_app, name="state")


def settings(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any, bool]]:
    """Yield ``(dotted name, plain value, set in the file)`` for every leaf setting."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        dotted = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            yield from settings(value, f"{dotted}.")
        else:
            yield dotted, _plain_value(_shown(model, name, value)), name in model.model_fields_set


def plain(model: BaseModel) -> dict[str, Any]:
    """Convert a model to JSON-ready data: decimals as exact strings, enums by value.

    A database URL's password is masked: the output is for reading, never for secrets.
    """
    return {
        name: _plain_value(_shown(model, name, getattr(model, name)))
        for name in type(model).model_fields
    }


def _shown(model: BaseModel, name: str, value: Any) -> Any:
    if isinstance(model, DurableConfig) and name == "database_url":
        return mask_database_url(value)
    return value


def _plain_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_to_str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return plain(value)
    if isinstance(value, (list, tuple)):
        return [_plain_value(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def settings_table(config: AppConfig) -> Table:
    """Build a table of every effective setting: name, value, and whether the file set it."""
    table = Table("setting", "value", "source")
    for name, value, from_file in settings(config):
        table.add_row(Text(name), Text(_show(value)), Text("file" if from_file else "default"))
    return table


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return its exit status.

    This is the single place that turns errors into messages: a ``ConfigError`` prints each
    problem with its fix, any other ``MarketMakerError`` prints ``error: <message>``, both
    exit with status 2; Ctrl-C exits with 130 without a traceback.
    """
    try:
        app(args=list(argv) if argv is not None else None, prog_name=PROG_NAME)
    except SystemExit as exc:
        return _exit_status(exc.code)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem.field}: {problem.message} (got {problem.value})", err=True)
            typer.echo(f"  fix: {problem.fix}", err=True)
        return EXIT_USER_ERROR
    except MarketMakerError as exc:
        typer.echo(f"error: {exc}", err=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0


def main() -> None:
    """Entry point of the ``market-maker`` console script."""
    sys.exit(run())
