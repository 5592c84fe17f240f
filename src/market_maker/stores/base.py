"""The store interface: load and save the checksummed bot state."""

from typing import Protocol

from market_maker.domain.errors import MarketMakerError, StateIntegrityError
from market_maker.state.model import GridState

REFUSE = (
    "refusing to start from a tampered or corrupted state; "
    "see docs/operations_guide.md#crash-recovery"
)
"""How every integrity error ends: what the bot does, and where the operator reads on."""


class StoreError(MarketMakerError):
    """The store cannot be opened, read or written: not a database, permissions, disk, locks."""


class StoreCorruptError(StoreError, StateIntegrityError):
    """SQLite reports the file damaged or not a database: the state in it cannot be trusted."""


class StaleStateError(StoreError):
    """A save would replace a newer state: another process or a stale copy is writing."""


def check_version_order(
    *, where: str, stored_version: int, stored: bytes, new_version: int, new: bytes
) -> None:
    """Raise ``StaleStateError`` unless ``new`` may replace ``stored``.

    A higher version may; the same version only with the same bytes (an idempotent re-save);
    a lower version never.
    """
    if new_version < stored_version:
        raise StaleStateError(
            f"{where}: refusing to save version {new_version} over the stored version "
            f"{stored_version}: another process or a stale copy of the state is writing; stop "
            "the other writer (one process per bot and symbol) and restart from the store"
        )
    if new_version == stored_version and new != stored:
        raise StaleStateError(
            f"{where}: version {new_version} is already stored with different content: every "
            "change must increment GridState.version, or another process is writing; stop "
            "the other writer and restart from the store"
        )


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
