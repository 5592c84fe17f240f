"""``market-maker download``: candles from an exchange into a file the backtest reads.

The exchange side is a ``CandlePager`` (``market_maker.exchanges.ccxt.candles`` over ccxt's
``fetch_ohlcv``; tests plug in others); the file side a ``CandleOutput``
(``data.candle_output``: CSV appended row by row, Parquet or Feather rewritten atomically).
This module holds the pure rules in between:

* **Pagination**: ask for ``limit`` candles from ``since``; the next request starts at the
  last open time received plus the timeframe, until a page brings nothing new or
  ``until`` is reached.
* **Only closed candles**: a candle whose close time (open + timeframe) is after now is
  still forming and is dropped; so are candles at or after ``until`` (exclusive) and any
  not after the last one kept (an exchange that repeats its last candle adds nothing).
* **Resumable**: an existing file is continued after its last open time, whatever
  ``since`` says (so a resumed download never leaves a hole or repeats a row).
* **Exact decimals**: each value becomes a ``Decimal`` from the text the exchange sent
  (``"0.02501300"`` stays as written); a float (an exchange ccxt parses as numbers) goes
  through its shortest repr, never ``Decimal(float)``.
* **Gaps** the exchange's own data has (an outage: no candle for some minutes) are kept as
  they are and counted; ``backtest --allow-gaps`` reads such a file.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

from market_maker.domain.errors import MarketMakerError

DEFAULT_LIMIT = 1000
"""Candles asked for per request (Binance serves at most 1,000 spot, 1,500 futures)."""


class DownloadError(MarketMakerError):
    """A download cannot go on: a bad argument, an unusable answer or output file."""


@dataclass(frozen=True, slots=True)
class CandleRow:
    """One closed candle as written: open time and exact OHLCV.

    Attributes:
        open_ms: Open time, milliseconds since the epoch (UTC).
        open: Open price.
        high: High price.
        low: Low price.
        close: Close price.
        volume: Volume, base currency.
    """

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class CandlePager(Protocol):
    """One market's candles of one timeframe, a page at a time (an exchange)."""

    timeframe_ms: int
    """Length of one candle, milliseconds."""

    def fetch(self, since_ms: int, limit: int) -> list[list[object]]:
        """Up to ``limit`` rows ``[open_ms, open, high, low, close, volume]`` from ``since_ms``."""
        ...


class CandleOutput(Protocol):
    """A candle file being written."""

    last_open_ms: int | None
    """Open time of the last candle in the file (``None`` for a new or empty file)."""

    def append(self, rows: Sequence[CandleRow]) -> None:
        """Add ``rows`` (newer than ``last_open_ms``, in order) to the file."""
        ...

    def close(self) -> None:
        """Write whatever is still buffered; the file is complete."""
        ...


def parse_time(text: str, option: str) -> int:
    """Milliseconds since the epoch of a date (``2025-01-01``) or date and time (UTC if no zone).

    Raises:
        DownloadError: ``text`` is neither; the message names ``option`` and the fix.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DownloadError(
            f"{option}: expected a date such as 2025-01-01 or a date and time such as "
            f"2025-01-01T12:00, found {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _value(raw: object, name: str, row: Sequence[object]) -> Decimal:
    try:
        if isinstance(raw, str):
            value = Decimal(raw.strip())
        elif isinstance(raw, float):
            value = Decimal(repr(raw))
        elif isinstance(raw, int) and not isinstance(raw, bool):
            value = Decimal(raw)
        else:
            raise InvalidOperation
    except InvalidOperation:
        raise DownloadError(
            f"the exchange sent a candle whose {name} is {raw!r}, not a number: {list(row)!r}"
        ) from None
    if not value.is_finite():
        raise DownloadError(f"the exchange sent a candle whose {name} is {raw!r}: {list(row)!r}")
    return value


def row_from_exchange(raw: Sequence[object]) -> CandleRow:
    """A ``[open_ms, open, high, low, close, volume]`` row as a ``CandleRow``, exactly.

    Raises:
        DownloadError: The row is short, its time is not a whole number, or a value is not
            a finite number.
    """
    if len(raw) < 6:
        raise DownloadError(f"the exchange sent a candle with {len(raw)} fields: {list(raw)!r}")
    ts = raw[0]
    if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
        raise DownloadError(f"the exchange sent a candle with open time {ts!r}: {list(raw)!r}")
    names = ("open", "high", "low", "close", "volume")
    o, h, lo, c, v = (_value(x, n, raw) for x, n in zip(raw[1:6], names, strict=True))
    return CandleRow(ts, o, h, lo, c, v)


def closed_rows(
    raw_rows: Sequence[Sequence[object]],
    *,
    after_ms: int | None,
    until_ms: int | None,
    now_ms: int,
    timeframe_ms: int,
) -> list[CandleRow]:
    """The closed candles of a page worth writing, in time order, each once.

    Kept: open time after ``after_ms`` (the last one written) and before ``until_ms``
    (exclusive), and closed by ``now_ms`` (open time + timeframe at or before it).
    """
    rows = sorted((row_from_exchange(r) for r in raw_rows), key=lambda r: r.open_ms)
    out: list[CandleRow] = []
    last = -1 if after_ms is None else after_ms
    for row in rows:
        if row.open_ms <= last:
            continue
        if until_ms is not None and row.open_ms >= until_ms:
            break
        if row.open_ms + timeframe_ms > now_ms:
            break  # still forming (and so is everything after it)
        out.append(row)
        last = row.open_ms
    return out


def missing_candles(previous_ms: int | None, rows: Sequence[CandleRow], timeframe_ms: int) -> int:
    """How many candles are missing between ``previous_ms`` and ``rows`` and within them."""
    missing = 0
    for row in rows:
        if previous_ms is not None and row.open_ms - previous_ms > timeframe_ms:
            missing += (row.open_ms - previous_ms) // timeframe_ms - 1
        previous_ms = row.open_ms
    return missing


@dataclass(slots=True)
class DownloadReport:
    """What a download did (also passed to the progress callback after every page).

    Attributes:
        resumed_after_ms: The file's last open time before the download (``None``: new file).
        start_ms: Open time the first request asked from.
        end_ms: The time the download runs to (``until``, or now when it started).
        written: Candles written by this download.
        last_ms: Open time of the last candle in the file.
        requests: Pages asked for.
        missing: Candles missing in the exchange's data (gaps kept as they are).
    """

    resumed_after_ms: int | None
    start_ms: int
    end_ms: int
    written: int = 0
    last_ms: int | None = None
    requests: int = 0
    missing: int = 0


def download_candles(
    pager: CandlePager,
    output: CandleOutput,
    *,
    since_ms: int,
    until_ms: int | None,
    now_ms: Callable[[], int],
    limit: int = DEFAULT_LIMIT,
    progress: Callable[[DownloadReport], None] | None = None,
) -> DownloadReport:
    """Page through the exchange's closed candles into ``output``; return what was done.

    Starts at ``since_ms``, or right after the file's last candle when it has one. The
    file holds every page written so far when this returns or raises (Ctrl-C included):
    running it again continues where it stopped.
    """
    if limit < 1:
        raise DownloadError(f"limit: expected at least 1 candle per request, found {limit}")
    if until_ms is not None and until_ms <= since_ms:
        raise DownloadError(
            f"--until ({until_ms}) must be after --since ({since_ms}): swap them or drop --until"
        )
    tf = pager.timeframe_ms
    after = output.last_open_ms
    since = since_ms if after is None else after + tf
    report = DownloadReport(after, since, until_ms if until_ms is not None else now_ms(), 0, after)
    try:
        while until_ms is None or since < until_ms:
            now = now_ms()
            if since + tf > now:
                break  # the next candle has not closed yet
            page = pager.fetch(since, limit)
            report.requests += 1
            rows = closed_rows(
                page, after_ms=report.last_ms, until_ms=until_ms, now_ms=now, timeframe_ms=tf
            )
            if not rows:
                break
            missing = missing_candles(report.last_ms, rows, tf)
            report.missing += missing
            output.append(rows)
            report.written += len(rows)
            report.last_ms = rows[-1].open_ms
            since = report.last_ms + tf
            if progress is not None:
                progress(report)
    finally:
        output.close()
    return report


__all__ = [
    "DEFAULT_LIMIT",
    "CandleOutput",
    "CandlePager",
    "CandleRow",
    "DownloadError",
    "DownloadReport",
    "closed_rows",
    "download_candles",
    "missing_candles",
    "parse_time",
    "row_from_exchange",
]
