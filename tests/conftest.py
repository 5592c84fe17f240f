"""Shared test configuration: Hypothesis profiles."""

import os

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
