"""Load OHLCV candles from CSV, Feather or Parquet, checking every row.

Formats, chosen by the file's extension:

- ``.csv`` (and ``.csv.gz``): the header is exactly ``timestamp_ms,open,high,low,close,volume``
  (or ``timestamp,...`` with an ISO-8601 UTC date and time instead of milliseconds);
  ``timestamp_ms`` is the candle's open time in milliseconds since the epoch (UTC). Values
  are parsed from the text straight into ``Decimal``.
- ``.feather`` and ``.parquet``: freqtrade's layout, a ``date`` timestamp column (the open
  time; freqtrade writes ``datetime64[ns, UTC]``) and ``open, high, low, close, volume``
  float64 columns. Each float becomes ``Decimal(str(x))``: its shortest repr, which is the
  decimal the exchange sent (``95505.4`` stays ``Decimal("95505.4")``, while
  ``Decimal(95505.4)`` would carry the binary approximation's 40-odd digits). Integer and
  decimal-string columns are exact too; a float32 value converts through its float64 repr.
  Any timestamp unit works; the open time must be a whole millisecond.

The bar length is inferred as the most common step between consecutive timestamps. Every
bad row is reported with its file and line (``"row N"`` for Feather and Parquet); the
loader collects them all before failing with a ``DataError``.

The candles are held as columns (``candle_columns.CandleColumns``: about 25 bytes a
candle), and the loader keeps no parsed row: each row's values go into the columns as it
is read, and the checks over the whole file need only the open times. A ``Candle`` and
its decimals are made when the series is read, with the digits of the file.
"""

import bisect
import itertools
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from market_maker.data.candle_columns import CandleColumnsBuilder
from market_maker.data.columnar import read_columnar_rows
from market_maker.data.fields import (
    RowError,
    file_problem,
    format_ms,
    open_csv,
    parse_decimal_text,
    parse_int_text,
    to_decimal_value,
)
from market_maker.data.problems import FIX_ROWS, DataError, DataProblem
from market_maker.domain.market import Candle

CSV_HEADER = ("timestamp_ms", "open", "high", "low", "close", "volume")
CSV_ISO_HEADER = ("timestamp", "open", "high", "low", "close", "volume")
"""Also accepted: ``timestamp`` as an ISO-8601 date and time (no offset = UTC), as in the
NautilusTrader test data (``2021-12-31 23:01:00.000000``)."""
"""The exact header of a candle CSV file."""

COLUMNAR_COLUMNS = ("date", "open", "high", "low", "close", "volume")
"""The columns a Feather or Parquet candle file must have (freqtrade's layout)."""

MIN_CANDLES = 2
"""A series needs at least two candles, so that its interval can be inferred."""

_FIX_ROWS = f"{FIX_ROWS} (gaps: --allow-gaps)"
_FORMATS = (".csv", ".csv.gz", ".feather", ".parquet")
_ZERO = Decimal(0)

# The parsed values of a row: open_time_ms, open, high, low, close, volume.
_Values = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]
# Turns a line (CSV) or row (Feather, Parquet) number into the text a problem shows.
_Label = Callable[[int], str]


@dataclass(frozen=True, slots=True)
class CandleSeries:
    """Candles of one symbol, in time order, evenly spaced (unless gaps were allowed).

    Attributes:
        symbol: Unified symbol, as the caller named it (the files do not say).
        interval_s: Bar length in seconds, the most common step between timestamps.
        candles: The candles, strictly increasing in ``open_time_ms`` (``CandleColumns``
            from ``load_candles``: each candle is made when read).
        source: Where they came from (the file path, as given).
        skipped: The bad rows dropped because ``skip_bad_rows`` was set, in file order.
    """

    symbol: str
    interval_s: int
    candles: Sequence[Candle]
    source: str
    skipped: tuple[DataProblem, ...] = ()

    def __len__(self) -> int:
        return len(self.candles)


def load_candles(
    path: Path | str, *, symbol: str, skip_bad_rows: bool = False, allow_gaps: bool = False
) -> CandleSeries:
    """Load and check a candle file.

    Args:
        path: A ``.csv``, ``.csv.gz``, ``.feather`` or ``.parquet`` file.
        symbol: The unified symbol the candles are for (e.g. ``"BTC/USDT"``).
        skip_bad_rows: Drop bad rows (bad values, a timestamp that is not after the previous
            candle's, or one off the interval grid) and list them in ``skipped``, instead of
            failing.
        allow_gaps: Accept missing candles. Gaps are never skipped: without this flag they
            fail the load, including gaps left by dropping bad rows.

    Returns:
        The candles with the inferred interval.

    Raises:
        DataError: The file cannot be read, its header or columns are wrong, it has bad
            rows (unless skipped) or gaps (unless allowed), or fewer than two candles remain.
    """
    path = Path(path)
    file = str(path)
    suffix = next((s for s in _FORMATS if path.name.lower().endswith(s)), None)
    if suffix is None:
        raise file_problem(
            file,
            f"unknown candle file type: expected one of {', '.join(_FORMATS)}",
            "convert the file to CSV with the header " + ",".join(CSV_HEADER),
        )
    rows = _Rows()
    bad: list[tuple[int, str]] = []
    if suffix in {".csv", ".csv.gz"}:
        with open_csv(path, (CSV_HEADER, CSV_ISO_HEADER)) as (header, numbered):
            iso = header == CSV_ISO_HEADER
            for line, raw in numbered:
                try:
                    fields = [str(_iso_ms(raw[0])), *raw[1:]] if iso and raw else raw
                    rows.add(line, _parse_csv_fields(fields), fields[1:])
                except RowError as exc:
                    bad.append((line, str(exc)))
        label: _Label = str
    else:
        for row_number, values in read_columnar_rows(path, suffix, COLUMNAR_COLUMNS):
            try:
                rows.add(row_number, _parse_columnar_values(values), None)
            except RowError as exc:
                bad.append((row_number, str(exc)))
        label = _row_label
    return _assemble(
        rows, bad, symbol=symbol, file=file, label=label, skip=skip_bad_rows, gaps=allow_gaps
    )


class _Rows:
    """The good rows read so far: line numbers and open times, their values in columns.

    ``kept`` lists the rows still in the series (indices in the order read), as the
    checks drop rows; ``line(k)`` and ``kept_times()[k]`` read the ``k``-th kept row.
    """

    __slots__ = ("kept", "lines", "times", "values")

    def __init__(self) -> None:
        self.lines = array("q")
        self.values = CandleColumnsBuilder()
        self.times = self.values.open_times
        self.kept: Sequence[int] = range(0)

    def add(self, line: int, parsed: _Values, texts: Sequence[str] | None) -> None:
        ts, open_, high, low, close, volume = parsed
        self.lines.append(line)
        self.values.append(ts, (open_, high, low, close, volume), texts)
        self.kept = range(len(self.lines))

    def __len__(self) -> int:
        return len(self.kept)

    def line(self, k: int) -> int:
        return self.lines[self.kept[k]]

    def kept_times(self) -> Sequence[int]:
        """The open times of the kept rows, in order (the ``k``-th kept row's at ``k``)."""
        if len(self.kept) == len(self.times):
            return self.times
        return [self.times[i] for i in self.kept]

    def drop(self, positions: list[int]) -> None:
        """Drop the kept rows at ``positions`` (increasing)."""
        if positions:
            kept, gone = self.kept, set(positions)
            self.kept = array("q", (kept[k] for k in range(len(kept)) if k not in gone))


def _iso_ms(text: str) -> int:
    """Milliseconds since the epoch of an ISO-8601 date and time (UTC when no offset)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RowError(
            f"timestamp: expected an ISO-8601 date and time such as 2021-12-31 23:01:00, "
            f"found {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _row_label(row_number: int) -> str:
    return f"row {row_number}"


def _parse_csv_fields(fields: list[str]) -> tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]:
    # The fast path parses without naming fields; only a bad row takes the slow path, which
    # finds the exact field and says what is wrong with it.
    if len(fields) != len(CSV_HEADER):
        raise RowError(
            f"expected {len(CSV_HEADER)} fields ({','.join(CSV_HEADER)}), found {len(fields)}"
        )
    try:
        ts_ms = int(fields[0])
        # A list, not map(): compiled, unpacking an iterator turns its error into ValueError.
        open_, high, low, close, volume = [Decimal(text) for text in fields[1:]]
        good = (
            ts_ms >= 0
            and open_.is_finite()
            and high.is_finite()
            and low.is_finite()
            and close.is_finite()
            and volume.is_finite()
        )
    except (ValueError, ArithmeticError):
        good = False
    if not good:
        ts_ms = parse_int_text(fields[0], "timestamp_ms")
        open_, high, low, close, volume = (
            parse_decimal_text(text, name)
            for text, name in zip(fields[1:], CSV_HEADER[1:], strict=True)
        )
    _check_ohlcv(open_, high, low, close, volume)
    return ts_ms, open_, high, low, close, volume


def _parse_columnar_values(
    values: tuple[object, ...],
) -> tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]:
    date_ns = values[0]
    if not isinstance(date_ns, int):
        kind = "empty" if date_ns is None else f"{date_ns!r}, not a timestamp"
        raise RowError(f"date is {kind}: expected the candle's open time")
    if date_ns < 0 or date_ns % 1_000_000:
        raise RowError(f"date: expected a whole millisecond after 1970, found {date_ns} ns")
    try:  # fast path: floats via their shortest repr; anything odd takes the slow path
        open_, high, low, close, volume = [Decimal(repr(value)) for value in values[1:]]
        good = (
            open_.is_finite()
            and high.is_finite()
            and low.is_finite()
            and close.is_finite()
            and volume.is_finite()
        )
    except ArithmeticError:
        good = False
    if not good:
        open_, high, low, close, volume = (
            to_decimal_value(value, name)
            for value, name in zip(values[1:], COLUMNAR_COLUMNS[1:], strict=True)
        )
    _check_ohlcv(open_, high, low, close, volume)
    return date_ns // 1_000_000, open_, high, low, close, volume


def _check_ohlcv(open_: Decimal, high: Decimal, low: Decimal, close: Decimal, vol: Decimal) -> None:
    if _ZERO < low <= open_ <= high and low <= close <= high and vol >= _ZERO:
        return  # the common case; the checks below name what is wrong
    for name, price in (("open", open_), ("high", high), ("low", low), ("close", close)):
        if price <= _ZERO:
            raise RowError(f"{name}: expected a positive price, found {price}")
    if vol < _ZERO:
        raise RowError(f"volume: expected zero or more, found {vol}")
    if high < low:
        raise RowError(f"high {high} is below low {low}")
    for name, price in (("open", open_), ("close", close)):
        if not low <= price <= high:
            raise RowError(f"{name} {price} is outside [low {low}, high {high}]")


def _assemble(
    rows: _Rows,
    bad: list[tuple[int, str]],
    *,
    symbol: str,
    file: str,
    label: _Label,
    skip: bool,
    gaps: bool,
) -> CandleSeries:
    """Order, interval, grid and gap checks over the rows whose values were good."""
    _increasing(rows, bad)
    if len(rows) < MIN_CANDLES:
        raise _too_few(file, label, bad, skip, len(rows))
    interval_ms = _infer_interval_ms(rows, file)
    _on_grid(rows, interval_ms, bad)
    if len(rows) < MIN_CANDLES:
        raise _too_few(file, label, bad, skip, len(rows))
    # Without skipping, a gap where a bad row stands is that row's problem, not a gap.
    missing = [] if gaps else _gaps(rows, interval_ms, label, [] if skip else bad)
    if missing or (bad and not skip):
        fatal = sorted(missing if skip else missing + bad)
        problems = [DataProblem(file, label(line), message) for line, message in fatal]
        raise DataError(problems, _fix(bad_rows=bool(bad) and not skip, skipped=len(bad)))
    skipped = tuple(DataProblem(file, label(line), message) for line, message in sorted(bad))
    interval_s = interval_ms // 1000
    candles = rows.values.build(symbol, interval_s, rows.kept)
    return CandleSeries(symbol, interval_s, candles, file, skipped)


def _increasing(rows: _Rows, bad: list[tuple[int, str]]) -> None:
    dropped: list[int] = []
    last = -1  # position of the last kept row
    times = rows.kept_times()
    for k in range(len(rows)):
        ts = times[k]
        if last >= 0 and ts <= (previous := times[last]):
            relation = "the same as" if ts == previous else "before"
            bad.append(
                (
                    rows.line(k),
                    f"open time {format_ms(ts)} is {relation} the previous candle's "
                    f"{format_ms(previous)}: expected increasing open times",
                )
            )
            dropped.append(k)
            continue
        last = k
    rows.drop(dropped)


def _infer_interval_ms(rows: _Rows, file: str) -> int:
    times = rows.kept_times()
    steps = Counter(b - a for a, b in itertools.pairwise(times))
    interval_ms = min(steps.items(), key=lambda item: (-item[1], item[0]))[0]
    if interval_ms % 1000:
        hint = " (do the timestamps hold seconds instead of milliseconds?)" * (interval_ms < 1000)
        raise file_problem(
            file,
            f"the most common step between timestamps is {interval_ms} ms: expected a whole "
            f"number of seconds{hint}",
            "write timestamp_ms as milliseconds since the epoch, UTC",
        )
    return interval_ms


def _on_grid(rows: _Rows, interval_ms: int, bad: list[tuple[int, str]]) -> None:
    times = rows.kept_times()
    phase = Counter(ts % interval_ms for ts in times).most_common(1)[0][0]
    dropped: list[int] = []
    for k, ts in enumerate(times):
        if ts % interval_ms != phase:
            bad.append(
                (
                    rows.line(k),
                    f"open time {format_ms(ts)} is off the {interval_ms // 1000} s grid "
                    f"of the other candles (expected a multiple of {interval_ms} ms"
                    f"{f' plus {phase}' if phase else ''})",
                )
            )
            dropped.append(k)
    rows.drop(dropped)


def _gaps(
    rows: _Rows, interval_ms: int, label: _Label, bad: list[tuple[int, str]]
) -> list[tuple[int, str]]:
    bad_lines = sorted(line for line, _ in bad)
    found = []
    times = rows.kept_times()
    for k in range(1, len(times)):
        previous_ts, ts = times[k - 1], times[k]
        step = ts - previous_ts
        if step == interval_ms:
            continue
        line, previous_line = rows.line(k), rows.line(k - 1)
        if bisect.bisect(bad_lines, line) == bisect.bisect(bad_lines, previous_line):
            missing = step // interval_ms - 1
            found.append(
                (
                    line,
                    f"gap: {missing} candle(s) missing after {_where(label, previous_line)}: "
                    f"expected "
                    f"{format_ms(previous_ts + interval_ms)}, found {format_ms(ts)}",
                )
            )
    return found


def _where(label: _Label, line: int) -> str:
    text = label(line)
    return f"line {text}" if text.isdigit() else text


def _too_few(
    file: str, label: _Label, bad: list[tuple[int, str]], skip: bool, count: int
) -> DataError:
    problems = [] if skip else [DataProblem(file, label(line), m) for line, m in sorted(bad)]
    dropped = f" ({len(bad)} bad row(s) not counted)" if bad else ""
    problems.append(
        DataProblem(
            file, "", f"expected at least {MIN_CANDLES} good candles{dropped}, found {count}"
        )
    )
    return DataError(problems, _FIX_ROWS if bad else "add candle rows to the file")


def _fix(*, bad_rows: bool, skipped: int) -> str:
    if bad_rows:
        return _FIX_ROWS
    note = f" ({skipped} bad row(s) were dropped, which may have left gaps)" if skipped else ""
    return f"fill the gaps, or pass --allow-gaps to accept missing candles{note}"
