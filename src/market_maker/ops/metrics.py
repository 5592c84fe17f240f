"""Prometheus metrics of one running bot, in its own registry.

``BotMetrics`` owns a ``CollectorRegistry`` (never the process-global one: two bots, or two
tests, in one process do not share series). Every series carries the labels ``bot_id``
and ``symbol``. The names are a contract (dashboards are written against them; see
``docs/metrics.md``).

Who writes what, and on which thread:

* the runner's thread, after each published view (``update``): the gauges, from the view
  itself, so a scrape shows exactly what ``/api/view`` and ``market-maker status`` show
  (decimals become floats only here, at the export); the order counters, from the deltas
  of the engine's monotonic counts;
* the runner's thread, through ``observer`` (an ``EngineObserver``): fills as booked;
* the thread of each exchange request (``observe_request``, the ccxt ``Caller``'s
  observer): request latency, errors by class, orders the venue refused;
* the runner, around a decision that sent orders (``observe_tick_to_order``);
* the HTTP thread (``set_health``) at each scrape.

prometheus-client's metrics are thread-safe; nothing here calls into the engine.
"""

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from market_maker.domain.enums import OrderRole, Side, SlotStatus
from market_maker.engine.base import EngineObserver
from market_maker.slots.book import BookedFill

if TYPE_CHECKING:
    from market_maker.live.runner import LiveRunner

LABELS = ("bot_id", "symbol")
"""Labels of every series."""

REFUSALS = frozenset({"post_only", "reduce_only", "insufficient", "rejected"})
"""Failure kinds (``exchanges.ccxt.errors.FailureKind``) that refuse one order for good."""
FAULTS = frozenset({"retryable", "rate_limited", "clock_skew", "auth", "fatal"})
"""Failure kinds that say the venue or the connection is in trouble (the health rule)."""
PLACE_OPERATIONS = frozenset({"create_order", "create_orders"})
"""ccxt calls that place orders (a refusal of one counts as a rejected order)."""

TICK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram buckets, seconds: a decision with orders takes milliseconds to seconds."""
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Histogram buckets, seconds, of one exchange request."""
ERROR_TIMES_KEPT = 10_000
"""Most error times remembered for the health window (older ones are dropped)."""

RISK_MODE = "RISK_MODE"
HALTED = "HALTED"


def _float(text: Any) -> float:
    """A view's decimal string as a float (the export is the only place floats appear)."""
    return float(Decimal(str(text)))


class BotMetrics:
    """The metrics of one bot (see the module docstring).

    Args:
        bot_id: The bot's id (label).
        symbol: Its symbol (label).
        max_inventory: The grid's inventory limit, for the skew (inventory / limit).
        monotonic: Seconds on a monotonic clock (the error window; tests pass a fake).
    """

    def __init__(
        self,
        bot_id: str,
        symbol: str,
        max_inventory: Decimal,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.labels = {"bot_id": bot_id, "symbol": symbol}
        self.max_inventory = max_inventory
        self.monotonic = monotonic
        self._seen = {"placed": 0, "canceled": 0}
        self._corrections: dict[str, int] = {}
        self._error_times: deque[float] = deque(maxlen=ERROR_TIMES_KEPT)
        self._lock = threading.Lock()  # the error times: written by request threads
        r = self.registry

        def gauge(name: str, doc: str, extra: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, LABELS + extra, registry=r)

        def counter(name: str, doc: str, extra: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, LABELS + extra, registry=r)

        self.realized_pnl = gauge("market_maker_realized_pnl", "Realized PnL, quote currency.")
        self.unrealized_pnl = gauge(
            "market_maker_unrealized_pnl", "Unrealized PnL at the last price, quote currency."
        )
        self.fees_paid = gauge("market_maker_fees_paid", "Fees paid, quote currency.")
        self.equity = gauge(
            "market_maker_equity", "Account equity (quote + base at the last price)."
        )
        self.inventory = gauge("market_maker_inventory", "Position held, base currency.")
        self.inventory_skew = gauge(
            "market_maker_inventory_skew", "Inventory / max_inventory, clamped to -1..1."
        )
        self.last_price = gauge("market_maker_last_price", "Last price decided on.")
        self.price_age = gauge(
            "market_maker_price_age_seconds", "Seconds since the last price was decided on."
        )
        self.active_slots = gauge("market_maker_active_slots", "Grid slots by status.", ("status",))
        self.open_orders = gauge(
            "market_maker_open_orders", "Open orders by side and role.", ("side", "role")
        )
        self.risk_mode = gauge("market_maker_risk_mode_active", "1 while in RISK_MODE.")
        self.breaker_open = gauge(
            "market_maker_circuit_breaker_open", "1 while the circuit breaker is open (HALTED)."
        )
        self.health = gauge("market_maker_health", "Health: 0 healthy, 1 degraded, 2 unhealthy.")
        self.up = gauge("market_maker_up", "1 while the bot's process serves metrics.")
        self.placed = counter("market_maker_orders_placed", "Orders sent to the exchange.")
        self.filled = counter("market_maker_orders_filled", "Fills booked (one per fill).")
        self.cancelled = counter("market_maker_orders_cancelled", "Cancels sent.")
        self.rejected = counter("market_maker_orders_rejected", "Orders the venue refused.")
        self.corrections = counter(
            "market_maker_reconciliation_corrections",
            "Corrections by the reconciler and the order cleaner, by kind.",
            ("kind",),
        )
        self.exchange_errors = counter(
            "market_maker_exchange_errors",
            "Failed exchange requests, by failure class.",
            ("error_class",),
        )
        self.tick_to_order = Histogram(
            "market_maker_tick_to_order_seconds",
            "From a price reaching the engine to its orders sent (decisions that sent any).",
            LABELS,
            buckets=TICK_BUCKETS,
            registry=r,
        )
        self.request_seconds = Histogram(
            "market_maker_exchange_request_seconds",
            "Duration of one exchange request, by ccxt operation.",
            (*LABELS, "operation"),
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.up.labels(**self.labels).set(1)
        for status in SlotStatus:
            self.active_slots.labels(**self.labels, status=status.value).set(0)
        for side in Side:
            for role in OrderRole:
                self.open_orders.labels(**self.labels, side=side.value, role=role.value).set(0)
        for metric in (self.placed, self.filled, self.cancelled, self.rejected):
            metric.labels(**self.labels)  # a series from the start, at 0

    # -- the runner's thread ---------------------------------------------------------------

    def update(self, runner: "LiveRunner", view: Mapping[str, Any]) -> None:
        """Set the gauges from a published ``view``; count the new orders and corrections."""
        labels = self.labels
        inventory = Decimal(view["position"])
        self.realized_pnl.labels(**labels).set(_float(view["realized_pnl"]))
        self.unrealized_pnl.labels(**labels).set(_float(view["unrealized_pnl"]))
        self.fees_paid.labels(**labels).set(_float(view["fees_paid"]))
        if view.get("equity") is not None:
            self.equity.labels(**labels).set(_float(view["equity"]))
        self.inventory.labels(**labels).set(float(inventory))
        self.inventory_skew.labels(**labels).set(skew(inventory, self.max_inventory))
        if view.get("last_price") is not None:
            self.last_price.labels(**labels).set(_float(view["last_price"]))
        if view.get("price_age_s") is not None:
            self.price_age.labels(**labels).set(float(view["price_age_s"]))
        slots = dict.fromkeys((s.value for s in SlotStatus), 0)
        for slot in view["slots"]:
            slots[slot["status"]] = slots.get(slot["status"], 0) + 1
        for status, n in slots.items():
            self.active_slots.labels(**labels, status=status).set(n)
        orders = {(s.value, r.value): 0 for s in Side for r in OrderRole}
        for order in view["open_orders"]:
            key = (order["side"], order["role"])
            orders[key] = orders.get(key, 0) + 1
        for (side, role), n in orders.items():
            self.open_orders.labels(**labels, side=side, role=role).set(n)
        self.risk_mode.labels(**labels).set(int(view["risk_state"] == RISK_MODE))
        self.breaker_open.labels(**labels).set(
            int(view.get("halt") is not None or view["risk_state"] == HALTED)
        )
        self.count_orders(runner)
        for kind, n in view.get("corrections", {}).items():
            new = n - self._corrections.get(kind, 0)
            if new > 0:
                self.corrections.labels(**labels, kind=kind).inc(new)
            self._corrections[kind] = n

    def count_orders(self, runner: "LiveRunner") -> None:
        """Add the orders and cancels the engine sent since the last call."""
        engine = runner.engine
        placed, canceled = engine.orders_placed, engine.orders_canceled
        if placed > self._seen["placed"]:
            self.placed.labels(**self.labels).inc(placed - self._seen["placed"])
        if canceled > self._seen["canceled"]:
            self.cancelled.labels(**self.labels).inc(canceled - self._seen["canceled"])
        self._seen = {"placed": placed, "canceled": canceled}

    def observe_tick_to_order(self, seconds: float) -> None:
        """A decision that sent orders took ``seconds`` from its price to its orders sent."""
        self.tick_to_order.labels(**self.labels).observe(seconds)

    @property
    def observer(self) -> EngineObserver:
        """An engine observer that counts the fills booked."""
        return _FillCounter(self)

    # -- any thread ------------------------------------------------------------------------

    def observe_request(self, operation: str, seconds: float, failure: str | None) -> None:
        """One exchange request (the ccxt ``Caller``'s observer): its time and failure class."""
        self.request_seconds.labels(**self.labels, operation=operation).observe(seconds)
        if failure is None:
            return
        if failure in REFUSALS and operation in PLACE_OPERATIONS:
            self.rejected.labels(**self.labels).inc()
            return
        self.exchange_errors.labels(**self.labels, error_class=failure).inc()
        if failure in FAULTS:
            with self._lock:
                self._error_times.append(self.monotonic())

    def errors_within(self, window_s: float) -> int:
        """Exchange faults (``FAULTS``) in the last ``window_s`` seconds."""
        since = self.monotonic() - window_s
        with self._lock:
            return sum(1 for t in self._error_times if t >= since)

    def set_health(self, level: int) -> None:
        """Record the health verdict (0 healthy, 1 degraded, 2 unhealthy)."""
        self.health.labels(**self.labels).set(level)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


def skew(inventory: Decimal, max_inventory: Decimal) -> float:
    """Inventory as a share of its limit, clamped to -1..1 (0 when there is no limit)."""
    if max_inventory <= 0:
        return 0.0
    return float(max(Decimal(-1), min(Decimal(1), inventory / max_inventory)))


class _FillCounter(EngineObserver):
    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

    def on_fill(self, fill: BookedFill) -> None:
        self.metrics.filled.labels(**self.metrics.labels).inc()


__all__ = ["LABELS", "BotMetrics", "skew"]
