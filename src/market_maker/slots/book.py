"""The slot book: every slot of one bot on one symbol, and every order they sent.

The book is the single writer of slot state. It is deterministic and performs no I/O; an
engine feeds it intents (before the exchange call), order updates and lookup results, and
persists it. Booking is keyed by cumulative figures, so duplicate, stale and reordered
updates are harmless and any permutation of the same updates ends in the same book.
"""

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import Liquidity, OrderRole, OrderStatus, Side, SlotStatus
from market_maker.domain.errors import ClientOrderIdError, MarketMakerError
from market_maker.domain.orders import OrderAction, OrderUpdate
from market_maker.domain.values import value
from market_maker.slots.accounting import book_fill
from market_maker.slots.client_ids import id_prefix, parse_client_order_id
from market_maker.slots.machine import STATUS_EVENT, SlotEvent, transition
from market_maker.slots.model import OrderRecord, Slot

DEFAULT_RETIRED_LIMIT = 256
"""How many finished orders the book remembers for late updates (oldest forgotten first).

Late reports arrive within seconds; a report for an order older than this is treated as
unknown and goes to reconciliation. Every checkpoint serialises these records, so the limit
also bounds the cost of a save."""

_RANK = {
    OrderStatus.NEW: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELED: 3,
    OrderStatus.REJECTED: 3,
    OrderStatus.EXPIRED: 3,
}


class InvalidOrderUpdateError(MarketMakerError, ValueError):
    """An order update contradicts itself (a bug in the exchange adapter, not market noise)."""


@value
class BookedFill:
    """A fill delta the book booked: one row of the fill ledger.

    Attributes:
        ts_ms: Event time of the update that carried it.
        level: Slot that owns the order.
        client_order_id: Order id.
        side: Buy or sell.
        qty: Quantity booked (delta of the cumulative filled quantity).
        quote: Quote value booked (delta of the cumulative quote quantity).
        fee: Fee booked (delta of the cumulative fee), in quote currency.
        realized_pnl: PnL this fill realised, before fees.
        liquidity: Maker or taker, when the exchange said.
        trade_id: Exchange trade id, when known.
    """

    ts_ms: int
    level: Decimal
    client_order_id: str
    side: Side
    qty: Decimal
    quote: Decimal
    fee: Decimal
    realized_pnl: Decimal
    liquidity: Liquidity | None
    trade_id: str

    @property
    def price(self) -> Decimal:
        """Average price of the booked quantity."""
        return self.quote / self.qty if self.qty else ZERO


@value
class UpdateResult:
    """What applying one order update did.

    Attributes:
        fills: Fill deltas booked (empty for duplicates and stale updates).
        event: Slot event applied, or ``None`` when the slot's status did not move.
        level: The slot concerned, or ``None`` for an unknown order.
        unknown: The order is not in the book; it is handed to reconciliation.
        orphan: The exchange reports an order alive that the book had closed
            (e.g. looked up as absent); reconciliation must cancel or adopt it.
    """

    fills: tuple[BookedFill, ...] = ()
    event: SlotEvent | None = None
    level: Decimal | None = None
    unknown: bool = False
    orphan: bool = False


def _evolve(
    slot: Slot,
    status: SlotStatus,
    order: OrderRecord | None,
    *,
    generation: int | None = None,
    fail_count: int | None = None,
) -> Slot:
    """``slot`` with a new status and order (a direct constructor call: cheaper than replace)."""
    return Slot(
        slot.level,
        status,
        slot.position_qty,
        slot.cost_basis,
        slot.realized_pnl,
        slot.fees_paid,
        slot.generation if generation is None else generation,
        slot.post_only_fail_count if fail_count is None else fail_count,
        order,
    )


def _cancel_flag(order: OrderRecord, requested: bool) -> OrderRecord:
    """``order`` with ``cancel_requested`` set."""
    return OrderRecord(
        order.client_order_id,
        order.level,
        order.side,
        order.role,
        order.price,
        order.qty,
        order.generation,
        order.order_id,
        order.status,
        order.filled_qty,
        order.filled_quote,
        order.fee,
        requested,
        order.post_only,
        order.reduce_only,
        order.reject_reason,
        order.placed_ms,
    )


def _merge_status(
    current: OrderStatus | None, reported: OrderStatus, filled: Decimal, qty: Decimal
) -> OrderStatus:
    """Status after a report: never regresses; a terminal status sticks; full means FILLED."""
    if filled >= qty:
        return OrderStatus.FILLED
    if current is None or _RANK[reported] > _RANK[current]:
        return reported
    return current


class SlotBook:
    """All slots of one bot on one symbol, their orders and the running totals."""

    def __init__(
        self,
        bot_id: str,
        symbol: str,
        *,
        slots: Iterable[Slot] = (),
        retired: Iterable[OrderRecord] = (),
        order_seq: int = 0,
        realized_pnl: Decimal = ZERO,
        fees_paid: Decimal = ZERO,
        retired_limit: int = DEFAULT_RETIRED_LIMIT,
    ) -> None:
        self.bot_id = bot_id
        self.symbol = symbol
        self.prefix = id_prefix(bot_id, symbol)
        self.order_seq = order_seq
        self.realized_pnl = realized_pnl
        self.fees_paid = fees_paid
        self.retired_limit = retired_limit
        self.slots: dict[Decimal, Slot] = {}
        self._held: dict[str, Decimal] = {}
        self._changed: set[Decimal] = set()  # for the planner
        self._unsaved: set[Decimal] = set()  # for row-based stores
        self._unsaved_retired: list[str] = []
        self._prunable: set[Decimal] = set()  # FREE, empty, not waiting out rejects
        self._failing: set[Decimal] = set()  # waiting out post-only rejects
        self.inventory = ZERO
        self.cost_basis = ZERO  # sum of the slots' cost bases: unrealised PnL in O(1)
        for slot in slots:
            self._put(slot)
            self.inventory += slot.position_qty
            self.cost_basis += slot.cost_basis
        self.retired: OrderedDict[str, OrderRecord] = OrderedDict(
            (r.client_order_id, r) for r in retired
        )

    # -- queries -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Slot]:
        return iter(self.slots.values())

    def __len__(self) -> int:
        return len(self.slots)

    def get(self, level: Decimal) -> Slot | None:
        """The slot at ``level``, if the book has one."""
        return self.slots.get(level)

    def find_order(self, client_order_id: str) -> OrderRecord | None:
        """The record of one of our orders, current or retired."""
        level = self._held.get(client_order_id)
        if level is not None:
            return self.slots[level].order
        return self.retired.get(client_order_id)

    def active_orders(self) -> list[OrderRecord]:
        """Orders in flight (PENDING or LOCKED slots)."""
        return [o for s in self.slots.values() if (o := s.active_order) is not None]

    def pending(self) -> list[Slot]:
        """Slots whose order outcome is unknown; resolve them by client order id lookup."""
        return [s for s in self.slots.values() if s.status is SlotStatus.PENDING]

    def is_ours(self, client_order_id: str) -> bool:
        """True when an id carries this bot's and symbol's prefix."""
        return client_order_id.startswith(self.prefix)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """Mark-to-market PnL of all positions at ``mark`` (O(1): running totals)."""
        return self.inventory * mark - self.cost_basis

    def take_unsaved(self) -> tuple[set[Decimal], list[str]]:
        """Levels changed and order ids retired since the last call (for row-based stores).

        Independent of ``take_changes``; clears its own record.
        """
        levels, self._unsaved = self._unsaved, set()
        retired, self._unsaved_retired = self._unsaved_retired, []
        return levels, retired

    def take_changes(self) -> set[Decimal]:
        """Levels whose slot changed (or went) since the last call; clears the record.

        Lets a planner keep derived state incrementally. Change slots only through the
        book's commands, or the record misses it.
        """
        changed, self._changed = self._changed, set()
        return changed

    # -- commands ------------------------------------------------------------------------

    def record_intent(self, action: OrderAction, ts_ms: int = 0) -> Slot:
        """Write-ahead: mark the slot PENDING with the order about to be sent at ``ts_ms``.

        Must be persisted before the exchange call, so a crash at any point leaves a record
        of every id that may have reached the exchange.
        """
        request = action.place
        if request is None:
            raise ValueError("record_intent takes a PLACE action")
        generation = action.generation
        if generation is None:
            generation = parse_client_order_id(request.client_order_id).generation
        if generation <= self.order_seq:
            raise ClientOrderIdError(
                f"order {request.client_order_id} has generation {generation}, but the book "
                f"already used {self.order_seq}: ids must never be reused"
            )
        slot = self.slots.get(action.slot_level) or Slot(level=action.slot_level)
        status = transition(slot.status, SlotEvent.SEND)
        if slot.order is not None:
            self._retire(slot.order)
        role = OrderRole.CLOSE if slot.position_qty * request.side.sign < 0 else OrderRole.OPEN
        record = OrderRecord(
            client_order_id=request.client_order_id,
            level=action.slot_level,
            side=request.side,
            role=role,
            price=request.price,
            qty=request.qty,
            generation=generation,
            post_only=request.post_only,
            reduce_only=request.reduce_only,
            placed_ms=ts_ms,
        )
        self.order_seq = generation
        slot = _evolve(slot, status, record, generation=generation)
        self._put(slot)
        return slot

    def record_cancel_sent(self, level: Decimal) -> Slot:
        """Note that a cancel of the slot's order was sent (so it is not sent every tick)."""
        slot = self.slots[level]
        status = transition(slot.status, SlotEvent.CANCEL_SENT)
        assert slot.order is not None
        slot = _evolve(slot, status, _cancel_flag(slot.order, True))
        self._put(slot)
        return slot

    def record_cancel_failed(self, level: Decimal) -> Slot:
        """A cancel could not be sent (timeout, rate limit): let the next decision resend it."""
        slot = self.slots[level]
        if slot.order is None or not slot.order.cancel_requested:
            return slot
        slot = _evolve(slot, slot.status, _cancel_flag(slot.order, False))
        self._put(slot)
        return slot

    def resolve_absent(self, client_order_id: str) -> Slot:
        """A PENDING order looked up by client order id does not exist: free the slot."""
        return self._close_pending(client_order_id, SlotEvent.RESOLVED_ABSENT, "absent on lookup")

    def release(self, level: Decimal, reason: str) -> Slot:
        """Operator action: free a stuck slot whose order was checked by hand on the exchange."""
        slot = self.slots[level]
        if slot.order is None:
            raise ValueError(f"slot {level} has no order to release")
        return self._close_pending(slot.order.client_order_id, SlotEvent.RELEASE, reason)

    def apply_update(self, update: OrderUpdate) -> UpdateResult:
        """Apply one exchange order update. Idempotent and order-independent."""
        cid = update.client_order_id
        level = self._held.get(cid)
        record = self.slots[level].order if level is not None else self.retired.get(cid)
        if record is None:
            return UpdateResult(unknown=True)
        self._check(update, record)
        slot = self.slots.get(record.level) or Slot(level=record.level)
        fills: tuple[BookedFill, ...] = ()
        filled_qty, filled_quote, fee = record.filled_qty, record.filled_quote, record.fee
        if update.cum_filled_qty > filled_qty or (
            update.cum_filled_qty == filled_qty and update.cum_fee > fee
        ):
            dqty = update.cum_filled_qty - filled_qty
            dquote = update.cum_quote_qty - filled_quote
            dfee = update.cum_fee - fee
            cost_before = slot.cost_basis
            slot, realized = book_fill(slot, record.side, dqty, dquote, dfee)
            self.inventory += record.side.sign * dqty
            self.cost_basis += slot.cost_basis - cost_before
            self.realized_pnl += realized
            self.fees_paid += dfee
            filled_qty, filled_quote, fee = (
                update.cum_filled_qty,
                update.cum_quote_qty,
                update.cum_fee,
            )
            fills = (
                BookedFill(
                    update.ts_ms,
                    record.level,
                    cid,
                    record.side,
                    dqty,
                    dquote,
                    dfee,
                    realized,
                    update.liquidity,
                    update.trade_id,
                ),
            )
        was_active = record.is_active
        new_status = _merge_status(record.status, update.status, filled_qty, record.qty)
        record = OrderRecord(
            cid,
            record.level,
            record.side,
            record.role,
            record.price,
            record.qty,
            record.generation,
            record.order_id or update.order_id,
            new_status,
            filled_qty,
            filled_quote,
            fee,
            record.cancel_requested,
            record.post_only,
            record.reduce_only,
            update.reject_reason or record.reject_reason,
            record.placed_ms,
        )
        event: SlotEvent | None = None
        orphan = False
        if level is not None and was_active:
            event = STATUS_EVENT[new_status]
            fail_count = slot.post_only_fail_count
            if event is SlotEvent.REJECT and update.post_only_reject:
                fail_count += 1
            elif event in (SlotEvent.ACK, SlotEvent.PARTIAL_FILL, SlotEvent.FILL):
                fail_count = 0
            slot = _evolve(slot, transition(slot.status, event), record, fail_count=fail_count)
        elif level is not None:
            slot = _evolve(slot, slot.status, record)
        else:
            self.retired[cid] = record
            self._note_retired(cid)
            orphan = not update.status.is_terminal and record.reject_reason == "absent on lookup"
        self._put(slot)
        return UpdateResult(fills=fills, event=event, level=record.level, orphan=orphan)

    def adopt(self, update: OrderUpdate, role: OrderRole, generation: int) -> Slot:
        """Take an open order of ours that no slot knows into the slot its id names.

        The reconciler proposes this for orders sent before a crash whose intent was lost.
        The slot must be free; the order is recorded as sent (the slot goes ``PENDING``), and
        the caller then books the exchange's report (``update``) like any other, so its
        fills reach everything that watches fills. Generations stay unique: the book's
        sequence moves past the adopted one.
        """
        level = parse_client_order_id(update.client_order_id).level
        slot = self.slots.get(level) or Slot(level=level)
        status = transition(slot.status, SlotEvent.SEND)
        if slot.order is not None:
            self._retire(slot.order)
        record = OrderRecord(
            client_order_id=update.client_order_id,
            level=level,
            side=update.side,
            role=role,
            price=update.price,
            qty=update.qty,
            generation=generation,
            post_only=True,
            reduce_only=role is OrderRole.CLOSE,
            placed_ms=update.ts_ms,
        )
        self.order_seq = max(self.order_seq, generation)
        slot = _evolve(slot, status, record, generation=generation)
        self._put(slot)
        return slot

    def reset_post_only_failures(self) -> int:
        """Let slots that gave up after post-only rejects try again; returns how many."""
        stuck = sorted(self._failing)
        for level in stuck:
            self._put(replace(self.slots[level], post_only_fail_count=0))
        return len(stuck)

    def prune(self, keep: Iterable[Decimal] = ()) -> int:
        """Drop FREE slots with no position (their history lives in the retired orders).

        Levels in ``keep`` stay, and so do slots waiting out post-only rejects. Returns how
        many slots were dropped.
        """
        drop = sorted(self._prunable.difference(keep))
        for level in drop:
            slot = self.slots.pop(level)
            if slot.order is not None:
                self._retire(slot.order)
            self._changed.add(level)
            self._unsaved.add(level)
        self._prunable.difference_update(drop)
        return len(drop)

    # -- internals -----------------------------------------------------------------------

    def _put(self, slot: Slot) -> None:
        level = slot.level
        self.slots[level] = slot
        self._changed.add(level)
        self._unsaved.add(level)
        if slot.post_only_fail_count:
            self._failing.add(level)
            self._prunable.discard(level)
        else:
            self._failing.discard(level)
            if slot.status is SlotStatus.FREE and not slot.position_qty:
                self._prunable.add(level)
            else:
                self._prunable.discard(level)
        if slot.order is not None:
            # A FREE slot's last order stays findable through the slot until it is retired.
            self._held[slot.order.client_order_id] = slot.level

    def _retire(self, record: OrderRecord) -> None:
        self._held.pop(record.client_order_id, None)
        self.retired[record.client_order_id] = record
        while len(self.retired) > self.retired_limit:
            self.retired.popitem(last=False)
        self._note_retired(record.client_order_id)

    def _note_retired(self, client_order_id: str) -> None:
        """Record a retirement for ``take_unsaved``, bounded when nobody takes them.

        Only ids still among ``retired`` can be saved (the record is gone otherwise), so
        the list is cut down to those when it reaches twice the retired limit: an engine
        whose store never calls ``take_unsaved`` keeps at most that many.
        """
        unsaved = self._unsaved_retired
        unsaved.append(client_order_id)
        if len(unsaved) > 2 * self.retired_limit:
            kept = self.retired
            self._unsaved_retired = [c for c in dict.fromkeys(unsaved) if c in kept]

    def _close_pending(self, client_order_id: str, event: SlotEvent, reason: str) -> Slot:
        level = self._held.get(client_order_id)
        if level is None:
            raise KeyError(f"no slot holds order {client_order_id}")
        slot = self.slots[level]
        status = transition(slot.status, event)
        assert slot.order is not None
        record = replace(
            slot.order,
            status=slot.order.status
            if slot.order.status is not None and slot.order.status.is_terminal
            else OrderStatus.REJECTED,
            reject_reason=reason,
        )
        slot = replace(slot, status=status, order=record)
        self._put(slot)
        self._retire(record)
        slot = replace(slot, order=None)
        self._put(slot)
        return slot

    @staticmethod
    def _check(update: OrderUpdate, record: OrderRecord) -> None:
        if update.side is not record.side:
            raise InvalidOrderUpdateError(
                f"update for {update.client_order_id} says {update.side.value}, "
                f"the order was sent as {record.side.value}"
            )
        if update.cum_filled_qty > record.qty:
            raise InvalidOrderUpdateError(
                f"update for {update.client_order_id} reports {update.cum_filled_qty} filled "
                f"of an order for {record.qty}"
            )
        if update.cum_filled_qty > 0 and update.cum_quote_qty <= 0:
            raise InvalidOrderUpdateError(
                f"update for {update.client_order_id} reports a fill without its quote value "
                "(cum_quote_qty); the exchange adapter must supply it"
            )
