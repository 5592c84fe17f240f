"""Reference tables rendered from the code, for the documents under ``docs/``.

Documents hold each table between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->`` markers; ``scripts/gen_docs.py`` rewrites them and a test
fails when a document no longer matches the code, so the docs cannot drift.
"""

import re
from collections.abc import Callable

from pydantic import BaseModel

from devtools.bot_metrics import metrics_reference
from devtools.reference_tables import durable_tables, interface_tables
from market_maker.config.alerts import AlertsConfig
from market_maker.config.app import (
    AppConfig,
    BacktestConfig,
    DurableConfig,
    InstrumentConfig,
    VenueConfig,
)
from market_maker.config.operations import OperationsConfig
from market_maker.risk.config import (
    CircuitBreakerConfig,
    OrderCleanerConfig,
    ReconcilerConfig,
    RiskMonitorConfig,
    SafetyChecksConfig,
)
from market_maker.slots.machine import EVENT_MEANINGS, TRANSITIONS
from market_maker.strategy.config import GridConfig


def slot_transition_table() -> str:
    """Markdown table of every legal ``(status, event) -> next status`` of a slot."""
    lines = ["| from | event | to | meaning of the event |", "|---|---|---|---|"]
    for (status, event), target in TRANSITIONS.items():
        lines.append(
            f"| `{status.value}` | `{event.value}` | `{target.value}` | {EVENT_MEANINGS[event]} |"
        )
    return "\n".join(lines)


def _fmt_default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    if field.is_required():
        return "**required**"
    default = field.default
    if default is None:
        return "none"
    if isinstance(default, (tuple, list)):
        return ", ".join(f"`{getattr(v, 'value', v)}`" for v in default) or "none"
    value = getattr(default, "value", default)
    if isinstance(value, bool):
        return str(value).lower()
    return f"`{value}`"


_SECTIONS = ("instrument", "grid", "backtest", "venue", "durable", "risk", "alerts")
"""Top-level fields that are sections (listed field by field under their prefix)."""


def config_reference() -> str:
    """Markdown table of every configuration field: name, default, meaning."""
    lines = ["| field | default | meaning |", "|---|---|---|"]
    sections: list[tuple[str, type[BaseModel]]] = [
        ("", AppConfig),
        ("instrument.", InstrumentConfig),
        ("grid.", GridConfig),
        ("backtest.", BacktestConfig),
        ("venue.", VenueConfig),
        ("durable.", DurableConfig),
        ("risk.monitor.", RiskMonitorConfig),
        ("risk.breaker.", CircuitBreakerConfig),
        ("risk.cleaner.", OrderCleanerConfig),
        ("risk.reconciler.", ReconcilerConfig),
        ("risk.checks.", SafetyChecksConfig),
        ("alerts.", AlertsConfig),
        ("operations.", OperationsConfig),
    ]
    for prefix, model in sections:
        for name, field in model.model_fields.items():
            if prefix == "" and name in (
                "instrument",
                "grid",
                "backtest",
                "venue",
                "durable",
                "risk",
                "alerts",
                "operations",
            ):
                continue
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{prefix}{name}` | {_fmt_default(model, name)} | {desc} |")
    return "\n".join(lines)


GENERATORS: dict[str, Callable[[], str]] = {
    "slot-transitions": slot_transition_table,
    "config-reference": config_reference,
    "metrics-reference": metrics_reference,
    "durable-tables": durable_tables,
    **interface_tables(),
}
"""Every generated table, by marker name."""


def _filler(body: str) -> Callable[[re.Match[str]], str]:
    def fill(match: re.Match[str]) -> str:
        return f"{match.group(1)}{body}\n{match.group(2)}"

    return fill


def regenerate(text: str, generators: dict[str, Callable[[], str]] = GENERATORS) -> str:
    """Return ``text`` with every marked table replaced by its freshly generated content."""
    for name, generate in generators.items():
        pattern = re.compile(
            rf"(<!-- BEGIN GENERATED: {re.escape(name)} -->\n).*?"
            rf"(<!-- END GENERATED: {re.escape(name)} -->)",
            re.DOTALL,
        )
        text = pattern.sub(_filler(generate()), text)
    return text
