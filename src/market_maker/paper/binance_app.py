"""The whole paper exchange app: Binance's REST and streams, the ``/paper/`` endpoints.

``create_binance_app`` builds the FastAPI app ``market-maker paper-exchange`` serves: the
Binance REST subset of the process's market kind, the websocket streams, the ``/paper/``
test endpoints and, around it all, the fault injector. ``binance_venue`` builds the
venue a market kind trades from a configuration and candles or trades.
"""

from collections.abc import Sequence

from fastapi import FastAPI

from market_maker.config.app import AppConfig
from market_maker.domain.instrument import MarketRules
from market_maker.domain.market import Candle
from market_maker.paper.binance_market import BinanceMarket, MarketKind
from market_maker.paper.binance_rest import BinanceRoutes, WallClock, wall_ms
from market_maker.paper.binance_service import BinanceService
from market_maker.paper.binance_ws import install_streams
from market_maker.paper.faults import FaultInjector, FaultMiddleware, install_fault_routes
from market_maker.paper.paper_routes import install_paper_routes
from market_maker.paper.server import base_app
from market_maker.paper.signing import Credentials
from market_maker.paper.tape import TradeTape
from market_maker.paper.venue import PaperVenue


def default_kind(config: AppConfig) -> MarketKind:
    """The market kind a configuration describes: spot for a spot account, else USDⓈ-M."""
    return "spot" if config.backtest.spot else "usdm"


def binance_venue(
    config: AppConfig,
    data: Sequence[Candle] | TradeTape,
    kind: MarketKind,
    *,
    leverage: int = 20,
) -> tuple[PaperVenue, BinanceMarket]:
    """The venue and market a ``kind`` paper exchange of ``config`` serves, replaying ``data``.

    The account is a spot account for spot and a margin account for USDⓈ-M, whatever
    ``backtest.spot`` says. The venue keeps the configuration's symbol (the project's own
    ledger writes it); Binance's API names the market by its Binance id
    (``BTCUSDT``), from which ccxt derives ``BTC/USDT`` or ``BTC/USDT:USDT``.
    """
    from market_maker.backtest.runner import simulated_exchange

    backtest = config.backtest.model_copy(update={"spot": kind == "spot"})
    adjusted = config.model_copy(update={"backtest": backtest})
    rules = MarketRules(
        adjusted.to_instrument(), backtest.maker_fee, backtest.taker_fee, backtest.spot
    )
    venue = PaperVenue(simulated_exchange(adjusted), data, rules=rules)
    return venue, BinanceMarket(kind, rules, leverage)


def create_binance_app(
    venue: PaperVenue,
    market: BinanceMarket,
    credentials: Credentials,
    *,
    speed: float = 0.0,
    faults: FaultInjector | None = None,
    clock: WallClock = wall_ms,
) -> FastAPI:
    """The paper exchange's app for ``market`` on ``venue``, faults injected by ``faults``.

    ``app.state.stream_hub`` is the ``StreamHub`` feeding the websockets (tests watch its
    connections to know when a client has subscribed).
    """
    app = base_app()
    injector = faults or FaultInjector()
    service = BinanceService(venue, market)
    BinanceRoutes(service, credentials, clock).install(app)
    install_paper_routes(app, service, speed=speed)
    install_fault_routes(app, injector)
    app.state.stream_hub = install_streams(app, service, credentials, injector)
    app.add_middleware(FaultMiddleware, injector=injector, advance=venue.advance)
    return app
