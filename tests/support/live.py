"""In-memory stand-ins for the live runner's ports, faithful to their contracts.

* ``FakeVenue``: a ``SimulatedExchange`` (real matching, fees and balances) that a test
  moves trade by trade (``tick``) and closes candles on (``close_candle``); it publishes
  each trade price and each closed candle, serves its market rules, balances and trade
  list.
* ``VenueMarketData``: the polled ``MarketDataSource`` over what the venue published.
* ``PushedOrderUpdates``: an ``OrderUpdateSource`` shaped like a stream, with repeats.
* ``ManualClock``: a ``Clock`` whose ``wait`` moves time on and runs the test's script
  instead of sleeping, so a run is deterministic.
* ``RecordingEngine``: wraps a real engine and records what the runner fed it, in order.
"""

import threading
from collections.abc import Callable, Sequence
from decimal import Decimal

from market_maker.domain.instrument import MarketRules
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import OrderUpdate
from market_maker.engine.grid import GridEngine
from market_maker.exchanges.base import Balance, FatalExchangeError, OwnTrade
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.live.sources import MarketEvent
from market_maker.slots.model import OrderRecord
from market_maker.state.model import GridState

CANDLE_MS = 60_000
T0 = 1_747_180_800_000
"""Minute 0 of the scripts (2025-05-14 00:00 UTC): times are ``T0 + ms``."""


class FakeVenue:
    """A venue with a ticker: trades move the simulated exchange, candles close each minute."""

    def __init__(self, exchange: SimulatedExchange, rules: MarketRules) -> None:
        self.exchange = exchange
        self.rules = rules
        self.symbol = exchange.symbol
        self.published: list[MarketEvent] = []
        self.pushed: list[OrderUpdate] = []  # fill reports, as a user-data stream sends them
        self._bar: list[tuple[int, Decimal]] = []  # trades of the forming candle

    def market_rules(self, symbol: str) -> MarketRules:
        if symbol != self.symbol:
            raise FatalExchangeError(f"this venue trades {self.symbol}, not {symbol}")
        return self.rules

    def balances(self) -> dict[str, Balance]:
        return self.exchange.balances()

    def own_trades(self, symbol: str, after_id: int | None, limit: int = 1000) -> list[OwnTrade]:
        """The account's trade list (the simulated exchange's fills, by trade id)."""
        return self.exchange.own_trades(symbol, after_id, limit)

    def tick(self, ts_ms: int, price: str) -> None:
        """One trade at ``price``: resting orders it reaches fill; the ticker shows it."""
        value = Decimal(price)
        self.pushed += self.exchange.on_trade(ts_ms, value, Decimal(1))
        self._bar.append((ts_ms, value))
        self.published.append(PriceUpdate(self.symbol, value, ts_ms))

    def close_candle(self) -> Candle:
        """Close the candle of the trades since the last one (they share one minute)."""
        open_ms = self._bar[0][0] // CANDLE_MS * CANDLE_MS
        prices = [p for _, p in self._bar]
        candle = Candle(
            self.symbol, open_ms, 60, prices[0], max(prices), min(prices), prices[-1],
            Decimal(len(prices)),
        )  # fmt: skip
        self._bar = []
        self.published.append(candle)
        return candle

    def minute(self, minute: int, *prices: str) -> list[Callable[[], object]]:
        """Script steps: one trade every 10 s of ``minute`` (after T0), then its candle closes."""
        start = T0 + minute * CANDLE_MS
        steps: list[Callable[[], object]] = [
            (lambda ts=start + i * 10_000, p=p: self.tick(ts, p)) for i, p in enumerate(prices)
        ]
        return [*steps, self.close_candle]


class VenueMarketData:
    """A polled ``MarketDataSource`` over a ``FakeVenue``'s published events."""

    def __init__(self, venue: FakeVenue) -> None:
        self.venue = venue
        self.cursor = 0
        self.replay = False  # the next poll repeats the previous batch first (a reconnect)
        self._last: list[MarketEvent] = []

    def catch_up(self, after_ms: int, limit: int) -> list[MarketEvent]:
        events = self.venue.published
        self.cursor = len(events)
        candles = [e for e in events if isinstance(e, Candle) and e.open_time_ms > after_ms]
        prices = [e for e in events if isinstance(e, PriceUpdate) and e.ts_ms > after_ms]
        return [*candles[-limit:], *prices[-1:]]

    def poll(self) -> list[MarketEvent]:
        events = self.venue.published
        new, self.cursor = events[self.cursor :], len(events)
        out = [*self._last, *new] if self.replay else new
        self.replay = False
        self._last = new
        return out


class PushedOrderUpdates:
    """An ``OrderUpdateSource`` like a user-data stream: it drains the venue's pushed reports.

    It delivers every report twice (streams repeat themselves after a reconnect) and never
    looks at the orders the engine holds.
    """

    def __init__(self, venue: FakeVenue) -> None:
        self.venue = venue
        self.cursor = 0

    def poll(self, known: Sequence[OrderRecord]) -> list[OrderUpdate]:
        new = self.venue.pushed[self.cursor :]
        self.cursor += len(new)
        return [report for report in new for _ in range(2)]


class ManualClock:
    """A ``Clock`` for tests: ``wait`` moves time on and runs ``on_wait``; it never sleeps."""

    def __init__(self, start_ms: int, on_wait: Callable[[], None] | None = None) -> None:
        self.ms = start_ms
        self.on_wait = on_wait
        self.waits: list[float] = []

    def now_ms(self) -> int:
        return self.ms

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        self.waits.append(seconds)
        self.ms += round(seconds * 1000)
        if self.on_wait is not None:
            self.on_wait()
        return wake.is_set()


class Script:
    """Runs ``per_wait`` steps of a script at every clock wait; stops the run when done."""

    def __init__(self, steps: list[Callable[[], object]], per_wait: int = 1) -> None:
        self.steps = list(steps)
        self.per_wait = per_wait
        self.stop: Callable[[], None] | None = None  # called when the script is done

    def __call__(self) -> None:
        if not self.steps:
            assert self.stop is not None
            self.stop()
            return
        for _ in range(min(self.per_wait, len(self.steps))):
            self.steps.pop(0)()


class RecordingEngine:
    """An ``Engine`` that records the runner's events and passes every call to a real engine.

    ``log`` holds ``("candle", open_time_ms)``, ``("price", ts_ms, price)`` and
    ``("order", client_order_id, status)`` in call order. What it does not record (the
    operator verbs, counters, the read model) it hands to ``inner`` as it is.
    """

    def __init__(self, inner: GridEngine) -> None:
        self.inner = inner
        self.log: list[tuple[object, ...]] = []
        self.started = self.stopped = 0

    @property
    def state(self) -> GridState:
        return self.inner.state

    def start(self) -> None:
        self.started += 1
        self.inner.start()

    def stop(self) -> None:
        self.stopped += 1
        self.inner.stop()

    def on_candle(self, candle: Candle) -> None:
        self.log.append(("candle", candle.open_time_ms))
        self.inner.on_candle(candle)

    def on_price_update(self, update: PriceUpdate) -> None:
        self.log.append(("price", update.ts_ms, update.price))
        self.inner.on_price_update(update)

    def on_order_update(self, update: OrderUpdate) -> None:
        self.log.append(("order", update.client_order_id, update.status))
        self.inner.on_order_update(update)

    def on_account_update(self, balances: dict[str, Balance]) -> None:
        self.inner.on_account_update(balances)

    def on_position_update(self, position: Decimal) -> None:
        self.inner.on_position_update(position)

    def checkpoint_progress(self) -> None:
        self.inner.checkpoint_progress()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def kinds(self, kind: str) -> list[tuple[object, ...]]:
        """The recorded calls of one kind."""
        return [entry for entry in self.log if entry[0] == kind]
