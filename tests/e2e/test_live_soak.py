"""A short soak: a paper bot in timed mode, reconciling at every candle, never halts.

The paper exchange replays real candles on its own clock (``--speed``: timed mode, market
time runs whether the bot keeps up or not) and the bot trades on it through ccxt, each in
its own process, with the reconciler due at every candle (``interval_s`` 5, in market time,
shorter than a candle): each reconciliation is a chance for a fill to land between its
reads. A healthy account must never halt, and at the end the bot's books must equal the
exchange's ledger. ``benchmarks/paper_soak.py`` is the long version (10 minutes).
"""

import re
from pathlib import Path
from typing import Any

import pytest

from market_maker.config.loader import load_config
from tests.support.paper_binance import wait_until
from tests.support.paper_process import (
    BotProcess,
    audit_books,
    live_config,
    paper_exchange_process,
    sample_slice,
)

pytestmark = pytest.mark.timeout(240)

CANDLES = 200
"""Real 1-minute candles replayed: a fall of about 1,000 USDT and a small rebound."""
SPEED = 4.0
"""Candles per second of wall time: the replay takes 50 s."""


def test_a_paper_bot_in_timed_mode_reconciling_every_candle_never_halts(tmp_path: Path) -> None:
    data = sample_slice(tmp_path, CANDLES, 1700)
    exchange_config = live_config(tmp_path, None, "usdm", name="exchange.yaml")
    with paper_exchange_process(
        tmp_path, "usdm", config=exchange_config, data=data, speed=SPEED
    ) as px:
        control = px.control
        config_path = live_config(tmp_path, px.url, "usdm", risk={"reconciler": {"interval_s": 5}})
        config = load_config(config_path)
        bot = BotProcess(config_path, tmp_path)
        states: set[str] = set()

        def at_the_end() -> bool:
            running = bot.alive()
            status: dict[str, Any] | None = bot.status()
            if status is None:
                return False
            states.add(status["risk_state"])
            market = control.market()
            if market.done and status["last_update_ms"] >= (market.last_open_ms or 0):
                return True
            assert running, f"the bot exited before the end: {bot.err[-3000:]}"
            return False

        try:
            wait_until(at_the_end, "the bot at the last candle", CANDLES / SPEED + 120)
            assert bot.stop() == 0, bot.err
        finally:
            bot.kill()
        status = bot.status()
        books, mismatches = audit_books(config, control)
        ledger = control.ledger()
    assert status is not None
    assert "HALTED" not in states | {status["risk_state"]}, (states, status["halt"], bot.err)
    assert status["halt"] is None
    assert mismatches == [], mismatches
    assert "Traceback" not in bot.err, bot.err
    assert len(ledger.fills) >= 10 and not ledger.duplicates
    assert {f.side.value for f in ledger.fills} == {"BUY", "SELL"}
    found = re.search(r"reconciliations: ([\d,]+) run, ([\d,]+) read again", bot.out)
    assert found is not None, bot.out
    # due at every candle; one that comes due while the bot is behind covers the candles
    # it skips, so fewer than CANDLES run, but many (17 seen on a machine running four
    # other test suites at once; timed mode lets a loaded bot fall behind)
    assert int(found.group(1).replace(",", "")) >= 10, bot.out
    assert books.fees_paid > 0
