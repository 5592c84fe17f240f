"""The engine interface and the observer through which engines report what happened.

Shared by the Simple (development / backtest) and Durable (production) engines.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import OrderAction, OrderUpdate
from market_maker.exchanges.base import Balance
from market_maker.risk.events import RiskEvent
from market_maker.slots.book import BookedFill
from market_maker.slots.model import Slot
from market_maker.state.model import GridState

if TYPE_CHECKING:
    from market_maker.engine.upkeep import CorrectionRecord


class Engine(Protocol):
    """Drives the pure strategy and the slot book from market and order events.

    The type every runner and command works with (``market_maker.engine.grid.GridEngine``
    implements it, with either execution). Events come one at a time from one thread; the
    operator verbs are called between events, never concurrently with one.
    """

    orders_placed: int
    """Orders sent so far by this process."""
    orders_canceled: int
    """Cancels sent so far by this process."""
    decisions: int
    """Decisions taken so far by this process."""

    @property
    def state(self) -> GridState:
        """The bot's state (book, prices, risk state, version); read it, never mutate it."""
        ...

    @property
    def corrections(self) -> Mapping[str, int]:
        """Reconciliation and cleaning corrections carried out, by kind."""
        ...

    @property
    def reconciliations(self) -> int:
        """Reconciliations run so far by this process (start-up and periodic)."""
        ...

    @property
    def rereads(self) -> int:
        """Reads of the exchange a reconciliation repeated because a fill landed among them."""
        ...

    def start(self) -> None:
        """Load (or create) the state and get ready to trade."""
        ...

    def stop(self) -> None:
        """Stop deciding and checkpoint the state."""
        ...

    def abort(self) -> None:
        """Stop without saving, after a failure (storage holds the last checkpoint)."""
        ...

    def checkpoint_progress(self) -> None:
        """Save the price and time reached if no save has recorded them yet."""
        ...

    def on_candle(self, candle: Candle) -> None:
        """A candle closed (indicators, risk)."""
        ...

    def on_price_update(self, update: PriceUpdate) -> None:
        """A new price: run a decision cycle."""
        ...

    def on_order_update(self, update: OrderUpdate) -> None:
        """An exchange report about one of our orders."""
        ...

    def on_account_update(self, balances: dict[str, Balance]) -> None:
        """Balances changed."""
        ...

    def on_position_update(self, position: Decimal) -> None:
        """The exchange's position changed (derivatives)."""
        ...

    # -- operator verbs (see the operations guide) -----------------------------------------

    def reset_risk(self, ts_ms: int) -> None:
        """Leave RISK_MODE and HALTED."""
        ...

    def reset_breaker(self, ts_ms: int) -> None:
        """Close the circuit breaker only (leave HALTED; a risk mode stays)."""
        ...

    def halt(self, reason: str, ts_ms: int) -> None:
        """Trip the circuit breaker by hand (only ``reset_risk`` ends it)."""
        ...

    def preview_reconcile(self) -> "list[CorrectionRecord]":
        """What a reconciliation would correct now, carrying nothing out."""
        ...

    def reconcile_now(self) -> "list[CorrectionRecord]":
        """Reconcile now; the corrections carried out."""
        ...

    @property
    def recent_corrections(self) -> "list[CorrectionRecord]":
        """The latest corrections carried out, oldest first."""
        ...

    def release_slot(self, level: Decimal) -> Slot:
        """Free a stuck slot after looking its order up on the exchange.

        Refused while the exchange holds the order open.
        """
        ...

    def cancel_openings(self) -> int:
        """Cancel every resting opening order; return how many cancels were sent."""
        ...

    def status(self) -> dict[str, Any]:
        """The read model of the bot (``market_maker.state.views.state_view``) as plain data."""
        ...


class EngineObserver:
    """Receives what an engine did. The default does nothing; reports subclass it."""

    def on_fill(self, fill: BookedFill) -> None:
        """A fill was booked."""

    def on_action(self, action: OrderAction) -> None:
        """An action is about to be sent to the exchange."""

    def on_risk_event(self, event: RiskEvent) -> None:
        """The risk state changed (monitor, breaker, reconciler or operator)."""

    def on_unknown_order(self, update: OrderUpdate) -> None:
        """A report about an order the book does not know (handed to reconciliation)."""
