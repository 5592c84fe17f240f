"""``value``: the decorator of the hot-path value types.

A ``@dataclass(frozen=True)`` instance costs about eight times as much to build as a plain
slotted one (every field goes through ``object.__setattr__``), and a backtest builds
millions of order records, reports and slots. ``value`` makes a class a slotted, hashable
dataclass that the type checker treats as frozen (``dataclass_transform``): assigning to
a field is a type error under ``mypy --strict``, while construction runs at plain speed.
Change a value by building a new one, never by assignment.
"""

from dataclasses import dataclass
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True)
def value(cls: type[T]) -> type[T]:
    """Make ``cls`` a slotted dataclass with value equality and hashing, frozen for mypy."""
    return dataclass(slots=True, unsafe_hash=True)(cls)
