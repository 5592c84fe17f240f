"""The download's pure parts: closed candles only, exact decimals, pagination, resuming after
an interruption (CSV appended, Parquet and Feather rewritten atomically), no duplicates and
no gaps introduced; the files load with the backtest's loader."""

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market_maker.data.candle_output import ColumnarOutput, CsvOutput, open_output
from market_maker.data.candles import load_candles
from market_maker.data.download import (
    CandleRow,
    DownloadError,
    closed_rows,
    download_candles,
    missing_candles,
    parse_time,
    row_from_exchange,
)

pytestmark = pytest.mark.timeout(120)

D = Decimal
MIN = 60_000
T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC


def exchange_rows(count: int, *, start: int = T0, skip: frozenset[int] = frozenset()) -> list:
    """Rows as Binance writes them (values as text with trailing zeros)."""
    rows = []
    for i in range(count):
        if i in skip:
            continue
        price = 95000 + (i * 37) % 500
        rows.append(
            [
                start + i * MIN,
                f"{price}.10000000",
                f"{price + 5}.00000000",
                f"{price - 5}.01000000",
                f"{price + 1}.20000000",
                f"{i % 7}.12345678",
            ]
        )
    return rows


class ListPager:
    """An exchange holding ``rows``: pages from ``since`` of at most ``max_limit`` rows.

    ``fail_after`` pages, it raises ``KeyboardInterrupt`` (Ctrl-C in the middle).
    """

    timeframe_ms = MIN

    def __init__(self, rows: list, *, max_limit: int = 1000, fail_after: int | None = None):
        self.rows = rows
        self.max_limit = max_limit
        self.fail_after = fail_after
        self.calls: list[tuple[int, int]] = []

    def fetch(self, since_ms: int, limit: int) -> list[list[object]]:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt
        self.calls.append((since_ms, limit))
        return [r for r in self.rows if r[0] >= since_ms][: min(limit, self.max_limit)]


def now_after(rows: list, forming: bool = True) -> int:
    """Wall time in the middle of the last row (it is still forming) or right after it."""
    return rows[-1][0] + (MIN // 2 if forming else MIN)


def read_csv_rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()
    assert lines[0] == "timestamp_ms,open,high,low,close,volume"
    return [line.split(",") for line in lines[1:]]


def test_values_are_kept_exactly_as_the_exchange_wrote_them() -> None:
    row = row_from_exchange([T0, "0.02501300", "0.025018", 0.0249, 95505.4, 12])
    assert row == CandleRow(T0, D("0.02501300"), D("0.025018"), D("0.0249"), D("95505.4"), D(12))
    assert str(row.open) == "0.02501300"  # digits as written, trailing zeros included
    assert str(row.close) == "95505.4"  # a float through its shortest repr


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([T0, "1", "2", "0.5", "1"], "5 fields"),
        (["x", "1", "2", "0.5", "1", "3"], "open time 'x'"),
        ([T0, "1", "NaN", "0.5", "1", "3"], "high is 'NaN'"),
        ([T0, "1", "2", None, "1", "3"], "low is None, not a number"),
        ([T0, "1", "2", "0.5", True, "3"], "close is True"),
    ],
)
def test_a_row_that_is_not_a_candle_is_refused_with_the_row(raw: list, message: str) -> None:
    with pytest.raises(DownloadError, match=message):
        row_from_exchange(raw)


def test_only_closed_new_candles_before_until_are_kept_in_order() -> None:
    rows = exchange_rows(6)
    page = [rows[3], rows[0], rows[1], rows[1], rows[2], rows[4], rows[5]]  # unordered, a repeat
    kept = closed_rows(page, after_ms=T0, until_ms=None, now_ms=now_after(rows), timeframe_ms=MIN)
    assert [r.open_ms for r in kept] == [T0 + i * MIN for i in (1, 2, 3, 4)]  # 5 is forming
    kept = closed_rows(page, after_ms=None, until_ms=T0 + 2 * MIN, now_ms=10**13, timeframe_ms=MIN)
    assert [r.open_ms for r in kept] == [T0, T0 + MIN]  # until is exclusive


def test_missing_candles_are_counted_across_pages() -> None:
    rows = [row_from_exchange(r) for r in exchange_rows(10, skip=frozenset({3, 4, 8}))]
    assert missing_candles(None, rows, MIN) == 3
    assert missing_candles(T0 - 3 * MIN, rows, MIN) == 5


def test_dates_are_read_as_utc_and_a_bad_one_names_the_option() -> None:
    assert parse_time("2025-01-01", "--since") == T0
    assert parse_time("2025-01-01T01:00+01:00", "--since") == T0
    with pytest.raises(DownloadError, match=r"--until: expected a date such as 2025-01-01"):
        parse_time("yesterday", "--until")


def test_pages_follow_the_last_open_time_and_stop_at_the_forming_candle(tmp_path: Path) -> None:
    rows = exchange_rows(2500)
    pager = ListPager(rows)
    out = tmp_path / "c.csv"
    report = download_candles(
        pager, open_output(out, MIN), since_ms=T0, until_ms=None, now_ms=lambda: now_after(rows)
    )
    assert pager.calls == [(T0, 1000), (T0 + 1000 * MIN, 1000), (T0 + 2000 * MIN, 1000)]
    assert report.written == 2499 and report.last_ms == rows[-2][0] and report.missing == 0
    assert read_csv_rows(out) == [[str(v) for v in r] for r in rows[:-1]]  # exact text


def test_a_server_capping_its_pages_below_the_limit_is_paged_through(tmp_path: Path) -> None:
    rows = exchange_rows(50)
    pager = ListPager(rows, max_limit=7)
    out = tmp_path / "c.csv"
    end = now_after(rows, forming=False)
    download_candles(pager, open_output(out, MIN), since_ms=T0, until_ms=None, now_ms=lambda: end)
    assert len(read_csv_rows(out)) == 50
    assert len(pager.calls) == 8  # pages of at most 7; none asked once nothing can have closed


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".feather"])
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    count=st.integers(min_value=3, max_value=60),
    limit=st.integers(min_value=1, max_value=25),
    stops=st.lists(st.integers(min_value=0, max_value=6), max_size=3),
    holes=st.frozensets(st.integers(min_value=1, max_value=58), max_size=4),
)
def test_interrupted_and_resumed_downloads_write_every_candle_once(
    tmp_path: Path, suffix: str, count: int, limit: int, stops: list[int], holes: frozenset[int]
) -> None:
    """Ctrl-C after any number of pages, any number of times: the resumed file holds every
    closed candle the exchange has, once, in order, with the exchange's gaps only."""
    rows = exchange_rows(count, skip=frozenset(h for h in holes if h < count - 1))
    out = tmp_path / f"c-{count}-{limit}-{len(stops)}-{len(holes)}{suffix}"
    out.unlink(missing_ok=True)
    end = now_after(rows, forming=False)
    for stop in [*stops, None]:
        pager = ListPager(rows, fail_after=stop)
        try:
            download_candles(
                pager,
                open_output(out, MIN),
                since_ms=T0,
                until_ms=None,
                now_ms=lambda: end,
                limit=limit,
            )
        except KeyboardInterrupt:
            assert stop is not None
    series = load_candles(out, symbol="BTC/USDT", allow_gaps=True)
    got = [(c.open_time_ms, c.open, c.high, c.low, c.close, c.volume) for c in series.candles]
    parsed = [row_from_exchange(r) for r in rows]
    want = [(r.open_ms, r.open, r.high, r.low, r.close, r.volume) for r in parsed]
    assert got == want


def test_a_row_torn_by_a_crash_is_cut_off_and_downloaded_again(tmp_path: Path) -> None:
    rows = exchange_rows(10)
    out = tmp_path / "c.csv"
    end = now_after(rows, forming=False)
    download_candles(
        ListPager(rows[:5]), open_output(out, MIN), since_ms=T0, until_ms=None, now_ms=lambda: end
    )
    with out.open("a") as f:
        f.write(f"{rows[5][0]},95000.1,950")  # the crash hit in the middle of a row
    output = open_output(out, MIN)
    assert output.last_open_ms == rows[4][0]
    download_candles(ListPager(rows), output, since_ms=T0, until_ms=None, now_ms=lambda: end)
    assert read_csv_rows(out) == [[str(v) for v in r] for r in rows]


def test_resuming_ignores_since_and_continues_after_the_file(tmp_path: Path) -> None:
    rows = exchange_rows(20)
    out = tmp_path / "c.csv"
    end = now_after(rows, forming=False)
    download_candles(
        ListPager(rows[:8]), open_output(out, MIN), since_ms=T0, until_ms=None, now_ms=lambda: end
    )
    pager = ListPager(rows)
    report = download_candles(
        pager, open_output(out, MIN), since_ms=T0 + 15 * MIN, until_ms=None, now_ms=lambda: end
    )
    assert pager.calls[0][0] == rows[8][0] and report.resumed_after_ms == rows[7][0]
    assert len(read_csv_rows(out)) == 20


def test_an_existing_file_of_another_timeframe_or_format_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    five = exchange_rows(4)
    for i, r in enumerate(five):
        r[0] = T0 + i * 5 * MIN
    download_candles(
        ListPager(five), CsvOutput(out, 5 * MIN), since_ms=T0, until_ms=None, now_ms=lambda: 10**13
    )
    with pytest.raises(DownloadError, match=r"300000 ms apart.*--timeframe"):
        open_output(out, 2 * MIN)
    other = tmp_path / "other.csv"
    other.write_text("time,price\n1,2\n")
    with pytest.raises(DownloadError, match="expected the header"):
        open_output(other, MIN)
    with pytest.raises(DownloadError, match=r"--out: expected a file ending in .csv"):
        open_output(tmp_path / "c.json", MIN)
    with pytest.raises(DownloadError, match="does not exist"):
        open_output(tmp_path / "nowhere" / "c.csv", MIN)


def test_parquet_is_written_only_whole_and_in_freqtrade_layout(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    rows = exchange_rows(30)
    out = tmp_path / "c.parquet"
    output = ColumnarOutput(out, MIN, flush_rows=10)
    output.append([row_from_exchange(r) for r in rows[:25]])  # one rewrite at 25 rows
    assert pq.read_table(out).num_rows == 25
    output.append([row_from_exchange(r) for r in rows[25:28]])
    assert pq.read_table(out).num_rows == 25  # buffered: the file is never half written
    output.close()
    table = pq.read_table(out)
    assert table.column_names == ["date", "open", "high", "low", "close", "volume"]
    assert str(table.schema.field("date").type) == "timestamp[ms, tz=UTC]"
    assert table.num_rows == 28
    assert [p.name for p in tmp_path.iterdir()] == ["c.parquet"]  # no temporary file left


def test_until_before_since_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"--until .* must be after --since"):
        download_candles(
            ListPager([]),
            open_output(tmp_path / "c.csv", MIN),
            since_ms=T0,
            until_ms=T0,
            now_ms=lambda: 10**13,
        )
