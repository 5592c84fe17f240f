"""The Grafana dashboard (deploy/grafana/) suits Grafana 10 and 11 and reads the bot's metrics.

No Grafana can be installed here (neither Debian nor PyPI nor npm carries the server), so
the dashboard is validated against Grafana's own JSON schemas, vendored from the Grafana
Foundation SDK (tests/data/grafana_schema/), and its PromQL is parsed to check that it
reads only the metrics the bot publishes. tests/integration/test_dashboard_on_prometheus.py
runs every query on a real Prometheus.
"""

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devtools import grafana_dashboard as gd
from devtools import grafana_schema as gs
from devtools.bot_metrics import bot_metric_families, exposed_metric_names

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "market-maker.json"
REQUIRED_VARIABLES = ("datasource", "bot_id", "symbol")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return gd.load_dashboard(DASHBOARD)


def panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    (found,) = [p for p in gd.query_panels(dashboard) if p["title"] == title]
    return found


# --- Grafana's schema -------------------------------------------------------------------


def test_dashboard_satisfies_the_grafana_10_and_11_dashboard_schemas(
    dashboard: dict[str, Any],
) -> None:
    assert gs.dashboard_schema_problems(dashboard) == []


def test_panel_options_and_queries_satisfy_their_plugin_schemas(dashboard: dict[str, Any]) -> None:
    assert gs.panel_schema_problems(dashboard) == []


def test_every_unit_is_a_grafana_unit(dashboard: dict[str, Any]) -> None:
    assert gs.unit_problems(dashboard) == []
    assert {"currencyUSD", "s", "percentunit", "opm"} <= gs.grafana_units()


def test_the_schema_check_finds_what_grafana_would_refuse(dashboard: dict[str, Any]) -> None:
    broken = copy.deepcopy(dashboard)
    broken["panels"][1]["gridPos"]["w"] = 30
    broken["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] = "1"
    broken["templating"]["list"][1]["refresh"] = 7
    broken["graphTooltip"] = 5
    problems = gs.dashboard_schema_problems(broken)
    for release in gs.DASHBOARD_RELEASES:
        assert (
            f"Grafana {release}: $.panels[1].gridPos.w: 30 is greater than the maximum of 24"
            in (problems)
        )
    assert any("steps[1].value: '1' is not of type" in p for p in problems)
    assert any("$.templating.list[1].refresh: 7 is not one of [0, 1, 2]" in p for p in problems)
    assert any("$.graphTooltip" in p for p in problems)


def test_the_panel_check_finds_unknown_options_and_query_fields(dashboard: dict[str, Any]) -> None:
    broken = copy.deepcopy(dashboard)
    stat, series = panel(broken, "Health"), panel(broken, "Equity")
    stat["options"]["colorMode"] = "rainbow"
    series["fieldConfig"]["defaults"]["custom"]["drawStyle"] = "dots"
    series["targets"][0]["exp"] = series["targets"][0].pop("expr")
    problems = "\n".join(gs.panel_schema_problems(broken))
    assert "'rainbow' is not one of" in problems
    assert "'dots' is not one of ['line', 'bars', 'points']" in problems
    assert "'expr' is a required property" in problems


def test_the_unit_check_finds_a_unit_grafana_does_not_know(dashboard: dict[str, Any]) -> None:
    broken = copy.deepcopy(dashboard)
    panel(broken, "Equity")["fieldConfig"]["defaults"]["unit"] = "USDT"
    assert gs.unit_problems(broken) == ["panel 9 \"Equity\": unit 'USDT' is not a Grafana unit id"]


# --- What the queries read --------------------------------------------------------------


def test_expressions_name_only_metrics_the_bot_publishes(dashboard: dict[str, Any]) -> None:
    assert gd.metric_problems(dashboard, exposed_metric_names()) == []
    assert gd.dashboard_metric_names(DASHBOARD) <= exposed_metric_names()


def test_every_metric_family_is_on_the_dashboard() -> None:
    shown = gd.dashboard_metric_names(DASHBOARD)
    missing = [f.name for f in bot_metric_families() if not f.series_names & shown]
    assert missing == []


def test_an_unknown_metric_or_a_broken_expression_is_reported(dashboard: dict[str, Any]) -> None:
    broken = copy.deepcopy(dashboard)
    panel(broken, "Equity")["targets"][0]["expr"] = 'market_maker_equity_usd{bot_id=~"$bot_id"}'
    panel(broken, "Inventory")["targets"][0]["expr"] = "sum(market_maker_inventory"
    panel(broken, "Last price")["targets"][0]["expr"] = '{symbol=~"$symbol"}'
    problems = "\n".join(gd.metric_problems(broken, exposed_metric_names()))
    assert "unknown metric 'market_maker_equity_usd'" in problems
    assert 'panel 10 "Inventory" target A: not valid PromQL' in problems
    assert 'panel 13 "Last price" target A: selector names no metric' in problems


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("market_maker_up", {"market_maker_up"}),
        ('{__name__="market_maker_equity", bot_id="a"}', {"market_maker_equity"}),
        (
            "histogram_quantile(0.9, sum by (le, operation) "
            '(rate(market_maker_exchange_request_seconds_bucket{operation!="x"}[5m])))',
            {"market_maker_exchange_request_seconds_bucket"},
        ),
        (
            "market_maker_health == 2 and on (bot_id) market_maker_risk_mode_active",
            {"market_maker_health", "market_maker_risk_mode_active"},
        ),
        ("sum(up) or on() vector(0)", {"up"}),
        (
            "max_over_time(market_maker_price_age_seconds[10m:1m] offset 1h)",
            {"market_maker_price_age_seconds"},
        ),
    ],
)
def test_promql_metric_names_reads_selectors_not_labels_or_functions(
    expr: str, names: set[str]
) -> None:
    assert gd.promql_metric_names(expr) == names


def test_promql_metric_names_refuses_selectors_it_cannot_name() -> None:
    with pytest.raises(ValueError, match="selector names no metric"):
        gd.promql_metric_names('{__name__=~"market_maker_.*"}')
    with pytest.raises(ValueError, match="not valid PromQL"):
        gd.promql_metric_names("rate(market_maker_up[5m]")


def test_variables_are_substituted_in_every_grafana_syntax() -> None:
    values = {"bot_id": "a", "symbol": "BTC/USDT", "__rate_interval": "1m"}
    text = 'x{bot_id=~"$bot_id", symbol=~"${symbol:regex}"}[$__rate_interval] [[bot_id]]'
    assert gd.referenced_variables(text) == {"bot_id", "symbol", "__rate_interval"}
    assert gd.substitute_variables(text, values) == 'x{bot_id=~"a", symbol=~"BTC/USDT"}[1m] a'
    with pytest.raises(KeyError, match="nope"):
        gd.substitute_variables("$nope", values)


# --- Data source, variables, layout -----------------------------------------------------


def test_every_panel_and_query_uses_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    assert gd.datasource_problems(dashboard) == []
    assert len(gd.query_panels(dashboard)) >= 15


def test_a_panel_with_a_fixed_datasource_is_reported(dashboard: dict[str, Any]) -> None:
    broken = copy.deepcopy(dashboard)
    panel(broken, "Equity")["datasource"] = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
    panel(broken, "Inventory")["targets"][0]["datasource"] = {"type": "loki", "uid": "x"}
    panel(broken, "Last price")["targets"] = []
    problems = "\n".join(gd.datasource_problems(broken))
    assert "panel 9 \"Equity\": datasource {'type': 'prometheus', 'uid': 'P1809F7CD0C75ACF3'}" in (
        problems
    )
    assert "panel 10 \"Inventory\" target A: datasource {'type': 'loki', 'uid': 'x'}" in problems
    assert 'panel 13 "Last price": no query' in problems


def test_template_variables_pick_the_datasource_the_bot_and_the_symbol(
    dashboard: dict[str, Any],
) -> None:
    variables = gd.template_variables(dashboard)
    assert gd.variable_problems(dashboard, REQUIRED_VARIABLES) == []
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["bot_id"]["query"] == "label_values(market_maker_up, bot_id)"
    assert (
        variables["symbol"]["query"] == 'label_values(market_maker_up{bot_id=~"$bot_id"}, symbol)'
    )
    for name in ("bot_id", "symbol"):
        assert variables[name]["multi"] is True
        assert variables[name]["includeAll"] is True
    for query in gd.queries(dashboard):
        if query.where.startswith("panel"):
            assert 'bot_id=~"$bot_id"' in query.expr, query
            assert 'symbol=~"$symbol"' in query.expr, query


def test_a_missing_or_undefined_variable_is_reported(dashboard: dict[str, Any]) -> None:
    broken = copy.deepcopy(dashboard)
    broken["templating"]["list"] = [
        v for v in broken["templating"]["list"] if v["name"] != "symbol"
    ]
    panel(broken, "Equity")["targets"][0]["expr"] = 'market_maker_equity{venue="$venue"}'
    problems = gd.variable_problems(broken, REQUIRED_VARIABLES)
    assert "template variable 'symbol' is missing" in problems
    assert 'panel 9 "Equity" target A: uses $venue, which is not defined' in problems


def test_panels_tile_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    assert gd.layout_problems(dashboard) == []
    ids = [p["id"] for p in gd.iter_panels(dashboard)]
    assert len(ids) == len(set(ids))


def test_overlaps_duplicate_ids_and_overflow_are_reported(dashboard: dict[str, Any]) -> None:
    broken = copy.deepcopy(dashboard)
    equity = panel(broken, "Equity")
    equity["id"] = panel(broken, "Inventory")["id"]
    equity["gridPos"].update(x=6, w=20)  # now over "PnL and fees" and past column 24
    problems = "\n".join(gd.layout_problems(broken))
    assert 'panel 10 "Inventory": id 10 is also the id of panel 10 "Equity"' in problems
    assert "reaches past column 24" in problems
    assert 'panel 8 "PnL and fees"' in problems
    assert "overlaps" in problems


def _cells(pos: dict[str, int]) -> set[tuple[int, int]]:
    return {
        (x, y)
        for x in range(pos["x"], pos["x"] + pos["w"])
        for y in range(pos["y"], pos["y"] + pos["h"])
    }


positions = st.fixed_dictionaries(
    {
        "x": st.integers(0, 23),
        "y": st.integers(0, 12),
        "w": st.integers(1, 24),
        "h": st.integers(1, 6),
    }
)


@given(st.lists(positions, min_size=1, max_size=6))
def test_overlap_and_overflow_agree_with_painting_the_cells(poses: list[dict[str, int]]) -> None:
    panels = [
        {"type": "stat", "id": i, "title": f"p{i}", "gridPos": p} for i, p in enumerate(poses)
    ]
    problems = gd.layout_problems({"panels": panels})
    painted: list[tuple[int, int]] = [cell for p in poses for cell in _cells(p)]
    overlapping_pairs = sum(
        1 for i, a in enumerate(poses) for b in poses[i + 1 :] if _cells(a) & _cells(b)
    )
    assert sum("overlaps" in p for p in problems) == overlapping_pairs
    assert (len(painted) != len(set(painted))) == (overlapping_pairs > 0)
    assert sum("past column 24" in p for p in problems) == sum(p["x"] + p["w"] > 24 for p in poses)


# --- What the operator sees ---------------------------------------------------------------


def _mapping_texts(p: dict[str, Any]) -> dict[str, tuple[str, str]]:
    (mapping,) = p["fieldConfig"]["defaults"]["mappings"]
    assert mapping["type"] == "value"
    return {k: (v["text"], v["color"]) for k, v in mapping["options"].items()}


def _steps(p: dict[str, Any]) -> list[tuple[float | None, str]]:
    thresholds = p["fieldConfig"]["defaults"]["thresholds"]
    assert thresholds["mode"] == "absolute"
    return [(s["value"], s["color"]) for s in thresholds["steps"]]


def test_state_stats_name_each_state_and_colour_it(dashboard: dict[str, Any]) -> None:
    health = panel(dashboard, "Health")
    assert health["type"] == "stat"
    assert _mapping_texts(health) == {
        "0": ("Healthy", "green"),
        "1": ("Degraded", "orange"),
        "2": ("Unhealthy", "red"),
    }
    assert _steps(health) == [(None, "green"), (1, "orange"), (2, "red")]
    for title, on in (("Risk mode", "ACTIVE"), ("Circuit breaker", "OPEN")):
        stat = panel(dashboard, title)
        assert stat["type"] == "stat"
        assert _mapping_texts(stat)["1"] == (on, "red")
        assert _steps(stat) == [(None, "green"), (1, "red")]
    assert _mapping_texts(panel(dashboard, "Bots up")) == {"0": ("DOWN", "red")}


def test_price_age_turns_orange_then_red(dashboard: dict[str, Any]) -> None:
    ages = [p for p in gd.query_panels(dashboard) if p["title"] == "Price age"]
    assert {p["type"] for p in ages} == {"stat", "timeseries"}
    for age in ages:
        assert age["fieldConfig"]["defaults"]["unit"] == "s"
        assert [(value, colour) for value, colour in _steps(age)][1:] == [
            (10, "orange"),
            (60, "red"),
        ]


@pytest.mark.parametrize(
    ("title", "unit"),
    [
        ("PnL and fees", "currencyUSD"),
        ("Equity", "currencyUSD"),
        ("Last price", "currencyUSD"),
        ("Inventory skew", "percentunit"),
        ("Order rates", "opm"),
        ("Tick to order latency", "s"),
        ("Exchange request latency", "s"),
        ("Exchange request latency p95 by operation", "s"),
    ],
)
def test_panels_show_their_unit(dashboard: dict[str, Any], title: str, unit: str) -> None:
    assert panel(dashboard, title)["fieldConfig"]["defaults"]["unit"] == unit


def test_rates_increases_and_quantiles_are_computed_as_specified(dashboard: dict[str, Any]) -> None:
    rates = [t["expr"] for t in panel(dashboard, "Order rates")["targets"]]
    for counter, expr in zip(("placed", "filled", "cancelled", "rejected"), rates, strict=True):
        assert expr.startswith(f"sum(rate(market_maker_orders_{counter}_total{{")
        assert expr.endswith("[$__rate_interval])) * 60")
    for title in ("Exchange errors by class", "Reconciliation corrections by kind"):
        assert "(increase(" in panel(dashboard, title)["targets"][0]["expr"]
    for title in ("Tick to order latency", "Exchange request latency"):
        targets = panel(dashboard, title)["targets"]
        assert [t["legendFormat"] for t in targets] == ["p50", "p95", "p99"]
        for quantile, target in zip(("0.5", "0.95", "0.99"), targets, strict=True):
            assert target["expr"].startswith(f"histogram_quantile({quantile}, sum by (le) (rate(")
    slots = panel(dashboard, "Active slots by status")
    assert slots["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    assert slots["targets"][0]["expr"].startswith("sum by (status) (")
    orders = panel(dashboard, "Open orders by side and role")
    assert orders["targets"][0]["expr"].startswith("sum by (side, role) (")
