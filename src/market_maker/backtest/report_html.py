"""The HTML backtest report: one self-contained file that opens offline.

The page holds a header (symbol, period, key figures), three charts on a shared time axis
(price with the grid band and the fills; equity; inventory) and a table of the last fills.
plotly.js is embedded inline, so no network access is needed to view it.

This is the one place where ``Decimal`` values become ``float``: plotting needs numbers and
a chart cannot show more precision than a float holds anyway. Every figure written as text
(header, tables, hover labels) is the exact decimal string.

Long runs are thinned for the browser's sake: the price/equity/inventory series and the fill
markers are each reduced to at most ``MAX_POINTS`` evenly spaced samples (first and last
kept), risk-event markers to ``MAX_RISK_EVENTS``.
"""

import html
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
import plotly.io as pio  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from market_maker.backtest.report_terminal import qty_text, summary_rows, utc_text
from market_maker.backtest.result import BacktestResult, FillRecord
from market_maker.domain.decimals import decimal_to_str

MAX_POINTS = 5_000
"""Most samples drawn per series (price, equity, inventory) and most fill markers."""
MAX_RISK_EVENTS = 200
"""Most risk events drawn as vertical markers on the price chart."""
FILL_TABLE_ROWS = 200
"""How many of the last fills the table lists."""
BUY_COLOR = "#2ca02c"
SELL_COLOR = "#d62728"
_EPOCH = datetime(1970, 1, 1)  # naive UTC: plotly.js draws dates as given, without a zone

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.6rem; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
.warn { color: #8a6d00; background: #fff8e1; padding: 0.4rem 0.8rem; }
.note { color: #666; font-size: 0.8rem; }
"""


def even_indices(count: int, limit: int) -> list[int]:
    """Up to ``limit`` evenly spaced indices into ``count`` items, first and last included."""
    if count <= limit:
        return list(range(count))
    if limit == 1:
        return [count - 1]
    return [i * (count - 1) // (limit - 1) for i in range(limit)]


def _time(ts_ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ts_ms)


def _f(value: Decimal) -> float:
    return float(value)  # plotting only, see the module docstring


def _price_traces(result: BacktestResult) -> list[Any]:
    points = [result.equity_curve[i] for i in even_indices(len(result.equity_curve), MAX_POINTS)]
    traces = [
        go.Scatter(
            x=[_time(p.ts_ms) for p in points],
            y=[_f(p.price) for p in points],
            name="price",
            mode="lines",
            line={"color": "#1f77b4", "width": 1},
        )
    ]
    grid = [
        (_time(p.ts_ms), p.center, p.interval)
        for p in points
        if p.center is not None and p.interval is not None
    ]
    if grid:
        x = [t for t, _, _ in grid]
        band = {"width": 0, "shape": "hv"}
        traces += [
            go.Scatter(
                x=x,
                y=[_f(c - i) for _, c, i in grid],
                name="grid low",
                mode="lines",
                line=band,
                hoverinfo="skip",
                showlegend=False,
            ),
            go.Scatter(
                x=x,
                y=[_f(c + i) for _, c, i in grid],
                name="grid band (center ± interval)",
                mode="lines",
                line=band,
                fill="tonexty",
                fillcolor="rgba(255, 165, 0, 0.18)",
                hoverinfo="skip",
            ),
            go.Scatter(
                x=x,
                y=[_f(c) for _, c, _ in grid],
                name="grid center",
                mode="lines",
                line={"color": "#ff7f0e", "width": 1, "dash": "dot", "shape": "hv"},
            ),
        ]
    fills = [result.fills[i] for i in even_indices(len(result.fills), MAX_POINTS)]
    for side, symbol, color in (
        ("BUY", "triangle-up", BUY_COLOR),
        ("SELL", "triangle-down", SELL_COLOR),
    ):
        chosen = [f for f in fills if f.side == side]
        if chosen:
            traces.append(_fill_trace(chosen, side.lower(), symbol, color))
    return traces


def _fill_trace(fills: Sequence[FillRecord], name: str, symbol: str, color: str) -> Any:
    return go.Scatter(
        x=[_time(f.ts_ms) for f in fills],
        y=[_f(f.price) for f in fills],
        name=name,
        mode="markers",
        marker={"symbol": symbol, "color": color, "size": 9},
        customdata=[
            [decimal_to_str(f.price), qty_text(f.qty), decimal_to_str(f.fee), f.client_order_id]
            for f in fills
        ],
        hovertemplate=(
            f"{name} %{{customdata[1]}} @ %{{customdata[0]}}<br>fee %{{customdata[2]}}"
            "<br>%{customdata[3]}<extra></extra>"
        ),
    )


def _risk_markers(result: BacktestResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A dashed vertical line and a label per risk event (evenly thinned past the limit).

    Entries into RISK_MODE / HALTED are purple, returns to NORMAL green.
    """
    events = result.risk_events
    shapes: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for i in even_indices(len(events), MAX_RISK_EVENTS):
        event = events[i]
        when = _time(event.ts_ms)
        color = "#2ca02c" if event.state_after == "NORMAL" else "#9467bd"
        shapes.append(
            {
                "type": "line",
                "x0": when,
                "x1": when,
                "y0": 0,
                "y1": 1,
                "xref": "x",
                "yref": "y domain",
                "line": {"color": color, "width": 1, "dash": "dash"},
            }
        )
        labels.append(
            {
                "x": when,
                "y": 1,
                "xref": "x",
                "yref": "y domain",
                "text": html.escape(event.kind),
                "hovertext": html.escape(
                    f"{event.state_before} -> {event.state_after}: {event.reason}"
                ),
                "showarrow": False,
                "yanchor": "bottom",
                "font": {"size": 10, "color": color},
            }
        )
    return shapes, labels


def build_figure(result: BacktestResult) -> go.Figure:
    """The three charts on a shared UTC time axis, with risk events marked on the price chart.

    Traces, in order: ``price``; when the grid is known ``grid low``, ``grid band (center ±
    interval)``, ``grid center``; ``buy`` / ``sell`` markers when there are such fills;
    ``equity``; ``inventory``. Each risk event is a dashed vertical line plus a label.
    """
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05,
        row_heights=[0.55, 0.25, 0.20],
        subplot_titles=("Price, grid and fills", "Equity", "Inventory"),
    )
    for trace in _price_traces(result):
        fig.add_trace(trace, row=1, col=1)
    points = [result.equity_curve[i] for i in even_indices(len(result.equity_curve), MAX_POINTS)]
    x = [_time(p.ts_ms) for p in points]
    fig.add_trace(
        go.Scatter(x=x, y=[_f(p.equity) for p in points], name="equity", mode="lines"),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[_f(p.inventory) for p in points],
            name="inventory",
            mode="lines",
            line={"shape": "hv"},
        ),
        row=3,
        col=1,
    )
    shapes, labels = _risk_markers(result)
    # Set in one go: plotly's add_shape/add_annotation copy the layout each time (quadratic).
    fig.update_layout(shapes=shapes, annotations=[*fig.layout.annotations, *labels])
    symbol = result.summary.symbol
    _, _, quote = symbol.partition("/")
    fig.update_layout(
        height=1100,
        template="plotly_white",
        hovermode="closest",
        legend={"orientation": "h", "y": 1.07, "x": 0, "traceorder": "normal"},
        margin={"l": 70, "r": 30, "t": 90, "b": 40},
    )
    fig.update_yaxes(title_text=f"price ({quote.split(':')[0]})", row=1, col=1)
    fig.update_yaxes(title_text="equity", row=2, col=1)
    fig.update_yaxes(title_text="inventory", row=3, col=1)
    fig.update_xaxes(title_text="time (UTC)", row=3, col=1)
    return fig


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 0) -> str:
    """An HTML table; the first ``left`` columns are left-aligned; cells are escaped."""

    def cell(tag: str, i: int, text: str) -> str:
        cls = ' class="l"' if i < left else ""
        return f"<{tag}{cls}>{html.escape(text)}</{tag}>"

    header = "".join(cell("th", i, h) for i, h in enumerate(head))
    body = "\n".join(
        "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _fills_section(result: BacktestResult) -> str:
    fills = result.fills[-FILL_TABLE_ROWS:]
    if not fills:
        return "<h2>Fills</h2>\n<p>No fills.</p>"
    head = ["time (UTC)", "side", "price", "qty", "fee", "liquidity", "slot", "realized PnL"]
    head.append("client order id")
    rows = [
        [
            utc_text(f.ts_ms).removesuffix(" UTC"),
            f.side,
            decimal_to_str(f.price),
            decimal_to_str(f.qty),
            decimal_to_str(f.fee),
            f.liquidity,
            decimal_to_str(f.slot),
            decimal_to_str(f.realized_pnl),
            f.client_order_id,
        ]
        for f in fills
    ]
    title = f"Last {len(fills)} of {len(result.fills)} fills"
    return f"<h2>{html.escape(title)}</h2>\n{_table(head, rows, left=2)}"


def render_html(result: BacktestResult) -> str:
    """The whole report page as text (deterministic: the same result gives the same page)."""
    fig = build_figure(result)
    charts = pio.to_html(
        fig,
        include_plotlyjs=True,
        full_html=False,
        div_id="charts",
        config={"displaylogo": False, "responsive": True},
    )
    symbol = html.escape(result.summary.symbol)
    warnings = "".join(f'<p class="warn">{html.escape(w)}</p>\n' for w in result.warnings)
    risk = result.risk_events
    notes = [
        f"{len(result.equity_curve)} equity points, {len(result.fills)} fills"
        f" (charts draw at most {MAX_POINTS:,} of each).",
        "Charts plot floats; the tables show exact values.",
    ]
    if len(risk) > MAX_RISK_EVENTS:
        notes.append(f"{len(risk)} risk events; {MAX_RISK_EVENTS} are marked on the chart.")
    note = " ".join(html.escape(n) for n in notes)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Backtest {symbol}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>Backtest {symbol}</h1>\n"
        f"{_table(['metric', 'value'], summary_rows(result), left=1)}\n"
        f'{warnings}<p class="note">{note}</p>\n'
        f"{charts}\n{_fills_section(result)}\n</body>\n</html>\n"
    )


def write_html(result: BacktestResult, path: Path) -> None:
    """Write the self-contained HTML report of ``result`` to ``path`` (UTF-8)."""
    path.write_text(render_html(result), encoding="utf-8")
