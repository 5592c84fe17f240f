"""``connect``: one market of one ccxt exchange, as the bot's ports, in one call.

``connect(settings)`` starts the adapter's loop thread, creates the ccxt exchange on it
(``ccxt.pro`` with streams, ``ccxt.async_support`` for REST only), points it at
``base_url`` when given, loads the markets once, checks the credentials (a balance read:
an authentication failure is a ``FatalExchangeError`` that names authentication and never
the secret) and returns a ``CcxtVenue``:

* ``venue.exchange``: the ``Exchange`` (and ``VenueInfo``: ``market_rules``, ``balances``);
* ``venue.market_data``: the ``MarketDataSource``;
* ``venue.order_updates``: the ``OrderUpdateSource``;
* ``venue.attach_wake(event)``: streams set the runner's ``wake`` when they buffered events;
* ``venue.close()``: stops the streams, closes the exchange and the loop.
"""

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ccxt.async_support
import ccxt.pro

from market_maker.domain.instrument import split_symbol
from market_maker.exchanges.base import FatalExchangeError
from market_maker.exchanges.ccxt.caller import Caller, RequestObserver, Timing
from market_maker.exchanges.ccxt.exchange import CcxtExchange, Market
from market_maker.exchanges.ccxt.ledger import FillLedger
from market_maker.exchanges.ccxt.loop import LoopThread
from market_maker.exchanges.ccxt.market_data import CcxtMarketData, ticker_price
from market_maker.exchanges.ccxt.order_updates import CcxtOrderUpdates
from market_maker.exchanges.ccxt.pacing import TokenBucket
from market_maker.exchanges.ccxt.settings import CcxtSettings
from market_maker.exchanges.ccxt.streams import Stream
from market_maker.exchanges.ccxt.urls import rewrite_api, set_ws_urls

log = logging.getLogger(__name__)


def ccxt_options(settings: CcxtSettings) -> dict[str, Any]:
    """The ccxt options the adapter sets, with ``settings.options`` merged over them.

    Binance: no currency and margin-pair side calls at ``load_markets`` (not needed to
    trade, and missing on compatible servers); only the market type traded is loaded.
    """
    options: dict[str, Any] = {}
    if settings.exchange_id.startswith("binance"):
        options |= {"fetchCurrencies": False, "fetchMargins": False}
        if settings.exchange_id == "binance":
            kind = "linear" if ":" in settings.symbol else "spot"
            options["fetchMarkets"] = {"types": [kind]}
    return options | dict(settings.options)


async def _create(settings: CcxtSettings) -> Any:
    module = ccxt.pro if settings.streams else ccxt.async_support
    exchange = getattr(module, settings.exchange_id)(
        {
            "apiKey": settings.api_key,
            "secret": settings.secret,
            "enableRateLimit": True,
            "timeout": int(settings.timeout_s * 1000),
            "options": ccxt_options(settings),
        }
    )
    if settings.sandbox:
        exchange.set_sandbox_mode(True)
    if settings.base_url is not None:
        exchange.urls["api"] = rewrite_api(exchange.urls["api"], settings.base_url)
    if settings.ws_urls:
        set_ws_urls(exchange.urls["api"], settings.ws_urls)
    return exchange


class CcxtVenue:
    """The bot's ports on one market of one exchange; close it when done.

    Attributes:
        exchange: ``Exchange`` and ``VenueInfo``.
        market_data: ``MarketDataSource``.
        order_updates: ``OrderUpdateSource``.
        streams: The websocket streams running (none in REST-only mode).
    """

    def __init__(
        self,
        loop: LoopThread,
        exchange: CcxtExchange,
        market_data: CcxtMarketData,
        order_updates: CcxtOrderUpdates,
        streams: Iterable[Stream],
    ) -> None:
        self.loop = loop
        self.exchange = exchange
        self.market_data = market_data
        self.order_updates = order_updates
        self.streams = tuple(streams)

    def attach_wake(self, wake: threading.Event) -> None:
        """Have the streams set ``wake`` (the runner's) whenever they buffered something."""
        for stream in self.streams:
            stream.on_items = wake.set

    def close(self) -> None:
        """Stop the streams, close the exchange (sockets, HTTP session), stop the loop."""
        if not self.loop.running:
            return
        for stream in self.streams:
            try:
                stream.stop()
            except Exception as exc:  # closing goes on whatever a stream did
                log.warning("stopping stream %s: %s", stream.name, exc)
        _close_exchange(self.loop, self.exchange.ex)

    def __enter__(self) -> "CcxtVenue":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_exchange(loop: LoopThread, exchange: Any) -> None:
    try:
        loop.run(exchange.close(), 10.0)
    except Exception as exc:  # the loop is stopped below in any case
        log.warning("closing the exchange: %s", exc)
    finally:
        loop.stop()


def connect(
    settings: CcxtSettings,
    *,
    timing: Timing | None = None,
    observer: RequestObserver | None = None,
) -> CcxtVenue:
    """Connect to ``settings.symbol`` on ``settings.exchange_id``; the bot's ports.

    Args:
        settings: Exchange, symbol, credentials, URLs, timeouts, streams or REST.
        timing: Sleep, clocks and randomness (tests inject their own).
        observer: Told of every REST request: operation, seconds, failure kind (metrics).

    Raises:
        FatalExchangeError: The symbol is not listed, or authentication failed.
        RetryableExchangeError: The venue did not answer (after the retries).
    """
    timing = timing or Timing()
    loop = LoopThread(f"ccxt-{settings.exchange_id}")
    exchange: Any = None
    try:
        exchange = loop.run(_create(settings), settings.timeout_s)
        bucket = TokenBucket(settings.requests_per_s, settings.burst, timing.monotonic)
        caller = Caller(
            loop, exchange, policy=settings.retry, bucket=bucket,
            timeout_s=settings.timeout_s, timing=timing, secrets=settings.secrets,
            observer=observer,
        )  # fmt: skip
        caller.call(f"load markets of {settings.exchange_id}", exchange.load_markets)
        market = _market(exchange, settings)
        if not market.spot:
            exchange.options["defaultType"] = market.info.get("type", "swap")
        core = CcxtExchange(caller, market, FillLedger())
        core.balances()  # authenticates: a bad key fails here, not at the first order
        return _assemble(loop, core, settings, timing)
    except BaseException:
        if exchange is not None:
            _close_exchange(loop, exchange)
        else:
            loop.stop()
        raise


def _market(exchange: Any, settings: CcxtSettings) -> Market:
    info: Mapping[str, Any] | None = exchange.markets.get(settings.symbol)
    if info is None:
        listed = sorted(s for s in exchange.markets if s.startswith(settings.symbol[:3]))[:10]
        raise FatalExchangeError(
            f"symbol: {settings.exchange_id} lists no market {settings.symbol!r}; use its "
            f"ccxt unified symbol, e.g. one of {listed}"
        )
    base, quote = split_symbol(settings.symbol)
    return Market(settings.symbol, base, quote, bool(info.get("spot")), info)


def _assemble(
    loop: LoopThread, core: CcxtExchange, settings: CcxtSettings, timing: Timing
) -> CcxtVenue:
    ex, symbol = core.ex, settings.symbol
    order_stream: Stream | None = None
    price_stream: Stream | None = None
    if settings.streams:
        order_stream = Stream(
            loop, f"orders {symbol}", lambda: ex.watch_orders(symbol),
            lambda batch: [dict(o) for o in batch], draw=timing.draw,
        )  # fmt: skip
        price_stream = Stream(
            loop, f"ticker {symbol}", lambda: ex.watch_ticker(symbol),
            _prices(symbol), draw=timing.draw,
        )  # fmt: skip
    streams = [s for s in (order_stream, price_stream) if s is not None]
    venue = CcxtVenue(
        loop,
        core,
        CcxtMarketData(core.caller, symbol, price_stream),
        CcxtOrderUpdates(core, order_stream),
        streams,
    )
    for stream in streams:
        stream.start()
    return venue


def _prices(symbol: str) -> Callable[[Any], list[Any]]:
    def unpack(ticker: Any) -> list[Any]:
        price = ticker_price(symbol, ticker)
        return [] if price is None else [price]

    return unpack
