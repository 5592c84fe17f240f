"""Operator commands: look at a bot and act on it, running or stopped.

Reading (never writes): ``status``, ``slots``, ``orders``, ``fills`` (``trades``),
``balance``, ``commands``. Acting: ``risk halt``, ``risk reset``, ``breaker reset``,
``slot release LEVEL``, ``orders cancel-openings``, ``reconcile`` (a dry run unless
``--apply``) and ``stop``. An action is a command queued in the bot's database
(``market_maker.ops.commands``); a running bot carries it out between two decisions and
the command waits (``--wait``) for its outcome; a stopped bot carries it out at its next
start, before its first decision.
Every command takes ``--config`` and ``--json``.
"""

import getpass
import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.config.urls import mask_database_url
from market_maker.domain.errors import MarketMakerError
from market_maker.ops.command_kinds import CommandKind, CommandStatus

if TYPE_CHECKING:  # the queue and the reads import SQLAlchemy: only the commands need it
    from market_maker.ops.commands import Command, CommandQueue
    from market_maker.ops.reads import BotReading

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Configuration file of the bot.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0.0,
        help="Seconds to wait for a running bot to carry the command out (0: do not wait).",
    ),
]
WAIT_S = 30.0
"""How long an action waits for a running bot's outcome by default."""
POLL_S = 0.2
"""How often an action looks for its outcome (the bot takes commands about once a second)."""

risk_app = typer.Typer(help="The risk state (risk mode and circuit breaker).", no_args_is_help=True)
breaker_app = typer.Typer(help="The circuit breaker.", no_args_is_help=True)
slot_app = typer.Typer(help="One grid slot.", no_args_is_help=True)
orders_app = typer.Typer(
    help="The bot's open orders (`orders --config F`), or act on them.",
    invoke_without_command=True,
)


def _utc(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:,.1f} s"


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


def _reading(config: AppConfig, config_path: Path) -> "BotReading":
    from market_maker.ops.reads import read_bot

    reading = read_bot(config)
    if reading.state is None:
        raise MarketMakerError(
            f"no state for bot {config.bot_id} on {config.symbol} in "
            f"{mask_database_url(config.durable.database_url)}: run `market-maker run --config "
            f"{config_path}` first"
        )
    return reading


def _state(reading: "BotReading") -> dict[str, Any]:
    assert reading.state is not None  # _reading refuses a bot without state
    return reading.state


# -- reading ---------------------------------------------------------------------------------


def status(config: ConfigOption, as_json: JsonOption = False) -> None:
    """Whether the bot runs and since when, its price, PnL, inventory, risk state and orders."""
    app_config = load_config(config)
    reading = _reading(app_config, config)
    report = status_report(reading)
    if as_json:
        _echo_json(report)
        return
    table = Table(title=f"{report['bot_id']} {report['symbol']}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", justify="right")
    run = report["run"]
    if report["running"]:
        table.add_row("running", f"yes, since {_utc(run and run['started_ms'])}")
    elif run is not None and run["stopped_ms"] is None:
        table.add_row("running", f"no: stopped without a clean exit (last heartbeat "
                      f"{_utc(run['heartbeat_ms'])})")  # fmt: skip
    else:
        table.add_row("running", f"no (stopped {_utc(run and run['stopped_ms'])})")
    view = report["view"]
    table.add_row("risk state", report["risk_state"])
    if (halt := report["halt"]) is not None:
        table.add_row("halted by", f"{halt['kind']}: {halt['reason']}")
        table.add_row("halted since", _utc(halt["since_ms"]))
    table.add_row("last price", str(report["last_price"]))
    table.add_row("price age", _age(view.get("price_age_s")))
    table.add_row("position", str(report["position"]))
    table.add_row("realized PnL", str(report["realized_pnl"]))
    table.add_row("unrealized PnL", str(view.get("unrealized_pnl", "-")))
    table.add_row("fees paid", str(report["fees_paid"]))
    table.add_row("equity", str(view.get("equity") or "-"))
    table.add_row("open orders", str(len(report["open_orders"])))
    error = view.get("last_error")
    shown = "-" if not error else f"{_utc(error['wall_ms'])}: {error['message']}"
    table.add_row("last error", shown)
    table.add_row("state version", str(report["state_version"]))
    Console().print(table)


def status_report(reading: "BotReading") -> dict[str, Any]:
    """``status --json``: the read model, whether it runs, its latest run and published view."""
    run = reading.run
    return {
        **_state(reading),
        "running": reading.running,
        "run": None
        if run is None
        else {
            "started_ms": run.started_ms,
            "heartbeat_ms": run.heartbeat_ms,
            "stopped_ms": run.stopped_ms,
            "pid": run.pid,
            "host": run.host,
        },
        "view": {} if run is None else dict(run.view),
    }


def slots(config: ConfigOption, as_json: JsonOption = False) -> None:
    """Every grid slot: level, status, position, PnL and its order."""
    state = _state(_reading(load_config(config), config))
    if as_json:
        _echo_json(state["slots"])
        return
    table = Table(title=f"slots of {state['bot_id']} {state['symbol']}", title_justify="left")
    for name in ("level", "status", "position_qty", "realized_pnl", "fees_paid", "client_order_id"):
        table.add_column(name, justify="right" if name != "status" else "left")
    for slot in state["slots"]:
        table.add_row(
            slot["level"],
            slot["status"],
            slot["position_qty"],
            slot["realized_pnl"],
            slot["fees_paid"],
            slot["client_order_id"] or "-",
        )
    Console().print(table)


@orders_app.callback()
def orders(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Configuration file of the bot.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The bot's orders in flight (open and pending), or a subcommand acting on them."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        raise MarketMakerError("orders: --config is required; fix: orders --config bot.yaml")
    state = _state(_reading(load_config(config), config))
    if as_json:
        _echo_json(state["open_orders"])
        return
    table = Table(title=f"orders of {state['bot_id']} {state['symbol']}", title_justify="left")
    for name in ("client_order_id", "level", "side", "role", "price", "qty", "status", "filled"):
        table.add_column(name)
    for o in state["open_orders"]:
        table.add_row(
            o["client_order_id"],
            o["level"],
            o["side"],
            o["role"],
            o["price"],
            o["qty"],
            o["status"],
            o["filled_qty"],
        )
    Console().print(table)


def _time_option(name: str, value: str | None) -> int | None:
    """A time given as epoch milliseconds or ISO 8601 (UTC unless it says otherwise)."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise MarketMakerError(
            f"{name}: expected epoch milliseconds or an ISO 8601 time, found {value!r}; "
            "fix: e.g. 2025-05-14T12:00 or 1747224000000"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def fills(
    config: ConfigOption,
    as_json: JsonOption = False,
    since: Annotated[
        str | None,
        typer.Option(help="Only fills at or after this time (epoch ms or ISO 8601, UTC)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only fills before this time (epoch ms or ISO 8601, UTC).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the newest N.")] = None,
) -> None:
    """The fills the bot booked (its fill table), oldest first."""
    from market_maker.ops.reads import read_fills

    app_config = load_config(config)
    rows = read_fills(
        app_config,
        since_ms=_time_option("--since", since),
        until_ms=_time_option("--until", until),
        limit=limit,
    )
    if as_json:
        _echo_json(rows)
        return
    table = Table(title=f"fills of {app_config.bot_id} {app_config.symbol}", title_justify="left")
    for name in ("time", "client_order_id", "side", "qty", "quote", "fee", "realized_pnl"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            _utc(r["ts_ms"]),
            r["client_order_id"],
            r["side"],
            r["qty"],
            r["quote"],
            r["fee"],
            r["realized_pnl"],
        )
    Console().print(table)
    typer.echo(f"{len(rows)} fill(s)")


def balance(config: ConfigOption, as_json: JsonOption = False) -> None:
    """The account's balances as the bot last read them, and its equity at the last price."""
    reading = _reading(load_config(config), config)
    view = dict(reading.run.view) if reading.run is not None else {}
    report = {
        "balances": view.get("balances"),
        "read_ms": view.get("balances_ms"),
        "equity": view.get("equity"),
        "last_price": _state(reading)["last_price"],
        "running": reading.running,
    }
    if as_json:
        _echo_json(report)
        return
    if report["balances"] is None:
        typer.echo("no balances published yet: the bot publishes them while it runs")
        return
    table = Table(title=f"balances (read {_utc(report['read_ms'])})", title_justify="left")
    for name in ("asset", "free", "locked"):
        table.add_column(name)
    for asset, b in report["balances"].items():
        table.add_row(asset, b["free"], b["locked"])
    Console().print(table)
    typer.echo(f"equity at {report['last_price']}: {report['equity']}")


def commands(
    config: ConfigOption,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
) -> None:
    """The latest operator commands sent to the bot, who sent them and their outcome."""
    from market_maker.ops.reads import read_commands

    app_config = load_config(config)
    found = read_commands(app_config, limit)
    if as_json:
        _echo_json([c.as_json() for c in found])
        return
    table = Table(title=f"commands of {app_config.bot_id}", title_justify="left")
    for name in ("id", "sent", "kind", "args", "by", "status", "outcome"):
        table.add_column(name)
    for c in found:
        table.add_row(
            str(c.id),
            _utc(c.created_ms),
            c.kind.value,
            json.dumps(dict(c.args)) if c.args else "",
            c.actor,
            c.status.value,
            str(c.result.get("message", "")),
        )
    Console().print(table)


# -- acting ----------------------------------------------------------------------------------


def _actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def send(
    config_path: Path,
    kind: CommandKind,
    args: dict[str, Any],
    *,
    wait_s: float,
    as_json: bool,
) -> None:
    """Queue ``kind`` for the bot of ``config_path``; wait for a running bot's outcome."""
    from market_maker.durable import migrate
    from market_maker.durable.database import create_engine
    from market_maker.ops.commands import CommandQueue

    config = load_config(config_path)
    reading = _reading(config, config_path)
    if kind is CommandKind.STOP and not reading.running:
        raise MarketMakerError(
            f"bot {config.bot_id} on {config.symbol} is not running: nothing to stop"
        )
    database = create_engine(config.durable.database_url)
    try:
        migrate.upgrade(database)  # an older bot's database gains the command table
        queue = CommandQueue(database, config.bot_id, config.symbol)
        command = queue.submit(kind, args, _actor())
        outcome = _wait(queue, command, wait_s) if reading.running else None
    finally:
        database.dispose()
    _report(command, outcome, reading.running, as_json)


def _wait(queue: "CommandQueue", command: "Command", wait_s: float) -> "Command | None":
    deadline = time.monotonic() + wait_s
    while True:
        found = queue.get(command.id)
        if found is not None and found.status is not CommandStatus.PENDING:
            return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_S)  # polling the bot's answer in its database: nothing signals it


def _report(command: "Command", outcome: "Command | None", running: bool, as_json: bool) -> None:
    if as_json:
        _echo_json((outcome or command).as_json())
    elif outcome is not None:
        typer.echo(
            f"command {command.id} {command.kind.value}: {outcome.status.value}: "
            f"{outcome.result.get('message', '')}"
        )
        for correction in outcome.result.get("corrections", []):
            typer.echo(f"  {correction['kind']}: {correction['reason']}")
    elif running:
        typer.echo(
            f"command {command.id} {command.kind.value}: queued; the bot has not carried it "
            "out yet (see `market-maker commands`)"
        )
    else:
        typer.echo(
            f"command {command.id} {command.kind.value}: queued; the bot is not running and "
            "carries it out at its next start, before its first decision"
        )
    final = outcome.status if outcome is not None else CommandStatus.PENDING
    if final in (CommandStatus.REFUSED, CommandStatus.FAILED):
        raise typer.Exit(1)


@risk_app.command("reset")
def risk_reset(
    config: ConfigOption, as_json: JsonOption = False, wait: WaitOption = WAIT_S
) -> None:
    """Leave RISK_MODE and HALTED (after you found and fixed the cause: see the runbooks)."""
    send(config, CommandKind.RISK_RESET, {}, wait_s=wait, as_json=as_json)


@risk_app.command("halt")
def risk_halt(
    config: ConfigOption,
    reason: Annotated[
        str, typer.Option("--reason", help="Why, in words: shown by status and the alerts.")
    ] = "halted by an operator",
    as_json: JsonOption = False,
    wait: WaitOption = WAIT_S,
) -> None:
    """Halt the bot by hand (kill switch): opening orders cancelled, closes per config.

    The bot keeps running, watching and booking; only `risk reset` resumes trading.
    """
    send(config, CommandKind.HALT, {"reason": reason}, wait_s=wait, as_json=as_json)


@breaker_app.command("reset")
def breaker_reset(
    config: ConfigOption, as_json: JsonOption = False, wait: WaitOption = WAIT_S
) -> None:
    """Close the circuit breaker (leave HALTED); a risk mode stays."""
    send(config, CommandKind.BREAKER_RESET, {}, wait_s=wait, as_json=as_json)


@slot_app.command("release")
def slot_release(
    level: Annotated[str, typer.Argument(help="The slot's price level, as `slots` shows it.")],
    config: ConfigOption,
    as_json: JsonOption = False,
    wait: WaitOption = WAIT_S,
) -> None:
    """Free a stuck slot after looking its order up on the exchange (refused while open there)."""
    send(config, CommandKind.SLOT_RELEASE, {"level": level}, wait_s=wait, as_json=as_json)


@orders_app.command("cancel-openings")
def cancel_openings(
    config: ConfigOption, as_json: JsonOption = False, wait: WaitOption = WAIT_S
) -> None:
    """Cancel every resting opening order (closing orders stay)."""
    send(config, CommandKind.CANCEL_OPENINGS, {}, wait_s=wait, as_json=as_json)


def reconcile(
    config: ConfigOption,
    as_json: JsonOption = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="Carry the corrections out (default: a dry run).")
    ] = False,
    wait: WaitOption = WAIT_S,
) -> None:
    """Compare the bot's books with the exchange now; list (or with --apply make) corrections."""
    send(config, CommandKind.RECONCILE, {"dry_run": not apply}, wait_s=wait, as_json=as_json)


def stop(config: ConfigOption, as_json: JsonOption = False, wait: WaitOption = WAIT_S) -> None:
    """Stop a running bot gracefully: it finishes the decision in hand, saves and exits."""
    send(config, CommandKind.STOP, {}, wait_s=wait, as_json=as_json)


def install(app: typer.Typer) -> None:
    """Add the operator commands to the ``market-maker`` app."""
    app.command()(status)
    app.command()(slots)
    app.add_typer(orders_app, name="orders")
    app.command()(fills)
    app.command("trades")(fills)
    app.command()(balance)
    app.command()(commands)
    app.command()(reconcile)
    app.command()(stop)
    app.add_typer(risk_app, name="risk")
    app.add_typer(breaker_app, name="breaker")
    app.add_typer(slot_app, name="slot")


__all__ = ["install", "send", "status_report"]
