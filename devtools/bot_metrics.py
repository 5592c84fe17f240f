"""The bot's Prometheus metrics: one catalogue for the dashboard, the alerts and the docs.

``bot_metric_families()`` is the single list that the Grafana dashboard check, the alert
rules check, the Prometheus query test and the table in ``docs/metrics.md`` read. It adds
what the registry does not hold (units, meanings); ``tests/unit/ops/test_metrics_catalogue.py``
checks that its names, types and labels are exactly those ``market_maker.ops.metrics``
registers, so the dashboard, the alerts and the docs cannot drift from the bot.
"""

from dataclasses import dataclass
from enum import StrEnum

COMMON_LABELS = ("bot_id", "symbol")
"""Labels every metric carries: the bot's id and the market it trades."""


class MetricKind(StrEnum):
    """The Prometheus metric types the bot publishes."""

    GAUGE = "gauge"
    """A value that goes up and down; exposed under its own name."""
    COUNTER = "counter"
    """A running total; prometheus-client exposes it as ``<name>_total``."""
    HISTOGRAM = "histogram"
    """Observations in buckets; exposed as ``<name>_bucket``, ``_sum`` and ``_count``."""


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """One metric family as the bot registers it with prometheus-client.

    ``name`` is the registered name: counters without their ``_total`` suffix, which the
    client library adds in the exposition.
    """

    name: str
    kind: MetricKind
    unit: str
    meaning: str
    labels: tuple[str, ...] = ()
    """Labels besides ``COMMON_LABELS``."""

    @property
    def all_labels(self) -> tuple[str, ...]:
        """Every label of the family's series, the common ones first."""
        return COMMON_LABELS + self.labels

    @property
    def series_names(self) -> frozenset[str]:
        """The names the family's series have in the exposition (what PromQL selects)."""
        if self.kind is MetricKind.COUNTER:
            return frozenset({f"{self.name}_total"})
        if self.kind is MetricKind.HISTOGRAM:
            return frozenset(f"{self.name}_{part}" for part in ("bucket", "sum", "count"))
        return frozenset({self.name})


_QUOTE = "quote currency"


def bot_metric_families() -> tuple[MetricFamily, ...]:
    """Every metric family the bot publishes on ``/metrics``, in the order of the docs."""
    g, c, h = MetricKind.GAUGE, MetricKind.COUNTER, MetricKind.HISTOGRAM
    return (
        MetricFamily("market_maker_up", g, "1", "1 while the bot serves metrics; absent when down"),
        MetricFamily(
            "market_maker_health",
            g,
            "0/1/2",
            "Health verdict: 0 healthy, 1 degraded, 2 unhealthy (reasons on the health endpoint)",
        ),
        MetricFamily("market_maker_realized_pnl", g, _QUOTE, "Profit or loss of closed trades"),
        MetricFamily(
            "market_maker_unrealized_pnl",
            g,
            _QUOTE,
            "Profit or loss of the open inventory, marked at the last price",
        ),
        MetricFamily("market_maker_fees_paid", g, _QUOTE, "Trading fees paid in total"),
        MetricFamily("market_maker_equity", g, _QUOTE, "Account equity"),
        MetricFamily(
            "market_maker_inventory",
            g,
            "base currency",
            "Net position: positive long, negative short",
        ),
        MetricFamily(
            "market_maker_inventory_skew",
            g,
            "ratio, -1 to 1",
            "Inventory as a share of the allowed maximum: -1 fully short, 1 fully long",
        ),
        MetricFamily("market_maker_last_price", g, _QUOTE, "Last market price the bot has seen"),
        MetricFamily(
            "market_maker_price_age_seconds",
            g,
            "seconds",
            "Time since that price arrived; grows while the price feed is stale",
        ),
        MetricFamily(
            "market_maker_active_slots",
            g,
            "slots",
            "Grid slots by status (EMPTY, PENDING, OPEN, PARTIAL, LOCKED, ...)",
            ("status",),
        ),
        MetricFamily(
            "market_maker_open_orders",
            g,
            "orders",
            "Orders resting on the exchange by side (BUY, SELL) and role (opening, closing)",
            ("side", "role"),
        ),
        MetricFamily(
            "market_maker_risk_mode_active", g, "0/1", "1 while risk mode holds new openings"
        ),
        MetricFamily(
            "market_maker_circuit_breaker_open",
            g,
            "0/1",
            "1 while the circuit breaker is open (trading paused)",
        ),
        MetricFamily("market_maker_orders_placed", c, "orders", "Orders sent to the exchange"),
        MetricFamily("market_maker_orders_filled", c, "orders", "Orders filled in full"),
        MetricFamily("market_maker_orders_cancelled", c, "orders", "Orders cancelled"),
        MetricFamily("market_maker_orders_rejected", c, "orders", "Orders the exchange refused"),
        MetricFamily(
            "market_maker_reconciliation_corrections",
            c,
            "corrections",
            "Corrections the reconciler made to the bot's books, by kind",
            ("kind",),
        ),
        MetricFamily(
            "market_maker_exchange_errors",
            c,
            "errors",
            "Failed exchange requests by class (retryable, rejected, fatal, ...)",
            ("error_class",),
        ),
        MetricFamily(
            "market_maker_tick_to_order_seconds",
            h,
            "seconds",
            "From a price tick arriving to the orders it caused being sent",
        ),
        MetricFamily(
            "market_maker_exchange_request_seconds",
            h,
            "seconds",
            "Duration of exchange requests, by operation",
            ("operation",),
        ),
    )


def exposed_metric_names(families: tuple[MetricFamily, ...] | None = None) -> frozenset[str]:
    """Every series name the bot exposes, the set a PromQL selector may name."""
    chosen = bot_metric_families() if families is None else families
    return frozenset(name for family in chosen for name in family.series_names)


def metrics_reference() -> str:
    """Markdown table of every metric: exposed name(s), type, labels, unit and meaning."""
    lines = ["| metric | type | labels | unit | meaning |", "|---|---|---|---|---|"]
    for family in bot_metric_families():
        names = "<br>".join(f"`{name}`" for name in sorted(family.series_names))
        labels = ", ".join(f"`{label}`" for label in family.all_labels)
        lines.append(
            f"| {names} | {family.kind.value} | {labels} | {family.unit} | {family.meaning} |"
        )
    return "\n".join(lines)
