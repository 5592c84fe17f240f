from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.enums import Side
from market_maker.slots.accounting import book_fill
from market_maker.slots.model import Slot

fills = st.lists(
    st.tuples(
        st.sampled_from(list(Side)),
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal(3), places=3),
        st.decimals(min_value=Decimal(1), max_value=Decimal(200_000), places=2),
        st.decimals(min_value=Decimal(0), max_value=Decimal(5), places=4),
    ),
    max_size=30,
)


@given(fills, st.decimals(min_value=Decimal(1), max_value=Decimal(200_000), places=2))
def test_booking_keeps_the_accounting_identities_exact(seq, mark) -> None:  # type: ignore[no-untyped-def]
    slot = Slot(level=Decimal(100))
    cash = position = fees = realized = Decimal(0)
    for side, qty, price, fee in seq:
        quote = qty * price
        slot, r = book_fill(slot, side, qty, quote, fee)
        cash -= side.sign * quote + fee
        position += side.sign * qty
        fees += fee
        realized += r
    assert slot.position_qty == position
    assert slot.fees_paid == fees and slot.realized_pnl == realized
    # cash flow before fees == realized - cost basis, to the last digit
    assert cash + fees == slot.realized_pnl - slot.cost_basis
    # equity change == realized + unrealized - fees
    assert cash + position * mark == slot.realized_pnl + slot.unrealized_pnl(mark) - fees
    if position == 0:
        assert slot.cost_basis == 0 and slot.entry_price is None


def test_round_trip_long_and_short() -> None:
    s, r = book_fill(Slot(level=Decimal(100)), Side.BUY, Decimal(2), Decimal(200), Decimal(0))
    assert (s.position_qty, s.entry_price, r) == (2, 100, 0)
    s, r = book_fill(s, Side.SELL, Decimal(1), Decimal(110), Decimal("0.11"))
    assert (s.position_qty, s.entry_price, r, s.fees_paid) == (1, 100, 10, Decimal("0.11"))
    s, r = book_fill(Slot(level=Decimal(100)), Side.SELL, Decimal(1), Decimal(100), Decimal(0))
    s, r = book_fill(s, Side.BUY, Decimal(1), Decimal(90), Decimal(0))
    assert (s.position_qty, s.cost_basis, r) == (0, 0, 10)


def test_fill_larger_than_position_flips_it() -> None:
    s, _ = book_fill(Slot(level=Decimal(100)), Side.BUY, Decimal(1), Decimal(100), Decimal(0))
    s, r = book_fill(s, Side.SELL, Decimal(3), Decimal(330), Decimal(0))
    assert r == 10  # closed 1 at 110 against entry 100
    assert s.position_qty == -2 and s.entry_price == 110


def test_negative_fill_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="must not be negative"):
        book_fill(Slot(level=Decimal(1)), Side.BUY, Decimal(-1), Decimal(1), Decimal(0))
