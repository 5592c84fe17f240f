"""Faults injected by the paper exchange, as the real ccxt clients experience them.

Faults are switched on through ``POST /paper/faults`` (seeded, so deterministic), and
switched off again after each test; ``GET /paper/faults`` counts what was injected.
"""

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest
import websockets

from support.paper_binance import PaperServer, ccxt_client, get_json, paper_server

pytestmark = pytest.mark.timeout(60)

SYMBOL = "BTC/USDT"
OFF = {
    "rate_limit_rate": 0,
    "ban_rate": 0,
    "server_error_rate": 0,
    "lost_ack_rate": 0,
    "ws_drop_every_s": None,
    "ws_drop_rate": 0,
    "ws_duplicate_rate": 0,
    "ws_reorder_rate": 0,
    "advance_after": None,
}


def configure(server: PaperServer, **changes: Any) -> Any:
    request = urllib.request.Request(
        f"{server.url}/paper/faults",
        data=json.dumps(changes).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def shared() -> Iterator[PaperServer]:
    with paper_server("spot") as running:
        running.advance(3)
        yield running


@pytest.fixture
def server(shared: PaperServer) -> Iterator[PaperServer]:
    yield shared
    configure(shared, **OFF)


def run(server: PaperServer, body: Any, **settings: Any) -> Any:
    async def main() -> Any:
        exchange = ccxt_client("spot", server.url, **settings.pop("options", {}))
        exchange.timeout = settings.pop("timeout_ms", 5000)
        try:
            await exchange.load_markets()
            return await body(exchange)
        finally:
            await exchange.close()

    return asyncio.run(main())


def test_rate_limit_answers_429_with_retry_after(server: PaperServer) -> None:
    headers: dict[str, str] = {}

    async def body(ex: Any) -> Any:
        configure(server, rate_limit_rate=1, retry_after_s=7)
        try:
            await ex.fetch_ticker(SYMBOL)
        finally:
            headers.update(ex.last_response_headers or {})

    with pytest.raises(ccxt.DDoSProtection):
        run(server, body)
    assert headers.get("Retry-After") == "7"
    assert get_json(f"{server.url}/paper/faults")["injected"]["rate_limit"] >= 1


def test_ban_answers_418(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        configure(server, ban_rate=1)
        await ex.fetch_ticker(SYMBOL)

    with pytest.raises(ccxt.DDoSProtection, match="418"):
        run(server, body)


def test_server_errors_are_non_json_502_and_503(server: PaperServer) -> None:
    statuses: list[int] = []

    async def body(ex: Any) -> Any:
        configure(server, server_error_rate=1)
        for _ in range(2):
            with pytest.raises(ccxt.ExchangeNotAvailable) as caught:
                await ex.fetch_ticker(SYMBOL)
            statuses.append(502 if " 502 " in str(caught.value) else 503)

    run(server, body)
    assert sorted(statuses) == [502, 503]


def test_faults_are_seeded_and_repeatable(server: PaperServer) -> None:
    def pattern() -> list[int]:
        configure(server, seed=42, rate_limit_rate=0.5)
        statuses: list[int] = []
        for _ in range(12):
            try:
                get_json(f"{server.url}/api/v3/time")
                statuses.append(200)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
        return statuses

    first = pattern()
    assert first == pattern() and set(first) == {200, 429}


def test_lost_ack_books_the_order_although_the_client_timed_out(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        configure(server, lost_ack_rate=1, lost_ack_delay_s=30)
        await ex.create_order(SYMBOL, "limit", "buy", 0.001, 90000, {"clientOrderId": "lost1"})

    with pytest.raises(ccxt.RequestTimeout):
        run(server, body, timeout_ms=1000)
    booked = [o for o in server.ledger()["orders"] if o["request"]["client_order_id"] == "lost1"]
    assert booked and booked[0]["state"]["status"] == "NEW"
    configure(server, lost_ack_rate=0)
    found = run(server, lambda ex: ex.fetch_order(None, SYMBOL, {"origClientOrderId": "lost1"}))
    assert found["status"] == "open"


def test_one_shot_advance_after_a_read(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        placed = await ex.create_order(
            SYMBOL, "limit", "buy", 0.001, 99900, {"clientOrderId": "t1"}
        )
        configure(server, advance_after={"path": "/api/v3/openOrders", "candles": 3})
        listed = await ex.fetch_open_orders(SYMBOL)
        after = await ex.fetch_order(placed["id"], SYMBOL)
        again = await ex.fetch_open_orders(SYMBOL)
        return placed, listed, after, again

    index = get_json(f"{server.url}/paper/market")["index"]
    placed, listed, after, again = run(server, body)
    assert placed["id"] in [o["id"] for o in listed]  # answered before the market moved
    assert after["status"] == "closed"  # the fill landed between the two reads
    assert placed["id"] not in [o["id"] for o in again]
    assert get_json(f"{server.url}/paper/market")["index"] == index + 3  # fired once
    report = get_json(f"{server.url}/paper/faults")
    assert report["settings"]["advance_after"] is None and report["injected"]["advance_after"] == 1


def test_bad_fault_settings_are_refused_with_the_field(server: PaperServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        configure(server, rate_limit_rate=2)
    assert caught.value.code == 422
    assert "rate_limit_rate" in json.loads(caught.value.read())["error"]


async def _raw_klines(server: PaperServer, candles: int) -> list[int]:
    """Open times of the klines a raw websocket client receives for ``candles`` candles."""
    url = server.url.replace("http://", "ws://") + "/stream/0"
    async with websockets.connect(url) as socket:
        await socket.send(
            json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1})
        )
        assert json.loads(await socket.recv()) == {"result": None, "id": 1}
        await asyncio.to_thread(server.advance, candles)
        times = []
        while True:
            try:
                message = await asyncio.wait_for(socket.recv(), 0.5)
            except TimeoutError:
                return times
            times.append(json.loads(message)["k"]["t"])


def test_duplicated_stream_events(server: PaperServer) -> None:
    configure(server, ws_duplicate_rate=1)
    times = asyncio.run(_raw_klines(server, 2))
    assert len(times) == 4 and times[0] == times[1] and times[2] == times[3] < times[0] + 120_001


def test_reordered_stream_events(server: PaperServer) -> None:
    configure(server, ws_reorder_rate=1)
    times = asyncio.run(_raw_klines(server, 2))
    assert len(times) == 2 and times[0] > times[1]


def test_stream_dropped_after_a_while_and_ccxt_sees_it(server: PaperServer) -> None:
    configure(server, ws_drop_every_s=0.3)

    async def body() -> Any:
        exchange = ccxt_client("spot", server.url, pro=True)
        try:
            await exchange.load_markets()
            with pytest.raises(ccxt.NetworkError):
                await asyncio.wait_for(exchange.watch_ohlcv(SYMBOL, "1m"), 10)
        finally:
            await exchange.close()

    asyncio.run(body())
    assert get_json(f"{server.url}/paper/faults")["injected"]["ws_timed_drop"] >= 1
