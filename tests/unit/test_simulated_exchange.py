"""Table-driven scenarios of the simulated exchange: a price path -> the exact fills."""

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from market_maker.domain.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.instrument import split_symbol
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, PlaceOrderRequest
from market_maker.exchanges.simulated import (
    SimulatedExchange,
    SimulatedExchangeConfig,
)

D = Decimal
SYM = "BTC/USDT"


def candle(o: str, h: str, low: str, c: str, v: str = "10", t: int = 0) -> Candle:
    return Candle(SYM, t, 60, D(o), D(h), D(low), D(c), D(v))


def order(
    cid: str,
    side: Side,
    price: str,
    qty: str = "1",
    post_only: bool = True,
    kind: OrderType = OrderType.LIMIT,
) -> PlaceOrderRequest:
    return PlaceOrderRequest(
        SYM, side, kind, TimeInForce.GTC, D(price), D(qty), post_only, False, cid
    )


def venue(**kw: object) -> SimulatedExchange:
    ex = SimulatedExchange(SYM, {"USDT": D(1_000_000), "BTC": D(10)}, SimulatedExchangeConfig(**kw))  # type: ignore[arg-type]
    ex.on_candle(candle("100", "100", "100", "100"))  # sets the last price to 100
    return ex


@dataclass
class Case:
    name: str
    orders: list[tuple[str, Side, str]]  # (cid, side, price)
    candles: list[tuple[str, str, str, str]]  # (o, h, l, c)
    fills: list[tuple[str, str, str]]  # expected (cid, qty, price), in order
    config: dict[str, object] = field(default_factory=dict)


CASES = [
    Case(
        "buy reached by the low fills at its limit",
        [("b1", Side.BUY, "95")],
        [("100", "101", "94", "99")],
        [("b1", "1", "95")],
    ),
    Case("buy not reached", [("b1", Side.BUY, "95")], [("100", "101", "95.01", "99")], []),
    Case(
        "low exactly at the limit fills",
        [("b1", Side.BUY, "95")],
        [("100", "101", "95", "99")],
        [("b1", "1", "95")],
    ),
    Case(
        "sell reached by the high",
        [("s1", Side.SELL, "105")],
        [("100", "106", "99", "104")],
        [("s1", "1", "105")],
    ),
    Case(
        "gap down fills a buy at the open",
        [("b1", Side.BUY, "95")],
        [("93", "94", "90", "92")],
        [("b1", "1", "93")],
    ),
    Case(
        "gap up fills a sell at the open",
        [("s1", Side.SELL, "105")],
        [("107", "108", "106", "107")],
        [("s1", "1", "107")],
    ),
    Case(
        "bullish candle: the dip comes first, buys before sells",
        [("s1", Side.SELL, "105"), ("b1", Side.BUY, "95")],
        [("100", "106", "94", "105")],
        [("b1", "1", "95"), ("s1", "1", "105")],
    ),
    Case(
        "bearish candle: the spike comes first, sells before buys",
        [("b1", Side.BUY, "95"), ("s1", Side.SELL, "105")],
        [("100", "106", "94", "96")],
        [("s1", "1", "105"), ("b1", "1", "95")],
    ),
    Case(
        "several buys fill top-down",
        [("b2", Side.BUY, "90"), ("b1", Side.BUY, "95")],
        [("100", "100", "89", "91")],
        [("b1", "1", "95"), ("b2", "1", "90")],
    ),
    Case(
        "volume budget: partial fill of the first reached order",
        [("b1", Side.BUY, "95"), ("b2", Side.BUY, "90")],
        [("100", "100", "89", "91")],
        [("b1", "1", "95"), ("b2", "0.5", "90")],
        {"max_fill_fraction": D("0.15")},
    ),
    Case(
        "partial fills come in whole steps",
        [("b1", Side.BUY, "95")],
        [("100", "100", "94", "99")],
        [("b1", "0.3", "95")],
        {"max_fill_fraction": D("0.037"), "qty_step": D("0.1")},
    ),
    Case(
        "latency: an order waits one more event",
        [("b1", Side.BUY, "95")],
        [("100", "100", "94", "99"), ("99", "99", "94", "98")],
        [("b1", "1", "95")],
        {"latency_events": 1},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_price_path_gives_exact_fills(case: Case) -> None:
    ex = venue(**case.config)
    for cid, side, price in case.orders:
        assert ex.place_order(order(cid, side, price)).status is OrderStatus.NEW
    reports = []
    for i, (o, h, low, c) in enumerate(case.candles):
        before = len(reports)
        reports += ex.on_candle(candle(o, h, low, c, v="10", t=i + 1))
        if case.config.get("latency_events") and i == 0:
            assert len(reports) == before  # not yet eligible
    got = [(r.client_order_id, r.last_fill_qty, r.last_fill_price) for r in reports]
    assert got == [(cid, D(q), D(p)) for cid, q, p in case.fills]
    for r, (_, _, _) in zip(reports, case.fills, strict=True):
        assert r.liquidity is Liquidity.MAKER
        assert r.last_fee == r.last_fill_qty * r.last_fill_price * D("0.001")
        assert r.cum_quote_qty == sum(
            (
                f.last_fill_qty * f.last_fill_price
                for f in reports
                if f.client_order_id == r.client_order_id
                and f.ts_ms <= r.ts_ms
                and f.cum_filled_qty <= r.cum_filled_qty
            ),
            D(0),
        )


def test_every_fill_lies_within_its_candle() -> None:
    ex = venue()
    for i, price in enumerate(["99", "98", "97", "96"]):
        ex.place_order(order(f"b{i}", Side.BUY, price))
    c = candle("96.5", "97", "95", "96")  # gaps below 99, 98, 97
    for r in ex.on_candle(c):
        assert c.low <= r.last_fill_price <= c.high


def test_order_placed_after_the_path_passed_it_does_not_fill_in_that_candle() -> None:
    ex = venue()
    ex.on_candle(candle("100", "100", "90", "99", t=1))  # the low passed 95 already
    ex.place_order(order("b1", Side.BUY, "95"))
    assert ex.on_candle(candle("99", "99", "96", "98", t=2)) == []


def test_post_only_crossing_is_rejected_and_never_filled_as_taker() -> None:
    ex = venue()
    report = ex.place_order(order("b1", Side.BUY, "100"))
    assert report.status is OrderStatus.REJECTED and report.post_only_reject
    assert ex.on_candle(candle("100", "100", "50", "60")) == []


def test_crossing_limit_that_is_not_post_only_fills_at_once_as_taker() -> None:
    ex = venue(taker_fee=D("0.002"))
    report = ex.place_order(order("b1", Side.BUY, "101", post_only=False))
    assert report.status is OrderStatus.FILLED and report.liquidity is Liquidity.TAKER
    assert report.last_fill_price == 100 and report.cum_fee == D("0.200")


def test_duplicate_client_order_id_is_rejected_without_a_second_order() -> None:
    ex = venue()
    ex.place_order(order("b1", Side.BUY, "95"))
    dup = ex.place_order(order("b1", Side.BUY, "94"))
    assert dup.status is OrderStatus.REJECTED and "duplicate" in dup.reject_reason
    assert len(ex.open_orders(SYM)) == 1 and ex.open_orders(SYM)[0].price == 95


def test_cancel_and_lookup() -> None:
    ex = venue()
    ex.place_order(order("b1", Side.BUY, "95"))
    got = ex.get_order(SYM, "b1")
    assert got is not None and got.status is OrderStatus.NEW
    cancelled = ex.cancel_order(CancelOrderRequest(SYM, "b1"))
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELED
    assert ex.cancel_order(CancelOrderRequest(SYM, "b1")) is None
    assert ex.cancel_order(CancelOrderRequest(SYM, "nope")) is None
    assert ex.get_order(SYM, "nope") is None and ex.open_orders(SYM) == []


def test_spot_balances_lock_release_and_refuse_what_is_not_there() -> None:
    ex = SimulatedExchange(SYM, {"USDT": D(1000)}, SimulatedExchangeConfig())
    ex.on_candle(candle("100", "100", "100", "100"))
    assert ex.place_order(order("b1", Side.BUY, "95", qty="10")).status is OrderStatus.NEW
    assert ex.balances()["USDT"].locked == D("950") * D("1.001")
    refused = ex.place_order(order("b2", Side.BUY, "90", qty="1"))
    assert refused.status is OrderStatus.REJECTED and "insufficient" in refused.reject_reason
    sell = ex.place_order(order("s1", Side.SELL, "105"))
    assert sell.status is OrderStatus.REJECTED  # no BTC held on a spot account
    ex.on_candle(candle("100", "100", "94", "96"))
    assert ex.total("BTC") == 10 and ex.locked["USDT"] == 0
    assert ex.total("USDT") == 1000 - 950 - D("0.950")


def test_margin_account_allows_shorting() -> None:
    ex = SimulatedExchange(SYM, {"USDT": D(1000)}, SimulatedExchangeConfig(spot=False))
    ex.on_candle(candle("100", "100", "100", "100"))
    ex.place_order(order("s1", Side.SELL, "105", qty="2"))
    ex.on_candle(candle("100", "106", "99", "104"))
    assert ex.total("BTC") == -2 and ex.total("USDT") == 1000 + 210 - D("0.210")


def test_trade_ticks_fill_with_a_size_budget() -> None:
    ex = venue(max_fill_fraction=D("0.5"))
    ex.place_order(order("b1", Side.BUY, "95", qty="3"))
    first = ex.on_trade(1, D("95"), D("2"))
    assert [(r.last_fill_qty, r.status) for r in first] == [(D(1), OrderStatus.PARTIALLY_FILLED)]
    assert ex.on_trade(2, D("96"), D("10")) == []
    last = ex.on_trade(3, D("94"), D("10"))
    assert [(r.last_fill_qty, r.last_fill_price, r.status) for r in last] == [
        (D(2), D(94), OrderStatus.FILLED)
    ]


@pytest.mark.parametrize(
    ("symbol", "parts"), [("BTC/USDT", ("BTC", "USDT")), ("BTC/USDT:USDT", ("BTC", "USDT"))]
)
def test_split_symbol(symbol: str, parts: tuple[str, str]) -> None:
    assert split_symbol(symbol) == parts


def test_split_symbol_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="BASE/QUOTE"):
        split_symbol("BTCUSDT")
