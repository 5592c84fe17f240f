"""The engine interface and the observer through which engines report what happened.

Shared by the Simple (development / backtest) and Durable (production) engines.
"""

from decimal import Decimal
from typing import Protocol

from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import OrderAction, OrderUpdate
from market_maker.exchanges.base import Balance
from market_maker.risk.events import RiskEvent
from market_maker.slots.book import BookedFill


class Engine(Protocol):
    """Drives the pure strategy and the slot book from market and order events."""

    def start(self) -> None:
        """Load (or create) the state and get ready to trade."""
        ...

    def stop(self) -> None:
        """Stop deciding and checkpoint the state."""
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
