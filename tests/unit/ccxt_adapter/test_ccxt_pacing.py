"""Backoff schedule, Retry-After parsing and the token bucket, on injected clocks."""

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.exchanges.ccxt.pacing import RetryPolicy, TokenBucket, header, retry_after_s


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    policy = RetryPolicy(base_delay_s=0.5, multiplier=2, max_delay_s=3, jitter=0)
    assert [policy.delay_s(n, 0.99) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@given(
    retry=st.integers(1, 30),
    draw=st.floats(0, 1, exclude_max=True),
    jitter=st.floats(0, 1),
)
def test_jittered_backoff_stays_within_its_band(retry: int, draw: float, jitter: float) -> None:
    policy = RetryPolicy(base_delay_s=0.25, max_delay_s=10, jitter=jitter)
    full = min(10, 0.25 * 2 ** (retry - 1))
    delay = policy.delay_s(retry, draw)
    assert full * (1 - jitter) - 1e-12 <= delay <= full + 1e-12


def test_jitter_spreads_retries() -> None:
    policy = RetryPolicy(base_delay_s=1, jitter=0.5)
    assert policy.delay_s(1, 0.0) == 1.0
    assert policy.delay_s(1, 0.5) == 0.75


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"attempts": 0}, "attempts"), ({"jitter": 1.5}, "jitter"), ({"base_delay_s": -1}, "delays")],
)
def test_a_bad_policy_is_refused_by_name(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Tue, 14 Nov 2023 22:13:50 GMT", 30.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # a date in the past: no wait
        ("soon", None),
        ("", None),
        (None, None),
        ("-5", None),
    ],
)
def test_retry_after_reads_seconds_and_dates(value: str | None, expected: float | None) -> None:
    assert retry_after_s(value, NOW) == expected


def test_headers_are_found_whatever_their_case() -> None:
    assert header({"retry-after": "3"}, "Retry-After") == "3"
    assert header({"Retry-After": "4"}, "retry-after") == "4"
    assert header(None, "Retry-After") is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_paces_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=2, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)  # queued behind the previous caller
    clock.now += 1.0
    assert bucket.reserve() == pytest.approx(0.5)


def test_bucket_refills_no_further_than_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=10, burst=2, clock=clock)
    clock.now += 3600
    assert [bucket.reserve() for _ in range(2)] == [0, 0]
    assert bucket.reserve() == pytest.approx(0.1)


def test_a_venue_pause_holds_every_caller_and_never_shrinks() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=100, burst=100, clock=clock)
    bucket.pause_until(clock.now + 30)
    bucket.pause_until(clock.now + 5)
    assert bucket.reserve() == pytest.approx(30)
    clock.now += 30
    assert bucket.reserve() == 0


@given(st.lists(st.floats(0, 2), min_size=1, max_size=40))
def test_bucket_never_lets_more_than_rate_times_time_plus_burst(gaps: list[float]) -> None:
    """Over any run, requests started by time t are at most burst + rate x elapsed."""
    clock = FakeClock()
    start = clock.now
    bucket = TokenBucket(rate_per_s=5, burst=2, clock=clock)
    starts = []
    for gap in gaps:
        clock.now += gap
        starts.append(clock.now + bucket.reserve())
    for i, t in enumerate(sorted(starts)):
        assert i + 1 <= 2 + 5 * (t - start) + 1e-9


def test_bucket_is_safe_across_threads() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=1, burst=1, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(100):
            w = bucket.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(waits) == [float(i) for i in range(400)]
