"""What a backtest holds does not grow with the run: the venue's orders and fills, the equity
curve; and what it keeps compactly (candles, fills) reads back exactly as it went in.

Structural checks (counts and contents), not timings: ``benchmarks/memory.py`` measures the
resident memory itself.
"""

import json
from dataclasses import replace
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.backtest.report_json import dumps, result_to_json, write_json
from market_maker.backtest.result import EquityCurve, EquityPoint, FillLog, FillRecord
from market_maker.backtest.runner import ORDER_HISTORY, run_backtest, simulated_exchange
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candle_columns import CandleColumnsBuilder, split_decimal
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, PlaceOrderRequest
from market_maker.exchanges.simulated import SimulatedExchange, SimulatedExchangeConfig

D = Decimal
SYM = "BTC/USDT"


def _buy(cid: str, price: str) -> PlaceOrderRequest:
    return PlaceOrderRequest(
        SYM, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, D(price), D(1), True, False, cid
    )


def _candle(t: int, low: str) -> Candle:
    return Candle(SYM, t, 60, D(100), D(100), D(low), D(100), D(10))


def _churn(venue: SimulatedExchange, rounds: int) -> None:
    """Each round: a buy that fills, one that is cancelled, one rejected (post-only cross)."""
    venue.on_candle(_candle(0, "100"))
    for n in range(rounds):
        venue.place_order(_buy(f"f{n}", "99"))
        venue.place_order(_buy(f"c{n}", "90"))
        venue.place_order(_buy(f"r{n}", "101"))  # crosses the last price: rejected
        venue.on_candle(_candle(n + 1, "98"))  # fills f{n}
        venue.cancel_order(CancelOrderRequest(SYM, f"c{n}"))


def test_the_venue_remembers_a_bounded_window_of_finished_orders_and_counts_fills() -> None:
    venue = SimulatedExchange(
        SYM,
        {"USDT": D(10_000_000), "BTC": D(0)},
        SimulatedExchangeConfig(order_history=50, fill_ledger=False),
    )
    _churn(venue, 2_000)
    assert len(venue.orders) == 50  # nothing rests; the 50 most recently finished remain
    assert venue.fills == [] and venue.fill_count == 2_000
    latest = venue.get_order(SYM, "c1999")
    assert latest is not None and latest.status is OrderStatus.CANCELED
    assert latest.order_id == "5999"  # ids keep counting every order ever placed
    assert venue.get_order(SYM, "f0") is None  # forgotten, as a venue's history ends


def test_by_default_the_venue_keeps_its_whole_ledger() -> None:
    venue = SimulatedExchange(SYM, {"USDT": D(10_000_000), "BTC": D(0)})
    _churn(venue, 100)
    assert len(venue.orders) == 300 and len(venue.fills) == venue.fill_count == 100


def test_a_backtest_venue_holds_no_more_orders_than_its_history_and_no_fills() -> None:
    config = load_config(default_backtest_config_path())
    candles = load_candles(sample_candles_path(), symbol=config.symbol).candles
    venue = simulated_exchange(config, ledger=False)
    result = run_backtest(config, candles, exchange=venue)
    assert result.summary.orders_placed > ORDER_HISTORY  # long enough to forget some
    assert len(venue.orders) <= ORDER_HISTORY + len(venue.resting)
    assert venue.fills == [] and venue.fill_count >= result.summary.fills > 0


def _point(ts: int) -> EquityPoint:
    return EquityPoint(ts, D("100.10"), D("1E+3"), D("-0.000"), None, D("0.5"))


def test_the_equity_curve_stays_bounded_and_evenly_sampled() -> None:
    curve = EquityCurve(max_points=8)
    for candidate in range(1_000):
        if curve.due():
            curve.add(_point(candidate))
    curve.add(_point(1_000))  # the run's last event, always kept
    points = curve.points
    assert len(points) <= 8
    assert [p.ts_ms for p in points[:-1]] == [i * curve.stride for i in range(len(points) - 1)]
    assert points[-1].ts_ms == 1_000
    assert [(str(p.price), str(p.equity), str(p.inventory)) for p in points][:1] == [
        ("100.10", "1E+3", "-0.000")
    ]
    assert points[0].center is None and points[0].interval == D("0.5")


def test_a_curve_that_never_fills_keeps_every_candidate() -> None:
    curve = EquityCurve(max_points=8)
    for candidate in range(8):
        assert curve.due()
        curve.add(_point(candidate))
    assert [p.ts_ms for p in curve.points] == list(range(8)) and curve.stride == 1


def test_a_long_backtest_keeps_at_most_max_equity_points() -> None:
    config = load_config(default_backtest_config_path())
    candles = load_candles(sample_candles_path(), symbol=config.symbol).candles
    full = run_backtest(config, candles)
    bounded = run_backtest(config, candles, max_equity_points=10)
    assert len(full.equity_curve) > 10 >= len(bounded.equity_curve)
    assert bounded.equity_curve[-1] == full.equity_curve[-1]  # the last candle, exactly
    assert bounded.equity_curve[0] == full.equity_curve[0]
    assert bounded.fills == full.fills and bounded.summary.fills == full.summary.fills


def test_odd_equity_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        EquityCurve(max_points=7)


def _fill(n: int, cid: str = "mm-1", fee: str = "0.10557373000") -> FillRecord:
    return FillRecord(
        n, "BUY", D("105554.32"), D("0.00100"), D(fee), "maker", cid, D("1E+5"), D("-0")
    )


def test_the_fill_log_reads_back_every_digit() -> None:
    fills = [_fill(0), _fill(1, cid="odd\x1fid"), _fill(2, fee="1E-30")]
    fills.append(replace(fills[0], side="SELL", liquidity="taker", slot=D("105554.320")))
    fills.append(replace(fills[0], price=D("1E+5"), slot=D("100000")))
    fills.append(replace(fills[0], side="HOLD"))  # not a side the log abbreviates: kept whole
    log = FillLog(fills)
    assert list(log) == fills and log == fills and len(log) == 6
    assert [str(f.fee) for f in log][:3] == ["0.10557373000", "0.10557373000", "1E-30"]
    assert [(str(f.price), str(f.slot)) for f in log] == [
        (str(f.price), str(f.slot)) for f in fills
    ]
    assert str(log[0].realized_pnl) == "-0" and str(log[-1].slot) == "1E+5"
    assert log[1].client_order_id == "odd\x1fid"  # kept whole: its text holds the separator
    assert list(log[1:]) == fills[1:]
    assert log[:2] + log[2:] == fills and list(log[:1] + fills[1:2]) == fills[:2]


def test_the_fill_log_reads_back_across_compressed_blocks() -> None:
    """Full blocks of lines are compressed; reading any fill, in any order, gives it back."""
    n = 2 * FillLog.BLOCK + 17
    fills = [
        _fill(i, cid=f"mm-{i}", fee=f"0.{i:05d}")
        if i % 500
        else replace(_fill(i), side="HOLD")  # kept whole, in the middle of a block
        for i in range(n)
    ]
    log = FillLog(fills)
    assert len(log) == n and list(log) == fills
    for i in (n - 1, 0, FillLog.BLOCK, FillLog.BLOCK - 1, 2 * FillLog.BLOCK, 1500, 3):
        assert log[i] == fills[i]  # out of order: each block read on its own
    assert (
        list(log[FillLog.BLOCK - 2 : FillLog.BLOCK + 2])
        == fills[FillLog.BLOCK - 2 : FillLog.BLOCK + 2]
    )


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None)
    | st.decimals(min_value=0, max_value=10**12, places=8)
)
def test_split_decimal_keeps_the_digits_and_the_exponent(value: Decimal) -> None:
    builder = CandleColumnsBuilder()
    builder.append(0, (value, value, value, value, value), [str(value)] * 5)
    builder.append(60_000, (value, value, value, value, value))
    for candle in builder.build(SYM, 60):
        assert [v.as_tuple() for v in (candle.open, candle.high, candle.close)] == [
            value.as_tuple()
        ] * 3
    pair = split_decimal(value)
    if pair is not None and abs(pair[0]) < 2**63:
        assert D(pair[0]).scaleb(pair[1]) == value


def test_loaded_candles_are_the_file_s_decimals(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    rows = [
        "1000000,95505.4,95505.50,95502.7,95502.70,16.536",
        "1060000,95502.70,1E+15,007.5,99999999999999.99999,0",
        "1120000,3000000000.5,3000000000.5,3000000000.5,3000000000.5,-0",
    ]
    path.write_text("timestamp_ms,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    candles = load_candles(path, symbol=SYM).candles
    for row, candle in zip(rows, candles, strict=True):
        texts = row.split(",")[1:]
        values = [candle.open, candle.high, candle.low, candle.close, candle.volume]
        assert [v.as_tuple() for v in values] == [D(t).as_tuple() for t in texts]
    assert candles[1:] == list(candles)[1:] and candles[-1].open_time_ms == 1_120_000


def test_the_json_report_is_written_piece_by_piece_with_the_same_text(tmp_path: Path) -> None:
    config = load_config(default_backtest_config_path())
    candles = load_candles(sample_candles_path(), symbol=config.symbol).candles
    result = run_backtest(config, candles[:600])
    expected = json.dumps(result_to_json(result), indent=2, allow_nan=False) + "\n"
    write_json(result, tmp_path / "r.json")
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == dumps(result) == expected
    empty = replace(result, fills=[], equity_curve=[])
    assert dumps(empty) == json.dumps(result_to_json(empty), indent=2) + "\n"


@given(
    st.lists(
        st.sampled_from(["1", "1.0", "1.00", "-1.0", "95505.40", "95505.4", "0.001", "0"]),
        min_size=5,
        max_size=60,
    )
)
def test_iterated_candles_equal_indexed_ones_to_the_digit(texts: list[str]) -> None:
    builder = CandleColumnsBuilder()
    for n in range(len(texts) - 4):
        row = texts[n : n + 5]
        builder.append(n * 60_000, tuple(D(t) for t in row), row)  # type: ignore[arg-type]
    candles = builder.build(SYM, 60)
    indexed_candles = [candles[i] for i in range(len(candles))]  # made one by one, uncached
    for n, (candle, indexed) in enumerate(zip(candles, indexed_candles, strict=True)):
        made = (candle.open, candle.high, candle.low, candle.close, candle.volume)
        assert [v.as_tuple() for v in made] == [D(t).as_tuple() for t in texts[n : n + 5]]
        assert candle == indexed


_TEXTS = ["95505.4", "95505.40", "95505.5", "7", "0", "0.00", "-1", "3000000000.5", "-0", "1E+200"]
"""Values that repeat across a candle's fields with and without the same digits, a wide
coefficient (int64), and two kept whole (a negative zero, an exponent beyond int8)."""


@given(
    rows=st.lists(st.lists(st.sampled_from(_TEXTS), min_size=5, max_size=5), min_size=1),
    with_texts=st.booleans(),
    start=st.integers(0, 3),
    step=st.sampled_from([1, 1, 2]),
    low_precision=st.booleans(),
)
def test_candles_read_back_as_written_however_their_fields_repeat(
    rows: list[list[str]], with_texts: bool, start: int, step: int, low_precision: bool
) -> None:
    builder = CandleColumnsBuilder()
    for n, row in enumerate(rows):
        values = tuple(D(t) for t in row)
        builder.append(n * 60_000, values, row if with_texts else None)  # type: ignore[arg-type]
    candles = builder.build(SYM, 60)[start::step]
    expected = rows[start::step]
    with localcontext() as context:
        if low_precision:
            context.prec = 5  # a product would round here: read row by row, exactly
        iterated = list(candles)
    assert len(iterated) == len(expected) == len(candles)
    for n, (candle, row) in enumerate(zip(iterated, expected, strict=True)):
        made = (candle.open, candle.high, candle.low, candle.close, candle.volume)
        assert [v.as_tuple() for v in made] == [D(t).as_tuple() for t in row]
        assert candle == candles[n]
        assert candle.open_time_ms == (start + n * step) * 60_000


def test_rows_split_in_batches_read_back_as_written() -> None:
    """Rows with text are split a batch at a time: a batch of plain decimals in bulk, a
    batch holding anything else (here an exponent) value by value; a wide coefficient met in
    bulk widens the column. Every value reads back with its digits and exponent."""
    batch = CandleColumnsBuilder.BATCH
    rows = [
        [
            f"{95000 + i}.{i % 100:02d}",
            "3000000000.5" if i == batch + 7 else f"{95001 + i}.1",
            f"{94999 + i}",
            f"{95000 + i}.5",
            "1E+2" if i == 10 else f"{i}.125",
        ]
        for i in range(2 * batch + 10)
    ]
    with_texts, values_only = CandleColumnsBuilder(), CandleColumnsBuilder()
    for n, row in enumerate(rows):
        values = tuple(D(t) for t in row)
        with_texts.append(n * 60_000, values, row)  # type: ignore[arg-type]
        values_only.append(n * 60_000, values)  # type: ignore[arg-type]
    candles = with_texts.build(SYM, 60)
    assert candles._columns[1].coefficients.typecode == "q"  # the wide one, met in bulk
    assert candles._columns[0].coefficients.typecode == "i"
    for candle, row, other in zip(candles, rows, values_only.build(SYM, 60), strict=True):
        made = (candle.open, candle.high, candle.low, candle.close, candle.volume)
        assert [v.as_tuple() for v in made] == [D(t).as_tuple() for t in row]
        assert candle == other


def test_a_value_with_more_decimals_than_an_exponent_holds_is_kept_whole() -> None:
    text = "0." + "0" * 129 + "1"  # coefficient 1, exponent -130: beyond int8
    value = D(text)
    builder = CandleColumnsBuilder()
    builder.append(0, (value, value, value, value, value), [text] * 5)
    builder.append(60_000, (value, value, value, value, value), [text] * 5)
    for candle in builder.build(SYM, 60):
        assert candle.close.as_tuple() == value.as_tuple() and candle.open == value
