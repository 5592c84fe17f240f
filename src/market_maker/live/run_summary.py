"""The record of a live run, its end-of-run summary, and the books-vs-ledger verdict.

``RunTracker`` is the engine's observer (every fill and risk event, as a backtest records
them) and the runner's per-poll hook (equity, drawdown and inventory marked at each poll's
price). When a paper run ends, ``run_result`` turns it into a ``BacktestResult`` so that
``backtest.report_terminal.print_summary`` prints the very table a backtest prints, and
``print_audit`` prints the verdict of ``live.audit`` against the exchange's ledger.

The summary covers this process's run: figures move from the balances and the book at the
first price the runner decided on. Equity between polls is not seen (a poll that reads
several candles is marked at the last one), so the drawdown is the one of the polls.
"""

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from market_maker.backtest.report_terminal import money_text, qty_text
from market_maker.backtest.result import BacktestResult, Summary
from market_maker.backtest.runner import FillRecorder
from market_maker.domain.decimals import ZERO
from market_maker.domain.instrument import split_symbol
from market_maker.engine.base import Engine
from market_maker.exchanges.base import Balance, RetryableExchangeError
from market_maker.live.audit import Books, ExchangeLedger, Mismatch
from market_maker.risk.events import RiskEvent
from market_maker.slots.book import BookedFill

if TYPE_CHECKING:
    from market_maker.live.runner import LiveRunner

RECENT_FILLS = 5
"""Fills the tracker keeps for the progress view."""
_HUNDRED = Decimal(100)


class RunTracker(FillRecorder):
    """What a live run did, for the progress view and the end-of-run summary.

    Pass it to the engine as its observer and call ``on_poll`` after each poll (the
    progress view does). Not thread-safe: the runner's thread calls everything.

    Args:
        symbol: The market traded (``BASE/QUOTE[:SETTLE]``).
        perf_counter: Wall-clock seconds for the run's elapsed time (injected in tests).
    """

    def __init__(self, symbol: str, *, perf_counter: Callable[[], float] = time.perf_counter):
        super().__init__()
        self.symbol = symbol
        self.base, self.quote = split_symbol(symbol)
        self.perf_counter = perf_counter
        self.recent: deque[BookedFill] = deque(maxlen=RECENT_FILLS)
        self.risk_reason = ""  # why the risk state last left NORMAL ("" once back)
        self.started_s: float | None = None
        self.first_ms = self.last_ms = 0
        self.first_price = self.last_price = ZERO
        self.initial: dict[str, Decimal] = {}
        self.cash = self.held = ZERO  # quote and base of the account, moved by each fill
        self.book_start = (ZERO, ZERO)  # the book's realized PnL and fees at the start
        self.peak = self.trough = ZERO
        self.max_drawdown = ZERO  # a fraction of the peak
        self.max_inventory = ZERO

    @property
    def started(self) -> bool:
        """The run has decided on its first price (figures are measured from there)."""
        return self.started_s is not None

    def on_fill(self, fill: BookedFill) -> None:
        """Record the fill and move the account's cash and base by it."""
        super().on_fill(fill)
        self.recent.append(fill)
        if self.started:
            sign = fill.side.sign
            self.held += sign * fill.qty
            self.cash -= sign * fill.quote + fill.fee
            self.max_inventory = max(self.max_inventory, abs(self.held - self.initial[self.base]))

    def on_risk_event(self, event: RiskEvent) -> None:
        """Record the event; remember why the bot left NORMAL."""
        super().on_risk_event(event)
        self.risk_reason = "" if event.state_after.value == "NORMAL" else event.reason

    def begin(
        self, balances: Mapping[str, Balance], price: Decimal, ts_ms: int, engine: Engine
    ) -> None:
        """Start measuring at ``price``: the account's ``balances`` and the engine's book now."""
        self.started_s = self.perf_counter()
        total = {asset: b.total for asset, b in balances.items()}
        self.initial = {a: total.get(a, ZERO) for a in (self.quote, self.base)}
        self.cash, self.held = self.initial[self.quote], self.initial[self.base]
        book = engine.state.book
        self.book_start = (book.realized_pnl, book.fees_paid)
        self.first_price, self.first_ms = price, ts_ms
        self.peak = self.trough = self.equity(price)
        self.mark(price, ts_ms)

    def equity(self, price: Decimal) -> Decimal:
        """The account's equity at ``price``, quote currency."""
        return self.cash + self.held * price

    def mark(self, price: Decimal, ts_ms: int) -> Decimal:
        """Equity at ``price``; moves the drawdown and the run's last time."""
        self.last_price, self.last_ms = price, ts_ms
        equity = self.equity(price)
        if equity > self.peak:
            self.peak = self.trough = equity
        elif equity < self.trough:
            self.trough = equity
            if self.peak > 0 and (dd := (self.peak - equity) / self.peak) > self.max_drawdown:
                self.max_drawdown = dd
        return equity

    def on_poll(self, runner: "LiveRunner") -> None:
        """After a poll: begin at the first price, then mark each new price."""
        state = runner.engine.state
        price = state.last_price
        if price is None:
            return
        if not self.started:
            try:
                balances = runner.sources.venue.balances()
            except RetryableExchangeError:
                return  # the exchange is down (the runner backs off): begin at a later poll
            self.begin(balances, price, state.last_update_ms, runner.engine)
        elif (price, state.last_update_ms) != (self.last_price, self.last_ms):
            self.mark(price, state.last_update_ms)


def run_result(
    tracker: RunTracker,
    engine: Engine,
    events: int,
    *,
    config: dict[str, object],
    final_balances: Mapping[str, Balance] | None = None,
) -> BacktestResult:
    """The run as a ``BacktestResult``: what ``print_summary`` prints for a backtest.

    Args:
        tracker: The run's tracker (it must have started).
        engine: The run's engine (its book and its order counters).
        events: Candles fed to the engine (``RunnerCounts.candles``).
        config: The effective configuration, JSON-ready.
        final_balances: The exchange's balances at the end (default: the tracker's, moved
            by every booked fill). The audit says whether the two agree.

    Raises:
        ValueError: The run never decided on a price.
    """
    if not tracker.started or tracker.started_s is None:
        raise ValueError("the run decided on no price: nothing to summarise")
    base, quote = tracker.base, tracker.quote
    if final_balances is not None:
        final = {a: b.total for a, b in final_balances.items() if a in (base, quote)}
        final = {quote: final.get(quote, ZERO), base: final.get(base, ZERO)}
    else:
        final = {quote: tracker.cash, base: tracker.held}
    mark = tracker.last_price
    initial_equity = tracker.initial[quote] + tracker.initial[base] * tracker.first_price
    final_equity = final[quote] + final[base] * mark
    book = engine.state.book
    realized = book.realized_pnl - tracker.book_start[0]
    fees = book.fees_paid - tracker.book_start[1]
    elapsed = tracker.perf_counter() - tracker.started_s
    summary = Summary(
        symbol=tracker.symbol,
        start_ms=tracker.first_ms,
        end_ms=tracker.last_ms,
        initial_equity=initial_equity,
        final_equity=final_equity,
        realized_pnl=realized,
        # Whatever of the equity's change the realized PnL and fees do not explain: the
        # positions' (and any base held at the start) revaluation.
        unrealized_pnl=final_equity - initial_equity - realized + fees,
        fees_paid=fees,
        return_pct=(final_equity - initial_equity) / initial_equity * _HUNDRED
        if initial_equity
        else ZERO,
        max_drawdown_pct=tracker.max_drawdown * _HUNDRED,
        fills=len(tracker.fills),
        orders_placed=engine.orders_placed,
        orders_canceled=engine.orders_canceled,
        max_inventory=tracker.max_inventory,
        final_inventory=book.inventory,
        volume_quote=tracker.volume_quote,
        events=events,
        elapsed_s=elapsed,
        events_per_s=events / elapsed if elapsed > 0 else 0.0,
    )
    return BacktestResult(
        summary=summary,
        fills=tracker.fills,
        equity_curve=[],
        initial_balances=dict(tracker.initial),
        final_balances=final,
        config=config,
        risk_events=tracker.risk_events,
        extra={"data": {"kind": "candles"}, "decisions": engine.decisions},
    )


def audit_lines(mismatches: Sequence[Mismatch], books: Books, ledger: ExchangeLedger) -> list[str]:
    """The audit's verdict as lines: one pass line, or a heading and one line per mismatch."""
    if not mismatches:
        return [
            f"books agree with the exchange's ledger: {len(ledger.fills):,} fills booked once "
            f"each, position {qty_text(books.position + books.position_offset)}, realized PnL "
            f"{money_text(books.realized_pnl)}, fees {money_text(books.fees_paid)}, "
            f"{len(ledger.open_orders):,} open orders"
        ]
    count = len(mismatches)
    heading = f"books DIFFER from the exchange's ledger ({count} mismatch{'es' * (count > 1)}):"
    return [heading, *(f"  {m}" for m in mismatches)]


def print_audit(
    mismatches: Sequence[Mismatch], books: Books, ledger: ExchangeLedger, console: Console
) -> bool:
    """Print the audit's verdict (green pass line, or each mismatch in red); True if it passed."""
    style = "red" if mismatches else "green"
    for line in audit_lines(mismatches, books, ledger):
        console.print(Text(line, style=style))  # Text, not markup: ids hold brackets
    return not mismatches


__all__ = ["RECENT_FILLS", "RunTracker", "audit_lines", "print_audit", "run_result"]
