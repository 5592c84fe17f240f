"""Crash harness: SIGKILL the bot trading through ccxt on a faulty paper exchange, then audit.

    python -m market_maker.live.chaos --cycles 200 [--market usdm|spot] [--data PATH]
        [--database-url URL] [--seed N] [--workdir DIR] [--rate-limit 0.10]
        [--server-errors 0.05] [--lost-acks 0.05] [--ws-drops 0.02] [...]

A paper exchange (``market-maker paper-exchange``) runs in its own process with manual
market time, serving Binance's spot or USDⓈ-M API and replaying the bundled sample or
``--data`` (200 cycles use 22,000-25,000 candles: pass a longer file, such as a month of
1-minute candles, so that every cycle trades on a moving market). The bot
(``market-maker run --config``: ccxt's ``binance`` or ``binanceusdm`` class, websocket
streams with REST fallback, Durable engine) is started, the market advanced a few candles
through ``PaperControl``, and the bot killed with SIGKILL: at a random moment, or inside a
chosen workflow step (``market_maker.durable.faults``: inside the intent or the booking
transaction, right after either committed, right after the exchange accepted an order).
Meanwhile the exchange injects the faults of the ``FaultMix``: 429 and 418 answers with
``Retry-After``, 502/503, placements booked whose answer is lost, websocket drops,
duplicated and reordered stream events. Then the bot is restarted, and so on. After the
last cycle the bot runs once more until it has reconciled and caught up, is stopped with
SIGTERM, and the harness checks, against the exchange's ledger (``GET /paper/ledger``):

1. no two open orders for the same slot;
2. no client order id sent twice as a new order (a retried placement after a lost answer
   must find the order instead of sending it again);
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
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.domain.instrument import split_symbol
from market_maker.durable import faults
from market_maker.live.audit import audit, books_from_status, ledger_view, resent_rejected
from market_maker.live.chaos_setup import FaultMix, Market, bot_config, start_exchange
from market_maker.live.status import booked_fill_rows, bot_status
from market_maker.paper.control import PaperControl

KILL_POINTS = ("timer", *faults.POINTS)


@dataclass
class ChaosReport:
    """What a harness run did and found."""

    market: str = "usdm"
    cycles: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    candles: int = 0
    orders: int = 0
    fills: int = 0
    duplicates: int = 0  # ids of accepted orders placed again (a violation too)
    resent_rejected: int = 0  # ids of rejected orders placed again (harmless: audit.py)
    faults: dict[str, int] = field(default_factory=dict)  # injected, by kind
    frozen_market_cycles: int = 0  # cycles started after the data ran out: nothing traded
    wall_s: float = 0.0
    violations: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Plain data for printing."""
        return {
            "market": self.market,
            "cycles": self.cycles,
            "kills": dict(sorted(self.kills.items())),
            "candles": self.candles,
            "orders": self.orders,
            "fills": self.fills,
            "duplicates": self.duplicates,
            "resent_rejected": self.resent_rejected,
            "faults": dict(sorted(self.faults.items())),
            "frozen_market_cycles": self.frozen_market_cycles,
            "wall_s": round(self.wall_s, 1),
            "violations": self.violations,
        }


def _deadline(seconds: float) -> float:
    return time.monotonic() + seconds


class Harness:
    """One paper exchange, one bot configuration, many crashes."""

    def __init__(
        self,
        workdir: Path,
        database_url: str | None,
        seed: int,
        data: Path | None = None,
        *,
        market: Market = "usdm",
        fault_mix: FaultMix | None = None,
    ) -> None:
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.database_url = database_url or f"sqlite:///{workdir / 'bot.db'}"
        self.config_path = workdir / "bot.yaml"
        bot_config(self.config_path, market, self.database_url)
        self.exchange_log: IO[str] = (workdir / "exchange.log").open("w")
        try:
            self.server, self.url = start_exchange(
                self.config_path, market, data, self.exchange_log
            )
        except BaseException:
            self.exchange_log.close()
            raise
        bot_config(self.config_path, market, self.database_url, self.url)
        self.config: AppConfig = load_config(self.config_path)
        if bot_status(self.config) is not None:
            self.close()
            raise RuntimeError(
                f"--database-url: {self.database_url} already holds the state of bot "
                f"{self.config.bot_id!r}; give an empty database (the harness audits one run)"
            )
        self.control = PaperControl(self.url)
        self.fault_mix = fault_mix or FaultMix()
        if self.fault_mix.any:
            self.control.set_faults(self.fault_mix.settings(seed))
        self.report = ChaosReport(market=market)

    def close(self) -> None:
        """Stop the exchange."""
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()
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
        """The bot saved a state other than ``version`` at (or after) the latest candle.

        Through ccxt the bot's market time is a candle's close (or a ticker's time), so it
        has caught up once it is at or past the open time of the latest candle processed.
        """
        status = bot_status(self.config)
        latest = self.control.market().last_open_ms
        return bool(
            status
            and latest is not None
            and status["state_version"] != version
            and status["last_update_ms"] >= latest
        )

    def cycle(self) -> None:
        """Start the bot, move the market, kill the bot."""
        point = self.rng.choice(KILL_POINTS)
        kill_at = None if point == "timer" else f"{point}:{self.rng.randint(1, 3)}"
        self.report.frozen_market_cycles += self.control.market().done
        bot = self._bot(kill_at)
        end = _deadline(60)
        while bot.poll() is None and time.monotonic() < end:
            if self.control.market().done:
                break
            self.report.candles = self.control.advance(self.rng.randint(1, 4))
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
        version, so the run waits for one. The faults stay on.
        """
        before = bot_status(self.config)
        version = before["state_version"] if before else None
        bot = self._bot(None)
        end = _deadline(180)
        while not self._caught_up_since(version):
            if bot.poll() is not None or time.monotonic() > end:
                why = f"exited {bot.returncode}" if bot.returncode is not None else "180 s passed"
                bot.kill()
                bot.wait(timeout=30)
                raise RuntimeError(f"the final run did not catch up ({why}){self._log_tail()}")
            time.sleep(0.1)
        bot.send_signal(signal.SIGTERM)
        if bot.wait(timeout=120) != 0:
            raise RuntimeError(f"the final run did not stop cleanly{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        """The end of the bot's log, for an error message (a temporary workdir is deleted)."""
        path = self.workdir / "bot.log"
        text = path.read_text(errors="replace") if path.is_file() else ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"; {path} ends with:\n{tail}"

    def audit(self) -> None:
        """Check every invariant against the exchange's ledger; record violations."""
        ledger = self.control.ledger()
        status = bot_status(self.config)
        assert status is not None
        self.report.orders = len(ledger.orders)
        self.report.fills = len(ledger.fills)
        harmless = resent_rejected(ledger)
        self.report.resent_rejected = len(harmless)
        self.report.duplicates = len([c for c in ledger.duplicates if c not in harmless])
        self.report.faults = {k: int(v) for k, v in self.control.faults()["injected"].items()}
        base, _ = split_symbol(self.config.symbol)
        exchange_side = ledger_view(ledger, self.control.position(base))
        books = books_from_status(status, booked_fill_rows(self.config))
        self.report.violations += [str(m) for m in audit(books, exchange_side)]


def run_chaos(
    cycles: int,
    *,
    database_url: str | None = None,
    seed: int = 0,
    workdir: Path | None = None,
    data: Path | None = None,
    market: Market = "usdm",
    fault_mix: FaultMix | None = None,
) -> ChaosReport:
    """Run ``cycles`` kill/restart cycles and the audit; return the report.

    The exchange serves ``market`` (Binance spot or USDⓈ-M), replays ``data`` (candles,
    by default the bundled sample) and injects ``fault_mix`` (none by default).
    ``database_url`` must hold no state of the bot yet (default: a new SQLite file).
    Logs and the bot's files go to ``workdir`` (kept) or a temporary folder (removed).
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mm-chaos-") as tmp:
        folder = workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        harness = Harness(folder, database_url, seed, data, market=market, fault_mix=fault_mix)
        try:
            for _ in range(cycles):
                harness.cycle()
            harness.settle()
            harness.audit()
        finally:
            harness.close()
        harness.report.wall_s = time.monotonic() - started
        return harness.report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--market", choices=("usdm", "spot"), default="usdm")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="candles for the exchange")
    parser.add_argument("--workdir", type=Path, default=None, help="keep logs and files here")
    share = "share of {}, 0 to 1 (default 0)"
    parser.add_argument("--rate-limit", type=float, default=0.0, help=share.format("429s"))
    parser.add_argument("--bans", type=float, default=0.0, help=share.format("418s"))
    parser.add_argument("--server-errors", type=float, default=0.0, help=share.format("5xx"))
    parser.add_argument(
        "--lost-acks", type=float, default=0.0, help=share.format("placements unanswered")
    )
    parser.add_argument(
        "--ws-drops", type=float, default=0.0, help=share.format("stream events closing it")
    )
    parser.add_argument(
        "--ws-duplicates", type=float, default=0.0, help=share.format("events sent twice")
    )
    parser.add_argument(
        "--ws-reorders", type=float, default=0.0, help=share.format("events sent late")
    )
    parser.add_argument(
        "--ws-drop-every", type=float, default=None, help="close each stream after N seconds"
    )
    return parser


def main() -> None:
    """Command line: run the harness and print its report as JSON."""
    parser = _parser()
    args = parser.parse_args()
    try:
        mix = FaultMix(
            rate_limit=args.rate_limit,
            bans=args.bans,
            server_errors=args.server_errors,
            lost_acks=args.lost_acks,
            ws_drops=args.ws_drops,
            ws_duplicates=args.ws_duplicates,
            ws_reorders=args.ws_reorders,
            ws_drop_every_s=args.ws_drop_every,
        )
    except ValueError as exc:  # "<field>: ...": the option is the field's name, dashed
        name, _, problem = str(exc).partition(":")
        parser.error(f"--{name.replace('_', '-')}:{problem}")
    try:
        report = run_chaos(
            args.cycles,
            database_url=args.database_url,
            seed=args.seed,
            workdir=args.workdir,
            data=args.data,
            market=args.market,
            fault_mix=mix,
        )
    except RuntimeError as exc:  # a used database, an exchange or a bot that misbehaved
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(report.as_json(), indent=2))
    sys.exit(1 if report.violations else 0)


if __name__ == "__main__":
    main()
