"""``LoopThread``: one asyncio event loop in a background thread, driven from synchronous code.

The bot's engines and the live runner are synchronous; ccxt's REST and websocket clients
are asyncio objects that must be created and used on one loop. The adapter owns one
``LoopThread``: synchronous methods submit coroutines to it and wait with a timeout,
background tasks (the websocket streams) live on it, and ``stop`` cancels what is left and
closes the loop, so nothing is leaked (the test suite turns warnings into errors).
"""

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class LoopClosedError(RuntimeError):
    """A coroutine was submitted to a loop that was stopped."""


class LoopThread:
    """An asyncio loop running in a daemon thread until ``stop``.

    Args:
        name: The thread's name (shown in logs and thread dumps).
    """

    def __init__(self, name: str = "ccxt-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            self._finish()

    def _finish(self) -> None:
        """Cancel the tasks still pending, let them unwind, then close the loop."""
        loop = self.loop
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    @property
    def running(self) -> bool:
        """True until ``stop`` was called."""
        return not self._stopped

    def in_loop(self) -> bool:
        """True when called from the loop's own thread."""
        return threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
        """Run ``coro`` on the loop and wait for its result.

        Raises:
            TimeoutError: It took longer than ``timeout_s`` (it is cancelled).
            LoopClosedError: The loop was stopped.
            Whatever ``coro`` raises.
        """
        if self.in_loop():
            coro.close()
            raise RuntimeError("LoopThread.run called from the loop itself: it would deadlock")
        if self._stopped:
            coro.close()
            raise LoopClosedError("the exchange connection is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout_s} s") from None

    def spawn(
        self, factory: Callable[[], Awaitable[None]], name: str
    ) -> "concurrent.futures.Future[asyncio.Task[None]]":
        """Start a background task on the loop; the returned future holds the task."""
        if self._stopped:
            raise LoopClosedError("the exchange connection is closed")

        async def start() -> asyncio.Task[None]:
            async def body() -> None:
                await factory()

            return asyncio.get_running_loop().create_task(body(), name=name)

        return asyncio.run_coroutine_threadsafe(start(), self.loop)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel every task, close the loop and join the thread (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("the ccxt loop thread did not stop within %s s", timeout_s)
