"""Faults the paper exchange injects on request: what a real venue and network do to a bot.

Configured by ``market-maker paper-exchange`` options and at run time by
``POST /paper/faults`` (JSON, any subset of ``FaultSettings``); ``GET /paper/faults``
shows the settings and how many faults of each kind were injected. Random choices come
from one generator seeded with ``seed`` (re-seeded on every change), so a run with the
same requests injects the same faults.

HTTP faults apply to the Binance API (paths under ``/api/``, ``/fapi/``, ``/sapi/``,
``/dapi/``), never to ``/paper/`` or the project's own JSON API:

* ``rate_limit_rate``: answered 429 (Binance -1003) with ``Retry-After: retry_after_s``,
  unprocessed; ``ban_rate``: answered 418 the same way.
* ``server_error_rate``: answered 502 or 503 (alternately) with an HTML body, unprocessed.
* ``lost_ack_rate``: an order placement (``POST .../order``) is processed and booked, then
  its answer is withheld until the client gives up (disconnects) or ``lost_ack_delay_s``
  passes: the client sees a timeout although the order rests on the venue.
* ``advance_after``: one shot: after the next request to ``path`` is processed, and
  before its answer is sent, the market advances ``candles`` candles; later requests see
  the new state.

Websocket faults (``market_maker.paper.binance_ws``) apply to every stream connection:
``ws_drop_every_s`` closes each connection that long after it opened, ``ws_drop_rate``
closes it instead of pushing an event, ``ws_duplicate_rate`` pushes an event twice and
``ws_reorder_rate`` holds an event back and pushes it after the next one.
"""

import asyncio
import contextlib
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from market_maker.paper.binance_errors import ip_banned, rate_limited

API_PREFIXES = ("/api/", "/fapi/", "/sapi/", "/dapi/")
"""Paths the HTTP faults apply to: Binance's API."""
ORDER_PATHS = ("/api/v3/order", "/fapi/v1/order")
"""Where an order is placed (``POST``): the requests a lost ack can hit."""

Rate = float
"""A probability from 0 to 1 (not money: a float is fine)."""


class AdvanceTrigger(BaseModel):
    """One shot: advance the market after answering the next request to ``path``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, description="Request path, e.g. /api/v3/openOrders.")
    candles: int = Field(1, ge=1, description="Candles to advance.")


class FaultSettings(BaseModel):
    """What to inject; every rate is a probability per request (or per stream event)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(0, description="Seed of the random choices (re-seeded on every change).")
    rate_limit_rate: Rate = Field(0.0, ge=0, le=1, description="Requests answered 429.")
    retry_after_s: int = Field(1, ge=0, description="Retry-After of a 429 or 418, seconds.")
    ban_rate: Rate = Field(0.0, ge=0, le=1, description="Requests answered 418.")
    server_error_rate: Rate = Field(0.0, ge=0, le=1, description="Requests answered 502/503.")
    lost_ack_rate: Rate = Field(0.0, ge=0, le=1, description="Placements booked, unanswered.")
    lost_ack_delay_s: float = Field(
        30.0, ge=0, description="Longest a lost ack is withheld if the client waits."
    )
    ws_drop_every_s: float | None = Field(
        None, gt=0, description="Close every stream connection this long after it opened."
    )
    ws_drop_rate: Rate = Field(0.0, ge=0, le=1, description="Events that close the stream.")
    ws_duplicate_rate: Rate = Field(0.0, ge=0, le=1, description="Events pushed twice.")
    ws_reorder_rate: Rate = Field(0.0, ge=0, le=1, description="Events pushed after the next.")
    advance_after: AdvanceTrigger | None = Field(None, description="The one-shot trigger.")


WsAction = Literal["drop", "duplicate", "reorder", "send"]
"""What to do with one stream event."""


class FaultInjector:
    """Decides, with a seeded generator, which requests and events to fault; counts them."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self.settings = settings or FaultSettings()
        self._rng = random.Random(self.settings.seed)
        self.counts: Counter[str] = Counter()
        self._alternate = 0

    def configure(self, changes: dict[str, Any]) -> FaultSettings:
        """Apply ``changes`` (validated) to the settings; re-seed; the new settings."""
        with self._lock:
            merged = self.settings.model_dump() | changes
            self.settings = FaultSettings.model_validate(merged)
            self._rng = random.Random(self.settings.seed)
            return self.settings

    def report(self) -> dict[str, Any]:
        """The settings and the counts of faults injected so far."""
        with self._lock:
            return {"settings": self.settings.model_dump(), "injected": dict(self.counts)}

    def _roll(self, rate: Rate) -> bool:
        return rate > 0 and self._rng.random() < rate

    def http_fault(self, path: str) -> int | None:
        """The status to answer instead of processing (429, 418, 502, 503), or ``None``."""
        if not path.startswith(API_PREFIXES):
            return None
        with self._lock:
            s = self.settings
            if self._roll(s.rate_limit_rate):
                self.counts["rate_limit"] += 1
                return 429
            if self._roll(s.ban_rate):
                self.counts["ban"] += 1
                return 418
            if self._roll(s.server_error_rate):
                self.counts["server_error"] += 1
                self._alternate += 1
                return 502 if self._alternate % 2 else 503
            return None

    def lost_ack(self, method: str, path: str) -> bool:
        """Whether to withhold the answer of this (processed) request."""
        if method != "POST" or path not in ORDER_PATHS:
            return False
        with self._lock:
            if self._roll(self.settings.lost_ack_rate):
                self.counts["lost_ack"] += 1
                return True
            return False

    def take_advance(self, path: str) -> int:
        """Candles to advance after answering ``path`` (the one shot fires once), or 0."""
        with self._lock:
            trigger = self.settings.advance_after
            if trigger is None or trigger.path != path:
                return 0
            self.settings = self.settings.model_copy(update={"advance_after": None})
            self.counts["advance_after"] += 1
            return trigger.candles

    def ws_action(self) -> WsAction:
        """What to do with the next stream event."""
        with self._lock:
            s = self.settings
            for action, rate in (
                ("drop", s.ws_drop_rate),
                ("duplicate", s.ws_duplicate_rate),
                ("reorder", s.ws_reorder_rate),
            ):
                if self._roll(rate):
                    self.counts[f"ws_{action}"] += 1
                    return action  # type: ignore[return-value]
            return "send"

    def note(self, what: str) -> None:
        """Count a fault injected elsewhere (e.g. a timed stream drop)."""
        with self._lock:
            self.counts[what] += 1


def _error_messages(status: int, retry_after_s: int) -> list[Message]:
    if status in (429, 418):
        error = rate_limited() if status == 429 else ip_banned()
        body = f'{{"code":{error.code},"msg":"{error.msg}"}}'.encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", str(retry_after_s).encode()),
        ]
    else:
        reason = "Bad Gateway" if status == 502 else "Service Unavailable"
        body = f"<html><body><h1>{status} {reason}</h1></body></html>".encode()
        headers = [(b"content-type", b"text/html")]
    headers.append((b"content-length", str(len(body)).encode()))
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


class FaultMiddleware:
    """ASGI middleware injecting the HTTP faults of ``injector`` around ``app``.

    ``advance`` moves the market (it runs in a worker thread) for ``advance_after``.
    """

    def __init__(
        self, app: ASGIApp, injector: FaultInjector, advance: Callable[[int], object]
    ) -> None:
        self.app = app
        self.injector = injector
        self.advance = advance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection, faulted or not."""
        if scope["type"] != "http" or scope["path"].startswith("/paper/"):
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        injector = self.injector
        status = injector.http_fault(path)
        if status is not None:
            for message in _error_messages(status, injector.settings.retry_after_s):
                await send(message)
            return
        lost = injector.lost_ack(method, path)
        candles = injector.take_advance(path)
        if not lost and not candles:
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        if candles:
            await run_in_threadpool(self.advance, candles)
        if lost:
            await _wait_for_disconnect(receive, injector.settings.lost_ack_delay_s)
        for message in held:
            await send(message)  # after a disconnect the server drops it


async def _wait_for_disconnect(receive: Receive, limit_s: float) -> None:
    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(disconnected(), limit_s)


def install_fault_routes(app: FastAPI, injector: FaultInjector) -> None:
    """Add ``GET`` and ``POST /paper/faults``."""

    @app.get("/paper/faults")
    def faults() -> dict[str, Any]:
        return injector.report()

    @app.post("/paper/faults", response_model=None)
    def configure(
        changes: Annotated[dict[str, Any], Body()],
    ) -> dict[str, Any] | JSONResponse:
        try:
            injector.configure(changes)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}, found {e.get('input')!r}"
                for e in exc.errors()
            )
            return JSONResponse(
                {"error": f"{problems}; see GET /paper/faults for the fields"}, status_code=422
            )
        return injector.report()
