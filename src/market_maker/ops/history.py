"""The dashboard's time series: one point per published view, in a bounded ring buffer.

Recorded on the runner's thread (after each publish), read by the HTTP thread
(``/api/history``); a lock keeps a read from seeing the buffer half-rotated. Values stay
the view's decimal strings: the browser parses them for its charts.
"""

import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

FIELDS = (
    "market_ms",
    "price",
    "equity",
    "inventory",
    "realized_pnl",
    "unrealized_pnl",
    "risk_state",
)
"""What each point holds besides its wall-clock time ``wall_ms`` (``market_ms``: the market
time of its price, the time axis of fills)."""


class History:
    """The latest ``size`` points of price, equity, inventory, PnL and risk state.

    Args:
        size: Most points kept; the oldest go first.
    """

    def __init__(self, size: int) -> None:
        self._points: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, view: Mapping[str, Any]) -> None:
        """Add the point of a published view."""
        point = {
            "wall_ms": view["wall_ms"],
            "market_ms": view.get("last_update_ms"),
            "price": view.get("last_price"),
            "equity": view.get("equity"),
            "inventory": view.get("position"),
            "realized_pnl": view.get("realized_pnl"),
            "unrealized_pnl": view.get("unrealized_pnl"),
            "risk_state": view.get("risk_state"),
        }
        with self._lock:
            self._points.append(point)

    def points(self, since_ms: int | None = None) -> list[dict[str, Any]]:
        """The points kept, oldest first (only those after ``since_ms`` when given)."""
        with self._lock:
            points = list(self._points)
        if since_ms is not None:
            points = [p for p in points if p["wall_ms"] > since_ms]
        return points

    def __len__(self) -> int:
        with self._lock:
            return len(self._points)


__all__ = ["FIELDS", "History"]
