"""Validate a Grafana dashboard against Grafana's own JSON schemas (vendored).

The schemas are those the Grafana Foundation SDK generates from Grafana's CUE kinds, one
folder per Grafana release line (``tests/data/grafana_schema/README.md`` says where each
file comes from). The dashboard schema leaves panel options, custom field settings and
queries open; the panel plugins' and the Prometheus query's own schemas close them.
"""

import copy
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from devtools.grafana_dashboard import iter_panels, query_panels

SCHEMA_ROOT = Path(__file__).resolve().parent.parent / "tests" / "data" / "grafana_schema"
"""Where the vendored schemas live."""

DASHBOARD_RELEASES = ("v10.4", "v11.6")
"""Grafana release lines whose dashboard schema the dashboard must satisfy, both at once."""

PANEL_RELEASE = "v11.6"
"""Release line whose panel and query schemas the panels must satisfy.

One release only: Grafana 11 added required stat options (``percentChangeColorMode``) that
the Grafana 10 schema forbids, while Grafana 10 ignores panel options it does not know.
"""

PANEL_SCHEMAS = ("timeseries", "stat")
"""Panel types the dashboard may use, each with a vendored options schema."""


def _allow_null_base_threshold(schema: dict[str, Any]) -> dict[str, Any]:
    """Let a threshold value be ``null``, as Grafana writes the base step.

    Grafana saves the first threshold step's ``-Infinity`` as ``null`` (the schema's own
    description says so) and every exported dashboard carries it, but these releases type
    the value as a number only; the SDK's later schemas allow ``null``. The one correction
    made to the vendored files, applied here so that the files stay as published.
    """
    fixed = copy.deepcopy(schema)
    value = fixed["definitions"]["Threshold"]["properties"]["value"]
    value["type"] = ["number", "null"]
    return fixed


def _read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON schema object")
    return data


@cache
def _validator(release: str, name: str, definition: str | None = None) -> Draft7Validator:
    schema = _read(SCHEMA_ROOT / release / f"{name}.jsonschema.json")
    if name == "dashboard":
        schema = _allow_null_base_threshold(schema)
    if definition is not None:
        schema = {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def _innermost(error: ValidationError) -> list[ValidationError]:
    """The errors that explain ``error``.

    A panel that fails ``oneOf [Panel, RowPanel]`` fails as a whole; the useful errors are
    those of the branch it came closest to, the one whose errors lie deepest inside it.
    """
    if not error.context:
        return [error]
    branches: dict[object, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0]].append(sub)
    closest = max(branches.values(), key=lambda errors: max(len(e.relative_path) for e in errors))
    return [inner for sub in closest for inner in _innermost(sub)]


def _messages(where: str, validator: Draft7Validator, instance: object) -> list[str]:
    return [
        f"{where}: {inner.json_path}: {inner.message}"
        for error in validator.iter_errors(instance)
        for inner in _innermost(error)
    ]


def dashboard_schema_problems(dashboard: Mapping[str, Any]) -> list[str]:
    """Where the dashboard breaks the dashboard schema of each release in DASHBOARD_RELEASES."""
    problems = []
    for release in DASHBOARD_RELEASES:
        problems += _messages(f"Grafana {release}", _validator(release, "dashboard"), dashboard)
    return problems


def panel_schema_problems(dashboard: Mapping[str, Any]) -> list[str]:
    """Where panel options, custom field settings or Prometheus queries break their schemas."""
    problems = []
    query = _validator(PANEL_RELEASE, "prometheus")
    for panel in query_panels(dashboard):
        where = f'panel {panel.get("id")} "{panel.get("title", "")}"'
        kind = panel.get("type")
        if kind not in PANEL_SCHEMAS:
            problems.append(f"{where}: type {kind!r} is not one of {PANEL_SCHEMAS}")
            continue
        options = _validator(PANEL_RELEASE, kind, "Options")
        problems += _messages(f"{where} options", options, panel.get("options", {}))
        custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
        if kind == "timeseries":
            field = _validator(PANEL_RELEASE, kind, "FieldConfig")
            problems += _messages(f"{where} fieldConfig.defaults.custom", field, custom or {})
        elif custom:
            problems.append(f"{where}: a {kind} panel has no custom field settings: {custom}")
        for target in panel.get("targets", []):
            problems += _messages(f"{where} target {target.get('refId')}", query, target)
    return problems


@cache
def grafana_units() -> frozenset[str]:
    """Every unit id Grafana knows (the ``const`` values of the vendored units schema)."""
    definitions = _read(SCHEMA_ROOT / "units.jsonschema.json")["definitions"]
    return frozenset(d["const"] for d in definitions.values() if "const" in d)


def _units(panels: Iterable[Mapping[str, Any]]) -> Iterable[tuple[str, object]]:
    for panel in panels:
        field_config = panel.get("fieldConfig", {})
        where = f'panel {panel.get("id")} "{panel.get("title", "")}"'
        if "unit" in field_config.get("defaults", {}):
            yield where, field_config["defaults"]["unit"]
        for override in field_config.get("overrides", []):
            for prop in override.get("properties", []):
                if prop.get("id") == "unit":
                    yield f"{where} override", prop.get("value")


def unit_problems(dashboard: Mapping[str, Any]) -> list[str]:
    """Panels whose unit is not one of Grafana's unit ids."""
    known = grafana_units()
    return [
        f"{where}: unit {unit!r} is not a Grafana unit id"
        for where, unit in _units(iter_panels(dashboard))
        if unit not in known
    ]
