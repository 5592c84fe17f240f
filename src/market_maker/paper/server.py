"""Serving the paper exchange: its base FastAPI app, the listening socket, the uvicorn loop.

The routes (Binance's REST and streams, the ``/paper/`` test endpoints, the faults) are
added by ``market_maker.paper.binance_app``; ``serve`` runs the app until SIGINT or SIGTERM.
"""

import signal
import socket
from types import FrameType

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from market_maker.paper.venue import MarketClock, PaperVenue


def _validation_message(exc: RequestValidationError) -> str:
    """One line per problem: ``<field>: <what is wrong>``."""
    parts = []
    for err in exc.errors():
        raw = [str(p) for p in err.get("loc", ())]
        loc = [p for p in raw if p not in ("body", "query", "path")] or raw[:1] or ["request"]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(loc)}: {msg}")
    return "; ".join(parts)


def base_app() -> FastAPI:
    """The empty app the paper exchange's routes are added to.

    A request that does not validate (``POST /paper/advance?n=0``) is answered 422 with
    ``{"error": "<field>: <what is wrong>"}``.
    """
    app = FastAPI(
        title="market-maker paper exchange",
        description="A simulated exchange serving a subset of Binance's API over HTTP.",
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _validation_message(exc)}, status_code=422)

    return app


def listen(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket (``port`` 0 picks a free one); raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def serve(venue: PaperVenue, sock: socket.socket, *, speed: float, app: FastAPI) -> None:
    """Serve ``app`` (over ``venue``) on ``sock`` until SIGINT or SIGTERM, then stop cleanly.

    Websockets are served by the ``websockets`` package. With ``speed`` above 0 a
    ``MarketClock`` advances market time meanwhile; with 0 only ``POST /paper/advance``
    does. Returns normally after either signal.
    """
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
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
