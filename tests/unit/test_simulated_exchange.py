"""Table-driven scenarios of the simulated exchange: a price path -> the exact fills."""

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from market_maker.domain.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.instrument import split_symbol
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, PlaceOrderRequest
from market_maker.exchanges.base import Balance
from market_maker.exchanges.reduce_only import REDUCE_ONLY_EXPIRED, REDUCE_ONLY_REJECT
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
    reduce_only: bool = False,
) -> PlaceOrderRequest:
    return PlaceOrderRequest(
        SYM, side, kind, TimeInForce.GTC, D(price), D(qty), post_only, reduce_only, cid
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
    # A trade printing through the order meets it at its limit (no gap on a trade).
    last = ex.on_trade(3, D("94"), D("10"))
    assert [(r.last_fill_qty, r.last_fill_price, r.status) for r in last] == [
        (D(2), D(95), OrderStatus.FILLED)
    ]


@pytest.mark.parametrize(
    ("symbol", "parts"), [("BTC/USDT", ("BTC", "USDT")), ("BTC/USDT:USDT", ("BTC", "USDT"))]
)
def test_split_symbol(symbol: str, parts: tuple[str, str]) -> None:
    assert split_symbol(symbol) == parts


def test_split_symbol_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="BASE/QUOTE"):
        split_symbol("BTCUSDT")


# -- reduce-only -----------------------------------------------------------------------------


def account(base: str, *, spot: bool, **kw: object) -> SimulatedExchange:
    """A venue whose position (base total) starts at ``base``, last price 100."""
    ex = SimulatedExchange(
        SYM,
        {"USDT": D(100_000), "BTC": D(base)},
        SimulatedExchangeConfig(spot=spot, **kw),  # type: ignore[arg-type]
    )
    ex.on_candle(candle("100", "100", "100", "100"))
    return ex


def ro(cid: str, side: Side, price: str, qty: str, post_only: bool = True) -> PlaceOrderRequest:
    return order(cid, side, price, qty, post_only=post_only, reduce_only=True)


def assert_accounts_consistent(ex: SimulatedExchange) -> None:
    """Totals equal the start plus every fill in the ledger; locks equal resting orders'."""
    base, quote = ex.base, ex.quote
    position, cash = D(ex.balances_init.get(base, 0)), D(ex.balances_init.get(quote, 0))
    for f in ex.fills:
        value = f.last_fill_qty * f.last_fill_price
        if f.side is Side.BUY:
            position, cash = position + f.last_fill_qty, cash - value - f.last_fee
        else:
            position, cash = position - f.last_fill_qty, cash + value - f.last_fee
    assert (ex.total(base), ex.total(quote)) == (position, cash)
    for asset, side in ((quote, Side.BUY), (base, Side.SELL)):
        held = [o.locked for o in ex.resting.values() if o.request.side is side]
        assert ex.locked[asset] == sum(held, D(0))
    assert all(o.locked == 0 for o in ex.orders.values() if o.status.is_terminal)
    assert set(ex.resting) == {c for c, o in ex.orders.items() if not o.status.is_terminal}
    if ex.config.spot:
        assert all(v >= 0 for v in (*ex.free.values(), *ex.locked.values()))


REJECTED_AT_PLACEMENT = [
    # (account, start position, side, qty, what the reason says)
    ("margin", "0", Side.SELL, "1", "would open a position"),
    ("margin", "0", Side.BUY, "1", "would open a position"),
    ("margin", "2", Side.BUY, "1", "would increase the long position"),
    ("margin", "-2", Side.SELL, "1", "would increase the short position"),
    ("margin", "2", Side.SELL, "3", "would flip the position: only 2 BTC to reduce"),
    ("margin", "-2", Side.BUY, "2.5", "would flip the position: only 2 BTC to reduce"),
    ("spot", "0", Side.SELL, "1", "would open a position"),
    ("spot", "0", Side.BUY, "1", "would open a position"),
    ("spot", "2", Side.BUY, "1", "would increase the long position"),
    ("spot", "2", Side.SELL, "3", "would flip the position: only 2 BTC to reduce"),
]


@pytest.mark.parametrize(
    ("kind", "start", "side", "qty", "found"),
    REJECTED_AT_PLACEMENT,
    ids=[f"{k} {p} {s.value} {q}" for k, p, s, q, _ in REJECTED_AT_PLACEMENT],
)
def test_reduce_only_that_would_open_increase_or_flip_is_rejected_at_placement(
    kind: str, start: str, side: Side, qty: str, found: str
) -> None:
    ex = account(start, spot=kind == "spot")
    before = ex.balances()
    price = "95" if side is Side.BUY else "105"
    report = ex.place_order(ro("r1", side, price, qty))
    assert report.status is OrderStatus.REJECTED and not report.post_only_reject
    assert report.reject_reason.startswith(REDUCE_ONLY_REJECT)
    assert f"{side.value} {qty} BTC against a position of {start} BTC {found}" in (
        report.reject_reason
    )
    assert report.cum_filled_qty == 0 and ex.open_orders(SYM) == []
    assert ex.balances() == before  # nothing locked
    # Never filled, however far the price goes; the taker path refuses it as well.
    assert ex.on_candle(candle("100", "200", "50", "100", v="1000", t=1)) == []
    assert ex.on_trade(2, D("50"), D("1000")) == []
    assert ex.on_trade(3, D("200"), D("1000")) == []
    taker = ex.place_order(ro("r2", side, "200" if side is Side.BUY else "1", qty, False))
    assert taker.status is OrderStatus.REJECTED and taker.reject_reason.startswith(
        REDUCE_ONLY_REJECT
    )
    assert ex.total("BTC") == D(start) and ex.fills == []
    looked_up = ex.get_order(SYM, "r1")
    assert looked_up is not None and looked_up.status is OrderStatus.REJECTED
    assert_accounts_consistent(ex)


def test_reduce_only_is_checked_before_post_only() -> None:
    ex = account("0", spot=False)
    report = ex.place_order(ro("r1", Side.SELL, "99", "1"))  # would also cross
    assert report.reject_reason.startswith(REDUCE_ONLY_REJECT) and not report.post_only_reject


ACCEPTED = [
    # (account, start position, side, qty, position after the fill)
    ("margin", "2", Side.SELL, "2", "0"),
    ("margin", "2", Side.SELL, "0.5", "1.5"),
    ("margin", "-2", Side.BUY, "2", "0"),
    ("margin", "-2", Side.BUY, "1", "-1"),
    ("spot", "2", Side.SELL, "2", "0"),
    ("spot", "2", Side.SELL, "1.5", "0.5"),
]


@pytest.mark.parametrize(
    ("kind", "start", "side", "qty", "after"),
    ACCEPTED,
    ids=[f"{k} {p} {s.value} {q}" for k, p, s, q, _ in ACCEPTED],
)
@pytest.mark.parametrize("path", ["candle", "trade", "taker"])
def test_reduce_only_that_reduces_is_accepted_and_fills(
    kind: str, start: str, side: Side, qty: str, after: str, path: str
) -> None:
    ex = account(start, spot=kind == "spot")
    if path == "taker":
        report = ex.place_order(ro("r1", side, "101" if side is Side.BUY else "99", qty, False))
        assert report.status is OrderStatus.FILLED and report.last_fill_price == 100
    else:
        placed = ex.place_order(ro("r1", side, "95" if side is Side.BUY else "105", qty))
        assert placed.status is OrderStatus.NEW and placed.reject_reason == ""
        assert_accounts_consistent(ex)
        if path == "candle":
            fills = ex.on_candle(candle("100", "106", "94", "100", t=1))
        else:
            fills = ex.on_trade(1, D("94") if side is Side.BUY else D("106"), D("1000"))
        assert [(f.client_order_id, f.status, f.last_fill_qty) for f in fills] == [
            ("r1", OrderStatus.FILLED, D(qty))
        ]
    assert ex.total("BTC") == D(after) and ex.open_orders(SYM) == []
    assert_accounts_consistent(ex)


def test_reduce_only_fills_only_what_is_left_of_a_long_then_expires_candle_path() -> None:
    ex = account("2", spot=False)
    ex.place_order(order("p1", Side.SELL, "104", "1"))  # an ordinary sell, reached first
    assert ex.place_order(ro("r1", Side.SELL, "105", "2")).status is OrderStatus.NEW
    reports = ex.on_candle(candle("100", "106", "99", "105", t=1))
    assert [(r.client_order_id, r.status, r.last_fill_qty, r.cum_filled_qty) for r in reports] == [
        ("p1", OrderStatus.FILLED, D(1), D(1)),
        ("r1", OrderStatus.PARTIALLY_FILLED, D(1), D(1)),
        ("r1", OrderStatus.EXPIRED, D(0), D(1)),
    ]
    expired = reports[-1]
    assert expired.reject_reason.startswith(REDUCE_ONLY_EXPIRED)
    assert expired.trade_id == "" and expired.cum_quote_qty == D(105)
    assert ex.total("BTC") == 0 and ex.open_orders(SYM) == []
    assert [f.client_order_id for f in ex.fills] == ["p1", "r1"]  # the expiry is no fill
    looked_up = ex.get_order(SYM, "r1")
    assert looked_up is not None and looked_up.status is OrderStatus.EXPIRED
    assert ex.cancel_order(CancelOrderRequest(SYM, "r1")) is None  # already finished
    assert ex.on_candle(candle("105", "120", "104", "110", t=2)) == []
    assert_accounts_consistent(ex)


def test_reduce_only_buy_fills_only_what_is_left_of_a_short_then_expires_trade_path() -> None:
    ex = account("-2", spot=False)
    ex.place_order(order("p1", Side.BUY, "96", "1.5"))
    ex.place_order(ro("r1", Side.BUY, "95", "2"))
    reports = ex.on_trade(1, D("94"), D("1000"))
    assert [(r.client_order_id, r.status, r.last_fill_qty) for r in reports] == [
        ("p1", OrderStatus.FILLED, D("1.5")),
        ("r1", OrderStatus.PARTIALLY_FILLED, D("0.5")),
        ("r1", OrderStatus.EXPIRED, D(0)),
    ]
    assert ex.total("BTC") == 0 and ex.open_orders(SYM) == []
    assert_accounts_consistent(ex)


@pytest.mark.parametrize("path", ["candle", "trade"])
@pytest.mark.parametrize(
    ("other_qty", "after"), [("1", "0"), ("3", "-2")], ids=["position gone", "position flipped"]
)
def test_reduce_only_with_nothing_left_to_reduce_expires_without_a_fill(
    path: str, other_qty: str, after: str
) -> None:
    ex = account("1", spot=False)
    ex.place_order(order("p1", Side.SELL, "104", other_qty))
    ex.place_order(ro("r1", Side.SELL, "105", "1"))
    if path == "candle":
        reports = ex.on_candle(candle("100", "106", "99", "105", t=1))
    else:
        reports = ex.on_trade(1, D("106"), D("1000"))
    assert [(r.client_order_id, r.status, r.cum_filled_qty) for r in reports] == [
        ("p1", OrderStatus.FILLED, D(other_qty)),
        ("r1", OrderStatus.EXPIRED, D(0)),
    ]
    assert ex.total("BTC") == D(after)  # the ordinary sell flipped it, never the reduce-only
    assert [f.client_order_id for f in ex.fills] == ["p1"] and ex.open_orders(SYM) == []
    assert_accounts_consistent(ex)


def test_reduce_only_expiry_respects_the_quantity_step() -> None:
    ex = account("2", spot=False, qty_step=D("0.2"))
    ex.place_order(order("p1", Side.SELL, "104", "0.5"))
    ex.place_order(ro("r1", Side.SELL, "105", "2"))
    reports = ex.on_candle(candle("100", "106", "99", "105", t=1))
    assert [(r.client_order_id, r.status, r.last_fill_qty) for r in reports] == [
        ("p1", OrderStatus.FILLED, D("0.5")),
        ("r1", OrderStatus.PARTIALLY_FILLED, D("1.4")),  # 1.5 left, rounded down to the step
        ("r1", OrderStatus.EXPIRED, D(0)),
    ]
    assert ex.total("BTC") == D("0.1")
    assert_accounts_consistent(ex)


def test_reduce_only_cut_by_the_volume_budget_keeps_resting_while_it_still_reduces() -> None:
    ex = account("2", spot=False, max_fill_fraction=D("0.1"))
    ex.place_order(ro("r1", Side.SELL, "105", "2"))
    first = ex.on_candle(candle("100", "106", "99", "105", v="15", t=1))
    assert [(r.status, r.last_fill_qty) for r in first] == [
        (OrderStatus.PARTIALLY_FILLED, D("1.5"))
    ]
    assert [o.client_order_id for o in ex.open_orders(SYM)] == ["r1"]
    second = ex.on_candle(candle("105", "106", "99", "105", v="15", t=2))
    assert [(r.status, r.last_fill_qty) for r in second] == [(OrderStatus.FILLED, D("0.5"))]
    assert ex.total("BTC") == 0
    assert_accounts_consistent(ex)


def test_spot_reduce_only_sell_releases_its_lock_and_sells_only_what_is_held() -> None:
    ex = account("3", spot=True)
    ex.place_order(ro("r1", Side.SELL, "105", "2"))
    ex.place_order(ro("r2", Side.SELL, "106", "1"))
    assert ex.balances()["BTC"] == Balance("BTC", D(0), D(3))
    refused = ex.place_order(ro("r3", Side.SELL, "107", "1"))  # held, but all of it locked
    assert refused.status is OrderStatus.REJECTED and "insufficient" in refused.reject_reason
    ex.on_candle(candle("100", "107", "99", "106", t=1))
    assert ex.total("BTC") == 0 and ex.locked["BTC"] == 0 and ex.open_orders(SYM) == []
    assert_accounts_consistent(ex)
