"""The paper venue's position book (average entry price) agrees with plain cash accounting.

For any sequence of fills, ``cash + qty x entry`` (Binance's wallet balance before fees)
equals the cash flow plus the realized profit booked, and ``qty x (mark - entry)`` plus
that equals ``cash + qty x mark``: the USDⓈ-M account the paper exchange serves can never
disagree with the simulated exchange's cash balance.
"""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.enums import Side
from market_maker.paper.journal import Position

fills = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 50).map(lambda n: Decimal(n) / 1000),
        st.integers(90_000, 110_000).map(Decimal),
    ),
    max_size=30,
)


@given(fills, st.integers(90_000, 110_000).map(Decimal))
def test_wallet_and_equity_identities(
    trades: list[tuple[Side, Decimal, Decimal]], mark: Decimal
) -> None:
    position = Position()
    cash = held = Decimal(0)
    for side, qty, price in trades:
        position.apply(side, qty, price)
        cash -= side.sign * qty * price
        held += side.sign * qty
        assert position.qty == held
    wallet = cash + position.qty * position.entry_price
    assert abs(wallet - position.realized_pnl) < Decimal("1e-12")
    equity = wallet + position.qty * (mark - position.entry_price)
    assert abs(equity - (cash + position.qty * mark)) < Decimal("1e-12")
    assert (position.qty == 0) == (position.entry_price == 0)
