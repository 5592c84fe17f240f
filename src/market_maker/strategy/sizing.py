"""Order size per grid level."""

from decimal import Decimal

from market_maker.domain.decimals import ONE
from market_maker.domain.instrument import Instrument
from market_maker.strategy.config import GridConfig

MIN_SIZE_FACTOR = Decimal("0.1")
"""Volatility scaling never shrinks an order below this fraction of its base size."""


def order_size(
    config: GridConfig, instrument: Instrument, price: Decimal, atr: Decimal | None
) -> Decimal:
    """Base-currency size of an opening order at ``price``, rounded down to the step.

    Fixed base quantity or fixed quote notional, optionally scaled by
    ``max(0.1, 1 - k * atr / price)``. The caller checks ``instrument.is_tradeable``.
    """
    if config.order_qty is not None:
        if not config.volatility_size_k or atr is None:
            return instrument.round_qty(config.order_qty)
        qty = config.order_qty
    else:
        assert config.order_notional is not None
        qty = config.order_notional / price
    if config.volatility_size_k and atr is not None:
        qty *= max(MIN_SIZE_FACTOR, ONE - config.volatility_size_k * atr / price)
    return instrument.round_qty(qty)
