"""Several engine observers as one: an engine takes a single observer; a run has several.

``Observers(tracker, alerts)`` tells each observer of every event, in the order given,
so a run's tracker, its alerts and its metrics watch the same engine without knowing
each other.
"""

from collections.abc import Iterable

from market_maker.domain.orders import OrderAction, OrderUpdate
from market_maker.engine.base import EngineObserver
from market_maker.risk.events import RiskEvent
from market_maker.slots.book import BookedFill


class Observers(EngineObserver):
    """An ``EngineObserver`` that passes every event to each of ``observers`` in turn."""

    def __init__(self, *observers: EngineObserver) -> None:
        self.observers: tuple[EngineObserver, ...] = observers

    @classmethod
    def of(cls, observers: Iterable[EngineObserver | None]) -> EngineObserver:
        """One observer for the given ones (``None`` skipped); a lone one is returned as is."""
        present = [o for o in observers if o is not None]
        return present[0] if len(present) == 1 else cls(*present)

    def on_fill(self, fill: BookedFill) -> None:
        """Tell every observer of the fill."""
        for observer in self.observers:
            observer.on_fill(fill)

    def on_action(self, action: OrderAction) -> None:
        """Tell every observer of the action about to be sent."""
        for observer in self.observers:
            observer.on_action(action)

    def on_risk_event(self, event: RiskEvent) -> None:
        """Tell every observer of the risk event."""
        for observer in self.observers:
            observer.on_risk_event(event)

    def on_unknown_order(self, update: OrderUpdate) -> None:
        """Tell every observer of the report about an unknown order."""
        for observer in self.observers:
            observer.on_unknown_order(update)


__all__ = ["Observers"]
