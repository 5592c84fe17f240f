"""``market-maker run``: an engine driven by a venue's market data and order reports until a signal.

``LiveRunner`` is generic over its sources (``market_maker.live.sources``): a market-data
source, an order-update source, a clock and the venue's rules and balances, all injected.
``run_live`` wires the paper exchange and the Durable engine.

Each loop (one poll):

1. take every market event the source has (candles and price updates, in order);
2. take the order reports the order source has and book each through the engine;
3. walk the market events in order: a new candle goes to ``engine.on_candle`` (risk
   monitor, ATR); a price update becomes a decision (``engine.on_price_update``), unless a
   newer one is already in the same batch: that one is the market now, the older price is
   gone and orders placed at it would be stale (the engine's decision band makes every
   fresh update cheap, so the runner need not skip more than that);
4. if anything was fed, save how far the bot got (``checkpoint_progress``);
5. carry out the operators' pending commands, if a command channel is injected (at most
   once a second; ``market_maker.ops.commands``): on this thread, between decisions, the
   only way operator actions reach the engine;
6. call the injected ``on_poll`` hook, if any (the progress view and the run's tracker,
   ``live.progress`` and ``live.run_summary``: the runner knows nothing of terminals);
7. wait for the next poll, on a fixed schedule of ``venue.poll_interval_s`` (or until a
   pushed source sets ``wake``).

A poll that fails with a retryable exchange error starts (or continues) an outage
(``live.outage``): the next try waits an exponential backoff instead of the schedule (only
a stop cuts it short; a stream's wake does not), and the outage is logged once when it
starts and once when a poll succeeds again.

The first loop is a catch-up instead: the candles missed while the bot was down (at most
``CATCH_UP``) and the price now. Commands queued while the bot was stopped are carried out
once the engine has started, before the first decision (a ``stop`` among them is refused:
there was nothing to stop). Nothing is decided before the start-up safety checks pass
at the first price, with the venue's balances and fee rates.
"""

import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from market_maker.config.app import AppConfig
from market_maker.domain.instrument import MarketRules
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.engine.base import Engine
from market_maker.engine.startup import refuse_unsafe_start
from market_maker.exchanges.base import RetryableExchangeError
from market_maker.live.outage import OutageWatch
from market_maker.live.sources import (
    Clock,
    MarketDataSource,
    MarketEvent,
    OrderUpdateSource,
    VenueInfo,
)
from market_maker.ops import operator
from market_maker.ops.commands import Command, CommandKind, CommandStatus, wall_ms

log = logging.getLogger(__name__)

CATCH_UP = 1000
"""Most candles a restarted bot reads back (the monitor's window is far shorter)."""

COMMANDS_EVERY_MS = 1000
"""Least time between two looks at the command channel."""


class CommandPort(Protocol):
    """The operators' command channel as the runner uses it (``ops.commands.CommandQueue``)."""

    def pending(self) -> list[Command]:
        """The commands waiting, oldest first."""
        ...

    def finish(self, command_id: int, status: CommandStatus, result: Mapping[str, Any]) -> None:
        """Record a command's outcome."""
        ...


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


@dataclass(frozen=True, slots=True)
class LiveSources:
    """Everything a live run reads from outside: the runner's injected ports.

    Attributes:
        venue: Market rules, fee rates and balances.
        market: Candles and price updates.
        orders: Reports about our orders.
        clock: Time now and the wait between polls.
    """

    venue: VenueInfo
    market: MarketDataSource
    orders: OrderUpdateSource
    clock: Clock


@dataclass(slots=True)
class RunnerCounts:
    """What a runner has done so far.

    Attributes:
        candles: Candles fed to the engine.
        prices: Price updates decided on.
        superseded: Price updates skipped because a newer one came in the same batch.
        order_updates: Order reports fed to the engine.
        ignored: Candles and prices not newer than what the engine had seen (repeats).
    """

    candles: int = 0
    prices: int = 0
    superseded: int = 0
    order_updates: int = 0
    ignored: int = 0


class LiveRunner:
    """Runs one engine on live sources until ``request_stop`` is called.

    Between polls it waits on ``wake``: a pushed source (a stream) that sets it when it has
    buffered something makes the next poll start at once instead of on schedule.

    Args:
        config: The bot's configuration, with the venue's rules applied
            (``live.venue_rules.with_venue_rules``): the engine was built from it.
        engine: The engine to drive (not started yet).
        sources: Where market data, order reports, time, rules and balances come from.
        rules: The venue's rules for ``config.symbol`` (fee rates of the safety checks).
        catch_up_limit: Most candles read back after a restart.
        freeze_heap: Freeze the start-up heap once the engine has started (a long-running
            process; tests that run many runners in one process turn it off).
        on_poll: Called with the runner after every poll (also one that failed with a
            retryable exchange error), on the runner's thread, before the wait. It may read
            the engine, the counts and ``outages``, and may call ``request_stop``.
        outages: Backoff and logging of exchange outages (default: ``OutageWatch()``).
        commands: The operators' command channel (None: no operator commands).
        on_tick_to_order: Told the seconds a decision took from its price reaching the
            engine to its orders sent, for each decision that placed or cancelled orders
            (metrics; on the runner's thread).
    """

    def __init__(
        self,
        config: AppConfig,
        engine: Engine,
        sources: LiveSources,
        rules: MarketRules,
        *,
        catch_up_limit: int = CATCH_UP,
        freeze_heap: bool = True,
        on_poll: Callable[["LiveRunner"], None] | None = None,
        outages: OutageWatch | None = None,
        commands: CommandPort | None = None,
        on_tick_to_order: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        self.outages = outages if outages is not None else OutageWatch()
        self.on_tick_to_order = on_tick_to_order
        self.on_poll = on_poll
        self.commands = commands
        # Commands sent before this (wall clock) were sent while the bot was not running: a
        # stop sent later, while it starts up (its lock is taken in engine.start), is meant.
        self.created_wall_ms = wall_ms()
        self.commands_done = 0  # operator commands carried out (any outcome)
        self.exit_cancels = 0  # opening orders cancelled at a graceful stop
        self.last_error: tuple[int, str] | None = None  # time and text of the latest one
        self.price_wall_ms: int | None = None  # clock time the latest price was decided on
        self._commands_due_ms = 0
        self.catch_up_limit = catch_up_limit
        self.freeze_heap = freeze_heap
        self.engine = engine
        self.sources = sources
        self.rules = rules
        self.stop_requested = threading.Event()
        self.wake = threading.Event()  # cuts the wait for the next poll short
        self.counts = RunnerCounts()
        self.caught_up = False
        self.checked = False  # the start-up safety checks passed
        self._candle_ms = -1  # open time of the last closed candle fed
        self._price: tuple[int, Decimal | None] = (-1, None)  # time and price decided on last
        self._backlog: deque[MarketEvent] = deque()  # polled, not yet fed

    def request_stop(self) -> None:
        """Finish the current poll, then stop (safe from a signal handler or another thread)."""
        self.stop_requested.set()
        self.wake.set()

    @property
    def candles_seen(self) -> int:
        """Candles fed to the engine so far."""
        return self.counts.candles

    def run(self) -> None:
        """Start the engine, trade until stopped, then stop the engine (checkpointed)."""
        self.engine.start()
        if self.freeze_heap:
            freeze_startup_heap()
        clock = self.sources.clock
        interval_ms = round(self.config.venue.poll_interval_s * 1000)
        try:
            self.take_commands(at_start=True)
            due_ms = clock.now_ms()
            while not self.stop_requested.is_set():
                backoff_s = None
                try:
                    self.step()
                except RetryableExchangeError as exc:
                    self.last_error = (clock.now_ms(), str(exc))
                    backoff_s = self.outages.failed(exc, clock.now_ms())
                else:
                    self.outages.answered(clock.now_ms())
                self.take_commands()
                if self.on_poll is not None:
                    self.on_poll(self)
                if backoff_s is not None:
                    clock.wait(backoff_s, self.stop_requested)  # streams must not cut it short
                    due_ms = clock.now_ms()
                    continue
                due_ms = max(due_ms + interval_ms, clock.now_ms())  # late: no burst of polls
                clock.wait((due_ms - clock.now_ms()) / 1000, self.wake)
                self.wake.clear()
            self._on_exit()
        finally:
            self.engine.stop()

    def _on_exit(self) -> None:
        """A graceful stop: cancel the openings if ``venue.cancel_on_exit`` asks for it."""
        if not self.config.venue.cancel_on_exit:
            return
        try:
            sent = self.engine.cancel_openings()
        except RetryableExchangeError as exc:
            log.warning("cancel_on_exit: the exchange did not answer (%s); orders stay", exc)
            return
        log.info("cancel_on_exit: %d opening order cancel(s) sent; closing orders stay", sent)
        self.exit_cancels = sent

    def take_commands(self, *, at_start: bool = False) -> None:
        """Carry out the operators' pending commands (at most once a ``COMMANDS_EVERY_MS``).

        ``at_start``: the commands queued while the bot was stopped; a ``stop`` among them
        is refused (one sent while this run was starting up is carried out). An unexpected
        failure is recorded as the command's outcome, then raised.
        """
        if self.commands is None:
            return
        now = self.sources.clock.now_ms()
        if not at_start and now < self._commands_due_ms:
            return
        self._commands_due_ms = now + COMMANDS_EVERY_MS
        for command in self.commands.pending():
            self.commands_done += 1
            stale = command.created_ms <= self.created_wall_ms
            if at_start and command.kind is CommandKind.STOP and stale:
                self.commands.finish(
                    command.id,
                    CommandStatus.REFUSED,
                    {"message": "the bot was not running when it was sent: nothing to stop"},
                )
                continue
            try:
                status, result = operator.apply(command, self.engine, self.request_stop)
            except Exception as exc:
                self.commands.finish(command.id, CommandStatus.FAILED, {"message": repr(exc)})
                raise
            log.info(
                "operator command %d %s by %s: %s (%s)",
                command.id,
                command.kind.value,
                command.actor,
                status.value,
                result.get("message", ""),
            )
            self.commands.finish(command.id, status, result)

    def step(self) -> None:
        """One poll: the catch-up first, then whatever the sources have.

        Market events wait in a backlog until fed: an exchange error half-way (a decision
        whose exchange call failed) leaves the rest, that event included, for the next poll.
        """
        if not self.caught_up:
            self.catch_up()
        else:
            self._backlog.extend(self.sources.market.poll())
        self._book_order_updates()
        self._drain()

    def catch_up(self) -> None:
        """Queue the candles missed while down (up to ``catch_up_limit``) and the price now.

        Never on stale prices: of the prices missed only the latest is decided on.
        """
        seen_ms = self.engine.state.last_update_ms
        self._backlog.extend(self.sources.market.catch_up(seen_ms, self.catch_up_limit))
        self._candle_ms = seen_ms
        self._price = (seen_ms, None)
        self.caught_up = True

    def _drain(self) -> None:
        """Feed the backlog in order (see the module docstring), then save progress."""
        backlog = self._backlog
        prices = sum(isinstance(e, PriceUpdate) for e in backlog)
        fed = False
        while backlog:
            event = backlog[0]
            if isinstance(event, Candle):
                fed |= self._feed_candle(event)
            else:
                prices -= 1
                if prices:
                    self.counts.superseded += 1  # a newer price is waiting: this one is gone
                else:
                    fed |= self._decide(event)
            backlog.popleft()
        if fed:
            self.engine.checkpoint_progress()  # status shows how far the bot got

    def _book_order_updates(self) -> None:
        engine = self.engine
        for update in self.sources.orders.poll(engine.state.book.active_orders()):
            engine.on_order_update(update)
            self.counts.order_updates += 1

    def _feed_candle(self, candle: Candle) -> bool:
        if candle.open_time_ms <= self._candle_ms:
            self.counts.ignored += 1  # seen already (a repeat after a reconnect or restart)
            return False
        self.engine.on_candle(candle)
        if candle.closed:
            self._candle_ms = candle.open_time_ms
            self.counts.candles += 1
        return True

    def _decide(self, update: PriceUpdate) -> bool:
        last_ms, last_price = self._price
        stale = update.ts_ms < last_ms or (update.ts_ms == last_ms and update.price == last_price)
        if stale or update.symbol != self.config.symbol:
            self.counts.ignored += 1  # older than the last price decided on, a repeat, not ours
            return False
        if not self.checked:
            self._check_start(update)
        engine = self.engine
        sent = (engine.orders_placed, engine.orders_canceled)
        started = time.perf_counter()
        engine.on_price_update(update)
        took = time.perf_counter() - started
        if self.on_tick_to_order is not None and (
            (engine.orders_placed, engine.orders_canceled) != sent
        ):
            self.on_tick_to_order(took)
        self.price_wall_ms = self.sources.clock.now_ms()
        self._price = (update.ts_ms, update.price)
        self.counts.prices += 1
        return True

    def _check_start(self, update: PriceUpdate) -> None:
        """Refuse to trade (``SafetyCheckError``) when a start-up safety check fails."""
        rules = self.rules
        refuse_unsafe_start(
            self.config,
            self.sources.venue.balances(),
            update.price,
            maker_fee=rules.maker_fee,
            taker_fee=rules.taker_fee,
            spot=rules.spot,
        )
        self.checked = True
