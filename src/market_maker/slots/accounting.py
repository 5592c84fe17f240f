"""Exact fill booking for one slot.

A slot keeps a signed position and a signed cost basis rather than an average price. A
closing fill removes a proportional share of the cost basis and realises the difference; the
share removed is subtracted from the cost basis exactly as it is added to realised PnL, so

    cash flow of all fills == realized_pnl - cost_basis        (exactly, to the last digit)
    equity change == realized_pnl + unrealized_pnl - fees      (unrealized = qty * mark - cost)

however the proportional share was rounded. Proportional shares are quantised to
``SHARE_QUANTUM`` so that every later addition and subtraction is exact under the default
28-digit decimal context (for amounts below 10^16 in quote currency). A fill larger than
the position closes it and opens the remainder the other way.
"""

from decimal import ROUND_HALF_EVEN, Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import Side
from market_maker.slots.model import Slot

SHARE_QUANTUM = Decimal("1e-12")
"""Resolution of proportional cost and value shares, in quote currency."""


def _share(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``amount * part / whole`` on the ``SHARE_QUANTUM`` grid (half-even)."""
    return (amount * part / whole).quantize(SHARE_QUANTUM, rounding=ROUND_HALF_EVEN)


def book_fill(
    slot: Slot, side: Side, qty: Decimal, quote: Decimal, fee: Decimal
) -> tuple[Slot, Decimal]:
    """Book a fill of ``qty`` (base) worth ``quote`` (quote currency) on ``slot``.

    Returns the new slot and the PnL this fill realised (before fees).
    """
    if qty < 0 or quote < 0:
        raise ValueError(f"fill quantity and value must not be negative: qty={qty} quote={quote}")
    sign = side.sign
    pos, cost = slot.position_qty, slot.cost_basis
    realized = ZERO
    if pos and (pos > 0) != (sign > 0) and qty:
        held = abs(pos)
        close_qty = min(qty, held)
        close_quote = quote if close_qty == qty else _share(quote, close_qty, qty)
        cost_removed = cost if close_qty == held else _share(cost, close_qty, held)
        realized = -sign * close_quote - cost_removed
        pos += sign * close_qty
        cost -= cost_removed
        qty -= close_qty
        quote -= close_quote
    if qty:
        pos += sign * qty
        cost += sign * quote
    booked = Slot(
        slot.level,
        slot.status,
        pos,
        cost,
        slot.realized_pnl + realized,
        slot.fees_paid + fee,
        slot.generation,
        slot.post_only_fail_count,
        slot.order,
    )
    return booked, realized
