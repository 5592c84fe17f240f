"""The stuck-slot alert: raised with each new view while a slot stays PENDING too long."""

from pathlib import Path
from typing import Any

from market_maker.config.alerts import AlertKind
from market_maker.config.app import AppConfig
from market_maker.ops.wiring import BotOperations

CONFIG = {
    "bot_id": "stuck",
    "symbol": "BTC/USDT",
    "instrument": {"tick_size": "0.1", "step_size": "0.001", "min_qty": "0.001"},
    "grid": {"mode": "long", "base_interval": "50", "order_qty": "0.002", "max_inventory": "0.02"},
    "operations": {"stuck_pending_s": 30},
}


def view(wall_ms: int, status: str, cid: str = "stuck-BTCUSDT-B1-1") -> dict[str, Any]:
    return {
        "wall_ms": wall_ms,
        "slots": [{"level": "100", "status": status, "client_order_id": cid}],
    }


def test_a_slot_pending_beyond_the_limit_raises_the_alert_until_it_moves(tmp_path: Path) -> None:
    raw = {**CONFIG, "durable": {"database_url": f"sqlite:///{tmp_path / 'b.db'}"}}
    ops = BotOperations.for_config(AppConfig.model_validate(raw))
    sent: list[tuple[object, str, dict[str, object]]] = []
    ops.notify = lambda kind, message, **fields: sent.append((kind, message, fields))

    def observe(v: dict[str, Any]) -> None:
        ops.slots.observe(v)
        ops._alert_stuck(v)

    observe(view(0, "PENDING"))
    observe(view(30_000, "PENDING"))  # exactly at the limit: not stuck yet
    assert sent == []
    observe(view(31_000, "PENDING"))
    assert len(sent) == 1
    kind, message, fields = sent[0]
    assert kind is AlertKind.STUCK_SLOTS and fields == {"slots": 1}
    assert "100 has been PENDING for 31 s" in message and "operations.stuck_pending_s" in message
    observe(view(32_000, "LOCKED"))  # it moved on (LOCKED is never stuck by default)
    observe(view(200_000, "LOCKED"))
    assert len(sent) == 1
    ops.notify = None
    observe(view(400_000, "PENDING"))
    observe(view(500_000, "PENDING"))  # no alerts configured: nothing to call
    ops.close()
