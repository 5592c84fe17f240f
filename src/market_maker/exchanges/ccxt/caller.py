"""``Caller``: every REST call of the adapter goes through here, paced, retried and translated.

One call: wait for the client-side token bucket (and any venue-imposed pause), run the
ccxt coroutine on the adapter's loop with a timeout, and on failure classify it
(``errors.classify``). Retryable failures are retried with exponential backoff and
jitter, up to ``RetryPolicy.attempts``: a rate limit waits at least the venue's
``Retry-After`` (read from ``exchange.last_response_headers``: ccxt ignores it) and pauses
every other call too; a clock-skew error resynchronises the clock
(``load_time_difference``) first. What is not retried becomes the project's exception, or
is handed back as a ``Failure`` when the caller answers it itself (a REJECTED report).

Sleeping, the clocks and the random draws are injected, so tests run instantly.
"""

import logging
import random
import time
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any

from market_maker.exchanges.ccxt.errors import Failure, FailureKind, classify, to_exchange_error
from market_maker.exchanges.ccxt.loop import LoopClosedError, LoopThread
from market_maker.exchanges.ccxt.pacing import RetryPolicy, TokenBucket, header, retry_after_s

log = logging.getLogger(__name__)

Make = Callable[[], Coroutine[Any, Any, Any]]
"""Builds a fresh coroutine of one ccxt call (a retry needs a new one)."""
RequestObserver = Callable[[str, float, str | None], None]
"""Told of each attempt: the ccxt operation (``create_order``), its seconds, and the
failure kind's value when it failed (``"retryable"``), else None (metrics)."""


@dataclass(frozen=True, slots=True)
class Timing:
    """The clocks, sleep and randomness a caller uses (real ones by default).

    Attributes:
        sleep: Blocks for a number of seconds.
        monotonic: Seconds on a monotonic clock (the token bucket, pauses).
        wall: Seconds since the epoch (``Retry-After`` dates).
        draw: Random numbers in [0, 1) for the backoff's jitter.
    """

    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    draw: Callable[[], float] = field(default_factory=lambda: random.Random().random)


class Caller:
    """Runs ccxt calls for one exchange object on one loop.

    Args:
        loop: The loop the exchange object lives on.
        exchange: The ccxt exchange (``ccxt.pro`` or ``ccxt.async_support``).
        policy: Retry bounds and backoff.
        bucket: The client-side request budget.
        timeout_s: Longest wait for one call's answer (ccxt's own timeout is shorter).
        timing: Sleep, clocks and randomness.
        secrets: Strings never to let into a message (API key and secret).
        grace_s: Added to ``timeout_s`` for the wait on the loop, so ccxt's own timeout
            (the same ``timeout_s``) normally fires first, with its clearer message.
        observer: Told of every attempt: operation, duration, failure kind (None: nobody).
    """

    def __init__(
        self,
        loop: LoopThread,
        exchange: Any,
        *,
        policy: RetryPolicy,
        bucket: TokenBucket,
        timeout_s: float,
        timing: Timing,
        secrets: Collection[str] = (),
        grace_s: float = 1.0,
        observer: RequestObserver | None = None,
    ) -> None:
        self.observer = observer
        self.sent_at = 0.0  # monotonic time the latest attempt was sent (after pacing)
        self.loop = loop
        self.exchange = exchange
        self.policy = policy
        self.bucket = bucket
        self.timeout_s = timeout_s
        self.grace_s = grace_s
        self.timing = timing
        self.secrets = tuple(s for s in secrets if s)
        self.binance = str(getattr(exchange, "id", "")).startswith("binance")
        self.retries = 0  # retries made so far (for tests and metrics)

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def attempt(self, make: Make) -> Any:
        """One attempt, paced; raises what ccxt raised, or ``TimeoutError``."""
        wait = self.bucket.reserve()
        if wait > 0:
            self.timing.sleep(wait)
        self.sent_at = self.timing.monotonic()
        return self.loop.run(make(), self.timeout_s + self.grace_s)

    def classify(self, exc: BaseException) -> Failure:
        """The classified failure of an exception an attempt raised."""
        if isinstance(exc, LoopClosedError):
            return Failure(FailureKind.FATAL, None, str(exc))
        failure = classify(exc, binance_codes=self.binance)
        if isinstance(exc, TimeoutError) and not failure.message:
            failure = Failure(failure.kind, None, "no answer in time")
        return Failure(failure.kind, failure.code, self.scrub(failure.message))

    def pause(self, failure: Failure, retry: int) -> bool:
        """Wait before retry number ``retry`` of a retryable ``failure``; False: give up.

        Gives up when the retries are used up, or the venue asks for a longer pause than
        ``RetryPolicy.max_retry_after_s`` (that pause still holds every later call back).
        """
        if not failure.retryable or retry >= self.policy.attempts:
            return False
        delay = self.policy.delay_s(retry, self.timing.draw())
        if failure.kind is FailureKind.RATE_LIMITED:
            headers = getattr(self.exchange, "last_response_headers", None)
            asked = retry_after_s(header(headers, "Retry-After"), self.timing.wall())
            if asked is not None:
                self.bucket.pause_until(self.timing.monotonic() + asked)
                if asked > self.policy.max_retry_after_s:
                    log.warning("the venue asks to wait %.0f s before the next request", asked)
                    return False
                delay = max(delay, asked)
        if failure.kind is FailureKind.CLOCK_SKEW:
            self._resync_clock()
        # DEBUG: an outage is logged once by the runner (``live.outage``), not per retry.
        log.debug("retry %d in %.2f s after: %s", retry, delay, failure.message)
        self.retries += 1
        self.timing.sleep(delay)
        return True

    def _resync_clock(self) -> None:
        try:
            self.loop.run(self.exchange.load_time_difference(), self.timeout_s + self.grace_s)
        except Exception as exc:
            log.warning("clock resynchronisation failed: %s", self.scrub(str(exc)))

    def call(
        self, where: str, make: Make, *, answers: Collection[FailureKind] = (), retry: bool = True
    ) -> Any:
        """Run one ccxt call with retries; its result, or a ``Failure`` of a kind in ``answers``.

        Args:
            where: What is done, for messages (``"fetch_open_orders BTC/USDT"``).
            make: Builds the call's coroutine.
            answers: Failure kinds handed back to the caller instead of raised.
            retry: Retry retryable failures (off: one attempt).

        Raises:
            RetryableExchangeError: Still failing after the retries.
            OrderRejectedError: Refused by the venue.
            FatalExchangeError: Authentication, configuration, unsupported call.
        """
        retry_number = 0
        while True:
            once, operation = _named(make) if self.observer is not None else (make, "call")
            try:
                result = self.attempt(once)
            except Exception as exc:
                failure = self.classify(exc)
                cause = exc
            else:
                if self.observer is not None:
                    self.observer(operation, self.timing.monotonic() - self.sent_at, None)
                return result
            if self.observer is not None:
                took = self.timing.monotonic() - self.sent_at
                self.observer(operation, took, failure.kind.value)
            if failure.kind in answers:
                return failure
            retry_number += 1
            if retry and self.pause(failure, retry_number):
                continue
            raise to_exchange_error(failure, where) from cause


def _named(make: Make) -> tuple[Make, str]:
    """``make`` as a one-shot builder of the coroutine it makes now, and the call's name.

    The name is the ccxt method's (``fetch_open_orders``), or that of the adapter's own
    coroutine around it (``_create_order``, shown without its underscore): a bounded set,
    fit for a metric's label.
    """
    coroutine = make()
    name = str(getattr(coroutine, "__name__", "") or "call").lstrip("_")
    return (lambda: coroutine), name
