"""The target state: the set of orders that should be resting, each attached to its slot.

``compute_target`` is a pure function of the price, the lattice, the slots and the config.
Engines never place orders from it directly; ``market_maker.strategy.diff`` turns the
difference between target and reality into actions, so restarts, drift and partial fills
converge by themselves.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from market_maker.domain.decimals import ONE, ZERO
from market_maker.domain.enums import GridMode, OrderRole, RiskState, Side, Spacing
from market_maker.domain.instrument import Instrument
from market_maker.slots.model import Slot
from market_maker.strategy.config import GridConfig, HaltedClosingPolicy
from market_maker.strategy.lattice import Lattice
from market_maker.strategy.sizing import order_size


@dataclass(frozen=True, slots=True)
class TargetOrder:
    """One order that should be resting.

    Attributes:
        level: Key of the slot that owns it (for a close: the slot whose position it closes).
        side: Buy or sell.
        role: Opens or closes the slot's position.
        price: Limit price, on the tick.
        qty: Quantity, on the step.
        post_only: Send as post-only.
        reduce_only: Send as reduce-only (closing orders).
    """

    level: Decimal
    side: Side
    role: OrderRole
    price: Decimal
    qty: Decimal
    post_only: bool
    reduce_only: bool


@dataclass(frozen=True, slots=True)
class TargetState:
    """The strategy's decision for one price.

    Attributes:
        price: Market price decided on.
        skewed_price: Price shifted by the inventory skew.
        center: Grid center (a lattice level).
        center_index: Lattice index of the center.
        interval: Effective interval (config unit).
        step: Absolute price distance of one interval at the center.
        orders: Target orders: closes by level, then buys and sells nearest first.
        stable_low: While nothing but the price changes, the target is the same for every
            price strictly between ``stable_low`` and ``stable_high`` (engines skip
            re-deciding there).
        stable_high: See ``stable_low``.
        capped: The exposure cap held back at least one opening level.
    """

    price: Decimal
    skewed_price: Decimal
    center: Decimal
    center_index: int
    interval: Decimal
    step: Decimal
    orders: tuple[TargetOrder, ...]
    stable_low: Decimal
    stable_high: Decimal
    capped: bool = False

    def is_stable_at(self, price: Decimal) -> bool:
        """True when ``price`` gives this same target (all else unchanged)."""
        return self.stable_low < price < self.stable_high


def inventory_ratio(inventory: Decimal, config: GridConfig) -> Decimal:
    """``(inventory - target) / max_inventory`` clamped to [-1, 1]."""
    ratio = (inventory - config.target_inventory) / config.max_inventory
    return max(-ONE, min(ONE, ratio))


def skewed_price(price: Decimal, inventory: Decimal, config: GridConfig) -> Decimal:
    """``price * (1 - skew_factor * inventory_ratio)``: long inventory shifts the grid down."""
    if not config.skew_factor:
        return price
    return price * (ONE - config.skew_factor * inventory_ratio(inventory, config))


_BAND_MARGIN = Decimal("1e-18")
"""Relative shrink of band edges computed by division, so rounding never widens the band."""


class _Band:
    """Open price interval in which the decision is invariant; narrowed as it is computed.

    Also notes whether the exposure cap held a level back (``capped``).
    """

    __slots__ = ("capped", "high", "low")

    def __init__(self, low: Decimal, high: Decimal) -> None:
        self.low, self.high = low, high
        self.capped = False

    def above(self, edge: Decimal) -> None:
        """The price must stay above ``edge``."""
        self.low = max(self.low, edge)

    def below(self, edge: Decimal) -> None:
        """The price must stay below ``edge``."""
        self.high = min(self.high, edge)

    def pin(self, price: Decimal) -> None:
        """No other price gives the same decision: the band becomes empty."""
        self.low = self.high = price


def _center_band(
    lattice: Lattice, center_index: int, price: Decimal, skewed: Decimal, spacing: Spacing
) -> _Band:
    """Prices whose skewed price stays in the center's lattice cell."""
    if spacing is Spacing.ARITHMETIC:
        half = lattice.interval / 2
        center = lattice.level(center_index)
        low, high = center - half, center + half
    else:
        root = (ONE + lattice.interval).sqrt()
        center = lattice.level(center_index)
        low, high = center / root, center * root
    if skewed != price:  # back from skewed price to price: price = skewed / factor
        factor = skewed / price
        low, high = low / factor, high / factor
    if skewed != price or spacing is Spacing.GEOMETRIC:
        low *= ONE + _BAND_MARGIN
        high *= ONE - _BAND_MARGIN
    return _Band(low, high)


@lru_cache(maxsize=16384)
def _take_profit(
    level: Decimal,
    position_qty: Decimal,
    cost_basis: Decimal,
    lattice: Lattice,
    instrument: Instrument,
    post_only: bool,
) -> tuple[Decimal, TargetOrder | None]:
    """The take-profit of a position and the closing order resting there (None for dust).

    Pure and memoised: a position's take-profit only changes when the position or the
    interval does, while decisions come at every move of the grid.
    """
    entry = cost_basis / position_qty
    qty = instrument.round_qty(abs(position_qty))
    if position_qty > 0:
        side, take_profit = Side.SELL, lattice.above(entry)
    else:
        side, take_profit = Side.BUY, lattice.below(entry)
    order_price = instrument.round_price(side, take_profit)
    if order_price <= 0 or not instrument.is_tradeable(order_price, qty):
        return take_profit, None
    return take_profit, TargetOrder(level, side, OrderRole.CLOSE, order_price, qty, post_only, True)


def _closing_order(
    slot: Slot,
    price: Decimal,
    buffer: Decimal,
    lattice: Lattice,
    config: GridConfig,
    instrument: Instrument,
    band: _Band,
) -> TargetOrder | None:
    take_profit, at_take_profit = _take_profit(
        slot.level, slot.position_qty, slot.cost_basis, lattice, instrument, config.post_only
    )
    gap = max(buffer, instrument.tick_size)
    # Never beyond the take-profit, never at or through the market.
    if slot.position_qty > 0:
        if price + gap <= take_profit:
            band.below(take_profit - gap)
            return at_take_profit
        side, raw = Side.SELL, price + gap
    else:
        if price - gap >= take_profit:
            band.above(take_profit + gap)
            return at_take_profit
        side, raw = Side.BUY, price - gap
    band.pin(price)  # the price itself sets the order price: re-decide each time
    qty = instrument.round_qty(abs(slot.position_qty))
    order_price = instrument.round_price(side, raw)
    if order_price <= 0 or not instrument.is_tradeable(order_price, qty):
        return None  # dust: held until a later fill makes it tradeable
    return TargetOrder(slot.level, side, OrderRole.CLOSE, order_price, qty, config.post_only, True)


@dataclass(frozen=True, slots=True)
class _Grid:
    """Inputs shared by both sides of the opening-order walk."""

    price: Decimal
    center_index: int
    buffer: Decimal
    slots: Mapping[Decimal, Slot]
    lattice: Lattice
    config: GridConfig
    instrument: Instrument
    atr: Decimal | None
    band: _Band


@lru_cache(maxsize=8192)
def _window(
    lattice: Lattice, instrument: Instrument, side: Side, center_index: int, window: int
) -> tuple[tuple[Decimal, Decimal], ...]:
    """(slot level, order price) of each level of one side's window, nearest first.

    Pure and memoised: it depends only on the lattice and the center, which stay the same
    for many decisions in a row.
    """
    direction = -side.sign  # buys below the center, sells above
    out: list[tuple[Decimal, Decimal]] = []
    seen: set[Decimal] = set()
    for i in range(1, window + 1):
        raw = lattice.level(center_index + direction * i)
        level = instrument.round_price_nearest(raw)  # the slot key: same for either side
        if level <= 0 or level in seen:
            continue
        seen.add(level)
        out.append((level, instrument.round_price(side, raw)))  # buys down, sells up
    return tuple(out)


def _opening_orders(side: Side, committed: Decimal, grid: _Grid) -> list[TargetOrder]:
    config, instrument, slots, price = grid.config, grid.instrument, grid.slots, grid.price
    window = config.buy_window if side is Side.BUY else config.sell_window
    buffer, band, is_buy = grid.buffer, grid.band, side is Side.BUY
    orders: list[TargetOrder] = []
    for level, order_price in _window(grid.lattice, instrument, side, grid.center_index, window):
        inside_buffer = (price - order_price) * side.sign < buffer
        # Keep the band on this side of the edge, where the level's fate stays the same.
        edge = order_price + buffer if is_buy else order_price - buffer
        if is_buy != inside_buffer:
            band.above(edge)
        else:
            band.below(edge)
        if inside_buffer:
            continue
        slot = slots.get(level)
        existing = None
        if slot is not None:
            if slot.position_qty:
                continue  # the slot's one order is its closing order
            if slot.post_only_fail_count >= config.max_post_only_retries:
                continue
            existing = slot.active_order
        qty = order_size(config, instrument, order_price, grid.atr)
        if not instrument.is_tradeable(order_price, qty):
            continue
        already_counted = (
            existing is not None and existing.role is OrderRole.OPEN and existing.side is side
        )
        if not already_counted:
            if committed + qty > config.max_inventory:
                # Exposure cap. Resting orders are counted as filled until their cancel is
                # confirmed, so a new level may wait one decision while a far one is cancelled.
                band.capped = True
                continue
            committed += qty
        orders.append(
            TargetOrder(level, side, OrderRole.OPEN, order_price, qty, config.post_only, False)
        )
    return orders


def compute_target(
    *,
    price: Decimal,
    interval: Decimal,
    anchor: Decimal,
    slots: Mapping[Decimal, Slot],
    inventory: Decimal,
    config: GridConfig,
    instrument: Instrument,
    risk: RiskState,
    atr: Decimal | None = None,
) -> TargetState:
    """Decide which orders should rest at ``price``.

    Args:
        price: Market price.
        interval: Effective interval (see ``effective_interval``).
        anchor: Lattice origin.
        slots: Current slots by level.
        inventory: Signed total position (sum of the slots' positions).
        config: Strategy parameters.
        instrument: Tick, step and minimums.
        risk: NORMAL places everything; RISK_MODE only closes; HALTED closes per policy.
        atr: Current ATR, for volatility-scaled sizes.
    """
    lattice = Lattice(anchor, interval, config.spacing)
    skewed = skewed_price(price, inventory, config)
    center_index = lattice.nearest_index(skewed)
    center = lattice.level(center_index)
    step = lattice.step(center)
    buffer = config.safety_buffer * step
    band = _center_band(lattice, center_index, price, skewed, config.spacing)

    closes: list[TargetOrder] = []
    if risk is not RiskState.HALTED or config.halted_closing_orders is HaltedClosingPolicy.KEEP:
        for level in sorted(slots):
            slot = slots[level]
            if slot.position_qty:
                order = _closing_order(slot, price, buffer, lattice, config, instrument, band)
                if order is not None:
                    closes.append(order)

    openings: list[TargetOrder] = []
    if risk is RiskState.NORMAL:
        # Worst-case exposure per side: every long (short) slot's position, plus every
        # resting opening buy (sell) filled. Short slots are no headroom for buys: their
        # closing buys may fill first, taking the inventory to zero, not below it.
        long_exposure = short_exposure = ZERO
        for slot in slots.values():
            if slot.position_qty > 0:
                long_exposure += slot.position_qty
            else:
                short_exposure -= slot.position_qty
            resting = slot.active_order
            if resting is not None and resting.role is OrderRole.OPEN:
                if resting.side is Side.BUY:
                    long_exposure += resting.remaining_qty
                else:
                    short_exposure += resting.remaining_qty
        grid = _Grid(price, center_index, buffer, slots, lattice, config, instrument, atr, band)
        if config.mode in (GridMode.LONG, GridMode.NEUTRAL):
            openings += _opening_orders(Side.BUY, long_exposure, grid)
        if config.mode in (GridMode.SHORT, GridMode.NEUTRAL):
            openings += _opening_orders(Side.SELL, short_exposure, grid)

    return TargetState(
        price,
        skewed,
        center,
        center_index,
        interval,
        step,
        (*closes, *openings),
        band.low,
        band.high,
        band.capped,
    )
