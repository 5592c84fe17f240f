"""The ports of the live runner: where prices, candles, order reports, time and rules come from.

``LiveRunner`` knows a venue only through these protocols, so the ccxt adapter
(``exchanges/ccxt``: any ccxt venue, the paper exchange included), the polled sources
(``live/polled.py``) and the in-memory fakes of the tests plug in alike:

* ``MarketDataSource``: price updates and candles, in order, plus a bounded catch-up of
  the candles missed while the bot was down;
* ``OrderUpdateSource``: reports about our orders, polled or pushed;
* ``Clock``: the time now and the wait until the next poll (a test clock makes a run
  deterministic without sleeping);
* ``VenueInfo``: the market's rules and fee rates, and the account's balances.

The engine it drives is any ``market_maker.engine.base.Engine``.

Every port is synchronous and may raise ``ExchangeError`` subclasses:
``RetryableExchangeError`` makes the runner try again at the next poll.
"""

import threading
from collections.abc import Sequence
from typing import Protocol

from market_maker.domain.instrument import MarketRules
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import OrderUpdate
from market_maker.exchanges.base import Balance
from market_maker.slots.model import OrderRecord

MarketEvent = Candle | PriceUpdate
"""One market-data event: a candle (for the risk monitor and the ATR) or a price to decide on."""


class MarketDataSource(Protocol):
    """Price updates and candles of one symbol, delivered in the order they happened.

    Candles come oldest first, each once when it closes (a source may also deliver a
    forming candle, ``closed=False``, before its closed version). Price updates (last
    trade, ticker, or a candle's close when the venue has nothing finer) come between them
    as often as the venue has them. A candle or price the runner has already seen (a
    reconnecting stream may repeat some) is ignored by the runner, so delivering it twice
    is harmless.
    """

    def catch_up(self, after_ms: int, limit: int) -> list[MarketEvent]:
        """What the bot missed while it was down, and the price now.

        Returns the closed candles that opened after ``after_ms`` (at most the newest
        ``limit`` of them), oldest first, followed by the latest price when there is one
        newer than ``after_ms``; ``[]`` when nothing was missed. Afterwards ``poll``
        delivers only what comes after these.
        """
        ...

    def poll(self) -> list[MarketEvent]:
        """Every event since the previous call (or the catch-up), in order; never blocks.

        A polled source asks the venue; a pushed source drains what its stream buffered.
        """
        ...


class OrderUpdateSource(Protocol):
    """Reports about our orders, for the engine's order-update handling.

    The engine books cumulative reports (filled quantity and fees so far), so a report
    delivered twice, or a stale one after a newer, changes nothing: a source may err on
    the side of delivering too much.
    """

    def poll(self, known: Sequence[OrderRecord]) -> list[OrderUpdate]:
        """Reports the engine may not have booked yet, oldest first; never blocks.

        ``known`` are the orders the engine holds as active (pending or resting), as it
        last booked them. A polled source compares the venue's open orders and lookups with
        them; a pushed source returns what its stream delivered since the last call (and
        may use ``known`` to fill a gap after reconnecting).
        """
        ...


class Clock(Protocol):
    """The runner's time: wall time live, a manual clock in tests."""

    def now_ms(self) -> int:
        """Milliseconds since the epoch (UTC)."""
        ...

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Return after ``seconds``, or as soon as ``wake`` is set; True when it was set."""
        ...


class VenueInfo(Protocol):
    """What the venue says about the market and the account."""

    def market_rules(self, symbol: str) -> MarketRules:
        """Tick size, quantity step, minimums, fee rates, spot or derivatives of ``symbol``."""
        ...

    def balances(self) -> dict[str, Balance]:
        """Free and locked balances by asset."""
        ...
