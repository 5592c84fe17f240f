"""Reduce-only rules of a netting venue (Binance USD-M), as pure functions of the position.

The simulated exchange applies them; see its module docstring for when. ``position`` is the
signed base position (on a spot account the base held, never negative).
"""

from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import Side
from market_maker.domain.instrument import floor_to

REDUCE_ONLY_REJECT = "reduce-only order rejected"
"""How the reason of a reduce-only reject starts (Binance -2022): how callers tell it apart."""

REDUCE_ONLY_EXPIRED = "reduce-only order expired"
"""How the reason of a reduce-only order expired at fill time starts."""


def room(position: Decimal, side: Side) -> Decimal:
    """How much a reduce-only ``side`` order may fill against ``position`` (0: none).

    The size of the position it reduces: a long one for a sell, a short one for a buy.
    """
    size = position if side is Side.SELL else -position
    return size if size > 0 else ZERO


def reject_reason(side: Side, qty: Decimal, position: Decimal, base: str) -> str:
    """Why a reduce-only order of ``qty`` may not be placed, or "" when it reduces."""
    left = room(position, side)
    if qty <= left:
        return ""
    if position == 0:
        found = "would open a position"
    elif left == 0:
        found = f"would increase the {'long' if position > 0 else 'short'} position"
    else:
        found = f"would flip the position: only {left} {base} to reduce"
    return (
        f"{REDUCE_ONLY_REJECT}: {side.value} {qty} {base} against a position of {position} "
        f"{base} {found}; a reduce-only order must be on the other side of the position and "
        "no larger than it"
    )


def cap(side: Side, qty: Decimal, position: Decimal, step: Decimal | None) -> tuple[Decimal, bool]:
    """What a reduce-only order about to fill ``qty`` may fill, and whether it then expires.

    It expires when the position leaves it less than ``qty`` to reduce; what it may fill is
    rounded down to ``step``.
    """
    left = room(position, side)
    if qty <= left:
        return qty, False
    return (left if step is None else floor_to(left, step)), True


def expired_reason(
    side: Side, qty: Decimal, unfilled: Decimal, position: Decimal, base: str
) -> str:
    """The reason of an order expired because it can no longer reduce ``position``."""
    return (
        f"{REDUCE_ONLY_EXPIRED}: {unfilled} {base} of {side.value} {qty} {base} left unfilled: "
        f"it may not reduce a position of {position} {base} any further"
    )
