"""A real Binance-speaking paper exchange on a free port, and real ccxt clients pointed at it.

``PaperServer`` runs uvicorn in a background thread on port 0 and waits (bounded poll)
until ``/paper/health`` answers; ``ccxt_client`` builds an unmodified ccxt class with its
URLs rewritten to the server, as ``docs/paper_exchange.md`` shows.
"""

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import uvicorn

from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.domain.market import Candle
from market_maker.paper.binance_app import binance_venue, create_binance_app
from market_maker.paper.binance_market import BinanceMarket, MarketKind
from market_maker.paper.binance_ws import StreamHub
from market_maker.paper.connect import point_ccxt_at
from market_maker.paper.faults import FaultInjector, FaultSettings
from market_maker.paper.server import listen
from market_maker.paper.signing import Credentials
from market_maker.paper.venue import PaperVenue

KEY = Credentials("test-key", "test-secret")
"""The credentials the test servers accept."""

START_DEADLINE_S = 20.0
POLL_S = 0.02

CONFIG = """\
bot_id: paperbn
symbol: BTC/USDT
instrument: {{tick_size: 0.1, step_size: 0.001, min_qty: 0.001, min_notional: 5}}
grid: {{mode: long, base_interval: 50, order_qty: 0.002, max_inventory: 0.02}}
backtest:
  initial_quote: 10000
  initial_base: {initial_base}
  maker_fee: 0.0002
  taker_fee: 0.0005
  spot: true
"""
PARTIAL_FILLS = "  max_fill_fraction: 0.0002  # 10 BTC of volume -> 0.002 BTC for our orders\n"
"""Add to the backtest section for partial fills."""


def make_candles(n: int = 40, start_ms: int = 1_747_180_800_000) -> list[Candle]:
    """A made-up path around 100,000: down 200 over the first ten candles, then up, then flat."""
    out = []
    price = Decimal(100_000)
    for i in range(n):
        step = Decimal(-20) if i < 10 else Decimal(20) if i < 25 else Decimal(0)
        close = price + step
        out.append(
            Candle(
                symbol="BTC/USDT",
                open_time_ms=start_ms + i * 60_000,
                interval_s=60,
                open=price,
                high=max(price, close) + 5,
                low=min(price, close) - 5,
                close=close,
                volume=Decimal(10),
            )
        )
        price = close
    return out


def wait_until(predicate: Callable[[], bool], what: str, deadline_s: float = 10.0) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


async def async_wait_until(
    predicate: Callable[[], bool], what: str, deadline_s: float = 10.0
) -> None:
    """``wait_until`` for async tests (yields to the event loop between polls)."""
    deadline = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_S)


def get_json(url: str, method: str = "GET") -> Any:
    """A plain HTTP call (no retries), its JSON answer."""
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@dataclass
class PaperServer:
    """A running server: its URL, venue and market."""

    url: str
    venue: PaperVenue
    market: BinanceMarket
    faults: FaultInjector
    hub: StreamHub

    def streams(self) -> list[set[str]]:
        """The subscriptions of each open websocket connection (read on the test thread)."""
        return [set(c.streams) for c in list(self.hub.connections)]

    async def subscribed(self, name: str | None = None, count: int = 1) -> None:
        """``wait_for_stream`` from a coroutine (the client's event loop keeps running)."""
        await async_wait_until(
            lambda: sum(1 for s in self.streams() if name is None or name in s) >= count,
            f"{count} websocket connection(s) subscribed to {name}",
        )

    def wait_for_stream(self, name: str | None = None, count: int = 1) -> None:
        """Poll (bounded) until ``count`` connections are open (with ``name`` subscribed)."""
        wait_until(
            lambda: sum(1 for s in self.streams() if name is None or name in s) >= count,
            f"{count} websocket connection(s) subscribed to {name}",
        )

    def advance(self, n: int = 1) -> Any:
        """``POST /paper/advance?n=``."""
        return get_json(f"{self.url}/paper/advance?n={n}", "POST")

    def ledger(self) -> Any:
        """``GET /paper/ledger``."""
        return get_json(f"{self.url}/paper/ledger")


@contextmanager
def paper_server(
    kind: MarketKind,
    *,
    config: AppConfig | None = None,
    candles: list[Candle] | None = None,
    faults: FaultSettings | None = None,
    extra: str = "",
) -> Iterator[PaperServer]:
    """Serve a paper exchange of ``kind`` until the block ends."""
    if config is None:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "paper.yaml"
            base = "0.05" if kind == "spot" else "0"
            path.write_text(CONFIG.format(initial_base=base) + extra)
            config = load_config(path)
    venue, market = binance_venue(config, candles or make_candles(), kind)
    injector = FaultInjector(faults or FaultSettings())
    app = create_binance_app(venue, market, KEY, faults=injector)
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", ws="websockets-sansio"
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        try:
            get_json(f"{url}/paper/health")
            break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise
            time.sleep(POLL_S)
    try:
        yield PaperServer(url, venue, market, injector, app.state.stream_hub)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def ccxt_client(kind: MarketKind, url: str, *, pro: bool = False, **options: Any) -> Any:
    """An async (or ``pro``) ccxt Binance class of ``kind`` pointed at ``url``."""
    if pro:
        import ccxt.pro as module
    else:
        import ccxt.async_support as module  # type: ignore[no-redef]
    cls = module.binance if kind == "spot" else module.binanceusdm
    exchange = cls(
        {
            "apiKey": KEY.api_key,
            "secret": KEY.secret,
            "enableRateLimit": False,
            "timeout": 5000,
            "options": options,
        }
    )
    point_ccxt_at(exchange, url)
    return exchange
