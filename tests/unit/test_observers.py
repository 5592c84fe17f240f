"""Several engine observers as one: each hears every event, in the order given."""

from decimal import Decimal

from market_maker.domain.enums import OrderStatus, RiskState, Side
from market_maker.domain.orders import ActionKind, CancelOrderRequest, OrderAction, OrderUpdate
from market_maker.engine.base import EngineObserver
from market_maker.engine.observers import Observers
from market_maker.risk.events import RiskEvent, RiskEventKind
from market_maker.slots.book import BookedFill


class Heard(EngineObserver):
    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name, self.log = name, log

    def on_fill(self, fill: BookedFill) -> None:
        self.log.append((self.name, "fill"))

    def on_action(self, action: OrderAction) -> None:
        self.log.append((self.name, "action"))

    def on_risk_event(self, event: RiskEvent) -> None:
        self.log.append((self.name, "risk"))

    def on_unknown_order(self, update: OrderUpdate) -> None:
        self.log.append((self.name, "unknown"))


def test_every_observer_hears_every_event_in_order() -> None:
    log: list[tuple[str, str]] = []
    first, second = Heard("tracker", log), Heard("alerts", log)
    both = Observers.of([first, None, second])
    one = Decimal(1)
    both.on_action(OrderAction(ActionKind.CANCEL, one, cancel=CancelOrderRequest("B/Q", "x")))
    both.on_fill(BookedFill(1, one, "x", Side.BUY, one, one, one, one, None, ""))
    both.on_risk_event(
        RiskEvent.of(1, RiskEventKind.OPERATOR_HALT, RiskState.NORMAL, "maintenance")
    )
    both.on_unknown_order(OrderUpdate("B/Q", "1", "y", Side.BUY, OrderStatus.NEW, one, one))
    assert log == [
        (name, event)
        for event in ("action", "fill", "risk", "unknown")
        for name in ("tracker", "alerts")
    ]


def test_a_lone_observer_is_used_as_it_is() -> None:
    tracker = Heard("tracker", [])
    assert Observers.of([None, tracker]) is tracker
