"""How fast the adapter may talk to a venue: retry backoff, ``Retry-After`` and a token bucket.

Pure arithmetic over an injected clock and random source, so tests run without sleeping:

* ``RetryPolicy.delay_s``: exponential backoff with jitter for the n-th retry;
* ``retry_after_s``: the wait a 429/418 answer asks for (ccxt ignores the header);
* ``TokenBucket``: a client-side request budget on top of ccxt's own ``enableRateLimit``,
  which also holds every call back until a venue-imposed pause (``Retry-After``) is over.
"""

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries of retryable failures, with exponential backoff and jitter.

    Attributes:
        attempts: Most attempts of one call, the first included (1 = never retry).
        base_delay_s: Wait before the first retry, before jitter.
        multiplier: Growth of the wait from one retry to the next.
        max_delay_s: Largest wait between two attempts, before jitter.
        jitter: Fraction of each wait drawn at random (0 = fixed waits, 1 = anywhere from
            0 to the full wait): retries of many clients do not arrive together.
        max_retry_after_s: Longest ``Retry-After`` honoured by waiting; a longer one ends
            the retries (the call fails as retryable and the caller comes back later).
    """

    attempts: int = 4
    base_delay_s: float = 0.5
    multiplier: float = 2.0
    max_delay_s: float = 8.0
    jitter: float = 0.5
    max_retry_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, found {self.attempts}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be from 0 to 1, found {self.jitter}")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError(
                f"delays must satisfy 0 <= base_delay_s <= max_delay_s, found "
                f"{self.base_delay_s} and {self.max_delay_s}"
            )

    def delay_s(self, retry: int, draw: float) -> float:
        """Wait before retry number ``retry`` (1 = the first retry).

        Args:
            retry: Which retry this is, from 1.
            draw: A random number in [0, 1) (injected: tests pass fixed values).
        """
        full = min(self.max_delay_s, self.base_delay_s * self.multiplier ** (retry - 1))
        return full * (1 - self.jitter * draw)


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value by case-insensitive name, or ``None``."""
    if not headers:
        return None
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def retry_after_s(value: str | None, now_s: float) -> float | None:
    """Seconds a ``Retry-After`` header value asks to wait, or ``None`` when unreadable.

    Args:
        value: The header's value: delta-seconds (``"120"``) or an HTTP date.
        now_s: The wall clock now, seconds since the epoch (for the date form).
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_s)


class TokenBucket:
    """A thread-safe request budget: ``rate_per_s`` on average, bursts up to ``burst``.

    ``reserve`` takes a token and says how long the caller must wait before using it, so
    callers queue fairly instead of spinning. ``pause_until`` holds every call back until a
    time (a venue's ``Retry-After``).

    Args:
        rate_per_s: Tokens added per second.
        burst: Most tokens held (and the bucket's size at the start).
        clock: Monotonic seconds (injected; ``time.monotonic`` live).
    """

    def __init__(self, rate_per_s: float, burst: float, clock: Callable[[], float]) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(
                f"a token bucket needs rate_per_s > 0 and burst >= 1, found {rate_per_s} "
                f"and {burst}"
            )
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()
        self._paused_until = float("-inf")
        self._lock = threading.Lock()

    def reserve(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens; seconds to wait before the request may go (0: at once)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate_per_s)
            self._stamp = now
            self._tokens -= cost  # may go negative: the debt is the queue ahead of the caller
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s
            return max(wait, self._paused_until - now)

    def pause_until(self, until: float) -> None:
        """Hold every request back until the monotonic time ``until`` (never shortens a pause)."""
        with self._lock:
            self._paused_until = max(self._paused_until, until)
