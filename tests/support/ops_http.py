"""A paper bot with its operations endpoint, as the e2e and browser tests run it.

``running_bot`` starts ``market-maker paper-exchange`` and ``market-maker run --config``
(HTTP on port 0, a dashboard token in the bot's environment), reads the URL the bot
prints, trades ``candles`` candles of the bundled sample at high speed and yields once the
bot has decided at the last price and published a view after it. ``scrape`` parses
``/metrics``; ``call`` makes a plain HTTP request and returns status and JSON answer.
"""

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from market_maker.cli.paper_trading import Pacer
from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.paper.control import PaperControl
from tests.support.paper_binance import wait_until
from tests.support.paper_process import (
    BotProcess,
    live_config,
    paper_exchange_process,
    sample_slice,
    wait_until_caught_up,
)

TOKEN = "e2e-dashboard-token-7f3a"
"""The dashboard token the bot gets in its environment."""
START = 1700
"""Where in the sample: a fall, then a rise (buys, then sells)."""
URL_LINE = re.compile(r"operations: (http://\S+) \(metrics /metrics, health /health, dashboard /\)")


@dataclass
class RunningBot:
    """A bot trading on a paper exchange, with its endpoint."""

    url: str
    bot: BotProcess
    config: AppConfig
    config_path: Path
    control: PaperControl


def call(
    url: str, method: str = "GET", body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    """One HTTP request; its status and its JSON answer (None when the answer is not JSON)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` as {(sample name, sorted labels without bot_id and symbol): value}."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k not in LABELS))
            samples[(s.name, labels)] = s.value
    return samples


LABELS = ("bot_id", "symbol")


def cli_json(config_path: Path, *command: str) -> Any:
    """``market-maker COMMAND --config FILE --json`` run as a user would; its JSON output."""
    done = subprocess.run(
        [sys.executable, "-m", "market_maker", *command, "--config", str(config_path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def endpoint_url(bot: BotProcess) -> str:
    """The URL the bot printed once its endpoint listened."""
    found: list[str] = []

    def printed() -> bool:
        bot.alive()
        match = URL_LINE.search(bot.out)
        if match:
            found.append(match.group(1))
        return bool(match)

    wait_until(printed, "the bot's operations URL", 60)
    return found[0]


@contextmanager
def running_bot(
    folder: Path,
    candles: int,
    *,
    speed: float = 80.0,
    operations: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[RunningBot]:
    """A spot bot that traded ``candles`` candles and waits at the last price (see above)."""
    data = sample_slice(folder, candles, START)
    exchange_config = live_config(folder, None, "spot", name="exchange.yaml")
    with paper_exchange_process(folder, "spot", config=exchange_config, data=data) as px:
        config_path = live_config(
            folder,
            px.url,
            "spot",
            operations={"http_port": 0, "stale_price_s": 3600, **(operations or {})},
        )
        control = px.control
        total = control.market().total
        control.advance(1)  # a first price to decide on
        bot = BotProcess(
            config_path,
            folder,
            env={"MARKET_MAKER_DASHBOARD_TOKEN": TOKEN} if env is None else env,
        )
        pacer = Pacer(control, speed, total)
        try:
            url = endpoint_url(bot)
            wait_until(lambda: bot.alive() and bool(control.ledger().orders), "the first grid", 60)
            pacer.start()
            wait_until_caught_up(bot, control, 120)
            pacer.stop()
            caught_up_ms = int(call(f"{url}/api/view")[1]["wall_ms"])
            # a view published after the bot caught up: what it shows is final
            wait_until(
                lambda: int(call(f"{url}/api/view")[1]["wall_ms"]) > caught_up_ms + 2000,
                "a view published after the last price",
                30,
            )
            yield RunningBot(url, bot, load_config(config_path), config_path, control)
            assert bot.stop() == 0, bot.err
        finally:
            pacer.stop()
            bot.kill()
