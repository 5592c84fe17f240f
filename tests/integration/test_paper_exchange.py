"""The paper exchange as a real server process: traded through ccxt, steered by PaperControl.

Every test starts `market-maker paper-exchange` in a subprocess on a free port and waits
for `/paper/health` in a bounded poll loop. Orders go through the project's ccxt adapter
(ccxt's unmodified `binance` class over real HTTP, the paper exchange's default keys);
market time, balances and the ledger come from the `/paper/` endpoints (`PaperControl`).
The reference is an in-process SimulatedExchange built from the same configuration and fed
the same orders and candles: the ledger the server keeps must equal its own.
"""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.credentials import PAPER_API_KEY, PAPER_API_SECRET
from market_maker.config.loader import load_config
from market_maker.data.candles import load_candles
from market_maker.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.exchanges.ccxt import CcxtSettings, CcxtVenue, connect
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.paper.control import PaperControl, PaperControlError

pytestmark = pytest.mark.timeout(120)

D = Decimal
SYMBOL = "BTC/USDT"
CONFIG = f"""\
bot_id: paper
symbol: {SYMBOL}
instrument: {{tick_size: 0.1, step_size: 0.001, min_qty: 0.001, min_notional: 5}}
grid: {{mode: long, base_interval: 50, order_qty: 0.002, max_inventory: 0.02}}
backtest:
  initial_quote: 1000
  initial_base: 0.01
  maker_fee: 0.0002
  taker_fee: 0.0005
  spot: true
  max_fill_fraction: 0.0002   # 10 BTC of volume -> 0.002 BTC for our orders: partial fills
"""
CANDLES = """\
timestamp_ms,open,high,low,close,volume
1747180800000,100000.0,100010.0,99990.0,100005.0,10
1747180860000,100005.0,100020.0,99900.0,99950.0,10
1747180920000,99950.0,100200.0,99940.0,100150.0,10
1747180980000,100150.0,100160.0,100100.0,100120.0,10
1747181040000,100120.0,100130.0,100050.0,100060.0,10
"""
POLL_S = 0.05
START_DEADLINE_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def control(self, timeout_s: float = 5.0) -> PaperControl:
        return PaperControl(self.url, timeout_s=timeout_s)


def settings(url: str) -> CcxtSettings:
    """The ccxt adapter's settings for the spot paper exchange at ``url`` (REST only)."""
    return CcxtSettings(
        exchange_id="binance", symbol=SYMBOL, api_key=PAPER_API_KEY, secret=PAPER_API_SECRET,
        base_url=url, timeout_s=5.0, streams=False,
    )  # fmt: skip


def wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    control = server.control(timeout_s=1.0)
    while True:
        code = server.proc.poll()
        assert code is None, f"server exited with {code}: {server.log.read_text()}"
        try:
            control.health()
            return
        except PaperControlError:
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_S)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config, data = tmp_path / "paper.yaml", tmp_path / "candles.csv"
    config.write_text(CONFIG)
    data.write_text(CANDLES)
    return config, data


@pytest.fixture
def start(tmp_path: Path, files: tuple[Path, Path]) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def _start(speed: str = "0") -> Server:
        config, data = files
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "market_maker", "paper-exchange"),
                    *("--config", str(config), "--data", str(data)),
                    *("--port", str(port), "--speed", speed),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(f"http://127.0.0.1:{port}", proc, log)
        started.append(server)
        wait_healthy(server)
        return server

    yield _start
    for server in started:
        server.proc.send_signal(signal.SIGTERM)
        try:
            assert server.proc.wait(timeout=15) == 0, server.log.read_text()
        finally:
            if server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait()


@pytest.fixture
def venue_of() -> Iterator[Callable[[Server], CcxtVenue]]:
    opened: list[CcxtVenue] = []

    def _open(server: Server) -> CcxtVenue:
        opened.append(connect(settings(server.url)))
        return opened[-1]

    yield _open
    for venue in opened:
        venue.close()


@pytest.fixture
def local(files: tuple[Path, Path]) -> tuple[SimulatedExchange, list[Candle]]:
    config, data = files
    app_config = load_config(config)
    return simulated_exchange(app_config), list(load_candles(data, symbol=SYMBOL).candles)


def order(
    cid: str, side: Side, price: str, qty: str, *, post_only: bool = True
) -> PlaceOrderRequest:
    return PlaceOrderRequest(
        SYMBOL, side, OrderType.LIMIT, TimeInForce.GTC, D(price), D(qty), post_only, False, cid
    )


def figures(update: OrderUpdate | None) -> tuple[object, ...] | None:
    """What a report through ccxt must share with the simulated exchange's."""
    if update is None:
        return None
    return (
        update.client_order_id, update.side, update.status, update.price, update.qty,
        update.cum_filled_qty, update.cum_fee, update.post_only_reject,
    )  # fmt: skip


def test_orders_through_ccxt_leave_the_ledger_of_the_in_process_simulated_exchange(
    start: Callable[..., Server],
    venue_of: Callable[[Server], CcxtVenue],
    local: tuple[SimulatedExchange, list[Candle]],
) -> None:
    server = start()
    control, remote = server.control(), venue_of(server).exchange
    sim, candles = local

    def advance(n: int) -> None:
        before = control.market().index
        after = control.advance(n)
        for candle in candles[before:after]:
            sim.on_candle(candle)

    def place(request: PlaceOrderRequest) -> OrderUpdate:
        report = remote.place_order(request)
        assert figures(report) == figures(sim.place_order(request))
        return report

    advance(1)
    assert place(order("b1", Side.BUY, "99950.0", "0.003")).status is OrderStatus.NEW
    assert place(order("b2", Side.BUY, "99900.5", "0.001")).status is OrderStatus.NEW
    assert place(order("s1", Side.SELL, "100150.0", "0.004")).status is OrderStatus.NEW
    assert place(order("x1", Side.BUY, "100010.0", "0.001")).post_only_reject
    taker = place(order("t1", Side.BUY, "100010.0", "0.001", post_only=False))
    assert taker.status is OrderStatus.FILLED and taker.last_fill_price == D("100005.0")
    canceled = remote.cancel_order(CancelOrderRequest(SYMBOL, "b2"))
    assert figures(canceled) == figures(sim.cancel_order(CancelOrderRequest(SYMBOL, "b2")))
    assert remote.cancel_order(CancelOrderRequest(SYMBOL, "b2")) is None

    advance(2)  # b1 fills in two parts, then s1 in part: the volume cap binds
    advance(10)  # s1 fills a little more; time stops at the end of the data
    assert control.market().done and control.market().index == len(candles)
    for cid in ("b1", "b2", "s1", "t1"):
        assert figures(remote.get_order(SYMBOL, cid)) == figures(sim.get_order(SYMBOL, cid))
    assert {a: b.total for a, b in sim.balances().items()} == {
        a: b.total for a, b in control.balances().items()
    }

    ledger = control.ledger()
    # Equal values (ccxt writes the decimals it sends in its own way: 99950 for 99950.0).
    assert [o.request for o in ledger.orders] == [o.request for o in sim.orders.values()]
    assert [o.state for o in ledger.orders] == [sim.get_order(SYMBOL, c) for c in sim.orders]
    assert list(ledger.fills) == sim.fills
    assert [f.client_order_id for f in ledger.fills] == ["t1", "b1", "b1", "s1", "s1"]
    assert ledger.duplicates == ()


def test_manual_advance_moves_market_time_and_fills_resting_orders(
    start: Callable[..., Server],
    venue_of: Callable[[Server], CcxtVenue],
    local: tuple[SimulatedExchange, list[Candle]],
) -> None:
    server = start()
    control, remote = server.control(), venue_of(server).exchange
    _, candles = local
    market = control.market()
    assert (market.index, market.total, market.done, market.last_open_ms) == (0, 5, False, None)
    assert control.advance(1) == 1
    remote.place_order(order("b1", Side.BUY, "99960.0", "0.001"))
    assert remote.get_order(SYMBOL, "b1").status is OrderStatus.NEW  # type: ignore[union-attr]
    assert control.advance(1) == 2
    filled = remote.get_order(SYMBOL, "b1")
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.cum_filled_qty == D("0.001") and filled.price == D("99960.0")
    assert remote.open_orders(SYMBOL) == []
    assert control.market().last_open_ms == candles[1].open_time_ms
    assert control.advance(100) == 5 and control.market().done
    assert control.advance(1) == 5  # time stops at the end of the data


def test_ledger_lists_every_order_and_fill_and_is_read_only(
    start: Callable[..., Server], venue_of: Callable[[Server], CcxtVenue]
) -> None:
    server = start()
    control, remote = server.control(), venue_of(server).exchange
    control.advance(1)
    remote.place_order(order("a", Side.BUY, "99950.0", "0.001"))
    remote.place_order(order("b", Side.SELL, "100100.0", "0.001"))
    remote.place_order(order("c", Side.BUY, "99000.0", "0.001"))
    remote.cancel_order(CancelOrderRequest(SYMBOL, "c"))
    control.advance(2)
    ledger = control.ledger()
    assert [(o.request.client_order_id, o.state.status) for o in ledger.orders] == [
        ("a", OrderStatus.FILLED),
        ("b", OrderStatus.FILLED),
        ("c", OrderStatus.CANCELED),
    ]
    assert ledger.orders[0].request == order("a", Side.BUY, "99950.0", "0.001")
    assert [f.client_order_id for f in ledger.fills] == ["a", "b"]
    assert ledger.fills[0].last_fee == D("0.001") * D("99950.0") * D("0.0002")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(server.url + "/paper/ledger", method="POST"))
    with refused.value as error:
        assert error.code == 405
    assert control.ledger() == ledger


CLIENT_SCRIPT = """\
import sys
from decimal import Decimal
from market_maker.domain.enums import OrderType, Side, TimeInForce
from market_maker.domain.orders import PlaceOrderRequest
from market_maker.exchanges.ccxt import CcxtSettings, connect

venue = connect(CcxtSettings(
    exchange_id="binance", symbol="BTC/USDT", api_key="paper-key", secret="paper-secret",
    base_url=sys.argv[1], streams=False,
))
for i in range(1_000_000):
    venue.exchange.place_order(PlaceOrderRequest(
        "BTC/USDT", Side.BUY, OrderType.LIMIT, TimeInForce.GTC,
        Decimal("50000.0"), Decimal("0.001"), True, False, f"k-{i}",
    ))
"""


def test_server_keeps_its_state_when_a_client_process_is_killed(
    start: Callable[..., Server], venue_of: Callable[[Server], CcxtVenue], tmp_path: Path
) -> None:
    server = start()
    script = tmp_path / "client.py"
    script.write_text(CLIENT_SCRIPT)
    client = subprocess.Popen([sys.executable, str(script), server.url])
    observer = server.control()
    deadline = time.monotonic() + 60
    try:
        while len(observer.ledger().orders) < 5:  # the client is placing orders
            assert client.poll() is None, "the client stopped on its own"
            assert time.monotonic() < deadline, "the client placed no orders"
            time.sleep(POLL_S)
    finally:
        client.send_signal(signal.SIGKILL)
        assert client.wait(timeout=10) == -signal.SIGKILL

    assert observer.health()["status"] == "ok"
    held = observer.ledger().orders
    assert len(held) >= 5
    # Every order the dead client got through is there, in order, none lost or doubled.
    assert [o.request.client_order_id for o in held] == [f"k-{i}" for i in range(len(held))]
    fresh = venue_of(server).exchange
    assert {o.client_order_id for o in fresh.open_orders(SYMBOL)} == {
        o.request.client_order_id for o in held
    }
    canceled = fresh.cancel_order(CancelOrderRequest(SYMBOL, "k-0"))
    assert canceled is not None and canceled.status is OrderStatus.CANCELED
    locked = fresh.balances()["USDT"].locked
    assert locked == D("50000.0") * D("0.001") * (1 + D("0.0005")) * (len(held) - 1)


def test_speed_mode_replays_candles_on_its_own_at_the_given_pace(
    start: Callable[..., Server], local: tuple[SimulatedExchange, list[Candle]]
) -> None:
    speed = 4  # candles per second: candle k is due k/4 s after the server started
    control = start(speed=str(speed)).control()
    _, candles = local
    deadline = time.monotonic() + 30

    def wait_for(ready: Callable[[int], bool]) -> tuple[int, float]:
        while not ready(index := control.market().index):
            assert time.monotonic() < deadline, f"market time stuck at candle {index}"
            time.sleep(POLL_S)
        return index, time.monotonic()

    first, seen_at = wait_for(lambda i: i >= 1)
    _, done_at = wait_for(lambda i: i == len(candles))
    # Seen at candle `first`, so less than (first + 1)/speed s had passed; all 5 are due
    # at 5/speed s: the replay cannot have finished sooner than the difference.
    assert done_at - seen_at > (len(candles) - first - 1) / speed - POLL_S
    market = control.market()
    assert (market.index, market.done) == (5, True)
    assert market.last_open_ms == candles[-1].open_time_ms
    assert control.health()["speed"] == speed


def test_an_unreachable_exchange_is_a_control_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PaperControlError, match=f"GET {url}/paper/market"):
        PaperControl(url, timeout_s=2.0).market()


class CannedHandler(BaseHTTPRequestHandler):
    """Answers every request with the server's canned status and body (a hand-written fake)."""

    def _answer(self) -> None:
        status, body = self.server.canned  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output quiet


@pytest.fixture
def canned() -> Iterator[Callable[[int, bytes], PaperControl]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), CannedHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def answer(status: int, body: bytes) -> PaperControl:
        httpd.canned = (status, body)  # type: ignore[attr-defined]
        return PaperControl(f"http://127.0.0.1:{httpd.server_address[1]}", timeout_s=5.0)

    yield answer
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def test_answers_the_control_cannot_read_are_errors_with_the_reason(
    canned: Callable[[int, bytes], PaperControl],
) -> None:
    with pytest.raises(PaperControlError, match="HTTP 503 busy"):
        canned(503, b"busy").advance(1)
    with pytest.raises(PaperControlError, match="/paper/market"):
        canned(200, b"<html>hello</html>").market()
    with pytest.raises(PaperControlError, match="/paper/market: unreadable"):
        canned(200, b"{}").market()
    fill = {"symbol": SYMBOL, "price": 1.5}  # a JSON number where a decimal string belongs
    bad_ledger = json.dumps({"orders": [], "fills": [fill]}).encode()
    with pytest.raises(PaperControlError, match=r"/paper/ledger: .*order report"):
        canned(200, bad_ledger).ledger()
