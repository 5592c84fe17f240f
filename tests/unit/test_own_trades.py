"""``SimulatedExchange.own_trades``: the venue's list of our fills, by trade id."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.enums import Liquidity, OrderType, Side, TimeInForce
from market_maker.domain.market import Candle
from market_maker.domain.orders import PlaceOrderRequest
from market_maker.exchanges.base import OwnTrade
from market_maker.exchanges.simulated import SimulatedExchange, SimulatedExchangeConfig

D = Decimal
SYM = "BTC/USDT"


def buy(cid: str, price: str, qty: str = "1", post_only: bool = True) -> PlaceOrderRequest:
    return PlaceOrderRequest(
        SYM, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, D(price), D(qty), post_only, False, cid
    )


def dip(low: str, t: int) -> Candle:
    return Candle(SYM, t, 60, D(100), D(100), D(low), D(100), D(10))


def venue_with_fills(n: int, **config: object) -> SimulatedExchange:
    """A venue on which ``n`` buys filled, one per candle, at 99, 98, ... (maker)."""
    ex = SimulatedExchange(SYM, {"USDT": D(1_000_000)}, SimulatedExchangeConfig(**config))  # type: ignore[arg-type]
    ex.on_candle(dip("100", 0))
    for i in range(n):
        ex.place_order(buy(f"b{i}", str(99 - i % 50)))
        ex.on_candle(dip("40", 60_000 * (i + 1)))
    return ex


def test_every_fill_is_a_trade_numbered_from_one_in_fill_order() -> None:
    ex = venue_with_fills(3)
    trades = ex.own_trades(SYM, None)
    assert trades == [
        OwnTrade(1, "1", "b0", Side.BUY, D(99), D(1), D(99) * D("0.001"), Liquidity.MAKER, 60_000),
        OwnTrade(2, "2", "b1", Side.BUY, D(98), D(1), D(98) * D("0.001"), Liquidity.MAKER, 120_000),
        OwnTrade(3, "3", "b2", Side.BUY, D(97), D(1), D(97) * D("0.001"), Liquidity.MAKER, 180_000),
    ]
    assert ex.own_trades(SYM, 1) == trades[1:]
    assert ex.own_trades(SYM, 3) == []
    assert ex.own_trades(SYM, 0, limit=2) == trades[:2]


def test_a_taker_fill_and_each_part_of_a_partial_fill_are_trades_of_their_own() -> None:
    ex = SimulatedExchange(
        SYM, {"USDT": D(1_000_000)}, SimulatedExchangeConfig(max_fill_fraction=D("0.1"))
    )
    ex.on_candle(dip("100", 0))
    ex.place_order(buy("t", "101", post_only=False))  # crosses the last price: taker at 100
    ex.place_order(buy("p", "99", qty="2"))
    ex.on_candle(dip("90", 60_000))  # 10 volume x 0.1: one of the two fills
    ex.on_candle(dip("90", 120_000))  # the other
    trades = ex.own_trades(SYM, None)
    assert [(t.trade_id, t.client_order_id, t.qty, t.liquidity) for t in trades] == [
        (1, "t", D(1), Liquidity.TAKER),
        (2, "p", D(1), Liquidity.MAKER),
        (3, "p", D(1), Liquidity.MAKER),
    ]
    assert trades[0].price == D(100)


def test_without_the_fill_ledger_only_the_latest_trades_are_kept_with_the_same_ids() -> None:
    ledger = venue_with_fills(12)
    bounded = venue_with_fills(12, fill_ledger=False, trade_history=5)
    assert bounded.fills == []  # no ledger
    assert bounded.own_trades(SYM, None) == ledger.own_trades(SYM, 7)  # ids 8..12
    assert bounded.own_trades(SYM, 9) == ledger.own_trades(SYM, 9)
    assert bounded.own_trades(SYM, 2, limit=2) == ledger.own_trades(SYM, 7, limit=2)
    assert len(bounded._recent_fills) == 5  # memory stays bounded


def test_trade_history_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="trade_history: expected 0 or more fills, found -1"):
        SimulatedExchangeConfig(trade_history=-1)


@given(
    n=st.integers(0, 30),
    history=st.integers(0, 40),
    after=st.none() | st.integers(0, 35),
    limit=st.integers(1, 40),
)
def test_paging_by_the_last_id_seen_lists_each_kept_trade_once_in_order(
    n: int, history: int, after: int | None, limit: int
) -> None:
    ex = venue_with_fills(n, fill_ledger=False, trade_history=history)
    seen: list[OwnTrade] = []
    cursor = after
    while page := ex.own_trades(SYM, cursor, limit):
        assert len(page) <= limit
        seen += page
        cursor = page[-1].trade_id
    ids = [t.trade_id for t in seen]
    first = max(n - history, 0) + 1
    assert ids == list(range(max(first, (after or 0) + 1), n + 1))
