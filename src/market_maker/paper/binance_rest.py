"""Binance's REST API on the paper exchange's FastAPI app (``/api/v3``, ``/fapi``, ``/sapi``).

Each route reads the raw query string and form body, authenticates signed endpoints
(``signing``), then runs a ``BinanceService`` operation in a worker thread (the venue's
lock may be held by the market clock) and writes its JSON, or Binance's error answer.
Both kinds' paths are served; the kind the process does not trade answers an empty
``exchangeInfo`` and -1121 (invalid symbol) for everything about a symbol.
"""

import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from market_maker.paper import binance_errors as errors
from market_maker.paper import binance_format as fmt
from market_maker.paper import futures_account as futures
from market_maker.paper.binance_errors import BinanceError
from market_maker.paper.binance_market import MarketKind
from market_maker.paper.binance_service import BinanceService, Params
from market_maker.paper.signing import Credentials

WallClock = Callable[[], int]
"""Wall-clock milliseconds since the epoch (``serverTime``, the signature window)."""


def wall_ms() -> int:
    """The system clock in milliseconds."""
    return time.time_ns() // 1_000_000


class Auth(Enum):
    """What a route requires."""

    NONE = "NONE"
    """Public market data."""
    KEY = "KEY"
    """The API key header only (listen keys)."""
    SIGNED = "SIGNED"
    """Key, signature and timestamp."""


Handler = Callable[[Params], Any]
"""An operation on decoded parameters, run in a worker thread."""


class BinanceRoutes:
    """Adds Binance's endpoints to a FastAPI app."""

    def __init__(
        self, service: BinanceService, credentials: Credentials, clock: WallClock = wall_ms
    ) -> None:
        self.service = service
        self.credentials = credentials
        self.clock = clock

    def _route(self, handler: Handler, auth: Auth) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                query = request.url.query
                body = (await request.body()).decode("latin-1")
                key = request.headers.get("x-mbx-apikey")
                if auth is Auth.SIGNED:
                    params = self.credentials.verify(key, query, body, self.clock())
                else:
                    if auth is Auth.KEY:
                        self.credentials.check_key(key)
                    params = dict(parse_qsl(query, keep_blank_values=True))
                    params |= dict(parse_qsl(body, keep_blank_values=True))
                result = await run_in_threadpool(handler, params)
            except BinanceError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
            return JSONResponse(result)

        return run

    def _add(self, app: FastAPI, method: str, path: str, handler: Handler, auth: Auth) -> None:
        app.add_api_route(
            path, self._route(handler, auth), methods=[method], include_in_schema=False
        )

    def install(self, app: FastAPI) -> None:
        """Add every route to ``app``."""
        service, kind = self.service, self.service.market.kind
        both: tuple[MarketKind, ...] = ("spot", "usdm")
        prefixes = {"spot": "/api/v3", "usdm": "/fapi/v1"}
        for each in both:
            p = prefixes[each]
            mine = each == kind
            self._add(app, "GET", f"{p}/ping", lambda _: {}, Auth.NONE)
            self._add(app, "GET", f"{p}/time", lambda _: {"serverTime": self.clock()}, Auth.NONE)
            self._add(app, "GET", f"{p}/exchangeInfo", self._info(mine), Auth.NONE)
            routes: list[tuple[str, str, Handler, Auth]] = [
                ("GET", "ticker/24hr", service.ticker, Auth.NONE),
                ("GET", "klines", service.klines, Auth.NONE),
                ("POST", "order", service.place, Auth.SIGNED),
                ("DELETE", "order", service.cancel, Auth.SIGNED),
                ("GET", "order", service.query, Auth.SIGNED),
                ("GET", "openOrders", service.open_orders, Auth.SIGNED),
                (
                    "GET",
                    "myTrades" if each == "spot" else "userTrades",
                    service.my_trades,
                    Auth.SIGNED,
                ),
            ]
            for method, path, handler, auth in routes:
                self._add(app, method, f"{p}/{path}", handler if mine else _no_symbol, auth)
        self._add(app, "GET", "/dapi/v1/exchangeInfo", self._info(False), Auth.NONE)
        self._add(app, "GET", "/api/v3/account", self._spot_account, Auth.SIGNED)
        self._add(app, "GET", "/api/v3/account/commission", self._spot_commission, Auth.SIGNED)
        for version in ("v2", "v3"):
            self._add(app, "GET", f"/fapi/{version}/account", self._futures_account, Auth.SIGNED)
            self._add(app, "GET", f"/fapi/{version}/positionRisk", self._positions, Auth.SIGNED)
        futures_routes: list[tuple[str, str, Handler, Auth]] = [
            ("GET", "leverageBracket", self._brackets, Auth.SIGNED),
            ("POST", "leverage", self._set_leverage, Auth.SIGNED),
            ("GET", "positionSide/dual", lambda _: {"dualSidePosition": False}, Auth.SIGNED),
            ("GET", "commissionRate", self._futures_commission, Auth.SIGNED),
            ("GET", "premiumIndex", self._premium_index, Auth.NONE),
            ("POST", "listenKey", self._listen_key, Auth.KEY),
            ("PUT", "listenKey", self._keep_alive, Auth.KEY),
            ("DELETE", "listenKey", self._close_listen_key, Auth.KEY),
        ]
        for method, path, handler, auth in futures_routes:
            self._add(app, method, f"/fapi/v1/{path}", handler, auth)
        self._add(app, "GET", "/sapi/v1/capital/config/getall", self._currencies, Auth.SIGNED)
        self._add(app, "GET", "/sapi/v1/margin/allPairs", lambda _: [], Auth.SIGNED)
        self._add(app, "GET", "/sapi/v1/margin/isolated/allPairs", lambda _: [], Auth.SIGNED)
        self._add(app, "GET", "/sapi/v1/asset/tradeFee", self._trade_fee, Auth.SIGNED)

    # -- handlers ------------------------------------------------------------------------------

    def _info(self, mine: bool) -> Handler:
        market = self.service.market if mine else None
        return lambda _: fmt.exchange_info(market, self.clock())

    def _require(self, kind: MarketKind) -> None:
        if self.service.market.kind != kind:
            raise errors.bad_symbol()

    def _spot_account(self, params: Params) -> fmt.Json:
        self._require("spot")
        rules = self.service.market.rules
        balances = self.service.venue.balances()
        return {
            "makerCommission": int(rules.maker_fee * 10_000),
            "takerCommission": int(rules.taker_fee * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": fmt.dec(rules.maker_fee),
                "taker": fmt.dec(rules.taker_fee),
                "buyer": "0",
                "seller": "0",
            },
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.service.venue.now_ms(),
            "accountType": "SPOT",
            "balances": [
                {"asset": b.asset, "free": fmt.dec(b.free), "locked": fmt.dec(b.locked)}
                for b in balances.values()
            ],
            "permissions": ["SPOT"],
            "uid": 1,
        }

    def _spot_commission(self, params: Params) -> fmt.Json:
        self._require("spot")
        self.service.check_symbol(params)
        rules = self.service.market.rules
        rates = {"maker": fmt.dec(rules.maker_fee), "taker": fmt.dec(rules.taker_fee)}
        zero = {"maker": "0", "taker": "0", "buyer": "0", "seller": "0"}
        return {
            "symbol": self.service.market.symbol_id,
            "standardCommission": rates | {"buyer": "0", "seller": "0"},
            "taxCommission": zero,
            "discount": {"enabledForAccount": False, "enabledForSymbol": False},
        }

    def _trade_fee(self, params: Params) -> list[fmt.Json]:
        market = self.service.market
        return [
            {
                "symbol": market.symbol_id,
                "makerCommission": fmt.dec(market.rules.maker_fee),
                "takerCommission": fmt.dec(market.rules.taker_fee),
            }
        ]

    def _currencies(self, params: Params) -> list[fmt.Json]:
        market = self.service.market
        balances = self.service.venue.balances()
        out = []
        for asset in (market.base, market.quote):
            held = balances.get(asset)
            out.append(
                {
                    "coin": asset,
                    "name": asset,
                    "free": fmt.dec(held.free) if held else "0",
                    "locked": fmt.dec(held.locked) if held else "0",
                    "depositAllEnable": False,
                    "withdrawAllEnable": False,
                    "trading": True,
                    "isLegalMoney": False,
                    "networkList": [],
                }
            )
        return out

    def _futures_account(self, params: Params) -> fmt.Json:
        self._require("usdm")
        return futures.account_json(self.service.margin(), self.service.market)

    def _positions(self, params: Params) -> list[fmt.Json]:
        self._require("usdm")
        self.service.check_symbol(params, required=False)
        return futures.position_risk_json(self.service.margin(), self.service.market)

    def _brackets(self, params: Params) -> list[fmt.Json]:
        self._require("usdm")
        self.service.check_symbol(params, required=False)
        return futures.leverage_bracket_json(self.service.market, self.service.leverage)

    def _set_leverage(self, params: Params) -> fmt.Json:
        self._require("usdm")
        self.service.check_symbol(params)
        raw = params.get("leverage", "")
        if not raw.isdigit() or not 1 <= int(raw) <= 125:
            raise BinanceError(-4028, f"Leverage {raw} is not valid")
        self.service.leverage = int(raw)
        return {
            "leverage": int(raw),
            "maxNotionalValue": "1000000000",
            "symbol": self.service.market.symbol_id,
        }

    def _futures_commission(self, params: Params) -> fmt.Json:
        self._require("usdm")
        self.service.check_symbol(params)
        rules = self.service.market.rules
        return {
            "symbol": self.service.market.symbol_id,
            "makerCommissionRate": fmt.dec(rules.maker_fee),
            "takerCommissionRate": fmt.dec(rules.taker_fee),
        }

    def _premium_index(self, params: Params) -> fmt.Json:
        self._require("usdm")
        self.service.check_symbol(params, required=False)
        mark = fmt.dec(self.service.mark_price())
        now = self.service.venue.now_ms()
        return {
            "symbol": self.service.market.symbol_id,
            "markPrice": mark,
            "indexPrice": mark,
            "estimatedSettlePrice": mark,
            "lastFundingRate": "0",
            "interestRate": "0",
            "nextFundingTime": now + 8 * 3600 * 1000,
            "time": now,
        }

    def _listen_key(self, params: Params) -> fmt.Json:
        self._require("usdm")
        return {"listenKey": self.service.new_listen_key()}

    def _keep_alive(self, params: Params) -> fmt.Json:
        self._require("usdm")
        self.service.check_listen_key(params.get("listenKey"))
        return {"listenKey": self.service.listen_key}

    def _close_listen_key(self, params: Params) -> fmt.Json:
        self._require("usdm")
        self.service.check_listen_key(params.get("listenKey"))
        self.service.listen_key = None
        return {}


def _no_symbol(params: Params) -> Any:
    """Every symbol endpoint of the kind this process does not trade."""
    raise errors.bad_symbol()
