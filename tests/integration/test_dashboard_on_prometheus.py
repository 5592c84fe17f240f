"""Every query of the Grafana dashboard runs on a real Prometheus and shows the chosen bot.

A real Prometheus (Debian's package) scrapes a prometheus-client exposition of every
metric the bot publishes, for two bots, and loads the shipped alert rules. The dashboard's
queries then run as Grafana runs them: its variables filled in the way Grafana fills them
(one bot, or All as a regex alternation), range targets through ``query_range``, instant
ones through ``query``, variable lists through the label values API. Each must return
data, finite numbers, and only the chosen bot's series.
"""

import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import grafana_dashboard as gd
from devtools.bot_metrics import bot_metric_families
from devtools.prometheus_rules import alert_names
from tests.support.paper_binance import wait_until
from tests.support.prometheus import (
    ALERTS,
    Bot,
    BotExposition,
    Prometheus,
    prometheus_server,
    scrape_configuration,
)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "market-maker.json"
SCRAPE_S = 1
STEP_S = 1
RATE_INTERVAL_S = max(STEP_S + SCRAPE_S, 4 * SCRAPE_S)
"""Grafana's ``$__rate_interval``: max(``$__interval`` + scrape interval, 4 scrape intervals)."""

BOTS = [
    Bot(
        bot_id="bot-a",
        symbol="BTC/USDT",
        gauges={
            "market_maker_up": 1,
            "market_maker_health": 1,
            "market_maker_realized_pnl": 12.5,
            "market_maker_unrealized_pnl": -3.25,
            "market_maker_fees_paid": 1.5,
            "market_maker_equity": 10009.25,
            "market_maker_inventory": 0.004,
            "market_maker_inventory_skew": 0.4,
            "market_maker_last_price": 100150,
            "market_maker_price_age_seconds": 2.5,
            "market_maker_risk_mode_active": 1,
            "market_maker_circuit_breaker_open": 0,
        },
        slots={"EMPTY": 4, "OPEN": 5, "PENDING": 1},
        open_orders={("BUY", "opening"): 3, ("SELL", "closing"): 2},
        per_scrape=1,
        latency_s=0.03,
    ),
    Bot(
        bot_id="bot-b",
        symbol="ETH/USDT",
        gauges={
            "market_maker_up": 1,
            "market_maker_health": 0,
            "market_maker_realized_pnl": -4,
            "market_maker_unrealized_pnl": 2,
            "market_maker_fees_paid": 0.75,
            "market_maker_equity": 5000,
            "market_maker_inventory": -0.5,
            "market_maker_inventory_skew": -0.25,
            "market_maker_last_price": 3500,
            "market_maker_price_age_seconds": 90,
            "market_maker_risk_mode_active": 0,
            "market_maker_circuit_breaker_open": 1,
        },
        slots={"EMPTY": 2, "OPEN": 7, "LOCKED": 3},
        open_orders={("BUY", "opening"): 4, ("SELL", "opening"): 4, ("SELL", "closing"): 1},
        per_scrape=3,
        latency_s=0.7,
    ),
]
GAUGES = {f.name for f in bot_metric_families() if f.kind == "gauge"} - {
    "market_maker_active_slots",
    "market_maker_open_orders",
}


def test_the_bots_set_every_plain_gauge() -> None:
    for bot in BOTS:
        assert set(bot.gauges) == GAUGES


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    exposition = BotExposition(BOTS, bot_metric_families())
    folder = tmp_path_factory.mktemp("prometheus")
    with (
        exposition.serve() as target,
        prometheus_server(folder, scrape_configuration(target, SCRAPE_S)) as server,
    ):
        # Enough scrapes for every rate window, and every alert rule evaluated once.
        wait_until(
            lambda: _samples(server) >= RATE_INTERVAL_S + 2,
            "Prometheus to scrape the bots a few times",
            30.0,
        )
        wait_until(lambda: _rules_evaluated(server), "every alert rule to be evaluated", 30.0)
        yield server


def _samples(server: Prometheus) -> int:
    result = server.api("query", query="min(count_over_time(market_maker_up[1m]))")["result"]
    return int(float(result[0]["value"][1])) if result else 0


def _rules(server: Prometheus) -> list[dict[str, Any]]:
    return [rule for group in server.api("rules")["groups"] for rule in group["rules"]]


def _rules_evaluated(server: Prometheus) -> bool:
    return all(rule["health"] != "unknown" for rule in _rules(server))


def _regex_escape(value: str) -> str:
    # What Grafana's Prometheus data source does to a variable value inside =~"...".
    return re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\1", value)


SELECTIONS = {
    "one bot": ({"bot_id": "bot-a", "symbol": "BTC/USDT"}, {"bot-a"}),
    "All": (
        {
            "bot_id": "(" + "|".join(_regex_escape(b.bot_id) for b in BOTS) + ")",
            "symbol": "(" + "|".join(_regex_escape(b.symbol) for b in BOTS) + ")",
        },
        {"bot-a", "bot-b"},
    ),
}


def _variables(selection: dict[str, str]) -> dict[str, str]:
    return {
        **selection,
        "datasource": "prometheus",
        "__rate_interval": f"{RATE_INTERVAL_S}s",
        "__interval": f"{STEP_S}s",
        "__interval_ms": str(STEP_S * 1000),
        "__range": "5m",
        "__range_s": "300",
        "__range_ms": "300000",
    }


def _run(server: Prometheus, target: dict[str, Any], expr: str, at: float) -> list[dict[str, Any]]:
    if target.get("instant"):
        data = server.api("query", query=expr, time=at)
        assert data["resultType"] == "vector"
        return [{"metric": s["metric"], "values": [s["value"]]} for s in data["result"]]
    data = server.api("query_range", query=expr, start=at - 4 * STEP_S, end=at, step=STEP_S)
    assert data["resultType"] == "matrix"
    return list(data["result"])


def _targets() -> list[tuple[str, dict[str, Any]]]:
    """Every query target of the dashboard, named ``<panel id> <panel title> <refId>``."""
    dashboard = gd.load_dashboard(DASHBOARD)
    return [
        (f"{panel['id']} {panel['title']} {target['refId']}", target)
        for panel in gd.query_panels(dashboard)
        for target in panel["targets"]
    ]


def _stat(title: str) -> dict[str, Any]:
    """The query of the stat panel called ``title``."""
    dashboard = gd.load_dashboard(DASHBOARD)
    (panel,) = [
        p for p in gd.query_panels(dashboard) if p["title"] == title and p["type"] == "stat"
    ]
    (target,) = panel["targets"]
    assert target["instant"] is True
    return dict(target)


@pytest.mark.parametrize("selection", SELECTIONS, ids=str)
@pytest.mark.parametrize(("where", "target"), _targets(), ids=[w for w, _ in _targets()])
def test_every_dashboard_query_returns_the_selected_bots_data(
    prometheus: Prometheus, where: str, target: dict[str, Any], selection: str
) -> None:
    values, bots = SELECTIONS[selection]
    expr = gd.substitute_variables(target["expr"], _variables(values))
    series = _run(prometheus, target, expr, time.time())
    assert series, f"{where}: no data for {expr}"
    for one in series:
        assert one["values"], f"{where}: an empty series for {expr}"
        for _, value in one["values"]:
            assert math.isfinite(float(value)), f"{where}: {value} in {one} for {expr}"
        assert one["metric"].get("bot_id", next(iter(bots))) in bots, f"{where}: {one['metric']}"
    legend_labels = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
    for one in series:
        missing = legend_labels - one["metric"].keys()
        assert not missing, f"{where}: the legend names {missing}, absent from {one['metric']}"
    carried = {one["metric"]["bot_id"] for one in series if "bot_id" in one["metric"]}
    assert carried in (set(), bots), f"{where}: series of {carried}, expected {bots}"


def test_choosing_another_bot_changes_every_per_bot_query(prometheus: Prometheus) -> None:
    at = time.time()
    for where, target in _targets():
        per_bot = [_variables({"bot_id": b.bot_id, "symbol": b.symbol}) for b in BOTS]
        exprs = [gd.substitute_variables(target["expr"], values) for values in per_bot]
        if gd.promql_metric_names(exprs[0]) == {"market_maker_up"}:
            continue  # "Bots up" counts the selected bots that answer: one either way
        answers = [_run(prometheus, target, expr, at) for expr in exprs]
        assert answers[0] != answers[1], f"{where}: both bots give {answers[0]}"


def test_the_state_stats_read_the_values_the_bot_published(prometheus: Prometheus) -> None:
    one_bot = _variables({"bot_id": "bot-a", "symbol": "BTC/USDT"})
    expected = {"Health": 1.0, "Risk mode": 1.0, "Circuit breaker": 0.0, "Price age": 2.5}
    for title, value in expected.items():
        target = _stat(title)
        expr = gd.substitute_variables(target["expr"], one_bot)
        (series,) = _run(prometheus, target, expr, time.time())
        assert float(series["values"][0][1]) == value, title
    up = _stat("Bots up")
    nobody = gd.substitute_variables(up["expr"], _variables({"bot_id": "x", "symbol": "x"}))
    (down,) = _run(prometheus, up, nobody, time.time())
    assert float(down["values"][0][1]) == 0.0  # shown as DOWN, not as "No data"


def test_variable_lists_come_from_the_label_values_api(prometheus: Prometheus) -> None:
    variables = gd.template_variables(gd.load_dashboard(DASHBOARD))
    pattern = re.compile(r"^label_values\((?P<selector>.*), (?P<label>\w+)\)$")
    bot = pattern.match(variables["bot_id"]["query"])
    symbol = pattern.match(variables["symbol"]["query"])
    assert bot is not None
    assert symbol is not None
    assert set(prometheus.api(f"label/{bot['label']}/values", **{"match[]": bot["selector"]})) == {
        "bot-a",
        "bot-b",
    }
    for chosen, symbols in (("bot-a", {"BTC/USDT"}), ("(bot-a|bot-b)", {"BTC/USDT", "ETH/USDT"})):
        selector = gd.substitute_variables(symbol["selector"], {"bot_id": chosen})
        answer = prometheus.api(f"label/{symbol['label']}/values", **{"match[]": selector})
        assert set(answer) == symbols


def test_the_annotation_marks_the_bot_in_risk_mode_or_with_an_open_breaker(
    prometheus: Prometheus,
) -> None:
    dashboard = gd.load_dashboard(DASHBOARD)
    (annotation,) = [a for a in dashboard["annotations"]["list"] if "expr" in a]
    everyone = SELECTIONS["All"][0]
    expr = gd.substitute_variables(annotation["expr"], _variables(everyone))
    marked = {
        (s["metric"]["bot_id"], s["metric"]["__name__"])
        for s in prometheus.api("query", query=expr)["result"]
    }
    assert marked == {
        ("bot-a", "market_maker_risk_mode_active"),
        ("bot-b", "market_maker_circuit_breaker_open"),
    }


def test_prometheus_loads_and_evaluates_every_alert_rule(prometheus: Prometheus) -> None:
    rules = _rules(prometheus)
    assert [rule["name"] for rule in rules] == alert_names(ALERTS)
    assert [(r["name"], r["lastError"]) for r in rules if r["health"] != "ok"] == []
    # bot-a is in risk mode and bot-b's breaker is open: both wait out their `for:`.
    pending = {
        (a["labels"]["alertname"], a["labels"].get("bot_id"))
        for a in prometheus.api("alerts")["alerts"]
    }
    assert {
        ("MarketMakerRiskMode", "bot-a"),
        ("MarketMakerCircuitBreakerOpen", "bot-b"),
    } <= pending
    assert ("MarketMakerRiskMode", "bot-b") not in pending
