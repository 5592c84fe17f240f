"""The stable band is exact: wherever it says the decision cannot change, it does not.

For random configs, books and prices: take a decision, then for prices the band calls stable
the full target and actions must be identical; the band must contain the decision price
unless the price itself set an order price (a close past its take-profit).
"""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.enums import GridMode, RiskState, Spacing
from market_maker.domain.instrument import Instrument
from market_maker.slots.book import SlotBook
from market_maker.strategy.config import GridConfig
from market_maker.strategy.decide import decide
from support.market import Market, execute

INST = Instrument("BTC/USDT", Decimal("0.01"), Decimal("0.00001"))


@st.composite
def configs(draw: st.DrawFn) -> GridConfig:
    spacing = draw(st.sampled_from(list(Spacing)))
    interval = (
        Decimal(draw(st.integers(20, 300)))
        if spacing is Spacing.ARITHMETIC
        else Decimal(draw(st.integers(5, 40))) / 10_000
    )
    return GridConfig(
        mode=draw(st.sampled_from(list(GridMode))),
        spacing=spacing,
        base_interval=interval,
        buy_window=draw(st.integers(0, 6)),
        sell_window=draw(st.integers(0, 6)),
        order_qty=Decimal("0.001"),
        max_inventory=Decimal(draw(st.sampled_from(["0.003", "0.01", "1"]))),
        skew_factor=Decimal(draw(st.sampled_from(["0", "0.0005", "0.01"]))),
        safety_buffer=Decimal(draw(st.sampled_from(["0", "0.1", "0.45", "0.8"]))),
        requote_tolerance=Decimal(draw(st.sampled_from(["0", "0.25"]))),
    )


@given(
    configs(),
    st.lists(st.integers(-400, 400), min_size=1, max_size=25),
    st.lists(st.integers(-30_000, 30_000), min_size=1, max_size=30),
)
def test_decisions_inside_the_band_are_identical(config, walk, probes) -> None:  # type: ignore[no-untyped-def]
    book = SlotBook("b", "BTC/USDT")
    market = Market("BTC/USDT")
    anchor = center = None
    price = Decimal(100_000)
    for move in walk:  # build a realistic book: orders resting, some filled
        price += Decimal(move)
        for update in market.move_to(price):
            book.apply_update(update)
        decision = decide(
            price=price,
            book=book,
            config=config,
            instrument=INST,
            anchor=anchor,
            previous_center=center,
        )
        anchor, center = decision.anchor, decision.target.center
        execute(book, market, decision.actions)
    base = decide(
        price=price,
        book=book,
        config=config,
        instrument=INST,
        anchor=anchor,
        previous_center=center,
    )
    target = base.target
    for cents in probes:
        probe = price + Decimal(cents) / 100
        if probe <= 0 or not target.is_stable_at(probe):
            continue
        again = decide(
            price=probe,
            book=book,
            config=config,
            instrument=INST,
            anchor=anchor,
            previous_center=center,
        )
        assert again.target.orders == target.orders, f"probe {probe} in band"
        assert again.actions == base.actions
        assert again.target.center == target.center


def test_band_is_a_real_interval_around_a_quiet_grid() -> None:
    config = GridConfig(
        base_interval=Decimal(100), order_qty=Decimal("0.001"), max_inventory=Decimal(1)
    )
    book = SlotBook("b", "BTC/USDT")
    d = decide(
        price=Decimal("100020"), book=book, config=config, instrument=INST, risk=RiskState.NORMAL
    )
    # anchor = first price. The first buy is the highest level at least the buffer (10) below
    # the price, 99920, for every price from 99930 until the price reaches 100030, where the
    # level 100020 leaves room for the buffer and a buy goes there.
    assert d.target.stable_low == Decimal("99930") and d.target.stable_high == Decimal("100030")
    assert d.target.center == Decimal("100020")
    assert d.target.openings[0].price == Decimal("99920")
    assert d.target.is_stable_at(Decimal("100029.99"))
    assert not d.target.is_stable_at(Decimal("100030"))
    up = decide(price=Decimal("100030"), book=book, config=config, instrument=INST, anchor=d.anchor)
    assert up.target.openings[0].price == Decimal("100020")
