"""Screenshots of the web dashboard and the HTML backtest report, for the README.

Usage::

    make screenshots
    .venv/bin/python scripts/screenshots.py [--out DIR] [--only dashboard|report]
        [--candles N] [--speed X]    # the dashboard's replay (default: 360 candles at 6/s)

Both pictures are made the way a user makes what they show, with the installed
``market-maker`` command, and taken in Debian's headless Chromium driven by Playwright
(``scripts/ensure_chromium.sh`` installs it; no browser is downloaded):

- ``backtest_report.png``: ``market-maker backtest --html`` on the bundled sample with the
  packaged configuration, opened once plotly has drawn every chart;
- ``dashboard.png``: ``market-maker paper-exchange`` replaying a slice of the bundled
  sample and ``market-maker run --config`` trading the packaged paper grid on it, each in
  its own process; the page is taken once the bot has traded the whole slice and the page
  shows its slots, fills and charts; then ``market-maker stop`` stops the bot and the
  exchange gets SIGTERM.

Everything runs in a temporary folder, the operations endpoint and the exchange on free
ports, and no process outlives the script, even when a step fails or times out. Same data,
same configuration, same viewport: a re-run gives the same picture but for the wall-clock
times and the few fills that depend on when the bot polled. It prints what it wrote, with
sizes; exit status 0, or 1 with the reason.
"""

import argparse
import json
import os
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import IO, Any

import yaml
from playwright.sync_api import Browser, FloatRect, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from market_maker.cli.paper_trading import Pacer
from market_maker.data.sample import sample_candles_path
from market_maker.domain.errors import MarketMakerError
from market_maker.paper.control import PaperControl

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (``scripts/ensure_chromium.sh``)."""
WIDTH = 1400
"""Viewport width of both pictures, CSS pixels (= PNG pixels)."""
REPORT_HEIGHT = 1300
"""Viewport height for the report (the picture runs from the top to below the charts)."""
MARGIN = 16
"""White space kept below the report's charts, pixels."""
START, CANDLES = 2900, 360
"""The slice of the bundled sample the paper exchange replays: six hours of a range."""
SPEED = 6.0
"""Candles replayed per second: the bot publishes a view (a chart point) every 2 s."""
START_S = 90.0
"""Longest wait for a process to start listening (imports on a loaded machine)."""
STEP_S = 120.0
"""Longest wait for any other step (the replay, the page, a stop)."""
TOKEN = "screenshots-dashboard-token"
"""The bot's dashboard token (its controls are enabled; nothing here uses them)."""


class ScreenshotError(Exception):
    """A step did not happen in time or a process failed; the message says which."""


@dataclass(frozen=True)
class Shot:
    """A picture written: its file, pixel size, bytes and the slot rows it shows."""

    path: Path
    width: int
    height: int
    size_bytes: int
    slot_rows: int | None = None

    def describe(self) -> str:
        """One line: path, pixel size, kilobytes (and slot rows for the dashboard)."""
        rows = "" if self.slot_rows is None else f", {self.slot_rows} slot rows"
        path = self.path.resolve()
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        return (
            f"wrote {shown} ({self.width}x{self.height} px, {self.size_bytes / 1024:.0f} KB{rows})"
        )


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (raises when it is not a PNG)."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ScreenshotError(f"{path}: expected a PNG file, found {head[:8]!r}")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def shot_of(path: Path, slot_rows: int | None = None) -> Shot:
    """The ``Shot`` of a picture just written."""
    width, height = png_size(path)
    return Shot(path, width, height, path.stat().st_size, slot_rows)


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float = STEP_S) -> None:
    """Poll ``condition`` every 0.1 s until it holds; ``ScreenshotError`` after the deadline."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise ScreenshotError(f"timed out after {deadline_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def cli(*args: str) -> list[str]:
    """The command line of ``market-maker ARGS`` with this interpreter's installation."""
    return [sys.executable, "-m", "market_maker", *args]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright, closed at the end of the block."""
    if not CHROMIUM.exists():
        raise ScreenshotError(f"{CHROMIUM} not found: run scripts/ensure_chromium.sh")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, height: int) -> tuple[Page, list[str]]:
    """A page of the standard width; the list collects its script and loading errors."""
    page = browser.new_page(viewport={"width": WIDTH, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda r: errors.append(f"{r.url}: {r.failure}"))
    return page, errors


def shoot_report(browser: Browser, out: Path, work: Path) -> Shot:
    """``backtest_report.png``: the report of the packaged backtest on the bundled sample."""
    report = work / "report.html"
    done = subprocess.run(
        cli("backtest", "--html", str(report)),
        capture_output=True,
        text=True,
        timeout=STEP_S,
        check=False,
    )
    if done.returncode != 0:
        raise ScreenshotError(f"market-maker backtest exited {done.returncode}: {done.stderr}")
    page, errors = new_page(browser, REPORT_HEIGHT)
    page.goto(report.as_uri())
    page.wait_for_function(
        "() => { const charts = document.querySelectorAll('.plotly-graph-div');"
        " return charts.length > 0"
        " && [...charts].every(c => c.querySelector('.scatterlayer .trace'));"
        " }",
        timeout=STEP_S * 1000,
    )
    if errors:
        raise ScreenshotError(f"the report page failed: {errors}")
    bottom = page.evaluate(
        "Math.max(...[...document.querySelectorAll('.plotly-graph-div')]"
        ".map(c => c.getBoundingClientRect().bottom + window.scrollY))"
    )
    path = out / "backtest_report.png"
    clip: FloatRect = {"x": 0, "y": 0, "width": WIDTH, "height": round(bottom) + MARGIN}
    page.screenshot(path=str(path), type="png", full_page=True, clip=clip)
    page.close()
    return shot_of(path)


class Process:
    """A ``market-maker`` command in its own process; stdout read line by line on a thread."""

    def __init__(self, args: list[str], work: Path, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.err_path = work / f"{name}.err"
        self.lines: queue.Queue[str | None] = queue.Queue()
        # no exchange keys of the user's are passed on: the paper exchange needs none
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MAKER_API")}
        with self.err_path.open("w") as err:
            self.process = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=err, text=True, env={**environ, **env}
            )
        assert self.process.stdout is not None
        self._reader = threading.Thread(
            target=self._forward, args=(self.process.stdout,), daemon=True
        )
        self._reader.start()

    def _forward(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_line(self, prefix: str) -> str:
        """The first line printed that starts with ``prefix`` (the prefix removed)."""
        deadline = time.monotonic() + START_S
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise ScreenshotError(
                    f"{self.name} printed no {prefix!r} line in {START_S:.0f} s"
                ) from None
            if line is None:
                raise ScreenshotError(
                    f"{self.name} exited before printing {prefix!r}: {self.stderr_tail()}"
                )
            if line.startswith(prefix):
                return line.removeprefix(prefix).strip()

    def stderr_tail(self) -> str:
        """The end of what it printed on stderr."""
        return self.err_path.read_text()[-2000:]

    def check_alive(self) -> bool:
        """True while it runs; ``ScreenshotError`` once it has exited."""
        code = self.process.poll()
        if code is not None:
            raise ScreenshotError(f"{self.name} exited with {code}: {self.stderr_tail()}")
        return True

    def exited(self) -> int:
        """Its exit status once it exits by itself; ``ScreenshotError`` after the deadline."""
        try:
            return self.process.wait(STEP_S / 4)
        except subprocess.TimeoutExpired:
            raise ScreenshotError(f"{self.name} still runs {STEP_S / 4:.0f} s later") from None

    def end(self) -> int:
        """SIGTERM if it still runs, SIGKILL after the deadline; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(STEP_S / 4)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(STEP_S / 4)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code


def bot_config(work: Path, exchange_url: str | None, name: str = "bot.yaml") -> Path:
    """The packaged paper bot (``examples/paper.yaml``) on the paper exchange at the URL.

    Its state goes to a SQLite file in ``work``, its endpoint to a free port; a price that
    stops with the data stays "fresh" for 10 minutes, so the page does not say stale.
    """
    raw: dict[str, Any] = yaml.safe_load(
        files("market_maker.examples").joinpath("paper.yaml").read_text()
    )
    raw["venue"] = {**raw["venue"], "url": exchange_url}
    raw["durable"] = {"database_url": f"sqlite:///{work / 'bot.db'}"}
    raw["operations"] = {"http_port": 0, "stale_price_s": 600}
    path = work / name
    path.write_text(yaml.safe_dump(raw))
    return path


def sample_slice(work: Path, candles: int) -> Path:
    """``candles`` candles of the bundled sample from ``START``, as a CSV file."""
    header, *rows = sample_candles_path().read_text().splitlines(keepends=True)
    path = work / "candles.csv"
    path.write_text(header + "".join(rows[START : START + candles]))
    return path


def get_json(url: str) -> Any:
    """A GET answered with JSON."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def shoot_dashboard(
    browser: Browser, out: Path, work: Path, candles: int = CANDLES, speed: float = SPEED
) -> Shot:
    """``dashboard.png``: the dashboard of the paper bot after it traded the whole slice."""
    market_config = bot_config(work, None, "exchange.yaml")  # account, market and rules
    exchange = Process(
        cli("paper-exchange", "--port", "0", "--speed", "0", "--config", str(market_config),
            "--data", str(sample_slice(work, candles))),
        work, "paper-exchange", {},
    )  # fmt: skip
    bot: Process | None = None
    pacer: Pacer | None = None
    try:
        exchange_url = exchange.wait_line("listening on ")
        control = PaperControl(exchange_url)
        config = bot_config(work, exchange_url)
        total = control.market().total
        control.advance(1)  # a first price for the first grid
        bot = Process(
            cli("run", "--config", str(config), "--quiet"),
            work, "bot", {"MARKET_MAKER_DASHBOARD_TOKEN": TOKEN},
        )  # fmt: skip
        url = bot.wait_line("operations: ").split()[0]
        running = bot
        wait_for(lambda: running.check_alive() and bool(control.ledger().orders), "a first grid")
        pacer = Pacer(control, speed, total)
        pacer.start()
        wait_for(lambda: running.check_alive() and control.market().done, "the end of the data")
        market = control.market()
        wait_for(
            lambda: market.seen_by(int(get_json(f"{url}/api/view")["last_update_ms"] or 0)),
            "the bot's decision at the last price",
        )
        caught_up_ms = int(get_json(f"{url}/api/view")["wall_ms"])
        wait_for(
            lambda: int(get_json(f"{url}/api/view")["wall_ms"]) > caught_up_ms,
            "a view published after the last price",
        )
        rows = dashboard_page(browser, url, out / "dashboard.png")
        stopped = subprocess.run(
            cli("stop", "--config", str(config)),
            capture_output=True,
            text=True,
            timeout=STEP_S,
            check=False,
        )
        if stopped.returncode != 0:
            raise ScreenshotError(f"market-maker stop exited {stopped.returncode}: {stopped}")
        if (code := bot.exited()) != 0:
            raise ScreenshotError(f"the bot exited with {code} after stop: {bot.stderr_tail()}")
        return shot_of(out / "dashboard.png", rows)
    finally:
        if pacer is not None:
            pacer.stop()
        if bot is not None:
            bot.end()
        exchange.end()


def dashboard_page(browser: Browser, url: str, path: Path) -> int:
    """Open the dashboard, wait until it shows slots, fills and charts, take it; slot rows."""
    page, errors = new_page(browser, 900)
    page.goto(url)
    page.wait_for_function(
        """() => {
          const drawn = (id) => document.querySelector(`#${id} .scatterlayer .trace`) !== null;
          const price = document.getElementById('price-chart').data || [];
          const fills = price.filter(t => t.name.startsWith('fill'))
            .reduce((n, t) => n + t.x.length, 0);
          return document.body.dataset.refreshed !== undefined
            && document.querySelectorAll('#slots tbody tr').length > 0
            && fills > 0
            && ['price-chart', 'pnl-chart', 'inventory-chart'].every(drawn)
            && document.getElementById('health').textContent.startsWith('health: ');
        }""",
        timeout=STEP_S * 1000,
    )
    if errors:
        raise ScreenshotError(f"the dashboard failed: {errors}")
    rows = page.locator("#slots tbody tr").count()
    page.screenshot(path=str(path), type="png", full_page=True)
    page.close()
    return rows


def candle_count(text: str) -> int:
    """``--candles``: a whole number from 2 (a first grid, then a price) to ``CANDLES``."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 2 <= value <= CANDLES:
        raise argparse.ArgumentTypeError(f"expected a whole number from 2 to {CANDLES}: {text}")
    return value


def speed_value(text: str) -> float:
    """``--speed``: candles per second, more than 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of candles per second > 0: {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Take the screenshots asked for; print what was written. Exit status 0, or 1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--only", choices=("dashboard", "report"))
    parser.add_argument(
        "--candles",
        type=candle_count,
        default=CANDLES,
        metavar=f"2..{CANDLES}",
        help="dashboard: candles replayed (the test replays fewer)",
    )
    parser.add_argument(
        "--speed", type=speed_value, default=SPEED, help="dashboard: candles replayed per second"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp, chromium() as browser:
            work = Path(tmp)
            if args.only in (None, "report"):
                print(shoot_report(browser, out, work).describe(), flush=True)
            if args.only in (None, "dashboard"):
                shot = shoot_dashboard(browser, out, work, args.candles, args.speed)
                print(shot.describe(), flush=True)
    except (ScreenshotError, PlaywrightError, MarketMakerError, OSError) as exc:
        # a step timed out, a process or the browser failed, an endpoint stopped answering
        print(f"screenshots: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
