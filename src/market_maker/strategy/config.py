"""Validated, frozen configuration of the grid strategy.

Every field has a one-line meaning and its unit. Defaults are conservative starting values;
the operations guide lists recommended values per asset class.
"""

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from market_maker.domain.enums import GridMode, HaltedClosingPolicy, Spacing
from market_maker.indicators.atr import AtrMethod


class GridConfig(BaseModel):
    """Parameters of the grid strategy."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    mode: GridMode = Field(GridMode.LONG, description="Grid direction: long, short or neutral.")
    spacing: Spacing = Field(
        Spacing.ARITHMETIC,
        description="arithmetic: levels a fixed price apart; geometric: a fixed ratio apart.",
    )
    base_interval: Decimal = Field(
        Decimal(100),
        gt=0,
        description="Distance between levels: quote currency (arithmetic) or a fraction of "
        "price (geometric, 0.005 = 0.5%).",
    )
    min_interval: Decimal | None = Field(
        None, gt=0, description="Lower clamp of the dynamic interval (same unit); none = no clamp."
    )
    max_interval: Decimal | None = Field(
        None, gt=0, description="Upper clamp of the dynamic interval (same unit); none = no clamp."
    )
    dynamic_interval: bool = Field(
        False, description="Scale the interval with volatility (ATR / baseline ATR)."
    )
    volatility_scale: Decimal = Field(
        Decimal(1), gt=0, description="Multiplier on ATR / baseline ATR for the dynamic interval."
    )
    atr_window: int = Field(14, ge=1, le=10_000, description="Candles averaged into the ATR.")
    atr_method: AtrMethod = Field(
        AtrMethod.SIMPLE, description="ATR averaging: simple mean or Wilder smoothing."
    )
    baseline_atr: Decimal | None = Field(
        None,
        gt=0,
        description="ATR at which the interval equals base_interval (quote currency); "
        "none = the first complete ATR measured.",
    )
    buy_window: int = Field(
        10,
        ge=0,
        le=500,
        description="Number of lattice levels below the price (at least the safety buffer "
        "away) that get new buys; a resting buy stays until it fills or the price rises "
        "more than this many levels away from it.",
    )
    sell_window: int = Field(
        10,
        ge=0,
        le=500,
        description="Number of lattice levels above the price (at least the safety buffer "
        "away) that get new sells; a resting sell stays until it fills or the price falls "
        "more than this many levels away from it.",
    )
    order_qty: Decimal | None = Field(
        None, gt=0, description="Fixed order size per level, in base currency."
    )
    order_notional: Decimal | None = Field(
        None, gt=0, description="Fixed order value per level, in quote currency."
    )
    volatility_size_k: Decimal = Field(
        Decimal(0),
        ge=0,
        description="Shrink order size with volatility: qty * max(0.1, 1 - k * ATR / price); "
        "0 = off.",
    )
    max_inventory: Decimal = Field(
        gt=0,
        description="Largest absolute position, in base currency, counting resting opening "
        "orders as if filled.",
    )
    target_inventory: Decimal = Field(
        Decimal(0), description="Position the skew steers towards, in base currency (signed)."
    )
    skew_factor: Decimal = Field(
        Decimal(0),
        ge=0,
        lt=1,
        description="How far inventory shifts the grid: price * (1 - skew_factor * ratio).",
    )
    safety_buffer: Decimal = Field(
        Decimal("0.1"),
        ge=0,
        lt=1,
        description="Minimum distance of a new opening order from the price, as a fraction of "
        "the interval (at least one tick); an order already resting stays however close the "
        "price comes.",
    )
    requote_tolerance: Decimal = Field(
        Decimal("0.25"),
        ge=0,
        lt=1,
        description="Keep a resting order within this fraction of the interval of its target "
        "price instead of replacing it.",
    )
    post_only: bool = Field(True, description="Send grid orders as post-only (maker only).")
    max_post_only_retries: int = Field(
        3,
        ge=1,
        description="Consecutive post-only rejects after which a slot waits for the grid "
        "center (the placing window) to move before trying again.",
    )
    halted_closing_orders: HaltedClosingPolicy = Field(
        HaltedClosingPolicy.KEEP,
        description="Closing orders while HALTED: keep, cancel, or flatten at market.",
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if (self.order_qty is None) == (self.order_notional is None):
            raise ValueError(
                "set exactly one of order_qty (base currency per level) or order_notional "
                "(quote currency per level)"
            )
        if self.min_interval is not None and self.min_interval > self.base_interval:
            raise ValueError(
                f"min_interval ({self.min_interval}) must not exceed base_interval "
                f"({self.base_interval})"
            )
        if self.max_interval is not None and self.max_interval < self.base_interval:
            raise ValueError(
                f"max_interval ({self.max_interval}) must not be below base_interval "
                f"({self.base_interval})"
            )
        if self.spacing is Spacing.GEOMETRIC and self.base_interval >= 1:
            raise ValueError(
                f"with geometric spacing base_interval is a fraction of price (0.005 = 0.5%); "
                f"{self.base_interval} is 100% or more"
            )
        if abs(self.target_inventory) >= self.max_inventory:
            raise ValueError(
                f"target_inventory ({self.target_inventory}) must lie strictly inside "
                f"max_inventory ({self.max_inventory})"
            )
        return self
