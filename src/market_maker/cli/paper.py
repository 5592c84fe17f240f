"""``market-maker paper-exchange``: serve a simulated exchange over HTTP from this process.

The command loads the configuration (symbol, instrument rules, fees, starting balances)
and the candles first, so a bad file fails fast with the usual ``error:`` message and exit
status 2, then binds its port (a port in use is a user error too), prints the URL and serves until
SIGINT or SIGTERM, after which it exits with status 0. FastAPI and uvicorn are imported
only here, inside the command, so the rest of the CLI does not pay for them.

It serves Binance's REST and websocket API of one market kind
(``--market``) for the unmodified ccxt classes, the ``/paper/`` test endpoints and the
faults it is asked to inject (see ``docs/paper_exchange.md``). The API secret is never
printed.
"""

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from market_maker.config.app import AppConfig
from market_maker.config.loader import (
    default_backtest_config_path,
    default_ticks_config_path,
    load_config,
)
from market_maker.data.sample import SAMPLE_ARGUMENT, sample_trades_path
from market_maker.domain.errors import MarketMakerError
from market_maker.domain.instrument import MarketRules
from market_maker.paper.tape import DEFAULT_STEP_MS

if TYPE_CHECKING:
    from market_maker.paper.binance_market import MarketKind
    from market_maker.paper.faults import FaultSettings

DEFAULT_HOST = "127.0.0.1"
"""Listen on localhost only unless told otherwise: the API has no authentication."""
DEFAULT_PORT = 8765
"""The port the paper exchange listens on by default."""


def venue_port(config: AppConfig, host: str) -> int:
    """Where a bot of ``config`` looks for this exchange: its ``venue.url``'s port, if local.

    So ``paper-exchange --config bot.yaml`` listens where ``run --config bot.yaml`` connects.
    """
    url = config.venue.url
    if url is not None:
        parsed = urlsplit(url)
        local = {host, "127.0.0.1", "localhost", "::1"}
        if parsed.hostname in local and parsed.port is not None:
            return parsed.port
    return DEFAULT_PORT


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
    trades: Annotated[
        str | None,
        typer.Option(
            "--trades",
            help="Trade ticks to replay instead of candles (.csv, .csv.gz); `sample` = "
            "the bundled sample. Orders fill per trade; 1-minute klines are built from them.",
            show_default=False,
        ),
    ] = None,
    step_ms: Annotated[
        int,
        typer.Option(
            "--step-ms",
            min=1,
            help="With --trades: trade time one step of market time covers, milliseconds "
            "(a divisor of 60000).",
        ),
    ] = DEFAULT_STEP_MS,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Configuration file (symbol, instrument rules, fees, balances); defaults to "
            "the packaged backtest example (the ticks example with --trades sample).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Port to listen on (0 picks a free one). Default: the port of the "
            f"configuration's venue.url when it points at this host, else {DEFAULT_PORT}.",
            show_default=False,
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Steps of market time (candles, or --step-ms of trades) per second of wall "
            "time; 0 = manual (POST /paper/advance).",
        ),
    ] = 1.0,
    market: Annotated[
        str | None,
        typer.Option(
            help="Binance market kind served: spot (/api/v3) or usdm (/fapi, USDⓈ-M "
            "perpetual); defaults to the config's backtest.spot.",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="MARKET_MAKER_PAPER_API_KEY",
            help="API key the Binance API accepts [default: paper-key].",
            show_default=False,
        ),
    ] = None,
    api_secret: Annotated[
        str | None,
        typer.Option(
            envvar="MARKET_MAKER_PAPER_API_SECRET",
            help="Secret requests are signed with [default: paper-secret].",
            show_default=False,
            show_envvar=True,
        ),
    ] = None,
    leverage: Annotated[
        int, typer.Option(min=1, max=125, help="USDⓈ-M leverage (initial margin).")
    ] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the injected faults.")] = 0,
    rate_limit_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of API requests answered 429.")
    ] = 0.0,
    retry_after: Annotated[
        int, typer.Option(min=0, help="Retry-After of a 429/418 answer, seconds.")
    ] = 1,
    ban_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of API requests answered 418.")
    ] = 0.0,
    server_error_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of API requests answered 502/503.")
    ] = 0.0,
    lost_ack_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of order placements booked but unanswered."),
    ] = 0.0,
    lost_ack_delay: Annotated[
        float, typer.Option(min=0.0, help="Longest a lost ack's answer is withheld, seconds.")
    ] = 30.0,
    ws_drop_every: Annotated[
        float | None,
        typer.Option(min=0.0, help="Close each stream connection after this many seconds."),
    ] = None,
    ws_drop_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of stream events that close it.")
    ] = 0.0,
    ws_duplicate_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of stream events pushed twice.")
    ] = 0.0,
    ws_reorder_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of stream events pushed late.")
    ] = 0.0,
) -> None:
    """Serve a simulated exchange over HTTP; it keeps its orders while bots come and go."""
    from market_maker.paper.faults import FaultSettings

    if trades is not None and data is not None:
        raise MarketMakerError(
            f"--trades {trades} and --data {data} cannot be used together: the paper "
            "exchange replays candles or trades; keep one"
        )
    if 60_000 % step_ms:
        raise MarketMakerError(
            f"--step-ms: expected a divisor of 60000 (a minute is a whole number of steps), "
            f"found {step_ms}; try 1000"
        )
    trades_path = None
    if trades is not None:
        trades_path = sample_trades_path() if trades == SAMPLE_ARGUMENT else Path(trades)
    if config is None:
        ticks = trades == SAMPLE_ARGUMENT
        config = default_ticks_config_path() if ticks else default_backtest_config_path()
    app_config = load_config(config)
    if market is not None and market not in ("spot", "usdm"):
        raise MarketMakerError(f"--market: expected spot or usdm, found {market!r}")
    faults = FaultSettings(
        seed=seed,
        rate_limit_rate=rate_limit_rate,
        retry_after_s=retry_after,
        ban_rate=ban_rate,
        server_error_rate=server_error_rate,
        lost_ack_rate=lost_ack_rate,
        lost_ack_delay_s=lost_ack_delay,
        ws_drop_every_s=ws_drop_every or None,
        ws_drop_rate=ws_drop_rate,
        ws_duplicate_rate=ws_duplicate_rate,
        ws_reorder_rate=ws_reorder_rate,
    )
    options = BinanceOptions(
        kind="spot" if market == "spot" else "usdm" if market == "usdm" else None,
        api_key=api_key,
        api_secret=api_secret,
        leverage=leverage,
        faults=faults,
    )
    run_paper_exchange(
        app_config,
        data,
        host=host,
        port=port if port is not None else venue_port(app_config, host),
        speed=speed,
        binance=options,
        trades=trades_path,
        step_ms=step_ms,
    )


@dataclass(frozen=True)
class BinanceOptions:
    """How the Binance API of a paper exchange is served.

    Attributes:
        kind: Market kind; ``None`` = from the config's ``backtest.spot``.
        api_key: The accepted API key; ``None`` = environment, then the default.
        api_secret: The signing secret; ``None`` = environment, then the default.
        leverage: USDⓈ-M leverage.
        faults: Faults to inject from the start.
    """

    kind: "MarketKind | None" = None
    api_key: str | None = None
    api_secret: str | None = field(default=None, repr=False)
    leverage: int = 20
    faults: "FaultSettings | None" = None


def market_rules(config: AppConfig) -> MarketRules:
    """The rules the paper exchange serves: the config's instrument and its venue's fees."""
    bt = config.backtest
    return MarketRules(config.to_instrument(), bt.maker_fee, bt.taker_fee, bt.spot)


def run_paper_exchange(
    config: AppConfig,
    data: Path | None,
    *,
    host: str,
    port: int,
    speed: float,
    binance: BinanceOptions | None = None,
    trades: Path | None = None,
    step_ms: int = DEFAULT_STEP_MS,
) -> None:
    """Load the candles (or trades), bind the port, print the URL and serve until a stop signal."""
    from market_maker.data.candles import load_candles
    from market_maker.data.sample import sample_candles_path
    from market_maker.data.trades import load_trades
    from market_maker.domain.market import Candle
    from market_maker.paper.binance_app import binance_venue, create_binance_app, default_kind
    from market_maker.paper.faults import FaultInjector
    from market_maker.paper.server import listen, serve
    from market_maker.paper.signing import Credentials
    from market_maker.paper.tape import TradeTape

    options = binance or BinanceOptions()
    kind = options.kind or default_kind(config)
    replay: Sequence[Candle] | TradeTape
    if trades is not None:
        source = trades
        series = load_trades(trades, symbol=config.symbol)
        if not series.trades:
            raise MarketMakerError(f"--trades {trades}: the file holds no trades; fix: pass one")
        replay = TradeTape(series.trades, step_ms=step_ms)
        loaded = f"{len(series.trades):,} trades ({len(replay):,} steps of {step_ms} ms)"
    else:
        source = data if data is not None else sample_candles_path()
        replay = load_candles(source, symbol=config.symbol).candles
        loaded = f"{len(replay):,} candles"
    venue, served = binance_venue(config, replay, kind, leverage=options.leverage)
    credentials = Credentials.resolve(options.api_key, options.api_secret)
    app = create_binance_app(
        venue, served, credentials, speed=speed, faults=FaultInjector(options.faults)
    )
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise MarketMakerError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "choose another --port (0 picks a free one) or stop what is using it"
        ) from None
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    pace = "manual (POST /paper/advance)" if speed == 0 else f"{speed:g} steps/s"
    typer.echo(f"paper exchange: {config.symbol}, {loaded} from {source}, time {pace}")
    default_keys = credentials == Credentials.resolve(env={})
    typer.echo(
        f"binance {kind} API for {served.symbol_id}, "
        + ("the local default API key and secret" if default_keys else "the configured API key")
    )
    typer.echo(f"listening on http://{shown_host}:{bound_port}")
    sys.stdout.flush()
    with sock:
        serve(venue, sock, speed=speed, app=app)
    market = venue.market()
    typer.echo(f"stopped at step {market.index} of {venue.total} ({venue.unit})")
