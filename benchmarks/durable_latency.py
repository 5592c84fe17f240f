r"""Durable engine: decision-cycle latency and order-update workflows per second.

Usage (from the repository root, after ``make`` installed .venv)::

    .venv/bin/python benchmarks/durable_latency.py \\
        [--backend sqlite|postgresql|both] [--candles 3000] [--updates 2000]

For each backend it starts a ``GridEngine`` exactly as production does (its default
``EVERY_CHANGE`` checkpointing, DBOS workflows, a fresh database: a WAL SQLite file in a
temporary directory, or a new PostgreSQL database on 127.0.0.1:5432 dropped afterwards),
against the simulated exchange of the packaged backtest configuration, and measures:

1. **Decision latency.** The bundled 3-day BTC perpetual sample is driven candle by candle
   like the backtest runner (the venue's fill reports go to ``on_order_update``, then
   ``on_candle``, then ``on_price_update`` at the close). The exchange is wrapped so that the
   first ``place_order`` or ``cancel_order`` call after a price update records
   ``time.perf_counter()`` when it starts; latency = that instant minus the instant just
   before ``on_price_update`` was entered. It covers the decision, the start of the
   ``mm_decision_cycle`` workflow, its write-ahead intent transaction and the
   ``mm_place`` step's lookup by client order id; it excludes the exchange's own answer
   time. Price updates that sent no request (no workflow) are counted apart: those the
   engine skipped without deciding (the price stayed inside the stable band) and those it
   decided on and found nothing to do.

2. **Order-update workflows per second.** Each report the exchange returned to a place or
   cancel request (a REST reply, booked inside its decision cycle) is delivered once more
   through ``on_order_update`` right after the price update that sent it, until
   ``--updates`` have been delivered. This is what a venue's user-data stream does in
   production: it echoes every acknowledgement and cancellation. Each such report is
   distinct and new to ``mm_order_update`` (its own workflow id; one that would repeat a
   fill report already delivered is left out), and the book knows its order, so every call
   runs a full workflow that books against real state and commits. They are delivered
   during the run, not after it, because the book remembers only its last 256 finished
   orders: replaying the run's reports afterwards, or to a fresh engine, would mostly book
   unknown orders (a warning and a trivial booking each), and inventing new fills would
   give the book positions the run never had. Trading is unchanged by the echoes (they
   only make the next price update decide instead of skipping; the place and cancel
   counts are the same with ``--updates 0``). The venue's fill reports, delivered before
   each candle's price update as in the backtest runner, are timed too: the workflows that
   book fills. After the run the echoes are delivered a second time: duplicates, whose
   workflow ids DBOS already holds, timed separately (they should be cheap no-ops).
   Rates are calls divided by the summed time of the calls.

Prints one JSON line per backend. It reports figures; it never passes or fails on time.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.durable.execution import durable_engine
from market_maker.durable.workflows import update_id
from market_maker.engine.base import EngineObserver
from market_maker.engine.grid import GridEngine
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.live.runner import freeze_startup_heap
from market_maker.slots.client_ids import id_prefix

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's devtools/
from devtools.scratch_db import scratch_database

MACHINE = "the project's 2-core machine (figures drift with load; compare back to back)"


class TimedExchange:
    """The simulated venue, timing the first place or cancel request of each cycle.

    Every other call is delegated unchanged. ``arm`` clears the mark before a price update;
    ``first_request_at`` is then the ``perf_counter()`` at the start of the first request
    (None if none was sent). Every report a request returned is kept, in order.
    """

    def __init__(self, venue: SimulatedExchange) -> None:
        self._venue = venue
        self.first_request_at: float | None = None
        self.first_request_sql = (0, 0)
        self._replies: list[OrderUpdate] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    def arm(self) -> None:
        """Forget the previous cycle's mark."""
        self.first_request_at = None

    def take_replies(self) -> list[OrderUpdate]:
        """The reports requests returned since the last call, in order."""
        replies, self._replies = self._replies, []
        return replies

    def _mark(self) -> None:
        if self.first_request_at is None:
            self.first_request_at = time.perf_counter()
            self.first_request_sql = SQL.reading()

    def place_order(self, request: PlaceOrderRequest) -> OrderUpdate:
        """Time, then place on the venue."""
        self._mark()
        report = self._venue.place_order(request)
        self._replies.append(report)
        return report

    def cancel_order(self, request: CancelOrderRequest) -> OrderUpdate | None:
        """Time, then cancel on the venue."""
        self._mark()
        report = self._venue.cancel_order(request)
        if report is not None:
            self._replies.append(report)
        return report


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A URL of an empty database of ``backend``, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mm-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bot.db'}"
        return
    with scratch_database("mm_bench") as url:
        yield url


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100)
    return ordered[int(rank) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Count, median, p90, p99 and max of ``seconds``, in milliseconds."""
    if not seconds:
        return {"count": 0, "median": None, "p90": None, "p99": None, "max": None}
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "median": round(statistics.median(ms), 3),
        "p90": round(percentile(ms, 90), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(max(ms), 3),
    }


class Unknowns(EngineObserver):
    """Counts reports about orders the book does not know (none expected)."""

    def __init__(self) -> None:
        self.count = 0

    def on_unknown_order(self, update: OrderUpdate) -> None:
        """One more unknown order."""
        self.count += 1


class SqlCounter:
    """Counts the SQL statements and commits of every SQLAlchemy engine in the process.

    A machine-independent figure beside the timings: what one workflow costs in round trips.
    """

    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0
        sa.event.listen(sa.Engine, "before_cursor_execute", self._statement)
        sa.event.listen(sa.Engine, "commit", self._commit)

    def _statement(self, *_: object) -> None:
        self.statements += 1

    def _commit(self, *_: object) -> None:
        self.commits += 1

    def reading(self) -> tuple[int, int]:
        """(statements, commits) so far."""
        return self.statements, self.commits


SQL = SqlCounter()


class GcPauses:
    """The garbage collector's pauses in the process, per generation (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)

    def reset(self) -> None:
        """Forget what was measured so far."""
        for pauses in self.pauses.values():
            pauses.clear()

    def summary(self) -> dict[str, dict[str, float | int]]:
        """Count, total and longest pause per generation, in milliseconds."""
        return {
            f"gen{g}": {
                "count": len(p),
                "total_ms": round(sum(p) * 1000, 1),
                "max_ms": round(max(p, default=0.0) * 1000, 1),
            }
            for g, p in self.pauses.items()
        }


GC = GcPauses()


class TimedCalls:
    """The seconds each call took, and the statements and commits they ran in all."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.statements = 0
        self.commits = 0

    def per_call(self) -> dict[str, float | None]:
        """Statements and commits per call."""
        n = len(self.seconds)
        return {
            "statements": round(self.statements / n, 2) if n else None,
            "commits": round(self.commits / n, 2) if n else None,
        }


def timed_updates(engine: GridEngine, reports: Sequence[OrderUpdate], into: TimedCalls) -> None:
    """Deliver ``reports`` through ``on_order_update``, timing and counting each call."""
    for report in reports:
        statements, commits = SQL.reading()
        t0 = time.perf_counter()
        engine.on_order_update(report)
        into.seconds.append(time.perf_counter() - t0)
        into.statements += SQL.statements - statements
        into.commits += SQL.commits - commits


def rate(count: int, seconds: Sequence[float]) -> float | None:
    """Calls per second over the summed call times."""
    total = sum(seconds)
    return round(count / total, 1) if total else None


def drive(
    engine: GridEngine,
    venue: TimedExchange,
    candles: Sequence[Candle],
    symbol: str,
    n_echoes: int,
) -> dict[str, Any]:
    """Run ``candles`` through ``engine`` like the backtest runner, timing every call.

    After each price update, up to ``n_echoes`` in all of the replies its requests got are
    delivered again through ``on_order_update``, as a venue's user-data stream would.
    """
    latencies: list[float] = []
    cycles: list[float] = []
    fill_calls = TimedCalls()
    echo_calls = TimedCalls()
    echoed: list[OrderUpdate] = []
    seen: set[str] = set()
    prefix = id_prefix(engine.config.bot_id, symbol)
    skipped = quiet = first_statements = first_commits = 0
    for candle in candles:
        fills = venue.on_candle(candle)
        seen.update(
            update_id(id_prefix(engine.config.bot_id, engine.config.symbol), r) for r in fills
        )
        timed_updates(engine, fills, fill_calls)
        engine.on_candle(candle)
        update = PriceUpdate(symbol, candle.close, candle.open_time_ms)
        decisions = engine.decisions
        venue.arm()
        sql_at_entry = SQL.reading()
        entered = time.perf_counter()
        engine.on_price_update(update)
        done = time.perf_counter()
        if venue.first_request_at is not None:
            latencies.append(venue.first_request_at - entered)
            first_statements += venue.first_request_sql[0] - sql_at_entry[0]
            first_commits += venue.first_request_sql[1] - sql_at_entry[1]
            cycles.append(done - entered)
        elif engine.decisions == decisions:
            skipped += 1
        else:
            quiet += 1
        echoes: list[OrderUpdate] = []
        for reply in venue.take_replies():
            wid = update_id(prefix, reply)
            if len(echoed) + len(echoes) < n_echoes and wid not in seen:
                seen.add(wid)
                echoes.append(reply)
        timed_updates(engine, echoes, echo_calls)
        echoed += echoes
    quarter = max(1, len(latencies) // 4)
    return {
        "price_updates": len(candles),
        "latency_ms": summary_ms(latencies),
        "latency_median_ms_by_quarter": [
            round(statistics.median(latencies[i : i + quarter]) * 1000, 3)
            for i in range(0, quarter * 4, quarter)
            if latencies[i : i + quarter]
        ],
        "sql_before_first_request": {
            "statements": round(first_statements / len(latencies), 2) if latencies else None,
            "commits": round(first_commits / len(latencies), 2) if latencies else None,
        },
        "whole_update_ms": summary_ms(cycles),
        "no_request": {"skipped_undecided": skipped, "decided_no_action": quiet},
        "orders_placed": engine.orders_placed,
        "orders_canceled": engine.orders_canceled,
        "order_updates": {
            "distinct_echoes": {
                "count": len(echoed),
                "workflows_per_s": rate(len(echoed), echo_calls.seconds),
                "per_call_ms": summary_ms(echo_calls.seconds),
                "sql_per_call": echo_calls.per_call(),
            },
            "fill_reports": {
                "count": len(fill_calls.seconds),
                "workflows_per_s": rate(len(fill_calls.seconds), fill_calls.seconds),
                "per_call_ms": summary_ms(fill_calls.seconds),
                "sql_per_call": fill_calls.per_call(),
            },
        },
        "_echoed": echoed,
    }


def run(backend: str, config: AppConfig, candles: Sequence[Candle], n_updates: int) -> None:
    """Measure one backend and print its JSON line."""
    unknown = Unknowns()
    with fresh_database(backend) as url:
        venue = TimedExchange(simulated_exchange(config))
        engine = durable_engine(config, venue, database_url=url, observer=unknown)
        started = time.perf_counter()
        engine.start()
        freeze_startup_heap()  # as market-maker run does after start-up
        GC.reset()
        try:
            figures = drive(engine, venue, candles, config.symbol, n_updates)
            echoed = figures.pop("_echoed")
            book = engine.state.book
            before = book.realized_pnl, book.fees_paid, engine.state.version
            dups = TimedCalls()
            timed_updates(engine, echoed, dups)  # every one already seen: no-ops
            figures["order_updates"]["duplicates"] = {
                "count": len(echoed),
                "per_s": rate(len(echoed), dups.seconds),
                "per_call_ms": summary_ms(dups.seconds),
                "sql_per_call": dups.per_call(),
                "changed_nothing": before
                == (book.realized_pnl, book.fees_paid, engine.state.version),
            }
            figures["order_updates"]["unknown_orders"] = unknown.count
            figures["gc_pauses"] = GC.summary()
            run_s = time.perf_counter() - started
        finally:
            engine.stop()
    print(
        json.dumps(
            {
                "backend": backend,
                "database": "sqlite file, WAL" if backend == "sqlite" else "postgresql+psycopg",
                "candles": len(candles),
                "run_s": round(run_s, 2),
                **figures,
                "cpus": os.cpu_count(),
                "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
                "machine": MACHINE,
            }
        ),
        flush=True,
    )


def main() -> None:
    """Parse the options, run the chosen backends and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--candles", type=int, default=3000, help="first N sample candles")
    parser.add_argument("--updates", type=int, default=2000, help="order-update workflows")
    args = parser.parse_args()
    config = load_config(default_backtest_config_path())
    candles = load_candles(sample_candles_path(), symbol=config.symbol).candles[: args.candles]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run(backend, config, candles, args.updates)


if __name__ == "__main__":
    main()
