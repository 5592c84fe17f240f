"""``market-maker run`` as a user runs it, against a paper exchange in its own process."""

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.live.status import bot_status
from market_maker.paper import PaperExchange

pytestmark = pytest.mark.timeout(180)

DEADLINE_S = 60.0
POLL_S = 0.1


@pytest.fixture
def exchange_url(tmp_path: Path) -> Iterator[str]:
    """A paper exchange (packaged backtest config, bundled sample, manual time)."""
    command = [sys.executable, "-m", "market_maker", "paper-exchange", "--port", "0"]
    with (tmp_path / "exchange.log").open("w") as log:
        proc = subprocess.Popen(
            [*command, "--speed", "0"], stdout=subprocess.PIPE, stderr=log, text=True
        )
    assert proc.stdout is not None
    try:
        found = None
        for _ in range(5):  # the URL line follows a line about the data
            if found := re.search(r"http://\S+", proc.stdout.readline()):
                break
        assert found is not None, "the paper exchange did not print its URL"
        yield found.group(0)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()


def bot_config(tmp_path: Path, url: str, **changes: Any) -> Path:
    raw = yaml.safe_load(default_backtest_config_path().read_text())
    raw["venue"] = {"url": url, "poll_interval_s": 0.05}
    raw["durable"] = {"database_url": f"sqlite:///{tmp_path / 'bot.db'}"}
    for section, values in changes.items():
        raw[section] = {**raw.get(section, {}), **values}
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_bot(config: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "market_maker", "run", "--config", str(config)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_config_that_disagrees_with_the_venue_exits_2_naming_field_values_and_fix(
    tmp_path: Path, exchange_url: str
) -> None:
    config = bot_config(tmp_path, exchange_url, instrument={"tick_size": "0.01"})
    bot = run_bot(config)
    out, err = bot.communicate(timeout=60)
    assert bot.returncode == 2, err
    assert err.startswith(
        f"error: the configuration disagrees with binance at {exchange_url} on BTC/USDT:USDT:"
    )
    assert "instrument.tick_size: the configuration says 0.01 but the venue says 0.1" in err
    assert "fix: set instrument.tick_size to 0.1" in err
    assert "Traceback" not in out + err
    assert not (tmp_path / "bot.db").exists()  # refused before the engine started


def test_runs_decides_on_the_venues_prices_and_stops_cleanly_on_sigterm(
    tmp_path: Path, exchange_url: str
) -> None:
    config_path = bot_config(tmp_path, exchange_url)
    config = load_config(config_path)
    venue = PaperExchange(exchange_url)
    venue.advance(5)
    bot = run_bot(config_path)
    try:
        deadline = time.monotonic() + DEADLINE_S
        target = None
        while True:  # wait for the bot to reach the venue's latest candle, then move it on
            assert bot.poll() is None, bot.communicate()[1]
            assert time.monotonic() < deadline, "the bot did not keep up with the market"
            status = bot_status(config) if (tmp_path / "bot.db").exists() else None
            latest = venue.latest()
            assert latest.candle is not None
            if status and status["last_update_ms"] >= latest.candle.open_time_ms:
                if latest.index >= 8:
                    break
                target = venue.advance(1).index
            time.sleep(POLL_S)
        assert target == 8
        assert venue.open_orders(config.symbol)  # it placed its grid
        bot.send_signal(signal.SIGTERM)
        out, err = bot.communicate(timeout=60)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.communicate()
    assert bot.returncode == 0, err
    assert "stopped after 8 candles" in out
    assert "Traceback" not in err
