"""``value``: the decorator of the hot-path value types.

A ``@dataclass(frozen=True)`` instance costs about eight times as much to build as a plain
slotted one (every field goes through ``object.__setattr__``), and a backtest builds
millions of order records, reports and slots. ``value`` makes a class a slotted, hashable
dataclass that the type checker treats as frozen (``dataclass_transform``): assigning to
a field is a type error under ``mypy --strict``, while construction runs at plain speed.
Change a value by building a new one, never by assignment.

The test suite makes them frozen for real: it sets ``STRICT`` before any value type is
defined (``tests/conftest.py``), so an assignment anywhere raises ``FrozenInstanceError``
in every test instead of passing silently.
"""

from dataclasses import dataclass
from typing import TypeVar, dataclass_transform

T = TypeVar("T")

STRICT = False
"""Build truly frozen dataclasses (slower to construct): set by the test suite before any
value type is defined; never changed at run time."""


@dataclass_transform(frozen_default=True)
def value(cls: type[T]) -> type[T]:
    """Make ``cls`` a slotted dataclass with value equality and hashing, frozen for mypy."""
    if STRICT:
        return dataclass(slots=True, frozen=True)(cls)
    return dataclass(slots=True, unsafe_hash=True)(cls)
