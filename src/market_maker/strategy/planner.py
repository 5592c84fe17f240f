"""Incremental decisions: exactly ``decide``'s result, at a cost that follows what changed.

``compute_target`` and ``diff_target`` walk every slot. A grid that has bought its way down
a falling market holds hundreds of positions, each with a closing order that nothing but a
fill of its own changes; re-deriving all of them whenever the grid moves one level puts the
cost of a decision in the holdings instead of in the order traffic.

The planner keeps, for each slot, its closing order and what the diff makes of it (nothing,
a stale order to cancel, an order to place), and re-examines only

* slots the book reports changed since the last decision (``SlotBook.take_changes``), and
* slots whose market is within the gap of their take-profit ("pinned"): a new close there
  follows the price, a resting one is kept; take-profits are kept sorted, so these are
  found by bisection, and the nearest unpinned take-profit bounds the decision's stable
  band.

Anything that moves every closing order at once (anchor, interval, the risk state turning
closes on or off, another book) rebuilds the whole state. A change of the gap or of the
requote tolerance (geometric grids change both with the center) re-examines only the
pinned slots and those whose resting close differs from its target in price. Opening
orders depend on the placing window and the resting opening orders only, and are derived
afresh each decision from the memoised window. A property test checks the planner against
the reference functions over random books and prices; a whole-backtest test checks
identical fills.
"""

from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import OrderRole, RiskState, Side
from market_maker.domain.instrument import Instrument
from market_maker.slots.book import SlotBook
from market_maker.slots.model import OrderRecord, Slot
from market_maker.strategy.config import GridConfig
from market_maker.strategy.decide import Decision, decide
from market_maker.strategy.diff import DiffResult, build_actions, close_work, match_openings
from market_maker.strategy.interval import effective_interval
from market_maker.strategy.target import (
    Band,
    ClosePlacement,
    Frame,
    StrategyMemo,
    TargetOrder,
    WindowLevel,
    close_band,
    closes_enabled,
    closes_reduce_only,
    closing_order,
    flattening,
    frame_at,
    limit_openings,
    opening_orders,
    opening_sides,
    target_state,
)

_AFTER_ALL = Decimal("Infinity")
"""Sorts after every level: ``(tp, _AFTER_ALL)`` follows every entry with take-profit ``tp``."""


_SIDES = (Side.BUY, Side.SELL)

_MEMO_BOUND = 4096
"""Resting prices the planner remembers the lattice level of before it starts afresh."""


class Planner:
    """Decides like ``market_maker.strategy.decide.decide`` for one book, incrementally.

    Not thread-safe. Holds derived state only: dropping a planner (or handing it another
    book) costs one full rebuild, never a different decision.
    """

    def __init__(self, config: GridConfig, instrument: Instrument) -> None:
        self.config = config
        self.instrument = instrument
        self._book: SlotBook | None = None
        self._key: tuple[object, ...] | None = None
        self._reduce_only = closes_reduce_only(config)
        self.memo = StrategyMemo()
        """The strategy's memo tables: this planner's own, never shared."""
        # The lattice level of each resting opening price, per side, for one lattice, gap
        # and sizing (``_levels_key``); cleared when the key changes or it grows past a bound.
        self._resting_levels: dict[Side, dict[Decimal, tuple[int, WindowLevel | None]]] = {
            Side.BUY: {},
            Side.SELL: {},
        }
        self._levels_key: tuple[object, ...] | None = None
        self._clear()

    def _clear(self) -> None:
        self._closes: dict[Decimal, TargetOrder] = {}  # level -> target close (not dust)
        self._closes_sorted: tuple[TargetOrder, ...] | None = ()  # None: rebuild
        self._tp: dict[Decimal, tuple[Decimal, bool]] = {}  # level -> (take-profit, long)
        self._long_tp: list[tuple[Decimal, Decimal]] = []  # (take-profit, level), sorted
        self._short_tp: list[tuple[Decimal, Decimal]] = []
        self._pinned: set[Decimal] = set()
        self._stale: dict[Decimal, OrderRecord] = {}  # level -> close order to cancel
        self._place: dict[Decimal, TargetOrder] = {}  # level -> close to place
        self._opening: dict[Decimal, OrderRecord] = {}  # level -> active opening order
        self._position: dict[Decimal, Decimal] = {}  # level -> non-zero position
        self._long_pos = ZERO
        self._short_pos = ZERO
        self._tolerance: Decimal | None = None  # requote tolerance of the last decision
        # Levels whose resting close differs in price from its target: what the diff makes
        # of them depends on the tolerance (geometric grids change it with the center).
        self._inexact: set[Decimal] = set()

    def decide(
        self,
        *,
        price: Decimal,
        book: SlotBook,
        risk: RiskState = RiskState.NORMAL,
        anchor: Decimal | None = None,
        previous_center: Decimal | None = None,
        atr: Decimal | None = None,
        baseline_atr: Decimal | None = None,
        max_open_orders: int = 0,
    ) -> Decision:
        """Same arguments and result as ``decide`` (config and instrument are the planner's)."""
        config, instrument = self.config, self.instrument
        if flattening(risk, config):  # rare, and every close follows the price: no state
            self._book = None
            return decide(
                price=price,
                book=book,
                config=config,
                instrument=instrument,
                risk=risk,
                anchor=anchor,
                previous_center=previous_center,
                atr=atr,
                baseline_atr=baseline_atr,
                max_open_orders=max_open_orders,
            )
        if anchor is None:
            anchor = instrument.round_price_nearest(price)
        if baseline_atr is None:
            baseline_atr = config.baseline_atr
        interval = effective_interval(config, atr, baseline_atr)
        frame, band = frame_at(
            price, interval, anchor, book.inventory, config, instrument, self.memo
        )
        tolerance = config.requote_tolerance * frame.step
        enabled = closes_enabled(risk, config)
        key = (str(anchor), str(interval), enabled)  # as written: see ``StrategyMemo``
        if book is not self._book or key != self._key:
            self._clear()
            self._book, self._key = book, key
            book.take_changes()
            changed: set[Decimal] = set(book.slots)
        else:
            changed = book.take_changes()
        rejudge = set(self._inexact) if tolerance != self._tolerance else set()
        self._tolerance = tolerance
        slots = book.slots
        for level in changed:
            self._index(level, slots.get(level), frame, enabled)

        # Closing orders within the gap of the market follow the price.
        gap = frame.gap
        n_long = bisect_left(self._long_tp, (price + gap,))
        n_short = bisect_right(self._short_tp, (price - gap, _AFTER_ALL))
        pinned = {level for _, level in self._long_tp[:n_long]}
        pinned.update(level for _, level in self._short_tp[n_short:])
        for level in rejudge | changed | self._pinned | pinned:
            placement = self._judge(level, slots.get(level), frame, enabled, tolerance)
            if level in pinned:
                take_profit, long = self._tp[level]
                close_band(band, placement, long, take_profit, gap)
        self._pinned = pinned
        if n_long < len(self._long_tp):
            band.below(self._long_tp[n_long][0] - gap)
        if n_short:
            band.above(self._short_tp[n_short - 1][0] + gap)

        openings = limit_openings(
            self._openings(frame, slots, risk, atr, band), max_open_orders, len(self._closes)
        )
        diff = self._diff(openings, book, price, tolerance)
        if self._closes_sorted is None:
            self._closes_sorted = tuple(self._closes[level] for level in sorted(self._closes))
        target = target_state(frame, interval, self._closes_sorted, tuple(openings), band)
        return Decision(
            anchor,
            target,
            tuple(diff.actions),
            previous_center is not None and previous_center != target.center,
            complete=diff.complete and not target.capped,
        )

    def _openings(
        self,
        frame: Frame,
        slots: Mapping[Decimal, Slot],
        risk: RiskState,
        atr: Decimal | None,
        band: Band,
    ) -> list[list[TargetOrder]]:
        """Opening orders of each side, with the exposure taken from the running sums."""
        openings: list[list[TargetOrder]] = []
        sides = opening_sides(risk, self.config)
        if not sides:
            return openings
        long_exposure, short_exposure = self._long_pos, self._short_pos
        resting: dict[Side, list[OrderRecord]] = {Side.BUY: [], Side.SELL: []}
        position = self._position
        for level, order in self._opening.items():
            if order.side is Side.BUY:
                long_exposure += order.remaining_qty
            else:
                short_exposure += order.remaining_qty
            if level not in position:
                resting[order.side].append(order)
        key = (frame.lattice, frame.gap, atr if self.config.volatility_size_k else None)
        memo = self._resting_levels
        if key != self._levels_key or len(memo[Side.BUY]) + len(memo[Side.SELL]) > _MEMO_BOUND:
            self._levels_key = key
            memo[Side.BUY].clear()
            memo[Side.SELL].clear()
        for side in sides:
            is_buy = side is Side.BUY
            openings.append(
                opening_orders(
                    self.memo,
                    side,
                    long_exposure if is_buy else short_exposure,
                    self._long_pos if is_buy else self._short_pos,
                    resting[side],
                    frame,
                    slots,
                    self.config,
                    self.instrument,
                    atr,
                    band,
                    memo[side],
                )
            )
        return openings

    def _diff(
        self, openings: list[TargetOrder], book: SlotBook, price: Decimal, tolerance: Decimal
    ) -> DiffResult:
        """The actions: the kept close work plus the opening diff."""
        stale = list(self._stale.values())
        to_place = [self._place[level] for level in sorted(self._place)]
        targets: dict[Side, list[TargetOrder]] = {Side.BUY: [], Side.SELL: []}
        resting: dict[Side, list[OrderRecord]] = {Side.BUY: [], Side.SELL: []}
        for target in openings:
            targets[target.side].append(target)
        for level in sorted(self._opening):
            order = self._opening[level]
            resting[order.side].append(order)
        for side in _SIDES:
            if targets[side] or resting[side]:
                unmatched, leftover = match_openings(targets[side], resting[side], tolerance)
                to_place += unmatched
                stale += leftover
        return build_actions(
            stale,
            to_place,
            book.slots,
            price=price,
            bot_id=book.bot_id,
            symbol=book.symbol,
            next_generation=book.order_seq + 1,
        )

    def _index(self, level: Decimal, slot: Slot | None, frame: Frame, enabled: bool) -> None:
        """Refresh the position sums, opening-order index and take-profit order of a slot."""
        old = self._position.pop(level, ZERO)
        if old > 0:
            self._long_pos -= old
        elif old < 0:
            self._short_pos += old
        position = slot.position_qty if slot is not None else ZERO
        if position:
            self._position[level] = position
            if position > 0:
                self._long_pos += position
            else:
                self._short_pos -= position

        order = slot.active_order if slot is not None else None
        if order is not None and order.role is OrderRole.OPEN:
            self._opening[level] = order
        else:
            self._opening.pop(level, None)

        held = self._tp.pop(level, None)
        if held is not None:
            tps = self._long_tp if held[1] else self._short_tp
            del tps[bisect_left(tps, (held[0], level))]
        if slot is not None and position and enabled:
            take_profit, _ = self.memo.take_profit(
                level,
                position,
                slot.cost_basis,
                frame.lattice,
                self.instrument,
                self.config.post_only,
                self._reduce_only,
            )
            self._tp[level] = (take_profit, position > 0)
            insort(self._long_tp if position > 0 else self._short_tp, (take_profit, level))

    def _judge(
        self,
        level: Decimal,
        slot: Slot | None,
        frame: Frame,
        enabled: bool,
        tolerance: Decimal,
    ) -> ClosePlacement:
        """Recompute a slot's closing order and what the diff makes of it.

        Returns where the close rests (``AT_TAKE_PROFIT`` when the slot has none).
        """
        close: TargetOrder | None = None
        placement = ClosePlacement.AT_TAKE_PROFIT
        if slot is not None and slot.position_qty and enabled:
            close, _, placement = closing_order(
                self.memo,
                slot,
                frame.price,
                frame.gap,
                frame.lattice,
                self.instrument,
                self.config.post_only,
                self._reduce_only,
            )
        if self._closes.get(level) != close:
            self._closes_sorted = None
            if close is None:
                del self._closes[level]
            else:
                self._closes[level] = close
        order = slot.active_order if slot is not None else None
        if (
            order is not None
            and close is not None
            and order.role is OrderRole.CLOSE
            and order.price != close.price
        ):
            self._inexact.add(level)
        else:
            self._inexact.discard(level)
        stale, place = close_work(close, order, tolerance)
        if stale is None:
            self._stale.pop(level, None)
        else:
            self._stale[level] = stale
        if place is None:
            self._place.pop(level, None)
        else:
            self._place[level] = place
        return placement
