"""The Durable engine — *Production*: the grid engine with its actions run as DBOS workflows.

It decides exactly like the Simple engine (it is the same ``GridEngine``); what differs is
the injected execution. Every decision cycle with actions runs as the workflow
``mm_decision_cycle`` with the deterministic id ``{prefix}cycle-{state version}``, and
every exchange report as ``mm_order_update`` with an id derived from the report. A tick
that yields no action starts no workflow.

Start-up: load the state from the application tables; launch DBOS, which recovers the
workflows a crash interrupted (this process waits for them); resolve orders of unknown
outcome; reconcile with the exchange; only then trade. State lives in tables of the same
database as the DBOS system database (SQLite file or PostgreSQL URL), migrated by Alembic.
DBOS recovers only workflows of the same application name, application version and
executor id. The name is the bot's (``dbos_app_name``: one DBOS application per bot id and
symbol); the version is ``{name}@{durable.application_version}`` (DBOS wants version names
unique across the applications of one database); the executor id is
``durable.executor_id`` (see docs/durable_engine.md). One
process runs one bot: ``open`` takes the bot's lock (``market_maker.durable.bot_lock``)
first and refuses a second process of the same bot; bots with other ids or symbols share
the database without touching each other's workflows or rows.
"""

import hashlib
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from dbos import DBOS, SetWorkflowID

from market_maker.config.app import AppConfig
from market_maker.domain.orders import OrderAction, OrderUpdate
from market_maker.durable import database, migrate
from market_maker.durable.bot_lock import BotLock, acquire_bot_lock
from market_maker.durable.database_errors import database_errors
from market_maker.durable.table_store import TableStore
from market_maker.durable.workflows import (
    WorkflowContext,
    Workflows,
    cycle_id,
    register,
    update_id,
)
from market_maker.engine.base import EngineObserver
from market_maker.engine.execution import Ledger, Outcome
from market_maker.engine.grid import GridEngine
from market_maker.exchanges.base import Exchange
from market_maker.slots.client_ids import id_prefix
from market_maker.state.model import GridState

log = logging.getLogger(__name__)


def dbos_app_name(bot_id: str, symbol: str) -> str:
    """The bot's DBOS application name: readable, lower case (DBOS's rule), and exact.

    ``market-maker-{bot}-{symbolcode}-{hash}``; the hash of the exact prefix keeps bots
    whose ids differ only in case apart.
    """
    prefix = id_prefix(bot_id, symbol)
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:8]
    return f"market-maker-{prefix.lower().rstrip('-')}-{digest}"


class _Process:
    """DBOS is a process-wide singleton: one Durable engine per process."""

    running: "DurableExecution | None" = None


class DurableExecution:
    """Runs the engine's actions and reports as DBOS workflows; keeps its state in tables.

    Not thread-safe beyond its own workflows; one per process.
    """

    every_change = True
    """Every change is saved: the workflows write their own, checkpoints the rest."""

    def __init__(
        self, config: AppConfig, exchange: Exchange, *, database_url: str | None = None
    ) -> None:
        self.config = config
        self.exchange = exchange
        self.database_url = database_url or config.durable.database_url
        self.prefix = id_prefix(config.bot_id, config.symbol)
        self.app_name = dbos_app_name(config.bot_id, config.symbol)
        self.app_version = f"{self.app_name}@{config.durable.application_version}"
        self.lock: BotLock | None = None
        self.db: sa.Engine | None = None
        self.store: TableStore | None = None
        self.workflows: Workflows | None = None
        self.context: WorkflowContext | None = None

    @property
    def saved_ms(self) -> int | None:
        """Event time of the state last written (by a workflow or a checkpoint)."""
        return None if self.context is None else self.context.saved_ms

    def open(self, ledger: Ledger) -> GridState | None:
        """Take the bot's lock, configure DBOS, migrate, register the workflows, load the state.

        Raises:
            BotAlreadyRunningError: Another process runs this bot.
            InfrastructureError: The database cannot be used (``database_errors``).
        """
        if _Process.running is not None:
            raise RuntimeError("one Durable engine per process: stop the running one first")
        try:
            with database_errors(self.database_url):
                self.lock = acquire_bot_lock(
                    self.database_url, self.config.bot_id, self.config.symbol
                )
                return self._open(ledger)
        except BaseException:
            self._release()  # nothing half-open stays behind: DBOS, the engine, the lock
            raise

    def _open(self, ledger: Ledger) -> GridState | None:
        durable = self.config.durable
        DBOS(
            config={
                # Recovery and queues are scoped by application name: one per bot.
                "name": self.app_name,
                "system_database_url": self.database_url,
                "application_version": self.app_version,
                "executor_id": durable.executor_id,
                "log_level": "WARNING",
                "db_engine_kwargs": {"pool_pre_ping": False},
            }
        )
        db = database.create_engine(self.database_url)
        self.db = db
        migrate.upgrade(db)
        self.store = TableStore(db, bot_id=self.config.bot_id, symbol=self.config.symbol)
        self.context = WorkflowContext(ledger, self.exchange)
        self.workflows = register(db, self.context)
        _Process.running = self
        return self.store.load()

    def recover(self) -> int:
        """Launch DBOS and wait for the workflows it recovers (a crash interrupted them).

        Only this bot's workflows of this application name, version and executor are
        recovered; one of this bot's left by another version or executor is reported, not
        waited for (it would never finish).

        Raises:
            InfrastructureError: The database cannot be used (``database_errors``). After
                any failure DBOS is shut down and the bot's lock released.
        """
        try:
            with database_errors(self.database_url):
                return self._recover()
        except BaseException:
            self._release()
            raise

    def _recover(self) -> int:
        DBOS.launch()
        durable = self.config.durable
        unfinished = ["PENDING", "ENQUEUED"]
        pending = DBOS.list_workflows(  # of every application name ([] = no filter)
            status=unfinished,
            workflow_id_prefix=self.prefix,
            application_name=[],
            load_input=False,
            load_output=False,
        )
        ours = {
            s.workflow_id
            for s in DBOS.list_workflows(
                status=unfinished,
                workflow_id_prefix=self.prefix,
                app_version=self.app_version,
                executor_id=durable.executor_id,
                application_name=self.app_name,
                load_input=False,
                load_output=False,
            )
        }
        for status in pending:
            if status.workflow_id in ours:
                DBOS.retrieve_workflow(status.workflow_id).get_result()
            else:
                log.error(
                    "workflow %s of this bot was left %s by application version %s, "
                    "executor %s: DBOS does not recover it here; start that version or "
                    "executor to finish it (see docs/durable_engine.md)",
                    status.workflow_id,
                    status.status,
                    status.app_version,
                    status.executor_id,
                )
        return len(ours)

    def execute(self, actions: Sequence[OrderAction]) -> list[Outcome]:
        """Run the actions as one decision-cycle workflow, named after the state version."""
        assert self.workflows is not None, "open() first"
        assert self.context is not None
        version = self.context.ledger.state.version
        with SetWorkflowID(cycle_id(self.prefix, version)):
            return self.workflows.decision_cycle(list(actions))

    def book(self, update: OrderUpdate) -> None:
        """Book a report by its own workflow (a duplicate delivery is a no-op)."""
        assert self.workflows is not None, "open() first"
        with SetWorkflowID(update_id(self.prefix, update)):
            self.workflows.order_update(update)

    def save(self, state: GridState) -> None:
        """A checkpoint outside any workflow (decisions' anchor and center, risk, ATR)."""
        assert self.store is not None, "open() first"
        assert self.context is not None
        with self.context.lock:
            self.store.save(state)
        self.context.saved_ms = state.last_update_ms

    def close(self) -> None:
        """Shut DBOS down (its registry too: a new engine registers again)."""
        self._release()

    def abort(self) -> None:
        """Release DBOS without saving (after a failure: the tables hold the last commit)."""
        self._release()

    def _release(self) -> None:
        try:
            DBOS.destroy(destroy_registry=True)
            if self.db is not None:
                self.db.dispose()
        finally:
            _Process.running = None
            if self.lock is not None:
                self.lock.release()


def durable_engine(
    config: AppConfig,
    exchange: Exchange,
    *,
    database_url: str | None = None,
    observer: EngineObserver | None = None,
    always_decide: bool = False,
) -> GridEngine:
    """The Durable engine — *Production*: the grid engine with DBOS-workflow execution.

    Decides exactly like the Simple engine (*Development / Backtest*, ``simple_engine``);
    every decision cycle with actions and every exchange report runs as a DBOS workflow, so
    a crash at any instruction resumes where it stopped. Its database is ``database_url``
    (default: the config's ``durable.database_url``).
    """
    execution = DurableExecution(config, exchange, database_url=database_url)
    return GridEngine(config, exchange, execution, observer=observer, always_decide=always_decide)


__all__ = ["DurableExecution", "dbos_app_name", "durable_engine"]
