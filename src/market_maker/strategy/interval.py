"""Effective grid interval: the base interval, optionally scaled by volatility."""

from decimal import Decimal

from market_maker.strategy.config import GridConfig


def effective_interval(
    config: GridConfig, atr: Decimal | None, baseline_atr: Decimal | None
) -> Decimal:
    """``clamp(base * volatility_scale * atr / baseline_atr, min, max)``, or ``base``.

    The base interval applies when dynamic interval is off or before both the ATR and its
    baseline are known. The result is in the config's unit (quote currency for arithmetic
    spacing, a fraction of price for geometric).
    """
    if not config.dynamic_interval or atr is None or not baseline_atr:
        return config.base_interval
    interval = config.base_interval * config.volatility_scale * atr / baseline_atr
    if config.min_interval is not None:
        interval = max(interval, config.min_interval)
    if config.max_interval is not None:
        interval = min(interval, config.max_interval)
    return interval
