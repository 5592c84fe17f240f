"""Engine upkeep: carrying out the reconciler's corrections and the order cleaner's cancels.

Both rules are pure (``market_maker.risk.reconcile``, ``market_maker.risk.cleaner``); this
module performs what they decide through the engine's exchange and book, and logs and
counts every correction. Used by the Simple and the Durable engine.

**Consistent reads.** A venue serves its trade list, open orders and balances from separate
endpoints, so a fill can land between two reads: open orders from before it and balances
from after it look like a position divergence. The reconciler therefore reads, in this
order, the trade list after the last trade it booked (``GridState.last_trade_id``), the
open orders, the balances, and the trade list once more. When the second look finds a
newer trade, a fill landed somewhere among the reads: it reads everything again (at most
``MAX_READS`` times). Only a read that no fill interrupted is compared for the position;
order corrections (booking, adopting, cancelling, lookups) are safe on any read, because
every order report is cumulative. A divergence must then persist over
``risk.reconciler.divergence_confirmations`` consecutive consistent reads (each a fresh
read) before it is corrected or halts: that covers a venue whose endpoints lag each other
for a moment. After a consistent check that did not halt, the newest trade id read is the
new ``last_trade_id`` (saved with the state, so a restart reads on from it).
"""

import logging
from collections import Counter, deque
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

MAX_READS = 5
"""Reads of the exchange one reconciliation pass makes while fills keep landing among them."""

TRADE_PAGE = 1000
"""Own trades asked for per request while reading the trade list on."""

QUERY_PASSES = 3
"""Passes a reconciliation may spend re-checking after order lookups (and the first offset)."""

HISTORY = 200
"""Corrections the upkeep remembers (newest last) for operators and the dashboard."""


@dataclass(frozen=True, slots=True)
class CorrectionRecord:
    """One correction the reconciler or the order cleaner decided, for operators.

    Attributes:
        kind: The correction's kind (``BookUpdate``, ``AdoptOrder``, ``CancelUnknownOrder``,
            ``QueryOrder``, ``CorrectPosition``, ``Halt``, ``SuspectDivergence``,
            ``OrderCleaner``).
        reason: Why, in words.
        ts_ms: Market time it was decided at.
    """

    kind: str
    reason: str
    ts_ms: int

    def as_json(self) -> dict[str, object]:
        """Plain data."""
        return {"kind": self.kind, "reason": self.reason, "ts_ms": self.ts_ms}


@dataclass(frozen=True, slots=True)
class Reading:
    """One read of the exchange: open orders, the position, and the trade list's end.

    Attributes:
        open_orders: Every resting order on the symbol.
        position: Base currency on the account (signed position on derivatives).
        newest_trade_id: The newest own trade id seen (``None``: no trade yet).
        settled: True when no fill landed among the reads (the trade list did not move
            between the first and the last of them): open orders and position agree.
    """

    open_orders: list[OrderUpdate]
    position: Decimal
    newest_trade_id: int | None
    settled: bool


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
        runs: Reconciliations started (at start-up and periodic), skipped ones included.
        rereads: Reads of the exchange repeated because a fill landed among them.
        history: The latest corrections carried out, oldest first (at most ``HISTORY``).
    """

    config: RiskConfig
    exchange: Exchange
    apply: Callable[[OrderUpdate], object]
    halt: Callable[[RiskEventKind, str, int], object]
    corrections: Counter[str] = field(default_factory=Counter)
    runs: int = 0
    rereads: int = 0
    history: deque[CorrectionRecord] = field(default_factory=lambda: deque(maxlen=HISTORY))

    def reconcile(self, state: GridState, ts_ms: int) -> None:
        """Read the exchange consistently, compare it with the book, carry out the corrections.

        The first reconciliation of a bot sets its position offset: base currency already
        on the account that the grid does not own. Reads again after lookups (so the
        position check sees their answers) and after an unconfirmed divergence (module doc).
        """
        self.runs += 1
        symbol, book = state.symbol, state.book
        base, _ = split_symbol(symbol)
        config = self.config.reconciler
        divergent = 0  # consecutive consistent checks that found a divergence
        for _ in range(QUERY_PASSES + config.divergence_confirmations):
            try:
                reading = self.read(symbol, base, state.last_trade_id)
            except RetryableExchangeError:
                log.warning("reconciliation skipped: the exchange did not answer")
                return
            first = state.position_offset is None  # nothing known yet of base outside the grid
            check = reading.settled and not first
            result = reconcile(
                book.slots,
                bot_id=state.bot_id,
                symbol=symbol,
                open_orders=reading.open_orders,
                config=config,
                exchange_position=reading.position if check else None,
                position_offset=state.position_offset or Decimal(0),
                divergent_checks=divergent,
            )
            if self._carry_out(state, result.corrections, ts_ms):
                continue  # check the position once the answers are booked, on a new read
            if not reading.settled:
                log.warning(
                    "reconciliation: fills kept landing between the reads of trades, open "
                    "orders and balances (%d reads); the position is checked next time",
                    MAX_READS,
                )
                return
            if first:
                # Base on the account beyond what the slots hold (after booking what the
                # exchange reported) was there before the grid: it is not the grid's.
                state.position_offset = reading.position - book.inventory
                state.last_trade_id = reading.newest_trade_id
                continue
            if result.suspect is not None:
                divergent += 1
                continue
            if result.halt is None:
                state.last_trade_id = reading.newest_trade_id
            return

    def preview(self, state: GridState) -> list[CorrectionRecord]:
        """What a reconciliation would correct now, carrying nothing out (a dry run).

        One consistent read, compared with the book as the reconciler compares it; a
        position divergence is reported as the correction it gets once confirmed (a real
        run confirms it over ``divergence_confirmations`` fresh reads before acting).

        Raises:
            RetryableExchangeError: The exchange did not answer.
        """
        base, _ = split_symbol(state.symbol)
        reading = self.read(state.symbol, base, state.last_trade_id)
        check = reading.settled and state.position_offset is not None
        config = self.config.reconciler
        result = reconcile(
            state.book.slots,
            bot_id=state.bot_id,
            symbol=state.symbol,
            open_orders=reading.open_orders,
            config=config,
            exchange_position=reading.position if check else None,
            position_offset=state.position_offset or Decimal(0),
            divergent_checks=config.divergence_confirmations,
        )
        ts = state.last_update_ms
        found = [CorrectionRecord(type(c).__name__, c.reason, ts) for c in result.corrections]
        if result.suspect is not None:
            found.append(CorrectionRecord("SuspectDivergence", result.suspect.reason, ts))
        if not reading.settled:
            found.append(CorrectionRecord("Unsettled", "fills kept landing among the reads", ts))
        return found

    def read(self, symbol: str, base: str, after_id: int | None) -> Reading:
        """Trade list, open orders, balances, trade list: again while fills land among them."""
        exchange = self.exchange
        for _ in range(MAX_READS):
            newest = self._trade_list_end(symbol, after_id)
            open_orders = exchange.open_orders(symbol)
            balance = exchange.balances().get(base)
            position = balance.total if balance is not None else Decimal(0)
            if not exchange.own_trades(symbol, newest, 1):
                return Reading(open_orders, position, newest, settled=True)
            self.rereads += 1
            log.info("reconciliation: a fill landed among the reads; reading again")
            after_id = newest
        return Reading(open_orders, position, newest, settled=False)

    def _trade_list_end(self, symbol: str, after_id: int | None) -> int | None:
        """The newest own trade id: ``after_id``, or the last of the trades listed after it."""
        newest = after_id
        while page := self.exchange.own_trades(symbol, newest, TRADE_PAGE):
            newest = page[-1].trade_id
            if len(page) < TRADE_PAGE:
                break
        return newest

    def _carry_out(self, state: GridState, corrections: Sequence[Correction], ts_ms: int) -> bool:
        """Perform the corrections; return True when an order was looked up."""
        book, queried = state.book, False
        for correction in corrections:
            kind = type(correction).__name__
            self.corrections[kind] += 1
            self.history.append(CorrectionRecord(kind, correction.reason, ts_ms))
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
            # SuspectDivergence: nothing to do but read again (``reconcile``).
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
            self.history.append(CorrectionRecord("OrderCleaner", cancel.reason, ts_ms))
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
