"""The DBOS workflows of the Durable engine.

* ``mm_decision_cycle(actions)``: a decision with actions, id ``{prefix}cycle-{version}``.
  Steps: record every intent (write-ahead: slots go ``PENDING``, cancels are marked sent),
  one step per exchange call (a place first looks the order up by client order id, so an
  order the exchange already accepted is bound, never sent twice); then the body books
  the reports.
* ``mm_order_update(update)``: one exchange report, id derived from the report (order,
  cumulative filled quantity, status), so a duplicate delivery is a no-op. The body books
  the report.

Intents and reports are each written in one database transaction: the state change and
its rows commit together. Both run at least once: a crash after the commit and before
DBOS recorded what followed re-runs them on recovery. That is safe because each operation
is idempotent by itself (an intent whose client order id the book knows is not recorded
again; a cancel already marked sent stays so; reports book cumulative figures, so a report
booked once books nothing more). Recording intents is a step because the exchange calls
after it must replay, not re-run; booking is each workflow's last operation, so it runs in
the body: a step's checkpoint there would cost two statements and a commit and guarantee
nothing more. (A DBOS datasource transaction would make either exactly-once, at five more
statements and two more commits; idempotency makes that unnecessary.)

DBOS is a process-wide singleton: ``register`` defines the functions once per DBOS
instance, bound to the engine that runs them.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from dbos import DBOS

from market_maker.domain.enums import SlotStatus
from market_maker.domain.orders import ActionKind, OrderAction, OrderUpdate
from market_maker.durable import faults
from market_maker.durable.table_store import write
from market_maker.exchanges.base import RetryableExchangeError
from market_maker.slots.book import BookedFill

if TYPE_CHECKING:
    from market_maker.durable.engine import DurableEngine


@dataclass(frozen=True, slots=True)
class Workflows:
    """The registered functions: the workflows and their two transactions.

    Call a workflow inside ``SetWorkflowID``. The transactions (the intents step and the
    booking the workflow bodies run) are exposed so that tests can run them again, as a
    recovery does after a crash between their commit and DBOS's next record.
    """

    decision_cycle: Callable[[list[OrderAction]], list[tuple[OrderUpdate | None, bool]]]
    order_update: Callable[[OrderUpdate], list[BookedFill]]
    record_intents: Callable[[list[OrderAction]], None]
    book_reports: Callable[[list[OrderUpdate], list[str]], list[BookedFill]]


def register(db: sa.Engine, engine: "DurableEngine") -> Workflows:
    """Define and register the workflows for ``engine`` (before ``DBOS.launch``)."""

    @DBOS.step(name="mm_record_intents")
    def record_intents(actions: list[OrderAction]) -> None:
        with engine.lock, db.begin() as conn:
            _record_intents(conn, actions)
        faults.point("intents-committed")

    def _record_intents(conn: sa.Connection, actions: list[OrderAction]) -> None:
        state = engine.state
        book = state.book
        for action in actions:
            cid = action.client_order_id
            if action.kind is ActionKind.PLACE:
                if book.find_order(cid) is None:  # idempotent: a re-run records nothing
                    book.record_intent(action, state.last_update_ms)
                    engine.fresh_intents.add(cid)
            else:
                slot = book.get(action.slot_level)
                if (
                    slot is not None
                    and slot.status is SlotStatus.LOCKED
                    and slot.order is not None
                    and slot.order.client_order_id == cid
                ):
                    book.record_cancel_sent(action.slot_level)
        _persist(engine, conn, [])
        faults.point("intents")

    def book(reports: list[OrderUpdate], failed_cancels: list[str]) -> list[BookedFill]:
        with engine.lock, db.begin() as conn:
            fills = _book_reports(conn, reports, failed_cancels)
        faults.point("reports-committed")
        return fills

    def _book_reports(
        conn: sa.Connection, reports: list[OrderUpdate], failed_cancels: list[str]
    ) -> list[BookedFill]:
        state = engine.state
        book = state.book
        fills: list[BookedFill] = []
        for cid in failed_cancels:
            order = book.find_order(cid)
            if order is not None:
                book.record_cancel_failed(order.level)
        for report in reports:
            result = book.apply_update(report)
            fills += result.fills
            engine.booked.append((report, result))  # the engine's hooks run after commit
        _persist(engine, conn, fills)
        faults.point("reports")
        return fills

    place, cancel = _exchange_steps(engine)

    @DBOS.workflow(name="mm_decision_cycle")
    def decision_cycle(actions: list[OrderAction]) -> list[tuple[OrderUpdate | None, bool]]:
        record_intents(actions)
        outcomes: list[tuple[OrderUpdate | None, bool]] = []
        for action in actions:
            if action.kind is ActionKind.PLACE:
                outcomes.append((place(action), True))
            else:
                outcomes.append(cancel(action))
        reports = [report for report, _ in outcomes if report is not None]
        failed = [
            a.client_order_id for a, (_, sent) in zip(actions, outcomes, strict=True) if not sent
        ]
        book(reports, failed)  # the last operation: in the body, like mm_order_update's
        return outcomes

    @DBOS.workflow(name="mm_order_update")
    def order_update(update: OrderUpdate) -> list[BookedFill]:
        return book([update], [])

    return Workflows(decision_cycle, order_update, record_intents, book)


def _persist(engine: "DurableEngine", conn: sa.Connection, fills: list[BookedFill]) -> None:
    """Write the engine's state as a new version, with its changed rows and ``fills``."""
    state = engine.state
    state.version += 1
    write(conn, state, fills)
    engine.store_seen_ms = state.last_update_ms


def _exchange_steps(
    engine: "DurableEngine",
) -> tuple[
    Callable[[OrderAction], OrderUpdate | None],
    Callable[[OrderAction], tuple[OrderUpdate | None, bool]],
]:
    """The exchange calls, one DBOS step each."""

    @DBOS.step(name="mm_place")
    def place(action: OrderAction) -> OrderUpdate | None:
        request = action.place
        assert request is not None
        exchange = engine.exchange
        cid = request.client_order_id
        try:
            if cid not in engine.fresh_intents:  # a re-run after a crash: look it up first
                found = exchange.get_order(request.symbol, cid)
                if found is not None:
                    return found  # accepted before the crash: bind it, never send it twice
            engine.fresh_intents.discard(cid)
            report = exchange.place_order(request)
            faults.point("after-place")
            return report
        except RetryableExchangeError:
            return None  # outcome unknown: the slot stays PENDING until a lookup resolves it

    @DBOS.step(name="mm_cancel")
    def cancel(action: OrderAction) -> tuple[OrderUpdate | None, bool]:
        assert action.cancel is not None
        try:
            return engine.exchange.cancel_order(action.cancel), True
        except RetryableExchangeError:
            return None, False

    return place, cancel


def cycle_id(prefix: str, version: int) -> str:
    """Workflow id of the decision cycle taken at state ``version``."""
    return f"{prefix}cycle-{version}"


def update_id(prefix: str, update: OrderUpdate) -> str:
    """Workflow id of one exchange report: the same report always maps to the same id."""
    return (
        f"{prefix}update-{update.client_order_id}-{update.cum_filled_qty}-{update.cum_fee}-"
        f"{update.status.value}"
    )


__all__: Sequence[str] = ["Workflows", "cycle_id", "register", "update_id"]
