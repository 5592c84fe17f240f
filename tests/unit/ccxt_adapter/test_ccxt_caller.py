"""``Caller`` and ``LoopThread``: retries, Retry-After, clock resync, secrets, on a real loop.

The exchange here is a hand-written stand-in whose coroutines raise real ccxt exceptions
in a scripted order (the real ccxt classes and a real server are in the integration
tests); time is injected, so no test sleeps.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from market_maker.exchanges.base import (
    FatalExchangeError,
    OrderRejectedError,
    RetryableExchangeError,
)
from market_maker.exchanges.ccxt.caller import Caller, Timing
from market_maker.exchanges.ccxt.errors import Failure, FailureKind
from market_maker.exchanges.ccxt.loop import LoopClosedError, LoopThread
from market_maker.exchanges.ccxt.pacing import RetryPolicy, TokenBucket

SECRET = "s3cr3t-DO-NOT-PRINT"


class ScriptedExchange:
    """Answers ``fetch`` calls from a script: an exception to raise or a value to return."""

    id = "binance"

    def __init__(self, script: list[Any], headers: dict[str, str] | None = None) -> None:
        self.script = list(script)
        self.calls = 0
        self.resyncs = 0
        self.last_response_headers = headers or {}
        self.loop_thread: Any = None

    async def fetch(self) -> Any:
        self.calls += 1
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    async def load_time_difference(self) -> int:
        self.resyncs += 1
        return 0


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def timing(self) -> Timing:
        return Timing(sleep=self.sleep, monotonic=lambda: self.now, wall=lambda: 1.7e9,
                      draw=lambda: 0.0)  # fmt: skip


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread("test-loop")
    yield thread
    thread.stop()


def caller_for(
    loop: LoopThread, exchange: ScriptedExchange, clock: FakeTime, **policy: Any
) -> Caller:
    return Caller(
        loop, exchange,
        policy=RetryPolicy(**({"attempts": 4, "base_delay_s": 1, "jitter": 0} | policy)),
        bucket=TokenBucket(1000, 1000, lambda: clock.now),
        timeout_s=5, timing=clock.timing(), secrets=(SECRET,),
    )  # fmt: skip


def test_retryable_failures_are_retried_with_growing_waits(loop: LoopThread) -> None:
    clock = FakeTime()
    ex = ScriptedExchange([ccxt.RequestTimeout("t"), ccxt.ExchangeNotAvailable("503"), "ok"])
    assert caller_for(loop, ex, clock).call("fetch", ex.fetch) == "ok"
    assert ex.calls == 3
    assert clock.slept == [1.0, 2.0]


def test_retries_are_bounded(loop: LoopThread) -> None:
    clock = FakeTime()
    ex = ScriptedExchange([ccxt.RequestTimeout("t")] * 10)
    with pytest.raises(RetryableExchangeError, match="fetch"):
        caller_for(loop, ex, clock, attempts=3).call("fetch", ex.fetch)
    assert ex.calls == 3


def test_a_refusal_is_not_retried(loop: LoopThread) -> None:
    clock = FakeTime()
    ex = ScriptedExchange([ccxt.InvalidOrder('binance {"code":-1013,"msg":"Filter failure"}')])
    with pytest.raises(OrderRejectedError, match="Filter failure"):
        caller_for(loop, ex, clock).call("place", ex.fetch)
    assert (ex.calls, clock.slept) == (1, [])


def test_a_refusal_may_be_handed_back(loop: LoopThread) -> None:
    ex = ScriptedExchange(
        [ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}')]
    )
    got = caller_for(loop, ex, FakeTime()).call("get", ex.fetch, answers={FailureKind.NOT_FOUND})
    assert isinstance(got, Failure) and got.code == -2013


def test_retry_after_is_honoured_and_pauses_every_call(loop: LoopThread) -> None:
    clock = FakeTime()
    ex = ScriptedExchange(
        [ccxt.DDoSProtection('binance 429 Too Many Requests {"code":-1003}'), "ok", "next"],
        headers={"Retry-After": "7"},
    )
    caller = caller_for(loop, ex, clock)
    start = clock.now
    assert caller.call("fetch", ex.fetch) == "ok"
    assert clock.slept == [7.0]  # not the 1 s backoff
    assert clock.now - start == 7.0
    assert caller.bucket.reserve() == 0  # the pause is over


def test_a_long_retry_after_gives_up_but_keeps_the_pause(loop: LoopThread) -> None:
    clock = FakeTime()
    ex = ScriptedExchange(
        [ccxt.DDoSProtection("binance 418 banned")], headers={"retry-after": "600"}
    )
    caller = caller_for(loop, ex, clock, max_retry_after_s=60)
    with pytest.raises(RetryableExchangeError):
        caller.call("fetch", ex.fetch)
    assert caller.bucket.reserve() == pytest.approx(600)


def test_clock_skew_resyncs_then_retries(loop: LoopThread) -> None:
    ex = ScriptedExchange([ccxt.InvalidNonce('binance {"code":-1021,"msg":"Timestamp"}'), "ok"])
    assert caller_for(loop, ex, FakeTime()).call("fetch", ex.fetch) == "ok"
    assert ex.resyncs == 1


def test_authentication_failure_is_fatal_and_never_shows_the_secret(loop: LoopThread) -> None:
    ex = ScriptedExchange(
        [ccxt.AuthenticationError(f'binance {{"code":-2015,"msg":"bad {SECRET}"}}')]
    )
    with pytest.raises(FatalExchangeError) as info:
        caller_for(loop, ex, FakeTime()).call("balances", ex.fetch)
    assert "authentication failed" in str(info.value)
    assert SECRET not in str(info.value)


def test_a_call_that_hangs_times_out_as_retryable(loop: LoopThread) -> None:
    class Hanging(ScriptedExchange):
        async def fetch(self) -> Any:
            self.calls += 1
            await asyncio.Event().wait()

    ex = Hanging([])
    caller = caller_for(loop, ex, FakeTime(), attempts=2)
    caller.timeout_s, caller.grace_s = 0.1, 0.0
    with pytest.raises(RetryableExchangeError, match=r"no answer within 0\.1 s"):
        caller.call("fetch", ex.fetch)
    assert ex.calls == 2


def test_the_loop_refuses_work_once_stopped() -> None:
    thread = LoopThread("stopped")
    thread.stop()
    thread.stop()  # idempotent

    async def nothing() -> None:
        return None

    with pytest.raises(LoopClosedError):
        thread.run(nothing(), 1)


def test_the_observer_is_told_of_every_attempt_its_operation_time_and_failure(
    loop: LoopThread,
) -> None:
    clock = FakeTime()
    ex = ScriptedExchange([ccxt.RequestTimeout("t"), ccxt.InvalidOrder("bad"), "ok"])
    seen: list[tuple[str, float, str | None]] = []
    caller = caller_for(loop, ex, clock)
    caller.observer = lambda operation, seconds, failure: seen.append((operation, seconds, failure))
    answer = caller.call("fetch", ex.fetch, answers={FailureKind.REJECTED})
    assert isinstance(answer, Failure)
    assert caller.call("fetch", ex.fetch) == "ok"
    # the fake clock does not move during a request; the retry's sleep is not counted
    assert seen == [("fetch", 0.0, "retryable"), ("fetch", 0.0, "rejected"), ("fetch", 0.0, None)]
    assert clock.slept == [1.0]
