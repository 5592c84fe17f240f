r"""Instructions one backtest run costs, counted by valgrind: two versions compared exactly.

Usage (from the repository root, after ``make`` installed .venv; needs ``valgrind``)::

    .venv/bin/python benchmarks/instructions.py --before dfa7fd3 [--after HEAD] \\
        [--build compiled|pure] [--limit 30000] \\
        [--data ../shared/data/binance_spot_1m_2025/BTC_USDT-1m.csv]

Wall-clock figures on this machine swing by 20-50% from minute to minute, which hides a 5%
change. Instruction counts do not: each version is checked out (``git worktree``, in a
temporary directory), compiled with its own ``scripts/build_compiled.py`` when ``--build
compiled``, and ``benchmarks/backtest_speed.py`` runs under ``valgrind --tool=callgrind``
twice, with one and with two backtest runs (``PYTHONHASHSEED=0``, so both see the same
hashes). The difference is what one run costs: the simulation alone, without start-up and
loading. Loading (and start-up) is what the one-run process costs beyond that. Prints one
JSON line per version and the change from ``--before`` to ``--after``. About 3-5 minutes per
version for 30,000 candles; it reports figures and never passes or fails.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared/data/binance_spot_1m_2025/BTC_USDT-1m.csv"


def _instructions(tree: Path, package: Path, repeat: int, args: argparse.Namespace) -> int:
    """Instructions of the benchmark process with ``repeat`` runs, ``package`` on the path."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "benchmarks/backtest_speed.py",
        "--config",
        str(ROOT / "benchmarks/nautilus_equivalent.yaml"),
        "--data",
        str(args.data.resolve()),
        "--repeat",
        str(repeat),
        "--limit",
        str(args.limit),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(package)}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from valgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def measure(rev: str, args: argparse.Namespace, work: Path) -> tuple[int, int]:
    """Check ``rev`` out, build it as asked; instructions of one run, and of the rest."""
    tree = work / rev.replace("/", "_")
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--force", str(tree), rev],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        package = tree / "src"
        if args.build == "compiled":
            subprocess.run(
                [sys.executable, "scripts/build_compiled.py"],
                cwd=tree,
                check=True,
                capture_output=True,
            )
            package = tree / "build/compiled"
        with ThreadPoolExecutor(2) as pool:  # the two processes are independent
            one, two = pool.map(lambda n: _instructions(tree, package, n, args), (1, 2))
        return two - one, one - (two - one)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def main() -> None:
    """Measure both versions and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision to compare against")
    parser.add_argument("--after", default="HEAD", help="git revision measured (HEAD)")
    parser.add_argument("--build", choices=("compiled", "pure"), default="compiled")
    parser.add_argument("--limit", type=int, default=30_000, help="candles per run")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found: install it (apt-get install valgrind)")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="mm-instructions-") as temp:
        for rev in (args.before, args.after):
            run, rest = figures[rev] = measure(rev, args, Path(temp))
            line = {"rev": rev, "build": args.build, "candles": args.limit}
            line |= {"run_instructions": run, "load_and_start_instructions": rest}
            print(json.dumps(line), flush=True)
    (run_before, rest_before), (run_after, rest_after) = figures[args.before], figures[args.after]
    change = {
        "run_instructions": f"{(run_after / run_before - 1) * 100:+.2f}%",
        "load_and_start_instructions": f"{(rest_after / rest_before - 1) * 100:+.2f}%",
    }
    print(json.dumps({"change": change}))


if __name__ == "__main__":
    main()
