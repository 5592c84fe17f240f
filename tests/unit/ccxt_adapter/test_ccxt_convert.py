"""ccxt orders and trades (parsed by the real ccxt classes) as ``OrderUpdate`` / ``OwnTrade``."""

from decimal import Decimal
from typing import Any

import pytest

from market_maker.domain.enums import Liquidity, OrderStatus, Side
from market_maker.exchanges.ccxt.convert import (
    fee_in_quote,
    fills_of_answer,
    order_to_update,
    stream_trade,
    trade_to_own,
)
from market_maker.exchanges.ccxt.exchange import with_ledger
from market_maker.exchanges.ccxt.ledger import FillLedger
from tests.support.ccxt_payloads import spot_exchange, usdm_exchange

D = Decimal
SPOT = {"base": "BTC", "quote": "USDT"}


def spot_full_answer() -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT", "orderId": 28, "clientOrderId": "mm1-a", "transactTime": 1507725176595,
        "price": "30000.10", "origQty": "0.00200", "executedQty": "0.00200",
        "cummulativeQuoteQty": "60.00020", "status": "FILLED", "timeInForce": "GTC",
        "type": "LIMIT", "side": "BUY",
        "fills": [
            {"price": "30000.10", "qty": "0.00100", "commission": "0.00000100",
             "commissionAsset": "BTC", "tradeId": 56},
            {"price": "30000.10", "qty": "0.00100", "commission": "0.03000000",
             "commissionAsset": "USDT", "tradeId": 57},
        ],
    }  # fmt: skip


def execution_report(**fields: Any) -> dict[str, Any]:
    """A spot ``executionReport`` of a resting buy of 0.003 at 30000.10."""
    base = {
        "e": "executionReport", "E": 1499405658658, "s": "BTCUSDT", "c": "mm1-b", "S": "BUY",
        "o": "LIMIT", "f": "GTC", "q": "0.00300000", "p": "30000.10", "P": "0.00000000",
        "F": "0.00000000", "g": -1, "C": "", "x": "NEW", "X": "NEW", "r": "NONE", "i": 4293153,
        "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0", "N": None,
        "T": 1499405658657, "t": -1, "I": 8641984, "w": True, "m": False, "M": False,
        "O": 1499405658657, "Z": "0.00000000", "Y": "0.00000000", "Q": "0.00000000",
    }  # fmt: skip
    return base | fields


def test_spot_answer_with_fills_reports_exact_cumulative_figures() -> None:
    order = spot_exchange().parse_order(spot_full_answer())
    draft = order_to_update(order, "BTC/USDT", cum_fee=D(0), **SPOT)
    assert draft.status is OrderStatus.FILLED
    assert (draft.order_id, draft.client_order_id, draft.side) == ("28", "mm1-a", Side.BUY)
    assert str(draft.price) == "30000.10" and str(draft.qty) == "0.00200"
    assert draft.cum_filled_qty == D("0.002") and str(draft.cum_quote_qty) == "60.00020"
    fills = fills_of_answer(order, **SPOT)
    assert [f.trade_id for f in fills] == [56, 57]
    # a commission in BTC is valued at the fill price; one in USDT as it is
    assert [f.fee for f in fills] == [D("0.00000100") * D("30000.10"), D("0.03")]
    ledger = FillLedger()
    for fill in fills:
        ledger.add(fill)
    report = with_ledger(draft, ledger)
    assert report.cum_fee == D("0.030000100000") + D("0.03")
    assert report.cum_quote_qty == D("60.00020")


def test_decimals_come_from_the_venues_strings_not_ccxts_floats() -> None:
    raw = spot_full_answer() | {"cummulativeQuoteQty": "12345678.123456789", "fills": []}
    order = spot_exchange().parse_order(raw)
    assert Decimal(str(order["cost"])) != D("12345678.123456789")  # the float lost digits
    update = order_to_update(order, "BTC/USDT", cum_fee=D(0), **SPOT)
    assert update.cum_quote_qty == D("12345678.123456789")


def test_futures_answer_status_and_quote() -> None:
    raw = {
        "orderId": 22542179, "symbol": "BTCUSDT", "status": "PARTIALLY_FILLED",
        "clientOrderId": "mm1-c", "price": "30000.10", "avgPrice": "30000.10",
        "origQty": "0.010", "executedQty": "0.004", "cumQuote": "120.00040",
        "timeInForce": "GTX", "type": "LIMIT", "reduceOnly": True, "side": "SELL",
        "positionSide": "BOTH", "updateTime": 1566818724722,
    }  # fmt: skip
    order = usdm_exchange().parse_order(raw)
    update = order_to_update(order, "BTC/USDT:USDT", cum_fee=D("0.024"), **SPOT)
    assert update.status is OrderStatus.PARTIALLY_FILLED
    assert update.side is Side.SELL
    assert update.cum_quote_qty == D("120.00040")
    assert update.ts_ms == 1566818724722
    assert update.cum_fee == D("0.024")


def test_stream_events_carry_the_last_trades_fee_the_ledger_keeps_the_sum() -> None:
    """Two fills of one order: each event's ``n`` is that trade's fee only."""
    ex = spot_exchange()
    ledger = FillLedger()
    events = [
        execution_report(x="TRADE", X="PARTIALLY_FILLED", l="0.00100000", L="30000.10",
                         z="0.00100000", Z="30.00010000", n="0.03000010", N="USDT", t=101,
                         m=True),
        execution_report(x="TRADE", X="FILLED", l="0.00200000", L="30000.10",
                         z="0.00300000", Z="90.00030000", n="0.06000020", N="USDT", t=102,
                         m=True),
    ]  # fmt: skip
    reports = []
    for raw in events:
        order = ex.parse_ws_order(raw)
        assert D(str(order["fee"]["cost"])) == D(raw["n"])  # ccxt: the last trade's fee only
        trade = stream_trade(order, **SPOT)
        assert trade is not None
        ledger.add(trade)
        ledger.add(trade)  # a duplicated event changes nothing
        draft = order_to_update(order, "BTC/USDT", cum_fee=D(0), **SPOT)
        reports.append(with_ledger(draft, ledger))
    first, second = reports
    assert (first.cum_fee, first.last_fee, first.liquidity) == (
        D("0.03000010"),
        D("0.03000010"),
        Liquidity.MAKER,
    )
    assert second.status is OrderStatus.FILLED
    assert second.cum_fee == D("0.09000030")  # both fees, not the last one
    assert second.last_fee == D("0.06000020") and second.trade_id == "102"
    assert second.cum_quote_qty == D("90.00030000")


def test_a_cancel_event_keeps_the_original_client_order_id() -> None:
    order = spot_exchange().parse_ws_order(
        execution_report(x="CANCELED", X="CANCELED", c="cancel-req-1", C="mm1-b")
    )
    update = order_to_update(order, "BTC/USDT", cum_fee=D(0), **SPOT)
    assert (update.client_order_id, update.status) == ("mm1-b", OrderStatus.CANCELED)
    assert stream_trade(order, **SPOT) is None


def test_futures_stream_event_quote_from_average_price() -> None:
    raw = {
        "s": "BTCUSDT", "c": "mm1-d", "S": "BUY", "o": "LIMIT", "f": "GTX", "q": "0.010",
        "p": "30000.10", "ap": "30000.10", "sp": "0", "x": "TRADE", "X": "FILLED",
        "i": 8886774, "l": "0.010", "z": "0.010", "L": "30000.10", "N": "USDT",
        "n": "0.06000020", "T": 1568879465651, "t": 7, "b": "0", "a": "0", "m": True,
        "R": False, "wt": "CONTRACT_PRICE", "ot": "LIMIT", "ps": "BOTH", "cp": False,
        "rp": "0", "pP": False, "si": 0, "ss": 0,
    }  # fmt: skip
    order = usdm_exchange().parse_ws_order(raw)
    update = order_to_update(order, "BTC/USDT:USDT", cum_fee=D(0), **SPOT)
    assert update.cum_quote_qty == D("300.0010")
    trade = stream_trade(order, **SPOT)
    assert trade is not None and trade.fee == D("0.06000020") and trade.trade_id == 7


def test_own_trades_from_spot_and_futures_trade_lists() -> None:
    spot = spot_exchange().parse_trade({
        "symbol": "BTCUSDT", "id": 28457, "orderId": 100234, "orderListId": -1,
        "price": "4.00000100", "qty": "12.00000000", "quoteQty": "48.000012",
        "commission": "10.10000000", "commissionAsset": "BNB", "time": 1499865549590,
        "isBuyer": True, "isMaker": False, "isBestMatch": True,
    })  # fmt: skip
    own = trade_to_own(spot, base="BTC", quote="USDT", client_order_id="mm1-e")
    assert (own.trade_id, own.order_id, own.client_order_id) == (28457, "100234", "mm1-e")
    assert (own.side, own.liquidity) == (Side.BUY, Liquidity.TAKER)
    assert own.price == D("4.00000100") and own.qty == D("12")
    assert own.fee == 0  # BNB cannot be valued here
    futures = usdm_exchange().parse_trade({
        "buyer": False, "commission": "-0.07819010", "commissionAsset": "USDT", "id": 698759,
        "maker": True, "orderId": 25851813, "price": "7819.01", "qty": "0.002",
        "quoteQty": "15.63802", "realizedPnl": "-0.91539999", "side": "SELL",
        "positionSide": "SHORT", "symbol": "BTCUSDT", "time": 1569514978020,
    })  # fmt: skip
    own = trade_to_own(futures, base="BTC", quote="USDT")
    assert (own.side, own.liquidity, own.fee) == (Side.SELL, Liquidity.MAKER, D("-0.07819010"))
    assert own.ts_ms == 1569514978020


@pytest.mark.parametrize(
    ("cost", "asset", "expected"),
    [("0.5", "USDT", "0.5"), ("0.001", "BTC", "30.0001"), ("1", "BNB", "0"), ("0", "BTC", "0"),
     ("0.2", None, "0.2")],
)  # fmt: skip
def test_fees_in_quote(cost: str, asset: str | None, expected: str) -> None:
    got = fee_in_quote(D(cost), asset, D("30000.1"), base="BTC", quote="USDT")
    assert got == D(expected)
