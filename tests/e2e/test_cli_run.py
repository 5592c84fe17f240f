"""``market-maker run`` as a user runs it: against a paper exchange process, and paper trading."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paper_binance import wait_until
from tests.support.paper_process import (
    BotProcess,
    live_config,
    paper_exchange_process,
    sample_slice,
    wait_for_bot,
)

pytestmark = pytest.mark.timeout(180)


def test_a_config_that_disagrees_with_the_venue_exits_2_naming_field_values_and_fix(
    tmp_path: Path,
) -> None:
    with paper_exchange_process(tmp_path, "usdm") as px:
        px.control.advance(1)
        config = live_config(tmp_path, px.url, "usdm", instrument={"tick_size": "0.01"})
        bot = BotProcess(config, tmp_path)
        assert bot.wait(60) == 2, bot.err
        ledger = px.control.ledger()
    err = bot.err
    assert err.startswith(
        f"error: the configuration disagrees with binanceusdm at {px.url} on BTC/USDT:USDT:"
    ), err
    assert "instrument.tick_size: the configuration says 0.01 but the venue says 0.1" in err
    assert "fix: set instrument.tick_size to 0.1" in err
    assert "Traceback" not in bot.out + err
    assert not ledger.orders  # refused before anything was placed
    assert not (tmp_path / "bot.db").exists()  # and before the engine started


def test_runs_decides_on_the_venues_prices_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with paper_exchange_process(tmp_path, "usdm") as px:
        control = px.control
        control.advance(5)
        bot = BotProcess(live_config(tmp_path, px.url, "usdm"), tmp_path)
        try:
            wait_until(lambda: bot.alive() and bool(control.ledger().orders), "a grid", 60)
            target = control.advance(3)
            last = control.market().last_open_ms
            wait_for_bot(bot, lambda s: s["last_update_ms"] >= last, "the bot at candle 8")
            assert bot.stop() == 0, bot.err
        finally:
            bot.kill()
        resting = [o for o in control.ledger().orders if o.state.status.name == "NEW"]
    assert target == 8
    assert resting  # it placed its grid and left it resting
    assert "stopped after" in bot.out and f"on binanceusdm at {px.url}" in bot.out
    assert "order reports:" in bot.out
    assert "Traceback" not in bot.err


def test_paper_trading_without_a_config_prints_the_summary_and_the_books_agree(
    tmp_path: Path,
) -> None:
    data = sample_slice(tmp_path, 600, 1700)
    command = [
        sys.executable, "-m", "market_maker", "run", "--quiet", "--speed", "200",
        "--data", str(data),
    ]  # fmt: skip
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=150, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "paper trading BTC/USDT:USDT through ccxt (binanceusdm)" in out
    assert "Paper run BTC/USDT:USDT" in out and "realized PnL" in out
    assert "books agree with the exchange's ledger" in out, out
    assert "Traceback" not in done.stderr
    assert (tmp_path / "out" / "paper" / "paper.db").exists()
