"""The bot's HTTP endpoint: metrics, health, the dashboard's API and its control actions.

``create_app`` builds the FastAPI application; ``OpsServer`` serves it with uvicorn on a
daemon thread of ``market-maker run --config``. The server never calls into the engine:
it reads what the runner's thread published (``publisher.latest``, the metrics registry,
the history, the slot watch), reads the database, and *submits* control actions to the
command queue, which the runner carries out between decisions.

Control actions (``POST /api/commands``) need ``Authorization: Bearer <token>`` with the
token of ``MARKET_MAKER_DASHBOARD_TOKEN`` (compared in constant time): without it or with
a wrong one the answer is 401 and nothing is queued; when the variable is not set, every
action is refused with 403 ("control disabled"). Each action, accepted or refused, is
logged with who (the client's address) and what (never the token).
"""

import hmac
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from market_maker.domain.errors import MarketMakerError
from market_maker.ops.commands import CommandKind, wall_ms
from market_maker.ops.dashboard import add_dashboard
from market_maker.ops.health import HealthInputs, HealthLevel, Verdict, assess
from market_maker.ops.reads import read_fills
from market_maker.ops.wiring import BotOperations

log = logging.getLogger(__name__)

TOKEN_VARIABLE = "MARKET_MAKER_DASHBOARD_TOKEN"
"""The environment variable holding the bearer token of control actions."""
START_TIMEOUT_S = 15.0
"""Longest wait for the server to start serving."""
MAX_REASON = 200
"""Longest reason an operator may give a halt."""
PROBE_TIMEOUT_S = 2.0
"""Longest wait for the database's answer to the health check."""


def database_error(database: sa.Engine) -> str | None:
    """Why the database does not answer a trivial query; None when it does."""
    try:
        with database.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).splitlines()[0]
    return None


class DatabaseProbe:
    """Asks the database a trivial query, on a daemon thread, waiting at most ``timeout_s``.

    An unreachable server can leave a connection attempt hanging for minutes: ``/health``
    must answer anyway. One probe at a time: while one hangs, the next checks say so.
    """

    def __init__(self, database: sa.Engine, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self.database = database
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._busy = False

    def error(self) -> str | None:
        """Why the database does not answer (or not in time); None when it does."""
        with self._lock:
            if self._busy:
                return "the previous check has not answered yet"
            self._busy = True
        answer: list[str | None] = []
        done = threading.Event()

        def probe() -> None:
            try:
                answer.append(database_error(self.database))
            finally:
                with self._lock:
                    self._busy = False
                done.set()

        threading.Thread(target=probe, name="ops-db-probe", daemon=True).start()
        if not done.wait(self.timeout_s):
            return f"no answer within {self.timeout_s:g} s"
        return answer[0]


def health_of(ops: BotOperations, probe: DatabaseProbe, now_ms: int) -> Verdict:
    """The bot's health now."""
    config = ops.config.operations
    inputs = HealthInputs(
        view=ops.publisher.latest,
        watched_since_ms=ops.slots.since,
        errors_in_window=ops.metrics.errors_within(config.error_window_s),
        database_error=probe.error(),
        now_ms=now_ms,
    )
    return assess(inputs, config)


def command_args(kind: CommandKind, raw: Any) -> dict[str, Any]:
    """The checked arguments of a control action; ValueError says what is wrong."""
    args = {} if raw is None else raw
    if not isinstance(args, Mapping):
        raise ValueError("args must be a JSON object")
    if kind is CommandKind.SLOT_RELEASE:
        level = str(args.get("level", ""))
        try:
            Decimal(level)
        except InvalidOperation:
            raise ValueError(f"slot_release needs args.level, a price; got {level!r}") from None
        return {"level": level}
    if kind is CommandKind.HALT:
        reason = args.get("reason", "")
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise ValueError(f"halt's args.reason must be a text of at most {MAX_REASON} letters")
        return {"reason": reason}
    if kind is CommandKind.RECONCILE:
        dry = args.get("dry_run", True)
        if not isinstance(dry, bool):
            raise ValueError(f"reconcile's args.dry_run must be true or false; got {dry!r}")
        return {"dry_run": dry}
    return {}


def bearer_ok(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries ``token`` (constant-time comparison)."""
    scheme, _, given = (header or "").partition(" ")
    return (
        hmac.compare_digest(given.strip().encode(), token.encode()) and scheme.lower() == "bearer"
    )


def create_app(
    ops: BotOperations, *, token: str | None, clock: Callable[[], int] = wall_ms
) -> FastAPI:
    """The endpoint of ``ops``'s bot; control actions need ``token`` (None: disabled)."""
    app = FastAPI(title=f"market-maker {ops.config.bot_id}", docs_url=None, redoc_url=None)
    token = token or None
    probe = DatabaseProbe(ops.database)

    @app.get("/metrics")
    def metrics() -> Response:
        ops.metrics.set_health(health_of(ops, probe, clock()).level)
        return Response(ops.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health")
    def health() -> JSONResponse:
        verdict = health_of(ops, probe, clock())
        ops.metrics.set_health(verdict.level)
        code = 503 if verdict.level is HealthLevel.UNHEALTHY else 200
        return JSONResponse(verdict.as_json(), status_code=code)

    @app.get("/api/view")
    def view() -> JSONResponse:
        return JSONResponse(dict(ops.publisher.latest))

    @app.get("/api/history")
    def history(since_ms: int | None = None) -> JSONResponse:
        return JSONResponse(ops.history.points(since_ms))

    @app.get("/api/fills")
    def fills(limit: int = Query(100, ge=1, le=1000)) -> JSONResponse:
        return JSONResponse(read_fills(ops.config, limit=limit))

    @app.get("/api/commands")
    def commands(limit: int = Query(50, ge=1, le=500)) -> JSONResponse:
        return JSONResponse([c.as_json() for c in ops.commands.recent(limit)])

    @app.post("/api/commands")
    async def submit(request: Request) -> JSONResponse:
        who = f"dashboard:{request.client.host if request.client else 'unknown'}"
        try:
            body = await request.json()
        except ValueError:
            body = None
        raw = body.get("kind") if isinstance(body, dict) else None
        what = raw if isinstance(raw, str) and len(raw) <= 40 else repr(raw)[:40]
        if token is None:
            log.warning("control action %r by %s refused: control disabled", what, who)
            message = f"control disabled: set {TOKEN_VARIABLE} before starting the bot"
            return JSONResponse({"error": message}, status_code=403)
        if not bearer_ok(request.headers.get("authorization"), token):
            log.warning("control action %r by %s refused: missing or wrong token", what, who)
            return JSONResponse(
                {"error": "unauthorized: send Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            kind = CommandKind(what)
            args = command_args(kind, body.get("args") if isinstance(body, dict) else None)
        except ValueError as exc:
            known = ", ".join(k.value for k in CommandKind)
            known_kind = what in {k.value for k in CommandKind}
            message = str(exc) if known_kind else f"kind must be one of {known}"
            log.warning("control action %r by %s refused: %s", what, who, message)
            return JSONResponse({"error": message}, status_code=422)
        command = await run_in_threadpool(ops.commands.submit, kind, args, who)
        log.info("control action %s %s by %s: queued as #%d", kind.value, args, who, command.id)
        return JSONResponse(command.as_json(), status_code=202)

    add_dashboard(app, lambda: ops.publisher.latest, ops.config.bot_id, ops.config.symbol)
    return app


class OpsServer:
    """``app`` served by uvicorn on a daemon thread, on a socket bound before it starts.

    Args:
        app: The application.
        host: Address to listen on.
        port: TCP port (0: any free one).

    Raises:
        MarketMakerError: The address cannot be bound (in use, not this machine's).
    """

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )[0]
            self.socket = socket.socket(family, kind, proto)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
        except OSError as exc:
            raise MarketMakerError(
                f"operations.http_host/http_port: cannot listen on {host}:{port} ({exc}); "
                "choose a free port (0 = any) or an address of this machine, or set "
                "operations.http_enabled to false"
            ) from None
        self.host, self.port = host, int(self.socket.getsockname()[1])
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="ops-http", daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL (``http://127.0.0.1:9309``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> str:
        """Start serving; the base URL once the server accepts connections."""
        self.thread.start()
        ready = threading.Event()
        waited = 0.0
        while not self.server.started:
            if not self.thread.is_alive() or waited > START_TIMEOUT_S:
                raise MarketMakerError(f"the operations endpoint did not start on {self.url}")
            ready.wait(0.01)
            waited += 0.01
        return self.url

    def stop(self) -> None:
        """Stop serving (bounded) and close the socket."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(START_TIMEOUT_S)
        self.socket.close()


__all__ = [
    "TOKEN_VARIABLE",
    "DatabaseProbe",
    "OpsServer",
    "bearer_ok",
    "command_args",
    "create_app",
    "health_of",
]
