"""What the backtest benchmarks print: one JSON line per run and a median/best line.

Shared by ``backtest_speed.py`` (candles) and ``tick_speed.py`` (trades); ``unit`` names
what a run replays, so the lines say ``candles_per_s`` or ``trades_per_s``.
"""

import json
import resource
import statistics
from typing import Any

import market_maker.slots.book
from market_maker.backtest.result import BacktestResult

# "compiled" when PYTHONPATH points at scripts/build_compiled.py's output.
BUILD = "compiled" if market_maker.slots.book.__file__.endswith(".so") else "pure Python"


def print_run(result: BacktestResult, events: int, unit: str, head: dict[str, Any]) -> None:
    """One run's figures after ``head`` (what was replayed, load time)."""
    s = result.summary
    print(
        json.dumps(
            {
                **head,
                "build": BUILD,
                unit: events,
                "wall_s": round(s.elapsed_s, 3),
                f"{unit}_per_s": round(events / s.elapsed_s),
                "orders": s.orders_placed,
                "cancels": s.orders_canceled,
                "fills": s.fills,
                "realized_pnl": str(s.realized_pnl),
                "fees": str(s.fees_paid),
                "decisions": result.extra.get("decisions"),
                "risk_events": len(result.risk_events),
                "equity_points": len(result.equity_curve),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def print_summary(walls: list[float], events: int, unit: str) -> None:
    """Median and best of the runs' simulation times."""
    median, best = statistics.median(walls), min(walls)
    print(
        json.dumps(
            {
                "median_wall_s": round(median, 3),
                f"median_{unit}_per_s": round(events / median),
                "best_wall_s": round(best, 3),
                f"best_{unit}_per_s": round(events / best),
            }
        )
    )
