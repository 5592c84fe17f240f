"""``market-maker status``: the bot's state from its database, running or stopped.

Reads the checksummed snapshot in ``mm_state`` (never writes), so it is safe next to a
running bot. Decimals are strings.
"""

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from market_maker.config.app import AppConfig
from market_maker.domain.decimals import decimal_to_str
from market_maker.durable import repository


def bot_status(config: AppConfig) -> dict[str, Any] | None:
    """The bot's state as plain data, or None when its database holds no state yet."""
    url = sa.make_url(config.durable.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None  # never create the file: a status check must not write
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("mm_state"):
                return None
            state = repository.load(conn, config.bot_id, config.symbol)
    finally:
        engine.dispose()
    if state is None:
        return None
    book = state.book

    def text(value: Any) -> str | None:
        return None if value is None else decimal_to_str(value)

    slots = []
    open_orders = []
    for level in sorted(book.slots):
        slot = book.slots[level]
        order = slot.active_order
        slots.append(
            {
                "level": decimal_to_str(level),
                "status": slot.status.value,
                "position_qty": decimal_to_str(slot.position_qty),
                "cost_basis": decimal_to_str(slot.cost_basis),
                "realized_pnl": decimal_to_str(slot.realized_pnl),
                "client_order_id": order.client_order_id if order is not None else None,
            }
        )
        if order is not None:
            open_orders.append(
                {
                    "client_order_id": order.client_order_id,
                    "level": decimal_to_str(order.level),
                    "side": order.side.value,
                    "role": order.role.value,
                    "price": decimal_to_str(order.price),
                    "qty": decimal_to_str(order.qty),
                    "filled_qty": decimal_to_str(order.filled_qty),
                    "status": order.status.value if order.status is not None else "PENDING",
                }
            )
    return {
        "bot_id": state.bot_id,
        "symbol": state.symbol,
        "state_version": state.version,
        "risk_state": state.risk_state.value,
        "position": decimal_to_str(book.inventory),
        "position_offset": text(state.position_offset),
        "realized_pnl": decimal_to_str(book.realized_pnl),
        "fees_paid": decimal_to_str(book.fees_paid),
        "last_price": text(state.last_price),
        "last_update_ms": state.last_update_ms,
        "center_price": text(state.center_price),
        "slots": slots,
        "open_orders": open_orders,
    }
