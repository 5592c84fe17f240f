"""The grid lattice: levels anchored at a fixed price, so they stay put while the grid trails.

Arithmetic levels are ``anchor + k * interval``; geometric levels are
``anchor * (1 + interval) ** k``. Only the integer ``k`` of the center moves with the price.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from market_maker.domain.decimals import ONE
from market_maker.domain.enums import Spacing


@dataclass(frozen=True, slots=True, eq=False)
class Lattice:
    """Levels of one grid.

    Two lattices are equal only when their anchor and interval are *written* alike:
    ``Decimal("100.00") == Decimal("100")``, but levels computed from them are written
    differently, and the strategy's memo tables key on lattices, so a value-equal lattice
    must never answer for another.

    Attributes:
        anchor: Price of level 0.
        interval: Quote currency between levels (arithmetic) or ratio minus one (geometric).
        spacing: Arithmetic or geometric.
    """

    anchor: Decimal
    interval: Decimal
    spacing: Spacing

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Lattice)
            and self.spacing is other.spacing
            and str(self.anchor) == str(other.anchor)
            and str(self.interval) == str(other.interval)
        )

    def __hash__(self) -> int:
        return hash((self.anchor, self.interval, self.spacing))

    def level(self, k: int) -> Decimal:
        """Raw (unrounded) price of level ``k``."""
        if self.spacing is Spacing.ARITHMETIC:
            return self.anchor + k * self.interval
        return self.anchor * (ONE + self.interval) ** k

    def nearest_index(self, price: Decimal) -> int:
        """Index of the level nearest to ``price`` (ties to even)."""
        if self.spacing is Spacing.ARITHMETIC:
            ratio = (price - self.anchor) / self.interval
        else:
            ratio = (price / self.anchor).ln() / (ONE + self.interval).ln()
        return int(ratio.to_integral_value(rounding=ROUND_HALF_EVEN))

    def step(self, price: Decimal) -> Decimal:
        """Absolute price distance of one interval around ``price``."""
        if self.spacing is Spacing.ARITHMETIC:
            return self.interval
        return price * self.interval

    def above(self, price: Decimal) -> Decimal:
        """Price one interval above ``price`` (a long position's take-profit)."""
        if self.spacing is Spacing.ARITHMETIC:
            return price + self.interval
        return price * (ONE + self.interval)

    def below(self, price: Decimal) -> Decimal:
        """Price one interval below ``price`` (a short position's take-profit)."""
        if self.spacing is Spacing.ARITHMETIC:
            return price - self.interval
        return price / (ONE + self.interval)
