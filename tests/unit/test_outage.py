"""Backoff between retries while the exchange is down, and the outage's two log lines."""

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.exchanges.base import RetryableExchangeError
from market_maker.live.outage import Backoff, OutageWatch

draws = st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=40)


@given(draws)
def test_backoff_waits_grow_to_the_cap_and_stay_within_the_jitter(values: list[float]) -> None:
    backoff = Backoff()  # 1 s doubling to 30 s, 20% jitter
    delays = [backoff.delay_s(n, d) for n, d in enumerate(values, start=1)]
    for n, delay in enumerate(delays, start=1):
        full = min(backoff.cap_s, backoff.first_s * 2 ** (n - 1))
        assert full * (1 - backoff.jitter) <= delay <= full <= backoff.cap_s
    below_cap = [d for n, d in enumerate(delays, start=1) if 2 ** (n - 1) < backoff.cap_s]
    assert below_cap == sorted(below_cap)  # never shorter than the wait before, until the cap


@given(
    st.floats(0.01, 5),
    st.floats(1, 4),
    st.floats(0, 0.5),
    st.lists(st.floats(0, 1, exclude_max=True), min_size=2, max_size=30),
)
def test_any_backoff_never_waits_longer_than_its_cap(
    first: float, multiplier: float, jitter: float, values: list[float]
) -> None:
    backoff = Backoff(first_s=first, multiplier=multiplier, cap_s=first * 30, jitter=jitter)
    assert all(0 < backoff.delay_s(n, d) <= backoff.cap_s for n, d in enumerate(values, 1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first_s": 0}, "0 < first_s <= cap_s"),
        ({"first_s": 40}, "0 < first_s <= cap_s"),
        ({"multiplier": 0.5}, "multiplier must be at least 1"),
        ({"jitter": 0.7}, "jitter must be from 0 to 0.5"),
    ],
)
def test_a_bad_backoff_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = OutageWatch(draw=lambda: 0.0)
    caplog.set_level(logging.DEBUG, logger="market_maker.live.outage")
    assert watch.answered(1_000) is None  # no outage: nothing to say
    waits = [watch.failed(RetryableExchangeError("HTTP 503"), 1_000 + i * 500) for i in range(7)]
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    assert watch.current is not None and watch.current.failures == 7
    ended = watch.answered(9_000)
    assert ended is not None and (ended.failures, ended.duration_s) == (7, 8.0)
    assert watch.current is None and watch.outages == 1
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [(r.levelname, r.getMessage()) for r in loud] == [
        ("WARNING", "exchange unavailable: HTTP 503; retrying with backoff (next try in 1.0 s)"),
        ("INFO", "exchange available again after 8.0 s and 7 retries"),
    ]
    assert loud[0].error == "HTTP 503"  # type: ignore[attr-defined]
    assert (loud[1].outage_s, loud[1].retries) == (8.0, 7)  # type: ignore[attr-defined]
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 6  # the failures between
    # the next outage starts its backoff from the first wait again
    assert watch.failed(RetryableExchangeError("timeout"), 20_000) == 1
