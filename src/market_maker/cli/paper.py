"""``market-maker paper-exchange``: serve a simulated exchange over HTTP from this process.

The command loads the configuration (symbol, instrument rules, fees, starting balances)
and the candles first, so a bad file fails fast with the usual ``error:`` message and exit
status 2, then binds its port (a port in use is a user error too), prints the URL and serves until
SIGINT or SIGTERM, after which it exits with status 0. FastAPI and uvicorn are imported
only here, inside the command, so the rest of the CLI does not pay for them.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.domain.errors import MarketMakerError
from market_maker.domain.instrument import MarketRules

DEFAULT_HOST = "127.0.0.1"
"""Listen on localhost only unless told otherwise: the API has no authentication."""
DEFAULT_PORT = 8765
"""The port the paper exchange listens on by default."""


def paper_exchange(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="Candles to replay (.csv, .csv.gz, .feather, .parquet); "
            "defaults to the bundled sample.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Configuration file (symbol, instrument rules, fees, balances); defaults to "
            "the packaged backtest example.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 picks a free one).")
    ] = DEFAULT_PORT,
    speed: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Candles per second of wall time; 0 = manual (only POST /advance moves time).",
        ),
    ] = 1.0,
) -> None:
    """Serve a simulated exchange over HTTP; it keeps its orders while bots come and go."""
    app_config = load_config(config if config is not None else default_backtest_config_path())
    run_paper_exchange(app_config, data, host=host, port=port, speed=speed)


def market_rules(config: AppConfig) -> MarketRules:
    """The rules the paper exchange serves: the config's instrument and its venue's fees."""
    bt = config.backtest
    return MarketRules(config.to_instrument(), bt.maker_fee, bt.taker_fee, bt.spot)


def run_paper_exchange(
    config: AppConfig, data: Path | None, *, host: str, port: int, speed: float
) -> None:
    """Load the candles, bind the port, print the URL and serve until a stop signal."""
    from market_maker.backtest.runner import simulated_exchange
    from market_maker.data.candles import load_candles
    from market_maker.data.sample import sample_candles_path
    from market_maker.paper.server import listen, serve
    from market_maker.paper.venue import PaperVenue

    source = data if data is not None else sample_candles_path()
    series = load_candles(source, symbol=config.symbol)
    venue = PaperVenue(simulated_exchange(config), series.candles, rules=market_rules(config))
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise MarketMakerError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "choose another --port (0 picks a free one) or stop what is using it"
        ) from None
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    pace = "manual (POST /advance)" if speed == 0 else f"{speed:g} candles/s"
    typer.echo(
        f"paper exchange: {config.symbol}, {len(series.candles)} candles from {source}, time {pace}"
    )
    typer.echo(f"listening on http://{shown_host}:{bound_port}")
    sys.stdout.flush()
    with sock:
        serve(venue, sock, speed=speed)
    market = venue.market()
    typer.echo(f"stopped at candle {market.index} of {venue.total}")
