"""Engine upkeep: carrying out the reconciler's corrections and the order cleaner's cancels.

Both rules are pure (``market_maker.risk.reconcile``, ``market_maker.risk.cleaner``); this
module performs what they decide through the engine's exchange and book, and logs and
counts every correction. Used by the Simple engine (and by the Durable engine later).
"""

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from market_maker.domain.enums import SlotStatus
from market_maker.domain.instrument import split_symbol
from market_maker.domain.orders import ActionKind, CancelOrderRequest, OrderAction, OrderUpdate
from market_maker.exchanges.base import Exchange, RetryableExchangeError
from market_maker.risk.cleaner import clean_orders
from market_maker.risk.config import RiskConfig
from market_maker.risk.events import RiskEventKind
from market_maker.risk.reconcile import (
    AdoptOrder,
    BookUpdate,
    CancelUnknownOrder,
    Correction,
    CorrectPosition,
    Halt,
    QueryOrder,
    reconcile,
)
from market_maker.state.model import GridState

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Upkeep:
    """Runs reconciliation and cleaning for one engine.

    Attributes:
        config: The risk configuration.
        exchange: Where orders and positions live.
        apply: Books one exchange report (the engine's own path, so fills reach the risk
            layer and the observer).
        halt: Trips the circuit breaker: ``(kind, reason, ts_ms)``.
        corrections: How many corrections of each kind were carried out.
    """

    config: RiskConfig
    exchange: Exchange
    apply: Callable[[OrderUpdate], object]
    halt: Callable[[RiskEventKind, str, int], object]
    corrections: Counter[str] = field(default_factory=Counter)

    def reconcile(self, state: GridState, ts_ms: int) -> None:
        """Compare the exchange with the book and carry out the corrections.

        The first reconciliation of a bot sets its position offset: base currency already
        on the account that the grid does not own. Run again after queries, so the position
        check sees their answers.
        """
        symbol, book = state.symbol, state.book
        base, _ = split_symbol(symbol)
        for _ in range(3):  # later passes check the position once answers are booked
            try:
                open_orders = self.exchange.open_orders(symbol)
                balance = self.exchange.balances().get(base)
            except RetryableExchangeError:
                log.warning("reconciliation skipped: the exchange did not answer")
                return
            actual = balance.total if balance is not None else Decimal(0)
            first = state.position_offset is None  # nothing known yet of base outside the grid
            result = reconcile(
                book.slots,
                bot_id=state.bot_id,
                symbol=symbol,
                open_orders=open_orders,
                config=self.config.reconciler,
                exchange_position=None if first else actual,
                position_offset=state.position_offset or Decimal(0),
            )
            queried = self._carry_out(state, result.corrections, ts_ms)
            if first:
                # Base on the account beyond what the slots hold (after booking what the
                # exchange reported) was there before the grid: it is not the grid's.
                state.position_offset = actual - book.inventory
                continue
            if not queried:
                return

    def _carry_out(self, state: GridState, corrections: Sequence[Correction], ts_ms: int) -> bool:
        """Perform the corrections; return True when an order was looked up."""
        book, queried = state.book, False
        for correction in corrections:
            self.corrections[type(correction).__name__] += 1
            log.warning("reconciliation: %s", correction.reason)
            if isinstance(correction, BookUpdate):
                self.apply(correction.update)
            elif isinstance(correction, AdoptOrder):
                book.adopt(correction.update, correction.role, correction.generation)
                self.apply(correction.update)
            elif isinstance(correction, CancelUnknownOrder):
                self._cancel_unknown(state.symbol, correction)
            elif isinstance(correction, QueryOrder):
                queried = True
                self._query(state, correction)
            elif isinstance(correction, CorrectPosition):
                assert state.position_offset is not None
                state.position_offset += correction.actual - correction.expected
            elif isinstance(correction, Halt):
                self.halt(RiskEventKind.POSITION_DIVERGENCE, correction.reason, ts_ms)
        return queried

    def clean(self, state: GridState, price: Decimal, ts_ms: int) -> list[OrderAction]:
        """Cancels the order cleaner asks for, as actions for the engine to execute."""
        placed = {
            o.client_order_id: o.placed_ms
            for s in state.book.slots.values()
            if (o := s.active_order) is not None and o.placed_ms
        }
        cancels = clean_orders(
            state.book.slots,
            now_ms=ts_ms,
            price=price,
            config=self.config.cleaner,
            placed_at_ms=placed,
        )
        actions = []
        for cancel in cancels:
            self.corrections["OrderCleaner"] += 1
            log.info("order cleaner: %s %s", cancel.client_order_id, cancel.reason)
            actions.append(
                OrderAction(ActionKind.CANCEL, cancel.level, cancel=cancel.to_request(state.symbol))
            )
        return actions

    def _cancel_unknown(self, symbol: str, correction: CancelUnknownOrder) -> None:
        request = CancelOrderRequest(symbol, correction.client_order_id, correction.order_id)
        try:
            self.exchange.cancel_order(request)
        except RetryableExchangeError:
            log.warning(
                "cancel of unknown order %s failed; next reconciliation retries",
                correction.client_order_id,
            )

    def _query(self, state: GridState, correction: QueryOrder) -> None:
        try:
            found = self.exchange.get_order(state.symbol, correction.client_order_id)
        except RetryableExchangeError:
            log.warning(
                "lookup of %s failed; next reconciliation retries", correction.client_order_id
            )
            return
        if found is not None:
            self.apply(found)
            return
        slot = state.book.slots.get(correction.level)
        if slot is not None and slot.status is SlotStatus.PENDING:
            state.book.resolve_absent(correction.client_order_id)
        elif slot is not None and slot.status is SlotStatus.LOCKED:
            state.book.release(correction.level, "absent on the exchange (reconciler)")
