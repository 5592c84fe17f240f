"""Load trade ticks from CSV, checking every row, and aggregate them into candles.

Two layouts, told apart by the header:

- Binance's trade stream, as the project's tick data stores it:
  ``local_ts_ns,event_time_ms,trade_time_ms,trade_id,price,qty,is_buyer_maker``. The trade
  time is ``trade_time_ms`` (the exchange's clock; ``local_ts_ns`` is the collector's).
  ``is_buyer_maker=1`` means the buyer's order was resting, so the taker *sold*.
- A minimal generic layout: ``timestamp_ms,price,qty`` with an optional ``side`` column
  holding the taker's side (``buy`` or ``sell``, any case; empty when unknown).

Prices and quantities are parsed from the text straight into ``Decimal``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from market_maker.data.candles import CandleSeries
from market_maker.data.fields import (
    RowError,
    file_problem,
    format_ms,
    open_csv,
    parse_decimal_text,
    parse_int_text,
)
from market_maker.data.problems import FIX_ROWS, DataError, DataProblem
from market_maker.domain.enums import Side
from market_maker.domain.market import Candle

BINANCE_HEADER = (
    "local_ts_ns",
    "event_time_ms",
    "trade_time_ms",
    "trade_id",
    "price",
    "qty",
    "is_buyer_maker",
)
"""Header of Binance trade-stream CSV files."""

GENERIC_HEADER = ("timestamp_ms", "price", "qty")
"""Header of the minimal trade CSV layout."""

GENERIC_HEADER_WITH_SIDE = (*GENERIC_HEADER, "side")
"""The minimal layout with the taker's side."""

_HEADERS = (BINANCE_HEADER, GENERIC_HEADER, GENERIC_HEADER_WITH_SIDE)
_ZERO = Decimal(0)
_BUYER_MAKER = {"1": Side.SELL, "true": Side.SELL, "0": Side.BUY, "false": Side.BUY}
_SIDES = {"buy": Side.BUY, "sell": Side.SELL, "": None}


@dataclass(frozen=True, slots=True)
class Trade:
    """One public trade.

    Attributes:
        symbol: Unified symbol.
        ts_ms: Exchange trade time, milliseconds since the epoch (UTC).
        trade_id: The exchange's trade id as text (``None`` when the file has none).
        price: Trade price.
        qty: Traded quantity in base currency.
        taker_side: The side of the order that took liquidity; ``None`` when unknown.
    """

    symbol: str
    ts_ms: int
    trade_id: str | None
    price: Decimal
    qty: Decimal
    taker_side: Side | None


@dataclass(frozen=True, slots=True)
class TradeSeries:
    """Trades of one symbol in file order; times never go backwards, ids never repeat.

    Attributes:
        symbol: Unified symbol, as the caller named it.
        trades: The trades.
        source: Where they came from (the file path, as given).
        skipped: The bad rows dropped because ``skip_bad_rows`` was set, in file order.
    """

    symbol: str
    trades: tuple[Trade, ...]
    source: str
    skipped: tuple[DataProblem, ...] = ()

    def __len__(self) -> int:
        return len(self.trades)


def load_trades(path: Path | str, *, symbol: str, skip_bad_rows: bool = False) -> TradeSeries:
    """Load and check a trade CSV (``.csv`` or ``.csv.gz``) in one of the two layouts.

    Checks: numbers parse and are finite; price and quantity are positive; the trade time
    never goes backwards (equal times are normal); no trade id repeats; the side is known.

    Args:
        path: The file.
        symbol: The unified symbol the trades are for.
        skip_bad_rows: Drop bad rows and list them in ``skipped``, instead of failing.

    Returns:
        The trades in file order.

    Raises:
        DataError: The file cannot be read, its header is wrong, it has bad rows (unless
            skipped), or no good trade remains.
    """
    path = Path(path)
    file = str(path)
    trades: list[Trade] = []
    bad: list[DataProblem] = []
    seen: dict[str, int] = {}
    with open_csv(path, _HEADERS) as (header, numbered):
        parse = _parse_binance if header == BINANCE_HEADER else _parse_generic
        for line, fields in numbered:
            try:
                if len(fields) != len(header):
                    raise RowError(
                        f"expected {len(header)} fields ({','.join(header)}), found {len(fields)}"
                    )
                trade = parse(fields, symbol)
                _check_order(trade, trades[-1] if trades else None, seen)
            except RowError as exc:
                bad.append(DataProblem(file, str(line), str(exc)))
                continue
            if trade.trade_id is not None:
                seen[trade.trade_id] = line
            trades.append(trade)
    if bad and not skip_bad_rows:
        raise DataError(bad, FIX_ROWS)
    if not trades:
        dropped = f" after dropping {len(bad)} bad row(s)" if bad else ""
        raise file_problem(file, f"expected trades{dropped}, found none", "add trade rows")
    return TradeSeries(symbol, tuple(trades), file, tuple(bad))


def _parse_binance(fields: list[str], symbol: str) -> Trade:
    parse_int_text(fields[0], "local_ts_ns")
    parse_int_text(fields[1], "event_time_ms")
    ts_ms = parse_int_text(fields[2], "trade_time_ms")
    trade_id = fields[3].strip()
    if not trade_id:
        raise RowError("trade_id is empty: expected the exchange's trade id")
    price, qty = _price_qty(fields[4], fields[5])
    maker = fields[6].strip().lower()
    if maker not in _BUYER_MAKER:
        raise RowError(f"is_buyer_maker: expected 1 or 0 (true or false), found {fields[6]!r}")
    return Trade(symbol, ts_ms, trade_id, price, qty, _BUYER_MAKER[maker])


def _parse_generic(fields: list[str], symbol: str) -> Trade:
    ts_ms = parse_int_text(fields[0], "timestamp_ms")
    price, qty = _price_qty(fields[1], fields[2])
    side = fields[3].strip().lower() if len(fields) > len(GENERIC_HEADER) else ""
    if side not in _SIDES:
        raise RowError(f"side: expected buy or sell (or empty), found {fields[3]!r}")
    return Trade(symbol, ts_ms, None, price, qty, _SIDES[side])


def _price_qty(price_text: str, qty_text: str) -> tuple[Decimal, Decimal]:
    price = parse_decimal_text(price_text, "price")
    qty = parse_decimal_text(qty_text, "qty")
    if price <= _ZERO:
        raise RowError(f"price: expected a positive price, found {price}")
    if qty <= _ZERO:
        raise RowError(f"qty: expected a positive quantity, found {qty}")
    return price, qty


def _check_order(trade: Trade, previous: Trade | None, seen: dict[str, int]) -> None:
    if previous is not None and trade.ts_ms < previous.ts_ms:
        raise RowError(
            f"trade time {format_ms(trade.ts_ms)} is before the previous trade's "
            f"{format_ms(previous.ts_ms)}: expected times that never go backwards"
        )
    if trade.trade_id is not None and trade.trade_id in seen:
        raise RowError(
            f"trade_id {trade.trade_id} repeats the trade on line {seen[trade.trade_id]}: "
            "expected each trade once"
        )


def trades_to_candles(trades: TradeSeries | Sequence[Trade], interval_s: int) -> CandleSeries:
    """Aggregate trades into OHLCV candles of ``interval_s`` seconds.

    Each trade falls into the bar whose open time is its time rounded down to a multiple of
    the interval (since the epoch, so 1-minute bars open on whole minutes). Open and close
    are the first and last trade of the bar in series order, high and low the extremes,
    volume the exact sum of the quantities. Bars are made **only for intervals that have
    trades**: an interval without trades leaves a gap rather than inventing a flat candle,
    so the result may be unevenly spaced.

    Args:
        trades: Trades of one symbol whose times never go backwards (a loaded
            ``TradeSeries`` always qualifies).
        interval_s: Bar length in seconds, at least 1.

    Returns:
        The candles, with ``source`` naming the trades' file when known.

    Raises:
        ValueError: ``interval_s`` is not positive, the trades are of several symbols, or
            their times go backwards.
    """
    items: Sequence[Trade] = trades.trades if isinstance(trades, TradeSeries) else trades
    if isinstance(trades, TradeSeries):
        symbol, source = trades.symbol, trades.source
    else:
        symbol, source = (items[0].symbol if items else ""), "trades"
    builder = CandleBuilder(symbol, interval_s)
    candles: list[Candle] = []
    previous_ts = None
    for trade in items:
        if trade.symbol != symbol:
            raise ValueError(f"expected trades of {symbol} only, found one of {trade.symbol}")
        if previous_ts is not None and trade.ts_ms < previous_ts:
            raise ValueError(f"trade times go backwards at {format_ms(trade.ts_ms)}")
        previous_ts = trade.ts_ms
        if (finished := builder.add(trade.ts_ms, trade.price, trade.qty)) is not None:
            candles.append(finished)
    if (last := builder.finish()) is not None:
        candles.append(last)
    return CandleSeries(symbol, interval_s, tuple(candles), f"{source} ({interval_s} s bars)")


class CandleBuilder:
    """Folds trades (in time order) into candles of ``interval_s`` seconds, one at a time.

    A trade falls into the bar whose open time is its time rounded down to a multiple of
    the interval; open and close are the bar's first and last trade, high and low the
    extremes, volume the exact sum. A bar exists only for an interval with trades.
    """

    __slots__ = (
        "_close",
        "_high",
        "_low",
        "_open",
        "_open_ms",
        "_volume",
        "interval_ms",
        "interval_s",
        "symbol",
    )

    def __init__(self, symbol: str, interval_s: int) -> None:
        if interval_s < 1:
            raise ValueError(f"interval_s: expected at least 1, found {interval_s}")
        self.symbol = symbol
        self.interval_s = interval_s
        self.interval_ms = interval_s * 1000
        self._open_ms: int | None = None  # None: no bar started yet
        self._open = self._high = self._low = self._close = self._volume = _ZERO

    def add(self, ts_ms: int, price: Decimal, qty: Decimal) -> Candle | None:
        """Fold in one trade; return the bar it finished, if it opened a new one."""
        opens = ts_ms - ts_ms % self.interval_ms
        if opens == self._open_ms:
            if price > self._high:
                self._high = price
            elif price < self._low:
                self._low = price
            self._close = price
            self._volume += qty
            return None
        finished = self.finish()
        self._open_ms = opens
        self._open = self._high = self._low = self._close = price
        self._volume = qty
        return finished

    def finish(self) -> Candle | None:
        """The bar being built (as complete as the trades so far make it), or None."""
        if self._open_ms is None:
            return None
        return Candle(
            symbol=self.symbol,
            open_time_ms=self._open_ms,
            interval_s=self.interval_s,
            open=self._open,
            high=self._high,
            low=self._low,
            close=self._close,
            volume=self._volume,
        )
