import itertools

import pytest

from market_maker.domain.enums import OrderStatus, SlotStatus
from market_maker.domain.errors import IllegalTransitionError
from market_maker.slots.machine import STATUS_EVENT, TRANSITIONS, SlotEvent, transition

ALL_PAIRS = list(itertools.product(SlotStatus, SlotEvent))


@pytest.mark.parametrize(("status", "event"), [p for p in ALL_PAIRS if p in TRANSITIONS])
def test_every_listed_transition_is_taken(status: SlotStatus, event: SlotEvent) -> None:
    assert transition(status, event) is TRANSITIONS[status, event]


@pytest.mark.parametrize(("status", "event"), [p for p in ALL_PAIRS if p not in TRANSITIONS])
def test_every_unlisted_pair_raises_and_says_what_is_allowed(
    status: SlotStatus, event: SlotEvent
) -> None:
    with pytest.raises(
        IllegalTransitionError, match=f"{status.value} cannot take event {event.value}"
    ):
        transition(status, event)


def test_write_ahead_is_the_only_way_out_of_free() -> None:
    assert [e for (s, e) in TRANSITIONS if s is SlotStatus.FREE] == [SlotEvent.SEND]


def test_every_exchange_status_maps_to_an_event() -> None:
    assert set(STATUS_EVENT) == set(OrderStatus)


def test_every_event_has_a_meaning() -> None:
    from market_maker.slots.machine import EVENT_MEANINGS

    assert set(EVENT_MEANINGS) == set(SlotEvent)
    assert all(EVENT_MEANINGS.values())
