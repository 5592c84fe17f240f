"""The progress view, the end-of-run summary and the books-vs-ledger audit of a live run,
on a real ``LiveRunner`` with a real engine and a real simulated exchange (in-memory
sources, manual clock: no sleeping, no threads)."""

import io
import re
from decimal import Decimal

import pytest
from rich.console import Console

from market_maker.backtest.report_terminal import print_summary, summary_rows
from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.instrument import Instrument, MarketRules
from market_maker.engine.execution import CheckpointPolicy
from market_maker.engine.grid import GridEngine, simple_engine
from market_maker.live.audit import (
    BookedFillRow,
    ExchangeLedger,
    audit,
    books_from_status,
    exchange_fill,
)
from market_maker.live.polled import PolledOrderUpdates
from market_maker.live.progress import (
    ProgressView,
    progress_line,
    progress_snapshot,
    render_progress,
)
from market_maker.live.run_summary import RunTracker, print_audit, run_result
from market_maker.live.runner import LiveRunner, LiveSources
from market_maker.live.venue_rules import with_venue_rules
from market_maker.stores.memory import MemoryStore
from tests.support.live import T0, FakeVenue, ManualClock, Script, VenueMarketData

pytestmark = pytest.mark.timeout(60)

D = Decimal
SYMBOL = "BTC/USDT"
CONFIG = {
    "bot_id": "live",
    "symbol": SYMBOL,
    "instrument": {"tick_size": "0.1", "step_size": "0.001", "min_qty": "0.001"},
    "grid": {
        "mode": "long",
        "base_interval": "50",
        "order_qty": "0.002",
        "max_inventory": "0.02",
        "buy_window": 3,
        "sell_window": 3,
    },
    "backtest": {"initial_quote": "10000", "maker_fee": "0.0002", "spot": True},
    "venue": {"poll_interval_s": 1},
}
RULES = MarketRules(
    Instrument(SYMBOL, D("0.1"), D("0.001"), D("0.001"), D("5")), D("0.0002"), D("0.0005"), True
)


class Ticks:
    """A monotonic clock that moves ``step`` seconds at each reading."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def paper_run(
    view_console: Console | None = None, *, ticks: float = 1.0, line_every_s: float = 2.0
) -> tuple[LiveRunner, GridEngine, FakeVenue, RunTracker, ProgressView | None]:
    """Three minutes of a falling then rising market, traded by a real engine."""
    config = with_venue_rules(AppConfig.model_validate(CONFIG), RULES, venue="memory")
    venue = FakeVenue(simulated_exchange(config), RULES)
    tracker = RunTracker(SYMBOL, perf_counter=Ticks(0.5))
    engine = simple_engine(
        config,
        venue.exchange,
        MemoryStore(),
        observer=tracker,
        checkpoint=CheckpointPolicy.EVERY_CHANGE,
    )
    steps = [
        *venue.minute(0, "100000", "99990", "99980", "99970", "99960", "99955"),
        *venue.minute(1, "99948", "99940", "99930", "99920", "99905", "99899"),
        *venue.minute(2, "99950", "99980", "100010", "100040", "100050", "100060"),
    ]
    script = Script(steps)
    view = None
    hook = tracker.on_poll
    if view_console is not None:
        view = ProgressView(
            tracker,
            view_console,
            candles_total=3,
            line_every_s=line_every_s,
            monotonic=Ticks(ticks),
        )
        hook = view
    sources = LiveSources(
        venue=venue,
        market=VenueMarketData(venue),
        orders=PolledOrderUpdates(venue.exchange, SYMBOL),
        clock=ManualClock(0, script),
    )
    runner = LiveRunner(config, engine, sources, RULES, freeze_heap=False, on_poll=hook)
    script.stop = runner.request_stop
    if view is not None:
        with view:
            runner.run()
    else:
        runner.run()
    return runner, engine, venue, tracker, view


def test_not_on_a_terminal_the_view_prints_a_short_line_every_n_seconds() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=300)
    runner, engine, venue, tracker, view = paper_run(console, ticks=1.0, line_every_s=5.0)
    assert view is not None and not view.in_place
    lines = out.getvalue().splitlines()
    polls = len(runner.sources.clock.waits)  # type: ignore[attr-defined]
    # One line at the first poll with a price, then at most one per 5 s of the view's clock
    # (one second a poll), never escape codes.
    assert 2 <= len(lines) <= polls // 5 + 1
    assert "\x1b" not in out.getvalue()
    assert all(line.startswith("2025-05-14 ") and SYMBOL in line for line in lines)
    candles = [int(re.search(r"\| (\d+) / 3 candles", line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert candles == sorted(candles) and candles[-1] >= 1
    # What the lines say is the engine's: the last one shows the fills booked by then.
    assert "fills 0 " in lines[0]
    assert tracker.fills and len(tracker.fills) == len(venue.exchange.fills)
    view.draw(runner)  # a final line shows the run's end
    last = out.getvalue().splitlines()[-1]
    assert f"fills {len(tracker.fills)} " in last
    assert f"pos {engine.state.book.inventory.normalize()}" in last or "pos 0" in last
    assert "| NORMAL" in last


def test_an_unchanged_poll_draws_nothing_and_changes_wait_for_the_interval() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=300)
    # The view's clock never moves: after the first drawing nothing is ever due again.
    *_, view = paper_run(console, ticks=0.0, line_every_s=5.0)
    assert view is not None and view.drawn == 1
    assert len(out.getvalue().splitlines()) == 1


def test_on_a_terminal_the_view_redraws_in_place() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, height=60)
    *_, view = paper_run(console, ticks=1.0)
    assert view is not None and view.in_place and view.drawn >= 2
    assert "\x1b[" in out.getvalue()  # cursor movement: the display is redrawn in place
    assert "last fills" in out.getvalue()


def test_the_renderer_shows_price_progress_grid_orders_fills_pnl_and_risk() -> None:
    runner, engine, _, tracker, _ = paper_run()
    snap = progress_snapshot(engine, runner.counts, tracker, candles_total=4320)
    console = Console(record=True, width=140, force_terminal=False)
    console.print(render_progress(snap))
    text = console.export_text()
    state = engine.state
    assert f"{SYMBOL} 100,060.00" in text and "2025-05-14 00:02:50 UTC" in text
    assert "3 / 4,320 candles" in text
    # The grid around the price: the levels of the open orders, with their orders.
    for order in engine.status()["open_orders"]:
        assert order["level"] in text
        assert f"{order['side']} {D(order['qty']).normalize()} @ {order['price']}" in text
    assert f"-- 100,060.00 (center {state.center_price}) --" in text
    buys = sum(o.side.value == "BUY" for o in state.book.active_orders())
    sells = len(state.book.active_orders()) - buys
    assert f"{buys} buy / {sells} sell" in text
    assert "last fills" in text and "SELL" in text and "BUY" in text
    assert str(len(tracker.fills)) in text
    assert "NORMAL" in text
    # Unrealized PnL and equity at the last price, from the book and the tracker.
    assert snap.unrealized_pnl == state.book.unrealized_pnl(D("100060"))
    assert snap.equity == tracker.equity(D("100060"))


def test_the_snapshot_shows_why_the_bot_is_halted() -> None:
    runner, engine, _, tracker, _ = paper_run()
    engine.halt("operator says stop", T0 + 200_000)
    snap = progress_snapshot(engine, runner.counts, tracker)
    assert snap.risk_state == "HALTED" and snap.risk_reason == "operator says stop"
    assert progress_line(snap).endswith("| HALTED (operator says stop)")
    console = Console(record=True, width=140)
    console.print(render_progress(snap))
    assert "HALTED (operator says stop)" in console.export_text()


def test_the_end_of_run_summary_is_the_backtest_table_and_the_books_match_the_ledger() -> None:
    runner, engine, venue, tracker, _ = paper_run()
    result = run_result(
        tracker,
        engine,
        runner.counts.candles,
        config={},
        final_balances=venue.exchange.balances(),
    )
    rows = dict(summary_rows(result))
    s = result.summary
    book = engine.state.book
    assert s.fills == len(venue.exchange.fills) == len(tracker.fills) > 0
    assert (s.realized_pnl, s.fees_paid) == (book.realized_pnl, book.fees_paid)
    assert s.final_inventory == book.inventory == venue.exchange.balances()["BTC"].total
    assert rows["events"] == "3 candles"
    assert rows["period"] == "2025-05-14 00:00:00 UTC -> 2025-05-14 00:02:50 UTC"
    # Equity from the venue's balances equals the tracker's, moved fill by fill.
    assert s.final_equity == tracker.equity(D("100060"))
    assert s.final_equity - s.initial_equity == s.realized_pnl - s.fees_paid + s.unrealized_pnl
    out = Console(record=True, width=100)
    print_summary(result, out, "Paper run")
    assert out.export_text().startswith("Paper run BTC/USDT")

    # The books against the venue's own fill list: they agree, and the pass line says so.
    books = books_from_status(
        engine.status(), [BookedFillRow(f.client_order_id, f.qty, f.fee) for f in tracker.fills]
    )
    ledger = ExchangeLedger(
        [exchange_fill(f) for f in venue.exchange.fills],
        [u.client_order_id for u in venue.exchange.open_orders(SYMBOL)],
        venue.exchange.balances()["BTC"].total,
    )
    assert audit(books, ledger) == []
    assert print_audit([], books, ledger, out)
    assert "books agree with the exchange's ledger: " in out.export_text()

    # A fill the bot missed is reported, on its own line.
    missing = books_from_status(engine.status(), list(books.fills)[1:])
    found = audit(missing, ledger)
    assert not print_audit(found, missing, ledger, out)
    text = out.export_text()
    assert "books DIFFER from the exchange's ledger" in text and "fills: exchange-only" in text
