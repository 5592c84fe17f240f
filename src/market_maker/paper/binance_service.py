"""The Binance operations of a paper exchange, on decoded parameters (no HTTP here).

``BinanceService`` turns a request's parameters (names and string values as Binance
defines them) into a call on the ``PaperVenue`` and the answer into Binance's JSON, or
raises ``BinanceError`` with Binance's code and message. The HTTP layer
(``binance_rest``) authenticates and calls it from a worker thread.

Only GTC limit orders (``LIMIT_MAKER`` / ``GTX`` for post-only) and market orders are
taken: the simulated exchange has no IOC/FOK semantics.
"""

import itertools
import re
import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from market_maker.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, PlaceOrderRequest
from market_maker.paper import binance_errors as errors
from market_maker.paper import binance_format as fmt
from market_maker.paper import futures_account as futures
from market_maker.paper.binance_errors import BinanceError
from market_maker.paper.binance_events import cancel_client_id
from market_maker.paper.binance_market import BinanceMarket
from market_maker.paper.journal import OrderView
from market_maker.paper.venue import PaperVenue

Params = Mapping[str, str]
"""A request's parameters, decoded."""

CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
"""Binance's alphabet and length of client order ids."""
MAX_TRADES = 1000
"""Largest ``limit`` of ``myTrades`` / ``userTrades`` (default 500)."""
MAX_KLINES = 1500
"""Largest ``limit`` of ``klines`` (default 500)."""
INTERVALS_S = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600}
"""Kline intervals Binance names, in seconds; the venue serves its candles' own one."""


def _decimal(params: Params, name: str) -> Decimal:
    raw = params.get(name, "")
    if not raw:
        raise errors.missing(name)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise errors.illegal(name) from None
    if not value.is_finite() or value <= 0:
        raise errors.illegal(name)
    return value


def _int(params: Params, name: str, default: int | None = None) -> int | None:
    raw = params.get(name, "")
    if not raw:
        return default
    if not raw.lstrip("-").isdigit():
        raise errors.illegal(name)
    return int(raw)


def _bool(params: Params, name: str) -> bool:
    raw = params.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise errors.bad_value(name, raw)
    return raw == "true"


class BinanceService:
    """Binance's spot or USDⓈ-M API over one ``PaperVenue`` (its market's kind only)."""

    def __init__(self, venue: PaperVenue, market: BinanceMarket) -> None:
        self.venue = venue
        self.market = market
        self.leverage = market.leverage
        self.listen_key: str | None = None
        self._ids = itertools.count(1)  # generated client order ids of cancels and orders

    # -- helpers -----------------------------------------------------------------------------

    def check_symbol(self, params: Params, *, required: bool = True) -> None:
        """Raise -1102 when ``symbol`` is required and absent, -1121 when it is not ours."""
        symbol = params.get("symbol", "")
        if not symbol:
            if required:
                raise errors.missing("symbol")
            return
        if symbol != self.market.symbol_id:
            raise errors.bad_symbol()

    def _order_json(self, view: OrderView) -> fmt.Json:
        if self.market.spot:
            return fmt.spot_order(view, self.market)
        return fmt.futures_order(view, self.market)

    def _find(self, params: Params, not_found: BinanceError) -> OrderView:
        self.check_symbol(params)
        order_id = params.get("orderId", "")
        client_id = params.get("origClientOrderId", "")
        if order_id:
            found = self.venue.client_id(order_id)
            if found is None or (client_id and client_id != found):
                raise not_found
            client_id = found
        elif not client_id:
            raise BinanceError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        view = self.venue.order_view(client_id)
        if view is None or view.update.status is OrderStatus.REJECTED:
            raise not_found
        return view

    def mark_price(self) -> Decimal:
        """The last price (the first candle's open before any candle)."""
        last = self.venue.exchange.last_price
        if last is not None:
            return last
        return self.venue.candles[0].open if self.venue.candles else Decimal(0)

    def margin(self) -> futures.MarginSnapshot:
        """The futures account now (takes the venue's lock)."""
        venue = self.venue
        with venue.lock:
            return self._margin_locked()

    def _margin_locked(self) -> futures.MarginSnapshot:
        venue = self.venue
        return futures.snapshot(
            venue.exchange,
            venue.journal.position,
            self.market,
            self.leverage,
            self.mark_price(),
            venue.now_ms(),
        )

    # -- orders ------------------------------------------------------------------------------

    def _request(self, params: Params) -> tuple[PlaceOrderRequest, str]:
        """The domain request of ``POST order`` parameters and the response type."""
        market = self.market
        self.check_symbol(params)
        side_raw = params.get("side", "")
        if side_raw not in ("BUY", "SELL"):
            raise errors.missing("side") if not side_raw else BinanceError(-1117, "Invalid side.")
        kind = params.get("type", "")
        if not kind:
            raise errors.missing("type")
        allowed = ("LIMIT", "LIMIT_MAKER", "MARKET") if market.spot else ("LIMIT", "MARKET")
        if kind not in allowed:
            raise errors.bad_order_type()
        tif = params.get("timeInForce", "")
        qty = _decimal(params, "quantity")
        post_only = kind == "LIMIT_MAKER" or tif == "GTX"
        if kind == "MARKET":
            if params.get("price"):
                raise BinanceError(-1106, "Parameter 'price' sent when not required.")
            price = Decimal(0)
        else:
            price = _decimal(params, "price")
            if kind == "LIMIT_MAKER":
                if tif:
                    raise BinanceError(-1106, "Parameter 'timeInForce' sent when not required.")
            elif not tif:
                raise errors.missing("timeInForce")
            elif tif not in (("GTC",) if market.spot else ("GTC", "GTX")):
                raise errors.bad_time_in_force()
        reduce_only = "reduceOnly" in params and _bool(params, "reduceOnly")
        if market.spot and "reduceOnly" in params:
            raise BinanceError(-1106, "Parameter 'reduceOnly' sent when not required.")
        client_id = params.get("newClientOrderId") or f"paper_{next(self._ids)}"
        if not CLIENT_ORDER_ID.match(client_id):
            raise BinanceError(
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        default_response = "FULL" if market.spot else "RESULT"
        response = params.get("newOrderRespType") or default_response
        if response not in ("ACK", "RESULT", "FULL"):
            raise errors.bad_value("newOrderRespType", response)
        request = PlaceOrderRequest(
            symbol=self.venue.symbol,
            side=Side(side_raw),
            order_type=OrderType.MARKET if kind == "MARKET" else OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            price=price,
            qty=qty,
            post_only=post_only,
            reduce_only=reduce_only,
            client_order_id=client_id,
        )
        return request, response

    def place(self, params: Params) -> fmt.Json:
        """``POST /api/v3/order`` / ``POST /fapi/v1/order``."""
        request, response = self._request(params)
        market = self.market
        venue = self.venue

        def precheck() -> str:  # under the venue's lock
            last = venue.exchange.last_price
            market_order = request.order_type is OrderType.MARKET
            if market_order and last is None:
                return "no market price yet: a market order needs a first candle"
            price = None if market_order else request.price
            exempt = request.reduce_only and not market.spot
            reference = Decimal(0) if exempt or last is None else last
            reason = market.filter_failure(price, request.qty, reference)
            if reason or market.spot:
                return reason
            account = self._margin_locked()
            return futures.margin_shortfall(account, request, request.price or account.mark_price)

        report = venue.place_order(request, precheck)
        if report.status is OrderStatus.REJECTED:
            raise errors.order_rejection(report, spot=market.spot)
        view = venue.order_view(request.client_order_id)
        assert view is not None
        if not market.spot:
            return fmt.futures_order(view, market)
        fills = [t for t in venue.trades() if t.order_id == report.order_id]
        return fmt.spot_placed(view, market, response, fills)

    def cancel(self, params: Params) -> fmt.Json:
        """``DELETE /api/v3/order`` / ``DELETE /fapi/v1/order``."""
        view = self._find(params, errors.unknown_order())
        request = view.request
        report = self.venue.cancel_order(
            CancelOrderRequest(request.symbol, request.client_order_id, view.update.order_id)
        )
        if report is None:
            raise errors.unknown_order()
        done = self.venue.order_view(request.client_order_id)
        assert done is not None
        if self.market.spot:
            cancel_id = params.get("newClientOrderId") or cancel_client_id(report.order_id)
            return fmt.spot_canceled(done, self.market, cancel_id)
        return fmt.futures_order(done, self.market)

    def query(self, params: Params) -> fmt.Json:
        """``GET /api/v3/order`` / ``GET /fapi/v1/order``."""
        return self._order_json(self._find(params, errors.order_not_found()))

    def open_orders(self, params: Params) -> list[fmt.Json]:
        """``GET /api/v3/openOrders`` / ``GET /fapi/v1/openOrders``."""
        self.check_symbol(params, required=False)
        return [self._order_json(view) for view in self.venue.open_views()]

    def my_trades(self, params: Params) -> list[fmt.Json]:
        """``GET /api/v3/myTrades`` / ``GET /fapi/v1/userTrades``.

        ``fromId``: trades from that id on; else ``startTime``/``endTime``: trades in that
        span, oldest first; else the newest ``limit``. Always oldest first.
        """
        self.check_symbol(params)
        limit = _int(params, "limit", 500) or 500
        if not 1 <= limit <= MAX_TRADES:
            raise errors.bad_value("limit", str(limit))
        trades = self.venue.trades()
        order_id = params.get("orderId", "")
        if order_id:
            trades = [t for t in trades if t.order_id == order_id]
        from_id = _int(params, "fromId")
        start, end = _int(params, "startTime"), _int(params, "endTime")
        if from_id is not None:
            chosen = [t for t in trades if t.id >= from_id][:limit]
        elif start is not None or end is not None:
            low, high = start or 0, end if end is not None else 2**63
            chosen = [t for t in trades if low <= t.time_ms <= high][:limit]
        else:
            chosen = trades[-limit:]
        write = fmt.spot_trade if self.market.spot else fmt.futures_trade
        return [write(t, self.market) for t in chosen]

    # -- market data -------------------------------------------------------------------------

    def klines(self, params: Params) -> list[list[object]]:
        """``klines``: candles market time has completed, oldest first.

        Only the candles' own interval is served (-1120 for others).
        """
        self.check_symbol(params)
        interval = params.get("interval", "")
        if not interval:
            raise errors.missing("interval")
        candles = self.venue.candles
        seconds = candles[0].interval_s if candles else 60
        if INTERVALS_S.get(interval) != seconds:
            raise errors.bad_interval()
        limit = _int(params, "limit", 500) or 500
        if not 1 <= limit <= MAX_KLINES:
            raise errors.bad_value("limit", str(limit))
        start, end = _int(params, "startTime"), _int(params, "endTime")
        done = candles[: self.venue.market().closed]
        if start is not None:
            done = done[first_at_or_after(done, start) :]
        if end is not None:
            done = done[: first_at_or_after(done, end + 1)]
        chosen = done[:limit] if start is not None else done[-limit:]
        return [fmt.kline_row(c) for c in chosen]

    def ticker(self, params: Params) -> fmt.Json | list[fmt.Json]:
        """``ticker/24hr`` of the symbol (a list of one when no symbol is given)."""
        self.check_symbol(params, required=False)
        venue = self.venue
        with venue.lock:  # the step, its time and its candles read together
            snap, now = venue.market_locked(), venue.now_ms()
        window = ticker_window(venue.candles[: snap.closed], snap.forming, now)
        ticker = fmt.ticker_24hr(self.market, window, now)
        return ticker if params.get("symbol") else [ticker]

    def new_listen_key(self) -> str:
        """The user-data stream key (the same one while it is open, as on USDⓈ-M)."""
        if self.listen_key is None:
            self.listen_key = secrets.token_urlsafe(48)[:64]
        return self.listen_key

    def check_listen_key(self, key: str | None) -> None:
        """Raise -1125 unless ``key`` is the open listen key (``None`` = the open one)."""
        if self.listen_key is None or (key is not None and key != self.listen_key):
            raise errors.no_listen_key()


def ticker_window(closed: Sequence[Candle], forming: Candle | None, now_ms: int) -> list[Candle]:
    """The candles a 24-hour ticker at ``now_ms`` covers: the closed ones, then the forming."""
    window = list(closed[first_at_or_after(closed, now_ms - fmt.TICKER_WINDOW_MS) :])
    if forming is not None:
        window.append(forming)
    return window


def first_at_or_after(candles: Sequence[Candle], time_ms: int) -> int:
    """Index of the first of ``candles`` (in time order) opening at or after ``time_ms``."""
    low, high = 0, len(candles)
    while low < high:
        mid = (low + high) // 2
        if candles[mid].open_time_ms < time_ms:
            low = mid + 1
        else:
            high = mid
    return low
