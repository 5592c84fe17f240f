"""Backtest reports: exact deterministic JSON that replays, a self-contained HTML page, and
the terminal summary.

The hand-built run below is consistent to the last digit (0.1 % fees, USDT 1000 to start):

====  =====  ======  =====  ==========  ==========  =====  ============
fill  side   price   qty    fee         USDT after  BTC    realized
====  =====  ======  =====  ==========  ==========  =====  ============
1     BUY    100000  0.001  0.1         899.9       0.001  0
2     BUY    99900   0.001  0.0999      799.9001    0.002  0
3     SELL   100000  0.001  0.1         899.8001    0.001  0.1
4     SELL   100100  0.001  0.1001      999.8       0      0.1
5     BUY    100000  0.001  0.1         899.7       0.001  0
====  =====  ======  =====  ==========  ==========  =====  ============

Marked at 100050 the end equity is 899.7 + 100.05 = 999.75 = 1000 + 0.2 realized + 0.05
unrealized - 0.5 fees.
"""

import io
import json
from dataclasses import replace
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from market_maker.backtest.report_html import (
    BUY_COLOR,
    MAX_POINTS,
    SELL_COLOR,
    build_figure,
    even_indices,
    render_html,
    write_html,
)
from market_maker.backtest.report_json import (
    SECTIONS,
    ReportFormatError,
    load_json,
    replay_fills,
    result_to_json,
    write_json,
)
from market_maker.backtest.report_terminal import (
    money_text,
    pct_text,
    print_summary,
    qty_text,
    summary_rows,
    summary_table,
    utc_text,
)
from market_maker.backtest.result import (
    BacktestResult,
    EquityPoint,
    FillRecord,
    RiskEventRecord,
    Summary,
)

T0 = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC
MIN = 60_000


def fill(i: int, side: str, price: str, fee: str, realized: str = "0") -> FillRecord:
    return FillRecord(
        ts_ms=T0 + i * MIN,
        side=side,
        price=Decimal(price),
        qty=Decimal("0.001"),
        fee=Decimal(fee),
        liquidity="maker",
        client_order_id=f"mm-demo-{i:04d}",
        slot=Decimal(price),
        realized_pnl=Decimal(realized),
    )


def point(i: int, price: str, equity: str, inv: str, center: str | None = "100000") -> EquityPoint:
    return EquityPoint(
        ts_ms=T0 + i * MIN,
        price=Decimal(price),
        equity=Decimal(equity),
        inventory=Decimal(inv),
        center=None if center is None else Decimal(center),
        interval=None if center is None else Decimal("100"),
    )


def make_result(
    elapsed_s: float = 0.0123456, events_per_s: float = 567.0123, **changes: Any
) -> BacktestResult:
    summary = Summary(
        symbol="BTC/USDT",
        start_ms=T0,
        end_ms=T0 + 6 * MIN,
        initial_equity=Decimal("1000"),
        final_equity=Decimal("999.75"),
        realized_pnl=Decimal("0.2"),
        unrealized_pnl=Decimal("0.05"),
        fees_paid=Decimal("0.5"),
        return_pct=Decimal("-0.025"),
        max_drawdown_pct=Decimal("0.02999"),
        fills=5,
        orders_placed=9,
        orders_canceled=2,
        max_inventory=Decimal("0.002"),
        final_inventory=Decimal("0.001"),
        volume_quote=Decimal("500.0"),
        events=7,
        elapsed_s=elapsed_s,
        events_per_s=events_per_s,
    )
    result = BacktestResult(
        summary=summary,
        fills=[
            fill(1, "BUY", "100000", "0.1"),
            fill(2, "BUY", "99900", "0.0999"),
            fill(3, "SELL", "100000", "0.1", "0.1"),
            fill(4, "SELL", "100100", "0.1001", "0.1"),
            fill(5, "BUY", "100000", "0.1"),
        ],
        equity_curve=[
            point(0, "100000", "1000", "0", center=None),
            point(1, "100000", "999.9", "0.001"),
            point(2, "99900", "999.7001", "0.002"),
            point(3, "100000", "999.8001", "0.001"),
            point(4, "100100", "999.8", "0", center="100100"),
            point(5, "100000", "999.7", "0.001", center="100100"),
            point(6, "100050", "999.75", "0.001", center="100100"),
        ],
        initial_balances={"USDT": Decimal("1000"), "BTC": Decimal("0")},
        final_balances={"USDT": Decimal("899.7"), "BTC": Decimal("0.001")},
        config={"symbol": "BTC/USDT", "grid": {"base_interval": Decimal("100"), "levels": 5}},
        warnings=["max_inventory reached 2 times"],
    )
    return replace(result, **changes)


# -- JSON ---------------------------------------------------------------------------------------


def test_json_layout_and_types(tmp_path: Path) -> None:
    result = make_result(
        risk_events=[RiskEventRecord(T0, "k", "r", "NORMAL", "HALTED")], extra={"decisions": 3}
    )
    path = tmp_path / "report.json"
    write_json(result, path)
    report = json.loads(path.read_text())
    assert list(report) == [*SECTIONS, "decisions"]
    assert report["risk_events"] == [
        {"ts_ms": T0, "kind": "k", "reason": "r", "state_before": "NORMAL", "state_after": "HALTED"}
    ]
    summary = report["summary"]
    assert list(summary)[:3] == ["symbol", "start_ms", "end_ms"]
    assert summary["final_equity"] == "999.75"
    assert summary["volume_quote"] == "500.0"  # exact: the trailing zero is kept
    assert summary["return_pct"] == "-0.025"
    assert summary["fills"] == 5 and isinstance(summary["orders_placed"], int)
    assert summary["elapsed_s"] == 0.012 and summary["events_per_s"] == 567.012
    money = ("initial_equity", "realized_pnl", "unrealized_pnl", "fees_paid", "max_inventory")
    assert all(isinstance(summary[k], str) for k in money)
    assert report["fills"][1] == {
        "ts_ms": T0 + 2 * MIN,
        "side": "BUY",
        "price": "99900",
        "qty": "0.001",
        "fee": "0.0999",
        "liquidity": "maker",
        "client_order_id": "mm-demo-0002",
        "slot": "99900",
        "realized_pnl": "0",
    }
    assert report["equity_curve"][0] == {
        "ts_ms": T0,
        "price": "100000",
        "equity": "1000",
        "inventory": "0",
        "center": None,
        "interval": None,
    }
    assert list(report["initial_balances"]) == ["BTC", "USDT"]  # sorted by asset
    assert report["config"]["grid"] == {"base_interval": "100", "levels": 5}
    assert report["warnings"] == ["max_inventory reached 2 times"]
    assert path.read_text().endswith("}\n")


def test_json_writes_fixed_point_never_exponents() -> None:
    tiny = make_result(fills=[replace(fill(1, "BUY", "1E+5", "1E-8"), qty=Decimal("-0"))])
    written = result_to_json(tiny)["fills"][0]
    assert (written["price"], written["fee"], written["qty"]) == ("100000", "0.00000001", "0")


def test_json_is_byte_identical_apart_from_wall_clock(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    write_json(make_result(), a)
    write_json(make_result(), b)
    write_json(make_result(elapsed_s=9.87654, events_per_s=1.5), c)
    assert a.read_bytes() == b.read_bytes()
    lines_a, lines_c = a.read_text().splitlines(), c.read_text().splitlines()
    differing = [x for x, y in zip(lines_a, lines_c, strict=True) if x != y]
    assert [line.split(":")[0].strip() for line in differing] == ['"elapsed_s"', '"events_per_s"']


def test_json_non_finite_rate_becomes_null() -> None:
    report = result_to_json(make_result(events_per_s=float("inf")))
    assert report["summary"]["events_per_s"] is None


def test_json_rejects_extra_sections_named_like_standard_ones() -> None:
    with pytest.raises(ReportFormatError, match="fills"):
        result_to_json(make_result(extra={"fills": []}))


def test_json_rejects_values_that_are_not_json(tmp_path: Path) -> None:
    with pytest.raises(ReportFormatError, match="JSON values"):
        write_json(make_result(config={"when": object()}), tmp_path / "r.json")


def test_load_json_checks_the_sections(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"summary": {}}')
    with pytest.raises(ReportFormatError, match="missing"):
        load_json(path)
    path.write_text("[]")
    with pytest.raises(ReportFormatError, match="expected a JSON object, found list"):
        load_json(path)
    path.write_text("not json")
    with pytest.raises(ReportFormatError, match="expected a JSON backtest report"):
        load_json(path)


def test_replaying_the_fills_reproduces_the_end_state_to_the_last_digit(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_json(make_result(), path)
    report = load_json(path)
    outcome = replay_fills(report)
    assert outcome.final_balances == {"BTC": Decimal("0.001"), "USDT": Decimal("899.7")}
    assert str(outcome.fees_paid) == "0.5000"
    assert outcome.fees_paid == Decimal(report["summary"]["fees_paid"])
    assert outcome.final_inventory == Decimal(report["summary"]["final_inventory"])
    assert outcome.final_equity == Decimal(report["summary"]["final_equity"]) == Decimal("999.75")
    assert outcome.mismatches(report) == []


def test_replay_reads_base_and_quote_from_a_perpetual_symbol() -> None:
    result = make_result(initial_balances={"USDT": Decimal("1000")})
    report = result_to_json(
        replace(result, summary=replace(result.summary, symbol="BTC/USDT:USDT"))
    )
    outcome = replay_fills(report)
    assert outcome.final_balances == {"BTC": Decimal("0.001"), "USDT": Decimal("899.7")}


def test_replay_reports_each_mismatch() -> None:
    report = result_to_json(make_result())
    report["fills"][0]["fee"] = "0.11"
    problems = replay_fills(report).mismatches(report)
    assert len(problems) == 3  # fees, equity, balances; the inventory still agrees
    assert problems[0] == "summary.fees_paid: report says 0.5, the fills give 0.5100"


def test_replay_without_equity_points_has_no_equity_and_rejects_bad_sides() -> None:
    report = result_to_json(make_result(equity_curve=[]))
    assert replay_fills(report).final_equity is None
    report["fills"][0]["side"] = "LONG"
    with pytest.raises(ReportFormatError, match=r"fills\[0\].side: expected BUY or SELL"):
        replay_fills(report)


# -- HTML ---------------------------------------------------------------------------------------


class PageParser(HTMLParser):
    """Collects what the checks need and the tags left open."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.script_srcs: list[str | None] = []
        self.tags: dict[str, int] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "script":
            self.script_srcs.append(dict(attrs).get("src"))
        if tag not in {"meta", "br"}:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    return parser


def test_html_is_self_contained_and_well_formed(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_html(make_result(), path)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "plotly.js v" in page and "Plotly.newPlot" in page  # the library itself, inline
    assert '<script src="http' not in page and "cdn.plot.ly/plotly" not in page
    parser = parse(page)
    assert parser.script_srcs and all(src is None for src in parser.script_srcs)
    assert parser.tags["table"] == 2  # key figures, fills
    text = "".join(parser.text)
    assert "Backtest BTC/USDT" in text
    assert "2024-01-01 00:00:00 UTC -> 2024-01-01 00:06:00 UTC" in text
    assert "999.75 USDT" in text and "mm-demo-0005" in text and "0.1001" in text
    assert "max_inventory reached 2 times" in text
    assert 3_000_000 < len(page) < 7_000_000  # plotly.js is 3.5-4.8 MB of it, by version


def test_html_is_deterministic() -> None:
    assert render_html(make_result()) == render_html(make_result())


def test_html_figure_has_one_trace_per_chart_item() -> None:
    fig = build_figure(make_result())
    names = [t.name for t in fig.data]
    assert names == [
        "price",
        "grid low",
        "grid band (center ± interval)",
        "grid center",
        "buy",
        "sell",
        "equity",
        "inventory",
    ]
    by_name = {t.name: t for t in fig.data}
    assert [t.yaxis for t in fig.data] == ["y"] * 6 + ["y2", "y3"]
    assert list(by_name["price"].y) == [100000, 100000, 99900, 100000, 100100, 100000, 100050]
    assert len(by_name["grid center"].x) == 6  # the first point has no grid yet
    assert list(by_name["grid low"].y)[:2] == [99900.0, 99900.0]
    assert list(by_name["grid band (center ± interval)"].y)[-1] == 100200.0
    assert (
        by_name["buy"].marker.symbol == "triangle-up" and by_name["buy"].marker.color == BUY_COLOR
    )
    assert by_name["sell"].marker.symbol == "triangle-down"
    assert by_name["sell"].marker.color == SELL_COLOR
    assert len(by_name["buy"].x) == 3 and len(by_name["sell"].x) == 2
    assert by_name["sell"].customdata[1][0] == "100100"  # hover shows the exact price
    assert str(by_name["equity"].x[0]) == "2024-01-01 00:00:00"  # UTC wall time
    assert len(fig.layout.shapes) == 0


def test_html_handles_no_fills_and_a_single_point(tmp_path: Path) -> None:
    result = make_result(fills=[], equity_curve=[point(0, "100000", "1000", "0", center=None)])
    assert [t.name for t in build_figure(result).data] == ["price", "equity", "inventory"]
    write_html(result, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    parse(page)
    assert "No fills." in page
    empty = make_result(fills=[], equity_curve=[])
    assert [len(t.x) for t in build_figure(empty).data] == [0, 0, 0]
    parse(render_html(empty))


def test_html_marks_risk_events_on_the_price_chart() -> None:
    events = [
        RiskEventRecord(T0 + 2 * MIN, "drawdown_pct", "equity fell 5% <fast>", "NORMAL", "HALTED"),
        RiskEventRecord(T0 + 4 * MIN, "breaker_reset", "by hand", "HALTED", "NORMAL"),
    ]
    result = make_result(risk_events=events)
    fig = build_figure(result)
    assert [(s.type, s.yref, str(s.x0)) for s in fig.layout.shapes] == [
        ("line", "y domain", "2024-01-01 00:02:00"),
        ("line", "y domain", "2024-01-01 00:04:00"),
    ]
    labels = {a.text: a.hovertext for a in fig.layout.annotations if a.yref == "y domain"}
    assert labels == {
        "drawdown_pct": "NORMAL -&gt; HALTED: equity fell 5% &lt;fast&gt;",
        "breaker_reset": "HALTED -&gt; NORMAL: by hand",
    }
    colors = [s.line.color for s in fig.layout.shapes]
    assert colors[0] != colors[1]  # an entry and a recovery look different
    page = render_html(result)
    parse(page)
    assert "drawdown_pct" in page


def test_html_thins_long_runs() -> None:
    n = 12_001
    points = [point(i, str(100000 + i % 50), "1000", "0") for i in range(n)]
    fills = [fill(i, "BUY" if i % 2 else "SELL", "100000", "0.1") for i in range(n)]
    events = [RiskEventRecord(T0 + i, "k", "r", "NORMAL", "RISK_MODE") for i in range(1000)]
    fig = build_figure(make_result(equity_curve=points, fills=fills, risk_events=events))
    by_name = {t.name: t for t in fig.data}
    assert len(by_name["price"].x) == MAX_POINTS == len(by_name["equity"].x)
    assert str(by_name["price"].x[-1]) == "2024-01-09 08:00:00"  # the last point is kept
    assert len(by_name["buy"].x) + len(by_name["sell"].x) == MAX_POINTS
    assert len(fig.layout.shapes) == 200
    assert "1000 risk events; 200 are marked" in render_html(
        make_result(fills=[], risk_events=events)
    )


@pytest.mark.parametrize(
    ("count", "limit", "expected"),
    [(0, 5, []), (3, 5, [0, 1, 2]), (10, 4, [0, 3, 6, 9]), (7, 1, [6]), (5, 5, [0, 1, 2, 3, 4])],
)
def test_even_indices(count: int, limit: int, expected: list[int]) -> None:
    assert even_indices(count, limit) == expected


def test_even_indices_are_distinct_and_keep_the_ends() -> None:
    picked = even_indices(10_001, 5_000)
    assert len(set(picked)) == 5_000 and picked[0] == 0 and picked[-1] == 10_000
    assert picked == sorted(picked)


def test_html_escapes_text_from_the_run() -> None:
    page = render_html(make_result(warnings=["<script>alert(1)</script>"]))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


# -- terminal -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1234.5", "1,234.50"),
        ("999.75", "999.75"),
        ("0.123456789", "0.123456789"),  # exact: no digit is dropped
        ("-0", "0.00"),
        ("1E+3", "1,000.00"),
        ("-1234567.100", "-1,234,567.10"),
    ],
)
def test_money_text_is_exact_and_readable(value: str, text: str) -> None:
    assert money_text(Decimal(value)) == text


def test_utc_text_shows_milliseconds_only_when_present() -> None:
    assert utc_text(T0) == "2024-01-01 00:00:00 UTC"
    assert utc_text(T0 + 1_005) == "2024-01-01 00:00:01.005 UTC"


def test_qty_and_pct_text() -> None:
    assert qty_text(Decimal("0.00100")) == "0.001"
    assert qty_text(Decimal("5")) == "5"
    assert pct_text(Decimal("-0.025")) == "-0.02%"  # half-even, display only
    assert pct_text(Decimal("12.3456")) == "12.35%"


def test_terminal_summary_shows_key_figures_and_warnings() -> None:
    console = Console(
        record=True, width=120, force_terminal=True, color_system="standard", file=io.StringIO()
    )
    result = make_result(warnings=["safety check failed [bold]not markup[/bold]"])
    print_summary(result, console)
    text = console.export_text(clear=False)
    for expected in (
        "Backtest BTC/USDT",
        "final equity",
        "999.75 USDT",
        "1,000.00 USDT",
        "0.50 USDT",
        "-0.02%",
        "0.03%",
        "0.002",
        "2024-01-01 00:00:00 UTC -> 2024-01-01 00:06:00 UTC",
        "567 events/s",
        "warning: safety check failed [bold]not markup[/bold]",
    ):
        assert expected in text, expected
    styled = console.export_text(styles=True)
    assert "\x1b[33mwarning: safety check failed" in styled  # yellow


def test_summary_table_has_two_columns() -> None:
    table = summary_table(make_result())
    assert [c.header for c in table.columns] == ["metric", "value"]
    assert table.row_count == 19


def test_summary_counts_risk_events_by_state_entered() -> None:
    events = [
        RiskEventRecord(T0, "volatility_anomaly", "r", "NORMAL", "RISK_MODE"),
        RiskEventRecord(T0 + MIN, "calm_recovery", "r", "RISK_MODE", "NORMAL"),
        RiskEventRecord(T0 + 2 * MIN, "consecutive_losses", "r", "NORMAL", "HALTED"),
    ]
    rows = dict(summary_rows(make_result(risk_events=events)))
    assert rows["risk events"] == "3 (HALTED 1, RISK_MODE 1)"
    assert dict(summary_rows(make_result()))["risk events"] == "0"
