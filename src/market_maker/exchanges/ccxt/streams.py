"""``Stream``: one ccxt ``watch_*`` subscription kept alive on the adapter's loop, buffered.

A task on the loop awaits ``watch_*`` in a loop and appends what it returns to a bounded
buffer; the runner's thread drains it (``drain``). When the watch fails (the connection
dropped, the venue closed it) the task waits with backoff and subscribes again, which
makes ccxt reconnect. The stream is *healthy* from its first delivery until its next
failure; every failure, and a buffer overflow, marks a *gap*: events may have been lost,
and the consumer owes a REST catch-up (``drain`` reports the gap once). An authentication
failure ends the task and is kept for the consumer to raise.

Connection state: ``down`` (not yet delivered, or failed) -> ``up`` on a delivery ->
``down`` on a failure (gap) -> ``up`` on the next delivery (gap again: what came between
the failure and the new subscription is only in the REST catch-up).
"""

import asyncio
import concurrent.futures
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from market_maker.exchanges.ccxt.errors import Failure, FailureKind, classify
from market_maker.exchanges.ccxt.loop import LoopThread
from market_maker.exchanges.ccxt.pacing import RetryPolicy

log = logging.getLogger(__name__)

RECONNECT = RetryPolicy(attempts=1_000_000, base_delay_s=0.5, max_delay_s=30.0, jitter=0.5)
"""Backoff between resubscriptions of a failed stream (it never gives up)."""


@dataclass(frozen=True, slots=True)
class Drained:
    """What a stream buffered since the last drain.

    Attributes:
        items: The events, in arrival order.
        gap: Events may have been lost since the last drain: catch up over REST.
        healthy: The stream delivers (else the consumer polls REST instead).
    """

    items: list[Any]
    gap: bool
    healthy: bool


class Stream:
    """A buffered, self-reconnecting ``watch_*`` subscription.

    Args:
        loop: The adapter's loop.
        name: For logs (``"orders BTC/USDT"``).
        watch: Awaits the next batch from ccxt (``lambda: ex.watch_orders(symbol)``).
        unpack: Turns one batch into events (a list of orders, one ticker...).
        draw: Random numbers in [0, 1) for the reconnect jitter.
        max_items: Buffer size; an overflow drops the oldest and marks a gap.
        reconnect: Backoff between resubscriptions.
    """

    def __init__(
        self,
        loop: LoopThread,
        name: str,
        watch: Callable[[], Awaitable[Any]],
        unpack: Callable[[Any], Iterable[Any]],
        *,
        draw: Callable[[], float],
        max_items: int = 10_000,
        reconnect: RetryPolicy = RECONNECT,
    ) -> None:
        self.loop = loop
        self.name = name
        self._watch = watch
        self._unpack = unpack
        self._draw = draw
        self._reconnect = reconnect
        self._items: deque[Any] = deque(maxlen=max_items)
        self._lock = threading.Lock()
        self._gap = True  # nothing was watched before the start
        self._healthy = False
        self.fatal: Failure | None = None
        self.deliveries = 0
        self.failures = 0
        self.on_items: Callable[[], None] = lambda: None  # e.g. the runner's wake.set
        self._task: concurrent.futures.Future[asyncio.Task[None]] | None = None

    def start(self) -> None:
        """Start the task on the loop."""
        self._task = self.loop.spawn(self._run, name=f"stream {self.name}")

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel the task and wait for it to end (before the exchange is closed)."""
        if self._task is None or not self.loop.running:
            return
        task = self._task.result(timeout_s)
        self._task = None

        async def cancel() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        self.loop.run(cancel(), timeout_s)

    async def _run(self) -> None:
        failed = 0
        while True:
            try:
                batch = await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # classified: auth ends the stream, the rest retries
                failure = classify(exc)
                with self._lock:
                    self._healthy = False
                    self._gap = True
                    self.failures += 1
                if failure.kind is FailureKind.AUTH:
                    self.fatal = failure
                    log.error("stream %s: authentication failed: %s", self.name, failure.message)
                    return
                failed += 1
                delay = self._reconnect.delay_s(min(failed, 20), self._draw())
                log.log(
                    logging.WARNING if failed == 1 else logging.DEBUG,  # once per outage
                    "stream %s failed (%s); resubscribing in %.1f s",
                    self.name,
                    failure.message,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            if failed:
                log.info("stream %s delivers again after %d failed tries", self.name, failed)
            failed = 0
            items = list(self._unpack(batch))
            with self._lock:
                if len(self._items) + len(items) > (self._items.maxlen or 0):
                    self._gap = True  # the oldest are dropped: the catch-up covers them
                self._items.extend(items)
                if not self._healthy:
                    self._healthy = True
                    self._gap = True  # back up: catch up on what came before this
                self.deliveries += 1
            self.on_items()

    def drain(self) -> Drained:
        """Take what was buffered, whether a catch-up is owed (reported once) and health."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            gap, self._gap = self._gap, False
            return Drained(items, gap, self._healthy)
