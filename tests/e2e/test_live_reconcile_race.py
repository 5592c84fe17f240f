"""The reconciler's race through the real path: a running bot, ccxt, the paper exchange.

The paper exchange runs in manual time and the bot (``market-maker run --config``) in its
own process, reconciling at every candle (USD-M unless said). Two cases:

* **A fill between two reads is no divergence** (spot and USD-M). The exchange's one-shot
  trigger (``advance_after`` on the open-orders path) moves the market, filling a resting buy,
  right after it answered the reconciler's open-orders request and before the reconciler
  asks for the balances and the position. Open orders from before the fill and a position
  from after it differ by the order's size; a reconciler comparing them halts (with
  ``divergence_confirmations: 1`` it would halt at once). The bot must notice the fill
  among its reads, read again, and go on trading: no halt, books equal to the ledger.
* **A real divergence still halts.** Another ccxt client on the same account buys at
  market behind the bot's back. At its next reconciliation the bot sees the position
  differ, reads again to confirm (``divergence_confirmations: 2``), and halts:
  ``market-maker status`` shows ``HALTED`` and the divergence.
"""

import csv
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest

from market_maker.domain.enums import OrderStatus, Side
from market_maker.paper.connect import point_ccxt_at
from tests.support.paper_binance import wait_until
from tests.support.paper_process import (
    BotProcess,
    Market,
    PaperProcess,
    audit_books,
    live_config,
    paper_exchange_process,
    sample_slice,
    wait_for_bot,
)

pytestmark = pytest.mark.timeout(240)

START = 1700
"""Where in the bundled sample: the price falls, so resting buys fill."""
CANDLES = 400
"""Candles the exchange holds."""
OPEN_ORDERS: dict[Market, str] = {"spot": "/api/v3/openOrders", "usdm": "/fapi/v1/openOrders"}
"""The open-orders path of each market kind, which the reconciler reads before the balances."""


@contextmanager
def steady_bot(
    tmp_path: Path, confirmations: int, market: Market = "usdm"
) -> Iterator[tuple[PaperProcess, BotProcess]]:
    """The exchange in manual time and a bot with a grid, caught up, between candles."""
    data = sample_slice(tmp_path, CANDLES, START)
    exchange_config = live_config(tmp_path, None, market, name="exchange.yaml")
    with paper_exchange_process(tmp_path, market, config=exchange_config, data=data) as px:
        reconciler = {"interval_s": 60, "divergence_confirmations": confirmations}
        config = live_config(tmp_path, px.url, market, risk={"reconciler": reconciler})
        control = px.control
        control.advance(1)
        bot = BotProcess(config, tmp_path)
        try:
            wait_until(lambda: bot.alive() and bool(control.ledger().orders), "a grid", 90)
            for _ in range(3):  # a few candles: the stream's start-up REST passes are over
                step(px, bot, 1)
            yield px, bot
        finally:
            bot.kill()


def step(px: PaperProcess, bot: BotProcess, candles: int) -> int:
    """Advance ``candles`` and wait until the bot has decided at the last one; the index."""
    index = px.control.advance(candles)
    last = px.control.market().last_open_ms
    assert last is not None
    wait_for_bot(bot, lambda s: s["last_update_ms"] >= last, f"the bot at candle {index}")
    return index


def lows(data: Path) -> list[Decimal]:
    """The low of every candle of ``data``; candle ``i`` (numbered from 1) at ``i - 1``."""
    with data.open() as file:
        return [Decimal(row["low"]) for row in csv.DictReader(file)]


def top_resting_buy(px: PaperProcess) -> Decimal:
    """The highest price of the buys resting on the exchange."""
    prices = [
        o.state.price
        for o in px.control.ledger().orders
        if o.state.status is OrderStatus.NEW and o.request.side is Side.BUY
    ]
    assert prices, "no resting buy"
    return max(prices)


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_a_fill_landing_between_the_reconcilers_reads_is_no_divergence(
    tmp_path: Path, market: Market
) -> None:
    with steady_bot(tmp_path, confirmations=1, market=market) as (px, bot):
        control = px.control
        low = lows(tmp_path / f"sample_{START}_{CANDLES}.csv")
        index = control.market().index
        while low[index] <= top_resting_buy(px):  # the next candle would fill it itself:
            index = step(px, bot, 1)  # the fill must come from the trigger's candles
        top = top_resting_buy(px)
        # candles after the next one until one reaches the top buy: the trigger adds them
        k = next(k for k, price in enumerate(low[index + 1 :], start=1) if price <= top)
        fills_before = len(control.ledger().fills)
        trigger_ms = control.market().last_open_ms
        control.set_faults({"advance_after": {"path": OPEN_ORDERS[market], "candles": k}})
        step(px, bot, 1)  # the bot reconciles at this candle; the trigger fires inside
        fired = control.faults()["injected"].get("advance_after", 0)
        last = control.market().last_open_ms
        wait_for_bot(bot, lambda s: s["last_update_ms"] >= (last or 0), "the bot after the race")
        step(px, bot, 2)  # trading goes on
        status = bot.status()
        assert bot.stop() == 0, bot.err
        books, mismatches = audit_books(bot.config, control)
        ledger = control.ledger()
    assert fired == 1, "the trigger did not fire"
    assert trigger_ms is not None
    raced = [f for f in ledger.fills[fills_before:] if f.ts_ms > trigger_ms + 60_000]
    assert raced, "no fill landed between the reconciler's reads"
    assert status is not None and status["risk_state"] != "HALTED", (status, bot.err)
    assert status["halt"] is None
    found = re.search(r"reconciliations: ([\d,]+) run, ([\d,]+) read again", bot.out)
    assert found is not None and int(found.group(2)) >= 1, bot.out  # it noticed and re-read
    assert "position_divergence" not in bot.err and "Traceback" not in bot.err, bot.err
    assert mismatches == [], mismatches
    assert any(f.client_order_id == raced[0].client_order_id for f in books.fills)


def test_a_position_changed_behind_the_bots_back_halts_it_after_confirmation(
    tmp_path: Path,
) -> None:
    with steady_bot(tmp_path, confirmations=2) as (px, bot):
        control = px.control
        position_before = control.position("BTC")
        intruder = ccxt.binanceusdm({"apiKey": "paper-key", "secret": "paper-secret"})
        point_ccxt_at(intruder, px.url)
        intruder.load_markets()
        intruder.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
        assert control.position("BTC") == position_before + Decimal("0.01")
        control.advance(1)  # the bot's next reconciliation is due at this candle
        wait_for_bot(bot, lambda s: s["risk_state"] == "HALTED", "the halt", 90)
        status = bot.status()
        command = ["status", "--config", str(tmp_path / "bot.yaml")]
        shown = subprocess.run(
            [sys.executable, "-m", "market_maker", *command],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert bot.stop() == 0, bot.err
    assert status is not None and status["halt"] is not None, status
    halt = status["halt"]
    assert halt["kind"] == "position_divergence"
    assert "exchange position" in halt["reason"] and "book expects" in halt["reason"]
    # the divergence was seen once, read again, and only then acted on
    assert "seen 1 of the 2 consecutive times" in bot.err, bot.err
    assert shown.returncode == 0, shown.stderr
    assert "HALTED" in shown.stdout and "position_divergence" in shown.stdout, shown.stdout
