"""The grid engine: decides with the pure strategy and books what the exchange reports.

One engine for every venue and every way of running. What differs is injected:

* the **exchange** (simulated for backtests, the paper exchange, a real venue), and
* the **execution** (``market_maker.engine.execution``): ``DirectExecution`` for the
  Simple engine (*Development / Backtest*: in-process, saved through a store) or
  ``DurableExecution`` for the Durable engine (*Production*: DBOS workflows).
  ``simple_engine`` and ``market_maker.durable.execution.durable_engine`` build the two.

Decision cycle, on every price update::

    decide (pure) -> execution: record intents (write-ahead) -> exchange calls
                  -> book the reports -> engine hooks (risk layer, observer)
                  -> repeat while the decision still acts

The loop repeats (a few rounds at most) because one decision can unblock the next: a
confirmed cancel frees a slot or exposure for a new order.
"""

import logging
from collections import deque
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from market_maker.config.app import AppConfig
from market_maker.domain.enums import OrderRole, OrderStatus, RiskState, SlotStatus
from market_maker.domain.errors import MarketMakerError
from market_maker.domain.instrument import split_symbol
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import ActionKind, CancelOrderRequest, OrderAction, OrderUpdate
from market_maker.engine.base import EngineObserver
from market_maker.engine.execution import (
    CheckpointPolicy,
    DirectExecution,
    Execution,
)
from market_maker.engine.risk_gate import RiskGate
from market_maker.engine.upkeep import CorrectionRecord, Upkeep
from market_maker.exchanges.base import Balance, Exchange, RetryableExchangeError
from market_maker.indicators.atr import Atr, AtrMethod
from market_maker.risk.events import RiskEvent, RiskEventKind
from market_maker.slots.book import BookedFill, SlotBook, UpdateResult
from market_maker.slots.model import Slot
from market_maker.state.model import GridState
from market_maker.state.views import state_view
from market_maker.stores.base import Store
from market_maker.strategy.decide import Decision
from market_maker.strategy.planner import Planner
from market_maker.strategy.target import TargetState

log = logging.getLogger(__name__)

PRUNE_ABOVE = 16
"""Slots the book may hold before finished FREE, empty slots are dropped (every decision
walks all slots); their orders stay findable in the book's retired records."""

MAX_ROUNDS = 4
"""Decisions per price update at most (each round executes the previous one's actions)."""


class SlotStillOpenError(MarketMakerError):
    """An operator asked to release a slot whose order the exchange still holds open."""


class GridEngine:
    """Decides and books for one bot on one symbol. Not thread-safe; one event at a time.

    Implements the ``Engine`` protocol (``market_maker.engine.base``) for runners and
    commands, and the ``Ledger`` port (``market_maker.engine.execution``) for its execution.
    """

    def __init__(
        self,
        config: AppConfig,
        exchange: Exchange,
        execution: Execution,
        *,
        observer: EngineObserver | None = None,
        always_decide: bool = False,
    ) -> None:
        self.config = config
        self.grid = config.grid
        self.instrument = config.to_instrument()
        self.exchange = exchange
        self.execution = execution
        self._every_change = execution.every_change
        self.observer = observer or EngineObserver()
        self._state = GridState(
            config.bot_id, config.symbol, SlotBook(config.bot_id, config.symbol)
        )
        self._atr = Atr(self.grid.atr_window, self.grid.atr_method)
        # Candles not yet folded into the ATR (see ``on_candle``).
        self._atr_backlog: deque[tuple[Decimal, Decimal, Decimal]] = deque(
            maxlen=self.grid.atr_window + 1
        )
        self.planner = Planner(self.grid, self.instrument)
        self.risk = RiskGate(config.risk, config.symbol)
        self.upkeep = Upkeep(config.risk, exchange, self._apply, self._halt)
        self._max_open_orders = config.risk.cleaner.max_open_orders
        cleaner = config.risk.cleaner
        self._cleaning = bool(cleaner.max_order_age_s or cleaner.max_open_orders)
        self._reconcile_every_ms = config.risk.reconciler.interval_s * 1000
        self._next_reconcile_ms: int | None = None  # event time of the next reconciliation
        self._equity_base: Decimal | None = None  # equity minus the book's PnL
        self.orders_placed = 0
        self.orders_canceled = 0
        self.running = False
        self._atr_matters = self.grid.dynamic_interval or bool(self.grid.volatility_size_k)
        self._defer_atr = not self._atr_matters and self.grid.atr_method is AtrMethod.SIMPLE
        self._always_decide = always_decide
        self._dirty = True  # something other than the price changed since the last decision
        self._stable: TargetState | None = None  # last quiescent target, with its band
        # Reports the book took whose hooks (risk layer, observer) have not run yet.
        self._booked: list[tuple[OrderUpdate, UpdateResult]] = []
        self.decisions = 0
        self.recovered = 0  # interrupted work the execution finished at start-up

    @property
    def state(self) -> GridState:
        """The bot's state: book, prices, risk state, version."""
        return self._state

    @property
    def corrections(self) -> Mapping[str, int]:
        """Reconciliation and cleaning corrections carried out, by kind."""
        return self.upkeep.corrections

    @property
    def reconciliations(self) -> int:
        """Reconciliations run so far by this process (start-up and periodic)."""
        return self.upkeep.runs

    @property
    def rereads(self) -> int:
        """Reads of the exchange a reconciliation repeated because a fill landed among them."""
        return self.upkeep.rereads

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Resume from storage (or start fresh) and get ready to trade.

        Finishes work a crash interrupted, resolves orders of unknown outcome and
        reconciles with the exchange; only then does the engine decide.
        """
        self._resume(self.execution.open(self))
        self.recovered = self.execution.recover()
        self._drain()
        self._begin()

    def _resume(self, loaded: GridState | None) -> None:
        """Take over the stored state, if any, with its ATR and risk layer."""
        if loaded is not None:
            if (loaded.bot_id, loaded.symbol) != (self.config.bot_id, self.config.symbol):
                raise ValueError(
                    f"the store holds bot {loaded.bot_id} on {loaded.symbol}, not "
                    f"{self.config.bot_id} on {self.config.symbol}"
                )
            self._state = loaded
            if loaded.atr is not None:
                self._atr = Atr.restore(loaded.atr)
                self._atr_backlog.clear()
            if loaded.risk_layer is not None:
                self.risk = RiskGate.restore(
                    self.config.risk, self.config.symbol, loaded.risk_layer
                )
            elif loaded.risk_state is RiskState.HALTED:
                # The breaker's reason is not in the checkpoint: the operator decides again.
                self._halt(
                    RiskEventKind.OPERATOR_HALT,
                    "the bot was HALTED when it stopped; check why, then reset",
                    loaded.last_update_ms,
                )

    def _begin(self) -> None:
        """Resolve what is in doubt, reconcile, and start deciding."""
        # The strategy decides with the risk layer's state (a checkpoint without the risk
        # layer restarts its monitor: only HALTED is carried over, as an operator halt).
        self.set_risk(self.risk.state)
        self.running = True
        self.resolve_pending()
        # Trading never starts on unreconciled state.
        self.upkeep.reconcile(self._state, self._state.last_update_ms)
        self.changed()

    def stop(self) -> None:
        """Stop deciding, checkpoint, and release the execution's storage.

        The checkpoint is a new version: price, time and ATR moved on.
        """
        self.running = False
        try:
            self._state.version += 1
            self._save()
        finally:
            self.execution.close()

    def abort(self) -> None:
        """Stop without saving (after a failure: storage holds the last checkpoint)."""
        self.running = False
        self.execution.abort()

    # -- events ----------------------------------------------------------------------------

    @property
    def atr(self) -> Atr:
        """The ATR over every closed candle seen so far."""
        if self._atr_backlog:
            self._atr.replay(self._atr_backlog)
            self._atr_backlog.clear()
        return self._atr

    def on_candle(self, candle: Candle) -> None:
        """Feed the risk monitor; fold a closed candle into the ATR.

        The ATR measures the baseline once it is complete. When no decision reads the ATR
        (static interval and sizes) and its baseline is known, candles only queue up;
        ``atr`` folds the last ``window + 1`` of them when read, with the same result as
        folding each (simple mean only).
        """
        if (event := self.risk.on_candle(candle)) is not None:
            self._risk_event(event)
        if not candle.closed:
            return
        self._fold_atr(candle)
        if self.risk.monitoring and self._every_change:
            self._checkpoint()  # the monitor's window moved: a restart resumes it exactly

    def _fold_atr(self, candle: Candle) -> None:
        atr = self._atr
        if self._defer_atr and atr.value is not None:
            self._atr_backlog.append((candle.high, candle.low, candle.close))
            return
        before = atr.value
        value = atr.update(candle.high, candle.low, candle.close)
        state = self._state
        if value is not None and state.baseline_atr is None and self.grid.baseline_atr is None:
            state.baseline_atr = value
        if self._atr_matters and value != before:
            self._dirty = True

    def on_price_update(self, update: PriceUpdate) -> None:
        """Run a decision cycle at the new price."""
        state = self._state
        state.last_price = update.price
        state.last_update_ms = update.ts_ms
        if not self.running:
            return
        if (
            self._cleaning
            or self.risk.breaker.halted
            or self._next_reconcile_ms is None
            or (self._reconcile_every_ms and update.ts_ms >= self._next_reconcile_ms)
        ):
            self._upkeep(update)
        if self.risk.watches_equity:
            self._mark_equity(update)
        stable = self._stable
        if (
            not self._dirty
            and stable is not None
            and not self._always_decide
            and stable.is_stable_at(update.price)
        ):
            return  # provably the same decision as last time, which needed no action
        for _ in range(MAX_ROUNDS):
            self._dirty = False
            decision, settled = self._decide(update.price)
            if decision.actions:
                surprised = self._execute(decision)
                # A complete decision executed exactly as planned reached its target: the
                # next decision would find nothing to do, so it is not taken.
                settled = settled and decision.complete and not surprised
                if not settled or self._always_decide:
                    continue
            self._settle(decision)
            return
        self._stable = None

    def _upkeep(self, update: PriceUpdate) -> None:
        """Periodic duties by event time: reconciliation, a halt's cooldown, order cleaning."""
        ts = update.ts_ms
        if self._next_reconcile_ms is None:  # the first price starts the clock
            self._next_reconcile_ms = ts + self._reconcile_every_ms
        elif self._reconcile_every_ms and ts >= self._next_reconcile_ms:
            self.upkeep.reconcile(self._state, ts)
            self.changed()
            self._next_reconcile_ms = ts + self._reconcile_every_ms
        if self.risk.breaker.halted and (event := self.risk.on_time(ts)) is not None:
            self._risk_event(event)
        if self._cleaning and (actions := self.upkeep.clean(self._state, update.price, ts)):
            self._execute_actions(actions)

    def _mark_equity(self, update: PriceUpdate) -> None:
        """Feed the breaker's drawdown rules: account equity valued at ``update.price``."""
        book = self._state.book
        pnl = book.realized_pnl - book.fees_paid + book.unrealized_pnl(update.price)
        if self._equity_base is None:  # the account's equity now, minus the grid's PnL so far
            base, quote = split_symbol(self.config.symbol)
            balances = self.exchange.balances()
            held = {asset: balances[asset].total for asset in (base, quote) if asset in balances}
            equity = held.get(quote, Decimal(0)) + held.get(base, Decimal(0)) * update.price
            self._equity_base = equity - pnl
        if (event := self.risk.on_equity(self._equity_base + pnl, update.ts_ms)) is not None:
            self._risk_event(event)

    def _risk_event(self, event: RiskEvent) -> None:
        log.info(
            "risk: %s -> %s (%s): %s",
            event.state_before.value,
            event.state_after.value,
            event.kind.value,
            event.reason,
        )
        self.observer.on_risk_event(event)
        self.set_risk(self.risk.state)

    def _halt(self, kind: RiskEventKind, reason: str, ts_ms: int) -> None:
        if (event := self.risk.halt(kind, reason, ts_ms)) is not None:
            self._risk_event(event)

    def reset_risk(self, ts_ms: int) -> None:
        """Operator reset: leave RISK_MODE and HALTED (see the operations guide runbooks).

        Also clears a risk state set by hand with ``set_risk``.
        """
        for event in self.risk.reset(ts_ms):
            self._risk_event(event)
        self.set_risk(self.risk.state)

    def reset_breaker(self, ts_ms: int) -> None:
        """Operator reset of the circuit breaker only: leave HALTED, keep a risk mode."""
        for event in self.risk.reset(ts_ms, monitor=False):
            self._risk_event(event)
        self.set_risk(self.risk.state)

    def preview_reconcile(self) -> list[CorrectionRecord]:
        """What a reconciliation would correct now (a dry run: nothing is carried out)."""
        return self.upkeep.preview(self._state)

    def reconcile_now(self) -> list[CorrectionRecord]:
        """Reconcile now, at the last market time seen; the corrections carried out."""
        counted = self.upkeep.corrections.total()  # one history record per correction counted
        self.upkeep.reconcile(self._state, self._state.last_update_ms)
        self.changed()
        new = self.upkeep.corrections.total() - counted
        return list(self.upkeep.history)[-new:] if new else []

    @property
    def recent_corrections(self) -> list[CorrectionRecord]:
        """The latest corrections carried out by reconciliation and cleaning, oldest first."""
        return list(self.upkeep.history)

    def halt(self, reason: str, ts_ms: int) -> None:
        """Operator halt: trip the breaker by hand (only ``reset_risk`` ends it).

        A running engine acts on it at once, at the last price seen: the opening orders are
        cancelled now, not at the next price (a kill switch must not wait for the market).
        """
        self._halt(RiskEventKind.OPERATOR_HALT, reason, ts_ms)
        state = self._state
        if self.running and state.last_price is not None:
            self.on_price_update(
                PriceUpdate(self.config.symbol, state.last_price, state.last_update_ms)
            )

    def release_slot(self, level: Decimal) -> Slot:
        """Operator action: free the stuck slot at ``level`` after asking the exchange.

        The slot's order is looked up by client order id first. What the exchange reports
        is booked (a fill is never lost); if the order is still open there, the slot is
        not released. An order the exchange does not know frees the slot.

        Raises:
            ValueError: No slot at ``level``, or it holds no order in flight.
            SlotStillOpenError: The exchange still holds the order open.
            RetryableExchangeError: The exchange did not answer; nothing changed.
        """
        book = self._state.book
        slot = book.get(level)
        if slot is None or slot.active_order is None:
            raise ValueError(f"slot {level}: no order in flight to release")
        cid = slot.active_order.client_order_id
        found = self.exchange.get_order(self.config.symbol, cid)
        if found is not None:
            self._apply(found)
            if found.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
                raise SlotStillOpenError(
                    f"slot {level}: order {cid} is still open on the exchange; cancel it "
                    "first (cancel_openings, or on the exchange), then release"
                )
        else:
            slot = book.slots[level]
            if slot.status is SlotStatus.PENDING:
                book.resolve_absent(cid)
            elif slot.status is SlotStatus.LOCKED:
                book.release(level, "operator release: absent on the exchange")
            self.changed()
        return book.slots[level]

    def cancel_openings(self) -> int:
        """Operator action: cancel every resting opening order; return how many were sent.

        Closing orders stay (they carry the positions' take-profits). A running bot places
        openings again at its next decision unless its risk state forbids them; use it with
        a stop or a risk mode.
        """
        actions = [
            OrderAction(
                ActionKind.CANCEL,
                slot.level,
                cancel=CancelOrderRequest(
                    self.config.symbol, order.client_order_id, order.order_id
                ),
            )
            for slot in self._state.book.slots.values()
            if (order := slot.active_order) is not None
            and order.role is OrderRole.OPEN
            and slot.status is SlotStatus.LOCKED
            and not order.cancel_requested
        ]
        self._execute_actions(actions)
        return len(actions)

    def status(self) -> dict[str, Any]:
        """The read model of the bot (``market_maker.state.views``) and whether it runs."""
        return {**state_view(self._state), "running": self.running}

    def _settle(self, decision: Decision) -> None:
        """Reality matches ``decision``'s target: remember its band, tidy the book."""
        self._stable = decision.target
        self._dirty = False
        book = self._state.book
        if len(book) > PRUNE_ABOVE:
            book.prune(keep=[o.level for o in decision.target.openings])

    def on_order_update(self, update: OrderUpdate) -> None:
        """Book an exchange report (duplicates and stale reports book nothing)."""
        self._apply(update)

    def _apply(self, update: OrderUpdate) -> None:
        """Book ``update`` through the execution, then run the hooks."""
        self.execution.book(update)
        self._drain()

    # -- the Ledger port (for the execution) -----------------------------------------------

    def record_intents(self, actions: Sequence[OrderAction]) -> list[str]:
        """Write-ahead: places go ``PENDING``, cancels are marked sent.

        Idempotent: a place whose client order id the book knows, or a cancel already sent,
        changes nothing.
        """
        state = self._state
        book = state.book
        fresh: list[str] = []
        for action in actions:
            if action.kind is ActionKind.PLACE:
                assert action.place is not None
                cid = action.place.client_order_id
                if book.find_order(cid) is None:
                    book.record_intent(action, state.last_update_ms)
                    fresh.append(cid)
            else:
                slot = book.get(action.slot_level)
                if (
                    slot is not None
                    and slot.status is SlotStatus.LOCKED
                    and slot.order is not None
                    and slot.order.client_order_id == action.client_order_id
                ):
                    book.record_cancel_sent(action.slot_level)
        return fresh

    def book_reports(
        self, reports: Sequence[OrderUpdate], failed_cancels: Sequence[str]
    ) -> list[BookedFill]:
        """Book reports and cancels that failed; return the fills booked.

        Reports are cumulative: booking one twice books nothing more. The hooks run later
        (``_drain``), outside the execution's transaction.
        """
        book = self._state.book
        for cid in failed_cancels:
            order = book.find_order(cid)
            if order is not None:
                book.record_cancel_failed(order.level)
        fills: list[BookedFill] = []
        for report in reports:
            result = book.apply_update(report)
            fills += result.fills
            self._booked.append((report, result))
        return fills

    def changed(self) -> None:
        """Mark the state changed: decide again, and checkpoint."""
        self._dirty = True
        # ``_checkpoint`` spelled out: the direct execution calls this twice per action.
        self._state.version += 1
        if self._every_change:
            self._save()

    def _drain(self) -> bool:
        """Run the hooks for reports the book took; True if any of them had fills."""
        if not self._booked:
            return False
        booked, self._booked = self._booked, []
        had_fills = False
        for update, result in booked:
            if result.fills:
                had_fills = True
            elif not (result.unknown or result.orphan):
                continue  # nothing to tell: most reports (a placement, a cancel)
            self._observe(update, result)
        self._dirty = True  # what the hooks changed goes with the next save; decide again
        return had_fills

    def _observe(self, update: OrderUpdate, result: UpdateResult) -> None:
        """Tell the observer and the risk layer what booking ``update`` did."""
        if result.unknown or result.orphan:
            self.observer.on_unknown_order(update)
            log.warning("report for an order the book does not hold: %s", update.client_order_id)
        for fill in result.fills:
            self.observer.on_fill(fill)
            slot = self._state.book.slots.get(fill.level)
            position = slot.position_qty if slot is not None else Decimal(0)
            if (event := self.risk.on_fill(fill, position)) is not None:
                self._risk_event(event)

    def on_account_update(self, balances: dict[str, Balance]) -> None:
        """Balances are the exchange's business; the Simple engine keeps none of its own."""

    def on_position_update(self, position: Decimal) -> None:
        """Positions are reconciled by the risk layer; nothing to do here."""

    def set_risk(self, risk: RiskState) -> None:
        """Switch the risk state the strategy decides with."""
        if risk is not self._state.risk_state:
            self._state.risk_state = risk
            self.changed()

    # -- internals -------------------------------------------------------------------------

    def resolve_pending(self) -> None:
        """Look up every order of unknown outcome by client order id and book the answer."""
        for slot in self._state.book.pending():
            assert slot.order is not None
            cid = slot.order.client_order_id
            try:
                found = self.exchange.get_order(self.config.symbol, cid)
            except RetryableExchangeError:
                log.warning("lookup of %s failed; it stays pending", cid)
                continue
            if found is None:
                self._state.book.resolve_absent(cid)
                self.changed()
            else:
                self.on_order_update(found)

    def _decide(self, price: Decimal) -> tuple[Decision, bool]:
        """Decide at ``price``; also say whether the book was left as the decision saw it."""
        self.decisions += 1
        state = self._state
        decision = self.planner.decide(
            price=price,
            book=state.book,
            risk=state.risk_state,
            anchor=state.anchor_price,
            previous_center=state.center_price,
            atr=self._atr.value,  # never deferred when a decision reads it
            baseline_atr=state.baseline_atr,
            max_open_orders=self._max_open_orders,
        )
        state.anchor_price = decision.anchor
        state.center_price = decision.target.center
        state.interval = decision.target.interval
        if decision.center_moved and state.book.reset_post_only_failures():
            self.changed()
            return decision, False  # slots it skipped may now be placed
        return decision, True

    def _execute(self, decision: Decision) -> bool:
        """Execute the decision's actions; return True if any report was not the planned one."""
        return self._execute_actions(decision.actions)

    def _execute_actions(self, actions: Sequence[OrderAction]) -> bool:
        """Execute actions in order; return True if any report was not the planned one."""
        if not actions:
            return False
        placed = 0
        for action in actions:
            self.observer.on_action(action)
            placed += action.kind is ActionKind.PLACE
        self.orders_placed += placed
        self.orders_canceled += len(actions) - placed
        outcomes = self.execution.execute(actions)
        surprised = False
        # Was any outcome not the planned one (placed resting, or cancelled)?
        for action, (report, sent) in zip(actions, outcomes, strict=True):
            if report is None:  # unknown outcome, a failed cancel, or already finished
                surprised = True
            elif action.kind is ActionKind.PLACE:
                surprised |= report.status is not OrderStatus.NEW or report.cum_filled_qty > 0
            else:
                surprised |= report.status is not OrderStatus.CANCELED or not sent
        return self._drain() or surprised

    def checkpoint_progress(self) -> None:
        """Save the price and time reached, if no save has recorded them yet.

        A price update that needs no action saves nothing (under any policy), so the stored
        state can lag the market; a live runner calls this after each batch of candles so
        that ``status`` shows how far the bot got.
        """
        if self.execution.saved_ms != self._state.last_update_ms:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """A new state version (saved under EVERY_CHANGE) that does not alter the decision."""
        self._state.version += 1
        if self._every_change:
            self._save()

    def _save(self) -> None:
        self._state.atr = self.atr.snapshot()
        self._state.risk_layer = self.risk.snapshot()
        self.execution.save(self._state)


def simple_engine(
    config: AppConfig,
    exchange: Exchange,
    store: Store,
    *,
    observer: EngineObserver | None = None,
    checkpoint: CheckpointPolicy = CheckpointPolicy.ON_STOP,
    always_decide: bool = False,
) -> GridEngine:
    """The Simple engine — *Development / Backtest*: the grid engine, direct execution.

    Everything runs in-process and its state is saved through ``store`` as ``checkpoint``
    says: ``ON_STOP`` (the default, for backtests) or ``EVERY_CHANGE`` (write-ahead, for
    runs that must resume). For production trading use the Durable engine
    (``market_maker.durable.execution.durable_engine``).
    """
    return GridEngine(
        config,
        exchange,
        DirectExecution(exchange, store, checkpoint),
        observer=observer,
        always_decide=always_decide,
    )
