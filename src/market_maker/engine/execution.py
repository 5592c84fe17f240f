"""The execution port: how the engine's decisions reach the exchange and its reports the book.

The engine (``market_maker.engine.grid``) decides and books; *how* an action is carried out
and *how* the state is kept is the execution's business, injected at construction:

* ``DirectExecution`` — *development / backtest*: calls the exchange in-process, one action
  at a time, and saves through a ``Store`` (in memory, SQLite).
* ``market_maker.durable.execution.DurableExecution`` — *production*: every decision cycle
  and every exchange report runs as a DBOS workflow whose steps survive a crash.

An execution sees the engine only through the narrow ``Ledger`` port: record intents, book
reports, and mark the state changed. It never decides.
"""

import logging
from collections.abc import Sequence
from enum import Enum
from typing import Protocol

from market_maker.domain.orders import ActionKind, OrderAction, OrderUpdate
from market_maker.engine.order_log import log_fills, log_outcome
from market_maker.exchanges.base import Exchange, RetryableExchangeError
from market_maker.slots.book import BookedFill
from market_maker.state.model import GridState
from market_maker.stores.base import Store

log = logging.getLogger(__name__)

Outcome = tuple[OrderUpdate | None, bool]
"""What one action came to: the exchange's report (None when the outcome is unknown, or a
cancel found the order already finished) and whether the request was sent and answered
(False only for a cancel the exchange did not answer)."""


class CheckpointPolicy(Enum):
    """When the direct execution saves the engine's state."""

    EVERY_CHANGE = "every_change"
    """After every intent and every applied report (write-ahead; for live runs)."""
    ON_STOP = "on_stop"
    """Only when stopped (backtests: fastest)."""


class Ledger(Protocol):
    """The engine as an execution sees it: its state, and the two ways to change its book.

    Both operations are idempotent, so an execution may run them again after a crash.
    """

    @property
    def state(self) -> GridState:
        """The state the book belongs to (what an execution saves)."""
        ...

    def record_intents(self, actions: Sequence[OrderAction]) -> list[str]:
        """Write-ahead: mark every action as about to be sent.

        Returns the client order ids of the places recorded now (a place the book already
        knows is not recorded again).
        """
        ...

    def book_reports(
        self, reports: Sequence[OrderUpdate], failed_cancels: Sequence[str]
    ) -> list[BookedFill]:
        """Book exchange reports and cancels that failed; return the fills booked.

        The engine runs its hooks (risk layer, observer) for them after the execution
        returns, outside any transaction the execution holds.
        """
        ...

    def changed(self) -> None:
        """The book changed outside the execution's own persistence: checkpoint it."""
        ...


class Execution(Protocol):
    """Carries out actions and books reports for one engine; keeps its state."""

    @property
    def every_change(self) -> bool:
        """True when every change of the state must be saved (write-ahead)."""
        ...

    @property
    def saved_ms(self) -> int | None:
        """Event time of the state last saved (None before the first save)."""
        ...

    def open(self, ledger: Ledger) -> GridState | None:
        """Open the storage for ``ledger``'s bot; return its stored state, if any."""
        ...

    def recover(self) -> int:
        """Finish work a crash interrupted (its reports go to the ledger); return how many."""
        ...

    def execute(self, actions: Sequence[OrderAction]) -> list[Outcome]:
        """Carry out ``actions`` in order; one outcome per action.

        Records the intents, calls the exchange, books the reports.
        """
        ...

    def book(self, update: OrderUpdate) -> None:
        """Book one exchange report that arrived on its own (stream, poll, lookup)."""
        ...

    def save(self, state: GridState) -> None:
        """Save ``state`` now (a checkpoint)."""
        ...

    def close(self) -> None:
        """Release the storage after the final save."""
        ...

    def abort(self) -> None:
        """Release the storage without saving (after a failure)."""
        ...


class DirectExecution:
    """*Development / backtest*: exchange calls in-process, state saved through a store."""

    def __init__(
        self,
        exchange: Exchange,
        store: Store,
        checkpoint: CheckpointPolicy = CheckpointPolicy.ON_STOP,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.checkpoint = checkpoint
        self._saved_ms: int | None = None
        self._ledger: Ledger | None = None

    @property
    def every_change(self) -> bool:
        """True under ``CheckpointPolicy.EVERY_CHANGE``."""
        return self.checkpoint is CheckpointPolicy.EVERY_CHANGE

    @property
    def saved_ms(self) -> int | None:
        """Event time of the last save."""
        return self._saved_ms

    def open(self, ledger: Ledger) -> GridState | None:
        """Load the stored state."""
        self._ledger = ledger
        return self.store.load()

    def recover(self) -> int:
        """Nothing survives a crash in flight here: orders in doubt are looked up later."""
        return 0

    def execute(self, actions: Sequence[OrderAction]) -> list[Outcome]:
        """Each action in turn: intent (saved first), exchange call, its report booked."""
        ledger = self._ledger
        assert ledger is not None, "open() first"
        exchange = self.exchange
        outcomes: list[Outcome] = []
        debug = log.isEnabledFor(logging.DEBUG)  # backtests skip the calls, not only the lines
        for action in actions:
            ledger.record_intents((action,))
            ledger.changed()  # the intent is saved before the call (write-ahead)
            report: OrderUpdate | None
            try:
                if action.kind is ActionKind.PLACE:
                    assert action.place is not None
                    report = exchange.place_order(action.place)
                else:
                    assert action.cancel is not None
                    report = exchange.cancel_order(action.cancel)
            except RetryableExchangeError:
                if action.kind is ActionKind.PLACE:
                    # Outcome unknown: the slot stays PENDING until a lookup resolves it.
                    log_outcome(log, action, None, True, workflow_id=None)
                    outcomes.append((None, True))
                else:
                    log_outcome(log, action, None, False, workflow_id=None)
                    ledger.book_reports((), (action.client_order_id,))
                    outcomes.append((None, False))
                continue
            if debug:
                log_outcome(log, action, report, True, workflow_id=None, level=logging.DEBUG)
            if report is not None:  # None: a cancel found the order finished already
                fills = ledger.book_reports((report,), ())
                if fills and debug:
                    log_fills(log, fills, workflow_id=None, level=logging.DEBUG)
                ledger.changed()
            outcomes.append((report, True))
        return outcomes

    def book(self, update: OrderUpdate) -> None:
        """Book the report."""
        ledger = self._ledger
        assert ledger is not None, "open() first"
        fills = ledger.book_reports((update,), ())
        if fills and log.isEnabledFor(logging.DEBUG):
            log_fills(log, fills, workflow_id=None, level=logging.DEBUG)
        ledger.changed()

    def save(self, state: GridState) -> None:
        """Save through the store."""
        self.store.save(state)
        self._saved_ms = state.last_update_ms

    def close(self) -> None:
        """The store belongs to the caller; nothing to release."""

    def abort(self) -> None:
        """Nothing to release."""


__all__ = ["CheckpointPolicy", "DirectExecution", "Execution", "Ledger", "Outcome"]
