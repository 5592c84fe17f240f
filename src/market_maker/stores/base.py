"""The store interface: load and save the checksummed bot state."""

from typing import Protocol

from market_maker.state.model import GridState


class Store(Protocol):
    """Where a bot keeps its state between runs.

    ``save`` is atomic: after a crash, ``load`` returns either the previous or the new
    state, never a mix. ``load`` verifies the checksum and raises ``StateIntegrityError`` on a
    corrupted or tampered state, never returning ``None`` for it.
    """

    def load(self) -> GridState | None:
        """The last saved state, or ``None`` when nothing was ever saved."""
        ...

    def save(self, state: GridState) -> None:
        """Persist ``state`` atomically."""
        ...

    def close(self) -> None:
        """Release resources (idempotent)."""
        ...
