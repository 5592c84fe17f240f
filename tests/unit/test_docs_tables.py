"""The reference tables in docs/ match the code they mirror."""

from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel, Field

from devtools.config_reference import (
    allowed_values,
    config_fields,
    config_reference,
    readable_type,
)
from devtools.docs_tables import GENERATORS, regenerate
from market_maker.config.app import AppConfig

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


def _leaf_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf field name, walked here independently of the generator."""
    names = []
    for name, info in model.model_fields.items():
        inner = [a for a in get_args(info.annotation) if a is not type(None)] or [info.annotation]
        if len(inner) == 1 and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            names += _leaf_fields(inner[0], f"{prefix}{name}.")
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_config_field_is_in_the_configuration_reference() -> None:
    text = (DOCS / "configuration.md").read_text()
    leaves = _leaf_fields(AppConfig)
    assert len(leaves) > 80  # the walk reached the nested sections (risk.monitor., ...)
    missing = [name for name in leaves if f"| `{name}` |" not in text]
    assert not missing, f"docs/configuration.md lacks {missing}: run `make docs`"


def test_config_reference_shows_types_and_allowed_ranges() -> None:
    rows = {line.split(" | ")[0].strip("| `"): line for line in config_reference().splitlines()}
    assert rows["backtest.maker_fee"].startswith(
        "| `backtest.maker_fee` | Decimal | `0.001` | ≥ 0, < 1 |"
    )
    assert "| Decimal or none | none | > 0, ≤ 1 |" in rows["backtest.max_fill_fraction"]
    assert "| one of `long`, `short`, `neutral` | `long` | — |" in rows["grid.mode"]
    assert "| str | **required** | length ≥ 3 |" in rows["symbol"]
    assert "| list, each one of `risk_mode`," in rows["alerts.kinds"]


def test_a_new_nested_section_is_walked() -> None:
    class Inner(BaseModel):
        depth_m: int = Field(3, ge=1, description="How deep.")
        code: str = Field("ab", pattern=r"^[a-z]+$", max_length=8, description="A code.")

    class Outer(BaseModel):
        inner: Inner | None = Field(None, description="A section.")
        flag: bool = Field(False, description="A flag.")

    assert [(name, info.description) for name, info in config_fields(Outer)] == [
        ("inner.depth_m", "How deep."),
        ("inner.code", "A code."),
        ("flag", "A flag."),
    ]
    code = dict(config_fields(Outer))["inner.code"]
    assert allowed_values(code) == "length ≤ 8, pattern `^[a-z]+$`"
    assert readable_type(Outer.model_fields["inner"].annotation) == "Inner or none"
