"""The alert rules and the scrape configuration in deploy/prometheus/ are valid and tested.

promtool (Debian's prometheus package; ``scripts/ensure_prometheus.sh`` installs it) checks
both files as Prometheus reads them and runs the rules' unit tests in
tests/data/prometheus/alerts_test.yml; devtools.prometheus_rules checks what the rules are
for (severity, annotations, runbooks, metric names).
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from devtools.bot_metrics import exposed_metric_names
from devtools.prometheus_rules import alert_names, heading_anchors, rule_problems

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS_YML = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERT_TESTS = ROOT / "tests" / "data" / "prometheus" / "alerts_test.yml"
METRICS_MD = ROOT / "docs" / "metrics.md"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool not found: run scripts/ensure_prometheus.sh to install it")
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )


def test_promtool_accepts_the_alert_rules() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names(ALERTS))} rules found" in result.stdout


def test_promtool_accepts_the_example_scrape_configuration() -> None:
    result = promtool("check", "config", str(PROMETHEUS_YML))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_alert_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test_that_sees_it_fire() -> None:
    tests = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == set(alert_names(ALERTS))


def test_promtool_test_fails_when_an_alert_does_not_fire_as_expected(tmp_path: Path) -> None:
    # The unit tests are not vacuous: make the risk mode alert wait longer and its test fails.
    slower = ALERTS.read_text().replace(
        "expr: market_maker_risk_mode_active == 1\n        for: 1m",
        "expr: market_maker_risk_mode_active == 1\n        for: 5m",
    )
    assert slower != ALERTS.read_text()
    (tmp_path / "alerts.yml").write_text(slower)
    tests = ALERT_TESTS.read_text().replace("../../../deploy/prometheus/alerts.yml", "alerts.yml")
    (tmp_path / "alerts_test.yml").write_text(tests)
    result = promtool("test", "rules", str(tmp_path / "alerts_test.yml"))
    assert result.returncode == 1
    assert "alertname: MarketMakerRiskMode, time: 2m" in result.stderr


def test_rules_are_alerts_with_severity_annotations_runbooks_and_known_metrics() -> None:
    assert rule_problems(ALERTS, exposed_metric_names(), ROOT) == []


def test_rule_check_reports_what_an_operator_would_miss(tmp_path: Path) -> None:
    broken = yaml.safe_load(ALERTS.read_text())
    rules = broken["groups"][0]["rules"]
    rules[1]["expr"] = "market_maker_healthy == 2"
    del rules[2]["labels"]["severity"]
    rules[3]["annotations"]["runbook"] = "docs/operations_guide.md#no-such-heading"
    del rules[4]["annotations"]["summary"]
    rules[5]["for"] = "2 minutes"
    rules.append({"record": "market_maker:equity:sum", "expr": "sum(market_maker_equity)"})
    path = tmp_path / "alerts.yml"
    path.write_text(yaml.safe_dump(broken))
    problems = rule_problems(path, exposed_metric_names(), ROOT)
    group = "group market-maker alert"
    assert problems == [
        f"{group} MarketMakerUnhealthy: expr reads unknown metric 'market_maker_healthy'",
        f"{group} MarketMakerDegraded: severity label None is not one of ('critical', 'warning')",
        f"{group} MarketMakerRiskMode: runbook 'docs/operations_guide.md#no-such-heading': "
        "docs/operations_guide.md has no heading with anchor #no-such-heading",
        f"{group} MarketMakerCircuitBreakerOpen: annotation 'summary' is missing",
        f"{group} MarketMakerStalePrice: for '2 minutes' is not a Prometheus duration",
        "group market-maker: 'market_maker:equity:sum' is not an alerting rule",
    ]


def test_heading_anchors_follow_githubs_rule() -> None:
    text = "# Operations guide\n## Risk\n### Risk mode triggered\n### `risk reset`: clear it\n"
    assert heading_anchors(text) == {
        "operations-guide",
        "risk",
        "risk-mode-triggered",
        "risk-reset-clear-it",
    }


def test_the_docs_show_the_shipped_scrape_configuration() -> None:
    assert PROMETHEUS_YML.read_text() in METRICS_MD.read_text()
