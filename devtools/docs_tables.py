"""Reference tables rendered from the code, for the documents under ``docs/``.

Documents hold each table between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->`` markers; ``scripts/gen_docs.py`` rewrites them and a test
fails when a document no longer matches the code, so the docs cannot drift.
"""

import re
from collections.abc import Callable

from devtools.bot_metrics import metrics_reference
from devtools.config_reference import config_reference
from devtools.reference_tables import durable_tables, interface_tables
from market_maker.slots.machine import EVENT_MEANINGS, TRANSITIONS


def slot_transition_table() -> str:
    """Markdown table of every legal ``(status, event) -> next status`` of a slot."""
    lines = ["| from | event | to | meaning of the event |", "|---|---|---|---|"]
    for (status, event), target in TRANSITIONS.items():
        lines.append(
            f"| `{status.value}` | `{event.value}` | `{target.value}` | {EVENT_MEANINGS[event]} |"
        )
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
