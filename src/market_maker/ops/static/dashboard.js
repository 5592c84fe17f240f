// The bot's dashboard: polls the endpoint's JSON API every 2 s and redraws; no build step.
// The control token lives in `token` only (never in storage, cookies or the URL).
"use strict";
(() => {
  const POLL_MS = 2000;
  const COLORS = { BUY: "#1a9850", SELL: "#d73027", FREE: "#bbbbbb", PENDING: "#f39c12", LOCKED: "#2c7fb8" };
  const $ = (id) => document.getElementById(id);
  let token = "";

  $("token").addEventListener("input", (e) => { token = e.target.value.trim(); });

  async function getJSON(path) {
    const answer = await fetch(path, { cache: "no-store" });
    return [answer.status, await answer.json()];
  }

  function cell(row, value, cls) {
    const td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "" : String(value);
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function setText(id, value) {
    const el = $(id);
    if (el) el.textContent = value === null || value === undefined ? "–" : String(value);
  }

  function renderView(view) {
    if (!view || !view.symbol) {
      setText("running", "starting");
      return;
    }
    for (const key of ["last_price", "realized_pnl", "unrealized_pnl", "fees_paid", "equity", "position"]) {
      setText(`fig-${key}`, view[key]);
    }
    const running = $("running");
    running.textContent = view.running ? "running" : "stopped";
    running.className = `badge ${view.running ? "ok" : "bad"}`;
    const risk = $("risk");
    risk.textContent = view.risk_state;
    risk.className = `badge risk-${String(view.risk_state).toLowerCase()}`;
    setText("halt", view.halt ? `${view.halt.kind}: ${view.halt.reason}` : "");
    setText("age", view.price_age_s === null ? "no price yet" : `price ${view.price_age_s.toFixed(1)} s old`);
    renderSlots(view.slots || []);
    renderRisk(view);
  }

  function renderSlots(slots) {
    const body = $("slots").tBodies[0];
    const rows = [];
    for (const slot of [...slots].reverse()) {
      const row = document.createElement("tr");
      row.dataset.level = slot.level;
      row.className = `slot-${slot.status.toLowerCase()}`;
      cell(row, slot.level);
      cell(row, slot.status, "status");
      cell(row, slot.position_qty);
      cell(row, slot.cost_basis);
      cell(row, slot.realized_pnl);
      cell(row, slot.fees_paid);
      cell(row, slot.client_order_id, "mono");
      const action = cell(row, "");
      if (slot.status !== "FREE") {
        const button = document.createElement("button");
        button.className = "release";
        button.dataset.level = slot.level;
        button.textContent = "release";
        action.appendChild(button);
      }
      rows.push(row);
    }
    body.replaceChildren(...rows);
    const busy = slots.filter((s) => s.status !== "FREE").length;
    setText("slot-count", `${slots.length} slots, ${busy} with an order`);
  }

  function renderRisk(view) {
    const detail = $("risk-detail");
    const counts = Object.entries(view.corrections || {}).map(([k, n]) => `${k} ${n}`).join(", ");
    const lines = [
      `Risk state: ${view.risk_state}`,
      view.halt ? `Halted since ${new Date(view.halt.since_ms).toISOString()}: ${view.halt.kind}: ${view.halt.reason}` : "Circuit breaker closed",
      `Corrections this run: ${counts || "none"}`,
      view.last_error ? `Last error: ${view.last_error.message}` : "No exchange error",
    ];
    detail.replaceChildren(...lines.map((line) => {
      const p = document.createElement("p");
      p.textContent = line;
      return p;
    }));
    const rows = (view.recent_corrections || []).slice().reverse().map((c) => {
      const row = document.createElement("tr");
      cell(row, c.kind);
      cell(row, c.reason || "");
      cell(row, c.ts_ms ? new Date(c.ts_ms).toISOString().replace("T", " ").slice(0, 19) : "");
      return row;
    });
    $("corrections").tBodies[0].replaceChildren(...rows);
  }

  function drawPrice(view, history, fills) {
    const points = history.filter((p) => p.price !== null && p.market_ms !== null);
    const x = points.map((p) => new Date(p.market_ms));
    const traces = [{ x, y: points.map((p) => Number(p.price)), name: "price", mode: "lines", line: { color: "#444" } }];
    for (const side of ["BUY", "SELL"]) {
      const orders = (view.open_orders || []).filter((o) => o.side === side);
      const at = points.length ? new Date(points[points.length - 1].market_ms) : new Date(view.last_update_ms);
      traces.push({
        x: orders.map(() => at), y: orders.map((o) => Number(o.price)), mode: "markers",
        name: `resting ${side.toLowerCase()}`, text: orders.map((o) => `${o.role} ${o.qty} (${o.status})`),
        marker: { symbol: side === "BUY" ? "triangle-up" : "triangle-down", size: 11, color: COLORS[side] },
      });
      const done = fills.filter((f) => f.side === side);
      traces.push({
        x: done.map((f) => new Date(f.ts_ms)), y: done.map((f) => Number(f.quote) / Number(f.qty)),
        mode: "markers", name: `fill ${side.toLowerCase()}`, text: done.map((f) => `${f.qty} fee ${f.fee}`),
        marker: { symbol: "circle", size: 8, color: COLORS[side], line: { color: "#000", width: 1 } },
      });
    }
    const shapes = (view.slots || []).map((s) => ({
      type: "line", xref: "paper", x0: 0, x1: 1, y0: Number(s.level), y1: Number(s.level),
      line: { color: COLORS[s.status] || "#ccc", width: 1, dash: s.status === "FREE" ? "dot" : "solid" },
    }));
    Plotly.react("price-chart", traces, {
      margin: { t: 30, r: 10, b: 50, l: 70 }, shapes,
      legend: { orientation: "h", x: 0, y: 1.02, xanchor: "left", yanchor: "bottom" },
      xaxis: { title: { text: "market time (UTC)" } }, yaxis: { title: { text: "price" } },
    }, { displayModeBar: false, responsive: true });
  }

  function drawSeries(target, history, series, layout) {
    const x = history.map((p) => new Date(p.wall_ms));
    const traces = series.map(([key, name, axis]) => ({
      x, y: history.map((p) => (p[key] === null ? null : Number(p[key]))), name, mode: "lines", yaxis: axis || "y",
    }));
    Plotly.react(target, traces, {
      margin: { t: 30, r: 70, b: 40, l: 70 },
      legend: { orientation: "h", x: 0, y: 1.02, xanchor: "left", yanchor: "bottom" }, ...layout,
    }, { displayModeBar: false, responsive: true });
  }

  function renderCommands(commands) {
    const rows = commands.map((c) => {
      const row = document.createElement("tr");
      cell(row, c.id);
      cell(row, c.kind);
      cell(row, c.actor);
      cell(row, c.status, `cmd-${c.status}`);
      cell(row, (c.result && c.result.message) || "");
      return row;
    });
    $("commands").tBodies[0].replaceChildren(...rows);
  }

  async function refresh() {
    try {
      const [, view] = await getJSON("/api/view");
      renderView(view);
      const [, history] = await getJSON("/api/history");
      const [, fills] = await getJSON("/api/fills?limit=300");
      if (view && view.symbol) drawPrice(view, history, fills);
      drawSeries("pnl-chart", history, [
        ["realized_pnl", "realized"], ["unrealized_pnl", "unrealized"], ["equity", "equity", "y2"],
      ], { yaxis2: { overlaying: "y", side: "right", showgrid: false } });
      drawSeries("inventory-chart", history, [["inventory", "inventory"]], {});
      const [, commands] = await getJSON("/api/commands?limit=10");
      renderCommands(commands);
      const [code, health] = await getJSON("/health");
      const badge = $("health");
      badge.textContent = `health: ${health.status}`;
      badge.title = health.reasons.join("\n");
      badge.className = `badge health-${health.status}`;
      document.body.dataset.refreshed = String(Date.now());
      document.body.dataset.httpHealth = String(code);
    } catch (error) {
      const running = $("running");
      running.textContent = "endpoint unreachable";
      running.className = "badge bad";
    } finally {
      setTimeout(refresh, POLL_MS);
    }
  }

  async function send(kind, args) {
    const outcome = $("outcome");
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    outcome.className = "outcome";
    outcome.textContent = `sending ${kind}…`;
    try {
      const answer = await fetch("/api/commands", { method: "POST", headers, body: JSON.stringify({ kind, args }) });
      const body = await answer.json();
      if (answer.status === 202) {
        outcome.className = "outcome ok";
        outcome.textContent = `queued #${body.id} ${kind}: the bot carries it out between decisions`;
      } else {
        outcome.className = "outcome refused";
        outcome.textContent = `refused (${answer.status}): ${body.error}`;
      }
    } catch (error) {
      outcome.className = "outcome refused";
      outcome.textContent = `not sent: ${error}`;
    }
    const [, commands] = await getJSON("/api/commands?limit=10");
    renderCommands(commands);
  }

  for (const button of document.querySelectorAll("button[data-kind]")) {
    button.addEventListener("click", () => {
      const kind = button.dataset.kind;
      if (kind === "stop" && !window.confirm("Stop the bot? It saves its state and exits; its orders stay on the exchange.")) return;
      if (kind === "halt") {
        const reason = window.prompt("Halt the bot: every opening order is cancelled and nothing new opens until a risk reset. Why?", "halted from the dashboard");
        if (reason === null) return;
        send(kind, { reason });
        return;
      }
      send(kind, kind === "reconcile" ? { dry_run: true } : {});
    });
  }
  $("slots").addEventListener("click", (event) => {
    const button = event.target.closest("button.release");
    if (button) send("slot_release", { level: button.dataset.level });
  });

  refresh();
})();
