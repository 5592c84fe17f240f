"""Candle files being written by a download, in the formats ``data.candles`` loads.

* ``.csv``: the header ``timestamp_ms,open,high,low,close,volume`` and one row per candle,
  decimals exactly as received. Rows are appended a page at a time, each page in one
  write, flushed and synced, so a crash or Ctrl-C leaves complete pages behind; a line
  torn by a crash in the middle of a write (no newline at the end of the file) is cut
  off when the download resumes. A new file is created with its header by writing a
  temporary file and renaming it.
* ``.parquet`` and ``.feather``: freqtrade's layout (``date`` as a UTC timestamp, OHLCV as
  float64). These formats cannot be appended to: the rows are buffered and the whole file
  is rewritten to a temporary file and renamed over the old one (atomic) every
  ``flush_rows`` candles and at the end. Float64 holds 15-17 significant digits: a value
  with more is rounded in these formats (CSV keeps every digit).

``open_output`` reads an existing file's last open time (where a download resumes) and
checks that its step is the timeframe being downloaded.
"""

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from market_maker.data.candles import COLUMNAR_COLUMNS, CSV_HEADER
from market_maker.data.download import CandleOutput, CandleRow, DownloadError
from market_maker.domain.decimals import decimal_to_str

FLUSH_ROWS = 50_000
"""Candles buffered between two rewrites of a Parquet or Feather file."""
FORMATS = (".csv", ".parquet", ".feather")
"""Output file types, by extension."""
_HEADER = ",".join(CSV_HEADER)


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DownloadError(
            f"--out: expected a file ending in {', '.join(FORMATS)}, found {str(path)!r}; "
            "fix: name the output data.csv (exact decimals) or data.parquet"
        )
    return suffix


def _replace_atomically(path: Path, write: Any) -> None:
    """Call ``write(temp_path)`` on a temporary file beside ``path``, then rename it over."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        write(Path(temp))
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _check_step(path: Path, times: Sequence[int], timeframe_ms: int) -> None:
    """The last two rows of an existing file must be one timeframe apart (or a gap)."""
    if len(times) >= 2:
        step = times[-1] - times[-2]
        if step <= 0 or step % timeframe_ms:
            raise DownloadError(
                f"--out {path}: the file's last two candles are {step} ms apart, which is not "
                f"a multiple of the timeframe ({timeframe_ms} ms): it holds other candles; "
                "fix: pass the file's --timeframe, or another --out"
            )


class CsvOutput:
    """A CSV candle file, appended a page at a time (see the module docstring)."""

    def __init__(self, path: Path, timeframe_ms: int) -> None:
        self.path = path
        self.last_open_ms: int | None = None
        if not path.exists() or path.stat().st_size == 0:
            _replace_atomically(path, lambda temp: temp.write_text(_HEADER + "\n"))
            return
        times = self._resume_point()
        _check_step(path, times, timeframe_ms)
        self.last_open_ms = times[-1] if times else None

    def _resume_point(self) -> list[int]:
        """Cut a torn last line; the open times of the last two complete rows."""
        with self.path.open("rb+") as f:
            header = f.readline().decode("utf-8-sig", "replace").strip()
            if header != _HEADER:
                raise DownloadError(
                    f"--out {self.path}: expected the header {_HEADER!r} on line 1, found "
                    f"{header!r}; fix: choose another --out (the file is not a candle CSV of "
                    "this tool)"
                )
            size = f.seek(0, os.SEEK_END)
            tail_at = max(0, size - 4096)
            f.seek(tail_at)
            tail = f.read()
            if not tail.endswith(b"\n"):  # a row torn by a crash: drop it
                cut = tail.rfind(b"\n")
                f.truncate(tail_at + cut + 1)
                tail = tail[: cut + 1]
        lines = [line for line in tail.decode().splitlines() if line and line != _HEADER]
        times = []
        for line in lines[-2:]:
            field = line.split(",", 1)[0]
            if not field.isdigit():
                raise DownloadError(
                    f"--out {self.path}: cannot read the open time of its last row {line!r}; "
                    "fix: repair the row or choose another --out"
                )
            times.append(int(field))
        return times

    def append(self, rows: Sequence[CandleRow]) -> None:
        """Append ``rows``, each a complete line, in one write; flushed and synced."""
        d = decimal_to_str
        text = "".join(
            f"{r.open_ms},{d(r.open)},{d(r.high)},{d(r.low)},{d(r.close)},{d(r.volume)}\n"
            for r in rows
        )
        with self.path.open("a", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if rows:
            self.last_open_ms = rows[-1].open_ms

    def close(self) -> None:
        """Nothing is buffered: every append is on disk already."""


class ColumnarOutput:
    """A Parquet or Feather candle file, rewritten atomically (see the module docstring)."""

    def __init__(self, path: Path, timeframe_ms: int, *, flush_rows: int = FLUSH_ROWS) -> None:
        import pyarrow as pa

        self.pa = pa
        self.path = path
        self.kind = path.suffix.lower()
        self.flush_rows = flush_rows
        self.last_open_ms: int | None = None
        self._table: Any = None  # the rows on disk (a pyarrow Table)
        self._pending: list[CandleRow] = []
        if path.exists():
            self._table = self._read()
            times = self._table.column("date").cast(pa.int64()).to_pylist()[-2:]
            _check_step(path, times, timeframe_ms)
            self.last_open_ms = times[-1] if times else None

    def _read(self) -> Any:
        from pyarrow import feather, parquet

        pa = self.pa
        try:
            read = feather.read_table if self.kind == ".feather" else parquet.read_table
            table = read(self.path)
        except (OSError, pa.ArrowException) as exc:
            raise DownloadError(
                f"--out {self.path}: cannot read it to resume ({exc}); fix: choose another --out"
            ) from exc
        if table.column_names[: len(COLUMNAR_COLUMNS)] != list(COLUMNAR_COLUMNS):
            raise DownloadError(
                f"--out {self.path}: expected the columns {','.join(COLUMNAR_COLUMNS)}, found "
                f"{','.join(table.column_names)}; fix: choose another --out"
            )
        return table.select(list(COLUMNAR_COLUMNS)).cast(self._schema())

    def _schema(self) -> Any:
        pa = self.pa
        fields = [pa.field("date", pa.timestamp("ms", tz="UTC"))]
        fields += [pa.field(name, pa.float64()) for name in COLUMNAR_COLUMNS[1:]]
        return pa.schema(fields)

    def append(self, rows: Sequence[CandleRow]) -> None:
        """Buffer ``rows``; rewrite the file once ``flush_rows`` are waiting."""
        self._pending.extend(rows)
        if rows:
            self.last_open_ms = rows[-1].open_ms
        if len(self._pending) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        """Rewrite the file with every row so far (temporary file, then rename)."""
        if not self._pending and self._table is not None:
            return
        pa, rows = self.pa, self._pending
        times = pa.array([r.open_ms for r in rows], pa.int64())
        values = [[float(getattr(r, name)) for r in rows] for name in COLUMNAR_COLUMNS[1:]]
        new = pa.Table.from_arrays(
            [times.cast(pa.timestamp("ms", tz="UTC"))]
            + [pa.array(c, pa.float64()) for c in values],
            schema=self._schema(),
        )
        table = new if self._table is None else pa.concat_tables([self._table, new])

        def write(temp: Path) -> None:
            from pyarrow import feather, parquet

            if self.kind == ".feather":
                feather.write_feather(table, temp)
            else:
                parquet.write_table(table, temp)

        _replace_atomically(self.path, write)
        self._table, self._pending = table, []

    def close(self) -> None:
        """Write the buffered rows."""
        self.flush()


def open_output(path: Path, timeframe_ms: int) -> CandleOutput:
    """The candle file at ``path`` (created, or continued after its last candle).

    Raises:
        DownloadError: Unknown extension, missing folder, or an existing file that is not
            a candle file of this timeframe.
    """
    suffix = _suffix(path)
    if not path.parent.is_dir():
        raise DownloadError(
            f"--out {path}: the folder {path.parent} does not exist; fix: create it first"
        )
    if suffix == ".csv":
        return CsvOutput(path, timeframe_ms)
    return ColumnarOutput(path, timeframe_ms)


__all__ = ["FLUSH_ROWS", "FORMATS", "ColumnarOutput", "CsvOutput", "open_output"]
