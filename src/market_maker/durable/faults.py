"""Fault injection for crash tests: kill this process at a named point of a workflow.

Inert unless ``MARKET_MAKER_KILL_AT`` is set, as ``point:n`` (the ``n``-th time this process
reaches ``point``). Points: ``intents`` (inside the intent transaction, before it commits),
``intents-committed`` (it committed; DBOS has not recorded the step, which re-runs),
``after-place`` (the exchange accepted an order; DBOS has not recorded the step),
``reports`` (inside the booking transaction, before it commits), ``reports-committed``
(it committed; DBOS has not recorded the workflow's outcome, so the body re-runs). The
crash harness (``market_maker.live.chaos``) uses it to kill the bot inside each step with
SIGKILL.
"""

import os
import signal

_ENV = "MARKET_MAKER_KILL_AT"
_seen: dict[str, int] = {}


def point(name: str) -> None:
    """Die here (SIGKILL, no cleanup) if the environment asks for it."""
    spec = os.environ.get(_ENV)
    if not spec:
        return
    where, _, count = spec.partition(":")
    if where != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == int(count or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
