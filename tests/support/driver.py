"""Drive a SlotBook against an OrderLedger the way an engine does."""

from collections.abc import Sequence

from market_maker.domain.orders import ActionKind, OrderAction
from market_maker.sim.ledger import OrderLedger
from market_maker.slots.book import BookedFill, SlotBook, UpdateResult


def execute(
    book: SlotBook, ledger: OrderLedger, actions: Sequence[OrderAction]
) -> list[UpdateResult]:
    """Write-ahead intent, exchange call, apply the report: for every action in order."""
    results = []
    for action in actions:
        if action.kind is ActionKind.PLACE:
            assert action.place is not None
            book.record_intent(action)
            results.append(book.apply_update(ledger.place(action.place)))
        else:
            book.record_cancel_sent(action.slot_level)
            update = ledger.cancel(action.client_order_id)
            if update is not None:
                results.append(book.apply_update(update))
    return results


def fills_of(results: Sequence[UpdateResult]) -> list[BookedFill]:
    return [f for r in results for f in r.fills]
