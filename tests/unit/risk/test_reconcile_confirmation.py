"""Reconciler: a position divergence is acted on only once it persists."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from market_maker.domain.enums import SlotStatus
from market_maker.risk.config import ReconcilerConfig
from market_maker.risk.reconcile import CorrectPosition, Halt, SuspectDivergence, reconcile
from market_maker.slots.model import Slot

D = Decimal
BOT, SYMBOL = "rk1", "BTC/USDT"


def holder(position: str) -> dict[Decimal, Slot]:
    return {D(90): Slot(D(90), status=SlotStatus.FREE, position_qty=D(position))}


def verdict(position: str, actual: str, seen_before: int, confirmations: int) -> object:
    result = reconcile(
        holder(position),
        bot_id=BOT,
        symbol=SYMBOL,
        open_orders=[],
        config=ReconcilerConfig(divergence_confirmations=confirmations),
        exchange_position=D(actual),
        divergent_checks=seen_before,
    )
    assert result.position_checked
    if not result.corrections:
        return None
    (correction,) = result.corrections
    if isinstance(correction, SuspectDivergence):
        assert result.suspect is correction and result.halt is None
    return correction


def test_a_first_divergence_is_only_suspected_with_the_default_confirmations() -> None:
    suspect = verdict("10", "9", 0, ReconcilerConfig().divergence_confirmations)
    assert isinstance(suspect, SuspectDivergence)
    assert (suspect.expected, suspect.actual, suspect.divergence_pct) == (D(10), D(9), 10)
    assert (suspect.seen, suspect.needed) == (1, 2)
    assert "seen 1 of the 2 consecutive times" in suspect.reason
    assert "reading the exchange again" in suspect.reason


def test_the_confirming_check_halts_or_corrects_as_the_size_says() -> None:
    assert isinstance(verdict("10", "9", 1, 2), Halt)
    assert isinstance(verdict("10", "10.1", 1, 2), CorrectPosition)
    assert isinstance(verdict("10", "9", 0, 1), Halt)  # 1 = act on the first


def test_no_divergence_needs_nothing_whatever_came_before() -> None:
    assert verdict("10", "10", 3, 2) is None


@given(
    confirmations=st.integers(1, 10),
    seen_before=st.integers(0, 12),
    actual=st.decimals("-20", "20", places=3),
)
def test_nothing_is_acted_on_before_the_confirmations(
    confirmations: int, seen_before: int, actual: Decimal
) -> None:
    correction = verdict("10", str(actual), seen_before, confirmations)
    if actual == 10:
        assert correction is None
    elif seen_before + 1 < confirmations:
        assert isinstance(correction, SuspectDivergence)
    else:
        assert isinstance(correction, (Halt, CorrectPosition))


@pytest.mark.parametrize("bad", [0, 11, "two"])
def test_divergence_confirmations_is_validated(bad: object) -> None:
    with pytest.raises(ValidationError, match="divergence_confirmations"):
        ReconcilerConfig(divergence_confirmations=bad)  # type: ignore[arg-type]
