from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.enums import Side
from market_maker.domain.errors import InstrumentError
from market_maker.domain.instrument import Instrument, ceil_to, floor_to

ticks = st.sampled_from([Decimal(x) for x in ("0.01", "0.5", "0.05", "1", "0.0001", "25", "0.1")])
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10_000_000), places=8)


@given(prices, ticks)
def test_buy_prices_round_down_and_sell_prices_round_up_onto_the_tick(
    raw: Decimal, tick: Decimal
) -> None:
    inst = Instrument("X/Y", tick, Decimal("0.001"))
    buy = inst.round_price(Side.BUY, raw)
    sell = inst.round_price(Side.SELL, raw)
    assert buy <= raw <= sell
    assert buy % tick == 0 and sell % tick == 0
    assert raw - buy < tick and sell - raw < tick
    nearest = inst.round_price_nearest(raw)
    assert nearest % tick == 0 and abs(nearest - raw) <= tick / 2


@given(st.decimals(min_value=Decimal(-1000), max_value=Decimal(1000), places=6), ticks)
def test_floor_and_ceil_hold_for_any_sign(value: Decimal, inc: Decimal) -> None:
    f, c = floor_to(value, inc), ceil_to(value, inc)
    assert f <= value <= c and f % inc == 0 and c % inc == 0 and c - f in (0, inc)


@given(st.decimals(min_value=Decimal(0), max_value=Decimal(1000), places=10))
def test_quantities_round_down_to_the_step(raw: Decimal) -> None:
    inst = Instrument("X/Y", Decimal("0.01"), Decimal("0.001"))
    qty = inst.round_qty(raw)
    assert qty <= raw and qty % Decimal("0.001") == 0 and raw - qty < Decimal("0.001")


def test_negative_quantity_rounds_to_zero() -> None:
    assert Instrument("X/Y", Decimal(1), Decimal(1)).round_qty(Decimal(-3)) == 0


def test_geometric_level_with_long_expansion_never_crosses() -> None:
    inst = Instrument("X/Y", Decimal("0.01"), Decimal("0.001"))
    raw = Decimal(100_000) * Decimal("1.003") ** 7
    assert inst.round_price(Side.BUY, raw) <= raw <= inst.round_price(Side.SELL, raw)


@pytest.mark.parametrize(
    ("price", "qty", "ok"),
    [
        (Decimal(100), Decimal("0.05"), True),  # 5 notional, 0.05 >= min_qty
        (Decimal(100), Decimal("0.049"), False),  # notional 4.9 < 5
        (Decimal(10_000), Decimal("0.0009"), False),  # below min_qty
        (Decimal(100), Decimal(0), False),
    ],
)
def test_minimums(price: Decimal, qty: Decimal, ok: bool) -> None:
    inst = Instrument("X/Y", Decimal("0.01"), Decimal("0.0001"), Decimal("0.001"), Decimal(5))
    assert inst.is_tradeable(price, qty) is ok


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tick_size": Decimal(0)}, "tick_size"),
        ({"step_size": Decimal(-1)}, "step_size"),
        ({"tick_size": Decimal("NaN")}, "tick_size"),
        ({"min_qty": Decimal(-1)}, "min_qty"),
        ({"min_notional": Decimal("-0.1")}, "min_notional"),
    ],
)
def test_invalid_rules_are_refused_with_the_field_named(
    kwargs: dict[str, Decimal], field: str
) -> None:
    base = {"tick_size": Decimal("0.01"), "step_size": Decimal("0.001")}
    with pytest.raises(InstrumentError, match=field):
        Instrument("X/Y", **(base | kwargs))  # type: ignore[arg-type]


@given(prices, ticks)
def test_rounded_values_carry_the_increment_exponent(raw: Decimal, tick: Decimal) -> None:
    inst = Instrument("X/Y", tick, Decimal("0.00001"))
    exponent = tick.as_tuple().exponent
    for rounded in (
        inst.round_price(Side.BUY, raw),
        inst.round_price(Side.SELL, raw),
        inst.round_price_nearest(raw),
    ):
        assert rounded.as_tuple().exponent == exponent
    assert inst.round_qty(raw).as_tuple().exponent == -5


def test_long_geometric_value_rounds_to_a_sendable_string() -> None:
    inst = Instrument("X/Y", Decimal("0.01"), Decimal("0.00001"))
    raw = Decimal(100_000) * Decimal("1.003") ** 7
    assert str(inst.round_price(Side.BUY, raw)) == "102118.99"  # raw 102118.9947840108…
    assert str(inst.round_price(Side.SELL, raw)) == "102119.00"
    assert str(inst.round_qty(Decimal("0.008010000000000000000000000001"))) == "0.00801"
