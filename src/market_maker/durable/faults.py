"""Fault injection for crash tests: kill this process at a named point of a workflow.

Inert unless armed. ``market-maker run`` arms it once at start-up from
``MARKET_MAKER_KILL_AT``, written ``point:n`` (die the ``n``-th time this process reaches
``point``); nothing reads the environment inside a workflow. Points: ``intents`` (inside the
intent transaction, before it commits), ``intents-committed`` (it committed; DBOS has not
recorded the step, which re-runs), ``after-place`` (the exchange accepted an order; DBOS has
not recorded the step), ``reports`` (inside the booking transaction, before it commits),
``reports-committed`` (it committed; DBOS has not recorded the workflow's outcome, so the
body re-runs). The crash harness (``market_maker.live.chaos``) uses it to kill the bot
inside each step with SIGKILL.
"""

import os
import signal

ENV = "MARKET_MAKER_KILL_AT"
"""The environment variable ``arm_from_environment`` reads."""

POINTS = ("intents", "intents-committed", "after-place", "reports", "reports-committed")
"""Every place a workflow may be killed at."""

_armed: dict[str, int] = {}  # point -> the pass that dies (one entry at most)
_seen: dict[str, int] = {}


def arm(spec: str | None) -> None:
    """Kill this process at ``spec`` (``point:n``, ``n`` defaulting to 1); None disarms.

    Raises:
        ValueError: An unknown point or a count that is not a positive whole number.
    """
    _seen.clear()
    _armed.clear()
    if not spec:
        return
    where, _, count = spec.partition(":")
    if where not in POINTS:
        raise ValueError(
            f"{ENV}={spec!r}: unknown kill point {where!r}; expected one of {', '.join(POINTS)}"
        )
    if count and (not count.isdigit() or int(count) < 1):
        raise ValueError(f"{ENV}={spec!r}: expected point:n with n a whole number from 1")
    _armed[where] = int(count or "1")


def arm_from_environment() -> None:
    """Arm from ``MARKET_MAKER_KILL_AT`` (unset: inert). Called once, at start-up."""
    arm(os.environ.get(ENV))


def point(name: str) -> None:
    """Die here (SIGKILL, no cleanup) if this process was armed for ``name``."""
    dies_at = _armed.get(name)
    if dies_at is None:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == dies_at:
        os.kill(os.getpid(), signal.SIGKILL)
