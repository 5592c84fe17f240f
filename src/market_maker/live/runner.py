"""``market-maker run``: the Durable engine against the paper exchange until SIGINT/SIGTERM.

Each loop: fetch every candle the exchange processed since the last one seen (the risk
monitor needs them all), book what happened to our orders (polled: an order the book holds
that is no longer open, or open with more filled than booked, is looked up and its report
goes through the engine's order-update workflow), then feed the candle and its close to
the engine. Nothing is sent before the start-up safety checks pass.
"""

import gc
import logging
import signal
import threading
from types import FrameType

from market_maker.config.app import AppConfig
from market_maker.domain.market import PriceUpdate
from market_maker.durable.execution import durable_engine
from market_maker.engine.grid import GridEngine
from market_maker.engine.startup import refuse_unsafe_start
from market_maker.exchanges.base import RetryableExchangeError
from market_maker.paper.client import PaperExchange
from market_maker.paper.protocol import IndexedCandle

log = logging.getLogger(__name__)

CATCH_UP = 1000
"""Most candles a restarted bot reads back (the monitor's window is far shorter)."""


def freeze_startup_heap() -> None:
    """Move every object alive after start-up out of the garbage collector's sight.

    A long-running bot holds a large, stable heap (DBOS, SQLAlchemy, the loaded state); a
    full collection walks all of it, pausing the bot for ~80 ms on the project's machine
    (measured by ``benchmarks/durable_latency.py``). Frozen, those objects are never
    scanned again: full collections then take ~30 ms. Objects frozen are never freed, which
    is what a start-up heap is for.
    """
    gc.collect()
    gc.freeze()


class LiveRunner:
    """Runs one bot until ``stop_requested`` is set (by a signal or by the caller)."""

    def __init__(self, config: AppConfig, exchange: PaperExchange, engine: GridEngine) -> None:
        self.config = config
        self.exchange = exchange
        self.engine = engine
        self.stop_requested = threading.Event()
        self.last_index = 0
        self.candles_seen = 0

    def run(self) -> None:
        """Start the engine, trade until stopped, then stop the engine (checkpointed)."""
        self.engine.start()
        freeze_startup_heap()
        try:
            self._check_start()
            self.catch_up()
            while not self.stop_requested.is_set():
                try:
                    self.step()
                except RetryableExchangeError as exc:
                    log.warning("exchange unavailable, retrying: %s", exc)
                self.stop_requested.wait(self.config.venue.poll_interval_s)
        finally:
            self.engine.stop()

    def _check_start(self) -> None:
        bt = self.config.backtest  # the paper exchange's fees and account type
        snap = self.exchange.latest()
        if snap.candle is None:
            return  # no price yet: checked when the first candle arrives
        refuse_unsafe_start(
            self.config,
            self.exchange.balances(),
            snap.candle.close,
            maker_fee=bt.maker_fee,
            taker_fee=bt.taker_fee,
            spot=bt.spot,
        )

    def catch_up(self) -> None:
        """Feed the candles missed while down (up to 1,000) to the monitor and ATR.

        Then decide once, at the latest price: never on stale prices.
        """
        latest = self.exchange.latest().index
        seen_ms = self.engine.state.last_update_ms
        start = max(0, latest - CATCH_UP)
        missed = [c for c in self.exchange.candles_after(start) if c.candle.open_time_ms > seen_ms]
        self.last_index = latest if not missed else start
        self._consume(missed)

    def step(self) -> int:
        """Process every new candle; return how many."""
        new = self.exchange.candles_after(self.last_index)
        self._consume(new)
        if not new:
            self.sync_orders()
        return len(new)

    def _consume(self, new: list[IndexedCandle]) -> None:
        """Book order changes, feed every candle, decide at the last close."""
        if not new:
            return
        self.sync_orders()
        for indexed in new:
            self.engine.on_candle(indexed.candle)
            self.last_index = indexed.index
            self.candles_seen += 1
        last = new[-1].candle
        self.engine.on_price_update(PriceUpdate(self.config.symbol, last.close, last.open_time_ms))
        self.engine.checkpoint_progress()  # status shows how far the bot got

    def sync_orders(self) -> None:
        """Book every change to our orders the exchange knows and the book does not."""
        book = self.engine.state.book
        open_now = {u.client_order_id: u for u in self.exchange.open_orders(self.config.symbol)}
        for order in book.active_orders():
            report = open_now.get(order.client_order_id)
            if report is None:
                report = self.exchange.get_order(self.config.symbol, order.client_order_id)
                if report is None:
                    continue  # pending and unknown: resolved by the next start's lookup
            elif report.cum_filled_qty == order.filled_qty and report.status == order.status:
                continue
            self.engine.on_order_update(report)


def run_live(config: AppConfig) -> int:
    """Run the bot of ``config`` until SIGINT or SIGTERM; return the number of candles seen."""
    exchange = PaperExchange(config.venue.url)
    runner = LiveRunner(config, exchange, durable_engine(config, exchange))

    def stop(signum: int, frame: FrameType | None) -> None:
        runner.stop_requested.set()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return runner.candles_seen
