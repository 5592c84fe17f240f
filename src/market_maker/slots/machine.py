"""The slot state machine as an explicit transition table.

``transition(status, event)`` returns the next status or raises ``IllegalTransitionError``:
a pair that is not in the table is never silently ignored. Fill booking is separate
(``market_maker.slots.accounting``); this table only governs the order lifecycle.
"""

from market_maker.domain.enums import FastEnum, OrderStatus, SlotStatus
from market_maker.domain.errors import IllegalTransitionError


class SlotEvent(FastEnum):
    """Events that move a slot through its lifecycle (meanings in ``EVENT_MEANINGS``)."""

    SEND = "SEND"
    ACK = "ACK"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"
    CANCELED = "CANCELED"
    REJECT = "REJECT"
    CANCEL_SENT = "CANCEL_SENT"
    RESOLVED_ABSENT = "RESOLVED_ABSENT"
    RELEASE = "RELEASE"


EVENT_MEANINGS: dict[SlotEvent, str] = {
    SlotEvent.SEND: "intent recorded before the exchange call (write-ahead)",
    SlotEvent.ACK: "the exchange reports the order NEW (resting)",
    SlotEvent.PARTIAL_FILL: "the exchange reports a partial fill; the order keeps resting",
    SlotEvent.FILL: "the order is completely filled",
    SlotEvent.CANCELED: "the order was cancelled or expired; partial fills stand",
    SlotEvent.REJECT: "the exchange refused the order",
    SlotEvent.CANCEL_SENT: "we asked the exchange to cancel the order",
    SlotEvent.RESOLVED_ABSENT: "an order of unknown outcome, looked up by client order id, "
    "does not exist",
    SlotEvent.RELEASE: "an operator released a stuck slot after checking the exchange by hand",
}
"""What each event means: one line each, rendered into the technical reference."""


_FREE, _PENDING, _LOCKED = SlotStatus.FREE, SlotStatus.PENDING, SlotStatus.LOCKED

TRANSITIONS: dict[tuple[SlotStatus, SlotEvent], SlotStatus] = {
    (_FREE, SlotEvent.SEND): _PENDING,
    (_PENDING, SlotEvent.ACK): _LOCKED,
    # A fill can be the first thing we hear of an order (the NEW report was lost or is late).
    (_PENDING, SlotEvent.PARTIAL_FILL): _LOCKED,
    (_PENDING, SlotEvent.FILL): _FREE,
    # An order may be cancelled or expire before its acknowledgement reaches us.
    (_PENDING, SlotEvent.CANCELED): _FREE,
    (_PENDING, SlotEvent.REJECT): _FREE,
    (_PENDING, SlotEvent.RESOLVED_ABSENT): _FREE,
    (_PENDING, SlotEvent.RELEASE): _FREE,
    # Duplicate acknowledgements are harmless.
    (_LOCKED, SlotEvent.ACK): _LOCKED,
    (_LOCKED, SlotEvent.PARTIAL_FILL): _LOCKED,
    (_LOCKED, SlotEvent.FILL): _FREE,
    (_LOCKED, SlotEvent.CANCELED): _FREE,
    (_LOCKED, SlotEvent.CANCEL_SENT): _LOCKED,
    (_LOCKED, SlotEvent.RELEASE): _FREE,
}
"""Every legal ``(status, event) -> next status``. Anything else is an error."""

ACTIVE = frozenset({_PENDING, _LOCKED})
"""Statuses in which the slot has an order in flight."""
CANCELLABLE = frozenset({_LOCKED})
"""Statuses in which the slot's order may be cancelled (its exchange identity is known)."""

STATUS_EVENT: dict[OrderStatus, SlotEvent] = {
    OrderStatus.NEW: SlotEvent.ACK,
    OrderStatus.PARTIALLY_FILLED: SlotEvent.PARTIAL_FILL,
    OrderStatus.FILLED: SlotEvent.FILL,
    OrderStatus.CANCELED: SlotEvent.CANCELED,
    OrderStatus.EXPIRED: SlotEvent.CANCELED,
    OrderStatus.REJECTED: SlotEvent.REJECT,
}
"""The slot event an exchange order status implies."""


def transition(status: SlotStatus, event: SlotEvent) -> SlotStatus:
    """Return the status after ``event``; raise ``IllegalTransitionError`` if not allowed."""
    try:
        return TRANSITIONS[status, event]
    except KeyError:
        raise IllegalTransitionError(
            f"slot in status {status.value} cannot take event {event.value}; "
            f"allowed events: {sorted(e.value for (s, e) in TRANSITIONS if s is status)}"
        ) from None
