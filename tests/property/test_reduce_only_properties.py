"""Reduce-only orders on the simulated exchange never open, increase or flip a position.

Random accounts (spot or margin, long, flat or short), random orders (ordinary and
reduce-only, resting and crossing) and random candles and trades. After every step: each
reduce-only fill made the position strictly smaller without changing its sign, balances
equal the start plus every fill, locks equal what resting orders hold, and a reduce-only
order that ended REJECTED or EXPIRED does not rest.
"""

from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from market_maker.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.exchanges.reduce_only import REDUCE_ONLY_EXPIRED, REDUCE_ONLY_REJECT
from market_maker.exchanges.simulated import (
    SimulatedExchange,
    SimulatedExchangeConfig,
)

D = Decimal
SYM = "BTC/USDT"
TENTH = D("0.1")

place = st.tuples(
    st.just("place"),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(-6, 6),  # price offset from the last price
    st.integers(1, 15),  # quantity in tenths
    st.booleans(),  # reduce-only
    st.booleans(),  # post-only
    st.integers(0, 3),  # a reduce-only order: above 0, on the side that reduces (if any)
)
cancel = st.tuples(st.just("cancel"), st.integers(0, 40))
bar = st.tuples(
    st.just("candle"),
    st.integers(-4, 4),  # open minus the last price
    st.integers(-6, 6),  # close minus open
    st.integers(0, 5),  # high above max(open, close)
    st.integers(0, 5),  # low below min(open, close)
)
trade = st.tuples(st.just("trade"), st.integers(-6, 6), st.integers(1, 40))
step = st.tuples(st.integers(0, 9), place, cancel, bar, trade).map(
    lambda t: t[1] if t[0] < 5 else t[2] if t[0] < 6 else t[3] if t[0] < 8 else t[4]
)  # half of the steps place an order, a tenth cancel one, the rest move the market
steps = st.lists(step, min_size=10, max_size=60)


def reduce_only_fill_shrinks(before: Decimal, fill: OrderUpdate) -> Decimal:
    after = before + fill.side.sign * fill.last_fill_qty
    assert before != 0, f"reduce-only fill against a flat position: {fill}"
    assert abs(after) < abs(before), f"reduce-only fill grew {before} to {after}: {fill}"
    assert after == 0 or (after > 0) == (before > 0), f"reduce-only fill flipped {before}"
    return after


def check_accounts(ex: SimulatedExchange, start: Decimal, cash0: Decimal) -> None:
    position, cash = start, cash0
    for f in ex.fills:
        value = f.last_fill_qty * f.last_fill_price
        position += f.side.sign * f.last_fill_qty
        cash -= f.side.sign * value + f.last_fee
    assert (ex.total("BTC"), ex.total("USDT")) == (position, cash)
    for asset, side in (("USDT", Side.BUY), ("BTC", Side.SELL)):
        held = [o.locked for o in ex.resting.values() if o.request.side is side]
        assert ex.locked[asset] == sum(held, D(0))
    for cid, o in ex.orders.items():
        assert (cid in ex.resting) is not o.status.is_terminal
        if o.status.is_terminal:
            assert o.locked == 0
        if o.status is OrderStatus.EXPIRED:  # only reduce-only orders ever expire here
            assert o.request.reduce_only and o.filled < o.request.qty
        if o.status is OrderStatus.REJECTED:
            assert o.filled == 0
    if ex.config.spot:
        assert all(v >= 0 for v in (*ex.free.values(), *ex.locked.values()))


@settings(max_examples=300, deadline=None)
@given(
    st.booleans(),  # spot account
    st.integers(-30, 30),  # starting position in tenths (spot: its absolute value)
    st.sampled_from([None, D("0.3")]),  # share of volume our orders may take
    st.sampled_from([None, TENTH, D("0.2")]),  # quantity step of partial fills
    steps,
)
def test_no_reduce_only_fill_ever_opens_grows_or_flips_the_position(  # type: ignore[no-untyped-def]
    spot, start_tenths, fill_fraction, qty_step, actions
) -> None:
    start = abs(start_tenths) * TENTH if spot else start_tenths * TENTH
    cash0 = D(1_000_000)
    config = SimulatedExchangeConfig(spot=spot, max_fill_fraction=fill_fraction, qty_step=qty_step)
    ex = SimulatedExchange(SYM, {"USDT": cash0, "BTC": start}, config)
    ex.on_trade(0, D(100), D(1))
    last = D(100)
    position, seen = start, 0
    for n, action in enumerate(actions, start=1):
        kind = action[0]
        if kind == "place":
            _, side, offset, tenths, reduce_only, post_only, aim = action
            if reduce_only and aim and position:  # a resting close, as a grid places them
                side = Side.SELL if position > 0 else Side.BUY
                offset = -side.sign * abs(offset)
            qty = tenths * TENTH
            if qty_step is not None:
                qty = max(qty - qty % qty_step, qty_step)
            request = PlaceOrderRequest(
                SYM, side, OrderType.LIMIT, TimeInForce.GTC, last + offset, qty,
                post_only, reduce_only, f"o{n}",
            )  # fmt: skip
            room = ex.reduce_only_room(side)
            report = ex.place_order(request)
            if reduce_only and qty > room:
                assert report.status is OrderStatus.REJECTED
                assert report.reject_reason.startswith(REDUCE_ONLY_REJECT)
                event("rejected")
        elif kind == "cancel":
            cids = list(ex.orders)
            if cids:
                ex.cancel_order(CancelOrderRequest(SYM, cids[action[1] % len(cids)]))
        elif kind == "candle":
            _, gap, body, up, down = action
            o = max(last + gap, D(10))
            c = max(o + body, D(10))
            h, low = max(o, c) + up, max(min(o, c) - down, D(1))
            reports = ex.on_candle(Candle(SYM, n, 60, o, h, low, c, D(10)))
            last = c
        else:
            _, move, size = action
            last = max(last + move, D(10))
            reports = ex.on_trade(n, last, size * TENTH)
        if kind in ("candle", "trade"):
            for r in reports:
                if r.status is OrderStatus.EXPIRED:
                    assert r.reject_reason.startswith(REDUCE_ONLY_EXPIRED)
                    assert r.last_fill_qty == 0 and r.client_order_id not in ex.resting
                    event("expired" + (" after a partial fill" if r.cum_filled_qty else ""))
        for fill in ex.fills[seen:]:
            if ex.orders[fill.client_order_id].request.reduce_only:
                position = reduce_only_fill_shrinks(position, fill)
                event("reduce-only fill")
            else:
                position += fill.side.sign * fill.last_fill_qty
        seen = len(ex.fills)
        assert ex.total("BTC") == position
        check_accounts(ex, start, cash0)
