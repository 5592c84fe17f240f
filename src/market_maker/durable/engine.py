"""The Durable engine — *production*: the Simple engine's decisions, executed as DBOS workflows.

It decides exactly like the Simple engine (same planner, risk layer and slot machine; it
is a subclass), but every decision cycle with actions runs as the workflow
``mm_decision_cycle`` with the deterministic id ``{prefix}cycle-{state version}``, and
every exchange report as ``mm_order_update`` with an id derived from the report. A tick
that yields no action starts no workflow.

Start-up: load the state from the application tables; launch DBOS, which recovers the
workflows a crash interrupted (this process waits for them); resolve orders of unknown
outcome; reconcile with the exchange; only then trade. State lives in tables of the same
database as the DBOS system database (SQLite file or PostgreSQL URL), migrated by Alembic.
DBOS recovers only workflows of the same ``application_version`` and ``executor_id``: both
come from the configuration (``durable`` section; see the operations guide).
"""

import threading
from collections.abc import Sequence

import sqlalchemy as sa
from dbos import DBOS, SetWorkflowID

from market_maker.config.app import AppConfig
from market_maker.domain.enums import OrderStatus
from market_maker.domain.orders import ActionKind, OrderAction, OrderUpdate
from market_maker.durable import database, migrate
from market_maker.durable.table_store import TableStore
from market_maker.durable.workflows import Workflows, cycle_id, register, update_id
from market_maker.engine.base import EngineObserver
from market_maker.engine.simple import CheckpointPolicy, SimpleEngine
from market_maker.exchanges.base import Exchange
from market_maker.slots.book import UpdateResult
from market_maker.slots.client_ids import id_prefix
from market_maker.state.model import GridState


class _Process:
    """DBOS is a process-wide singleton: one Durable engine per process."""

    running: "DurableEngine | None" = None


class DurableEngine(SimpleEngine):
    """The production engine. Not thread-safe beyond its own workflows; one per process."""

    def __init__(
        self,
        config: AppConfig,
        exchange: Exchange,
        *,
        database_url: str | None = None,
        observer: EngineObserver | None = None,
        always_decide: bool = False,
    ) -> None:
        durable = config.durable
        self.database_url = database_url or durable.database_url
        self.db: sa.Engine | None = None
        self.workflows: Workflows | None = None
        self.booked: list[tuple[OrderUpdate, UpdateResult]] = []
        # Client order ids whose intent this process recorded: their place step needs no
        # lookup first (only a step re-run after a crash, in a new process, does).
        self.fresh_intents: set[str] = set()
        self.lock = threading.RLock()  # recovered workflows run on DBOS threads
        self.prefix = id_prefix(config.bot_id, config.symbol)
        self.recovered = 0
        super().__init__(
            config,
            exchange,
            _NotStarted(),
            observer=observer,
            checkpoint=CheckpointPolicy.EVERY_CHANGE,
            always_decide=always_decide,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Load, launch DBOS and finish interrupted workflows, reconcile, then trade."""
        if _Process.running is not None:
            raise RuntimeError("one Durable engine per process: stop the running one first")
        durable = self.config.durable
        DBOS(
            config={
                "name": f"market-maker-{self.config.bot_id}",
                "system_database_url": self.database_url,
                "application_version": durable.application_version,
                "executor_id": durable.executor_id,
                "log_level": "WARNING",
                "db_engine_kwargs": {"pool_pre_ping": False},
            }
        )
        db = database.create_engine(self.database_url)
        self.db = db
        migrate.upgrade(db)
        self.store = TableStore(db, bot_id=self.config.bot_id, symbol=self.config.symbol)
        self.workflows = register(db, self)
        _Process.running = self
        self._resume()
        DBOS.launch()
        self._await_recovery()
        self._begin()

    def stop(self) -> None:
        """Checkpoint, then shut DBOS down (its registry too: a new engine registers again)."""
        try:
            super().stop()
        finally:
            self._release()

    def abort(self) -> None:
        """Release DBOS without saving (after a failure: the tables hold the last commit)."""
        self._release()

    def _release(self) -> None:
        DBOS.destroy(destroy_registry=True)
        if self.db is not None:
            self.db.dispose()
        _Process.running = None

    def _await_recovery(self) -> None:
        """Wait for the workflows DBOS recovers (a crash interrupted them) to finish."""
        pending = DBOS.list_workflows(
            status=["PENDING", "ENQUEUED"], workflow_id_prefix=self.prefix, load_input=False
        )
        for status in pending:
            DBOS.retrieve_workflow(status.workflow_id).get_result()
            self.recovered += 1
        self._after_workflow()

    # -- execution -------------------------------------------------------------------------

    def _execute_actions(self, actions: Sequence[OrderAction]) -> bool:
        """Run the actions as one decision-cycle workflow; True if a report was unplanned."""
        if not actions:
            return False
        assert self.workflows is not None
        placed = sum(1 for a in actions if a.kind is ActionKind.PLACE)
        self.orders_placed += placed
        self.orders_canceled += len(actions) - placed
        for action in actions:
            self.observer.on_action(action)
        with SetWorkflowID(cycle_id(self.prefix, self.state.version)):
            outcomes = self.workflows.decision_cycle(list(actions))
        surprised = False
        for action, (report, sent) in zip(actions, outcomes, strict=True):
            if report is None:
                surprised = True  # unknown outcome, a failed cancel, or already finished
            elif action.kind is ActionKind.PLACE:
                surprised |= report.status is not OrderStatus.NEW or report.cum_filled_qty > 0
            else:
                surprised |= report.status is not OrderStatus.CANCELED or not sent
        surprised |= self._after_workflow()
        return surprised

    def _after_workflow(self) -> bool:
        """Run the engine's hooks for reports booked by workflows; True if any had fills."""
        booked, self.booked = self.booked, []
        had_fills = False
        for update, result in booked:
            had_fills |= bool(result.fills)
            self._observe(update, result)
        if booked:
            # The booking transaction saved the state; what the hooks changed (the risk
            # layer's round trips) goes with the next save. Decide again.
            self._dirty = True
        return had_fills

    def _apply(self, update: OrderUpdate) -> UpdateResult:
        """Book a report (``on_order_update``, lookups, reconciliation) by its own workflow."""
        assert self.workflows is not None
        with SetWorkflowID(update_id(self.prefix, update)):
            self.workflows.order_update(update)
        booked = list(self.booked)
        self._after_workflow()
        for report, result in booked:
            if report == update:
                return result
        return UpdateResult()  # a duplicate delivery: nothing new


class _NotStarted:
    """Placeholder store until ``start`` opens the database."""

    def load(self) -> GridState | None:
        raise RuntimeError("the Durable engine loads its state in start()")

    def save(self, state: GridState) -> None:
        raise RuntimeError("the Durable engine saves its state after start()")

    def close(self) -> None:
        """Nothing to close."""


__all__ = ["DurableEngine"]
