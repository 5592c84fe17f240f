"""In the test suite every value type is frozen for real (see tests/conftest.py)."""

import dataclasses
from decimal import Decimal

import pytest

from market_maker.domain.enums import OrderRole, Side
from market_maker.domain.market import Candle
from market_maker.slots.model import Slot
from market_maker.strategy.target import TargetOrder


def test_assigning_to_a_value_raises_in_the_tests() -> None:
    order = TargetOrder(Decimal(1), Side.BUY, OrderRole.OPEN, Decimal(1), Decimal(1), True, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.price = Decimal(2)  # type: ignore[misc]
    slot = Slot(Decimal(100))
    with pytest.raises(dataclasses.FrozenInstanceError):
        slot.position_qty = Decimal(1)  # type: ignore[misc]
    candle = Candle("BTC/USDT", 0, 60, *(Decimal(1),) * 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        candle.close = Decimal(2)  # type: ignore[misc]


def test_frozen_values_still_hash_and_compare_by_value() -> None:
    a = Slot(Decimal(100))
    assert a == Slot(Decimal(100)) and hash(a) == hash(Slot(Decimal(100)))
    assert dataclasses.replace(a, position_qty=Decimal(1)) != a
