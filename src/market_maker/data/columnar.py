"""Read Feather and Parquet files (pyarrow) into plain Python columns.

pyarrow is imported only when such a file is read, so CSV users do not pay for it. Its
errors are translated into ``DataError`` here, at the edge.
"""

from collections.abc import Iterator
from pathlib import Path

from market_maker.data.fields import file_problem
from market_maker.data.problems import DataError, DataProblem


def read_columnar_rows(
    path: Path, suffix: str, columns: tuple[str, ...]
) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Yield ``(row_number, values)`` for the named columns of a Feather or Parquet file.

    Row numbers start at 1. Timestamp columns come back as ``int`` nanoseconds since the
    epoch (UTC, whatever the column's unit or time zone); other values as pyarrow gives them
    (``float`` for float64), with ``None`` for nulls. Columns not named are ignored.

    Raises:
        DataError: The file cannot be read as ``suffix`` says, or a column is missing.
    """
    file = str(path)
    try:
        import pyarrow as pa
        from pyarrow import feather, parquet
    except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
        raise file_problem(
            file, f"reading {suffix} files needs pyarrow: {exc}", "pip install pyarrow"
        ) from exc
    try:
        table = feather.read_table(path) if suffix == ".feather" else parquet.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        kind = "Feather" if suffix == ".feather" else "Parquet"
        raise file_problem(
            file, f"cannot read the file as {kind}: {exc}", f"check that it is a {kind} file"
        ) from exc
    missing = [name for name in columns if name not in table.column_names]
    if missing:
        found = ",".join(table.column_names) or "no columns"
        problem = DataProblem(
            file,
            "",
            f"expected the columns {','.join(columns)}, found {found} (missing "
            f"{','.join(missing)})",
        )
        raise DataError([problem], "write the file in freqtrade's OHLCV layout")
    lists: list[list[object]] = []
    for name in columns:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("ns", tz=column.type.tz)).cast(pa.int64())
        lists.append(column.to_pylist())
    yield from enumerate(zip(*lists, strict=True), start=1)
