"""Crash harness: SIGKILL the bot at random moments against a paper exchange, then audit.

    python -m market_maker.live.chaos --cycles 200 [--data PATH] [--database-url URL] [--seed N]

A paper exchange runs in its own process with manual market time, replaying the bundled
sample or ``--data`` (200 cycles use 22,000-25,000 candles: pass a longer file, such as a
month of 1-minute candles, so that every cycle trades on a moving market); the bot
(``market-maker run``, Durable engine) is started, the market advanced a few candles, and
the bot killed with SIGKILL: at a random moment, or inside a chosen workflow step (fault
injection, ``market_maker.durable.faults``: inside the intent or the booking transaction,
right after either committed, right after the exchange accepted an order). Then it is
restarted, and so
on. After the last cycle the bot runs once more until it has reconciled and caught up, is
stopped with SIGTERM, and the harness checks, against the exchange's own ledger:

1. no two open orders for the same slot;
2. no client order id sent twice as a new order;
3. every fill the exchange reports is booked exactly once (the bot's fill rows);
4. the bot's position equals the exchange's, and the one its fills add up to;
5. realized PnL and fees equal those recomputed from the exchange's fill list;
6. the open orders on the exchange are exactly the ones the slots hold.

The checks themselves are ``market_maker.live.audit`` (shared with the end of a paper run).
"""

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.domain.instrument import split_symbol
from market_maker.durable import faults
from market_maker.live.audit import audit, books_from_status, ledger_view
from market_maker.live.status import booked_fill_rows, bot_status
from market_maker.paper.client import PaperExchange

KILL_POINTS = ("timer", *faults.POINTS)


@dataclass
class ChaosReport:
    """What a harness run did and found."""

    cycles: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    candles: int = 0
    orders: int = 0
    fills: int = 0
    frozen_market_cycles: int = 0  # cycles started after the data ran out: nothing traded
    violations: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Plain data for printing."""
        return {
            "cycles": self.cycles,
            "kills": dict(sorted(self.kills.items())),
            "candles": self.candles,
            "orders": self.orders,
            "fills": self.fills,
            "frozen_market_cycles": self.frozen_market_cycles,
            "violations": self.violations,
        }


def _deadline(seconds: float) -> float:
    return time.monotonic() + seconds


class Harness:
    """One paper exchange, one bot configuration, many crashes."""

    def __init__(
        self, workdir: Path, database_url: str | None, seed: int, data: Path | None = None
    ) -> None:
        self.workdir = workdir
        self.rng = random.Random(seed)
        base = load_config(default_backtest_config_path()).model_dump(mode="json")
        self.database_url = database_url or f"sqlite:///{workdir / 'bot.db'}"
        self.exchange_log: IO[str] = (workdir / "exchange.log").open("w")
        command = [sys.executable, "-m", "market_maker", "paper-exchange", "--port", "0"]
        command += ["--speed", "0"] + (["--data", str(data)] if data is not None else [])
        self.server = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self.exchange_log,
            text=True,
        )
        assert self.server.stdout is not None
        found = None
        lines = []
        for _ in range(5):  # the URL line follows a line about the data
            line = self.server.stdout.readline()
            lines.append(line)
            if found := re.search(r"http://\S+", line):
                break
        if found is None:
            raise RuntimeError(f"the paper exchange did not print its URL: {lines!r}")
        self.url = found.group(0)
        base["venue"] = {"url": self.url, "poll_interval_s": 0.02}
        base["durable"] = {"database_url": self.database_url, "executor_id": "chaos"}
        self.config_path = workdir / "bot.yaml"
        self.config_path.write_text(yaml.safe_dump(base))
        self.config: AppConfig = load_config(self.config_path)
        self.exchange = PaperExchange(self.url)
        self.report = ChaosReport()

    def close(self) -> None:
        """Stop the exchange."""
        self.server.send_signal(signal.SIGTERM)
        self.server.wait(timeout=30)
        if self.server.stdout is not None:
            self.server.stdout.close()
        self.exchange_log.close()

    def _bot(self, kill_at: str | None) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env.pop(faults.ENV, None)
        if kill_at:
            env[faults.ENV] = kill_at
        with (self.workdir / "bot.log").open("ab") as log:  # the child keeps its own copy
            return subprocess.Popen(
                [sys.executable, "-m", "market_maker", "run", "--config", str(self.config_path)],
                env=env,
                stdout=log,
                stderr=log,
            )

    def _caught_up_since(self, version: object) -> bool:
        """The bot saved a state other than ``version`` that reached the latest candle."""
        status = bot_status(self.config)
        latest = self.exchange.latest().candle
        return bool(
            status
            and latest
            and status["state_version"] != version
            and status["last_update_ms"] == latest.open_time_ms
        )

    def cycle(self) -> None:
        """Start the bot, move the market, kill the bot."""
        point = self.rng.choice(KILL_POINTS)
        kill_at = None if point == "timer" else f"{point}:{self.rng.randint(1, 3)}"
        self.report.frozen_market_cycles += self.exchange.latest().done
        bot = self._bot(kill_at)
        end = _deadline(60)
        while bot.poll() is None and time.monotonic() < end:
            if self.exchange.latest().done:
                break
            self.exchange.advance(self.rng.randint(1, 4))
            self.report.candles = self.exchange.latest().index
            if point == "timer" and self.rng.random() < 0.35:
                time.sleep(self.rng.uniform(0, 0.4))  # a random moment, not a synchronisation
                break
            time.sleep(0.05)  # pace the market like a real feed
        if bot.poll() is None:
            bot.send_signal(signal.SIGKILL)
            self.report.kills["timer" if point == "timer" else f"{point}-not-reached"] += 1
        else:
            self.report.kills[point] += 1
        bot.wait(timeout=30)
        self.report.cycles += 1

    def settle(self) -> None:
        """Run the bot once more until it has reconciled and caught up; stop it gracefully.

        "Caught up" must be this run's doing: the killed run may already have reached the
        last candle, and a SIGTERM sent before the new process installed its handler (or
        reconciled) would kill it instead of stopping it. Every start saves a new state
        version, so the run waits for one.
        """
        before = bot_status(self.config)
        version = before["state_version"] if before else None
        bot = self._bot(None)
        end = _deadline(120)
        while not self._caught_up_since(version):
            if bot.poll() is not None or time.monotonic() > end:
                bot.kill()
                bot.wait(timeout=30)
                raise RuntimeError("the final run did not catch up; see bot.log")
            time.sleep(0.1)
        bot.send_signal(signal.SIGTERM)
        if bot.wait(timeout=60) != 0:
            raise RuntimeError("the final run did not stop cleanly; see bot.log")

    def audit(self) -> None:
        """Check every invariant against the exchange's ledger; record violations."""
        ledger = self.exchange.ledger()
        status = bot_status(self.config)
        assert status is not None
        self.report.orders = len(ledger.orders)
        self.report.fills = len(ledger.fills)
        base, _ = split_symbol(self.config.symbol)
        exchange_side = ledger_view(ledger, self.exchange.balances()[base].total)
        books = books_from_status(status, booked_fill_rows(self.config))
        self.report.violations += [str(m) for m in audit(books, exchange_side)]


def run_chaos(
    cycles: int,
    *,
    database_url: str | None = None,
    seed: int = 0,
    workdir: Path | None = None,
    data: Path | None = None,
) -> ChaosReport:
    """Run ``cycles`` kill/restart cycles and the audit; return the report.

    The exchange replays ``data`` (candles of the configuration's symbol), by default the
    bundled sample.
    Logs and the bot's files go to ``workdir`` (kept) or a temporary folder (removed).
    """
    with tempfile.TemporaryDirectory(prefix="mm-chaos-") as tmp:
        folder = workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        harness = Harness(folder, database_url, seed, data)
        try:
            for _ in range(cycles):
                harness.cycle()
            harness.settle()
            harness.audit()
        finally:
            harness.close()
        return harness.report


def main() -> None:
    """Command line: run the harness and print its report as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="candles for the exchange")
    parser.add_argument("--workdir", type=Path, default=None, help="keep logs and files here")
    args = parser.parse_args()
    report = run_chaos(
        args.cycles,
        database_url=args.database_url,
        seed=args.seed,
        workdir=args.workdir,
        data=args.data,
    )
    print(json.dumps(report.as_json(), indent=2))
    sys.exit(1 if report.violations else 0)


if __name__ == "__main__":
    main()
