"""Carrying out an operator's command through the engine's operator verbs.

``apply`` runs on the runner's thread, between decisions (``LiveRunner`` takes the pending
commands after each poll): it is the only place operator actions reach the engine. Each
command ends ``done`` with what it did, ``refused`` with the reason (nothing changed), or
``failed`` (the exchange did not answer: nothing changed, send it again).
"""

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from market_maker.engine.base import Engine
from market_maker.engine.grid import SlotStillOpenError
from market_maker.exchanges.base import RetryableExchangeError
from market_maker.ops.commands import Command, CommandKind, CommandStatus
from market_maker.state.views import slot_view

Outcome = tuple[CommandStatus, Mapping[str, Any]]
"""A command's status and result."""


def apply(command: Command, engine: Engine, stop: Callable[[], None]) -> Outcome:
    """Carry ``command`` out on ``engine`` (``stop`` asks the runner to stop gracefully)."""
    try:
        return _apply(command, engine, stop)
    except RetryableExchangeError as exc:
        return CommandStatus.FAILED, {
            "message": f"the exchange did not answer ({exc}); nothing changed: send it again"
        }


def _apply(command: Command, engine: Engine, stop: Callable[[], None]) -> Outcome:
    kind, ts = command.kind, engine.state.last_update_ms
    if kind is CommandKind.STOP:
        stop()
        return CommandStatus.DONE, {"message": "stopping: the bot saves its state and exits"}
    if kind in (CommandKind.RISK_RESET, CommandKind.BREAKER_RESET):
        before = engine.state.risk_state.value
        if kind is CommandKind.RISK_RESET:
            engine.reset_risk(ts)
        else:
            engine.reset_breaker(ts)
        after = engine.state.risk_state.value
        return CommandStatus.DONE, {
            "message": f"risk state {before} -> {after}",
            "before": before,
            "after": after,
        }
    if kind is CommandKind.HALT:
        before = engine.state.risk_state.value
        reason = f"{command.args.get('reason') or 'halted by an operator'} ({command.actor})"
        engine.halt(reason, ts)
        after = engine.state.risk_state.value
        return CommandStatus.DONE, {
            "message": f"risk state {before} -> {after}: {reason}",
            "before": before,
            "after": after,
            "reason": reason,
        }
    if kind is CommandKind.SLOT_RELEASE:
        return _release(command, engine)
    if kind is CommandKind.CANCEL_OPENINGS:
        sent = engine.cancel_openings()
        return CommandStatus.DONE, {
            "message": f"{sent} opening order cancel(s) sent; closing orders kept",
            "cancels_sent": sent,
        }
    if kind is CommandKind.RECONCILE:
        dry = bool(command.args.get("dry_run", True))
        found = engine.preview_reconcile() if dry else engine.reconcile_now()
        verb = "would correct" if dry else "corrected"
        return CommandStatus.DONE, {
            "message": f"reconciliation {verb} {len(found)} thing(s)",
            "dry_run": dry,
            "corrections": [c.as_json() for c in found],
        }
    return CommandStatus.REFUSED, {"message": f"unknown command {kind}"}  # pragma: no cover


def _release(command: Command, engine: Engine) -> Outcome:
    raw = str(command.args.get("level", ""))
    try:
        level = Decimal(raw)
    except InvalidOperation:
        return CommandStatus.REFUSED, {"message": f"level {raw!r} is not a price"}
    try:
        slot = engine.release_slot(level)
    except (ValueError, SlotStillOpenError) as exc:
        return CommandStatus.REFUSED, {"message": str(exc)}
    return CommandStatus.DONE, {
        "message": f"slot {slot_view(slot)['level']} is {slot.status.value}",
        "slot": slot_view(slot),
    }


__all__ = ["Outcome", "apply"]
