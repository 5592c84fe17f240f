"""``CcxtMarketData``: the runner's ``MarketDataSource`` from a venue's ticker and klines.

* Prices: the venue's ticker (last trade price, bid and ask when given), stamped with the
  venue's event time: from the ``watch_ticker`` stream, or ``fetch_ticker`` each poll
  (REST mode, and while the stream is down).
* Candles (1 minute): REST klines (``fetch_ohlcv``), paginated. A kline is delivered only
  once it is *closed*: a later kline exists, or the venue's time (the latest ticker's)
  has reached its close time (Binance: open time + 59,999 ms). They are fetched when the
  venue's time says one may have closed, so a quiet poll costs the ticker only.

Kline values are ccxt's floats converted through ``str`` (exact for a venue's decimal
strings up to 15 significant digits); prices are read from the raw ticker when present.
"""

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from market_maker.domain.market import Candle, PriceUpdate
from market_maker.exchanges.ccxt.caller import Caller
from market_maker.exchanges.ccxt.numbers import pick, to_dec
from market_maker.exchanges.ccxt.streams import Stream
from market_maker.live.sources import MarketEvent

log = logging.getLogger(__name__)

CANDLE_MS = 60_000
"""Length of the candles delivered (1 minute)."""
PAGE = 1000
"""Klines asked for per request (Binance allows up to 1,000 on spot, 1,500 on futures)."""


def ticker_price(symbol: str, ticker: Mapping[str, Any]) -> PriceUpdate | None:
    """A ccxt ticker as a price update, or ``None`` when it has no price or time.

    A price that is not positive (a market with no trade yet answers 0) is no price.
    """
    price = pick(ticker, "last", "lastPrice", "c")
    ts = ticker.get("timestamp")
    if price is None or price <= 0 or not ts:
        return None
    return PriceUpdate(
        symbol,
        price,
        int(ts),
        bid=pick(ticker, "bid", "bidPrice", "b"),
        ask=pick(ticker, "ask", "askPrice", "a"),
    )


def kline_candle(symbol: str, row: list[Any]) -> Candle:
    """One ccxt OHLCV row ``[open_ms, o, h, l, c, v]`` as a closed 1-minute candle."""

    def d(i: int) -> Decimal:
        value = to_dec(row[i], field=f"ohlcv[{i}]")
        return Decimal(0) if value is None else value

    return Candle(symbol, int(row[0]), CANDLE_MS // 1000, d(1), d(2), d(3), d(4), d(5))


class CcxtMarketData:
    """Prices and closed 1-minute candles of one symbol.

    Args:
        caller: Runs the REST calls.
        symbol: The market (ccxt unified symbol).
        stream: A ``watch_ticker`` stream, or ``None`` to poll the ticker over REST.
    """

    def __init__(self, caller: Caller, symbol: str, stream: Stream | None = None) -> None:
        self.caller = caller
        self.ex = caller.exchange
        self.symbol = symbol
        self.stream = stream
        self.last_candle_ms = -1  # open time of the last closed candle delivered
        self.venue_ms = 0  # the venue's time, from the latest price
        self.last_price: PriceUpdate | None = None

    def catch_up(self, after_ms: int, limit: int) -> list[MarketEvent]:
        """The closed candles after ``after_ms`` (the newest ``limit``), then the price now."""
        price = self._rest_price()
        if price is None:  # no trade yet (a market that has not opened): nothing to read
            self.last_candle_ms = after_ms if after_ms > 0 else -1
            if self.stream is not None:
                self.stream.drain()
            return []
        now_ms = price.ts_ms
        start = max(after_ms + 1, (now_ms // CANDLE_MS - limit) * CANDLE_MS)
        candles = self._closed_since(start, now_ms)[-limit:]
        forming_ms = now_ms // CANDLE_MS * CANDLE_MS
        self.last_candle_ms = (
            candles[-1].open_time_ms if candles else max(after_ms, forming_ms - CANDLE_MS)
        )
        events: list[MarketEvent] = list(candles)
        if price.ts_ms > after_ms:
            events.append(price)
        if self.stream is not None:
            self.stream.drain()  # what came before the catch-up is older than it
        return events

    def poll(self) -> list[MarketEvent]:
        """New closed candles and prices since the last call, in order."""
        prices: list[PriceUpdate] = []
        if self.stream is not None:
            drained = self.stream.drain()
            prices = [p for p in drained.items if isinstance(p, PriceUpdate)]
            if not drained.healthy:
                rest = self._rest_price()
                prices += [rest] if rest is not None else []
        else:
            rest = self._rest_price()
            prices = [rest] if rest is not None else []
        for price in prices:
            self.venue_ms = max(self.venue_ms, price.ts_ms)
        candles: list[Candle] = []
        if self.last_candle_ms < 0 < self.venue_ms:  # no catch-up: start at the forming candle
            self.last_candle_ms = self.venue_ms // CANDLE_MS * CANDLE_MS - CANDLE_MS
        if self.venue_ms >= self.last_candle_ms + 2 * CANDLE_MS - 1:  # one may have closed
            candles = self._closed_since(self.last_candle_ms + 1, self.venue_ms)
            if candles:
                self.last_candle_ms = candles[-1].open_time_ms
        return [*candles, *sorted(prices, key=lambda p: p.ts_ms)]

    def _rest_price(self) -> PriceUpdate | None:
        ticker = self.caller.call(
            f"ticker of {self.symbol}", lambda: self.ex.fetch_ticker(self.symbol)
        )
        price = ticker_price(self.symbol, ticker)
        if price is not None:
            self.venue_ms = max(self.venue_ms, price.ts_ms)
        return price

    def _klines(self, since: int) -> list[list[Any]]:
        page = self.caller.call(
            f"klines of {self.symbol}",
            lambda: self.ex.fetch_ohlcv(self.symbol, "1m", since, PAGE),
        )
        return [r for r in page if int(r[0]) >= since]

    def _closed_since(self, start_ms: int, now_ms: int) -> list[Candle]:
        """Closed candles opening at or after ``start_ms``, paginated, oldest first."""
        rows: list[list[Any]] = []
        since = start_ms
        while True:
            page = self._klines(since)
            rows += page
            if len(page) < PAGE or not page:
                break
            since = int(page[-1][0]) + 1
        closed = []
        for i, row in enumerate(rows):
            later = i + 1 < len(rows)
            if later or int(row[0]) + CANDLE_MS - 1 <= now_ms:  # its close time has passed
                closed.append(kline_candle(self.symbol, row))
        return closed
