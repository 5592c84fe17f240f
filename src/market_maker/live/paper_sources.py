"""The paper exchange as the live runner's market-data source.

The paper exchange replays candles; it has no price finer than a candle, so each candle
is delivered with its close as the price update that follows it (stamped, like backtests
do, with the candle's open time). Its orders are polled (``live.polled``) and its rules
and balances come from the client itself (``PaperExchange`` is a ``VenueInfo``).
"""

from typing import Protocol

from market_maker.domain.market import PriceUpdate
from market_maker.live.sources import MarketEvent
from market_maker.paper.protocol import IndexedCandle, MarketSnapshot


class CandleFeed(Protocol):
    """The part of ``PaperExchange`` the source reads: market time and processed candles."""

    def latest(self) -> MarketSnapshot:
        """The latest candle processed and its index."""
        ...

    def candles_after(self, index: int, limit: int = 1000) -> list[IndexedCandle]:
        """Processed candles with an index above ``index``, oldest first."""
        ...


class PaperMarketData:
    """A polled ``MarketDataSource`` over the paper exchange's candles.

    It remembers the index of the last candle delivered and asks for the ones after it.

    Args:
        feed: The paper exchange client.
        symbol: The market traded (the paper exchange trades one).
        batch: Most candles asked for per request (the server allows up to 10,000).
    """

    def __init__(self, feed: CandleFeed, symbol: str, *, batch: int = 1000) -> None:
        self.feed = feed
        self.symbol = symbol
        self.batch = batch
        self.last_index = 0  # index of the last candle delivered (or skipped by catch_up)

    def catch_up(self, after_ms: int, limit: int) -> list[MarketEvent]:
        """The newest ``limit`` candles processed that opened after ``after_ms``, with closes."""
        latest = self.feed.latest().index
        start = max(0, latest - limit)
        missed: list[IndexedCandle] = []
        index = start
        while index < latest:  # read the window, however the server pages it
            page = self.feed.candles_after(index, min(self.batch, latest - index))
            if not page:
                break
            missed += [c for c in page if c.candle.open_time_ms > after_ms]
            index = page[-1].index
        self.last_index = missed[-1].index if missed else latest
        return self._events(missed)

    def poll(self) -> list[MarketEvent]:
        """The candles processed since the last one delivered, each followed by its close."""
        new = self.feed.candles_after(self.last_index, self.batch)
        if new:
            self.last_index = new[-1].index
        return self._events(new)

    def _events(self, candles: list[IndexedCandle]) -> list[MarketEvent]:
        events: list[MarketEvent] = []
        for indexed in candles:
            c = indexed.candle
            events += [c, PriceUpdate(self.symbol, c.close, c.open_time_ms)]
        return events
