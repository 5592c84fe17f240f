"""The paper exchange as a real server process, spoken to over real HTTP by PaperExchange.

Every test starts `market-maker paper-exchange` in a subprocess on a free port and waits
for /health in a bounded poll loop. The reference is an in-process SimulatedExchange built
from the same configuration and fed the same calls and candles: the remote reports must
be identical to the local ones, decimal for decimal.
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
from market_maker.config.loader import load_config
from market_maker.data.candles import load_candles
from market_maker.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.instrument import Instrument, MarketRules
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.exchanges.base import FatalExchangeError, RetryableExchangeError
from market_maker.exchanges.reduce_only import REDUCE_ONLY_EXPIRED, REDUCE_ONLY_REJECT
from market_maker.exchanges.simulated import (
    SimulatedExchange,
)
from market_maker.live.paper_sources import PaperMarketData
from market_maker.paper import PaperExchange

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

    def client(self, timeout_s: float = 5.0) -> PaperExchange:
        return PaperExchange(self.url, timeout_s=timeout_s)


def wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    client = server.client(timeout_s=1.0)
    while True:
        code = server.proc.poll()
        assert code is None, f"server exited with {code}: {server.log.read_text()}"
        try:
            client.health()
            return
        except RetryableExchangeError:
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

    def _start(speed: str = "0", config: Path | None = None) -> Server:
        config = config or files[0]
        data = files[1]
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
def local(files: tuple[Path, Path]) -> tuple[SimulatedExchange, list[Candle]]:
    config, data = files
    app_config = load_config(config)
    return simulated_exchange(app_config), list(load_candles(data, symbol=SYMBOL).candles)


def order(
    cid: str,
    side: Side,
    price: str,
    qty: str,
    *,
    post_only: bool = True,
    reduce_only: bool = False,
) -> PlaceOrderRequest:
    return PlaceOrderRequest(
        SYMBOL, side, OrderType.LIMIT, TimeInForce.GTC, D(price), D(qty), post_only,
        reduce_only, cid,
    )  # fmt: skip


def same(remote: object, local: object) -> None:
    """Equal, and equal down to each decimal's digits and exponent."""
    assert remote == local
    assert repr(remote) == repr(local)


def test_every_call_gives_the_same_reports_as_the_in_process_simulated_exchange(
    start: Callable[..., Server], local: tuple[SimulatedExchange, list[Candle]]
) -> None:
    remote = start().client()
    sim, candles = local

    def advance(n: int) -> list[OrderUpdate]:
        result = remote.advance(n)
        fills = [
            f
            for c in candles[result.index - result.advanced : result.index]
            for f in sim.on_candle(c)
        ]
        same(list(result.fills), fills)
        return fills

    def cancel(cid: str) -> OrderUpdate | None:
        report = remote.cancel_order(CancelOrderRequest(SYMBOL, cid))
        same(report, sim.cancel_order(CancelOrderRequest(SYMBOL, cid)))
        return report

    def place(request: PlaceOrderRequest) -> OrderUpdate:
        report = remote.place_order(request)
        same(report, sim.place_order(request))
        return report

    assert advance(1) == []
    assert place(order("b1", Side.BUY, "99950.0", "0.003")).status is OrderStatus.NEW
    assert place(order("b2", Side.BUY, "99900.5", "0.001")).status is OrderStatus.NEW
    big = place(order("big", Side.BUY, "99000.0", "0.02"))
    assert big.status is OrderStatus.REJECTED and "insufficient balance" in big.reject_reason
    assert place(order("s1", Side.SELL, "100150.0", "0.004")).status is OrderStatus.NEW
    crossing = place(order("x1", Side.BUY, "100010.0", "0.001"))
    assert crossing.post_only_reject
    taker = place(order("t1", Side.BUY, "100010.0", "0.001", post_only=False))
    assert taker.status is OrderStatus.FILLED and taker.last_fill_price == D("100005.0")
    assert cancel("b2") is not None
    assert cancel("b2") is None and cancel("nope") is None
    for cid in ("b1", "b2", "t1", "nope"):
        same(remote.get_order(SYMBOL, cid), sim.get_order(SYMBOL, cid))
    same(remote.open_orders(SYMBOL), sim.open_orders(SYMBOL))
    same(remote.balances(), sim.balances())
    assert remote.balances()["USDT"].locked > 0

    fills = advance(2)  # b1 fills in two parts, then s1 in part: the volume cap binds
    assert [(f.client_order_id, f.status) for f in fills] == [
        ("b1", OrderStatus.PARTIALLY_FILLED),
        ("b1", OrderStatus.FILLED),
        ("s1", OrderStatus.PARTIALLY_FILLED),
    ]
    last = advance(10)  # s1 fills a little more; the last candle reaches nothing
    assert [(f.client_order_id, f.cum_filled_qty) for f in last] == [("s1", D("0.003"))]
    assert remote.latest().done
    for cid in ("b1", "s1", "big", "x1"):
        same(remote.get_order(SYMBOL, cid), sim.get_order(SYMBOL, cid))
    same(remote.open_orders(SYMBOL), sim.open_orders(SYMBOL))
    same(remote.balances(), sim.balances())

    ledger = remote.ledger()
    same([o.request for o in ledger.orders], [o.request for o in sim.orders.values()])
    same([o.state for o in ledger.orders], [sim.get_order(SYMBOL, c) for c in sim.orders])
    same(list(ledger.fills), sim.fills)
    assert [f.client_order_id for f in ledger.fills] == ["t1", "b1", "b1", "s1", "s1"]


def test_manual_advance_moves_market_time_and_fills_resting_orders(
    start: Callable[..., Server], local: tuple[SimulatedExchange, list[Candle]]
) -> None:
    remote = start().client()
    _, candles = local
    snapshot = remote.latest()
    assert (snapshot.index, snapshot.candle, snapshot.done) == (0, None, False)
    assert remote.candles_after(0) == []
    remote.advance(1)
    remote.place_order(order("b1", Side.BUY, "99960.0", "0.001"))
    assert remote.get_order(SYMBOL, "b1").status is OrderStatus.NEW  # type: ignore[union-attr]
    result = remote.advance(1)
    assert (result.index, result.advanced, result.done) == (2, 1, False)
    assert [(f.client_order_id, f.status, f.last_fill_price) for f in result.fills] == [
        ("b1", OrderStatus.FILLED, D("99960.0"))
    ]
    assert remote.open_orders(SYMBOL) == []
    assert remote.latest().candle == candles[1]
    missed = remote.candles_after(0)
    assert [(c.index, c.candle) for c in missed] == [(1, candles[0]), (2, candles[1])]
    assert [c.index for c in remote.candles_after(1)] == [2]
    end = remote.advance(100)
    assert (end.index, end.advanced, end.done) == (5, 3, True)
    assert remote.advance(1).advanced == 0  # time stops at the end of the data
    assert [c.candle for c in remote.candles_after(0, limit=2)] == candles[:2]


def test_market_rules_are_the_configured_instrument_and_fees(
    start: Callable[..., Server],
) -> None:
    remote = start().client()
    rules = remote.market_rules(SYMBOL)
    expected = MarketRules(
        Instrument(SYMBOL, D("0.1"), D("0.001"), D("0.001"), D("5")), D("0.0002"), D("0.0005"), True
    )
    same(rules, expected)  # decimal for decimal, as the config writes them
    with pytest.raises(FatalExchangeError, match="trades BTC/USDT, not ETH/USDT"):
        remote.market_rules("ETH/USDT")


def test_paper_market_data_delivers_each_candle_then_its_close_and_catches_up(
    start: Callable[..., Server], local: tuple[SimulatedExchange, list[Candle]]
) -> None:
    remote = start().client()
    _, candles = local

    def with_closes(*chosen: Candle) -> list[object]:
        return [e for c in chosen for e in (c, PriceUpdate(SYMBOL, c.close, c.open_time_ms))]

    source = PaperMarketData(remote, SYMBOL, batch=2)
    assert source.catch_up(0, 1000) == [] and source.poll() == []
    remote.advance(3)
    assert source.poll() == with_closes(*candles[:2])  # at most a batch per request
    assert source.poll() == with_closes(candles[2])
    assert source.poll() == []

    restarted = PaperMarketData(remote, SYMBOL, batch=2)  # missed candles 2 and 3
    assert restarted.catch_up(candles[0].open_time_ms, 1000) == with_closes(*candles[1:3])
    assert restarted.poll() == []
    newest = PaperMarketData(remote, SYMBOL)
    assert newest.catch_up(candles[0].open_time_ms, 1) == with_closes(candles[2])  # bounded
    remote.advance(1)
    assert newest.poll() == with_closes(candles[3])
    uptodate = PaperMarketData(remote, SYMBOL)
    assert uptodate.catch_up(candles[3].open_time_ms, 1000) == [] and uptodate.poll() == []


def test_ledger_lists_every_order_and_fill_and_is_read_only(start: Callable[..., Server]) -> None:
    server = start()
    remote = server.client()
    remote.advance(1)
    remote.place_order(order("a", Side.BUY, "99950.0", "0.001"))
    remote.place_order(order("b", Side.SELL, "100100.0", "0.001"))
    remote.place_order(order("c", Side.BUY, "99000.0", "0.001"))
    remote.cancel_order(CancelOrderRequest(SYMBOL, "c"))
    remote.advance(2)
    ledger = remote.ledger()
    assert [(o.request.client_order_id, o.state.status) for o in ledger.orders] == [
        ("a", OrderStatus.FILLED),
        ("b", OrderStatus.FILLED),
        ("c", OrderStatus.CANCELED),
    ]
    assert ledger.orders[0].request == order("a", Side.BUY, "99950.0", "0.001")
    assert ledger.orders[0].state.cum_filled_qty == D("0.001")
    assert [f.client_order_id for f in ledger.fills] == ["a", "b"]
    assert ledger.fills[0].last_fee == D("0.001") * D("99950.0") * D("0.0002")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(server.url + "/ledger", method="POST"))
    with refused.value as error:
        assert error.code == 405
    assert remote.ledger() == ledger


def test_own_trades_are_the_fills_by_trade_id_paged_like_the_simulated_exchange(
    start: Callable[..., Server], local: tuple[SimulatedExchange, list[Candle]]
) -> None:
    remote = start().client()
    sim, candles = local
    remote.advance(1)
    sim.on_candle(candles[0])
    for request in (
        order("a", Side.BUY, "99950.0", "0.004"),
        order("b", Side.SELL, "100100.0", "0.001"),
    ):
        remote.place_order(request)
        sim.place_order(request)
    remote.advance(3)
    for candle in candles[1:4]:
        sim.on_candle(candle)
    expected = sim.own_trades(SYMBOL, None)
    assert len(expected) >= 3  # a fills in parts (the volume cap), then b
    same(remote.own_trades(SYMBOL, None), expected)
    assert remote.own_trades(SYMBOL, 1, limit=1) == expected[1:2]
    assert remote.own_trades(SYMBOL, expected[-1].trade_id) == []
    with pytest.raises(FatalExchangeError, match="ETH/USDT"):
        remote.own_trades("ETH/USDT", None)


def test_duplicate_client_order_id_is_rejected_like_the_simulated_exchange(
    start: Callable[..., Server], local: tuple[SimulatedExchange, list[Candle]]
) -> None:
    remote = start().client()
    sim, _ = local
    first = order("dup", Side.BUY, "99000.0", "0.001")
    second = order("dup", Side.BUY, "98000.0", "0.002")
    same(remote.place_order(first), sim.place_order(first))
    report = remote.place_order(second)
    same(report, sim.place_order(second))
    assert report.status is OrderStatus.REJECTED
    assert report.reject_reason == "duplicate client order id"
    held = remote.get_order(SYMBOL, "dup")
    assert held is not None and held.price == D("99000.0") and held.status is OrderStatus.NEW
    assert len(remote.ledger().orders) == 1


MARGIN_FLAT = CONFIG.replace("initial_base: 0.01", "initial_base: 0").replace(
    "spot: true", "spot: false"
)
"""A margin account with no position: where a reduce-only sell would open a short."""


def test_reduce_only_orders_never_open_or_flip_a_position_over_http(
    start: Callable[..., Server], tmp_path: Path, files: tuple[Path, Path]
) -> None:
    config = tmp_path / "margin-flat.yaml"
    config.write_text(MARGIN_FLAT)
    remote = start(config=config).client()
    sim = simulated_exchange(load_config(config))
    candles = list(load_candles(files[1], symbol=SYMBOL).candles)
    assert sim.total("BTC") == 0 and not sim.config.spot

    def place(request: PlaceOrderRequest) -> OrderUpdate:
        report = remote.place_order(request)
        same(report, sim.place_order(request))
        return report

    def advance() -> list[OrderUpdate]:
        result = remote.advance(1)
        reports = sim.on_candle(candles[result.index - 1])
        same(list(result.fills), reports)
        return reports

    def position() -> Decimal:
        held = remote.balances()["BTC"]
        same(held, sim.balances()["BTC"])
        return held.total

    advance()  # the last price is now 100005.0
    # With no position, a reduce-only order on either side, resting or crossing, is refused.
    for request in (
        order("ro-sell", Side.SELL, "100100.0", "0.002", reduce_only=True),
        order("ro-taker", Side.SELL, "99000.0", "0.002", post_only=False, reduce_only=True),
        order("ro-buy", Side.BUY, "99000.0", "0.002", reduce_only=True),
    ):
        report = place(request)
        assert report.status is OrderStatus.REJECTED and not report.post_only_reject
        assert report.reject_reason.startswith(REDUCE_ONLY_REJECT)
        assert "position of 0 BTC would open a position" in report.reject_reason
        assert report.cum_filled_qty == 0
    assert remote.open_orders(SYMBOL) == [] and position() == 0
    assert advance() == []  # candle 2 dips to 99900: nothing fills
    assert position() == 0 and remote.ledger().fills == ()

    # Long 0.002: a reduce-only sell larger than that is refused, one its size rests.
    assert place(order("b1", Side.BUY, "100010.0", "0.002", post_only=False)).status is (
        OrderStatus.FILLED
    )
    assert position() == D("0.002")
    flip = place(order("ro-flip", Side.SELL, "100100.0", "0.003", reduce_only=True))
    assert flip.status is OrderStatus.REJECTED
    assert "would flip the position" in flip.reject_reason
    close = order("ro-close", Side.SELL, "100150.0", "0.002", reduce_only=True)
    assert place(close).status is OrderStatus.NEW
    assert place(order("s1", Side.SELL, "100100.0", "0.002")).status is OrderStatus.NEW
    # Candle 3 reaches both sells; the volume cap lets only s1 (reached first) fill.
    assert [(f.client_order_id, f.status) for f in advance()] == [("s1", OrderStatus.FILLED)]
    assert position() == 0
    # Candle 4 reaches the reduce-only close again: nothing left to reduce, so it expires.
    (expired,) = advance()
    assert (expired.client_order_id, expired.status) == ("ro-close", OrderStatus.EXPIRED)
    assert expired.cum_filled_qty == 0 and expired.reject_reason.startswith(REDUCE_ONLY_EXPIRED)
    assert position() == 0 and remote.open_orders(SYMBOL) == []
    for cid in ("ro-sell", "ro-taker", "ro-buy", "ro-flip", "ro-close"):
        same(remote.get_order(SYMBOL, cid), sim.get_order(SYMBOL, cid))
    assert [f.client_order_id for f in remote.ledger().fills] == ["b1", "s1"]


CLIENT_SCRIPT = """\
import sys
from decimal import Decimal
from market_maker.domain.enums import OrderType, Side, TimeInForce
from market_maker.domain.orders import PlaceOrderRequest
from market_maker.paper import PaperExchange

exchange = PaperExchange(sys.argv[1])
for i in range(1_000_000):
    exchange.place_order(PlaceOrderRequest(
        "BTC/USDT", Side.BUY, OrderType.LIMIT, TimeInForce.GTC,
        Decimal("90000.0"), Decimal("0.0001"), True, False, f"k-{i}",
    ))
"""


def test_server_keeps_its_state_when_a_client_process_is_killed(
    start: Callable[..., Server], tmp_path: Path
) -> None:
    server = start()
    script = tmp_path / "client.py"
    script.write_text(CLIENT_SCRIPT)
    client = subprocess.Popen([sys.executable, str(script), server.url])
    observer = server.client()
    deadline = time.monotonic() + 60
    try:
        while len(observer.open_orders(SYMBOL)) < 5:  # the client is placing orders
            assert client.poll() is None, "the client stopped on its own"
            assert time.monotonic() < deadline, "the client placed no orders"
            time.sleep(POLL_S)
    finally:
        client.send_signal(signal.SIGKILL)
        assert client.wait(timeout=10) == -signal.SIGKILL

    fresh = server.client()
    assert fresh.health()["status"] == "ok"
    held = fresh.ledger().orders
    assert len(held) >= 5
    # Every order the dead client got through is there, in order, none lost or doubled.
    assert [o.request.client_order_id for o in held] == [f"k-{i}" for i in range(len(held))]
    assert {o.client_order_id for o in fresh.open_orders(SYMBOL)} == {
        o.request.client_order_id for o in held
    }
    canceled = fresh.cancel_order(CancelOrderRequest(SYMBOL, "k-0"))
    assert canceled is not None and canceled.status is OrderStatus.CANCELED
    quote_needed = D("90000.0") * D("0.0001") * (1 + D("0.0005"))
    assert fresh.balances()["USDT"].locked == quote_needed * (len(held) - 1)


def test_speed_mode_replays_candles_on_its_own_at_the_given_pace(
    start: Callable[..., Server], local: tuple[SimulatedExchange, list[Candle]]
) -> None:
    speed = 4  # candles per second: candle k is due k/4 s after the server started
    remote = start(speed=str(speed)).client()
    _, candles = local
    deadline = time.monotonic() + 30

    def wait_for(ready: Callable[[int], bool]) -> tuple[int, float]:
        while not ready(index := remote.latest().index):
            assert time.monotonic() < deadline, f"market time stuck at candle {index}"
            time.sleep(POLL_S)
        return index, time.monotonic()

    first, seen_at = wait_for(lambda i: i >= 1)
    _, done_at = wait_for(lambda i: i == len(candles))
    # Seen at candle `first`, so less than (first + 1)/speed s had passed; all 5 are due
    # at 5/speed s: the replay cannot have finished sooner than the difference.
    assert done_at - seen_at > (len(candles) - first - 1) / speed - POLL_S
    snapshot = remote.latest()
    assert (snapshot.index, snapshot.candle, snapshot.done) == (5, candles[-1], True)
    assert [c.candle for c in remote.candles_after(0)] == candles
    assert remote.health()["speed"] == speed


def test_requests_the_server_refuses_raise_fatal_errors_with_its_message(
    start: Callable[..., Server],
) -> None:
    server = start()
    remote = server.client()
    wrong = PlaceOrderRequest(
        "ETH/USDT", Side.BUY, OrderType.LIMIT, TimeInForce.GTC, D(1), D(1), True, False, "e"
    )
    with pytest.raises(FatalExchangeError, match=r"422.*trades BTC/USDT, not ETH/USDT"):
        remote.place_order(wrong)
    with pytest.raises(FatalExchangeError, match="trades BTC/USDT"):
        remote.open_orders("ETH/USDT")
    body = {
        "symbol": SYMBOL, "side": "BUY", "order_type": "LIMIT", "time_in_force": "GTC",
        "price": 99000.5, "qty": "0.001", "post_only": True, "reduce_only": False,
        "client_order_id": "f",
    }  # fmt: skip
    request = urllib.request.Request(
        server.url + "/orders",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    with refused.value as error:
        assert error.code == 422
        message = json.loads(error.read())["error"]
    assert message.startswith("price: expected a finite decimal number written as a string")
    assert "found 99000.5" in message
    assert remote.ledger().orders == ()


def test_connection_refused_is_retryable() -> None:
    remote = PaperExchange(f"http://127.0.0.1:{free_port()}", timeout_s=2.0)
    with pytest.raises(RetryableExchangeError, match="no answer from the paper exchange"):
        remote.balances()
    with pytest.raises(RetryableExchangeError):
        remote.place_order(order("r", Side.BUY, "1", "1"))


def test_a_server_that_never_answers_times_out_as_retryable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never replies
        remote = PaperExchange(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.3)
        started = time.monotonic()
        with pytest.raises(RetryableExchangeError, match="timed out"):
            remote.get_order(SYMBOL, "x")
        assert time.monotonic() - started < 5


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

    def do_DELETE(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output quiet


@pytest.fixture
def canned() -> Iterator[Callable[[int, bytes], PaperExchange]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), CannedHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def answer(status: int, body: bytes) -> PaperExchange:
        httpd.canned = (status, body)  # type: ignore[attr-defined]
        return PaperExchange(f"http://127.0.0.1:{httpd.server_address[1]}", timeout_s=5.0)

    yield answer
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def test_a_server_error_is_retryable_with_its_message(
    canned: Callable[[int, bytes], PaperExchange],
) -> None:
    remote = canned(503, b'{"error": "busy"}')
    with pytest.raises(RetryableExchangeError, match="server error 503: busy"):
        remote.place_order(order("a", Side.BUY, "1", "1"))


def test_answers_that_are_not_the_protocol_are_fatal(
    canned: Callable[[int, bytes], PaperExchange],
) -> None:
    with pytest.raises(FatalExchangeError, match="not JSON"):
        canned(200, b"<html>hello</html>").balances()
    bad_decimal = json.dumps({"USDT": {"free": 1.5, "locked": "0"}}).encode()
    with pytest.raises(FatalExchangeError, match=r"balance.*free: expected a decimal"):
        canned(200, bad_decimal).balances()
    with pytest.raises(FatalExchangeError, match="missing field 'orders'"):
        canned(200, b"{}").open_orders(SYMBOL)
    # A 404 means "no such order" only where the interface says so.
    assert canned(404, b'{"error": "no order"}').get_order(SYMBOL, "x") is None
    with pytest.raises(FatalExchangeError, match="404: no such page"):
        canned(404, b'{"error": "no such page"}').balances()
