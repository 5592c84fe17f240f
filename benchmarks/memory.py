r"""Peak memory of a backtest on a candle file, and on the same file three times in a row.

Usage (from the repository root, after ``make`` installed .venv)::

    .venv/bin/python benchmarks/memory.py \\
        [--config benchmarks/nautilus_equivalent.yaml] \\
        [--data ../shared/data/binance_spot_1m_2025/BTC_USDT-1m.csv] [--copies 3] [--json]

Writes the file ``--copies`` times in a row to a temporary folder (each copy's timestamps
shifted by the whole span plus one interval, so the series stays increasing and evenly
spaced; the data itself is never copied into the repository), then runs
``market-maker backtest`` on the original and on the long file, each in a fresh Python
process, and prints one JSON line per run (peak RSS of that process, candles, orders,
fills, equity points, seconds) and the growth of the peak in percent. ``--json`` also writes
the JSON report (to the temporary folder) in both runs. A memory use that does not grow
with the run shows as a small growth. It reports figures; it never passes or fails.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared/data/binance_spot_1m_2025/BTC_USDT-1m.csv"
HEADER = "timestamp_ms,open,high,low,close,volume"


def repeat_file(source: Path, copies: int, target: Path) -> int:
    """Write ``source`` (a ``timestamp_ms`` candle CSV) ``copies`` times in a row; rows."""
    lines = source.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != HEADER:
        raise SystemExit(f"{source}: expected a candle CSV with the header {HEADER}")
    rows = [line for line in lines[1:] if line.strip()]
    first = int(rows[0].split(",", 1)[0])
    second = int(rows[1].split(",", 1)[0])
    last = int(rows[-1].split(",", 1)[0])
    shift = last - first + (second - first)  # the span plus one interval
    with target.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for copy in range(copies):
            for row in rows:
                ts, rest = row.split(",", 1)
                out.write(f"{int(ts) + copy * shift},{rest}\n")
    return len(rows) * copies


def child(config: Path, data: Path, report: Path | None) -> None:
    """Run the backtest command in this process; print its figures and peak RSS."""
    from rich.console import Console

    from market_maker.cli.backtest import backtest_paths, run_backtest_command
    from market_maker.config.loader import load_config

    started = time.perf_counter()
    paths = backtest_paths(config, data, None, None, report, None, 1)
    result = run_backtest_command(
        load_config(paths.config),
        paths,
        skip_bad_rows=False,
        allow_gaps=False,
        console=Console(file=open("/dev/null", "w")),  # noqa: SIM115 - lives as long as the run
    )
    s = result.summary
    print(
        json.dumps(
            {
                "data": str(data),
                "candles": s.events,
                "orders": s.orders_placed,
                "cancels": s.orders_canceled,
                "fills": s.fills,
                "realized_pnl": str(s.realized_pnl),
                "equity_points": len(result.equity_curve),
                "json_report": report is not None,
                "total_s": round(time.perf_counter() - started, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def run(config: Path, data: Path, report: Path | None) -> dict[str, object]:
    """Run ``child`` in a fresh interpreter; its JSON line."""
    command = [sys.executable, __file__, "--child", "--config", str(config), "--data", str(data)]
    if report is not None:
        command += ["--report", str(report)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the run on {data} failed:\n{done.stderr}")
    line: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(line), flush=True)
    return line


def main() -> None:
    """Parse the options; run the child or the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "benchmarks/nautilus_equivalent.yaml")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="also write the JSON report")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.config, args.data, args.report)
        return
    with tempfile.TemporaryDirectory(prefix="mm-memory-") as folder:
        long_file = Path(folder) / f"{args.copies}x_{args.data.name}"
        repeat_file(args.data, args.copies, long_file)
        reports = [Path(folder) / "once.json", Path(folder) / "long.json"] if args.json else []
        once = run(args.config, args.data, reports[0] if reports else None)
        long = run(args.config, long_file, reports[1] if reports else None)
    base, peak = float(str(once["peak_rss_mb"])), float(str(long["peak_rss_mb"]))
    print(
        json.dumps(
            {
                "copies": args.copies,
                "peak_rss_mb_once": base,
                f"peak_rss_mb_{args.copies}x": peak,
                "growth_pct": round((peak - base) / base * 100, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
