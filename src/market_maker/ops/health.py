"""Is the bot healthy? A verdict with its reasons, from what the running bot published.

``assess`` is the rule, a pure function of its inputs (the latest view, the slots that
have not moved, exchange faults in a window, whether the database answers, the time now)
and the thresholds of ``operations`` in the configuration:

* **unhealthy** (HTTP 503): nothing published yet, the bot stopped, no price yet or the
  latest is older than ``stale_price_s``, the circuit breaker is open (HALTED), the
  database does not answer;
* **degraded** (HTTP 200): RISK_MODE, more than ``max_errors_in_window`` exchange faults in
  the last ``error_window_s``, a slot PENDING longer than ``stuck_pending_s`` (or LOCKED on
  one order longer than ``stuck_locked_s``, when set);
* **healthy** otherwise.

``SlotWatch`` is the small stateful part: fed each published view on the runner's thread,
it remembers since when each slot has been PENDING or LOCKED on the same order.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from market_maker.config.operations import OperationsConfig

WATCHED = ("PENDING", "LOCKED")
"""Slot statuses a slot can get stuck in."""


class HealthLevel(IntEnum):
    """The verdict, ordered from best to worst (the value is the metric's)."""

    HEALTHY = 0
    """Trading as it should."""
    DEGRADED = 1
    """Trading, but something needs a look (risk mode, exchange errors, a stuck slot)."""
    UNHEALTHY = 2
    """Not trading as it should (halted, stale price, database down, stopped)."""

    @property
    def label(self) -> str:
        """The lower-case name (``healthy``) the JSON answer uses."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Verdict:
    """A health verdict.

    Attributes:
        level: Healthy, degraded or unhealthy (the worst of the reasons).
        reasons: One sentence per rule that fired (empty when healthy).
    """

    level: HealthLevel
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """``{"status": "degraded", "reasons": [...]}``."""
        return {"status": self.level.label, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class HealthInputs:
    """What the rule looks at.

    Attributes:
        view: The bot's latest published view (empty before the first one).
        watched_since_ms: Slot level -> wall time since when it has been in its current
            PENDING or LOCKED state (``SlotWatch.since``).
        errors_in_window: Exchange faults in the last ``error_window_s``.
        database_error: Why the database did not answer; None when it did.
        now_ms: Wall-clock time now.
    """

    view: Mapping[str, Any]
    watched_since_ms: Mapping[str, int]
    errors_in_window: int
    database_error: str | None
    now_ms: int


def assess(inputs: HealthInputs, config: OperationsConfig) -> Verdict:
    """The verdict for ``inputs`` under ``config``'s thresholds (see the module docstring)."""
    bad: list[str] = []
    warn: list[str] = []
    view = inputs.view
    if inputs.database_error is not None:
        bad.append(f"database unreachable: {inputs.database_error}")
    if not view:
        bad.append("starting: the bot has not published its state yet")
        return _verdict(bad, warn)
    if not view.get("running", True):
        bad.append("stopped: the bot is not trading")
    price_ms = view.get("price_wall_ms")
    if price_ms is None:
        bad.append("no price yet: the bot has not decided on any price")
    else:
        age_s = (inputs.now_ms - int(price_ms)) / 1000
        if age_s > config.stale_price_s:
            bad.append(
                f"stale price: the last price was decided on {age_s:.0f} s ago "
                f"(limit operations.stale_price_s = {config.stale_price_s:g} s)"
            )
    risk = view.get("risk_state")
    if risk == "HALTED":
        halt = view.get("halt") or {}
        why = f"{halt.get('kind', '?')}: {halt.get('reason', '')}".rstrip(": ")
        bad.append(f"halted: the circuit breaker is open ({why}); see `market-maker status`")
    elif risk == "RISK_MODE":
        warn.append("risk mode: the grid only closes positions until the market calms down")
    if inputs.errors_in_window > config.max_errors_in_window:
        warn.append(
            f"exchange errors: {inputs.errors_in_window} in the last "
            f"{config.error_window_s:g} s (limit operations.max_errors_in_window = "
            f"{config.max_errors_in_window})"
        )
    warn += stuck_slots(view, inputs.watched_since_ms, inputs.now_ms, config)
    return _verdict(bad, warn)


def stuck_slots(
    view: Mapping[str, Any],
    watched_since_ms: Mapping[str, int],
    now_ms: int,
    config: OperationsConfig,
) -> list[str]:
    """Each slot PENDING (or LOCKED on one order) beyond its limit, as a reason in words."""
    limits = {"PENDING": config.stuck_pending_s, "LOCKED": config.stuck_locked_s}
    found = []
    for slot in view.get("slots", ()):
        level, status = slot["level"], slot["status"]
        limit = limits.get(status)
        since = watched_since_ms.get(level)
        if limit is None or since is None:
            continue
        age_s = (now_ms - since) / 1000
        if age_s > limit:
            setting = f"stuck_{status.lower()}_s"
            found.append(
                f"stuck slot: {level} has been {status} for {age_s:.0f} s "
                f"(limit operations.{setting} = {limit:g} s); see `market-maker slots`"
            )
    return found


def _verdict(bad: list[str], warn: list[str]) -> Verdict:
    if bad:
        level = HealthLevel.UNHEALTHY
    elif warn:
        level = HealthLevel.DEGRADED
    else:
        level = HealthLevel.HEALTHY
    return Verdict(level, tuple(bad + warn))


class SlotWatch:
    """Since when each slot has been PENDING, or LOCKED on the same order.

    ``observe`` runs on the runner's thread; ``since`` is one mapping swapped whole, safe
    to read from another thread.
    """

    def __init__(self) -> None:
        self._state: dict[str, tuple[str, str, int]] = {}
        self.since: Mapping[str, int] = {}

    def observe(self, view: Mapping[str, Any]) -> None:
        """Take a published view (its ``wall_ms`` is the time of the observation)."""
        now = int(view["wall_ms"])
        state: dict[str, tuple[str, str, int]] = {}
        for slot in view.get("slots", ()):
            if slot["status"] not in WATCHED:
                continue
            key = (slot["status"], slot.get("client_order_id", ""))
            before = self._state.get(slot["level"])
            since = before[2] if before is not None and before[:2] == key else now
            state[slot["level"]] = (*key, since)
        self._state = state
        self.since = {level: s[2] for level, s in state.items()}


__all__ = ["HealthInputs", "HealthLevel", "SlotWatch", "Verdict", "assess", "stuck_slots"]
