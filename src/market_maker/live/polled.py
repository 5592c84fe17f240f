"""Implementations of the runner's ports that work with any ``Exchange``: polling and wall time.

``PolledOrderUpdates`` learns what happened to our orders by asking the venue (its open
orders, then a lookup of each order that is no longer open), which every REST API can
answer; a pushed stream (websockets) replaces it where the venue has one. ``SystemClock``
is the wall clock.
"""

import threading
import time
from collections.abc import Sequence

from market_maker.domain.orders import OrderUpdate
from market_maker.exchanges.base import Exchange
from market_maker.slots.model import OrderRecord


class PolledOrderUpdates:
    """An ``OrderUpdateSource`` that compares the venue's orders with the engine's.

    Per poll: one request for the open orders, plus one lookup per known order that is no
    longer open. A report is delivered when the venue's status or cumulative filled
    quantity differs from what the engine booked; an order the venue does not know at all
    (a place whose outcome is unknown) is left to the engine's lookup at the next start.

    Args:
        exchange: The venue (its ``open_orders`` and ``get_order``).
        symbol: The market traded.
    """

    def __init__(self, exchange: Exchange, symbol: str) -> None:
        self.exchange = exchange
        self.symbol = symbol

    def poll(self, known: Sequence[OrderRecord]) -> list[OrderUpdate]:
        """Reports about ``known`` orders that differ from the engine's record of them."""
        if not known:
            return []  # orders of ours the book does not hold are the reconciler's business
        open_now = {u.client_order_id: u for u in self.exchange.open_orders(self.symbol)}
        out: list[OrderUpdate] = []
        for order in known:
            report = open_now.get(order.client_order_id)
            if report is None:
                report = self.exchange.get_order(self.symbol, order.client_order_id)
                if report is None:
                    continue  # pending and unknown: resolved by the next start's lookup
            elif report.cum_filled_qty == order.filled_qty and report.status == order.status:
                continue
            out.append(report)
        return out


class SystemClock:
    """The wall clock: ``Clock`` for live runs."""

    def now_ms(self) -> int:
        """Milliseconds since the epoch (UTC)."""
        return time.time_ns() // 1_000_000

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Block for ``seconds`` or until ``wake`` is set; True when it was set."""
        return wake.wait(max(seconds, 0.0))
