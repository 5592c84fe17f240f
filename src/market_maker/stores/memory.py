"""In-memory store for backtests, research and tests (Simple engine: development / backtest).

It keeps the snapshot *bytes*, not the live object: every ``load`` decodes and verifies them
exactly as the SQLite store does, so a loaded state is an independent copy (mutating it, or
the state that was saved, changes nothing stored) and a run on this store exercises the same
serialization and checksum path as a run on a durable one. It applies the same version rule
as ``SqliteStore`` too, so code that passes on one store cannot fail on the other for it.
"""

from types import TracebackType

from market_maker.state import snapshot
from market_maker.state.model import GridState
from market_maker.stores.base import StoreError, check_version_order


class MemoryStore:
    """Keeps the last saved snapshot of one bot in memory; lost when the process ends."""

    def __init__(self) -> None:
        self._data: bytes | None = None
        self._version = 0
        self._closed = False

    def load(self) -> GridState | None:
        """Decode and verify the last saved snapshot; ``None`` when nothing was saved.

        Raises:
            StateIntegrityError: The stored bytes fail verification.
            StoreError: The store was closed.
        """
        self._check_open()
        return None if self._data is None else snapshot.load(self._data)

    def save(self, state: GridState) -> None:
        """Replace the stored snapshot with ``state``'s.

        Raises:
            StaleStateError: ``state.version`` is lower than the stored one, or equal to it
                with different content.
            StoreError: The store was closed.
        """
        self._check_open()
        data = snapshot.serialize(state)
        if self._data is not None:
            check_version_order(
                where="memory store",
                stored_version=self._version,
                stored=self._data,
                new_version=state.version,
                new=data,
            )
        self._data, self._version = data, state.version

    def close(self) -> None:
        """Mark the store closed; the snapshot is dropped. Idempotent."""
        self._closed = True
        self._data = None

    def __enter__(self) -> "MemoryStore":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory store is closed; open a new store to load or save")
