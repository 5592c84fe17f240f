"""The target state: the set of orders that should be resting, each attached to its slot.

``compute_target`` is a pure function of the price, the lattice, the slots and the config.
Engines never place orders from it directly; ``market_maker.strategy.diff`` turns the
difference between target and reality into actions, so restarts, drift and partial fills
converge by themselves.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from functools import lru_cache, partial

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
from market_maker.slots.model import OrderRecord, Slot
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


def _cell(lattice: Lattice, center_index: int) -> tuple[Decimal, Decimal, Decimal]:
    """(center, low, high) of the lattice cell around level ``center_index``."""
    center = lattice.level(center_index)
    if lattice.spacing is Spacing.ARITHMETIC:
        half = lattice.interval / 2
        return center, center - half, center + half
    root = (ONE + lattice.interval).sqrt()
    return center, center / root, center * root


def _center_band(
    memo: "StrategyMemo", lattice: Lattice, center_index: int, price: Decimal, skewed: Decimal
) -> Band:
    """Prices whose skewed price stays in the center's lattice cell."""
    _, low, high = memo.cell(lattice, center_index)
    return Band(*_price_edges(low, high, price, skewed, lattice.spacing))


def _price_edges(
    low: Decimal, high: Decimal, price: Decimal, skewed: Decimal, spacing: Spacing
) -> tuple[Decimal, Decimal]:
    """Band edges in skewed-price terms as market prices, never wider than exact."""
    if skewed != price:  # back from skewed price to price: price = skewed / factor
        factor = skewed / price
        low, high = low / factor, high / factor
    if skewed != price or spacing is Spacing.GEOMETRIC:
        low *= ONE + _BAND_MARGIN
        high *= ONE - _BAND_MARGIN
    return low, high


def take_profit_of(
    level: Decimal,
    position_qty: Decimal,
    cost_basis: Decimal,
    lattice: Lattice,
    instrument: Instrument,
    post_only: bool,
    reduce_only: bool = True,
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
    close = TargetOrder(level, side, OrderRole.CLOSE, order_price, qty, post_only, reduce_only)
    return take_profit, close


class ClosePlacement(Enum):
    """Where a slot's closing order rests and what that means for the decision band."""

    AT_TAKE_PROFIT = "at_take_profit"
    """At the take-profit: the same for every price short of ``take_profit -/+ gap``."""
    KEPT = "kept"
    """The market came within the gap of the take-profit and a close already rests at or
    beyond it: it stays where it is, whatever the price does until it fills."""
    FOLLOWS_PRICE = "follows_price"
    """No close rests yet and the market is within the gap of the take-profit: the new
    close goes ``gap`` beyond the market, so the price itself sets it (or it is dust)."""


def closing_order(
    memo: "StrategyMemo",
    slot: Slot,
    price: Decimal,
    gap: Decimal,
    lattice: Lattice,
    instrument: Instrument,
    post_only: bool,
    reduce_only: bool = True,
) -> tuple[TargetOrder | None, Decimal, ClosePlacement]:
    """The closing order of a slot's position at ``price``.

    Returns ``(order, take_profit, placement)``: ``order`` is None for dust. A close rests at
    the take-profit while the market is further than ``gap`` from it. Closer, a close that
    already rests at or beyond the take-profit covering the whole position is kept (an
    order is never moved away because the price came close to it: it is about to fill); a
    new one goes ``gap`` beyond the market, so a post-only close never crosses.
    """
    take_profit, at_take_profit = memo.take_profit(
        slot.level, slot.position_qty, slot.cost_basis, lattice, instrument, post_only, reduce_only
    )
    # Never beyond the take-profit, never at or through the market.
    if slot.position_qty > 0:
        if price + gap <= take_profit:
            return at_take_profit, take_profit, ClosePlacement.AT_TAKE_PROFIT
        side, raw = Side.SELL, price + gap
    else:
        if price - gap >= take_profit:
            return at_take_profit, take_profit, ClosePlacement.AT_TAKE_PROFIT
        side, raw = Side.BUY, price - gap
    qty = instrument.round_qty(abs(slot.position_qty))
    resting = slot.active_order
    if (
        resting is not None
        and resting.role is OrderRole.CLOSE
        and resting.side is side
        and resting.remaining_qty == qty
        and (resting.price >= take_profit if side is Side.SELL else resting.price <= take_profit)
    ):
        kept = TargetOrder(
            slot.level, side, OrderRole.CLOSE, resting.price, qty, post_only, reduce_only
        )
        return kept, take_profit, ClosePlacement.KEPT
    order_price = instrument.round_price(side, raw)
    if order_price <= 0 or not instrument.is_tradeable(order_price, qty):
        # dust: held until a later fill makes it tradeable
        return None, take_profit, ClosePlacement.FOLLOWS_PRICE
    order = TargetOrder(slot.level, side, OrderRole.CLOSE, order_price, qty, post_only, reduce_only)
    return order, take_profit, ClosePlacement.FOLLOWS_PRICE


def close_band(
    band: Band, placement: ClosePlacement, long: bool, take_profit: Decimal, gap: Decimal
) -> None:
    """Narrow ``band`` to the prices that keep a close's ``placement``.

    The placement changes where the market comes within ``gap`` of the take-profit: below
    ``take_profit - gap`` for a long position's close, above ``take_profit + gap`` for a
    short one's.
    """
    if placement is ClosePlacement.FOLLOWS_PRICE:
        band.pin()
        return
    edge = take_profit - gap if long else take_profit + gap
    short_of_it = placement is ClosePlacement.AT_TAKE_PROFIT
    if short_of_it == long:  # the price stays below the edge
        band.below(edge)
    else:
        band.above(edge)


@value
class WindowLevel:
    """One lattice level as an opening order of one side (all that does not depend on slots).

    Attributes:
        index: Lattice index of the level.
        level: Slot key (the level snapped to the nearest tick: the same for either side).
        price: Order price (buys rounded down, sells up).
        edge: Price at which the market comes too close to place an order here (the
            safety buffer, at least a tick, from the order price).
        order: The opening order placed there, or None when it is not tradeable.
    """

    index: int
    level: Decimal
    price: Decimal
    edge: Decimal
    order: TargetOrder | None


def lattice_order(
    lattice: Lattice,
    instrument: Instrument,
    side: Side,
    index: int,
    buffer: Decimal,
    sizing: tuple[GridConfig, Decimal | None],
) -> WindowLevel | None:
    """The opening order of ``side`` at lattice level ``index`` (None: the level is not > 0).

    Pure and memoised: ``sizing`` is the config and the ATR the size depends on (None when
    sizes do not scale with volatility).
    """
    raw = lattice.level(index)
    level = instrument.round_price_nearest(raw)
    if level <= 0:
        return None
    config, atr = sizing
    price = instrument.round_price(side, raw)
    qty = order_size(config, instrument, price, atr)
    order = (
        TargetOrder(level, side, OrderRole.OPEN, price, qty, config.post_only, False)
        if price > 0 and instrument.is_tradeable(price, qty)
        else None
    )
    return WindowLevel(index, level, price, price + side.sign * buffer, order)


def window_levels(
    memo: "StrategyMemo",
    lattice: Lattice,
    instrument: Instrument,
    side: Side,
    first_index: int,
    window: int,
    buffer: Decimal,
    sizing: tuple[GridConfig, Decimal | None],
) -> tuple[WindowLevel, ...]:
    """One side's placing window: ``window`` levels from ``first_index`` away from the price.

    Nearest level first; buys go down from ``first_index``, sells up. Levels at or below
    zero are left out, and so is a level that snaps to the same tick as a nearer one.
    """
    direction = -side.sign  # buys below the price, sells above
    out: list[WindowLevel] = []
    seen: set[Decimal] = set()
    for i in range(window):
        wl = memo.lattice_order(
            lattice, instrument, side, first_index + direction * i, buffer, sizing
        )
        if wl is None or wl.level in seen:
            continue
        seen.add(wl.level)
        out.append(wl)
    return tuple(out)


def window_start(
    memo: "StrategyMemo", lattice: Lattice, side: Side, skewed: Decimal, buffer: Decimal, hint: int
) -> int | None:
    """Index of the first level of ``side``'s placing window, or None when there is none.

    Buys: the highest lattice level at or below ``skewed - buffer``; sells: the lowest at or
    above ``skewed + buffer``. ``buffer`` is the frame's ``gap`` (the safety buffer, at least
    a tick, so that no opening order goes at the price itself). ``hint`` is an index near
    the answer (the center): the search walks from it, a step or two.
    """
    k, level = hint, memo.level
    if side is Side.BUY:
        bound = skewed - buffer
        if bound <= 0:
            return None
        while level(lattice, k) > bound:
            k -= 1
        while level(lattice, k + 1) <= bound:
            k += 1
    else:
        bound = skewed + buffer
        while level(lattice, k) < bound:
            k += 1
        while level(lattice, k - 1) >= bound:
            k -= 1
    return k


def _window_band(
    memo: "StrategyMemo",
    lattice: Lattice,
    side: Side,
    start: int,
    price: Decimal,
    skewed: Decimal,
    gap: Decimal,
    band: Band,
) -> None:
    """Narrow ``band`` to the prices that keep ``start`` as the side's first window level."""
    if side is Side.BUY:  # skewed - gap in [level(start), level(start + 1))
        low = memo.level(lattice, start) + gap
        high = memo.level(lattice, start + 1) + gap
    else:  # skewed + gap in (level(start - 1), level(start)]
        low = memo.level(lattice, start - 1) - gap
        high = memo.level(lattice, start) - gap
    low, high = _price_edges(low, high, price, skewed, lattice.spacing)
    band.above(low)
    band.below(high)


def opening_orders(
    memo: "StrategyMemo",
    side: Side,
    committed: Decimal,
    held: Decimal,
    resting: Iterable[OrderRecord],
    frame: "Frame",
    slots: Mapping[Decimal, Slot],
    config: GridConfig,
    instrument: Instrument,
    atr: Decimal | None,
    band: Band,
    resting_levels: dict[Decimal, tuple[int, WindowLevel | None]] | None = None,
) -> list[TargetOrder]:
    """Opening orders of one side, nearest first: the window's new levels and the kept ones.

    Two rules (see docs/design.md, "Placing and keeping"):

    * **Place** on the window: the ``buy_window`` lattice levels at or below
      ``skewed - buffer`` (sells mirrored), outside the safety buffer of the market price,
      on slots without a position, within the exposure cap.
    * **Keep** a resting opening order of this side until it fills, or until it lies
      further from the price than the window's far end, or the interval changed so that no
      lattice level is within the requote tolerance of it. It is never dropped because the
      price came close to it.

    Args:
        memo: The caller's memo tables.
        side: The side.
        committed: The side's worst-case exposure already taken (positions plus every
            resting opening order): a new level needs headroom above it.
        held: The side's positions alone: kept orders are counted on top of it, nearest
            first, and one that would pass the cap is dropped (a safety net for states the
            strategy did not make, such as an adopted order or a lowered cap).
        resting: The side's active opening orders of slots without a position.
        frame: Where the grid stands.
        slots: Slots by level.
        config: Strategy parameters.
        instrument: Tick, step and minimums.
        atr: Current ATR, for volatility-scaled sizes.
        band: Narrowed to the prices where the result stays the same.
        resting_levels: The lattice level of each resting price seen before, for this
            side, lattice, gap and sizing (the caller clears it when one of them changes);
            None = none.
    """
    window = config.buy_window if side is Side.BUY else config.sell_window
    if not window:
        return []
    lattice = frame.lattice
    if side is frame.main_side:  # found (and kept in the band) by ``frame_at``
        start = frame.main_start
    else:
        start = window_start(memo, lattice, side, frame.skewed, frame.gap, frame.center_index)
        if start is not None:
            _window_band(memo, lattice, side, start, frame.price, frame.skewed, frame.gap, band)
    if start is None:
        return []
    sizing = (config, atr if config.volatility_size_k else None)
    levels = memo.window_levels(lattice, instrument, side, start, window, frame.gap, sizing)
    far = start + (1 - window if side is Side.BUY else window - 1)
    tolerance = config.requote_tolerance
    kept = _kept(memo, resting, side, far, frame, instrument, sizing, tolerance, resting_levels)
    placing = _placing(levels, kept, side, frame.price, slots, config, band)

    max_inventory = config.max_inventory
    orders: list[TargetOrder] = []
    seen: set[Decimal] = set()
    for idx in sorted(kept.keys() | placing.keys(), reverse=side is Side.BUY):  # nearest first
        if idx in kept:
            target, qty = kept[idx]
            if target.level in seen or held + qty > max_inventory:
                continue
            held += qty
        else:
            target = placing[idx]
            if target.level in seen:
                continue
            existing = slots[target.level].active_order if target.level in slots else None
            if existing is None or existing.role is not OrderRole.OPEN or existing.side is not side:
                if committed + target.qty > max_inventory:
                    # Exposure cap. Resting orders are counted as filled until their cancel
                    # is confirmed, so a new level may wait one decision while a far one is
                    # cancelled.
                    band.capped = True
                    continue
                committed += target.qty
        seen.add(target.level)
        orders.append(target)
    return orders


def _kept(
    memo: "StrategyMemo",
    resting: Iterable[OrderRecord],
    side: Side,
    far: int,
    frame: "Frame",
    instrument: Instrument,
    sizing: tuple[GridConfig, Decimal | None],
    requote_tolerance: Decimal,
    resting_levels: dict[Decimal, tuple[int, WindowLevel | None]] | None,
) -> dict[int, tuple[TargetOrder, Decimal]]:
    """The resting orders the keep rule keeps: lattice index -> (target, resting quantity).

    Each resting order is matched to the lattice level nearest to it; it is kept when that
    level is not beyond the window's far end (index ``far``) and its order price is within
    the requote tolerance of the resting price (a changed interval moves the lattice away).
    """
    lattice, is_buy = frame.lattice, side is Side.BUY
    tolerance = requote_tolerance * frame.step
    kept: dict[int, tuple[TargetOrder, Decimal]] = {}
    for order in resting:
        price = order.price
        hit = resting_levels.get(price) if resting_levels is not None else None
        if hit is None:
            k = memo.nearest(lattice, price)
            hit = k, memo.lattice_order(lattice, instrument, side, k, frame.gap, sizing)
            if resting_levels is not None:
                resting_levels[price] = hit
        k, wl = hit
        if (k < far) if is_buy else (k > far):
            continue  # the price moved away from it by more than the window
        if wl is None or wl.order is None or abs(price - wl.price) > tolerance:
            continue
        if k not in kept:
            kept[k] = (wl.order, order.remaining_qty)
    return kept


def _placing(
    levels: tuple[WindowLevel, ...],
    kept: Mapping[int, object],
    side: Side,
    price: Decimal,
    slots: Mapping[Decimal, Slot],
    config: GridConfig,
    band: Band,
) -> dict[int, TargetOrder]:
    """The window levels where a new order may go: lattice index -> its order.

    Leaves out levels inside the safety buffer of the market ``price``, untradeable ones,
    kept ones, slots holding a position (their one order is the close) and slots waiting
    out post-only rejects. Narrows ``band`` to the prices where each level's buffer test
    stays the same.
    """
    is_buy, max_retries = side is Side.BUY, config.max_post_only_retries
    above: Decimal | None = None  # the band stays above every edge on its low side
    below: Decimal | None = None  # and below every edge on its high side
    placing: dict[int, TargetOrder] = {}
    for wl in levels:
        edge = wl.edge
        # Inside the buffer when the market is within ``buffer`` of the order price.
        inside_buffer = price < edge if is_buy else price > edge
        if is_buy != inside_buffer:
            if above is None or edge > above:
                above = edge
        elif below is None or edge < below:
            below = edge
        if inside_buffer or wl.order is None or wl.index in kept:
            continue
        slot = slots.get(wl.level)
        if slot is not None and (
            slot.position_qty  # the slot's one order is its closing order
            or slot.post_only_fail_count >= max_retries
        ):
            continue
        placing[wl.index] = wl.order
    if above is not None:
        band.above(above)
    if below is not None:
        band.below(below)
    return placing


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
        gap: Smallest distance of a new order from the market (buffer, at least a tick).
        main_side: The side the center follows (sells for a short grid, buys otherwise).
        main_start: Index of ``main_side``'s first placing-window level (None: no level
            on that side of the price); the band already keeps it.
    """

    price: Decimal
    skewed: Decimal
    lattice: Lattice
    center_index: int
    center: Decimal
    step: Decimal
    buffer: Decimal
    gap: Decimal
    main_side: Side
    main_start: int | None


def frame_at(
    price: Decimal,
    interval: Decimal,
    anchor: Decimal,
    inventory: Decimal,
    config: GridConfig,
    instrument: Instrument,
    memo: "StrategyMemo | None" = None,
) -> tuple[Frame, Band]:
    """The frame at ``price`` and the band of prices that keep its center (and step).

    The center is the level next to the first opening level of the grid's main side: one
    above the buy window's first level (one below the sell window's for a short grid). It
    moves exactly when that window does. With geometric spacing the step (and so the
    buffer) is taken at the level nearest the skewed price, so the band also keeps that
    level; with arithmetic spacing the step is the interval everywhere.
    """
    memo = memo or StrategyMemo()
    lattice = memo.lattice(anchor, interval, config.spacing)
    skewed = skewed_price(price, inventory, config)
    nearest = lattice.nearest_index(skewed)
    if lattice.spacing is Spacing.ARITHMETIC:
        step = interval
        band = Band(_NO_LOW, _NO_HIGH)
    else:
        step = lattice.step(memo.cell(lattice, nearest)[0])
        band = _center_band(memo, lattice, nearest, price, skewed)
    buffer = config.safety_buffer * step
    gap = max(buffer, instrument.tick_size)
    side = Side.SELL if config.mode is GridMode.SHORT else Side.BUY
    start = window_start(memo, lattice, side, skewed, gap, nearest)
    if start is None:  # no level below the price: a degenerate grid, decided every time
        center_index = nearest
        band.pin()
    else:
        center_index = start + 1 if side is Side.BUY else start - 1
        _window_band(memo, lattice, side, start, price, skewed, gap, band)
    center = memo.level(lattice, center_index)
    frame = Frame(price, skewed, lattice, center_index, center, step, buffer, gap, side, start)
    return frame, band


_NO_LOW = Decimal("-Infinity")
_NO_HIGH = Decimal("Infinity")


def closes_reduce_only(config: GridConfig) -> bool:
    """Closing orders are reduce-only, except in neutral mode.

    A neutral grid holds long and short slots at once; on a netting account a long slot's
    closing sell while the net position is short would increase it, and a venue that
    enforces reduce-only (Binance: -2022) would reject it every time.
    """
    return config.mode is not GridMode.NEUTRAL


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
    slot: Slot, price: Decimal, gap: Decimal, instrument: Instrument, reduce_only: bool = True
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
    return TargetOrder(slot.level, side, OrderRole.CLOSE, order_price, qty, False, reduce_only)


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
    memo: "StrategyMemo | None" = None,
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
        memo: Memo tables to reuse (a caller deciding often keeps one); None: fresh ones.
    """
    memo = memo or StrategyMemo()
    frame, band = frame_at(price, interval, anchor, inventory, config, instrument, memo)
    reduce_only = closes_reduce_only(config)

    closes: list[TargetOrder] = []
    if flattening(risk, config):
        for level in sorted(slots):
            slot = slots[level]
            if slot.position_qty:
                band.pin()  # the price sets every order price
                flat = flatten_order(slot, price, frame.gap, instrument, reduce_only)
                if flat is not None:
                    closes.append(flat)
    elif closes_enabled(risk, config):
        for level in sorted(slots):
            slot = slots[level]
            if slot.position_qty:
                order, take_profit, placement = closing_order(
                    memo,
                    slot,
                    price,
                    frame.gap,
                    frame.lattice,
                    instrument,
                    config.post_only,
                    reduce_only,
                )
                close_band(band, placement, slot.position_qty > 0, take_profit, frame.gap)
                if order is not None:
                    closes.append(order)

    per_side: list[list[TargetOrder]] = []
    sides = opening_sides(risk, config)
    if sides:
        long_held, short_held = holdings(slots.values())
        long_exposure, short_exposure = exposures(slots.values())
        for side in sides:
            is_buy = side is Side.BUY
            per_side.append(
                opening_orders(
                    memo,
                    side,
                    long_exposure if is_buy else short_exposure,
                    long_held if is_buy else short_held,
                    resting_openings(slots.values(), side),
                    frame,
                    slots,
                    config,
                    instrument,
                    atr,
                    band,
                )
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


def holdings(slots: Iterable[Slot]) -> tuple[Decimal, Decimal]:
    """The (long, short) positions held, each as a non-negative quantity."""
    long_held = short_held = ZERO
    for slot in slots:
        if slot.position_qty > 0:
            long_held += slot.position_qty
        else:
            short_held -= slot.position_qty
    return long_held, short_held


def resting_openings(slots: Iterable[Slot], side: Side) -> list[OrderRecord]:
    """The active opening orders of ``side`` on slots without a position."""
    out: list[OrderRecord] = []
    for slot in slots:
        order = slot.active_order
        if (
            order is not None
            and not slot.position_qty
            and order.role is OrderRole.OPEN
            and order.side is side
        ):
            out.append(order)
    return out


def exposures(slots: Iterable[Slot]) -> tuple[Decimal, Decimal]:
    """Worst-case (long, short) exposure: positions plus every resting opening order filled.

    Short slots are no headroom for buys: their closing buys may fill first, taking the
    inventory to zero, not below it (and the same the other way).
    """
    slots = list(slots)
    long_exposure, short_exposure = holdings(slots)
    for slot in slots:
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


class StrategyMemo:
    """The strategy's memo tables, owned by whoever decides (a ``Planner`` keeps one).

    Every table is bounded (least recently used entries go) and keyed by the objects the
    result depends on. Lattices are made here, one per *way of writing* anchor and
    interval: ``Decimal("100.00")`` and ``Decimal("100")`` are equal and hash alike, but
    give different lattices (levels written with different exponents), so a table keyed by
    value would answer for the other; ``Lattice`` equality is representation-sensitive and
    so are these keys.
    """

    LATTICES = 1024
    """Lattices kept at most (a new one is made when the interval or anchor changes)."""

    def __init__(self) -> None:
        self._lattices: dict[tuple[str, str, Spacing], Lattice] = {}
        self._last: Lattice | None = None  # the lattice asked for last
        self.level = lru_cache(maxsize=65536)(Lattice.level)
        """Level ``index`` of a lattice."""
        self.nearest = lru_cache(maxsize=65536)(Lattice.nearest_index)
        """Index of the lattice level nearest a price."""
        self.cell = lru_cache(maxsize=8192)(_cell)
        """(center, low, high) of the lattice cell around a level."""
        self.take_profit = lru_cache(maxsize=16384)(take_profit_of)
        """A position's take-profit and its closing order (``take_profit_of``)."""
        self.lattice_order = lru_cache(maxsize=16384)(lattice_order)
        """The opening order at one lattice level (``lattice_order``)."""
        self.window_levels = lru_cache(maxsize=8192)(partial(window_levels, self))
        """One side's placing window (``window_levels``)."""

    def lattice(self, anchor: Decimal, interval: Decimal, spacing: Spacing) -> Lattice:
        """The lattice of ``anchor``, ``interval`` and ``spacing``, one object per writing."""
        last = self._last
        if (
            last is not None
            and anchor is last.anchor
            and interval is last.interval
            and spacing is last.spacing
        ):
            return last  # the same objects as last time (most decisions): no text to make
        self._last = self._lattice(anchor, interval, spacing)
        return self._last

    def _lattice(self, anchor: Decimal, interval: Decimal, spacing: Spacing) -> Lattice:
        key = (str(anchor), str(interval), spacing)
        found = self._lattices.get(key)
        if found is None:
            if len(self._lattices) >= self.LATTICES:
                self._lattices.clear()
            found = self._lattices[key] = Lattice(anchor, interval, spacing)
        return found
