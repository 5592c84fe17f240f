"""The target state: the set of orders that should be resting, each attached to its slot.

``compute_target`` is a pure function of the price, the lattice, the slots and the config.
Engines never place orders from it directly; ``market_maker.strategy.diff`` turns the
difference between target and reality into actions, so restarts, drift and partial fills
converge by themselves.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from market_maker.domain.decimals import ONE, ZERO
from market_maker.domain.enums import GridMode, OrderRole, RiskState, Side
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
    """

    price: Decimal
    skewed_price: Decimal
    center: Decimal
    center_index: int
    interval: Decimal
    step: Decimal
    orders: tuple[TargetOrder, ...]


def inventory_ratio(inventory: Decimal, config: GridConfig) -> Decimal:
    """``(inventory - target) / max_inventory`` clamped to [-1, 1]."""
    ratio = (inventory - config.target_inventory) / config.max_inventory
    return max(-ONE, min(ONE, ratio))


def skewed_price(price: Decimal, inventory: Decimal, config: GridConfig) -> Decimal:
    """``price * (1 - skew_factor * inventory_ratio)``: long inventory shifts the grid down."""
    if not config.skew_factor:
        return price
    return price * (ONE - config.skew_factor * inventory_ratio(inventory, config))


def _closing_order(
    slot: Slot,
    price: Decimal,
    buffer: Decimal,
    lattice: Lattice,
    config: GridConfig,
    instrument: Instrument,
) -> TargetOrder | None:
    entry = slot.entry_price
    assert entry is not None
    qty = instrument.round_qty(abs(slot.position_qty))
    if slot.position_qty > 0:
        side = Side.SELL
        # Never below the take-profit, never at or through the market.
        raw = max(lattice.above(entry), price + max(buffer, instrument.tick_size))
    else:
        side = Side.BUY
        raw = min(lattice.below(entry), price - max(buffer, instrument.tick_size))
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


def _opening_orders(side: Side, committed: Decimal, grid: _Grid) -> list[TargetOrder]:
    config, instrument, slots, price = grid.config, grid.instrument, grid.slots, grid.price
    window = config.buy_window if side is Side.BUY else config.sell_window
    direction = -side.sign  # buys below the center, sells above
    orders: list[TargetOrder] = []
    seen: set[Decimal] = set()
    for i in range(1, window + 1):
        raw = grid.lattice.level(grid.center_index + direction * i)
        level = instrument.round_price_nearest(raw)  # the slot key: same for either side
        if level <= 0 or level in seen:
            continue
        seen.add(level)
        order_price = instrument.round_price(side, raw)  # buys down, sells up: never crosses
        if (price - order_price) * side.sign < grid.buffer:
            continue  # inside the safety buffer
        slot = slots.get(level)
        existing = slot.active_order if slot is not None else None
        if slot is not None:
            if slot.position_qty:
                continue  # the slot's one order is its closing order
            if slot.post_only_fail_count >= config.max_post_only_retries:
                continue
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
    buffer = config.safety_buffer * lattice.step(price)

    closes: list[TargetOrder] = []
    if risk is not RiskState.HALTED or config.halted_closing_orders is HaltedClosingPolicy.KEEP:
        for level in sorted(slots):
            slot = slots[level]
            if slot.position_qty:
                order = _closing_order(slot, price, buffer, lattice, config, instrument)
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
        grid = _Grid(price, center_index, buffer, slots, lattice, config, instrument, atr)
        if config.mode in (GridMode.LONG, GridMode.NEUTRAL):
            openings += _opening_orders(Side.BUY, long_exposure, grid)
        if config.mode in (GridMode.SHORT, GridMode.NEUTRAL):
            openings += _opening_orders(Side.SELL, short_exposure, grid)

    return TargetState(price, skewed, center, center_index, interval, step, (*closes, *openings))
