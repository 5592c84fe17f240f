"""Reconciler: compare what the exchange holds with what the slot book believes.

A pure comparison. Input: the slots, the exchange's open orders and recent order reports
(both as cumulative ``OrderUpdate`` values) and the exchange position; output: a list of
typed corrections, each with a reason, for the engine to carry out and log. Run it at
startup before trading and periodically.

Rules:

* **Ours or not**: an order is ours when its client order id starts with this bot's and
  symbol's prefix (``{bot_id}-{SYMBOLCODE}-``). Anything else (other bots, manual orders) is
  left alone and only counted.
* **Known orders the book is behind on** (missed acknowledgement, missed fills, a fill after
  a cancel): ``BookUpdate`` with the exchange's report, which carries the real price and fee.
* **Unknown orders of ours**: ``AdoptOrder`` into the slot the id names when the policy is
  ``adopt`` and that slot is free (or does not exist yet); otherwise ``CancelUnknownOrder``.
  An id with our prefix that does not parse is always cancelled, and so is an *orphan*: an
  order the book already closed (a ``FREE`` slot's last order) that still rests on the
  exchange — the book decided its fate, reopening it would undo that.
* **Vanished orders** (a ``PENDING`` or ``LOCKED`` slot whose order is not open on the
  exchange and no terminal report explains it): ``QueryOrder`` by client order id; the
  engine books the answer (filled while offline → the fill with its real price and fee;
  absent → the slot is resolved as absent).
* **Position**: expected = sum of slot positions + ``position_offset`` + the fills the
  corrections above will book. Divergence percent = ``|actual - expected| /
  max(|expected|, |actual|) x 100`` (zero when both are zero). Up to ``max_divergence_pct``:
  ``CorrectPosition``; above: ``Halt``. The check is deferred while any ``QueryOrder`` is
  outstanding (their answers may explain the gap): run the reconciler again after booking.
* **Confirmation**: a divergence is acted on only when it persists. Until
  ``divergence_confirmations`` consecutive checks (``divergent_checks`` earlier ones plus
  this one) have seen one, the verdict is ``SuspectDivergence``: read the exchange again
  and check again. The caller must hand in reads that are consistent with each other (no
  fill landed between the open orders and the balances: see ``market_maker.engine.upkeep``);
  confirmation then covers what a venue's endpoints still disagree on for a moment.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import OrderRole, Side, SlotStatus
from market_maker.domain.errors import ClientOrderIdError
from market_maker.domain.orders import OrderUpdate
from market_maker.risk.config import ReconcilerConfig, UnknownOrderPolicy
from market_maker.slots.client_ids import id_prefix, parse_client_order_id
from market_maker.slots.model import OrderRecord, Slot


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """Apply an exchange report the book has not booked yet (``SlotBook.apply_update``)."""

    level: Decimal
    update: OrderUpdate
    reason: str


@dataclass(frozen=True, slots=True)
class AdoptOrder:
    """Take an unknown order of ours into the slot at ``level`` with the given role."""

    level: Decimal
    side: Side
    role: OrderRole
    generation: int
    update: OrderUpdate
    reason: str


@dataclass(frozen=True, slots=True)
class CancelUnknownOrder:
    """Cancel an order of ours that no slot owns."""

    client_order_id: str
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class QueryOrder:
    """Look up a vanished order by client order id and book the answer."""

    level: Decimal
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class CorrectPosition:
    """Set the book's position to the exchange's (base currency, signed); small divergence."""

    expected: Decimal
    actual: Decimal
    divergence_pct: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class SuspectDivergence:
    """A divergence not yet confirmed: read the exchange again and check again.

    ``seen`` consecutive checks (this one included) found a divergence; ``needed`` must.
    """

    expected: Decimal
    actual: Decimal
    divergence_pct: Decimal
    seen: int
    needed: int
    reason: str


@dataclass(frozen=True, slots=True)
class Halt:
    """Stop trading: the divergence is too large to correct automatically."""

    expected: Decimal
    actual: Decimal
    divergence_pct: Decimal
    reason: str


Correction = (
    BookUpdate
    | AdoptOrder
    | CancelUnknownOrder
    | QueryOrder
    | SuspectDivergence
    | CorrectPosition
    | Halt
)
"""Any correction the reconciler proposes."""


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """The reconciler's verdict.

    Attributes:
        corrections: What to do, in order: book, adopt, cancel, query, then position.
        foreign_orders: Open orders that are not ours (other bots, manual), left alone.
        position_checked: False when no exchange position was given or the check was
            deferred until outstanding queries are booked.
    """

    corrections: tuple[Correction, ...]
    foreign_orders: int
    position_checked: bool

    @property
    def halt(self) -> Halt | None:
        """The halt correction, if the reconciler asks for one."""
        return next((c for c in self.corrections if isinstance(c, Halt)), None)

    @property
    def suspect(self) -> SuspectDivergence | None:
        """The unconfirmed divergence, if the reconciler wants another look."""
        return next((c for c in self.corrections if isinstance(c, SuspectDivergence)), None)


def divergence_pct(expected: Decimal, actual: Decimal) -> Decimal:
    """``|actual - expected| / max(|expected|, |actual|) x 100``; zero when both are zero."""
    scale = max(abs(expected), abs(actual))
    return abs(actual - expected) / scale * 100 if scale else ZERO


def _behind(record: OrderRecord, update: OrderUpdate) -> bool:
    """True when ``update`` tells the book something it has not booked."""
    return (
        update.cum_filled_qty > record.filled_qty
        or update.cum_fee > record.fee
        or record.status is None
        or (update.status.is_terminal and not (record.status and record.status.is_terminal))
    )


def reconcile(
    slots: Mapping[Decimal, Slot],
    *,
    bot_id: str,
    symbol: str,
    open_orders: Sequence[OrderUpdate],
    config: ReconcilerConfig,
    recent_reports: Sequence[OrderUpdate] = (),
    exchange_position: Decimal | None = None,
    position_offset: Decimal = ZERO,
    divergent_checks: int = 0,
) -> ReconcileResult:
    """Compare the exchange with the book and list the corrections (rules in the module doc).

    ``recent_reports`` are the exchange's latest reports of recently filled or closed
    orders; ``position_offset`` is base currency held outside the grid (counted as
    expected); ``divergent_checks`` is how many position checks in a row, just before this
    one, found a divergence.
    """
    prefix = id_prefix(bot_id, symbol)
    latest: dict[str, OrderUpdate] = {}
    for update in [*recent_reports, *open_orders]:
        seen = latest.get(update.client_order_id)
        if seen is None or update.cum_filled_qty >= seen.cum_filled_qty:
            latest[update.client_order_id] = update
    open_ids = frozenset(u.client_order_id for u in open_orders)
    plan = _Plan()
    _compare_orders(plan, slots, latest, open_ids, prefix, config)
    queries = _vanished(slots, latest, open_ids)
    corrections: list[Correction] = [*plan.books, *plan.adopts, *plan.cancels, *queries]
    checked = exchange_position is not None and not queries
    if exchange_position is not None and checked:
        booked = sum((s.position_qty for s in slots.values()), ZERO)
        expected = booked + position_offset + plan.position_delta
        position = _position_correction(expected, exchange_position, config, divergent_checks)
        if position is not None:
            corrections.append(position)
    foreign = sum(1 for u in open_orders if not u.client_order_id.startswith(prefix))
    return ReconcileResult(tuple(corrections), foreign, checked)


@dataclass
class _Plan:
    """Corrections collected while comparing orders, and the fills they will book."""

    books: list[BookUpdate] = field(default_factory=list)
    adopts: list[AdoptOrder] = field(default_factory=list)
    cancels: list[CancelUnknownOrder] = field(default_factory=list)
    position_delta: Decimal = ZERO


def _compare_orders(
    plan: _Plan,
    slots: Mapping[Decimal, Slot],
    latest: Mapping[str, OrderUpdate],
    open_ids: frozenset[str],
    prefix: str,
    config: ReconcilerConfig,
) -> None:
    """Known orders the book is behind on, unknown orders of ours, and orphans."""
    records = {o.client_order_id: s for s in slots.values() if (o := s.order) is not None}
    adopted: set[Decimal] = set()
    for cid in sorted(latest):
        update = latest[cid]
        if not cid.startswith(prefix):
            continue
        slot = records.get(cid)
        if slot is not None:
            record = slot.order
            assert record is not None
            if _behind(record, update):
                plan.books.append(BookUpdate(slot.level, update, _book_reason(record, update)))
                plan.position_delta += update.side.sign * (
                    update.cum_filled_qty - record.filled_qty
                )
            if cid in open_ids and not update.status.is_terminal and slot.active_order is None:
                reason = f"open order {cid} was closed by the book but rests on the exchange"
                plan.cancels.append(CancelUnknownOrder(cid, update.order_id, reason))
        elif cid in open_ids:  # a closed order no slot knows shows in the position check
            adopt = _adoption(slots, update, config, adopted)
            if isinstance(adopt, AdoptOrder):
                plan.adopts.append(adopt)
                adopted.add(adopt.level)
                plan.position_delta += update.side.sign * update.cum_filled_qty
            else:
                plan.cancels.append(CancelUnknownOrder(cid, update.order_id, adopt))


def _vanished(
    slots: Mapping[Decimal, Slot], latest: Mapping[str, OrderUpdate], open_ids: frozenset[str]
) -> list[QueryOrder]:
    """Active orders not open on the exchange and not closed by a known report."""
    queries: list[QueryOrder] = []
    for level in sorted(slots):
        slot = slots[level]
        order = slot.active_order
        if order is None or order.client_order_id in open_ids:
            continue
        report = latest.get(order.client_order_id)
        if report is not None and report.status.is_terminal:
            continue  # its BookUpdate closes it
        what = "pending intent" if slot.status is SlotStatus.PENDING else "resting order"
        queries.append(
            QueryOrder(
                level,
                order.client_order_id,
                f"{what} {order.client_order_id} at level {level} is not open on the exchange: "
                "look it up by client order id and book what happened",
            )
        )
    return queries


def _book_reason(record: OrderRecord, update: OrderUpdate) -> str:
    return (
        f"exchange reports {update.client_order_id} {update.status.value} with "
        f"{update.cum_filled_qty} filled (fee {update.cum_fee}); the book has "
        f"{record.status.value if record.status else 'no status'} with {record.filled_qty} filled"
    )


def _adoption(
    slots: Mapping[Decimal, Slot],
    update: OrderUpdate,
    config: ReconcilerConfig,
    taken: set[Decimal],
) -> AdoptOrder | str:
    """The adoption of an unknown order of ours, or the reason it is cancelled instead."""
    cid = update.client_order_id
    try:
        parts = parse_client_order_id(cid)
    except ClientOrderIdError:
        return f"{cid} carries our prefix but is not a valid client order id of ours"
    if config.unknown_orders is UnknownOrderPolicy.CANCEL:
        return f"open order {cid} (level {parts.level}) is not known to any slot; policy cancel"
    slot = slots.get(parts.level)
    if parts.level in taken or (slot is not None and slot.status is not SlotStatus.FREE):
        return (
            f"open order {cid} names level {parts.level}, whose slot already has an order in "
            "flight: cannot adopt"
        )
    closes = slot is not None and slot.position_qty * parts.side.sign < 0
    role = OrderRole.CLOSE if closes else OrderRole.OPEN
    return AdoptOrder(
        parts.level,
        parts.side,
        role,
        parts.generation,
        update,
        f"open order {cid} is not known to any slot; adopted into level {parts.level} as "
        f"{role.value.lower()} {parts.side.value.lower()}",
    )


def _position_correction(
    expected: Decimal, actual: Decimal, config: ReconcilerConfig, divergent_checks: int
) -> SuspectDivergence | CorrectPosition | Halt | None:
    if actual == expected:
        return None
    pct = divergence_pct(expected, actual)
    numbers = f"exchange position {actual}, book expects {expected} ({pct:.4f}% apart"
    seen, needed = divergent_checks + 1, config.divergence_confirmations
    if seen < needed:
        return SuspectDivergence(
            expected,
            actual,
            pct,
            seen,
            needed,
            f"{numbers}); seen {seen} of the {needed} consecutive times "
            "divergence_confirmations requires: reading the exchange again",
        )
    if pct <= config.max_divergence_pct:
        return CorrectPosition(
            expected,
            actual,
            pct,
            f"{numbers}, within max_divergence_pct {config.max_divergence_pct}): corrected",
        )
    return Halt(
        expected,
        actual,
        pct,
        f"{numbers}, above max_divergence_pct {config.max_divergence_pct}): halting; "
        "check fills and transfers on the exchange, then reset",
    )
