"""Exchange outages of a live run: exponential backoff between retries, logged once each way.

When a poll fails with a retryable exchange error the runner does not poll again on its
schedule (``venue.poll_interval_s``, 0.2 s by default): ``OutageWatch.failed`` returns how
long to wait before the next try, doubling from ``Backoff.first_s`` up to ``Backoff.cap_s``
with jitter, so a venue that is down is not hammered and many bots do not retry in step.

It logs the outage ONCE when it starts (WARNING, with the error) and ONCE when it ends
(INFO, with how long it lasted and how many retries it took); the failures in between are
DEBUG lines. ``OutageWatch.current`` describes the outage in progress for the run's other
observers (alerts after N failures or T seconds: ``market_maker.ops.alert_sources``).
Time arrives as arguments (the runner's injected clock) and the jitter's random draws are
injected, so tests run without sleeping.
"""

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between retries while the exchange is down: exponential, capped, jittered.

    Attributes:
        first_s: Wait before the first retry, before jitter.
        multiplier: Growth of the wait from one retry to the next.
        cap_s: Longest wait, before jitter.
        jitter: Fraction of each wait drawn at random (0 = fixed waits, at most 0.5): with
            the default multiplier a wait is never shorter than the one before it until
            the cap is reached.
    """

    first_s: float = 1.0
    multiplier: float = 2.0
    cap_s: float = 30.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.cap_s:
            raise ValueError(
                f"backoff waits must satisfy 0 < first_s <= cap_s, found {self.first_s} "
                f"and {self.cap_s}"
            )
        if self.multiplier < 1:
            raise ValueError(f"backoff multiplier must be at least 1, found {self.multiplier}")
        if not 0 <= self.jitter <= 0.5:
            raise ValueError(f"backoff jitter must be from 0 to 0.5, found {self.jitter}")

    def delay_s(self, retry: int, draw: float) -> float:
        """Wait before retry number ``retry`` (1 = the first), given a random ``draw`` in [0, 1)."""
        full = min(self.cap_s, self.first_s * self.multiplier ** min(retry - 1, 64))
        return full * (1 - self.jitter * draw)


@dataclass(frozen=True, slots=True)
class Outage:
    """An exchange outage in progress.

    Attributes:
        started_ms: When the first poll failed, milliseconds since the epoch.
        failures: Polls that failed in a row so far.
        error: The last error, as text.
        now_ms: Time of the last failure.
        retry_in_s: Wait before the next try.
    """

    started_ms: int
    failures: int
    error: str
    now_ms: int
    retry_in_s: float

    @property
    def duration_s(self) -> float:
        """Seconds since the outage started (to the last failure)."""
        return (self.now_ms - self.started_ms) / 1000


@dataclass(slots=True)
class OutageWatch:
    """Follows the runner's polls: backoff while the exchange fails, a log line each way.

    Attributes:
        backoff: The waits between retries.
        draw: Random numbers in [0, 1) for the jitter (injected in tests).
        current: The outage in progress, None while the exchange answers.
        outages: Outages that ended so far.
        last_ended: The last outage that ended (None before the first).
    """

    backoff: Backoff = field(default_factory=Backoff)
    draw: Callable[[], float] = field(default_factory=lambda: random.Random().random)
    current: Outage | None = None
    outages: int = 0
    last_ended: Outage | None = None

    def failed(self, error: BaseException, now_ms: int) -> float:
        """A poll failed with a retryable error: the seconds to wait before the next try."""
        before = self.current
        failures = 1 if before is None else before.failures + 1
        delay = self.backoff.delay_s(failures, self.draw())
        text = str(error) or type(error).__name__
        started = now_ms if before is None else before.started_ms
        self.current = Outage(started, failures, text, now_ms, delay)
        if before is None:
            log.warning(
                "exchange unavailable: %s; retrying with backoff (next try in %.1f s)",
                text,
                delay,
                extra={"error": text, "retry_in_s": round(delay, 3)},
            )
        else:
            log.debug(
                "exchange still unavailable after %d tries: %s; next try in %.1f s",
                failures,
                text,
                delay,
                extra={"error": text, "failures": failures, "retry_in_s": round(delay, 3)},
            )
        return delay

    def answered(self, now_ms: int) -> Outage | None:
        """A poll succeeded: the outage that just ended (logged), or None when there was none."""
        outage = self.current
        if outage is None:
            return None
        self.current = None
        self.outages += 1
        ended = Outage(outage.started_ms, outage.failures, outage.error, now_ms, 0.0)
        self.last_ended = ended
        log.info(
            "exchange available again after %.1f s and %d %s",
            ended.duration_s,
            ended.failures,
            "retry" if ended.failures == 1 else "retries",
            extra={
                "outage_s": round(ended.duration_s, 3),
                "retries": ended.failures,
                "error": outage.error,
            },
        )
        return ended


__all__ = ["Backoff", "Outage", "OutageWatch"]
