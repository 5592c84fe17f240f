"""Field parsing shared by the market-data loaders.

CSV text is parsed straight into ``Decimal`` (never through ``float``), so every digit in
the file survives. Values read from Feather or Parquet float64 columns are converted with
``Decimal(str(x))``: ``str`` of a float is its shortest round-tripping repr, which is the
decimal the exchange sent (``95505.4`` stays ``Decimal("95505.4")``, not
``95505.399999999994179233908653259277343750``).
"""

import csv
import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from market_maker.data.problems import DataError, DataProblem

if TYPE_CHECKING:
    from _csv import Reader


class RowError(Exception):
    """One row cannot be used; the message says what was expected and what was found."""


def parse_decimal_text(text: str, field: str) -> Decimal:
    """Parse CSV text into an exact, finite Decimal.

    Raises:
        RowError: The text is empty, not a number, NaN or infinite.
    """
    try:
        value = Decimal(text)
    except InvalidOperation:
        if not text.strip():
            raise RowError(f"{field} is empty: expected a decimal number") from None
        raise RowError(f"{field}: expected a decimal number, found {text!r}") from None
    if not value.is_finite():
        raise RowError(f"{field}: expected a finite number, found {text!r}")
    return value


def to_decimal_value(value: object, field: str) -> Decimal:
    """Convert a value read from a Feather or Parquet column into an exact, finite Decimal.

    Floats go through ``str`` (their shortest repr), never ``Decimal(float)``, which would
    keep the binary approximation's 40-odd digits.

    Raises:
        RowError: The value is missing, not a number, NaN or infinite.
    """
    if value is None:
        raise RowError(f"{field} is empty: expected a number")
    if isinstance(value, bool) or not isinstance(value, float | int | Decimal | str):
        raise RowError(f"{field}: expected a number, found {value!r}")
    if isinstance(value, str):
        return parse_decimal_text(value, field)
    result = Decimal(str(value))
    if not result.is_finite():
        raise RowError(f"{field}: expected a finite number, found {value!r}")
    return result


def parse_int_text(text: str, field: str) -> int:
    """Parse CSV text into a non-negative integer (a timestamp or a count).

    Raises:
        RowError: The text is empty, not a whole number, or negative.
    """
    try:
        value = int(text)
    except ValueError:
        if not text.strip():
            raise RowError(f"{field} is empty: expected a whole number") from None
        raise RowError(f"{field}: expected a whole number, found {text!r}") from None
    if value < 0:
        raise RowError(f"{field}: expected zero or more, found {text!r}")
    return value


def format_ms(ts_ms: int) -> str:
    """Show a millisecond timestamp with its UTC time, for messages."""
    try:
        when = datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, ValueError, OSError):
        return str(ts_ms)
    return f"{ts_ms} ({when}Z)"


def file_problem(file: str, message: str, fix: str) -> DataError:
    """A ``DataError`` about the whole file rather than one of its lines."""
    return DataError([DataProblem(file, "", message)], fix)


@contextmanager
def open_csv(
    path: Path, headers: tuple[tuple[str, ...], ...]
) -> Iterator[tuple[tuple[str, ...], Iterator[tuple[int, list[str]]]]]:
    """Open a CSV (``.gz`` too), check its header, and yield it with the data rows.

    Each row comes with its line number as a text editor shows it (the header is line 1).
    Blank lines are passed over. A UTF-8 byte-order mark is tolerated. Header fields are
    compared after stripping spaces.

    Args:
        path: The file.
        headers: The accepted headers (one layout each).

    Raises:
        DataError: The file cannot be read or its header is none of ``headers``.
    """
    file = str(path)
    try:
        handle = _open_text(path)
    except OSError as exc:
        raise file_problem(file, f"cannot open the file: {exc}", "check the path") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            first = next(reader, None)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(file, exc) from exc
        header = None if first is None else tuple(name.strip() for name in first)
        if header is None or header not in headers:
            expected = " or ".join(repr(",".join(names)) for names in headers)
            found = "an empty file" if first is None else repr(",".join(first))
            problem = DataProblem(file, "1", f"expected the header {expected}, found {found}")
            fix = "make line 1 exactly: " + " or ".join(",".join(names) for names in headers)
            raise DataError([problem], fix)
        try:
            yield header, _numbered(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(file, exc) from exc


def _open_text(path: Path) -> TextIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _numbered(reader: "Reader") -> Iterator[tuple[int, list[str]]]:
    for fields in reader:
        if fields:
            yield reader.line_num, fields


def _unreadable(file: str, exc: Exception) -> DataError:
    return file_problem(
        file, f"cannot read the file as UTF-8 CSV: {exc}", "check that it is a CSV text file"
    )
