"""The paper exchange's websocket streams through the real ``ccxt.pro`` classes.

Market streams push a kline and tickers when market time completes a candle; user-data
streams push every order change (NEW, TRADE partial and full, CANCELED, EXPIRED) with
cumulative fields. Each test subscribes, waits until the server holds the subscription
(a bounded poll of its connections), then moves time with ``/paper/advance``.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from market_maker.paper.binance_market import MarketKind
from support.paper_binance import PARTIAL_FILLS, PaperServer, ccxt_client, paper_server

pytestmark = pytest.mark.timeout(60)

SYMBOLS = {"spot": "BTC/USDT", "usdm": "BTC/USDT:USDT"}
WAIT_S = 10


def run_pro(
    kind: MarketKind, body: Callable[[Any, PaperServer], Awaitable[Any]], extra: str = ""
) -> Any:
    async def main(server: PaperServer) -> Any:
        exchange = ccxt_client(kind, server.url, pro=True)
        try:
            await exchange.load_markets()
            return await body(exchange, server)
        finally:
            await exchange.close()

    with paper_server(kind, extra=extra) as server:
        server.advance(3)
        return asyncio.run(main(server))


async def advance(server: PaperServer, n: int = 1) -> Any:
    return await asyncio.to_thread(server.advance, n)


@pytest.mark.parametrize("kind", ["spot", "usdm"])
def test_kline_and_ticker_after_advance(kind: MarketKind) -> None:
    symbol = SYMBOLS[kind]

    async def body(ex: Any, server: PaperServer) -> Any:
        ohlcv = asyncio.create_task(ex.watch_ohlcv(symbol, "1m"))
        ticker = asyncio.create_task(ex.watch_ticker(symbol))
        await server.subscribed("btcusdt@kline_1m")
        await server.subscribed("btcusdt@miniTicker")
        await advance(server)
        return await asyncio.wait_for(asyncio.gather(ohlcv, ticker), WAIT_S)

    (candles, ticker) = run_pro(kind, body)
    fourth = make_fourth()
    assert candles[-1][0] == fourth.open_time_ms and candles[-1][4] == float(fourth.close)
    assert ticker["last"] == float(fourth.close)


def make_fourth() -> Any:
    from support.paper_binance import make_candles

    return make_candles()[3]


@pytest.mark.parametrize("kind", ["spot", "usdm"])
def test_order_events_new_partial_full_and_canceled(kind: MarketKind) -> None:
    symbol = SYMBOLS[kind]
    user = "user" if kind == "spot" else None

    async def body(ex: Any, server: PaperServer) -> Any:
        seen: list[tuple[str, str, float]] = []
        trades: list[Any] = []

        async def collect_orders() -> None:
            while True:
                for order in await ex.watch_orders(symbol):
                    seen.append((order["clientOrderId"], order["status"], order["filled"]))

        async def collect_trades() -> None:
            while True:
                trades.extend(await ex.watch_my_trades(symbol))

        tasks = [asyncio.create_task(collect_orders()), asyncio.create_task(collect_trades())]
        await server.subscribed(user)
        # 0.003 at 99,900: the next candles dip through it, 0.002 per candle (volume cap).
        await ex.create_order(symbol, "limit", "buy", 0.003, 99900, {"clientOrderId": "p1"})
        await ex.create_order(symbol, "limit", "buy", 0.002, 90000, {"clientOrderId": "c1"})
        await ex.cancel_order(None, symbol, {"origClientOrderId": "c1"})
        await advance(server, 3)
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while ("p1", "closed", 0.003) not in seen or len(trades) < 2:
            assert asyncio.get_running_loop().time() < deadline, (seen, trades)
            await asyncio.sleep(0.02)
        for task in tasks:
            task.cancel()
        return seen, trades

    seen, trades = run_pro(kind, body, extra=PARTIAL_FILLS)
    p1 = [s for s in seen if s[0] == "p1"]
    assert p1[0] == ("p1", "open", 0.0)
    assert ("p1", "open", 0.002) in p1 and p1[-1] == ("p1", "closed", 0.003)
    assert ("c1", "canceled", 0.0) in seen  # the cancel event names the original client id
    assert [t["amount"] for t in trades] == [0.002, 0.001]
    assert [int(t["id"]) for t in trades] == sorted(int(t["id"]) for t in trades)
    assert all(t["fee"]["currency"] == "USDT" for t in trades)


def test_reduce_only_expiry_is_streamed() -> None:
    symbol = SYMBOLS["usdm"]

    async def body(ex: Any, server: PaperServer) -> Any:
        seen: list[tuple[str, str]] = []

        async def collect() -> None:
            while True:
                seen.extend(
                    (o["clientOrderId"], o["status"]) for o in await ex.watch_orders(symbol)
                )

        task = asyncio.create_task(collect())
        await server.subscribed(None)
        await ex.create_order(symbol, "market", "buy", 0.002, None, {"clientOrderId": "L"})
        await ex.create_order(
            symbol, "limit", "sell", 0.002, 100050, {"reduceOnly": True, "clientOrderId": "R"}
        )
        await ex.create_order(symbol, "market", "sell", 0.002, None, {"clientOrderId": "S"})
        await advance(server, 30)  # the path climbs through 100,050: R has nothing to reduce
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while ("R", "expired") not in seen:
            assert asyncio.get_running_loop().time() < deadline, seen
            await asyncio.sleep(0.02)
        task.cancel()
        return seen

    seen = run_pro("usdm", body)
    assert ("L", "closed") in seen and ("S", "closed") in seen and ("R", "expired") in seen
