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
instance, bound to one ``WorkflowContext``: the engine's ``Ledger`` port (record intents,
book reports), the exchange and the execution's bookkeeping. The workflows never see the
engine itself.
"""

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from dbos import DBOS

from market_maker.domain.orders import ActionKind, OrderAction, OrderUpdate
from market_maker.durable import faults
from market_maker.durable.table_store import write
from market_maker.engine.execution import Ledger, Outcome
from market_maker.engine.order_log import log_fills, log_outcome
from market_maker.exchanges.base import Exchange, RetryableExchangeError
from market_maker.slots.book import BookedFill

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WorkflowContext:
    """What the workflows work with.

    Attributes:
        ledger: The engine's narrow port: its state, record intents, book reports.
        exchange: Where orders go.
        lock: Held by every transaction (recovered workflows run on DBOS threads).
        fresh_intents: Client order ids whose intent this process recorded: their place
            step needs no lookup first (only a step re-run after a crash, in a new process,
            does).
        saved_ms: Event time of the state last written by a workflow or a checkpoint.
    """

    ledger: Ledger
    exchange: Exchange
    lock: threading.RLock = field(default_factory=threading.RLock)
    fresh_intents: set[str] = field(default_factory=set)
    saved_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Workflows:
    """The registered functions: the workflows and their two transactions.

    Call a workflow inside ``SetWorkflowID``. The transactions (the intents step and the
    booking the workflow bodies run) are exposed so that tests can run them again, as a
    recovery does after a crash between their commit and DBOS's next record.
    """

    decision_cycle: Callable[[list[OrderAction]], list[Outcome]]
    order_update: Callable[[OrderUpdate], list[BookedFill]]
    record_intents: Callable[[list[OrderAction]], None]
    book_reports: Callable[[list[OrderUpdate], list[str]], list[BookedFill]]


def register(db: sa.Engine, context: WorkflowContext) -> Workflows:
    """Define and register the workflows for ``context`` (before ``DBOS.launch``)."""
    ledger = context.ledger

    @DBOS.step(name="mm_record_intents")
    def record_intents(actions: list[OrderAction]) -> None:
        with context.lock, db.begin() as conn:
            context.fresh_intents.update(ledger.record_intents(actions))
            _persist(context, conn, [])
            faults.point("intents")
        faults.point("intents-committed")

    def book(reports: list[OrderUpdate], failed_cancels: list[str]) -> list[BookedFill]:
        with context.lock, db.begin() as conn:
            fills = ledger.book_reports(reports, failed_cancels)
            _persist(context, conn, fills)
            faults.point("reports")
        faults.point("reports-committed")
        log_fills(log, fills, workflow_id=DBOS.workflow_id)  # booked: a re-run books none
        return fills

    place, cancel = _exchange_steps(context)

    @DBOS.workflow(name="mm_decision_cycle")
    def decision_cycle(actions: list[OrderAction]) -> list[Outcome]:
        record_intents(actions)
        outcomes: list[Outcome] = []
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


def _persist(context: WorkflowContext, conn: sa.Connection, fills: list[BookedFill]) -> None:
    """Write the state as a new version, with its changed rows and ``fills``."""
    state = context.ledger.state
    state.version += 1
    write(conn, state, fills)
    context.saved_ms = state.last_update_ms


def _exchange_steps(
    context: WorkflowContext,
) -> tuple[Callable[[OrderAction], OrderUpdate | None], Callable[[OrderAction], Outcome]]:
    """The exchange calls, one DBOS step each."""

    @DBOS.step(name="mm_place")
    def place(action: OrderAction) -> OrderUpdate | None:
        request = action.place
        assert request is not None
        exchange = context.exchange
        cid = request.client_order_id
        report: OrderUpdate | None
        try:
            if cid not in context.fresh_intents:  # a re-run after a crash: look it up first
                found = exchange.get_order(request.symbol, cid)
                if found is not None:
                    log_outcome(log, action, found, True, workflow_id=DBOS.workflow_id)
                    return found  # accepted before the crash: bind it, never send it twice
            context.fresh_intents.discard(cid)
            report = exchange.place_order(request)
        except RetryableExchangeError:
            report = None  # outcome unknown: the slot stays PENDING until a lookup resolves it
        log_outcome(log, action, report, True, workflow_id=DBOS.workflow_id)
        if report is not None:
            faults.point("after-place")
        return report

    @DBOS.step(name="mm_cancel")
    def cancel(action: OrderAction) -> Outcome:
        assert action.cancel is not None
        outcome: Outcome
        try:
            outcome = context.exchange.cancel_order(action.cancel), True
        except RetryableExchangeError:
            outcome = None, False
        log_outcome(log, action, *outcome, workflow_id=DBOS.workflow_id)
        return outcome

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


__all__: Sequence[str] = ["WorkflowContext", "Workflows", "cycle_id", "register", "update_id"]
