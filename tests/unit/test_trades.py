"""Trade loading in both layouts, bad-row reporting, and exact aggregation into candles."""

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from market_maker.data.fields import format_ms
from market_maker.data.problems import DataError, DataProblem
from market_maker.data.trades import (
    BINANCE_HEADER,
    Trade,
    TradeSeries,
    load_trades,
    trades_to_candles,
)
from market_maker.domain.enums import Side
from market_maker.domain.market import Candle

HEADER = ",".join(BINANCE_HEADER)
T0 = 1_723_161_254_000  # 2024-08-08 23:54:14 UTC
SYMBOL = "BTC/USDT"


def binance_row(i: int, *, ts: int | None = None, price: str = "61556.04", maker: str = "1") -> str:
    ts = T0 + i * 10 if ts is None else ts
    return (
        f"{ts * 1_000_000 - 1_273_000_000},{ts + 1},{ts},{3735683259 + i},{price},0.00012,{maker}"
    )


def good_rows(count: int = 4) -> list[str]:
    return [binance_row(i) for i in range(count)]


def write(tmp_path: Path, header: str, rows: list[str]) -> Path:
    path = tmp_path / "trades.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def replace(index: int, row: str) -> Callable[[list[str]], None]:
    def edit(rows: list[str]) -> None:
        rows[index] = row

    return edit


BAD_CASES = [
    pytest.param(
        replace(1, binance_row(1, price="61,556.04")),
        "3",
        "expected 7 fields (local_ts_ns,event_time_ms,trade_time_ms,trade_id,price,qty,"
        "is_buyer_maker), found 8",
        id="field count",
    ),
    pytest.param(
        replace(1, binance_row(1, price="abc")),
        "3",
        "price: expected a decimal number, found 'abc'",
        id="non-numeric",
    ),
    pytest.param(
        replace(1, binance_row(1, price="")),
        "3",
        "price is empty: expected a decimal number",
        id="empty",
    ),
    pytest.param(
        replace(1, binance_row(1, price="nan")),
        "3",
        "price: expected a finite number, found 'nan'",
        id="nan",
    ),
    pytest.param(
        replace(1, binance_row(1, price="0")),
        "3",
        "price: expected a positive price, found 0",
        id="zero price",
    ),
    pytest.param(
        replace(1, binance_row(1).replace(",0.00012,", ",-1,")),
        "3",
        "qty: expected a positive quantity, found -1",
        id="negative qty",
    ),
    pytest.param(
        replace(2, binance_row(2, ts=T0 - 1)),
        "4",
        f"trade time {format_ms(T0 - 1)} is before the previous trade's {format_ms(T0 + 10)}: "
        "expected times that never go backwards",
        id="backwards",
    ),
    pytest.param(
        replace(2, binance_row(1, ts=T0 + 20)),
        "4",
        "trade_id 3735683260 repeats the trade on line 3: expected each trade once",
        id="duplicate id",
    ),
    pytest.param(
        replace(1, binance_row(1, maker="maybe")),
        "3",
        "is_buyer_maker: expected 1 or 0 (true or false), found 'maybe'",
        id="maker flag",
    ),
    pytest.param(
        replace(1, binance_row(1).replace(",3735683260,", ",,")),
        "3",
        "trade_id is empty: expected the exchange's trade id",
        id="empty id",
    ),
    pytest.param(
        replace(1, "x" + binance_row(1)),
        "3",
        f"local_ts_ns: expected a whole number, found 'x{(T0 + 10) * 1_000_000 - 1_273_000_000}'",
        id="bad local time",
    ),
]


@pytest.mark.parametrize(("edit", "line", "message"), BAD_CASES)
def test_bad_row_is_reported_with_file_and_line(
    tmp_path: Path, edit: Callable[[list[str]], None], line: str, message: str
) -> None:
    rows = good_rows()
    edit(rows)
    path = write(tmp_path, HEADER, rows)
    with pytest.raises(DataError) as caught:
        load_trades(path, symbol=SYMBOL)
    assert caught.value.problems == [DataProblem(str(path), line, message)]
    assert caught.value.fix == "fix the rows, or pass --skip-bad-rows to drop them"


def test_binance_layout(tmp_path: Path) -> None:
    rows = [binance_row(0, maker="1"), binance_row(1, maker="0"), binance_row(2, ts=T0 + 10)]
    series = load_trades(write(tmp_path, HEADER, rows), symbol=SYMBOL)
    first, second, third = series.trades
    assert first == Trade(
        SYMBOL, T0, "3735683259", Decimal("61556.04"), Decimal("0.00012"), Side.SELL
    )
    assert second.taker_side is Side.BUY
    assert third.ts_ms == second.ts_ms  # equal times are normal for trades
    assert series.skipped == ()
    assert len(series) == 3


def test_generic_layout_with_and_without_side(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp_ms,price,qty,side", [f"{T0},1.5,2,BUY", f"{T0},1.50,3,"])
    series = load_trades(path, symbol=SYMBOL)
    assert [(t.trade_id, t.taker_side) for t in series.trades] == [(None, Side.BUY), (None, None)]
    assert str(series.trades[1].price) == "1.50"
    path = write(tmp_path, "timestamp_ms,price,qty", [f"{T0},1.5,2"])
    assert load_trades(path, symbol=SYMBOL).trades[0].taker_side is None
    path = write(tmp_path, "timestamp_ms,price,qty,side", [f"{T0},1.5,2,up"])
    with pytest.raises(DataError, match="side: expected buy or sell"):
        load_trades(path, symbol=SYMBOL)


def test_header_problem_names_every_layout(tmp_path: Path) -> None:
    path = write(tmp_path, "time,price,amount", [f"{T0},1,1"])
    with pytest.raises(DataError) as caught:
        load_trades(path, symbol=SYMBOL)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(path), "1")
    assert problem.message.startswith(f"expected the header '{HEADER}' or 'timestamp_ms,price,qty'")
    assert problem.message.endswith("found 'time,price,amount'")


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, [])
    with pytest.raises(DataError) as caught:
        load_trades(path, symbol=SYMBOL)
    assert caught.value.problems == [DataProblem(str(path), "", "expected trades, found none")]


def test_skip_mode(tmp_path: Path) -> None:
    rows = good_rows(5)
    rows[1] = binance_row(1, price="-3")
    rows[3] = binance_row(2, ts=T0 + 30)  # repeats the id of line 4
    path = write(tmp_path, HEADER, rows)
    series = load_trades(path, symbol=SYMBOL, skip_bad_rows=True)
    assert [t.trade_id for t in series.trades] == ["3735683259", "3735683261", "3735683263"]
    assert [p.line for p in series.skipped] == ["3", "5"]
    rows = [binance_row(0, price="x")]
    with pytest.raises(DataError, match="expected trades after dropping 1 bad row"):
        load_trades(write(tmp_path, HEADER, rows), symbol=SYMBOL, skip_bad_rows=True)


def trade(ts_ms: int, price: str, qty: str, symbol: str = SYMBOL) -> Trade:
    return Trade(symbol, ts_ms, None, Decimal(price), Decimal(qty), None)


MINUTE_0 = 1_723_161_240_000  # 2024-08-08 23:54:00 UTC, a whole minute


def test_trades_to_candles_is_exact_and_leaves_quiet_intervals_out() -> None:
    trades = [
        trade(MINUTE_0 + 14_000, "61556.04", "0.00012"),
        trade(MINUTE_0 + 15_000, "61560.10", "0.1"),
        trade(MINUTE_0 + 15_000, "61550.00", "0.2"),
        trade(MINUTE_0 + 59_999, "61555.55", "0.00001"),
        trade(MINUTE_0 + 180_000, "61600", "1"),  # two quiet minutes before this one
    ]
    series = trades_to_candles(TradeSeries(SYMBOL, tuple(trades), "t.csv"), 60)
    assert series.interval_s == 60
    assert series.source == "t.csv (60 s bars)"
    assert series.candles == (
        Candle(
            SYMBOL,
            MINUTE_0,
            60,
            Decimal("61556.04"),
            Decimal("61560.10"),
            Decimal("61550.00"),
            Decimal("61555.55"),
            Decimal("0.30013"),
        ),
        Candle(
            SYMBOL,
            MINUTE_0 + 180_000,
            60,
            Decimal(61600),
            Decimal(61600),
            Decimal(61600),
            Decimal(61600),
            Decimal(1),
        ),
    )
    assert str(series.candles[0].volume) == "0.30013"


def test_trades_to_candles_from_a_loaded_file(tmp_path: Path) -> None:
    rows = [binance_row(i, ts=MINUTE_0 + i * 20_000, price=f"61556.{i:02d}") for i in range(6)]
    loaded = load_trades(write(tmp_path, HEADER, rows), symbol=SYMBOL)
    series = trades_to_candles(loaded, 60)
    assert [(c.open, c.close, c.volume) for c in series.candles] == [
        (Decimal("61556.00"), Decimal("61556.02"), Decimal("0.00036")),
        (Decimal("61556.03"), Decimal("61556.05"), Decimal("0.00036")),
    ]


def test_trades_to_candles_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        trades_to_candles([trade(MINUTE_0, "1", "1")], 0)
    with pytest.raises(ValueError, match="ETH/USDT"):
        trades_to_candles([trade(MINUTE_0, "1", "1"), trade(MINUTE_0, "1", "1", "ETH/USDT")], 60)
    with pytest.raises(ValueError, match="backwards"):
        trades_to_candles([trade(MINUTE_0, "1", "1"), trade(MINUTE_0 - 1, "1", "1")], 60)
    assert trades_to_candles([], 60).candles == ()
