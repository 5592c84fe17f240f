"""``market-maker state import``: move a bot from the Simple engine to the Durable engine.

Reads the bot's state (bot id and symbol of ``--config``) from a Simple engine SQLite store
and writes it as the Durable engine's state in ``durable.database_url``; ``--dry-run`` only
checks and prints. Refusals exit 2 with nothing written (``market_maker.durable.state_import``).
See docs/durable_engine.md, "Migrating a bot from the Simple engine to the Durable engine".
"""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.config.urls import mask_database_url
from market_maker.state.model import GridState
from market_maker.state.views import state_view

state_app = typer.Typer(
    help="The bot's state: bring it from the Simple engine to the Durable engine.",
    no_args_is_help=True,
)


def import_report(
    config: AppConfig, source: Path, state: GridState, *, imported: bool
) -> dict[str, Any]:
    """What ``state import`` read (and wrote, when ``imported``), as plain data."""
    view = state_view(state)
    return {
        "bot_id": view["bot_id"],
        "symbol": view["symbol"],
        "source": str(source),
        "database": mask_database_url(config.durable.database_url),
        "imported": imported,
        "state_version": view["state_version"],
        "risk_state": view["risk_state"],
        "slots": len(view["slots"]),
        "open_orders": len(view["open_orders"]),
        "position": view["position"],
        "realized_pnl": view["realized_pnl"],
        "fees_paid": view["fees_paid"],
        "last_price": view["last_price"],
    }


@state_app.command("import")
def import_command(
    source: Annotated[
        Path,
        typer.Option(
            "--from",
            help="The Simple engine's SQLite store file (SqliteStore) holding the bot's state.",
            show_default=False,
        ),
    ],
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            help="Configuration file of the bot: its bot_id and symbol pick the state; the "
            "state goes to its durable.database_url.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only check both sides and print; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")] = False,
) -> None:
    """Import a stopped bot's state from a Simple engine store into the Durable engine.

    The bot is the bot_id and symbol of --config; its state goes to the
    durable.database_url of --config (a new database is migrated, as run does).

    Refused with exit 2, nothing written: the store holds no state for the bot
    or is damaged, the bot is running, or the database already holds its state.

    Then start it: market-maker run --config FILE.
    """
    from market_maker.durable.state_import import check_import, import_state, read_simple_state

    app_config = load_config(config)
    state = read_simple_state(source, app_config.bot_id, app_config.symbol)
    check_import(app_config)
    if not dry_run:
        import_state(app_config, state)
    report = import_report(app_config, source, state, imported=not dry_run)
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    done = "imported" if not dry_run else "dry run: would import"
    typer.echo(
        f"{done} bot {report['bot_id']} on {report['symbol']} from {source} into "
        f"{report['database']}"
    )
    for name in ("state_version", "risk_state", "slots", "open_orders", "position"):
        typer.echo(f"  {name.replace('_', ' ')}: {report[name]}")
    for name in ("realized_pnl", "fees_paid", "last_price"):
        typer.echo(f"  {name.replace('_', ' ').replace('pnl', 'PnL')}: {report[name]}")
    if dry_run:
        typer.echo(
            "nothing written; run it again without --dry-run to import, with the Simple bot stopped"
        )
    else:
        typer.echo(
            f"next: market-maker run --config {config} (its start-up reconciliation "
            "checks the imported orders against the exchange), then market-maker status "
            f"--config {config}"
        )
