"""Candles held compactly, as columns, and made into ``Candle`` objects when read.

A loaded candle used to cost about 600 bytes (the ``Candle`` and its five ``Decimal``
objects), so a long file filled hundreds of megabytes before the first decision. Here a
candle costs about 25 bytes: each of its five values as an integer coefficient (``int32``,
or ``int64`` when a column needs it) and an ``int8`` exponent, and its open time in an
``int64`` array, unless the series has no gap (then the open times are a ``range``).
Reading candle ``i`` builds its decimals again, exactly as parsed: ``Decimal(coefficient) *
10**exponent`` has the same digits *and* exponent as the parsed value (``95505.40`` stays
``95505.40``, not ``95505.4``). A value that does not fit (a coefficient beyond ``int64``,
an exponent beyond ``int8``, a negative zero) is kept as its ``Decimal`` in a side table.

Iterating makes one ``Candle`` per step and keeps none, so a backtest holds one candle at a
time; an open equal to the previous close reuses that ``Decimal``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from decimal import Context, Decimal, getcontext
from typing import overload

from market_maker.domain.market import Candle

_BIG = -128
"""Exponent marking a value kept whole in the side table."""
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_SCALES = {exp: Decimal(f"1E{exp}") for exp in range(-127, 128)}
"""``10**exp`` with coefficient 1, so a product keeps the coefficient and takes ``exp``."""
_EXACT = Context(prec=40)
"""Multiplies exactly (a coefficient has at most 19 digits), whatever the thread's context."""
_MUL = _EXACT.multiply
_SAFE_PRECISION = 19
"""Digits of the largest ``int64`` coefficient: a context this precise multiplies exactly."""


def split_decimal(value: Decimal, text: str | None = None) -> tuple[int, int] | None:
    """``(coefficient, exponent)`` with ``value == coefficient * 10**exponent``, same digits.

    ``text``, when given, is the text ``value`` was parsed from: plain decimal text
    (``"95505.40"``) is split without asking ``value``. Returns ``None`` for a value that
    has no such pair in range (not finite, a negative zero, or an exponent beyond ``int8``).
    """
    if text is not None:
        dot = text.find(".")
        digits = text if dot < 0 else text[:dot] + text[dot + 1 :]
        if digits.isascii() and digits.isdigit():
            return int(digits), (0 if dot < 0 else dot + 1 - len(text))
    if not value.is_finite():
        return None
    sign, digit_tuple, exp = value.as_tuple()
    coefficient = int("".join(map(str, digit_tuple)))
    if (sign and not coefficient) or not isinstance(exp, int) or not _BIG < exp < 128:
        return None
    return (-coefficient if sign else coefficient), exp


class _Column:
    """One value column: coefficients, exponents, and the values that did not fit."""

    __slots__ = ("big", "coefficients", "exponents")

    def __init__(self) -> None:
        self.coefficients = array("i")
        self.exponents = array("b")
        self.big: dict[int, Decimal] = {}

    def append(self, value: Decimal, text: str | None) -> None:
        pair = split_decimal(value, text)
        if pair is not None and _INT64[0] <= pair[0] <= _INT64[1]:
            coefficient, exp = pair
            if not _INT32[0] <= coefficient <= _INT32[1] and self.coefficients.typecode == "i":
                self.coefficients = array("q", self.coefficients)
            self.coefficients.append(coefficient)
            self.exponents.append(exp)
            return
        self.big[len(self.exponents)] = value
        self.coefficients.append(0)
        self.exponents.append(_BIG)

    def get(self, i: int) -> Decimal:
        exp = self.exponents[i]
        if exp == _BIG:
            return self.big[i]
        return _MUL(Decimal(self.coefficients[i]), _SCALES[exp])

    def select(self, indices: Sequence[int]) -> _Column:
        """The column of the rows ``indices``, in that order."""
        out = _Column()
        out.coefficients = array(
            self.coefficients.typecode, (self.coefficients[i] for i in indices)
        )
        out.exponents = array("b", (self.exponents[i] for i in indices))
        out.big = {n: self.big[i] for n, i in enumerate(indices) if i in self.big}
        return out


class CandleColumnsBuilder:
    """Collects parsed rows into columns; ``build`` makes the ``CandleColumns``."""

    def __init__(self) -> None:
        self.open_times = array("q")
        self.columns = tuple(_Column() for _ in range(5))

    def __len__(self) -> int:
        return len(self.open_times)

    def append(
        self,
        open_time_ms: int,
        values: tuple[Decimal, Decimal, Decimal, Decimal, Decimal],
        texts: Sequence[str] | None = None,
    ) -> None:
        """Add one row: its open time and open, high, low, close, volume (and their text)."""
        self.open_times.append(open_time_ms)
        for n, (column, value) in enumerate(zip(self.columns, values, strict=True)):
            column.append(value, None if texts is None else texts[n])

    def build(
        self, symbol: str, interval_s: int, rows: Sequence[int] | None = None
    ) -> CandleColumns:
        """The candles of the rows ``rows`` (indices in the order added; default all)."""
        times: Sequence[int]
        if rows is None or len(rows) == len(self.open_times):
            times, columns = self.open_times, self.columns
        else:
            times = array("q", (self.open_times[i] for i in rows))
            columns = tuple(column.select(rows) for column in self.columns)
        step = interval_s * 1000
        if times and all(ts == times[0] + i * step for i, ts in enumerate(times)):
            times = range(times[0], times[0] + len(times) * step, step)  # no gap: no array
        return CandleColumns(symbol, interval_s, times, columns, range(len(times)))


class CandleColumns(Sequence[Candle]):
    """Candles of one symbol and interval, held as columns; a ``Sequence`` of ``Candle``.

    Indexing and iterating make the ``Candle`` objects; slicing shares the columns.
    """

    __slots__ = ("_columns", "_rows", "_times", "interval_s", "symbol")

    def __init__(
        self,
        symbol: str,
        interval_s: int,
        times: Sequence[int],
        columns: tuple[_Column, ...],
        rows: range,
    ) -> None:
        self.symbol = symbol
        self.interval_s = interval_s
        self._times = times
        self._columns = columns
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Candle: ...

    @overload
    def __getitem__(self, index: slice) -> CandleColumns: ...

    def __getitem__(self, index: int | slice) -> Candle | CandleColumns:
        if isinstance(index, slice):
            return CandleColumns(
                self.symbol, self.interval_s, self._times, self._columns, self._rows[index]
            )
        return self._candle(self._rows[index])  # IndexError, negative indices: the range's

    def _candle(self, i: int) -> Candle:
        o, h, lo, c, v = self._columns
        return Candle(
            self.symbol,
            self._times[i],
            self.interval_s,
            o.get(i),
            h.get(i),
            lo.get(i),
            c.get(i),
            v.get(i),
        )

    def __iter__(self) -> Iterator[Candle]:
        if getcontext().prec < _SAFE_PRECISION:  # a product would round: the exact context
            for i in self._rows:
                yield self._candle(i)
            return
        # The loop of every backtest: values made inline (a call per value costs 10%).
        symbol, interval_s, times, scales, big = (
            self.symbol,
            self.interval_s,
            self._times,
            _SCALES,
            _BIG,
        )
        o, h, lo, c, v = self._columns
        oc, oe, hc, he, lc, le = (
            o.coefficients,
            o.exponents,
            h.coefficients,
            h.exponents,
            lo.coefficients,
            lo.exponents,
        )
        cc, ce, vc, ve = c.coefficients, c.exponents, v.coefficients, v.exponents
        previous = -2
        close = Decimal(0)
        for i in self._rows:
            e = oe[i]
            if e == big:
                opened = o.big[i]
            elif previous == i - 1 and oc[i] == cc[previous] and e == ce[previous]:
                opened = close  # most candles open at the previous close: the same digits
            else:
                opened = Decimal(oc[i]) * scales[e]
            e = he[i]
            high = h.big[i] if e == big else Decimal(hc[i]) * scales[e]
            e = le[i]
            low = lo.big[i] if e == big else Decimal(lc[i]) * scales[e]
            e = ce[i]
            close = c.big[i] if e == big else Decimal(cc[i]) * scales[e]
            e = ve[i]
            volume = v.big[i] if e == big else Decimal(vc[i]) * scales[e]
            previous = i
            yield Candle(symbol, times[i], interval_s, opened, high, low, close, volume)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CandleColumns) and (
            self.symbol,
            self.interval_s,
        ) != (other.symbol, other.interval_s):
            return False
        if not isinstance(other, Sequence) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CandleColumns({self.symbol!r}, {self.interval_s} s, {len(self)} candles)"


__all__ = ["CandleColumns", "CandleColumnsBuilder", "split_decimal"]
