"""The paper exchange's Binance spot API, driven by the real ``ccxt.async_support.binance``.

One real uvicorn server per module (a thread, port 0); every test uses its own client
order ids, so tests share it without depending on each other's orders.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from market_maker.paper.signing import Credentials
from support.paper_binance import PaperServer, ccxt_client, get_json, paper_server

pytestmark = pytest.mark.timeout(60)

SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def server() -> Iterator[PaperServer]:
    with paper_server("spot") as running:
        running.advance(3)  # last price 99,940
        yield running


def run(server: PaperServer, body: Callable[[Any], Awaitable[Any]], **options: Any) -> Any:
    """Run ``body(exchange)`` with a fresh async ccxt client pointed at ``server``."""

    async def main() -> Any:
        exchange = ccxt_client("spot", server.url, **options)
        try:
            return await body(exchange)
        finally:
            await exchange.close()

    return asyncio.run(main())


def test_load_markets_precision_and_limits(server: PaperServer) -> None:
    markets = run(server, lambda ex: ex.load_markets())
    market = markets[SYMBOL]
    assert market["spot"] and market["active"] and market["id"] == "BTCUSDT"
    assert market["precision"]["price"] == 0.1 and market["precision"]["amount"] == 0.001
    assert market["limits"]["amount"]["min"] == 0.001 and market["limits"]["cost"]["min"] == 5
    assert list(markets) == [SYMBOL]  # the futures exchangeInfo lists no symbol


def test_load_markets_without_side_calls(server: PaperServer) -> None:
    options = {"fetchCurrencies": False, "fetchMargins": False, "fetchMarkets": {"types": ["spot"]}}
    markets = run(server, lambda ex: ex.load_markets(), **options)
    assert list(markets) == [SYMBOL]


def test_ticker_ohlcv_and_time_follow_market_time(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        return (
            await ex.fetch_ticker(SYMBOL),
            await ex.fetch_ohlcv(SYMBOL, "1m"),
            await ex.fetch_time(),
        )

    ticker, ohlcv, server_ms = run(server, body)
    index = get_json(f"{server.url}/paper/market")["index"]
    candles = server.venue.candles[:index]
    assert len(ohlcv) == index
    assert [row[0] for row in ohlcv] == [c.open_time_ms for c in candles]
    assert Decimal(str(ticker["last"])) == candles[-1].close
    assert ticker["info"]["bidPrice"] == ticker["info"]["lastPrice"]
    assert abs(server_ms - time.time() * 1000) < 5_000  # wall clock, not market time


def test_ohlcv_since_and_limit(server: PaperServer) -> None:
    first = server.venue.candles[0].open_time_ms
    rows = run(server, lambda ex: ex.fetch_ohlcv(SYMBOL, "1m", since=first + 60_000, limit=1))
    assert [r[0] for r in rows] == [first + 60_000]


def test_limit_order_lifecycle(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        placed = await ex.create_order(
            SYMBOL, "limit", "buy", 0.002, 90000, {"clientOrderId": "life1"}
        )
        fetched = await ex.fetch_order(placed["id"], SYMBOL)
        by_client = await ex.fetch_order(None, SYMBOL, {"origClientOrderId": "life1"})
        listed = await ex.fetch_open_orders(SYMBOL)
        balance = await ex.fetch_balance()
        canceled = await ex.cancel_order(placed["id"], SYMBOL)
        return placed, fetched, by_client, listed, balance, canceled

    placed, fetched, by_client, listed, balance, canceled = run(server, body)
    assert placed["status"] == "open" and placed["clientOrderId"] == "life1"
    assert int(placed["id"]) > 0
    assert fetched["id"] == by_client["id"] == placed["id"]
    assert placed["id"] in [o["id"] for o in listed]
    assert balance["USDT"]["used"] > 0  # the buy's value is locked
    assert canceled["status"] == "canceled" and canceled["info"]["origClientOrderId"] == "life1"


def test_cancel_by_client_order_id(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        await ex.create_order(SYMBOL, "limit", "sell", 0.002, 110000, {"clientOrderId": "cc1"})
        return await ex.cancel_order(None, SYMBOL, {"origClientOrderId": "cc1"})

    assert run(server, body)["status"] == "canceled"


def test_post_only_rests_then_fills_and_shows_in_my_trades(server: PaperServer) -> None:
    async def place(ex: Any) -> Any:
        return await ex.create_order(
            SYMBOL, "limit", "sell", 0.002, 100060, {"postOnly": True, "clientOrderId": "po1"}
        )

    placed = run(server, place)
    assert placed["postOnly"] and placed["info"]["type"] == "LIMIT_MAKER"
    server.advance(20)  # the path dips to 99,800, then climbs back above 100,060

    async def after(ex: Any) -> Any:
        return await ex.fetch_order(placed["id"], SYMBOL), await ex.fetch_my_trades(SYMBOL)

    order, trades = run(server, after)
    assert order["status"] == "closed" and order["filled"] == 0.002
    mine = [t for t in trades if t["order"] == placed["id"]]
    assert len(mine) == 1 and mine[0]["takerOrMaker"] == "maker"
    assert mine[0]["fee"]["currency"] == "USDT"
    ids = [int(t["id"]) for t in trades]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_market_order_fills_with_full_response(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        return await ex.create_order(SYMBOL, "market", "buy", 0.001, None, {"clientOrderId": "mk1"})

    order = run(server, body)
    assert order["status"] == "closed"
    assert (
        len(order["info"]["fills"]) == 1 and order["info"]["fills"][0]["commissionAsset"] == "USDT"
    )


def test_my_trades_from_id(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        await ex.create_order(SYMBOL, "market", "buy", 0.001, None, {"clientOrderId": "mk2"})
        everything = await ex.fetch_my_trades(SYMBOL)
        last = int(everything[-1]["id"])
        return everything, await ex.fetch_my_trades(SYMBOL, None, None, {"fromId": last})

    everything, tail = run(server, body)
    assert [t["id"] for t in tail] == [everything[-1]["id"]]


@pytest.mark.parametrize(
    ("args", "error", "text"),
    [
        (("limit", "buy", 1000, 99000), ccxt.InsufficientFunds, "insufficient balance"),
        (
            ("limit", "buy", 0.002, 110000, {"postOnly": True}),
            ccxt.OrderImmediatelyFillable,
            "take",
        ),
        (("limit", "buy", 0.00001, 99000), ccxt.InvalidOrder, "Filter failure: LOT_SIZE"),
        (("limit", "buy", 0.001, 1000), ccxt.BadRequest, "Filter failure: NOTIONAL"),
    ],
)
def test_order_errors_reach_ccxt_classes(
    server: PaperServer, args: tuple[Any, ...], error: type[Exception], text: str
) -> None:
    async def body(ex: Any) -> Any:
        await ex.load_markets()
        ex.markets[SYMBOL]["precision"]["amount"] = 0.00001  # let ccxt send an off-step qty
        return await ex.create_order(SYMBOL, *args)

    with pytest.raises(error, match=text):
        run(server, body)


def test_rejected_order_is_on_the_ledger_with_its_reason(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        return await ex.create_order(
            SYMBOL, "limit", "buy", 1000, 99000, {"clientOrderId": "poor1"}
        )

    with pytest.raises(ccxt.InsufficientFunds):
        run(server, body)
    entry = next(o for o in server.ledger()["orders"] if o["request"]["client_order_id"] == "poor1")
    assert entry["state"]["status"] == "REJECTED"
    assert entry["reject_reason"].startswith("insufficient balance")


def test_duplicate_client_order_id_is_rejected_and_recorded(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        await ex.create_order(SYMBOL, "limit", "buy", 0.001, 90000, {"clientOrderId": "dup1"})
        await ex.create_order(SYMBOL, "limit", "buy", 0.001, 90000, {"clientOrderId": "dup1"})

    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        run(server, body)
    assert "dup1" in server.ledger()["duplicates"]


def test_unknown_orders_and_symbols(server: PaperServer) -> None:
    async def fetch(ex: Any) -> Any:
        return await ex.fetch_order("987654", SYMBOL)

    async def cancel(ex: Any) -> Any:
        return await ex.cancel_order("987654", SYMBOL)

    async def bad_symbol(ex: Any) -> Any:
        return await ex.publicGetTicker24hr({"symbol": "ETHUSDT"})

    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        run(server, fetch)
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        run(server, cancel)
    with pytest.raises(ccxt.BadSymbol):
        run(server, bad_symbol)


def _with_credentials(server: PaperServer, key: str, secret: str, **options: Any) -> Any:
    async def body(ex: Any) -> Any:
        ex.apiKey, ex.secret = key, secret
        return await ex.fetch_balance()

    return run(server, body, **options)


def test_wrong_key_wrong_secret_and_old_timestamp() -> None:
    with paper_server("spot") as server:
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            _with_credentials(server, "another-key", "test-secret")
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            _with_credentials(server, "test-key", "another-secret")

        async def old(ex: Any) -> Any:
            ex.nonce = lambda: ex.milliseconds() - 60_000  # a clock a minute behind
            return await ex.fetch_balance()

        with pytest.raises(ccxt.InvalidNonce, match="-1021"):
            run(server, old)


def test_credentials_resolve_from_options_env_and_defaults() -> None:
    env = {"MARKET_MAKER_PAPER_API_KEY": "k-env", "MARKET_MAKER_PAPER_API_SECRET": "s-env"}
    assert Credentials.resolve(env={}) == Credentials("paper-key", "paper-secret")
    assert Credentials.resolve(env=env) == Credentials("k-env", "s-env")
    assert Credentials.resolve("k", "s", env=env) == Credentials("k", "s")
    assert "s-env" not in repr(Credentials.resolve(env=env))
