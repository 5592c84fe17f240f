"""The paper venue: one simulated exchange, its market data and market time, behind one lock.

``PaperVenue`` is what the HTTP server serves. It owns a ``SimulatedExchange`` and the
candles or trades it replays (see ``tape``); every access to the exchange happens under
one lock, because the server answers requests on several threads while ``MarketClock``
advances time on another. Market time moves one step at a time (a candle, or a slice of
trade time), either through ``advance`` (manual, deterministic) or through a
``MarketClock`` that calls it at a fixed wall-clock rate.

A ``Journal`` records what a Binance-like venue serves beyond the reports (numbered
trades, order times, the position's entry price), and listeners (the websocket streams)
receive every order change and completed candle as a ``VenueEvent``, in order, called
under the lock: a listener must only hand the event over (e.g. to an event loop), never
block or call back into the venue.
"""

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import OrderStatus
from market_maker.domain.instrument import MarketRules
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.exchanges.base import Balance
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.paper.journal import (
    CandleEvent,
    Journal,
    OrderView,
    TickEvent,
    Trade,
    VenueEvent,
)
from market_maker.paper.paper_json import Ledger, LedgerOrder, MarketSnapshot
from market_maker.paper.tape import TradeTape

Listener = Callable[[VenueEvent], None]
"""Receives each venue event, under the venue's lock (hand it over, do not block)."""

Precheck = Callable[[], str]
"""Run under the venue's lock before an order is placed: a reason to refuse it, or ""."""


class PaperVenue:
    """A simulated exchange plus the market data that drives it, safe to share across threads.

    ``market`` is the candles to replay (a step per candle) or a ``TradeTape`` (a step
    per slice of trade time, fills per trade). ``rules`` are the market's instrument rules
    and fee rates as the venue serves them; they must describe ``exchange`` (same symbol,
    its fee rates).
    """

    def __init__(
        self,
        exchange: SimulatedExchange,
        market: Sequence[Candle] | TradeTape,
        *,
        rules: MarketRules,
    ) -> None:
        if rules.instrument.symbol != exchange.symbol:
            raise ValueError(
                f"rules: expected the rules of {exchange.symbol}, found {rules.instrument.symbol}"
            )
        self.duplicates: list[str] = []  # client order ids placed again
        self.exchange = exchange
        self.symbol = exchange.symbol
        self.rules = rules
        self.tape = market if isinstance(market, TradeTape) else None
        self.candles: tuple[Candle, ...] = (
            market.candles if isinstance(market, TradeTape) else tuple(market)
        )
        self._index = 0  # steps processed so far
        self._closed = 0  # candles closed so far
        self._forming: Candle | None = None  # the candle a trade replay is building
        self._building = market.builder() if isinstance(market, TradeTape) else None
        self._lock = threading.Lock()
        if isinstance(market, TradeTape):
            first_open = market.trades[0].price
        else:
            first_open = self.candles[0].open if self.candles else ZERO
        self.journal = Journal(exchange.total(exchange.base), first_open)
        self.refused: list[LedgerOrder] = []  # refused before booking (see ``place_order``)
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every later venue event (under the lock, in order)."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def lock(self) -> threading.Lock:
        """The lock every access to ``exchange`` and ``journal`` holds (not re-entrant)."""
        return self._lock

    def now_ms(self) -> int:
        """Market time: the end of the latest step (the data's start before the first)."""
        index = self._index
        if self.tape is not None:
            return self.tape.steps[index - 1].end_ms if index else self.tape.start_ms
        if index == 0:
            return self.candles[0].open_time_ms if self.candles else 0
        candle = self.candles[index - 1]
        return candle.open_time_ms + candle.interval_s * 1000

    def _emit(self, event: VenueEvent | None) -> None:
        if event is not None:
            for listener in self._listeners:
                listener(event)

    def _record(self, request: PlaceOrderRequest, report: OrderUpdate, now_ms: int) -> None:
        self._emit(self.journal.record(request, report, now_ms))

    @property
    def total(self) -> int:
        """Number of steps in the data (its candles, or its trade time in steps)."""
        return len(self.tape) if self.tape is not None else len(self.candles)

    @property
    def unit(self) -> str:
        """What a step is, for people: ``candles``, or ``1 s of trades``."""
        if self.tape is None:
            return "candles"
        return f"{self.tape.step_ms / 1000:g} s of trades"

    # -- orders and balances ---------------------------------------------------------------

    def place_order(
        self, request: PlaceOrderRequest, precheck: Precheck | None = None
    ) -> OrderUpdate:
        """Place an order on the simulated exchange; its first report.

        A client order id sent again is rejected by the exchange and recorded in
        ``duplicates`` (the crash harness checks that a bot never does it). ``precheck``
        (run under the lock) may refuse the order before the exchange sees it: the answer
        is then a REJECTED report with its reason, kept in ``refused``, and the client
        order id stays free. An accepted order is streamed as NEW, then as a TRADE when it
        fills at once.
        """
        with self._lock:
            ex = self.exchange
            if request.client_order_id in ex.orders:
                self.duplicates.append(request.client_order_id)
                return ex.place_order(request)
            reason = precheck() if precheck is not None else ""
            if reason:
                refused = _refusal(request, reason, ex.ts_ms)
                self.refused.append(LedgerOrder(request, refused))
                return refused
            report = ex.place_order(request)
            now = self.now_ms()
            self.journal.placed(request, report, now)
            if report.status is not OrderStatus.REJECTED:
                if report.last_fill_qty > 0:
                    self._record(request, _as_new(report), now)
                self._record(request, report, now)
            return report

    def cancel_order(self, request: CancelOrderRequest) -> OrderUpdate | None:
        """Cancel an order; ``None`` when it is unknown or already finished."""
        with self._lock:
            report = self.exchange.cancel_order(request)
            if report is not None:
                order = self.exchange.orders[request.client_order_id]
                self._record(order.request, report, self.now_ms())
            return report

    def client_id(self, order_id: str) -> str | None:
        """The client order id of the venue's order ``order_id``, or ``None``."""
        with self._lock:
            return self.journal.client_id(order_id)

    def order_view(self, client_order_id: str) -> OrderView | None:
        """An order's request, current report and times; ``None`` when the venue has none."""
        with self._lock:
            order = self.exchange.orders.get(client_order_id)
            report = self.exchange.get_order(self.symbol, client_order_id)
            if order is None or report is None:
                return None
            return self.journal.view(order.request, report, self.now_ms())

    def open_views(self) -> list[OrderView]:
        """Every resting order with its times, in placement order."""
        with self._lock:
            now, journal = self.now_ms(), self.journal
            return [
                journal.view(order.request, report, now)
                for order in self.exchange.resting.values()
                if (report := self.exchange.get_order(self.symbol, order.request.client_order_id))
            ]

    def trades(self) -> list[Trade]:
        """Every trade so far, oldest first."""
        with self._lock:
            return list(self.journal.trades)

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
        """Process up to ``n`` more steps.

        Returns the index before and after (read atomically, whatever the clock does) and
        the reports the steps caused (fills, and the expiry of reduce-only orders left
        with nothing to reduce). Stops at the end of the data: advancing a finished venue
        does nothing.
        """
        if n < 1:
            raise ValueError(f"n: expected at least 1 step, found {n}")
        fills: list[OrderUpdate] = []
        with self._lock:
            start = self._index
            stop = min(start + n, self.total)
            for i in range(start, stop):
                if self.tape is not None:
                    self._trade_step(i, fills)
                else:
                    self._candle_step(i, fills)
                self._emit(TickEvent(self.now_ms(), self._closed, self._forming))
            return start, stop, fills

    def _candle_step(self, i: int, fills: list[OrderUpdate]) -> None:
        candle = self.candles[i]
        reports = self.exchange.on_candle(candle)
        fills += reports
        self._index = self._closed = i + 1
        self._book(reports, candle.open_time_ms)
        self._emit(CandleEvent(i + 1, candle))

    def _trade_step(self, i: int, fills: list[OrderUpdate]) -> None:
        tape, building = self.tape, self._building
        assert tape is not None  # a trade replay has both
        assert building is not None
        step = tape.steps[i]
        on_trade = self.exchange.on_trade
        for trade in tape.trades[tape.steps[i - 1].stop if i else 0 : step.stop]:
            building.add(trade.ts_ms, trade.price, trade.qty)
            if reports := on_trade(trade.ts_ms, trade.price, trade.qty):
                fills += reports
                self._book(reports, trade.ts_ms)
        self._index = i + 1
        for k in range(self._closed, step.closed):
            self._closed = k + 1
            self._emit(CandleEvent(k + 1, self.candles[k]))
        forming = building.finish()
        if (
            forming is not None
            and self._closed
            and (forming.open_time_ms <= self.candles[self._closed - 1].open_time_ms)
        ):
            forming = None  # the candle being built has closed; the next has no trade yet
        self._forming = forming

    def _book(self, reports: list[OrderUpdate], ts_ms: int) -> None:
        orders = self.exchange.orders
        for report in reports:
            self._record(orders[report.client_order_id].request, report, ts_ms)

    def market(self) -> MarketSnapshot:
        """Steps done, the latest closed candle, the forming one, and whether the data is done."""
        with self._lock:
            return self.market_locked()

    def market_locked(self) -> MarketSnapshot:
        """``market()`` for a caller already holding the lock."""
        index, closed = self._index, self._closed
        candle = self.candles[closed - 1] if closed else None
        return MarketSnapshot(index, candle, index == self.total, closed, self._forming)


def _as_new(report: OrderUpdate) -> OrderUpdate:
    """The NEW state an order had before its immediate fill (what Binance streams first)."""
    return replace(
        report,
        status=OrderStatus.NEW,
        cum_filled_qty=ZERO,
        cum_quote_qty=ZERO,
        cum_fee=ZERO,
        last_fill_price=ZERO,
        last_fill_qty=ZERO,
        last_fee=ZERO,
        trade_id="",
        liquidity=None,
    )


def _refusal(request: PlaceOrderRequest, reason: str, ts_ms: int) -> OrderUpdate:
    """The report of an order refused before booking: no venue id, nothing filled."""
    return OrderUpdate(
        symbol=request.symbol,
        order_id="",
        client_order_id=request.client_order_id,
        side=request.side,
        status=OrderStatus.REJECTED,
        price=request.price,
        qty=request.qty,
        ts_ms=ts_ms,
        reject_reason=reason,
    )


class MarketClock:
    """Advances a venue one step every ``1 / speed`` seconds on a background thread.

    The schedule is fixed in advance (step ``k`` is due ``k / speed`` seconds after the
    start), so slow requests holding the lock do not make the replay drift.
    """

    def __init__(self, venue: PaperVenue, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed: expected steps per second above 0, found {speed}")
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
