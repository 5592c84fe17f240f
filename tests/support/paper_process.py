"""The paper exchange and the bot as separate processes, as a user runs them.

``paper_exchange_process`` starts ``market-maker paper-exchange --port 0`` and reads its
"listening on URL" line (a reader thread hands it over through a queue: a bounded wait,
no sleep); ``BotProcess`` runs ``market-maker run --config`` with its output in files (so
a test can search them for a secret); ``live_config`` writes a bot's configuration for
either Binance market kind; ``audit_books`` compares the bot's database with the
exchange's ledger exactly (``market_maker.live.audit``).
"""

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import yaml

from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.data.sample import sample_candles_path
from market_maker.domain.instrument import split_symbol
from market_maker.live.audit import Books, ExchangeLedger, Mismatch, audit, books_from_status
from market_maker.live.audit import ledger_view as audit_ledger_view
from market_maker.live.status import booked_fill_rows, bot_status
from market_maker.paper.control import PaperControl
from market_maker.paper.paper_json import Ledger
from market_maker.slots.client_ids import id_prefix
from tests.support.paper_binance import wait_until

Market = Literal["spot", "usdm"]

START_DEADLINE_S = 60.0
"""Longest wait for a process to print its URL (imports on a loaded 2-core machine)."""
STOP_DEADLINE_S = 30.0
"""Longest wait for a process to exit after SIGTERM."""

SYMBOLS: dict[Market, tuple[str, str]] = {
    "spot": ("binance", "BTC/USDT"),
    "usdm": ("binanceusdm", "BTC/USDT:USDT"),
}
"""The ccxt exchange id and unified symbol of each market kind."""

GRID = {
    "mode": "long",
    "spacing": "arithmetic",
    "base_interval": "50",
    "buy_window": 5,
    "sell_window": 5,
    "order_qty": "0.002",
    "max_inventory": "0.03",
    "skew_factor": "0.0005",
    "safety_buffer": "0.1",
    "requote_tolerance": "0.25",
}
"""The packaged paper bot's grid (``examples/paper.yaml``): it fills often on the sample."""


def sample_slice(folder: Path, candles: int, start: int = 0) -> Path:
    """``candles`` real candles of the bundled sample from index ``start``, as a CSV file."""
    header, *rows = sample_candles_path().read_text().splitlines(keepends=True)
    assert start + candles <= len(rows), f"the sample has {len(rows)} candles"
    path = folder / f"sample_{start}_{candles}.csv"
    path.write_text(header + "".join(rows[start : start + candles]))
    return path


def live_config(
    folder: Path,
    url: str | None,
    market: Market,
    *,
    streams: bool = True,
    name: str = "bot.yaml",
    **sections: Mapping[str, Any],
) -> Path:
    """A bot's configuration (also the paper exchange's: symbol, balances, rules) in ``folder``.

    ``sections`` are merged over the defaults, section by section.
    """
    exchange, symbol = SYMBOLS[market]
    raw: dict[str, Any] = {
        "bot_id": f"e2e{market}",
        "symbol": symbol,
        "grid": GRID,
        "backtest": {
            "initial_quote": "10000",
            "maker_fee": "0.0002",
            "taker_fee": "0.0005",
            "spot": market == "spot",
        },
        "instrument": {
            "tick_size": "0.1",
            "step_size": "0.001",
            "min_qty": "0.001",
            "min_notional": "5",
        },
        "venue": {
            "exchange": exchange,
            "url": url,
            "streams": streams,
            "poll_interval_s": 0.05,
            "timeout_s": 10,
        },
        "durable": {"database_url": f"sqlite:///{folder / 'bot.db'}"},
        "operations": {"http_port": 0},  # tests may run bots side by side
    }
    for section, values in sections.items():
        raw[section] = {**raw.get(section, {}), **values}
    path = folder / name
    path.write_text(yaml.safe_dump(raw))
    return path


@dataclass
class PaperProcess:
    """A running ``market-maker paper-exchange``: its URL, its process and a control client."""

    url: str
    process: "subprocess.Popen[str]"
    control: PaperControl
    lines: list[str] = field(default_factory=list)


def _forward(stream: IO[str], lines: "queue.Queue[str | None]") -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


@contextmanager
def paper_exchange_process(
    folder: Path,
    market: Market,
    *,
    config: Path | None = None,
    data: Path | None = None,
    speed: float = 0.0,
    extra: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[PaperProcess]:
    """Run ``market-maker paper-exchange`` on a free port until the block ends (SIGTERM)."""
    command = [
        sys.executable, "-m", "market_maker", "paper-exchange", "--port", "0",
        "--market", market, "--speed", f"{speed:g}", *extra,
    ]  # fmt: skip
    if config is not None:
        command += ["--config", str(config)]
    if data is not None:
        command += ["--data", str(data)]
    log = (folder / f"paper-{market}.err").open("w")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_forward, args=(process.stdout, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        url = None
        while url is None:
            line = lines.get(timeout=START_DEADLINE_S)
            if line is None:
                raise AssertionError(
                    f"the paper exchange exited before listening: {seen} "
                    f"{(folder / f'paper-{market}.err').read_text()[-2000:]}"
                )
            seen.append(line)
            if line.startswith("listening on "):
                url = line.removeprefix("listening on ").strip()
        yield PaperProcess(url, process, PaperControl(url), seen)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(STOP_DEADLINE_S)  # reads to the end of the output, then the pipe closes
        process.stdout.close()
        log.close()


RUNNING: list["BotProcess"] = []
"""Every bot process a test started; the suite's conftest kills those left after each test."""


def kill_leftover_bots() -> None:
    """SIGKILL every bot process still running (a test that failed half-way left it)."""
    while RUNNING:
        RUNNING.pop().kill()


class BotProcess:
    """``market-maker run --config CONFIG`` in its own process; output in files.

    Args:
        config: The configuration file.
        folder: Where ``bot-N.out`` / ``bot-N.err`` are written.
        env: Extra environment (credentials).
        name: Distinguishes the output files of several runs in one folder.
    """

    def __init__(
        self,
        config: Path,
        folder: Path,
        *,
        env: Mapping[str, str] | None = None,
        name: str = "bot",
        args: tuple[str, ...] = ("--quiet",),
    ) -> None:
        self.config = load_config(config)
        RUNNING.append(self)
        self.out_path = folder / f"{name}.out"
        self.err_path = folder / f"{name}.err"
        command = [sys.executable, "-m", "market_maker", "run", "--config", str(config), *args]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MAKER_API")}
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=err, text=True, env={**environ, **(env or {})}
            )

    @property
    def out(self) -> str:
        """What it printed on stdout so far."""
        return self.out_path.read_text()

    @property
    def err(self) -> str:
        """What it printed on stderr so far."""
        return self.err_path.read_text()

    def alive(self) -> bool:
        """Still running (fails the caller with its stderr if it died with an error)."""
        code = self.process.poll()
        if code not in (None, 0):
            raise AssertionError(f"the bot exited with {code}: {self.err[-3000:]}")
        return code is None

    def wait(self, timeout_s: float = STOP_DEADLINE_S) -> int:
        """Wait for it to exit; its exit status."""
        return self.process.wait(timeout_s)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and wait for it to exit; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.wait()

    def kill(self) -> None:
        """SIGKILL it if it still runs (cleanup)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def status(self) -> dict[str, Any] | None:
        """Its state as ``market-maker status`` shows it (None before it saved any)."""
        return bot_status(self.config)


def wait_for_bot(bot: BotProcess, predicate: Any, what: str, deadline_s: float = 60.0) -> None:
    """Poll ``predicate(status)`` on the bot's saved state while the bot runs."""

    def check() -> bool:
        running = bot.alive()
        status = bot.status()
        if status is not None and predicate(status):
            return True
        if not running:
            raise AssertionError(f"the bot exited before {what}: {bot.err[-3000:]}")
        return False

    wait_until(check, what, deadline_s)


def wait_until_caught_up(bot: BotProcess, control: PaperControl, deadline_s: float) -> None:
    """Until the exchange replayed its last step and the bot decided at its price."""
    wait_until(lambda: control.market().done, "the end of the data", deadline_s)
    market = control.market()
    wait_for_bot(
        bot, lambda s: market.seen_by(s["last_update_ms"]), "the bot's last price", deadline_s
    )


def ledger_of(config: AppConfig, control: PaperControl) -> ExchangeLedger:
    """The exchange's side of the audit."""
    base, _ = split_symbol(config.symbol)
    prefix = id_prefix(config.bot_id, config.symbol)
    return audit_ledger_view(control.ledger(), control.position(base), prefix)


def books_of(config: AppConfig) -> Books:
    """The bot's side of the audit, from its database."""
    status = bot_status(config)
    assert status is not None, "the bot left no state"
    return books_from_status(status, booked_fill_rows(config))


def audit_books(config: AppConfig, control: PaperControl) -> tuple[Books, list[Mismatch]]:
    """The bot's books and every way they differ from the exchange's ledger."""
    books = books_of(config)
    return books, audit(books, ledger_of(config, control))


def trade_to_the_end(
    config_path: Path,
    folder: Path,
    control: PaperControl,
    speed: float,
    args: tuple[str, ...] = ("--quiet",),
) -> BotProcess:
    """Run the bot from the exchange's first step to its last at ``speed``, then stop it.

    Market time takes one step (a first price), waits for the bot's first grid, then runs
    at ``speed`` steps per second until the data ends and the bot has seen its last price;
    the bot must then stop cleanly (SIGTERM, status 0). ``args`` follow ``run --config``.
    """
    from market_maker.cli.paper_trading import Pacer

    total = control.market().total
    control.advance(1)  # a first price to decide on
    bot = BotProcess(config_path, folder, args=args)
    pacer = Pacer(control, speed, total)
    try:
        wait_until(lambda: bot.alive() and bool(control.ledger().orders), "the first grid", 60)
        pacer.start()
        wait_until_caught_up(bot, control, 90)
        pacer.stop()
        assert bot.stop() == 0, bot.err
    finally:
        pacer.stop()
        bot.kill()
    return bot


def checked_books(
    config: AppConfig, control: PaperControl, bot: BotProcess
) -> tuple[Books, Ledger]:
    """The bot's books and the exchange's ledger, once checked to agree after a clean run.

    The books equal the ledger to the last digit, the bot printed no traceback, the grid
    bought and sold back, and the fees booked are the fills' fees.
    """
    from decimal import Decimal

    books, mismatches = audit_books(config, control)
    ledger = control.ledger()
    assert mismatches == [], mismatches
    assert "Traceback" not in bot.err, bot.err
    placed = [(o.request.side.value, o.state.status.value) for o in ledger.orders]
    sides = {f.side.value for f in ledger.fills}
    assert sides == {"BUY", "SELL"}, f"the grid did not buy and sell back: {placed}"
    assert books.fees_paid == sum((f.last_fee for f in ledger.fills), Decimal(0)) > 0
    return books, ledger
