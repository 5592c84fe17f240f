"""Live progress of a run in the terminal: price, grid, open orders, fills, PnL, risk state.

Three parts:

* ``progress_snapshot``: everything shown, read from the engine (``state``, the read model
  ``status()``, its counters), the runner's counts and the run's tracker, as plain data;
* ``render_progress`` (a ``rich`` renderable) and ``progress_line`` (one short line):
  pure functions of a snapshot;
* ``ProgressView``: the runner's ``on_poll`` hook. On a terminal it redraws a ``rich.Live``
  display in place, at most every ``min_interval_s`` and only when something changed (a
  poll that changed nothing costs one tuple comparison); elsewhere (CI, a pipe) it prints
  one ``progress_line`` every ``line_every_s``. All drawing happens on the runner's thread,
  between polls, so it never reads the engine while an event is being booked.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from market_maker.backtest.report_terminal import money_text, qty_text, utc_text
from market_maker.engine.base import Engine
from market_maker.live.run_summary import RunTracker

if TYPE_CHECKING:
    from market_maker.live.runner import LiveRunner, RunnerCounts

GRID_LEVELS = 4
"""Grid levels shown on each side of the price."""
MIN_INTERVAL_S = 0.25
"""Least time between two redraws of the terminal display."""
LINE_EVERY_S = 10.0
"""Time between two plain progress lines when the output is not a terminal."""


@dataclass(frozen=True, slots=True)
class GridRow:
    """One grid level near the price.

    Attributes:
        level: The slot's level.
        status: The slot's status (``FREE``, ``PENDING``, ``LOCKED``).
        position: The slot's position, base currency.
        order: Its order as ``SIDE qty @ price STATUS`` ("" when none).
    """

    level: Decimal
    status: str
    position: Decimal
    order: str


@dataclass(frozen=True, slots=True)
class FillLine:
    """One recent fill: time, side, quantity, price, fee and the PnL it realised."""

    ts_ms: int
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """What the progress view shows, as plain data (see ``progress_snapshot``)."""

    symbol: str
    last_price: Decimal | None
    last_ms: int
    candles: int
    candles_total: int | None
    prices: int
    order_updates: int
    risk_state: str
    risk_reason: str
    position: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal | None
    fees_paid: Decimal
    equity: Decimal | None
    center_price: Decimal | None
    grid_above: tuple[GridRow, ...]
    grid_below: tuple[GridRow, ...]
    open_buys: int
    open_sells: int
    fills: int
    last_fills: tuple[FillLine, ...]
    orders_placed: int
    orders_canceled: int


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _grid(status: Mapping[str, Any], price: Decimal | None, levels: int) -> tuple[
    tuple[GridRow, ...], tuple[GridRow, ...]
]:  # fmt: skip
    """The slots nearest the price: up to ``levels`` above it and ``levels`` at or below."""
    orders = {o["level"]: o for o in status["open_orders"]}
    rows = []
    for slot in status["slots"]:
        order = orders.get(slot["level"])
        text = ""
        if order is not None:
            text = f"{order['side']} {qty_text(Decimal(order['qty']))} @ {order['price']} "
            text += order["status"]
        rows.append(
            GridRow(Decimal(slot["level"]), slot["status"], Decimal(slot["position_qty"]), text)
        )
    rows.sort(key=lambda r: r.level, reverse=True)
    if price is None:
        return tuple(rows[:levels]), tuple(rows[levels : 2 * levels])
    above = [r for r in rows if r.level > price]
    below = [r for r in rows if r.level <= price]
    return tuple(above[-levels:]), tuple(below[:levels])


def progress_snapshot(
    engine: Engine,
    counts: "RunnerCounts",
    tracker: RunTracker | None = None,
    *,
    candles_total: int | None = None,
    levels: int = GRID_LEVELS,
) -> ProgressSnapshot:
    """Read what the view shows from the engine, the runner's counts and the run's tracker."""
    state = engine.state
    status = engine.status()
    price = state.last_price
    book = state.book
    open_orders = status["open_orders"]
    reason = tracker.risk_reason if tracker is not None else ""
    layer = state.risk_layer
    if not reason and state.risk_state.value == "HALTED" and layer is not None:
        reason = layer.breaker.trip_reason  # from the checkpoint (e.g. after a restart)
    above, below = _grid(status, price, levels)
    recent = tracker.recent if tracker is not None else ()
    return ProgressSnapshot(
        symbol=state.symbol,
        last_price=price,
        last_ms=state.last_update_ms,
        candles=counts.candles,
        candles_total=candles_total,
        prices=counts.prices,
        order_updates=counts.order_updates,
        risk_state=state.risk_state.value,
        risk_reason=reason,
        position=book.inventory,
        realized_pnl=book.realized_pnl,
        unrealized_pnl=None if price is None else book.unrealized_pnl(price),
        fees_paid=book.fees_paid,
        equity=tracker.equity(price) if tracker and tracker.started and price else None,
        center_price=_dec(status["center_price"]),
        grid_above=above,
        grid_below=below,
        open_buys=sum(o["side"] == "BUY" for o in open_orders),
        open_sells=sum(o["side"] == "SELL" for o in open_orders),
        fills=len(tracker.fills) if tracker is not None else 0,
        last_fills=tuple(
            FillLine(f.ts_ms, f.side.value, f.qty, f.price, f.fee, f.realized_pnl)
            for f in reversed(recent)
        ),
        orders_placed=engine.orders_placed,
        orders_canceled=engine.orders_canceled,
    )


def _count(snap: ProgressSnapshot) -> str:
    total = f" / {snap.candles_total:,}" if snap.candles_total is not None else ""
    return f"{snap.candles:,}{total} candles"


def _risk(snap: ProgressSnapshot) -> str:
    return snap.risk_state + (f" ({snap.risk_reason})" if snap.risk_reason else "")


def _money(value: Decimal | None) -> str:
    return "-" if value is None else money_text(value)


def progress_line(snap: ProgressSnapshot) -> str:
    """One short line for logs and pipes: time, price, progress, PnL, orders, risk."""
    when = utc_text(snap.last_ms) if snap.last_ms else "-"
    price = "-" if snap.last_price is None else money_text(snap.last_price)
    return (
        f"{when} {snap.symbol} {price} | {_count(snap)} | pos {qty_text(snap.position)} | "
        f"realized {money_text(snap.realized_pnl)} unrealized {_money(snap.unrealized_pnl)} "
        f"fees {money_text(snap.fees_paid)} equity {_money(snap.equity)} | "
        f"fills {snap.fills:,} | open {snap.open_buys} buy / {snap.open_sells} sell | "
        f"{_risk(snap)}"
    )


def render_progress(snap: ProgressSnapshot) -> RenderableType:
    """The terminal display: headline, figures, the grid around the price, recent fills."""
    price = "-" if snap.last_price is None else money_text(snap.last_price)
    when = utc_text(snap.last_ms) if snap.last_ms else "waiting for the first price"
    head = Text.assemble(
        (f"{snap.symbol} ", "bold"),
        (price, "bold cyan"),
        f"  {when}  {_count(snap)}, {snap.prices:,} prices, {snap.order_updates:,} reports",
    )
    figures = Table.grid(padding=(0, 2))
    for _ in range(4):
        figures.add_column(justify="right")
    risk_style = "green" if snap.risk_state == "NORMAL" else "bold red"
    figures.add_row(
        "position", qty_text(snap.position), "realized PnL", money_text(snap.realized_pnl)
    )
    figures.add_row("equity", _money(snap.equity), "unrealized PnL", _money(snap.unrealized_pnl))
    figures.add_row(
        "fills", f"{snap.fills:,}", "fees", money_text(snap.fees_paid)
    )  # fmt: skip
    figures.add_row(
        "open orders",
        f"{snap.open_buys} buy / {snap.open_sells} sell",
        "orders placed / canceled",
        f"{snap.orders_placed:,} / {snap.orders_canceled:,}",
    )
    figures.add_row("risk", Text(_risk(snap), style=risk_style), "", "")
    grid = Table(title="grid", title_justify="left", box=None, padding=(0, 1))
    for name in ("level", "slot", "position", "order"):
        grid.add_column(name, justify="right" if name != "order" else "left")
    for row in snap.grid_above:
        grid.add_row(str(row.level), row.status, qty_text(row.position), row.order)
    center = "" if snap.center_price is None else f" (center {snap.center_price})"
    grid.add_row(Text(f"-- {price}{center} --", style="cyan"), "", "", "")
    for row in snap.grid_below:
        grid.add_row(str(row.level), row.status, qty_text(row.position), row.order)
    parts: list[RenderableType] = [head, figures, grid]
    if snap.last_fills:
        fills = Table(title="last fills", title_justify="left", box=None, padding=(0, 1))
        for name in ("time", "side", "qty", "price", "fee", "realized"):
            fills.add_column(name, justify="left" if name in ("time", "side") else "right")
        for f in snap.last_fills:
            fills.add_row(
                utc_text(f.ts_ms),
                f.side,
                qty_text(f.qty),
                money_text(f.price),
                money_text(f.fee),
                money_text(f.realized_pnl),
            )
        parts.append(fills)
    return Group(*parts)


class ProgressView:
    """The runner's ``on_poll`` hook: the run's tracker, then the progress display.

    Use it as a context manager around ``LiveRunner.run`` (the terminal display starts and
    stops with it).

    Args:
        tracker: The run's tracker (also the engine's observer); it is marked every poll.
        console: Where to draw.
        candles_total: Candles the run will see, when known ("1,234 / 4,320 candles").
        live: Redraw in place (default: when ``console`` is a terminal); otherwise print
            one ``progress_line`` every ``line_every_s``.
        min_interval_s: Least time between two redraws in place.
        line_every_s: Time between two plain lines.
        monotonic: Seconds from a monotonic clock (injected in tests).
    """

    def __init__(
        self,
        tracker: RunTracker,
        console: Console,
        *,
        candles_total: int | None = None,
        live: bool | None = None,
        min_interval_s: float = MIN_INTERVAL_S,
        line_every_s: float = LINE_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tracker = tracker
        self.console = console
        self.candles_total = candles_total
        self.in_place = console.is_terminal if live is None else live
        self.interval_s = min_interval_s if self.in_place else line_every_s
        self.monotonic = monotonic
        self.drawn = 0  # redraws or lines printed
        self._live: Live | None = None
        self._shown: tuple[object, ...] | None = None  # what the last drawing showed
        self._due = float("-inf")  # monotonic time of the next drawing allowed

    def __enter__(self) -> "ProgressView":
        if self.in_place:
            self._live = Live(
                Text("starting..."), console=self.console, auto_refresh=False, transient=False
            )
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __call__(self, runner: "LiveRunner") -> None:
        """After a poll: mark the tracker; draw if something changed and a drawing is due."""
        self.tracker.on_poll(runner)
        state, counts = runner.engine.state, runner.counts
        if state.last_price is None and not self.in_place:
            return  # nothing worth a line before the first price
        key = (
            state.version,
            state.last_update_ms,
            state.last_price,
            state.risk_state,
            counts.candles,
            counts.order_updates,
            len(self.tracker.fills),
        )
        if key == self._shown:
            return
        now = self.monotonic()
        if now < self._due:
            return  # drawn recently; this change shows at the first poll after ``_due``
        self._shown, self._due = key, now + self.interval_s
        self.draw(runner)

    def draw(self, runner: "LiveRunner") -> None:
        """Draw now (a redraw in place, or one plain line)."""
        snap = progress_snapshot(
            runner.engine, runner.counts, self.tracker, candles_total=self.candles_total
        )
        self.drawn += 1
        if self._live is not None:
            self._live.update(render_progress(snap), refresh=True)
        else:
            self.console.print(progress_line(snap), markup=False, highlight=False, soft_wrap=True)


__all__ = [
    "GRID_LEVELS",
    "LINE_EVERY_S",
    "MIN_INTERVAL_S",
    "FillLine",
    "GridRow",
    "ProgressSnapshot",
    "ProgressView",
    "progress_line",
    "progress_snapshot",
    "render_progress",
]
