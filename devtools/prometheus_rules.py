"""Check a Prometheus alerting rules file beyond what ``promtool check rules`` can know.

promtool checks that the file is a valid rules file. This module checks what it is for:
every rule is an alert with a severity the routing understands, a summary and description
for the person paged, a runbook that exists, and an expression that reads only metrics the
bot publishes (or Prometheus's own ``up``).
"""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from devtools.grafana_dashboard import promql_metric_names

SCRAPE_METRICS = frozenset({"up"})
"""Metrics Prometheus itself records for every scrape, which an alert may also read."""

SEVERITIES = ("critical", "warning")
"""Values of the ``severity`` label: critical pages someone, warning waits for office hours."""

_GROUP_KEYS = {"name", "interval", "limit", "rules"}
_ALERT_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
_REQUIRED_ANNOTATIONS = ("summary", "description", "runbook")
_ALERT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def heading_anchors(markdown: str) -> set[str]:
    """The anchors a Markdown renderer gives the headings of ``markdown`` (GitHub's rule)."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def _runbook_problem(where: str, runbook: object, root: Path) -> str | None:
    if not isinstance(runbook, str) or "#" not in runbook:
        return f"{where}: runbook {runbook!r} is not a path#anchor into the docs"
    path, anchor = runbook.split("#", 1)
    document = root / path
    if not document.is_file():
        return f"{where}: runbook {runbook!r}: {path} does not exist"
    if anchor not in heading_anchors(document.read_text(encoding="utf-8")):
        return f"{where}: runbook {runbook!r}: {path} has no heading with anchor #{anchor}"
    return None


def _alert_problems(
    where: str, rule: Mapping[str, Any], known: frozenset[str], root: Path
) -> list[str]:
    problems = [f"{where}: unknown key {key!r}" for key in sorted(rule.keys() - _ALERT_KEYS)]
    if not _ALERT_NAME.match(str(rule.get("alert", ""))):
        problems.append(f"{where}: alert name {rule.get('alert')!r} is not CamelCase")
    try:
        names = promql_metric_names(str(rule.get("expr", "")))
    except ValueError as error:
        problems.append(f"{where}: {error}")
    else:
        unknown = sorted(names - known - SCRAPE_METRICS)
        problems += [f"{where}: expr reads unknown metric {name!r}" for name in unknown]
    for key in ("for", "keep_firing_for"):
        if key in rule and not _DURATION.match(str(rule[key])):
            problems.append(f"{where}: {key} {rule[key]!r} is not a Prometheus duration")
    severity = (rule.get("labels") or {}).get("severity")
    if severity not in SEVERITIES:
        problems.append(f"{where}: severity label {severity!r} is not one of {SEVERITIES}")
    annotations = rule.get("annotations") or {}
    problems += [
        f"{where}: annotation {key!r} is missing"
        for key in _REQUIRED_ANNOTATIONS
        if not annotations.get(key)
    ]
    if annotations.get("runbook"):
        problem = _runbook_problem(where, annotations["runbook"], root)
        problems += [problem] if problem else []
    return problems


def alert_names(path: Path) -> list[str]:
    """The names of the alerts in the rules file at ``path``, in file order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        rule["alert"]
        for group in data.get("groups", [])
        for rule in group.get("rules", [])
        if "alert" in rule
    ]


def rule_problems(path: Path, known: frozenset[str], root: Path) -> list[str]:
    """What is wrong with the alerting rules file at ``path``; empty when nothing is.

    ``known`` are the metric names the expressions may read; ``root`` is the directory the
    runbook paths are relative to (the repository).
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != {"groups"}:
        return [f"{path}: expected a mapping with the one key 'groups'"]
    problems = []
    group_names: set[str] = set()
    seen_alerts: set[str] = set()
    for index, group in enumerate(data["groups"]):
        name = group.get("name")
        where = f"group {name or index}"
        problems += [f"{where}: unknown key {key!r}" for key in sorted(group.keys() - _GROUP_KEYS)]
        if not name or name in group_names:
            problems.append(f"{where}: needs a name of its own")
        group_names.add(name)
        if not group.get("rules"):
            problems.append(f"{where}: has no rules")
        for rule in group.get("rules") or []:
            if "alert" not in rule:
                problems.append(f"{where}: {rule.get('record')!r} is not an alerting rule")
                continue
            alert = f"{where} alert {rule['alert']}"
            if rule["alert"] in seen_alerts:
                problems.append(f"{alert}: the name is used twice")
            seen_alerts.add(rule["alert"])
            problems += _alert_problems(alert, rule, known, root)
    return problems
