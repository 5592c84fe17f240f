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
time. It walks the arrays side by side and makes each value as ``10**exponent`` times its
coefficient; a value with the same digits as one already made (an open equal to the previous
close, a high or low equal to the open or close: a quarter of all values in Binance's 1-minute
files) reuses that ``Decimal``. A series with a value kept whole (rare) is read candle by
candle instead, each value looked up in its column.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from decimal import Context, Decimal, getcontext
from itertools import islice, repeat
from operator import sub
from typing import Final, overload

from market_maker.domain.market import Candle

_BIG = -128
"""Exponent marking a value kept whole in the side table."""
_2_31: Final = 2**31
_2_63: Final = 2**63
_SCALES = {exp: Decimal(f"1E{exp}") for exp in range(-127, 128)}
"""``10**exp`` with coefficient 1, so a product keeps the coefficient and takes ``exp``."""
_SCALE_BY_EXP = tuple(_SCALES.get(exp, Decimal(0)) for exp in range(-128, 128))
"""``_SCALES`` as a tuple: ``10**exp`` at ``exp + 128`` (a tuple is indexed natively)."""
_EXACT = Context(prec=40)
"""Multiplies exactly (a coefficient has at most 19 digits), whatever the thread's context."""
_MUL = _EXACT.multiply
_SAFE_PRECISION = 19
"""Digits of the largest ``int64`` coefficient: a context this precise multiplies exactly."""


def split_decimal(value: Decimal) -> tuple[int, int] | None:
    """``(coefficient, exponent)`` with ``value == coefficient * 10**exponent``, same digits.

    Returns ``None`` for a value that has no such pair in range (not finite, a negative
    zero, or an exponent beyond ``int8``).
    """
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

    def append(self, value: Decimal) -> None:
        """Add ``value``."""
        pair = split_decimal(value)
        if pair is not None:
            coefficient, exp = pair
            if not -_2_31 <= coefficient < _2_31:  # rare: a wider array, or the side table
                if not -_2_63 <= coefficient < _2_63:
                    self._append_big(value)
                    return
                if self.coefficients.typecode == "i":
                    self.coefficients = array("q", self.coefficients)
            self.coefficients.append(coefficient)
            self.exponents.append(exp)
            return
        self._append_big(value)

    def extend(self, values: Sequence[Decimal], texts: Sequence[str]) -> None:
        """Add ``values``, parsed from ``texts``: like ``append`` for each, split in bulk.

        Plain decimal text ("95505.40") is split with a few passes over the whole batch
        instead of a call per value; a batch with anything else (a sign, an exponent, a
        value beyond ``int64`` or ``int8``) goes through ``append`` value by value, which
        splits the value itself and gives the same digits and exponent.
        """
        # Passes of C-level ``map`` over the batch: no Python code runs per value.
        dots = list(map(str.find, texts, repeat(".")))
        digits = list(map(str.replace, texts, repeat("."), repeat(""), repeat(1)))
        joined = "".join(digits)
        if digits and all(digits) and joined.isascii() and joined.isdigit():
            coefficients = list(map(int, digits))
            # The exponent is minus the digits after the dot: dot - len(digits) with a dot.
            exponents = list(map(sub, dots, map(len, digits)))
            if min(dots) < 0:  # whole numbers ("95000"): exponent 0
                exponents = [
                    0 if dot < 0 else exp for dot, exp in zip(dots, exponents, strict=True)
                ]
            widest = max(coefficients)
            if widest < _2_63 and min(exponents) > _BIG and max(exponents) < 128:
                if widest >= _2_31 and self.coefficients.typecode == "i":
                    self.coefficients = array("q", self.coefficients)
                self.coefficients.extend(coefficients)
                self.exponents.extend(exponents)
                return
        for value in values:
            self.append(value)

    def _append_big(self, value: Decimal) -> None:
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
    """Collects parsed rows into columns; ``build`` makes the ``CandleColumns``.

    Rows given with their text wait in a batch of at most ``BATCH`` rows, whose columns are
    then split in bulk (``_Column.extend``): a call per value was most of the loading time.
    """

    BATCH: Final = 512
    """Rows held before their values are split into the columns."""

    def __init__(self) -> None:
        self.open_times = array("q")
        self.columns = tuple(_Column() for _ in range(5))
        self._values: list[tuple[Decimal, Decimal, Decimal, Decimal, Decimal]] = []
        self._texts: list[Sequence[str]] = []

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
        if texts is None:
            self._flush()  # the rows keep their order
            for column, value in zip(self.columns, values, strict=True):
                column.append(value)
        else:
            if len(texts) != 5:
                raise ValueError(f"expected the texts of 5 values, found {len(texts)}")
            self._values.append(values)
            self._texts.append(texts)
            if len(self._texts) >= self.BATCH:
                self._flush()

    def _flush(self) -> None:
        """Split the waiting rows into the columns."""
        if not self._texts:
            return
        values, texts = self._values, self._texts
        self._values, self._texts = [], []
        for column, column_values, column_texts in zip(
            self.columns, zip(*values, strict=True), zip(*texts, strict=True), strict=True
        ):
            column.extend(column_values, column_texts)

    def build(
        self, symbol: str, interval_s: int, rows: Sequence[int] | None = None
    ) -> CandleColumns:
        """The candles of the rows ``rows`` (indices in the order added; default all)."""
        self._flush()
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
        rows = self._rows
        if (
            getcontext().prec < _SAFE_PRECISION
            or rows.step != 1
            or any(column.big for column in self._columns)
        ):
            # A product would round, a stepped slice, or values kept whole (rare): made
            # one by one.
            return map(self._candle, rows)
        return self._walk(rows.start, rows.stop)

    def _walk(self, start: int, stop: int) -> Iterator[Candle]:
        """The candles of rows ``start`` to ``stop``, made one at a time (no value kept whole)."""
        # The loop of every backtest. The columns are walked side by side (indexing the
        # arrays boxes every index: a quarter of the loop), each value made inline as
        # 10**exponent times its coefficient (Decimal * int keeps both; a call per value
        # would cost a tenth).
        symbol, interval_s = self.symbol, self.interval_s
        scales, times = _SCALE_BY_EXP, self._times
        o, h, lo, c, v = self._columns
        previous, previous_exp, close = _2_63, _BIG, Decimal(0)  # no previous close
        # Typed here: zip of eleven is tuple[Any, ...] to mypy, so mypyc would box them all.
        ts: int
        oc: int
        oe: int
        hc: int
        he: int
        lc: int
        le: int
        cc: int
        ce: int
        vc: int
        ve: int
        # All the same length; ``strict=`` would lose mypyc's native parallel loop.
        for ts, oc, oe, hc, he, lc, le, cc, ce, vc, ve in zip(  # noqa: B905
            times[start:stop] if isinstance(times, range) else islice(times, start, stop),
            islice(o.coefficients, start, stop),
            islice(o.exponents, start, stop),
            islice(h.coefficients, start, stop),
            islice(h.exponents, start, stop),
            islice(lo.coefficients, start, stop),
            islice(lo.exponents, start, stop),
            islice(c.coefficients, start, stop),
            islice(c.exponents, start, stop),
            islice(v.coefficients, start, stop),
            islice(v.exponents, start, stop),
        ):
            # Most candles open at the previous close: the same digits, the same Decimal.
            opened = close if oc == previous and oe == previous_exp else scales[oe + 128] * oc
            # A third of highs and of lows are the open or the close: the same digits again.
            close = opened if cc == oc and ce == oe else scales[ce + 128] * cc
            if he == oe and hc == oc:
                high = opened
            elif he == ce and hc == cc:
                high = close
            else:
                high = scales[he + 128] * hc
            if le == oe and lc == oc:
                low = opened
            elif le == ce and lc == cc:
                low = close
            else:
                low = scales[le + 128] * lc
            previous, previous_exp = cc, ce
            yield Candle(symbol, ts, interval_s, opened, high, low, close, scales[ve + 128] * vc)

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
