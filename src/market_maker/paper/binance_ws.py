"""Binance's websocket streams on the paper exchange (served by uvicorn's websockets).

Paths (what ``market_maker.paper.connect`` points ccxt at):

* ``/stream/<n>`` (spot) and ``/fstream/{market,public}/ws/<n>`` (USDⓈ-M): market
  streams, raw events as on Binance's ``/ws`` endpoint. A client sends
  ``{"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m", ...], "id": 1}`` and gets
  ``{"result": null, "id": 1}``; ``UNSUBSCRIBE`` and ``LIST_SUBSCRIPTIONS`` work too.
* ``/ws-api/v3`` (spot websocket API): ``userDataStream.subscribe.signature`` (params
  ``apiKey``, ``timestamp``, ``recvWindow``, ``signature`` over the sorted params) answers
  ``{"id": .., "status": 200, "result": {"subscriptionId": 0}}``; then every order change
  arrives as ``{"subscriptionId": 0, "event": {executionReport}}``.
* ``/fstream/private/ws?listenKey=K`` (USDⓈ-M user data, key from
  ``POST /fapi/v1/listenKey``): ``ORDER_TRADE_UPDATE`` events.

``StreamHub`` receives the venue's events (on the venue's thread, under its lock) and
hands them to the server's event loop, where each connection renders what it subscribed
to, passes it through the fault injector (drop, duplicate, reorder) and sends it.
"""

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from market_maker.paper import binance_events as events
from market_maker.paper.binance_errors import BinanceError
from market_maker.paper.binance_format import Json
from market_maker.paper.binance_service import BinanceService, ticker_window
from market_maker.paper.faults import FaultInjector
from market_maker.paper.journal import CandleEvent, OrderEvent, TickEvent, VenueEvent
from market_maker.paper.signing import Credentials

DROP_CODE = 1001
"""Close code of a dropped connection ("going away", as a server restart sends)."""


class Connection:
    """One websocket client: what it receives, and its outgoing queue with faults applied."""

    def __init__(self, socket: WebSocket, faults: FaultInjector, render: "Renderer") -> None:
        self.socket = socket
        self.faults = faults
        self.render = render
        self.streams: set[str] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()  # None = drop the connection
        self._held: str | None = None  # an event held back to be sent after the next

    def push(self, message: Json) -> None:
        """Queue ``message`` as the fault injector decides (on the event loop)."""
        text = json.dumps(message, separators=(",", ":"))
        action = self.faults.ws_action()
        if action == "drop":
            self.queue.put_nowait(None)
            return
        if action == "reorder" and self._held is None:
            self._held = text
            return
        self.queue.put_nowait(text)
        if action == "duplicate":
            self.queue.put_nowait(text)
        if self._held is not None:
            self.queue.put_nowait(self._held)
            self._held = None

    async def send_loop(self) -> None:
        """Send queued messages until a drop is queued (then close the connection)."""
        while (text := await self.queue.get()) is not None:
            await self.socket.send_text(text)
        await self.socket.close(DROP_CODE)


Renderer = Callable[[Connection, VenueEvent], list[Json]]
"""What one connection receives for one venue event."""


class StreamHub:
    """Fans the venue's events out to the open connections, on the server's event loop."""

    def __init__(self, service: BinanceService, faults: FaultInjector) -> None:
        self.service = service
        self.faults = faults
        self.connections: set[Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self) -> None:
        """Start receiving venue events (called on the event loop by the first connection)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self.service.venue.subscribe(self._from_venue)

    def _from_venue(self, event: VenueEvent) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._dispatch, event)

    def _dispatch(self, event: VenueEvent) -> None:
        for connection in list(self.connections):
            for message in connection.render(connection, event):
                connection.push(message)

    # -- renderers ---------------------------------------------------------------------------

    def market_messages(self, connection: Connection, event: VenueEvent) -> list[Json]:
        """A kline event per closed candle, ticker events per step, for the subscribed streams."""
        market = self.service.market
        if isinstance(event, CandleEvent):
            if events.kline_stream(market, event.candle) in connection.streams:
                return [events.kline_event(market, event.candle)]
            return []
        if not isinstance(event, TickEvent):
            return []
        symbol = market.symbol_id.lower()
        wanted = {f"{symbol}@miniTicker": "miniTicker", f"{symbol}@ticker": "ticker"}
        if not wanted.keys() & connection.streams:
            return []
        closed = self.service.venue.candles[: event.closed]
        window = ticker_window(closed, event.forming, event.time_ms)
        tickers = events.ticker_events(market, window, event.time_ms)
        return [tickers[kind] for stream, kind in wanted.items() if stream in connection.streams]

    def spot_user_messages(self, connection: Connection, event: VenueEvent) -> list[Json]:
        """``executionReport`` events once the connection subscribed to its user data."""
        if not isinstance(event, OrderEvent) or "user" not in connection.streams:
            return []
        report = events.execution_report(self.service.market, event)
        return [{"subscriptionId": 0, "event": report}]

    def futures_user_messages(self, connection: Connection, event: VenueEvent) -> list[Json]:
        """``ORDER_TRADE_UPDATE`` events."""
        if not isinstance(event, OrderEvent):
            return []
        return [events.order_trade_update(self.service.market, event)]

    # -- serving -----------------------------------------------------------------------------

    async def serve(
        self,
        socket: WebSocket,
        render: Renderer,
        answer: Callable[[Connection, dict[str, Any]], Json | None],
    ) -> None:
        """Serve one connection: requests answered by ``answer``, events by ``render``."""
        await socket.accept()
        self.attach()
        connection = Connection(socket, self.faults, render)
        self.connections.add(connection)
        sender = asyncio.create_task(connection.send_loop())
        timer = None
        if (every := self.faults.settings.ws_drop_every_s) is not None:
            timer = asyncio.get_running_loop().call_later(every, self._timed_drop, connection)
        try:
            receiver = asyncio.create_task(self._receive(connection, answer))
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sender, receiver):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        finally:
            if timer is not None:
                timer.cancel()
            self.connections.discard(connection)

    def _timed_drop(self, connection: Connection) -> None:
        self.faults.note("ws_timed_drop")
        connection.queue.put_nowait(None)

    async def _receive(
        self, connection: Connection, answer: Callable[[Connection, dict[str, Any]], Json | None]
    ) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await connection.socket.receive_text()
                try:
                    request = json.loads(text)
                except ValueError:
                    request = None
                if not isinstance(request, dict):
                    reply: Json | None = {"error": {"code": 3, "msg": "Invalid JSON"}}
                else:
                    reply = answer(connection, request)
                if reply is not None:
                    connection.queue.put_nowait(json.dumps(reply, separators=(",", ":")))


def _subscriptions(connection: Connection, request: dict[str, Any]) -> Json | None:
    """Answer ``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` on a market stream."""
    method, ident = request.get("method"), request.get("id")
    params = request.get("params") or []
    if method == "SUBSCRIBE" and isinstance(params, list):
        connection.streams |= {str(p) for p in params}
        return {"result": None, "id": ident}
    if method == "UNSUBSCRIBE" and isinstance(params, list):
        connection.streams -= {str(p) for p in params}
        return {"result": None, "id": ident}
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": sorted(connection.streams), "id": ident}
    return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": ident}


def install_streams(
    app: FastAPI, service: BinanceService, credentials: Credentials, faults: FaultInjector
) -> StreamHub:
    """Add the websocket endpoints to ``app``; the hub that feeds them."""
    from market_maker.paper.binance_rest import wall_ms

    hub = StreamHub(service, faults)

    def ws_api(connection: Connection, request: dict[str, Any]) -> Json | None:
        ident, method = request.get("id"), request.get("method")
        params = request.get("params") or {}
        try:
            if method == "userDataStream.subscribe.signature":
                credentials.verify_ws(params, wall_ms())
                connection.streams.add("user")
                return {"id": ident, "status": 200, "result": {"subscriptionId": 0}}
            if method == "userDataStream.unsubscribe":
                connection.streams.discard("user")
                return {"id": ident, "status": 200, "result": {}}
            if method == "ping":
                return {"id": ident, "status": 200, "result": {}}
            raise BinanceError(-1100, f"Unknown method {method!r}.")
        except BinanceError as exc:
            return {"id": ident, "status": exc.status, "error": exc.body()}

    async def market(socket: WebSocket) -> None:
        await hub.serve(socket, hub.market_messages, _subscriptions)

    for path in ("/stream", "/stream/{n}", "/fstream/market/ws/{n}", "/fstream/public/ws/{n}"):
        app.add_api_websocket_route(path, market)

    @app.websocket("/ws-api/v3")
    async def spot_user(socket: WebSocket) -> None:
        await hub.serve(socket, hub.spot_user_messages, ws_api)

    @app.websocket("/fstream/private/ws")
    async def futures_user(socket: WebSocket) -> None:
        key = socket.query_params.get("listenKey")
        try:
            service.check_listen_key(key or "")
        except BinanceError:
            await socket.close(code=1008, reason="This listenKey does not exist.")
            return
        await hub.serve(socket, hub.futures_user_messages, _subscriptions)

    return hub
