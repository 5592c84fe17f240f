"""The paper exchange's USDⓈ-M API, driven by the real ``ccxt.async_support.binanceusdm``.

With rewritten URLs ccxt skips its futures-only error table, so several futures errors
arrive as ``ExchangeError``: the tests check the Binance code in the message as well.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from support.paper_binance import PaperServer, ccxt_client, get_json, paper_server

pytestmark = pytest.mark.timeout(60)

SYMBOL = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def server() -> Iterator[PaperServer]:
    with paper_server("usdm") as running:
        running.advance(3)  # last price 99,940
        yield running


def run(server: PaperServer, body: Callable[[Any], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        exchange = ccxt_client("usdm", server.url)
        try:
            return await body(exchange)
        finally:
            await exchange.close()

    return asyncio.run(main())


def test_load_markets_is_a_linear_perpetual(server: PaperServer) -> None:
    markets = run(server, lambda ex: ex.load_markets())
    market = markets[SYMBOL]
    assert market["swap"] and market["linear"] and market["settle"] == "USDT"
    assert market["precision"]["price"] == 0.1 and market["limits"]["cost"]["min"] == 5
    assert list(markets) == [SYMBOL]


def test_balance_is_the_wallet_in_usdt(server: PaperServer) -> None:
    balance = run(server, lambda ex: ex.fetch_balance())
    assert balance["USDT"]["total"] == 10000 and "BTC" not in balance["total"]


def test_open_long_position_then_reduce_only_close(server: PaperServer) -> None:
    async def open_long(ex: Any) -> Any:
        return await ex.create_order(SYMBOL, "limit", "buy", 0.003, 100500, {"clientOrderId": "L1"})

    taken = run(server, open_long)  # crosses the last price: fills at once, as taker
    assert taken["status"] == "closed" and taken["average"] == 99940

    async def after(ex: Any) -> Any:
        positions = await ex.fetch_positions([SYMBOL])
        trades = await ex.fetch_my_trades(SYMBOL)
        close = await ex.create_order(
            SYMBOL, "limit", "sell", 0.003, 100200, {"reduceOnly": True, "clientOrderId": "C1"}
        )
        return positions, trades, close

    positions, trades, close = run(server, after)
    (position,) = positions
    assert position["side"] == "long" and position["contracts"] == 0.003
    assert position["entryPrice"] == 99940
    assert [t["order"] for t in trades] == [taken["id"]] and trades[0]["takerOrMaker"] == "taker"
    assert close["reduceOnly"] is True and close["status"] == "open"
    canceled = run(server, lambda ex: ex.cancel_order(None, SYMBOL, {"origClientOrderId": "C1"}))
    assert canceled["status"] == "canceled"


def test_post_only_is_gtx(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        placed = await ex.create_order(SYMBOL, "limit", "buy", 0.002, 90000, {"postOnly": True})
        fetched = await ex.fetch_order(placed["id"], SYMBOL)
        await ex.cancel_order(placed["id"], SYMBOL)
        return placed, fetched

    placed, fetched = run(server, body)
    assert placed["info"]["timeInForce"] == "GTX" and fetched["postOnly"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("limit", "buy", 0.002, 110000, {"postOnly": True}), -5022),
        (("limit", "buy", 0.002, 90000, {"reduceOnly": True}), -2022),
        (("limit", "buy", 100, 90000, {}), -2019),
    ],
)
def test_futures_errors_carry_binance_codes(
    server: PaperServer, args: tuple[Any, ...], code: int
) -> None:
    with pytest.raises(ccxt.ExchangeError, match=f'"code":{code}'):
        run(server, lambda ex: ex.create_order(SYMBOL, *args))


def test_duplicate_client_order_id(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        for _ in range(2):
            await ex.create_order(SYMBOL, "limit", "buy", 0.001, 90000, {"clientOrderId": "D1"})

    with pytest.raises(ccxt.ExchangeError, match='"code":-4116'):
        run(server, body)
    ledger = server.ledger()
    assert "D1" in ledger["duplicates"]
    refused = [o for o in ledger["refused"] if o["reject_reason"].startswith("insufficient margin")]
    assert refused, "the -2019 order is on the ledger with its reason"


def test_position_and_account_identity(server: PaperServer) -> None:
    account = run(server, lambda ex: ex.fapiPrivateV3GetAccount())
    balances = get_json(f"{server.url}/paper/balances")
    position = balances["position"]
    cash = Decimal(balances["balances"]["USDT"]["free"])
    qty, entry = Decimal(position["qty"]), Decimal(position["entry_price"])
    assert Decimal(account["totalWalletBalance"]) == cash + qty * entry
    mark = Decimal(position["mark_price"])
    assert Decimal(account["totalMarginBalance"]) == cash + qty * mark


def test_listen_key_lifecycle(server: PaperServer) -> None:
    async def body(ex: Any) -> Any:
        key = (await ex.fapiPrivatePostListenKey())["listenKey"]
        again = (await ex.fapiPrivatePostListenKey())["listenKey"]
        await ex.fapiPrivatePutListenKey()
        await ex.fapiPrivateDeleteListenKey()
        return key, again

    key, again = run(server, body)
    assert key == again and len(key) == 64
