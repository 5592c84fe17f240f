"""End to end: ``market-maker demo`` in a subprocess, as a user (and ``make demo``) runs it."""

import os
import re
import subprocess
import sys
from decimal import Decimal

CELL = r"\s+([\d.]+) │"
ROW = re.compile(r"^│" + CELL * 7 + "$")
"""A row of the steps table: step, price, center, fills, placed, cancelled, inventory."""
TOTALS = re.compile(
    r"realized PnL (\S+)  unrealized (\S+)  fees (\S+)  -> equity change (\S+) "
    r"\(= realized \+ unrealized - fees: (\S+)\)"
)


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m market_maker demo ARGS`` with a wide terminal (no wrapped lines)."""
    return subprocess.run(
        [sys.executable, "-m", "market_maker", "demo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_demo_prints_every_step_the_books_and_consistent_totals() -> None:
    result = demo("--steps", "12")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "BTC/USDT grid demo (long mode)" in out
    rows = [m.groups() for line in out.splitlines() if (m := ROW.match(line.strip()))]
    assert [int(r[0]) for r in rows] == list(range(12))
    # The packaged example: 10 buys below 100000 at the start, then trading on the path.
    assert rows[0][1:3] == ("100000", "100000.00") and int(rows[0][4]) == 10
    assert sum(int(r[3]) for r in rows) > 0, "the path should fill some orders"
    assert "slots" in out and "SELL CLOSE" in out
    totals = TOTALS.search(out)
    assert totals is not None, out
    realized, unrealized, fees, equity, identity = (Decimal(g) for g in totals.groups())
    # The simulated account's equity change equals the book's PnL, exactly.
    assert equity == identity == realized + unrealized - fees
    assert fees > 0


def test_demo_steps_option_sets_the_number_of_rows() -> None:
    result = demo("--steps", "3")

    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if ROW.match(line.strip())]
    assert len(rows) == 3
