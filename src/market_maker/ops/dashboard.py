"""The web dashboard: one server-rendered page at ``/``, a small script, plotly.js; no build.

The page is rendered with the bot's latest published view (identity, risk state, figures,
the slot table), so it shows the bot even before its script runs; ``dashboard.js`` then
polls ``/api/view`` every 2 s (and the history, fills, commands and health) and redraws.
Charts use the plotly.js bundled with the installed ``plotly`` package, served from here:
nothing is fetched from the internet.

Control buttons POST ``/api/commands`` with the token the operator pastes into the page;
the script keeps it in a variable only (never in storage or the URL).
"""

import html
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import plotly  # type: ignore[import-untyped]
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

STATIC = Path(__file__).resolve().parent / "static"
"""The page's own script and style sheet."""
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
"""plotly.js as the ``plotly`` Python package ships it."""
FILES = {
    "dashboard.js": (STATIC / "dashboard.js", "text/javascript"),
    "dashboard.css": (STATIC / "dashboard.css", "text/css"),
    "plotly.min.js": (PLOTLY_JS, "text/javascript"),
}
"""What ``/static/NAME`` serves."""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def slot_rows(view: Mapping[str, Any]) -> str:
    """The slot table's rows (the script renders the same columns on each refresh)."""
    rows = []
    for slot in reversed(view.get("slots", [])):
        status = str(slot["status"])
        release = (
            f'<button class="release" data-level="{_e(slot["level"])}">release</button>'
            if status != "FREE"
            else ""
        )
        rows.append(
            f'<tr data-level="{_e(slot["level"])}" class="slot-{_e(status.lower())}">'
            f"<td>{_e(slot['level'])}</td><td>{_e(status)}</td>"
            f"<td>{_e(slot['position_qty'])}</td><td>{_e(slot['cost_basis'])}</td>"
            f"<td>{_e(slot['realized_pnl'])}</td><td>{_e(slot['fees_paid'])}</td>"
            f"<td>{_e(slot['client_order_id'])}</td><td>{release}</td></tr>"
        )
    return "\n".join(rows)


def render_page(view: Mapping[str, Any], bot_id: str, symbol: str) -> str:
    """The dashboard's HTML with ``view``'s figures and slots filled in."""
    halt = view.get("halt") or {}
    figures = [
        ("price", "last_price"),
        ("realized PnL", "realized_pnl"),
        ("unrealized PnL", "unrealized_pnl"),
        ("fees", "fees_paid"),
        ("equity", "equity"),
        ("inventory", "position"),
    ]
    cards = "".join(
        f'<div class="card"><div class="label">{label}</div>'
        f'<div class="value" id="fig-{key}">{_e(view.get(key, "-"))}</div></div>'
        for label, key in figures
    )
    risk = str(view.get("risk_state", "-"))
    return PAGE.format(
        bot=_e(bot_id),
        symbol=_e(symbol),
        cards=cards,
        risk=_e(risk),
        risk_class=_e(risk.lower()),
        halt=_e(f"{halt.get('kind')}: {halt.get('reason')}" if halt else ""),
        slots=slot_rows(view),
    )


def add_dashboard(
    app: FastAPI, latest: Callable[[], Mapping[str, Any]], bot_id: str, symbol: str
) -> None:
    """Serve the dashboard page at ``/`` (``latest``: the published view) and its files."""

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return render_page(latest(), bot_id, symbol)

    @app.get("/static/{name}")
    def static(name: str) -> FileResponse:
        if name not in FILES:
            raise HTTPException(404, f"no file {name!r}")
        path, media = FILES[name]
        return FileResponse(path, media_type=media, headers={"Cache-Control": "max-age=3600"})


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{bot} {symbol} · market-maker</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/dashboard.css">
<script src="/static/plotly.min.js"></script>
</head>
<body>
<header>
  <h1><span id="bot">{bot}</span> <span class="symbol">{symbol}</span></h1>
  <span id="running" class="badge">…</span>
  <span id="health" class="badge" title="">health …</span>
  <span id="risk" class="badge risk-{risk_class}">{risk}</span>
  <span id="halt" class="halt">{halt}</span>
  <span id="age" class="muted"></span>
</header>
<section class="cards">{cards}</section>
<section class="grid2">
  <div class="panel wide">
    <h2>Price, grid levels, resting orders and fills</h2>
    <div id="price-chart" class="chart"></div>
  </div>
  <div class="panel">
    <h2>PnL and equity</h2>
    <div id="pnl-chart" class="chart small"></div>
  </div>
  <div class="panel">
    <h2>Inventory</h2>
    <div id="inventory-chart" class="chart small"></div>
  </div>
</section>
<section class="grid2">
  <div class="panel">
    <h2>Controls</h2>
    <label for="token">Dashboard token</label>
    <input id="token" type="password" autocomplete="off"
      placeholder="paste MARKET_MAKER_DASHBOARD_TOKEN">
    <div class="buttons">
      <button data-kind="halt" class="danger">Halt</button>
      <button data-kind="risk_reset">Risk reset</button>
      <button data-kind="breaker_reset">Breaker reset</button>
      <button data-kind="cancel_openings">Cancel openings</button>
      <button data-kind="reconcile">Reconcile (dry run)</button>
      <button data-kind="stop" class="danger">Stop</button>
    </div>
    <div id="outcome" class="outcome" role="status"></div>
    <h3>Recent commands</h3>
    <table id="commands"><thead><tr><th>#</th><th>kind</th><th>by</th><th>status</th>
    <th>result</th></tr></thead><tbody></tbody></table>
  </div>
  <div class="panel">
    <h2>Risk and corrections</h2>
    <div id="risk-detail"></div>
    <h3>Recent corrections</h3>
    <table id="corrections"><thead>
      <tr><th>kind</th><th>reason</th><th>market time (UTC)</th></tr>
    </thead>
    <tbody></tbody></table>
  </div>
</section>
<section class="panel">
  <h2>Slots <span id="slot-count" class="muted"></span></h2>
  <table id="slots">
    <thead><tr><th>level</th><th>status</th><th>position</th><th>cost basis</th>
    <th>realized PnL</th><th>fees</th><th>order</th><th></th></tr></thead>
    <tbody>{slots}</tbody>
  </table>
</section>
<script src="/static/dashboard.js"></script>
</body>
</html>
"""

__all__ = ["FILES", "add_dashboard", "render_page", "slot_rows"]
