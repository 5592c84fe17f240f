"""The reference tables in docs/ match the code they mirror."""

from pathlib import Path

import pytest

from devtools.docs_tables import GENERATORS, regenerate

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize(
    ("doc", "marker"),
    [
        ("technical_reference.md", "slot-transitions"),
        ("configuration.md", "config-reference"),
        ("metrics.md", "metrics-reference"),
    ],
)
def test_generated_tables_are_fresh(doc: str, marker: str) -> None:
    text = (DOCS / doc).read_text()
    assert f"<!-- BEGIN GENERATED: {marker} -->" in text
    assert GENERATORS[marker]() in text, f"docs/{doc} is stale: run `make docs`"
    assert regenerate(text) == text, f"docs/{doc} is stale: run `make docs`"


def test_every_transition_is_documented() -> None:
    from market_maker.slots.machine import TRANSITIONS

    text = (DOCS / "technical_reference.md").read_text()
    for (status, event), target in TRANSITIONS.items():
        assert f"| `{status.value}` | `{event.value}` | `{target.value}` |" in text


def test_regenerate_replaces_only_the_marked_region() -> None:
    text = "a\n<!-- BEGIN GENERATED: x -->\nold\n<!-- END GENERATED: x -->\nb\n"
    assert regenerate(text, {"x": lambda: "new"}) == (
        "a\n<!-- BEGIN GENERATED: x -->\nnew\n<!-- END GENERATED: x -->\nb\n"
    )
