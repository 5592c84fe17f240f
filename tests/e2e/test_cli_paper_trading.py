"""``market-maker run`` without a configuration (paper trading), stopped by Ctrl-C.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group. The paper
exchange is the bot's child process; it must survive the signal (its ledger is what the
bot's books are checked against), and market time must stop before the bot does, so the
bot books every fill the exchange made: the run ends with the summary and books that agree.
Market time starts only after the bot has read the account at its first price, so the
summary's initial equity is the account's starting balance.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from market_maker.cli.paper_trading import paper_config_path
from market_maker.config.app import DurableConfig
from market_maker.config.loader import load_config
from market_maker.live.status import bot_status

pytestmark = pytest.mark.timeout(240)

CANDLE_MS = 60_000
CANDLES_BEFORE_CTRL_C = 40
DEADLINE_S = 150.0
POLL_S = 0.2


def test_ctrl_c_stops_market_time_first_then_prints_the_summary_and_books_that_agree(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "market_maker", "run", "--speed", "20", "--quiet"]
    bot = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a shell's foreground job
    )
    database = tmp_path / "out" / "paper" / "paper.db"
    database.parent.mkdir(parents=True, exist_ok=True)  # the config checks that it exists
    config = load_config(paper_config_path()).model_copy(
        update={"durable": DurableConfig(database_url=f"sqlite:///{database}")}
    )
    try:
        deadline = time.monotonic() + DEADLINE_S
        first_ms = None
        while True:  # let it trade a while: a real state, polled with a deadline
            assert bot.poll() is None, bot.communicate()
            assert time.monotonic() < deadline, "the paper run did not get going"
            status = bot_status(config) if database.exists() else None
            if status and status["last_update_ms"] > 0:
                first_ms = first_ms or status["last_update_ms"]
                if status["last_update_ms"] >= first_ms + CANDLES_BEFORE_CTRL_C * CANDLE_MS:
                    break
            time.sleep(POLL_S)
        os.killpg(bot.pid, signal.SIGINT)  # Ctrl-C: the bot and its paper exchange
        out, err = bot.communicate(timeout=120)
    finally:
        if bot.poll() is None:
            os.killpg(bot.pid, signal.SIGKILL)
            bot.communicate()
    assert bot.returncode == 0, out + err
    assert "Paper run BTC/USDT:USDT" in out
    # measured from the bot's first price, before market time ran: the account as funded
    assert re.search(r"initial equity +│ +10,000(\.0+)? USDT", out), out
    assert "books agree with the exchange's ledger" in out, out
    assert "Traceback" not in err
    assert "error:" not in err
