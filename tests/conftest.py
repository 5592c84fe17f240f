"""Shared test configuration: Hypothesis profiles, and no bot process outlives its test."""

import os
import sys
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

import market_maker.domain.values

# Value types are frozen for the type checker only (speed); in the tests they are frozen
# for real, so an assignment to one fails loudly. Set before any value type is defined.
market_maker.domain.values.STRICT = True

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _no_leftover_bots() -> Iterator[None]:
    """A bot process a failed test left running is killed (it would trade on for hours)."""
    yield
    module = sys.modules.get("tests.support.paper_process")  # loaded only by tests using it
    if module is not None:
        module.kill_leftover_bots()
