"""The target state: the set of orders that should be resting, each attached to its slot.

``compute_target`` is a pure function of the price, the lattice, the slots and the config.
Engines never place orders from it directly; ``market_maker.strategy.diff`` turns the
difference between target and reality into actions, so restarts, drift and partial fills
converge by themselves.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache

from market_maker.domain.decimals import ONE, ZERO
from market_maker.domain.enums import (
    GridMode,
    HaltedClosingPolicy,
    OrderRole,
    RiskState,
    Side,
    Spacing,
)
from market_maker.domain.instrument import Instrument
from market_maker.domain.values import value
from market_maker.slots.model import Slot
from market_maker.strategy.config import GridConfig
from market_maker.strategy.lattice import Lattice
from market_maker.strategy.sizing import order_size


@value
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


@value
class TargetState:
    """The strategy's decision for one price.

    Attributes:
        price: Market price decided on.
        skewed_price: Price shifted by the inventory skew.
        center: Grid center (a lattice level).
        center_index: Lattice index of the center.
        interval: Effective interval (config unit).
        step: Absolute price distance of one interval at the center.
        closes: Closing orders, by slot level.
        openings: Opening orders: buys, then sells, nearest first.
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
    closes: tuple[TargetOrder, ...]
    openings: tuple[TargetOrder, ...]
    stable_low: Decimal
    stable_high: Decimal
    capped: bool = False

    @property
    def orders(self) -> tuple[TargetOrder, ...]:
        """All target orders: closes, then openings."""
        return self.closes + self.openings

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


class Band:
    """Open price interval in which the decision is invariant; narrowed as it is computed.

    Also notes whether the exposure cap held a level back (``capped``).
    """

    __slots__ = ("capped", "high", "low", "pinned")

    def __init__(self, low: Decimal, high: Decimal) -> None:
        self.low, self.high = low, high
        self.capped = False
        self.pinned = False

    def above(self, edge: Decimal) -> None:
        """The price must stay above ``edge``."""
        self.low = max(self.low, edge)

    def below(self, edge: Decimal) -> None:
        """The price must stay below ``edge``."""
        self.high = min(self.high, edge)

    def pin(self) -> None:
        """No other price gives the same decision: the band is empty whatever else holds."""
        self.pinned = True

    def edges(self, price: Decimal) -> tuple[Decimal, Decimal]:
        """Final (low, high); ``(price, price)`` when pinned."""
        return (price, price) if self.pinned else (self.low, self.high)


@lru_cache(maxsize=8192)
def _cell(lattice: Lattice, center_index: int) -> tuple[Decimal, Decimal, Decimal]:
    """(center, low, high) of the lattice cell around level ``center_index``."""
    center = lattice.level(center_index)
    if lattice.spacing is Spacing.ARITHMETIC:
        half = lattice.interval / 2
        return center, center - half, center + half
    root = (ONE + lattice.interval).sqrt()
    return center, center / root, center * root


def _center_band(lattice: Lattice, center_index: int, price: Decimal, skewed: Decimal) -> Band:
    """Prices whose skewed price stays in the center's lattice cell."""
    _, low, high = _cell(lattice, center_index)
    if skewed != price:  # back from skewed price to price: price = skewed / factor
        factor = skewed / price
        low, high = low / factor, high / factor
    if skewed != price or lattice.spacing is Spacing.GEOMETRIC:
        low *= ONE + _BAND_MARGIN
        high *= ONE - _BAND_MARGIN
    return Band(low, high)


@lru_cache(maxsize=1024)
def _lattice(anchor: Decimal, interval: Decimal, spacing: Spacing) -> Lattice:
    return Lattice(anchor, interval, spacing)


@lru_cache(maxsize=16384)
def take_profit_of(
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


def closing_order(
    slot: Slot,
    price: Decimal,
    gap: Decimal,
    lattice: Lattice,
    instrument: Instrument,
    post_only: bool,
) -> tuple[TargetOrder | None, Decimal, bool]:
    """The closing order of a slot's position at ``price``.

    Returns ``(order, take_profit, pinned)``: ``order`` is None for dust; ``pinned`` means
    the price itself set the order price (the market is within ``gap`` of the take-profit),
    so the decision must be taken again at every price. Otherwise the order rests at the
    take-profit for every price on this side of ``take_profit -/+ gap``.
    """
    take_profit, at_take_profit = take_profit_of(
        slot.level, slot.position_qty, slot.cost_basis, lattice, instrument, post_only
    )
    # Never beyond the take-profit, never at or through the market.
    if slot.position_qty > 0:
        if price + gap <= take_profit:
            return at_take_profit, take_profit, False
        side, raw = Side.SELL, price + gap
    else:
        if price - gap >= take_profit:
            return at_take_profit, take_profit, False
        side, raw = Side.BUY, price - gap
    qty = instrument.round_qty(abs(slot.position_qty))
    order_price = instrument.round_price(side, raw)
    if order_price <= 0 or not instrument.is_tradeable(order_price, qty):
        return None, take_profit, True  # dust: held until a later fill makes it tradeable
    order = TargetOrder(slot.level, side, OrderRole.CLOSE, order_price, qty, post_only, True)
    return order, take_profit, True


@value
class WindowLevel:
    """One level of one side's opening window (everything that does not depend on slots).

    Attributes:
        level: Slot key (the level snapped to the nearest tick: the same for either side).
        price: Order price (buys rounded down, sells up).
        edge: Price at which the level enters the safety buffer.
        order: The opening order placed there, or None when it is not tradeable.
    """

    level: Decimal
    price: Decimal
    edge: Decimal
    order: TargetOrder | None


@lru_cache(maxsize=8192)
def window_levels(
    lattice: Lattice,
    instrument: Instrument,
    side: Side,
    center_index: int,
    window: int,
    buffer: Decimal,
    sizing: tuple[GridConfig, Decimal | None],
) -> tuple[WindowLevel, ...]:
    """One side's window around the center, nearest level first.

    Pure and memoised: it depends only on the lattice, the center and the sizing, which
    stay the same for many decisions in a row. ``sizing`` is the config and the ATR the
    size depends on (None when sizes do not scale with volatility).
    """
    config, atr = sizing
    direction = -side.sign  # buys below the center, sells above
    out: list[WindowLevel] = []
    seen: set[Decimal] = set()
    for i in range(1, window + 1):
        raw = lattice.level(center_index + direction * i)
        level = instrument.round_price_nearest(raw)
        if level <= 0 or level in seen:
            continue
        seen.add(level)
        price = instrument.round_price(side, raw)
        qty = order_size(config, instrument, price, atr)
        order = (
            TargetOrder(level, side, OrderRole.OPEN, price, qty, config.post_only, False)
            if instrument.is_tradeable(price, qty)
            else None
        )
        out.append(WindowLevel(level, price, price + side.sign * buffer, order))
    return tuple(out)


def opening_orders(
    side: Side,
    committed: Decimal,
    frame: "Frame",
    slots: Mapping[Decimal, Slot],
    config: GridConfig,
    instrument: Instrument,
    atr: Decimal | None,
    band: Band,
) -> list[TargetOrder]:
    """Opening orders of one side, nearest first, within the exposure cap.

    ``committed`` is the side's worst-case exposure already taken (positions plus resting
    opening orders). Narrows ``band`` to the prices where each level's fate stays the same.
    """
    window = config.buy_window if side is Side.BUY else config.sell_window
    sizing = (config, atr if config.volatility_size_k else None)
    levels = window_levels(
        frame.lattice, instrument, side, frame.center_index, window, frame.buffer, sizing
    )
    price, is_buy, max_inventory = frame.price, side is Side.BUY, config.max_inventory
    max_retries = config.max_post_only_retries
    above: Decimal | None = None  # the band stays above every edge on its low side
    below: Decimal | None = None  # and below every edge on its high side
    orders: list[TargetOrder] = []
    for wl in levels:
        edge = wl.edge
        # Inside the buffer when the market is within ``buffer`` of the order price.
        inside_buffer = price < edge if is_buy else price > edge
        if is_buy != inside_buffer:
            if above is None or edge > above:
                above = edge
        elif below is None or edge < below:
            below = edge
        if inside_buffer or wl.order is None:
            continue
        slot = slots.get(wl.level)
        existing = None
        if slot is not None:
            if slot.position_qty:
                continue  # the slot's one order is its closing order
            if slot.post_only_fail_count >= max_retries:
                continue
            existing = slot.active_order
        if existing is None or existing.role is not OrderRole.OPEN or existing.side is not side:
            qty = wl.order.qty
            if committed + qty > max_inventory:
                # Exposure cap. Resting orders are counted as filled until their cancel is
                # confirmed, so a new level may wait one decision while a far one is cancelled.
                band.capped = True
                continue
            committed += qty
        orders.append(wl.order)
    if above is not None:
        band.above(above)
    if below is not None:
        band.below(below)
    return orders


@value
class Frame:
    """Where the grid stands at one price: lattice, center and the distances derived from it.

    Attributes:
        price: Market price.
        skewed: Price shifted by the inventory skew.
        lattice: The lattice (anchor, interval, spacing).
        center_index: Lattice index of the center.
        center: Center level.
        step: Absolute price distance of one interval at the center.
        buffer: Safety buffer (absolute price distance).
        gap: Smallest distance of a closing order from the market (buffer, at least a tick).
    """

    price: Decimal
    skewed: Decimal
    lattice: Lattice
    center_index: int
    center: Decimal
    step: Decimal
    buffer: Decimal
    gap: Decimal


def frame_at(
    price: Decimal,
    interval: Decimal,
    anchor: Decimal,
    inventory: Decimal,
    config: GridConfig,
    instrument: Instrument,
) -> tuple[Frame, Band]:
    """The frame at ``price`` and the band of prices that keep its center."""
    lattice = _lattice(anchor, interval, config.spacing)
    skewed = skewed_price(price, inventory, config)
    center_index = lattice.nearest_index(skewed)
    center = _cell(lattice, center_index)[0]
    step = lattice.step(center)
    buffer = config.safety_buffer * step
    gap = max(buffer, instrument.tick_size)
    band = _center_band(lattice, center_index, price, skewed)
    return Frame(price, skewed, lattice, center_index, center, step, buffer, gap), band


def closes_enabled(risk: RiskState, config: GridConfig) -> bool:
    """Closing orders rest unless the breaker is open with the CANCEL policy."""
    return (
        risk is not RiskState.HALTED
        or config.halted_closing_orders is not HaltedClosingPolicy.CANCEL
    )


def flattening(risk: RiskState, config: GridConfig) -> bool:
    """The breaker is open with the FLATTEN policy: positions close at the market."""
    return risk is RiskState.HALTED and config.halted_closing_orders is HaltedClosingPolicy.FLATTEN


def flatten_order(
    slot: Slot, price: Decimal, gap: Decimal, instrument: Instrument
) -> TargetOrder | None:
    """A marketable reduce-only limit closing the slot's whole position.

    Priced ``gap`` through the market (a sell below it, a buy above), so it takes liquidity
    at once but never trades further than the safety buffer from the decision price. None
    for dust.
    """
    if slot.position_qty > 0:
        side, raw = Side.SELL, price - gap
    else:
        side, raw = Side.BUY, price + gap
    qty = instrument.round_qty(abs(slot.position_qty))
    order_price = instrument.round_price(side, raw)
    if order_price <= 0 or not instrument.is_tradeable(order_price, qty):
        return None
    return TargetOrder(slot.level, side, OrderRole.CLOSE, order_price, qty, False, True)


def opening_sides(risk: RiskState, config: GridConfig) -> tuple[Side, ...]:
    """Sides that place opening orders (none outside NORMAL)."""
    if risk is not RiskState.NORMAL:
        return ()
    if config.mode is GridMode.LONG:
        return (Side.BUY,)
    if config.mode is GridMode.SHORT:
        return (Side.SELL,)
    return (Side.BUY, Side.SELL)


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
    max_open_orders: int = 0,
) -> TargetState:
    """Decide which orders should rest at ``price``.

    The reference definition of the target: it walks every slot. Engines use
    ``market_maker.strategy.planner.Planner``, which maintains the same result incrementally.

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
        max_open_orders: Cap on resting orders (see ``limit_openings``); 0 = none.
    """
    frame, band = frame_at(price, interval, anchor, inventory, config, instrument)

    closes: list[TargetOrder] = []
    if flattening(risk, config):
        for level in sorted(slots):
            slot = slots[level]
            if slot.position_qty:
                band.pin()  # the price sets every order price
                if (flat := flatten_order(slot, price, frame.gap, instrument)) is not None:
                    closes.append(flat)
    elif closes_enabled(risk, config):
        for level in sorted(slots):
            slot = slots[level]
            if slot.position_qty:
                order, take_profit, pinned = closing_order(
                    slot, price, frame.gap, frame.lattice, instrument, config.post_only
                )
                if pinned:
                    band.pin()
                elif slot.position_qty > 0:
                    band.below(take_profit - frame.gap)
                else:
                    band.above(take_profit + frame.gap)
                if order is not None:
                    closes.append(order)

    per_side: list[list[TargetOrder]] = []
    sides = opening_sides(risk, config)
    if sides:
        long_exposure, short_exposure = exposures(slots.values())
        for side in sides:
            committed = long_exposure if side is Side.BUY else short_exposure
            per_side.append(
                opening_orders(side, committed, frame, slots, config, instrument, atr, band)
            )
    openings = limit_openings(per_side, max_open_orders, len(closes))
    return target_state(frame, interval, tuple(closes), tuple(openings), band)


def limit_openings(
    per_side: list[list[TargetOrder]], max_open_orders: int, closes: int
) -> list[TargetOrder]:
    """Keep at most ``max_open_orders - closes`` opening orders, nearest first per side.

    ``per_side`` lists each side's openings nearest first. With two sides the budget is
    split evenly (an odd one goes to the first side). ``max_open_orders`` 0 = no limit.
    Closing orders are never limited here: they protect positions.
    """
    if not max_open_orders:
        return [order for side in per_side for order in side]
    budget = max(0, max_open_orders - closes)
    n = len(per_side)
    kept: list[TargetOrder] = []
    for i, orders in enumerate(per_side):
        kept += orders[: budget // n + (1 if i < budget % n else 0)]
    return kept


def exposures(slots: Iterable[Slot]) -> tuple[Decimal, Decimal]:
    """Worst-case (long, short) exposure: positions plus every resting opening order filled.

    Short slots are no headroom for buys: their closing buys may fill first, taking the
    inventory to zero, not below it (and the same the other way).
    """
    long_exposure = short_exposure = ZERO
    for slot in slots:
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
    return long_exposure, short_exposure


def target_state(
    frame: Frame,
    interval: Decimal,
    closes: tuple[TargetOrder, ...],
    openings: tuple[TargetOrder, ...],
    band: Band,
) -> TargetState:
    """Assemble the target state from its parts."""
    low, high = band.edges(frame.price)
    return TargetState(
        frame.price,
        frame.skewed,
        frame.center,
        frame.center_index,
        interval,
        frame.step,
        closes,
        openings,
        low,
        high,
        band.capped,
    )
