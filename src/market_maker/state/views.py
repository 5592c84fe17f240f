"""The read model: a bot's state, its slots and its orders as plain data.

One serialiser for every reader outside the engine: ``market-maker status``, the engine's
``status()`` (operator commands, the dashboard of the operations issue) and the rows of the
durable engine's tables. Decimals are strings written exactly as booked (never floats);
enums are their values. The protobuf snapshot (``market_maker.state.snapshot``) stays the
source of truth; these are views of it.
"""

from typing import Any

from market_maker.domain.decimals import decimal_to_str
from market_maker.slots.model import OrderRecord, Slot
from market_maker.state.model import GridState

PENDING = "PENDING"
"""The status shown for an order whose outcome is not known yet (write-ahead intent)."""


def _text(value: Any) -> str | None:
    return None if value is None else decimal_to_str(value)


def slot_view(slot: Slot) -> dict[str, Any]:
    """One slot: level, status, position, cost, PnL, fees, generation and its order's id."""
    return {
        "level": decimal_to_str(slot.level),
        "status": slot.status.value,
        "position_qty": decimal_to_str(slot.position_qty),
        "cost_basis": decimal_to_str(slot.cost_basis),
        "realized_pnl": decimal_to_str(slot.realized_pnl),
        "fees_paid": decimal_to_str(slot.fees_paid),
        "generation": slot.generation,
        "client_order_id": slot.order.client_order_id if slot.order is not None else "",
    }


def order_view(order: OrderRecord) -> dict[str, Any]:
    """One order: ids, slot, side, role, price, quantity, status and what filled."""
    return {
        "client_order_id": order.client_order_id,
        "level": decimal_to_str(order.level),
        "side": order.side.value,
        "role": order.role.value,
        "price": decimal_to_str(order.price),
        "qty": decimal_to_str(order.qty),
        "status": order.status.value if order.status is not None else PENDING,
        "filled_qty": decimal_to_str(order.filled_qty),
        "fee": decimal_to_str(order.fee),
        "order_id": order.order_id,
        "placed_ms": order.placed_ms,
    }


def halt_view(state: GridState) -> dict[str, Any] | None:
    """Why the circuit breaker is open: kind, reason and since when; None when it is not."""
    layer = state.risk_layer
    if layer is None or (kind := layer.breaker.trip_kind) is None:
        return None
    breaker = layer.breaker
    return {
        "kind": kind.value,
        "reason": breaker.trip_reason,
        "since_ms": breaker.tripped_at_ms,
    }


def state_view(state: GridState) -> dict[str, Any]:
    """The whole bot: prices, risk state (and why it halted), PnL, slots and open orders."""
    book = state.book
    slots = [book.slots[level] for level in sorted(book.slots)]
    return {
        "bot_id": state.bot_id,
        "symbol": state.symbol,
        "state_version": state.version,
        "risk_state": state.risk_state.value,
        "halt": halt_view(state),
        "position": decimal_to_str(book.inventory),
        "position_offset": _text(state.position_offset),
        "last_trade_id": state.last_trade_id,
        "realized_pnl": decimal_to_str(book.realized_pnl),
        "fees_paid": decimal_to_str(book.fees_paid),
        "last_price": _text(state.last_price),
        "last_update_ms": state.last_update_ms,
        "center_price": _text(state.center_price),
        "slots": [slot_view(slot) for slot in slots],
        "open_orders": [
            order_view(order) for slot in slots if (order := slot.active_order) is not None
        ],
    }


__all__ = ["PENDING", "halt_view", "order_view", "slot_view", "state_view"]
