"""The ccxt adapter end to end: real ccxt classes against the paper exchange's Binance API.

Each test starts a real paper exchange (uvicorn on a free port, ``support.paper_binance``)
and connects with ``connect(CcxtSettings(base_url=...))``: the unmodified
``ccxt.async_support`` / ``ccxt.pro`` Binance classes, over real HTTP. Only time is
injected (``Timing``): backoff waits and ``Retry-After`` are recorded instead of slept, and
a test may change the server's faults from inside such a wait.

Covered here (REST): spot and USD-M place / fill / cancel with exact fees, post-only and
reduce-only rejects, balances with the signed position, own trades, REST order updates,
idempotent re-place after a lost ack, 429 with ``Retry-After``, a wrong secret, an unknown
symbol, market data catch-up and polling by market time.
"""

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from market_maker.domain.enums import OrderRole, OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.exchanges.base import FatalExchangeError
from market_maker.exchanges.ccxt import CcxtSettings, CcxtVenue, RetryPolicy, Timing, connect
from market_maker.exchanges.reduce_only import REDUCE_ONLY_REJECT
from market_maker.paper.binance_market import MarketKind
from market_maker.slots.model import OrderRecord
from support.paper_binance import KEY, PaperServer, get_json, paper_server

pytestmark = pytest.mark.timeout(120)

D = Decimal
SYMBOLS = {"spot": "BTC/USDT", "usdm": "BTC/USDT:USDT"}
IDS = {"spot": "binance", "usdm": "binanceusdm"}


class RecordedTime:
    """``Timing`` whose sleeps are recorded (and may run a hook) instead of slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.on_sleep: Callable[[float], None] = lambda s: None

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.on_sleep(seconds)

    def timing(self) -> Timing:
        return Timing(sleep=self.sleep, monotonic=lambda: self.now, draw=lambda: 0.0)


def set_faults(server: PaperServer, **changes: Any) -> Any:
    request = urllib.request.Request(
        f"{server.url}/paper/faults",
        data=json.dumps(changes).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def placed_on_venue(server: PaperServer, client_order_id: str) -> int:
    """How many orders with ``client_order_id`` the venue holds (``/paper/ledger``)."""
    orders = server.ledger()["orders"]
    return sum(1 for o in orders if o["request"]["client_order_id"] == client_order_id)


@contextmanager
def venue_on(
    server: PaperServer, kind: MarketKind, clock: RecordedTime | None = None, **settings: Any
) -> Iterator[CcxtVenue]:
    options: dict[str, Any] = {
        "exchange_id": IDS[kind], "symbol": SYMBOLS[kind], "api_key": KEY.api_key,
        "secret": KEY.secret, "base_url": server.url, "streams": False, "timeout_s": 5.0,
    } | settings  # fmt: skip
    venue = connect(CcxtSettings(**options), timing=(clock or RecordedTime()).timing())
    try:
        yield venue
    finally:
        venue.close()


def limit(
    kind: MarketKind, cid: str, side: Side, price: str, qty: str = "0.002", **flags: bool
) -> PlaceOrderRequest:
    return PlaceOrderRequest(
        SYMBOLS[kind], side, OrderType.LIMIT, TimeInForce.GTC, D(price), D(qty),
        flags.get("post_only", True), flags.get("reduce_only", False), cid,
    )  # fmt: skip


def record_of(update: OrderUpdate, role: OrderRole = OrderRole.OPEN) -> OrderRecord:
    """The engine's record of an order as it booked ``update``."""
    return OrderRecord(
        client_order_id=update.client_order_id, level=update.price, side=update.side,
        role=role, price=update.price, qty=update.qty, generation=1,
        order_id=update.order_id, status=update.status, filled_qty=update.cum_filled_qty,
        filled_quote=update.cum_quote_qty, fee=update.cum_fee,
    )  # fmt: skip


@pytest.fixture(params=["spot", "usdm"])
def kind(request: pytest.FixtureRequest) -> MarketKind:
    value: MarketKind = request.param
    return value


@pytest.fixture
def server(kind: MarketKind) -> Iterator[PaperServer]:
    with paper_server(kind) as running:
        running.advance(3)  # last price 99,940, falling 20 a candle for 7 more candles
        yield running


def test_rules_are_the_venues(server: PaperServer, kind: MarketKind) -> None:
    with venue_on(server, kind) as venue:
        rules = venue.exchange.market_rules(SYMBOLS[kind])
    i = rules.instrument
    assert i.symbol == SYMBOLS[kind]
    assert (str(i.tick_size), str(i.step_size), str(i.min_qty), str(i.min_notional)) == (
        "0.1", "0.001", "0.001", "5",
    )  # fmt: skip
    assert (rules.maker_fee, rules.taker_fee, rules.spot) == (
        D("0.0002"), D("0.0005"), kind == "spot",
    )  # fmt: skip


def test_a_429_on_the_fee_rates_is_retried_not_taken_for_the_market_rates(
    server: PaperServer, kind: MarketKind
) -> None:
    clock = RecordedTime()
    with venue_on(server, kind, clock) as venue:
        set_faults(server, rate_limit_rate=1.0, retry_after_s=3)
        clock.on_sleep = lambda s: set_faults(server, rate_limit_rate=0.0)
        rules = venue.exchange.market_rules(SYMBOLS[kind])
    # the account's rates after the pause (a fallback to the market's would disagree with
    # the configuration and refuse a healthy start: seen in the crash harness)
    assert (rules.maker_fee, rules.taker_fee) == (D("0.0002"), D("0.0005"))
    assert clock.slept == [3.0]


def test_place_fill_cancel_with_exact_fees(server: PaperServer, kind: MarketKind) -> None:
    symbol = SYMBOLS[kind]
    with venue_on(server, kind) as venue:
        ex = venue.exchange
        buy = ex.place_order(limit(kind, "it-buy", Side.BUY, "99900.0"))
        far = ex.place_order(limit(kind, "it-far", Side.BUY, "90000.0"))
        assert (buy.status, far.status) == (OrderStatus.NEW, OrderStatus.NEW)
        assert {u.client_order_id for u in ex.open_orders(symbol)} == {"it-buy", "it-far"}
        cancelled = ex.cancel_order(CancelOrderRequest(symbol, "it-far", far.order_id))
        assert cancelled is not None
        assert (cancelled.status, cancelled.client_order_id, cancelled.order_id) == (
            OrderStatus.CANCELED, "it-far", far.order_id,
        )  # fmt: skip
        assert ex.cancel_order(CancelOrderRequest(symbol, "it-far", far.order_id)) is None
        server.advance(5)  # the price falls through 99,900
        filled = ex.get_order(symbol, "it-buy")
        assert filled is not None and filled.status is OrderStatus.FILLED
        assert filled.cum_filled_qty == D("0.002")
        assert filled.cum_quote_qty == D("199.8")
        assert filled.cum_fee == D("199.8") * D("0.0002")  # maker fee, in USDT
        assert filled.liquidity is not None and filled.liquidity.value == "maker"
        trades = ex.own_trades(symbol, None)
        assert [(t.order_id, t.client_order_id, t.qty, t.fee) for t in trades] == [
            (buy.order_id, "it-buy", D("0.002"), D("0.03996")),
        ]  # fmt: skip
        assert ex.own_trades(symbol, trades[-1].trade_id) == []
        assert ex.get_order(symbol, "never-sent") is None
        balances = ex.balances()
    if kind == "spot":
        assert balances["BTC"].total == D("0.05") + D("0.002")
    else:
        assert (balances["BTC"].total, balances["BTC"].locked) == (D("0.002"), 0)
    assert placed_on_venue(server, "it-buy") == 1


def test_refusals_are_rejected_reports(server: PaperServer, kind: MarketKind) -> None:
    with venue_on(server, kind) as venue:
        ex = venue.exchange
        cross = ex.place_order(limit(kind, "it-cross", Side.BUY, "100100.0"))
        assert cross.status is OrderStatus.REJECTED and cross.post_only_reject
        big = ex.place_order(limit(kind, "it-big", Side.BUY, "90000.0", qty="50", post_only=False))
        assert big.status is OrderStatus.REJECTED and not big.post_only_reject
        assert big.reject_reason.startswith("insufficient balance")
        if kind == "usdm":
            reduce = ex.place_order(limit(kind, "it-ro", Side.SELL, "100100.0", reduce_only=True))
            assert reduce.status is OrderStatus.REJECTED
            assert reduce.reject_reason.startswith(REDUCE_ONLY_REJECT)
            assert not reduce.post_only_reject


def test_placing_the_same_client_id_again_answers_the_existing_order(
    server: PaperServer, kind: MarketKind
) -> None:
    with venue_on(server, kind) as venue:
        first = venue.exchange.place_order(limit(kind, "it-twice", Side.BUY, "99000.0"))
        again = venue.exchange.place_order(limit(kind, "it-twice", Side.BUY, "99000.0"))
    assert again.status is OrderStatus.NEW
    assert (again.order_id, again.client_order_id) == (first.order_id, "it-twice")
    assert placed_on_venue(server, "it-twice") == 1


def test_rest_order_updates_report_fills_once(server: PaperServer, kind: MarketKind) -> None:
    symbol = SYMBOLS[kind]
    with venue_on(server, kind) as venue:
        ex, source = venue.exchange, venue.order_updates
        placed = [
            ex.place_order(limit(kind, "it-a", Side.BUY, "99900.0")),
            ex.place_order(limit(kind, "it-b", Side.BUY, "99870.0")),
        ]
        known = [record_of(u) for u in placed]
        assert source.poll(known) == []  # nothing changed
        server.advance(5)
        reports = source.poll(known)
        assert {(r.client_order_id, r.status) for r in reports} == {
            ("it-a", OrderStatus.FILLED), ("it-b", OrderStatus.FILLED),
        }  # fmt: skip
        for report in reports:
            assert report.cum_fee == report.cum_quote_qty * D("0.0002")
        booked = [record_of(r) for r in reports]
        assert source.poll(booked) == []  # booked: nothing more to say
    assert ex.symbol == symbol


def test_a_lost_ack_is_found_by_its_client_id_never_placed_twice(
    server: PaperServer, kind: MarketKind
) -> None:
    set_faults(server, lost_ack_rate=1.0, lost_ack_delay_s=30)
    clock = RecordedTime()
    with venue_on(server, kind, clock, timeout_s=1.0) as venue:
        report = venue.exchange.place_order(limit(kind, "it-lost", Side.BUY, "99000.0"))
    assert report.status is OrderStatus.NEW and report.client_order_id == "it-lost"
    assert len(clock.slept) == 1  # one backoff, then the look-up found it
    assert get_json(f"{server.url}/paper/faults")["injected"] == {"lost_ack": 1}
    assert placed_on_venue(server, "it-lost") == 1


def test_a_429_waits_its_retry_after(server: PaperServer, kind: MarketKind) -> None:
    clock = RecordedTime()
    with venue_on(server, kind, clock) as venue:
        set_faults(server, rate_limit_rate=1.0, retry_after_s=7)
        clock.on_sleep = lambda s: set_faults(server, rate_limit_rate=0.0)
        balances = venue.exchange.balances()
    assert "USDT" in balances
    assert clock.slept == [7.0]  # the venue's pause, not the 0.5 s backoff
    assert get_json(f"{server.url}/paper/faults")["injected"] == {"rate_limit": 1}


def test_a_wrong_secret_is_fatal_and_never_shown(server: PaperServer, kind: MarketKind) -> None:
    secret = "wrong-secret-0123456789abcdef"
    with pytest.raises(FatalExchangeError) as info, venue_on(server, kind, secret=secret):
        pass
    message = str(info.value)
    assert "authentication" in message
    assert secret not in message and KEY.secret not in message


def test_an_unknown_symbol_is_fatal_and_named(server: PaperServer, kind: MarketKind) -> None:
    symbol = "ETH/USDT" if kind == "spot" else "ETH/USDT:USDT"
    with (
        pytest.raises(FatalExchangeError, match="lists no market"),
        venue_on(server, kind, symbol=symbol),
    ):
        pass


def test_market_data_by_market_time(server: PaperServer, kind: MarketKind) -> None:
    symbol = SYMBOLS[kind]
    with venue_on(server, kind) as venue:
        source = venue.market_data
        events = source.catch_up(0, 2)
        candles = [e for e in events if isinstance(e, Candle)]
        prices = [e for e in events if isinstance(e, PriceUpdate)]
        assert [c.close for c in candles] == [D("99960"), D("99940")]  # the newest 2 of 3
        assert all(c.closed and c.symbol == symbol for c in candles)
        assert [p.price for p in prices] == [D("99940")] and events[-1] is prices[0]
        assert source.poll() == [prices[0]]  # nothing new closed: the price again
        server.advance(2)
        events = source.poll()
        assert [e.close for e in events if isinstance(e, Candle)] == [D("99920"), D("99900")]
        assert [e.price for e in events if isinstance(e, PriceUpdate)] == [D("99900")]
        assert source.catch_up(candles[-1].open_time_ms, 1000)[0] == Candle(
            symbol, candles[-1].open_time_ms + 60_000, 60, D("99940"), D("99945"),
            D("99915"), D("99920"), D("10"),
        )  # fmt: skip


def test_retries_are_bounded_on_a_dead_server(kind: MarketKind) -> None:
    clock = RecordedTime()
    with paper_server(kind) as running:
        url = running.url
    settings = CcxtSettings(
        exchange_id=IDS[kind], symbol=SYMBOLS[kind], api_key=KEY.api_key, secret=KEY.secret,
        base_url=url, streams=False, timeout_s=2.0, retry=RetryPolicy(attempts=3),
    )  # fmt: skip
    from market_maker.exchanges.base import RetryableExchangeError

    with pytest.raises(RetryableExchangeError):
        connect(settings, timing=clock.timing())
    assert len(clock.slept) == 2


def poll_until(
    venue: CcxtVenue,
    known: list[OrderRecord],
    wake: threading.Event,
    done: Callable[[list[OrderUpdate]], bool],
) -> list[OrderUpdate]:
    """Poll the order source (waking on the stream's events) until ``done``, with a deadline."""
    seen: list[OrderUpdate] = []
    deadline = time.monotonic() + 20
    while not done(seen):
        assert time.monotonic() < deadline, f"no such reports: {seen}"
        wake.wait(0.2)
        wake.clear()
        seen += venue.order_updates.poll(known)
    return seen


def user_stream_ready(server: PaperServer) -> bool:
    """The paper exchange serves our user-data stream (spot subscribed, or USD-M connected)."""
    hub = server.hub
    return any(
        "user" in c.streams or c.render == hub.futures_user_messages for c in hub.connections
    )


def filled(reports: list[OrderUpdate]) -> bool:
    return any(r.status is OrderStatus.FILLED for r in reports)


def test_stream_reports_fills_with_cumulative_fees(server: PaperServer, kind: MarketKind) -> None:
    with venue_on(server, kind, streams=True) as venue:
        wake = threading.Event()
        venue.attach_wake(wake)
        poll_until(venue, [], wake, lambda seen: user_stream_ready(server))
        placed = venue.exchange.place_order(limit(kind, "it-ws", Side.BUY, "99900.0"))
        known = [record_of(placed)]
        poll_until(venue, known, wake, lambda seen: venue.streams[0].deliveries > 0)
        rest_passes = venue.order_updates.catch_ups
        server.advance(5)
        reports = poll_until(venue, known, wake, filled)
        fill = next(r for r in reports if r.status is OrderStatus.FILLED)
        assert (fill.cum_filled_qty, fill.cum_fee) == (D("0.002"), D("0.03996"))
        assert fill.trade_id and fill.last_fee == D("0.03996")
        # delivered by the stream: at most the one catch-up its first delivery owed
        assert venue.order_updates.catch_ups - rest_passes <= 1
        prices: list[Decimal] = []
        deadline = time.monotonic() + 20
        while D("99840") not in prices:  # the ticker stream's events arrive on their own time
            assert time.monotonic() < deadline, f"no price 99840 from the stream: {prices}"
            wake.wait(0.2)
            wake.clear()
            prices += [e.price for e in venue.market_data.poll() if isinstance(e, PriceUpdate)]
    assert not venue.loop.running


def test_a_dropped_stream_loses_no_fill_and_books_none_twice(
    server: PaperServer, kind: MarketKind
) -> None:
    with venue_on(server, kind, streams=True) as venue:
        wake = threading.Event()
        venue.attach_wake(wake)
        poll_until(venue, [], wake, lambda seen: user_stream_ready(server))
        a = venue.exchange.place_order(limit(kind, "it-drop-a", Side.BUY, "99900.0"))
        b = venue.exchange.place_order(limit(kind, "it-drop-b", Side.BUY, "99880.0"))
        known = [record_of(a), record_of(b)]
        orders = venue.streams[0]
        poll_until(venue, known, wake, lambda seen: orders.deliveries > 0)
        failures = orders.failures
        set_faults(server, ws_drop_rate=1.0)  # the next event closes the stream instead
        server.advance(6)
        poll_until(venue, known, wake, lambda seen: orders.failures > failures)
        set_faults(server, ws_drop_rate=0.0)
        reports = poll_until(
            venue, known, wake,
            lambda seen: {r.client_order_id for r in seen if r.status is OrderStatus.FILLED}
            == {"it-drop-a", "it-drop-b"},
        )  # fmt: skip
    # booking cumulative reports: each order's fill counts once, whatever the repeats
    booked: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    for r in reports:
        booked[r.client_order_id] = max(booked.get(r.client_order_id, D(0)), r.cum_filled_qty)
        fees[r.client_order_id] = max(fees.get(r.client_order_id, D(0)), r.cum_fee)
    assert booked == {"it-drop-a": D("0.002"), "it-drop-b": D("0.002")}
    assert fees == {"it-drop-a": D("0.03996"), "it-drop-b": D("0.039952")}
    assert get_json(f"{server.url}/paper/faults")["injected"].get("ws_drop", 0) >= 1
