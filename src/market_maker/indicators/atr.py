"""Average True Range, incremental and exact.

``Atr.update`` costs O(1) per candle whatever the window: a bounded deque of the last
``window`` true ranges with their running sum (simple average), or Wilder's recursive
smoothing after a simple seed. Decimal addition is exact at market magnitudes, so the simple
average carries no drift however long it runs.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from market_maker.domain.decimals import ZERO


class AtrMethod(Enum):
    """How true ranges are averaged."""

    SIMPLE = "simple"
    """Arithmetic mean of the last ``window`` true ranges."""
    WILDER = "wilder"
    """Wilder's smoothing ``atr = (atr * (n - 1) + tr) / n``, seeded by the first simple mean."""


def true_range(high: Decimal, low: Decimal, prev_close: Decimal | None) -> Decimal:
    """True range of a candle: the largest of high-low, |high-prev_close|, |low-prev_close|."""
    span = high - low
    if prev_close is None:
        return span
    return max(span, abs(high - prev_close), abs(low - prev_close))


@dataclass(frozen=True, slots=True)
class AtrSnapshot:
    """Everything needed to resume an ``Atr`` exactly (for checkpoints)."""

    window: int
    method: AtrMethod
    prev_close: Decimal | None
    ranges: tuple[Decimal, ...]
    value: Decimal | None


class Atr:
    """Incremental ATR over closed candles.

    Deterministic and free of I/O; ``value`` is ``None`` until ``window`` candles were seen.
    """

    __slots__ = ("_prev_close", "_ranges", "_total", "method", "value", "window")

    def __init__(self, window: int, method: AtrMethod = AtrMethod.SIMPLE) -> None:
        if window < 1:
            raise ValueError(f"ATR window must be at least 1 candle, found {window}")
        self.window = window
        self.method = method
        self.value: Decimal | None = None
        self._prev_close: Decimal | None = None
        self._ranges: deque[Decimal] = deque(maxlen=window)
        self._total = ZERO

    def update(self, high: Decimal, low: Decimal, close: Decimal) -> Decimal | None:
        """Fold one closed candle in and return the current ATR (``None`` while warming up)."""
        tr = true_range(high, low, self._prev_close)
        self._prev_close = close
        if self.method is AtrMethod.WILDER and self.value is not None:
            self.value = (self.value * (self.window - 1) + tr) / self.window
            return self.value
        if len(self._ranges) == self.window:
            self._total -= self._ranges[0]
        self._ranges.append(tr)
        self._total += tr
        if len(self._ranges) == self.window:
            self.value = self._total / self.window
        return self.value

    def replay(self, candles: Iterable[tuple[Decimal, Decimal, Decimal]]) -> Decimal | None:
        """Fold ``(high, low, close)`` rows in order, as ``update`` one by one would.

        With the simple mean only the last ``window`` true ranges count, so from a longer
        run of rows only the last ``window + 1`` are read (the first for its close): a caller
        may keep just those, and the result is the same as folding every row.
        """
        rows = list(candles)
        if self.method is AtrMethod.SIMPLE and len(rows) > self.window:
            self._prev_close = rows[-self.window - 1][2]
            self._ranges.clear()
            self._total = ZERO
            rows = rows[-self.window :]
        for high, low, close in rows:
            self.update(high, low, close)
        return self.value

    def snapshot(self) -> AtrSnapshot:
        """Capture the state for a checkpoint."""
        return AtrSnapshot(
            self.window, self.method, self._prev_close, tuple(self._ranges), self.value
        )

    @classmethod
    def restore(cls, snap: AtrSnapshot) -> "Atr":
        """Rebuild an ``Atr`` that continues exactly where ``snap`` was taken."""
        atr = cls(snap.window, snap.method)
        atr._prev_close = snap.prev_close
        atr._ranges.extend(snap.ranges)
        atr._total = sum(snap.ranges, ZERO)
        atr.value = snap.value
        return atr
