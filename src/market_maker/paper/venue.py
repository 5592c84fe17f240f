"""The paper venue: one simulated exchange, its candles and market time, behind one lock.

``PaperVenue`` is what the HTTP server serves. It owns a ``SimulatedExchange`` and the
candles it replays; every access to the exchange happens under one lock, because the
server answers requests on several threads while ``MarketClock`` advances time on another.
Market time moves one candle at a time, either through ``advance`` (manual, deterministic)
or through a ``MarketClock`` that calls it at a fixed wall-clock rate.
"""

import threading
import time
from collections.abc import Sequence

from market_maker.domain.instrument import MarketRules
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.exchanges.base import Balance, OwnTrade
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.paper.protocol import IndexedCandle, Ledger, LedgerOrder, MarketSnapshot


class PaperVenue:
    """A simulated exchange plus the candles that drive it, safe to share across threads.

    ``rules`` are the market's instrument rules and fee rates as the venue serves them
    (``GET /rules``); they must describe ``exchange`` (same symbol, its fee rates).
    """

    def __init__(
        self, exchange: SimulatedExchange, candles: Sequence[Candle], *, rules: MarketRules
    ) -> None:
        if rules.instrument.symbol != exchange.symbol:
            raise ValueError(
                f"rules: expected the rules of {exchange.symbol}, found {rules.instrument.symbol}"
            )
        self.duplicates: list[str] = []  # client order ids placed again
        self.exchange = exchange
        self.symbol = exchange.symbol
        self.rules = rules
        self.candles: tuple[Candle, ...] = tuple(candles)
        self._index = 0  # candles processed so far
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        """Number of candles in the data."""
        return len(self.candles)

    # -- orders and balances ---------------------------------------------------------------

    def place_order(self, request: PlaceOrderRequest) -> OrderUpdate:
        """Place an order on the simulated exchange; its first report.

        A client order id sent again is rejected by the exchange and recorded in
        ``duplicates`` (the crash harness checks that a bot never does it).
        """
        with self._lock:
            if request.client_order_id in self.exchange.orders:
                self.duplicates.append(request.client_order_id)
            return self.exchange.place_order(request)

    def cancel_order(self, request: CancelOrderRequest) -> OrderUpdate | None:
        """Cancel an order; ``None`` when it is unknown or already finished."""
        with self._lock:
            return self.exchange.cancel_order(request)

    def get_order(self, client_order_id: str) -> OrderUpdate | None:
        """Current report of one order, or ``None`` when the venue has none."""
        with self._lock:
            return self.exchange.get_order(self.symbol, client_order_id)

    def orders(self, *, open_only: bool) -> list[OrderUpdate]:
        """Resting orders, or (``open_only`` off) every order held, in placement order."""
        with self._lock:
            if open_only:
                return self.exchange.open_orders(self.symbol)
            return [
                report
                for cid in self.exchange.orders
                if (report := self.exchange.get_order(self.symbol, cid)) is not None
            ]

    def balances(self) -> dict[str, Balance]:
        """Free and locked balances by asset."""
        with self._lock:
            return self.exchange.balances()

    def own_trades(self, after_id: int | None, limit: int) -> list[OwnTrade]:
        """Our fills with a trade id above ``after_id``, oldest first, at most ``limit``."""
        with self._lock:
            return self.exchange.own_trades(self.symbol, after_id, limit)

    def ledger(self) -> Ledger:
        """Every order held (request and current state) and every fill report, in order."""
        with self._lock:
            ex = self.exchange
            orders = tuple(
                LedgerOrder(order.request, report)
                for cid, order in ex.orders.items()
                if (report := ex.get_order(self.symbol, cid)) is not None
            )
            return Ledger(orders, tuple(ex.fills), tuple(self.duplicates))

    # -- market time -----------------------------------------------------------------------

    def advance(self, n: int = 1) -> tuple[int, int, list[OrderUpdate]]:
        """Process up to ``n`` more candles.

        Returns the index before and after (read atomically, whatever the clock does) and
        the reports the candles caused (fills, and the expiry of reduce-only orders left
        with nothing to reduce). Stops at the end of the data: advancing a finished venue
        does nothing.
        """
        if n < 1:
            raise ValueError(f"n: expected at least 1 candle, found {n}")
        fills: list[OrderUpdate] = []
        with self._lock:
            start = self._index
            stop = min(start + n, len(self.candles))
            for candle in self.candles[start:stop]:
                fills += self.exchange.on_candle(candle)
            self._index = stop
            return start, stop, fills

    def market(self) -> MarketSnapshot:
        """The index and the latest candle processed, and whether the data is exhausted."""
        with self._lock:
            index = self._index
        candle = self.candles[index - 1] if index else None
        return MarketSnapshot(index, candle, index == len(self.candles))

    def candles_after(self, index: int, limit: int) -> list[IndexedCandle]:
        """Processed candles with an index above ``index``, oldest first, at most ``limit``."""
        with self._lock:
            current = self._index
        start = max(index, 0)
        stop = min(current, start + limit)
        return [IndexedCandle(i + 1, self.candles[i]) for i in range(start, stop)]


class MarketClock:
    """Advances a venue one candle every ``1 / speed`` seconds on a background thread.

    The schedule is fixed in advance (candle ``k`` is due ``k / speed`` seconds after the
    start), so slow requests holding the lock do not make the replay drift.
    """

    def __init__(self, venue: PaperVenue, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed: expected candles per second above 0, found {speed}")
        self.venue = venue
        self.interval_s = 1.0 / speed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="market-clock", daemon=True)

    def start(self) -> None:
        """Start advancing."""
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop advancing and wait for the thread to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        started = time.monotonic()
        due = 1
        while not self.venue.market().done:
            wait = started + due * self.interval_s - time.monotonic()
            if self._stop.wait(max(wait, 0.0)):
                return
            self.venue.advance(1)
            due += 1
