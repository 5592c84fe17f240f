"""``market-maker run`` without a configuration: paper trading from start to finish.

1. start the paper exchange in a child process (``market-maker paper-exchange``) on the
   bundled sample (or ``--data``), serving the Binance USD-M API, with market time paused
   after the first candle; once the bot has connected and decided at that candle's price
   (and its tracker has read the account), market time runs at ``--speed`` candles per
   second (a ``Pacer`` thread advances it on a fixed schedule), so the bot sees every
   candle;
2. run the packaged paper bot (``examples/paper.yaml``) against it through ccxt and the
   Durable engine on a fresh SQLite database in ``out/paper/``, with live progress;
3. when the exchange has replayed its last candle and the bot has decided on it, stop the
   bot, print the same summary as a backtest, and check the bot's books against the
   exchange's ledger (fills booked once, position, realized PnL, fees, open orders).

Ctrl-C (or SIGTERM) ends the run early the same way: market time stops first, the bot
catches up with the last candle, then the summary and the audit follow. The exchange runs
in a process group of its own, so a terminal's Ctrl-C reaches only the bot (the exchange
must outlive it for the audit). A second Ctrl-C stops at once, without them.

The CLI imports this module only for that command (it pulls in ccxt and DBOS).
"""

import itertools
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from types import FrameType
from typing import IO

from rich.console import Console

from market_maker.backtest.report_terminal import print_summary
from market_maker.config.app import AppConfig, DurableConfig
from market_maker.config.loader import load_config
from market_maker.domain.errors import MarketMakerError
from market_maker.domain.instrument import split_symbol
from market_maker.live.audit import audit, books_from_status, ledger_view
from market_maker.live.progress import ProgressView
from market_maker.live.run_summary import RunTracker, print_audit, run_result
from market_maker.live.runner import LiveRunner
from market_maker.live.session import run_live
from market_maker.live.status import booked_fill_rows, bot_status
from market_maker.paper.control import PaperControl

PAPER_DIR = Path("out/paper")
"""Where a paper run keeps its database (emptied at the start of each run)."""
DEFAULT_SPEED = 40.0
"""Candles per second of the replay: the 4,320-candle sample in under two minutes."""
START_TIMEOUT_S = 60.0
"""Longest wait for the paper exchange to listen."""
CHECK_EVERY_S = 1.0
"""How often the run asks the exchange whether its data is exhausted."""


def paper_config_path() -> Path:
    """The packaged paper-trading configuration."""
    return Path(str(files("market_maker.examples").joinpath("paper.yaml")))


class Pacer:
    """Advances the paper exchange one candle every ``1 / speed`` seconds, on a thread.

    The schedule is fixed from the start (candle ``k`` is due ``k / speed`` seconds after
    it), so a slow answer does not make the replay drift. It stops at the end of the data,
    at ``stop``, or when the exchange stops answering.
    """

    def __init__(self, control: PaperControl, speed: float, total: int) -> None:
        self.control = control
        self.total = total
        self.interval_s = 1.0 / speed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paper-pacer", daemon=True)

    def start(self) -> None:
        """Start advancing (once)."""
        if self._thread.ident is None and not self._stop.is_set():
            self._thread.start()

    def stop(self) -> None:
        """Stop advancing and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def halt(self) -> None:
        """Stop advancing without waiting (safe in a signal handler); see ``frozen``."""
        self._stop.set()

    @property
    def frozen(self) -> bool:
        """Halted, and no advance is in flight any more: market time no longer moves."""
        return self._stop.is_set() and not self._thread.is_alive()

    def _run(self) -> None:
        started, due = time.monotonic(), 1
        while not self._stop.wait(max(started + due * self.interval_s - time.monotonic(), 0)):
            try:
                index = self.control.advance(1)
            except MarketMakerError:
                return
            if index >= self.total:
                return
            due += 1


class EndOfData:
    """The runner's hook: the progress display, then a stop once the data is exhausted.

    Every ``CHECK_EVERY_S`` it asks the exchange (``/paper/market``) whether it replayed
    its last candle; once it has, and the bot has decided at that candle's price, the run
    stops. After ``interrupt`` it stops the same way at the candle where market time
    stopped.
    """

    def __init__(
        self,
        control: PaperControl,
        progress: Callable[[LiveRunner], None],
        pacer: Pacer,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.control = control
        self.progress = progress
        self.pacer = pacer
        self.monotonic = monotonic
        self.interrupted = False
        self._signals = itertools.count()  # signals received so far
        self._next_check = float("-inf")
        self._frozen_polls = 0

    def interrupt(self) -> None:
        """Ctrl-C: stop market time; the run stops once the bot has caught up with it.

        Raises:
            KeyboardInterrupt: On the second call: stop at once.
        """
        if next(self._signals):  # one step: a nested second handler cannot slip in between
            raise KeyboardInterrupt
        self.interrupted = True
        self.pacer.halt()

    def __call__(self, runner: LiveRunner) -> None:
        """After a poll: start market time, show progress; stop when the data is done."""
        self.progress(runner)  # first: the run's tracker reads the balances at the bot's price
        self.pacer.start()  # the bot is connected and has decided: let time run
        if self.interrupted:
            self._stop_when_caught_up(runner)
            return
        now = self.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + CHECK_EVERY_S
        market = self.control.market()
        if market.done and market.seen_by(runner.engine.state.last_update_ms):
            runner.request_stop()

    def _stop_when_caught_up(self, runner: LiveRunner) -> None:
        if not self.pacer.frozen:
            return
        self._frozen_polls += 1
        if self._frozen_polls < 2:  # this poll may have begun before the last advance
            return
        if self.control.market().seen_by(runner.engine.state.last_update_ms):
            runner.request_stop()


@contextmanager
def interrupts_to(handler: Callable[[], None]) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM call ``handler`` (the main thread only)."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        handler()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class PaperExchangeProcess:
    """A ``market-maker paper-exchange`` child process on a free port.

    Its output is read on background threads (a full pipe would block it); the last lines
    of its error output are kept for messages. ``stop`` terminates it and closes the pipes.
    """

    def __init__(self, config_path: Path, data: Path | None, speed: float, market: str) -> None:
        command = [
            sys.executable, "-m", "market_maker", "paper-exchange", "--config",
            str(config_path), "--port", "0", "--speed", f"{speed:g}", "--market", market,
        ]  # fmt: skip
        if data is not None:
            command += ["--data", str(data)]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            process_group=0,  # a terminal's Ctrl-C goes to the bot only, not the exchange
        )
        self.errors: deque[str] = deque(maxlen=40)
        self._found: list[str] = []
        self._ready = threading.Event()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read_out, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._read_err, args=(self.process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        if not self._ready.wait(START_TIMEOUT_S) or not self._found:
            self.stop()
            raise MarketMakerError(
                "the paper exchange did not start: " + "".join(self.errors).strip()[-800:]
            )
        self.url = self._found[0]

    def _read_out(self, stream: IO[str]) -> None:
        for line in stream:
            if line.startswith("listening on "):
                self._found.append(line.removeprefix("listening on ").strip())
                self._ready.set()
        self._ready.set()  # it exited before listening

    def _read_err(self, stream: IO[str]) -> None:
        for line in stream:
            self.errors.append(line)

    def stop(self) -> None:
        """Terminate it (SIGTERM, then SIGKILL after 10 s) and close its pipes."""
        process = self.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for reader in self._readers:
            reader.join(5)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def fresh_database(folder: Path) -> str:
    """An empty SQLite database in ``folder`` (a previous paper run's is removed).

    Raises:
        MarketMakerError: The folder cannot be created or emptied (a file or a folder in
            the way, permissions); the message names the path and the fix.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("paper.db*"):
            stale.unlink()
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else folder
        # A file where a folder should be: name that file, not the folder under it.
        ancestors = reversed([where, *where.parents])
        blocker = next((p for p in ancestors if p.exists() and not p.is_dir()), where)
        raise MarketMakerError(
            f"paper trading keeps its state in {folder}/ under the working folder and cannot "
            f"prepare it: {blocker.absolute()}: {exc.strerror}\n  fix: move "
            f"{blocker.absolute()} away, or run from another folder"
        ) from None
    return f"sqlite:///{folder / 'paper.db'}"


def run_paper_trading(
    console: Console,
    *,
    data: Path | None = None,
    speed: float = DEFAULT_SPEED,
    quiet: bool = False,
    folder: Path = PAPER_DIR,
) -> bool:
    """Paper-trade the packaged bot to the end of the data; True when its books match."""
    config_path = paper_config_path()
    base = load_config(config_path)
    market = "spot" if base.backtest.spot else "usdm"
    exchange = PaperExchangeProcess(config_path, data, 0.0, market)
    url = exchange.url
    pacer: Pacer | None = None
    try:
        control = PaperControl(url)
        total = control.market().total
        control.advance(1)  # the first candle: a price to decide at before time runs
        pacer = Pacer(control, speed, total)
        config = base.model_copy(
            update={
                "venue": base.venue.model_copy(update={"url": url}),
                "durable": DurableConfig(database_url=fresh_database(folder)),
            }
        )
        console.print(
            f"paper trading {config.symbol} through ccxt ({config.venue.exchange}) on the "
            f"paper exchange at {url}: {total:,} candles at {speed:g} per second; state in "
            f"{folder}/"
        )
        tracker = RunTracker(config.symbol)
        if quiet:
            hook = EndOfData(control, tracker.on_poll, pacer)
            with interrupts_to(hook.interrupt):
                runner = run_live(config, observer=tracker, on_poll=hook, handle_signals=False)
        else:
            with ProgressView(tracker, console, candles_total=total) as view:
                hook = EndOfData(control, view, pacer)
                with interrupts_to(hook.interrupt):
                    runner = run_live(config, observer=tracker, on_poll=hook, handle_signals=False)
        pacer.stop()
        return report(console, config, runner, tracker, control)
    finally:
        if pacer is not None:
            pacer.stop()
        exchange.stop()


def report(
    console: Console,
    config: AppConfig,
    runner: LiveRunner,
    tracker: RunTracker,
    control: PaperControl,
) -> bool:
    """Print the run's summary and the audit of its books; True when the books match."""
    base, _ = split_symbol(config.symbol)
    if tracker.started:
        result = run_result(
            tracker,
            runner.engine,
            runner.counts.candles,
            config=config.model_dump(mode="json"),
            final_balances=control.balances(),
        )
        print_summary(result, console, "Paper run")
    status = bot_status(config)
    if status is None:
        raise MarketMakerError(f"the bot left no state in {config.durable.database_url}")
    books = books_from_status(status, booked_fill_rows(config))
    ledger = ledger_view(control.ledger(), control.position(base))
    return print_audit(audit(books, ledger), books, ledger, console)
