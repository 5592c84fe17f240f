"""Candle loading: formats, exact decimals, and every kind of bad input reported by line."""

import gzip
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyarrow import feather, parquet

from market_maker.data.candles import CandleSeries, load_candles
from market_maker.data.fields import format_ms
from market_maker.data.problems import DataError, DataProblem
from market_maker.data.sample import SAMPLE_SYMBOL, sample_candles_path

HEADER = "timestamp_ms,open,high,low,close,volume"
T0 = 1_747_180_800_000  # 2025-05-14 00:00 UTC
MINUTE = 60_000
SYMBOL = "BTC/USDT"


def good_rows(count: int = 5, step_ms: int = MINUTE) -> list[str]:
    return [f"{T0 + i * step_ms},100.5,101,99.5,100,1.25" for i in range(count)]


def write(tmp_path: Path, rows: list[str], *, header: str = HEADER, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in [header, *rows]), encoding="utf-8")
    return path


def replace(index: int, row: str) -> Callable[[list[str]], None]:
    def edit(rows: list[str]) -> None:
        rows[index] = row

    return edit


def insert(index: int, row: str) -> Callable[[list[str]], None]:
    def edit(rows: list[str]) -> None:
        rows.insert(index, row)

    return edit


def remove(index: int) -> Callable[[list[str]], None]:
    def edit(rows: list[str]) -> None:
        del rows[index]

    return edit


T2 = T0 + 2 * MINUTE
SAME = "is the same as the previous candle's"
INCREASING = "expected increasing open times"
BAD_CASES = [
    pytest.param(
        replace(2, f"{T2},abc,101,99,100,1"),
        "4",
        "open: expected a decimal number, found 'abc'",
        id="non-numeric",
    ),
    pytest.param(
        replace(2, f"{T2},100,,99,100,1"),
        "4",
        "high is empty: expected a decimal number",
        id="empty",
    ),
    pytest.param(
        replace(2, f"{T2},100,101,99,NaN,1"),
        "4",
        "close: expected a finite number, found 'NaN'",
        id="nan",
    ),
    pytest.param(
        replace(2, f"{T2},100,101,99,100,inf"),
        "4",
        "volume: expected a finite number, found 'inf'",
        id="infinite",
    ),
    pytest.param(
        replace(2, f"{T2},100,101,-99,100,1"),
        "4",
        "low: expected a positive price, found -99",
        id="negative price",
    ),
    pytest.param(
        replace(2, f"{T2},100,101,99,100,-0.5"),
        "4",
        "volume: expected zero or more, found -0.5",
        id="negative volume",
    ),
    pytest.param(
        replace(2, f"{T2},0,101,0,100,1"),
        "4",
        "open: expected a positive price, found 0",
        id="zero price",
    ),
    pytest.param(
        replace(2, f"{T2},100,99,101,100,1"),
        "4",
        "high 99 is below low 101",
        id="high below low",
    ),
    pytest.param(
        replace(2, f"{T2},102,101,99,100,1"),
        "4",
        "open 102 is outside [low 99, high 101]",
        id="open outside",
    ),
    pytest.param(
        replace(2, f"{T2},100,101,99,98.9,1"),
        "4",
        "close 98.9 is outside [low 99, high 101]",
        id="close outside",
    ),
    pytest.param(
        replace(2, "2025-05-14 00:02,100,101,99,100,1"),
        "4",
        "timestamp_ms: expected a whole number, found '2025-05-14 00:02'",
        id="bad timestamp",
    ),
    pytest.param(
        replace(2, " ,100,101,99,100,1"),
        "4",
        "timestamp_ms is empty: expected a whole number",
        id="empty timestamp",
    ),
    pytest.param(
        replace(2, "-5,100,101,99,100,1"),
        "4",
        "timestamp_ms: expected zero or more, found '-5'",
        id="negative timestamp",
    ),
    pytest.param(
        replace(2, f"{T2},100,101,99,100"),
        "4",
        "expected 6 fields (timestamp_ms,open,high,low,close,volume), found 5",
        id="field count",
    ),
    pytest.param(
        insert(3, f"{T2},100,101,99,100,1"),
        "5",
        f"open time {format_ms(T2)} {SAME} {format_ms(T2)}: {INCREASING}",
        id="equal time",
    ),
    pytest.param(
        insert(3, f"{T0},100,101,99,100,1"),
        "5",
        f"open time {format_ms(T0)} is before the previous candle's {format_ms(T2)}: {INCREASING}",
        id="backwards",
    ),
    pytest.param(
        insert(3, f"{T2 + 30_000},100,101,99,100,1"),
        "5",
        f"open time {format_ms(T2 + 30_000)} is off the 60 s grid of the other candles "
        "(expected a multiple of 60000 ms)",
        id="off grid",
    ),
    pytest.param(
        remove(2),
        "4",
        f"gap: 1 candle(s) missing after line 3: expected {format_ms(T2)}, "
        f"found {format_ms(T2 + MINUTE)}",
        id="gap",
    ),
]


@pytest.mark.parametrize(("edit", "line", "message"), BAD_CASES)
def test_bad_row_is_reported_with_file_and_line(
    tmp_path: Path, edit: Callable[[list[str]], None], line: str, message: str
) -> None:
    rows = good_rows()
    edit(rows)
    path = write(tmp_path, rows)
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol=SYMBOL)
    assert caught.value.problems == [DataProblem(str(path), line, message)]
    assert f"{path}:{line}: {message}" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("", "an empty file"),
        ("date,open,high,low,close,volume\n", "'date,open,high,low,close,volume'"),
        (f"{T0},100,101,99,100,1\n", f"'{T0},100,101,99,100,1'"),
    ],
    ids=["empty file", "wrong header", "missing header"],
)
def test_header_problem_names_the_expected_header(tmp_path: Path, content: str, found: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(content)
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol=SYMBOL)
    iso = HEADER.replace("timestamp_ms", "timestamp")
    message = f"expected the header '{HEADER}' or '{iso}', found {found}"
    assert caught.value.problems == [DataProblem(str(path), "1", message)]
    assert caught.value.fix == f"make line 1 exactly: {HEADER} or {iso}"


def test_header_only_file_has_no_candles(tmp_path: Path) -> None:
    path = write(tmp_path, [])
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol=SYMBOL)
    message = "expected at least 2 good candles, found 0"
    assert caught.value.problems == [DataProblem(str(path), "", message)]
    assert str(caught.value).splitlines()[1] == f"  {path}: {message}"


def test_all_bad_rows_are_reported_at_once_and_listing_stops_at_twenty(tmp_path: Path) -> None:
    rows = good_rows(30)
    for index in range(5, 30):
        rows[index] = rows[index].replace("100.5", "x")
    path = write(tmp_path, rows)
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol=SYMBOL)
    error = caught.value
    assert [p.line for p in error.problems] == [str(i) for i in range(7, 32)]
    text = str(error)
    assert text.splitlines()[0] == "25 problems in market data:"
    assert f"{path}:26:" in text
    assert f"{path}:27:" not in text
    assert "  ... and 5 more" in text
    assert text.endswith(
        "To fix: fix the rows, or pass --skip-bad-rows to drop them (gaps: --allow-gaps)"
    )


def test_skip_mode_drops_bad_rows_and_lists_them(tmp_path: Path) -> None:
    rows = good_rows(6)
    rows.insert(2, f"{T0 + MINUTE},100,101,99,100,1")  # repeats the time of line 3
    rows.insert(4, f"{T0},1,2,3,4,5")  # high below low
    path = write(tmp_path, rows)
    series = load_candles(path, symbol=SYMBOL, skip_bad_rows=True)
    assert len(series) == 6
    assert [c.open_time_ms for c in series.candles] == [T0 + i * MINUTE for i in range(6)]
    assert [(p.file, p.line) for p in series.skipped] == [(str(path), "4"), (str(path), "6")]
    assert series.skipped[1].message == "high 2 is below low 3"


def test_skip_mode_drops_a_row_going_backwards(tmp_path: Path) -> None:
    rows = good_rows(4)
    rows.insert(2, f"{T0 - MINUTE},100,101,99,100,1")
    path = write(tmp_path, rows)
    series = load_candles(path, symbol=SYMBOL, skip_bad_rows=True)
    assert len(series) == 4
    assert [p.line for p in series.skipped] == ["4"]


def test_gaps_left_by_skipped_rows_are_still_refused(tmp_path: Path) -> None:
    rows = good_rows(5)
    rows[2] = rows[2].replace(",101,", ",99,").replace(",99.5,", ",101,")
    path = write(tmp_path, rows)
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol=SYMBOL, skip_bad_rows=True)
    assert [(p.line, p.message.split(":")[0]) for p in caught.value.problems] == [("5", "gap")]
    assert "1 bad row(s) were dropped" in caught.value.fix
    series = load_candles(path, symbol=SYMBOL, skip_bad_rows=True, allow_gaps=True)
    assert len(series) == 4
    assert len(series.skipped) == 1


def test_gaps_allowed(tmp_path: Path) -> None:
    rows = good_rows(8)
    del rows[5]
    del rows[2:4]
    path = write(tmp_path, rows)
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol=SYMBOL)
    assert [p.line for p in caught.value.problems] == ["4", "5"]
    assert "2 candle(s) missing" in caught.value.problems[0].message
    assert caught.value.fix == "fill the gaps, or pass --allow-gaps to accept missing candles"
    series = load_candles(path, symbol=SYMBOL, allow_gaps=True)
    assert series.interval_s == 60
    assert len(series) == 5
    assert series.skipped == ()


@pytest.mark.parametrize(("step_ms", "interval_s"), [(MINUTE, 60), (5 * MINUTE, 300)])
def test_interval_is_the_most_common_step(tmp_path: Path, step_ms: int, interval_s: int) -> None:
    rows = good_rows(6, step_ms)
    del rows[3]  # one double step does not change the inferred interval
    series = load_candles(write(tmp_path, rows), symbol=SYMBOL, allow_gaps=True)
    assert series.interval_s == interval_s
    assert {c.interval_s for c in series.candles} == {interval_s}


def test_timestamps_in_seconds_are_explained(tmp_path: Path) -> None:
    rows = [f"{T0 // 1000 + i * 60},100,101,99,100,1" for i in range(3)]
    path = write(tmp_path, rows)
    with pytest.raises(DataError, match="seconds instead of milliseconds") as caught:
        load_candles(path, symbol=SYMBOL)
    assert caught.value.problems[0].line == ""


def test_too_few_candles_after_skipping(tmp_path: Path) -> None:
    path = write(tmp_path, [*good_rows(1), f"{T0 + MINUTE},x,1,1,1,1"])
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol=SYMBOL, skip_bad_rows=True)
    message = "expected at least 2 good candles (1 bad row(s) not counted), found 1"
    assert caught.value.problems == [DataProblem(str(path), "", message)]


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown candle file type"):
        load_candles(tmp_path / "c.json", symbol=SYMBOL)
    with pytest.raises(DataError, match="cannot open the file"):
        load_candles(tmp_path / "absent.csv", symbol=SYMBOL)


def test_csv_values_keep_every_digit(tmp_path: Path) -> None:
    rows = [f"{T0},95505.4,95505.50,95502.7,95502.7,16.536", f"{T0 + MINUTE},1E+5,1E+5,1E+5,1E+5,0"]
    series = load_candles(write(tmp_path, rows), symbol=SYMBOL)
    first, second = series.candles
    assert str(first.high) == "95505.50"
    assert first.volume == Decimal("16.536")
    assert second.open == Decimal(100000)
    assert series == CandleSeries(SYMBOL, 60, series.candles, str(tmp_path / "c.csv"))


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "c.csv.gz"
    path.write_bytes(gzip.compress("\n".join([HEADER, *good_rows(3)]).encode()))
    assert len(load_candles(path, symbol=SYMBOL)) == 3


def freqtrade_frame(unit: str = "ns") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime([T0, T0 + MINUTE, T0 + 2 * MINUTE], unit="ms", utc=True).astype(
                f"datetime64[{unit}, UTC]"
            ),
            "open": [95505.4, 95502.8, 95478.1],
            "high": [95505.5, 95502.8, 95480.0],
            "low": [95502.7, 95478.0, 95470.0],
            "close": [95502.7, 95478.1, 95475.0],
            "volume": [16.536, 28.313, 0.1],
        }
    )


@pytest.mark.parametrize("suffix", [".feather", ".parquet"])
@pytest.mark.parametrize("unit", ["ns", "ms"])
def test_columnar_round_trip_is_exact(tmp_path: Path, suffix: str, unit: str) -> None:
    path = tmp_path / f"BTC_USDT-1m{suffix}"
    frame = freqtrade_frame(unit)
    if suffix == ".feather":
        frame.to_feather(path)
    else:
        frame.to_parquet(path)
    series = load_candles(path, symbol=SYMBOL)
    assert series.interval_s == 60
    first, _, third = series.candles
    assert first.open_time_ms == T0
    assert (first.open, first.high, first.low, first.close) == (
        Decimal("95505.4"),
        Decimal("95505.5"),
        Decimal("95502.7"),
        Decimal("95502.7"),
    )
    assert str(first.volume) == "16.536"
    assert str(third.high) == "95480.0"  # the float's shortest repr, exponent included


def test_columnar_bad_rows_are_reported_by_row(tmp_path: Path) -> None:
    # pyarrow directly: pandas would store the NaN as a null.
    table = pa.table(
        {
            "date": pa.array([T0 + i * MINUTE for i in range(4)], pa.timestamp("ms", tz="UTC")),
            "open": [100.0, 100.0, None, 100.0],
            "high": [101.0] * 4,
            "low": [99.0] * 4,
            "close": [100.0, float("nan"), 100.0, 100.0],
            "volume": [1.0] * 4,
        }
    )
    path = tmp_path / "c.feather"
    feather.write_feather(table, path)
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol=SYMBOL)
    assert caught.value.problems == [
        DataProblem(str(path), "row 2", "close: expected a finite number, found nan"),
        DataProblem(str(path), "row 3", "open is empty: expected a number"),
    ]
    assert f"{path} (row 2): close" in str(caught.value)
    series = load_candles(path, symbol=SYMBOL, skip_bad_rows=True, allow_gaps=True)
    assert [c.open_time_ms for c in series.candles] == [T0, T0 + 3 * MINUTE]
    assert [p.line for p in series.skipped] == ["row 2", "row 3"]


def test_columnar_odd_values(tmp_path: Path) -> None:
    table = pa.table(
        {
            "date": pa.array([T0, None, T0 + MINUTE, T0 + 2 * MINUTE], pa.timestamp("ms")),
            "open": ["95505.40", "95503", "95503", "x"],
            "high": [95505.5] * 4,
            "low": [95502.7] * 4,
            "close": pa.array([95502.7] * 4, pa.float32()),
            "volume": pa.array([16, 1, 1, 1], pa.int64()),
        }
    )
    path = tmp_path / "c.parquet"
    parquet.write_table(table, path)
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol=SYMBOL)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        ("row 2", "date is empty: expected the candle's open time"),
        ("row 4", "open: expected a decimal number, found 'x'"),
    ]
    series = load_candles(path, symbol=SYMBOL, skip_bad_rows=True)
    first = series.candles[0]
    assert (str(first.open), first.volume) == ("95505.40", Decimal(16))
    assert first.close == Decimal("95502.703125")  # a float32 is shown by its float64 repr


def test_undecodable_csv(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(f"{HEADER}\n{good_rows(1)[0]}\n".encode() + b"\xff\xfe,1\n")
    with pytest.raises(DataError, match="cannot read the file as UTF-8 CSV") as caught:
        load_candles(path, symbol=SYMBOL)
    assert caught.value.fix == "check that it is a CSV text file"


def test_columnar_layout_problems(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    freqtrade_frame().drop(columns=["volume"]).to_parquet(path)
    with pytest.raises(DataError, match="missing volume"):
        load_candles(path, symbol=SYMBOL)
    not_feather = tmp_path / "c.feather"
    not_feather.write_text(HEADER)
    with pytest.raises(DataError, match="cannot read the file as Feather"):
        load_candles(not_feather, symbol=SYMBOL)


def test_bundled_sample_loads_cleanly() -> None:
    series = load_candles(sample_candles_path(), symbol=SAMPLE_SYMBOL)
    assert len(series) == 4320
    assert series.skipped == ()
    assert series.interval_s == 60
    assert series.candles[0].open_time_ms == 1_747_180_800_000  # 2025-05-14 00:00 UTC
    assert series.candles[-1].open_time_ms == 1_747_439_940_000  # 2025-05-16 23:59 UTC
    for candle in series.candles:
        assert candle.symbol == SAMPLE_SYMBOL
        assert Decimal(0) < candle.low <= min(candle.open, candle.close)
        assert max(candle.open, candle.close) <= candle.high
        assert candle.volume >= 0


prices = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal(10_000_000), places=8, allow_nan=False
)


@st.composite
def candle_rows(draw: st.DrawFn) -> tuple[int, list[tuple[int, list[Decimal]]]]:
    interval_s = draw(st.sampled_from([1, 60, 300, 3600, 86_400]))
    start = draw(st.integers(0, 2_000_000_000)) * interval_s * 1000
    count = draw(st.integers(2, 20))
    rows = []
    for i in range(count):
        low, a, b, high = sorted(draw(st.lists(prices, min_size=4, max_size=4)))
        open_, close = (a, b) if draw(st.booleans()) else (b, a)
        volume = draw(st.decimals(min_value=0, max_value=Decimal(10**9), allow_nan=False))
        rows.append((start + i * interval_s * 1000, [open_, high, low, close, volume]))
    return interval_s, rows


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(candle_rows())
def test_valid_rows_load_back_exactly(
    tmp_path: Path, case: tuple[int, list[tuple[int, list[Decimal]]]]
) -> None:
    interval_s, rows = case
    path = write(tmp_path, [f"{ts}," + ",".join(str(v) for v in values) for ts, values in rows])
    series = load_candles(path, symbol=SYMBOL)
    assert series.interval_s == interval_s
    assert [c.open_time_ms for c in series.candles] == [ts for ts, _ in rows]
    loaded = [[c.open, c.high, c.low, c.close, c.volume] for c in series.candles]
    assert loaded == [values for _, values in rows]
    assert [[str(v) for v in r] for r in loaded] == [[str(v) for v in r] for _, r in rows]


def test_iso_timestamp_header_is_read_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "ftx.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2021-12-31 23:01:00.000000,46319.0,46385.0,46319.0,46377.0,2300413.7295\n"
        "2021-12-31 23:02:00,46377.0,46411.0,46377.0,46411.0,1829623.1938\n"
    )
    series = load_candles(path, symbol="BTC/USD:USD")
    assert [c.open_time_ms for c in series.candles] == [1640991660000, 1640991720000]
    assert series.candles[0].volume == Decimal("2300413.7295")


def test_bad_iso_timestamp_names_the_line_and_the_format(tmp_path: Path) -> None:
    path = tmp_path / "ftx.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n2021-12-31 23:01:00,1,1,1,1,1\nyesterday,1,1,1,1,1\n"
    )
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol="BTC/USD:USD")
    text = str(caught.value)
    assert f"{path}:3" in text and "ISO-8601" in text and "'yesterday'" in text
