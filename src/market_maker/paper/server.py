"""The paper exchange's HTTP API (FastAPI) and the loop that serves it (uvicorn).

A deliberately small JSON API of our own (the live-trading work replaces it with a
Binance-compatible subset). Handlers are thin: they validate, call the ``PaperVenue`` and
write the result with ``market_maker.paper.protocol``. Errors are JSON objects
``{"error": "<message>"}``: 404 for an unknown (or finished, on cancel) order, 422 for a
request that does not validate. An order the venue refuses is not an HTTP error: like the
simulated exchange, the venue answers with a REJECTED report whose ``reject_reason`` says
why (a duplicate client order id, insufficient balance, a reduce-only order that would
open, increase or flip the position) or whose ``post_only_reject`` is set.
"""

import signal
import socket
from types import FrameType
from typing import Annotated, Any

import uvicorn
from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from market_maker.domain.enums import OrderType, Side, TimeInForce
from market_maker.domain.orders import CancelOrderRequest, PlaceOrderRequest
from market_maker.paper.protocol import (
    DecimalText,
    Json,
    balances_to_json,
    candle_to_json,
    request_to_json,
    rules_to_json,
    trade_to_json,
    update_to_json,
)
from market_maker.paper.venue import MarketClock, PaperVenue

MAX_CANDLES_PER_REQUEST = 10_000
"""Upper bound of ``GET /candles?limit=``: a client that is further behind asks again."""

MAX_TRADES_PER_REQUEST = 1000
"""Upper bound of ``GET /trades?limit=``: a client pages on with ``after_id``."""


class PlaceOrderBody(BaseModel):
    """Body of ``POST /orders``: the fields of ``PlaceOrderRequest``, decimals as strings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(min_length=1, description="Unified symbol the exchange trades.")
    side: Side = Field(description="BUY or SELL.")
    order_type: OrderType = Field(description="LIMIT or MARKET.")
    time_in_force: TimeInForce = Field(description="GTC, IOC or FOK.")
    price: DecimalText = Field(ge=0, description="Limit price, quote currency, as a string.")
    qty: DecimalText = Field(gt=0, description="Quantity, base currency, as a string.")
    post_only: bool = Field(description="Reject instead of taking liquidity.")
    reduce_only: bool = Field(
        description="May only reduce the position: rejected if it would open, grow or flip it."
    )
    client_order_id: str = Field(min_length=1, description="The caller's id of the order.")

    def to_request(self) -> PlaceOrderRequest:
        """The domain request this body describes."""
        return PlaceOrderRequest(
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            price=self.price,
            qty=self.qty,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            client_order_id=self.client_order_id,
        )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    """One line per problem: ``<field>: <what is wrong>``."""
    parts = []
    for err in exc.errors():
        raw = [str(p) for p in err.get("loc", ())]
        loc = [p for p in raw if p not in ("body", "query", "path")] or raw[:1] or ["request"]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(loc)}: {msg}")
    return "; ".join(parts)


def create_app(venue: PaperVenue, *, speed: float = 0.0) -> FastAPI:
    """Build the HTTP API over ``venue``; ``speed`` is only reported by ``/health``."""
    app = FastAPI(
        title="market-maker paper exchange",
        description="A simulated exchange served over HTTP; decimals are strings.",
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    def wrong_symbol(symbol: str | None) -> JSONResponse | None:
        if symbol is None or symbol == venue.symbol:
            return None
        return _error(422, f"symbol: this paper exchange trades {venue.symbol}, not {symbol}")

    def unknown(client_order_id: str, what: str = "") -> JSONResponse:
        return _error(404, f"no {what}order with client order id {client_order_id!r}")

    @app.get("/health")
    def health() -> Json:
        market = venue.market()
        return {
            "status": "ok",
            "symbol": venue.symbol,
            "index": market.index,
            "total": venue.total,
            "done": market.done,
            "speed": speed,  # candles per second of wall time; 0 = manual
        }

    @app.get("/rules", response_model=None)
    def rules(symbol: str | None = None) -> Json | JSONResponse:
        return wrong_symbol(symbol) or rules_to_json(venue.rules)

    @app.post("/orders", response_model=None)
    def place(body: Annotated[PlaceOrderBody, Body()]) -> Json | JSONResponse:
        return wrong_symbol(body.symbol) or update_to_json(venue.place_order(body.to_request()))

    @app.delete("/orders/{client_order_id}", response_model=None)
    def cancel(client_order_id: str, symbol: str | None = None) -> Json | JSONResponse:
        if (bad := wrong_symbol(symbol)) is not None:
            return bad
        report = venue.cancel_order(CancelOrderRequest(venue.symbol, client_order_id))
        return unknown(client_order_id, "open ") if report is None else update_to_json(report)

    @app.get("/orders/{client_order_id}", response_model=None)
    def lookup(client_order_id: str, symbol: str | None = None) -> Json | JSONResponse:
        if (bad := wrong_symbol(symbol)) is not None:
            return bad
        report = venue.get_order(client_order_id)
        return unknown(client_order_id) if report is None else update_to_json(report)

    @app.get("/orders", response_model=None)
    def orders(open: bool = True, symbol: str | None = None) -> Json | JSONResponse:
        if (bad := wrong_symbol(symbol)) is not None:
            return bad
        return {"orders": [update_to_json(u) for u in venue.orders(open_only=open)]}

    @app.get("/balances")
    def balances() -> Json:
        return balances_to_json(venue.balances())

    @app.get("/trades", response_model=None)
    def trades(
        symbol: str | None = None,
        after_id: Annotated[int | None, Query(ge=0)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_TRADES_PER_REQUEST)] = MAX_TRADES_PER_REQUEST,
    ) -> Json | JSONResponse:
        if (bad := wrong_symbol(symbol)) is not None:
            return bad
        return {"trades": [trade_to_json(t) for t in venue.own_trades(after_id, limit)]}

    @app.get("/market")
    def market() -> Json:
        snap = venue.market()
        candle = None if snap.candle is None else candle_to_json(snap.candle)
        return {"index": snap.index, "candle": candle, "done": snap.done, "total": venue.total}

    @app.get("/candles")
    def candles(
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_CANDLES_PER_REQUEST)] = 1000,
    ) -> Json:
        items = venue.candles_after(after, limit)
        return {"candles": [{"index": c.index, "candle": candle_to_json(c.candle)} for c in items]}

    @app.post("/advance")
    def advance(n: Annotated[int, Query(ge=1)] = 1) -> Json:
        before, index, fills = venue.advance(n)
        return {
            "index": index,
            "advanced": index - before,
            "done": index == venue.total,
            "fills": [update_to_json(f) for f in fills],
        }

    @app.get("/ledger")
    def ledger() -> Json:
        held = venue.ledger()
        orders: list[Any] = [
            {"request": request_to_json(o.request), "state": update_to_json(o.state)}
            for o in held.orders
        ]
        return {
            "orders": orders,
            "fills": [update_to_json(f) for f in held.fills],
            "duplicates": list(held.duplicates),
        }

    return app


def listen(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket (``port`` 0 picks a free one); raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def serve(
    venue: PaperVenue, sock: socket.socket, *, speed: float, app: FastAPI | None = None
) -> None:
    """Serve ``venue`` on ``sock`` until SIGINT or SIGTERM, then stop cleanly.

    ``app`` defaults to ``create_app(venue)`` (the JSON API alone); websockets are served
    by the ``websockets`` package. With ``speed`` above 0 a ``MarketClock`` advances
    market time meanwhile; with 0 only ``POST /advance`` does. Returns normally after
    either signal.
    """
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app if app is not None else create_app(venue, speed=speed),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    stopping: list[int] = []

    def note(signum: int, _: FrameType | None) -> None:
        stopping.append(signum)
        server.should_exit = True

    # Uvicorn handles both signals while it serves, and re-raises them once it has shut
    # down; these handlers then receive them, so the process exits normally (status 0).
    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    clock = MarketClock(venue, speed) if speed > 0 else None
    try:
        if clock is not None:
            clock.start()
        if not stopping:
            server.run(sockets=[sock])
    finally:
        if clock is not None:
            clock.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
