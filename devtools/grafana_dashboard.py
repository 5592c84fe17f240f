"""Read a Grafana dashboard JSON and check what Grafana's schema cannot.

The schema (``devtools.grafana_schema``) checks shapes; this module checks meaning: which
metrics the PromQL expressions select, that every query goes to the dashboard's Prometheus
data source variable, that the panels tile the 24-column grid without overlapping, and that
every ``$variable`` an expression uses is defined. Each check returns a list of problems,
empty when the dashboard is sound, so a test can print them all at once.
"""

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import promql_parser

GRID_COLUMNS = 24
"""Width of Grafana's dashboard grid."""

DATASOURCE_VARIABLE = "datasource"
"""Name of the template variable that picks the Prometheus data source."""

DATASOURCE_REF = {"type": "prometheus", "uid": "${" + DATASOURCE_VARIABLE + "}"}
"""The data source every panel and query must use."""

BUILTIN_SAMPLES = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
"""Grafana's built-in variables that a Prometheus query may use, with a value of each kind."""

_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
_LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<selector>.*),)?\s*(?P<label>\w+)\s*\)\s*$")

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL expression of the dashboard and where it sits."""

    where: str
    """Human-readable location, e.g. ``panel 7 "Equity" target A``."""
    expr: str


def load_dashboard(path: Path) -> JsonObject:
    """The dashboard at ``path``, parsed; raises ``ValueError`` if it is not a JSON object."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object (a dashboard), found {type(data)}")
    return data


def iter_panels(dashboard: Mapping[str, Any]) -> Iterator[JsonObject]:
    """Every panel, rows included, with the panels of collapsed rows after their row."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", []) if panel.get("type") == "row" else ()


def query_panels(dashboard: Mapping[str, Any]) -> list[JsonObject]:
    """The panels that query data (every panel but rows)."""
    return [panel for panel in iter_panels(dashboard) if panel.get("type") != "row"]


def template_variables(dashboard: Mapping[str, Any]) -> dict[str, JsonObject]:
    """The dashboard's template variables by name."""
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def _describe(panel: Mapping[str, Any]) -> str:
    return f'panel {panel.get("id")} "{panel.get("title", "")}"'


def queries(dashboard: Mapping[str, Any]) -> list[Query]:
    """Every PromQL expression: panel targets, annotation queries, variable selectors.

    A ``label_values(selector, label)`` variable query contributes its selector.
    """
    found = [
        Query(f"{_describe(panel)} target {target.get('refId', '?')}", target.get("expr", ""))
        for panel in query_panels(dashboard)
        for target in panel.get("targets", [])
    ]
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if "expr" in annotation:
            found.append(Query(f'annotation "{annotation.get("name")}"', annotation["expr"]))
    for name, variable in template_variables(dashboard).items():
        query = variable.get("query")
        if variable.get("type") == "query" and isinstance(query, str):
            match = _LABEL_VALUES.match(query)
            if match is None:
                raise ValueError(
                    f"variable {name}: expected a label_values(selector, label) query, "
                    f"found {query!r}"
                )
            if match["selector"]:
                found.append(Query(f"variable {name}", match["selector"]))
    return found


def referenced_variables(text: str) -> set[str]:
    """Names of the Grafana variables ``text`` uses (``$x``, ``${x}``, ``${x:fmt}``, ``[[x]]``)."""
    return {next(g for g in m.groups() if g) for m in _VARIABLE.finditer(text)}


def substitute_variables(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each Grafana variable replaced by ``values[name]``, as Grafana would.

    Raises ``KeyError`` naming a variable that ``values`` does not hold.
    """

    def replace(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name not in values:
            raise KeyError(name)
        return values[name]

    return _VARIABLE.sub(replace, text)


def promql_metric_names(expr: str) -> frozenset[str]:
    """The metric names an expression (without Grafana variables) selects.

    Raises ``ValueError`` if it does not parse, or if a selector names no metric (only
    labels, or ``__name__`` by regex), since then the metrics it reads cannot be known.
    """
    try:
        ast = promql_parser.parse(expr)
    except ValueError as error:
        raise ValueError(f"not valid PromQL: {expr!r}: {error}") from None
    names: set[str] = set()
    unnamed: list[str] = []

    def visit(node: promql_parser.Expr) -> None:
        if not isinstance(node, promql_parser.VectorSelector):
            return
        by_label = [
            m.value
            for m in node.matchers.matchers
            if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal
        ]
        if node.name is not None:
            names.add(node.name)
        elif by_label:
            names.update(by_label)
        else:
            unnamed.append(str(node))

    promql_parser.walk(ast, visit)
    if unnamed:
        raise ValueError(f"selector names no metric, so its metrics cannot be checked: {unnamed}")
    return frozenset(names)


def sample_values(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """A value for every variable the dashboard defines and every built-in it may use."""
    values = dict(BUILTIN_SAMPLES)
    values.update(dict.fromkeys(template_variables(dashboard), "sample"))
    return values


def dashboard_metric_names(path: Path) -> set[str]:
    """Every metric name the PromQL expressions of the dashboard at ``path`` select."""
    dashboard = load_dashboard(path)
    values = sample_values(dashboard)
    names: set[str] = set()
    for query in queries(dashboard):
        names |= promql_metric_names(substitute_variables(query.expr, values))
    return names


def metric_problems(dashboard: Mapping[str, Any], known: frozenset[str]) -> list[str]:
    """Expressions that do not parse, or that select a metric outside ``known``."""
    values = sample_values(dashboard)
    problems = []
    for query in queries(dashboard):
        try:
            names = promql_metric_names(substitute_variables(query.expr, values))
        except (ValueError, KeyError) as error:
            problems.append(f"{query.where}: {error}")
            continue
        if not names:
            problems.append(f"{query.where}: selects no metric: {query.expr!r}")
        for name in sorted(names - known):
            problems.append(f"{query.where}: unknown metric {name!r} in {query.expr!r}")
    return problems


def datasource_problems(dashboard: Mapping[str, Any]) -> list[str]:
    """Panels or queries that do not use the Prometheus data source variable."""
    problems = []
    variable = template_variables(dashboard).get(DATASOURCE_VARIABLE)
    if (
        variable is None
        or variable.get("type") != "datasource"
        or variable.get("query") != ("prometheus")
    ):
        problems.append(
            f"no template variable {DATASOURCE_VARIABLE!r} of type datasource for prometheus"
        )
    for panel in query_panels(dashboard):
        if panel.get("datasource") != DATASOURCE_REF:
            problems.append(f"{_describe(panel)}: datasource {panel.get('datasource')!r}")
        if not panel.get("targets"):
            problems.append(f"{_describe(panel)}: no query")
        for target in panel.get("targets", []):
            if target.get("datasource", DATASOURCE_REF) != DATASOURCE_REF:
                problems.append(
                    f"{_describe(panel)} target {target.get('refId')}: "
                    f"datasource {target['datasource']!r}"
                )
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if "expr" in annotation and annotation.get("datasource") != DATASOURCE_REF:
            problems.append(
                f'annotation "{annotation.get("name")}": datasource {annotation.get("datasource")}'
            )
    for name, variable in template_variables(dashboard).items():
        if variable.get("type") == "query" and variable.get("datasource") != DATASOURCE_REF:
            problems.append(f"variable {name}: datasource {variable.get('datasource')!r}")
    return problems


def variable_problems(dashboard: Mapping[str, Any], required: tuple[str, ...]) -> list[str]:
    """Required variables that are missing, and ``$names`` used but defined nowhere."""
    defined = template_variables(dashboard)
    problems = [
        f"template variable {name!r} is missing" for name in required if name not in defined
    ]
    texts = [(q.where, q.expr) for q in queries(dashboard)]
    texts += [(f"{_describe(p)} title", p.get("title", "")) for p in iter_panels(dashboard)]
    texts += [
        (f"{_describe(p)} datasource", json.dumps(p.get("datasource", {})))
        for p in query_panels(dashboard)
    ]
    for where, text in texts:
        for name in sorted(referenced_variables(text) - defined.keys() - BUILTIN_SAMPLES.keys()):
            problems.append(f"{where}: uses ${name}, which is not defined")
    return problems


def _overlap(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def _screens(dashboard: Mapping[str, Any]) -> list[list[JsonObject]]:
    """Groups of panels shown together: the top level, and each collapsed row's content."""
    top = list(dashboard.get("panels", []))
    return [top] + [p.get("panels", []) for p in top if p.get("type") == "row" and p.get("panels")]


def layout_problems(dashboard: Mapping[str, Any]) -> list[str]:
    """Duplicate panel ids, positions outside the 24-column grid, overlapping panels.

    The panels of a collapsed row are checked for overlaps among themselves: Grafana
    shifts them below the row when it is expanded.
    """
    problems = []
    seen: dict[int, str] = {}
    for panel in iter_panels(dashboard):
        name = _describe(panel)
        panel_id = panel.get("id")
        if not isinstance(panel_id, int):
            problems.append(f"{name}: id {panel_id!r} is not an integer")
        elif panel_id in seen:
            problems.append(f"{name}: id {panel_id} is also the id of {seen[panel_id]}")
        else:
            seen[panel_id] = name
    for screen in _screens(dashboard):
        problems += _placement_problems(screen)
    return problems


def _placement_problems(panels: list[JsonObject]) -> list[str]:
    problems = []
    placed: list[tuple[str, Mapping[str, int]]] = []
    for panel in panels:
        name = _describe(panel)
        pos = panel.get("gridPos")
        if not isinstance(pos, dict) or not all(isinstance(pos.get(k), int) for k in "xywh"):
            problems.append(f"{name}: gridPos {pos!r} needs integer x, y, w and h")
            continue
        if pos["x"] < 0 or pos["y"] < 0 or pos["w"] < 1 or pos["h"] < 1:
            problems.append(f"{name}: gridPos {pos} has a negative place or an empty size")
        elif pos["x"] + pos["w"] > GRID_COLUMNS:
            problems.append(f"{name}: gridPos {pos} reaches past column {GRID_COLUMNS}")
        placed.append((name, pos))
    for (name_a, a), (name_b, b) in combinations(placed, 2):
        if _overlap(a, b):
            problems.append(f"{name_a} at {a} overlaps {name_b} at {b}")
    return problems
