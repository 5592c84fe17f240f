"""The operations guide's runbooks, walked with the real CLI on a paper bot.

One paper exchange (manual market time) and the bot as separate processes, as an operator
runs them; every operator step is the `market-maker` command the runbook gives, run in a
subprocess, and each runbook ends with its "verify" step. Manual trades on the bot's
account (what causes a divergence) go through the unmodified ccxt client.

Runbooks walked: reconciliation divergence (the halt, its reason in `status`, the dry run,
the fix, `risk reset`), a halt by hand (`risk halt`, then `risk reset`), stuck slot (`slot
release` refused while the order rests, queued while the bot is down and carried out at its
start), graceful shutdown (`stop` with `cancel_on_exit`), crash recovery (SIGKILL,
`status`, restart), and at the end the bot's books still equal the exchange's ledger;
then, on crafted candles (a selling climax, then a steady fall), risk mode triggered
(`risk reset`) and the circuit breaker tripped on drawdown (`breaker reset`).
"""

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from market_maker.config.credentials import PAPER_API_KEY, PAPER_API_SECRET
from market_maker.config.loader import load_config
from market_maker.paper.connect import point_ccxt_at
from market_maker.slots.client_ids import id_prefix
from tests.support.paper_binance import wait_until
from tests.support.paper_process import (
    BotProcess,
    PaperProcess,
    audit_books,
    live_config,
    paper_exchange_process,
    sample_slice,
    wait_for_bot,
)

pytestmark = pytest.mark.timeout(300)

SYMBOL = "BTC/USDT"


def mm(config: Path, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    """``market-maker ARGS --config CONFIG`` as the operator types it."""
    result = subprocess.run(
        [sys.executable, "-m", "market_maker", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    if check is not None:
        assert result.returncode == check, result.stdout + result.stderr
    return result


def mm_json(config: Path, *args: str, check: int | None = 0) -> Any:
    return json.loads(mm(config, *args, "--json", check=check).stdout)


def manual_client(url: str) -> Any:
    """The operator's own ccxt client on the bot's account (a trade by hand)."""
    import ccxt

    exchange = ccxt.binance({"apiKey": PAPER_API_KEY, "secret": PAPER_API_SECRET})
    point_ccxt_at(exchange, url)
    exchange.load_markets()
    return exchange


def advance_until(px: PaperProcess, predicate: Any, what: str, step: int = 2) -> None:
    """Move market time a few candles at a time until ``predicate()`` holds."""

    def moved() -> bool:
        if predicate():
            return True
        px.control.advance(step)
        return False

    wait_until(moved, what, 90)


def test_the_runbooks_walked_on_a_paper_bot(tmp_path: Path) -> None:
    data = sample_slice(tmp_path, 600, 1700)
    exchange_config = live_config(tmp_path, None, "spot", name="exchange.yaml")
    with paper_exchange_process(tmp_path, "spot", config=exchange_config, data=data) as px:
        config = live_config(
            tmp_path,
            px.url,
            "spot",
            venue={"cancel_on_exit": True},
            # the monitor off: a real volume spike in the data would put the bot in risk mode
            # at a moment of the market's choosing (its runbook has its own test)
            risk={"reconciler": {"interval_s": 120}, "monitor": {"enabled": False}},
        )
        bot_config = load_config(config)
        control = px.control
        control.advance(1)
        bot = BotProcess(config, tmp_path, name="bot1")
        wait_for_bot(bot, lambda s: len(s["open_orders"]) > 0, "the first grid")
        status = mm_json(config, "status")
        assert status["running"] is True and status["risk_state"] == "NORMAL"
        assert status["run"]["stopped_ms"] is None

        # -- runbook: reconciliation divergence --------------------------------------------
        # symptom: someone buys on the bot's account by hand; the next reconciliation halts
        hand = manual_client(px.url)
        hand.create_order(SYMBOL, "market", "buy", 0.01)
        advance_until(
            px,
            lambda: mm_json(config, "status")["risk_state"] == "HALTED",
            "the reconciler's halt",
        )
        status = mm_json(config, "status")
        assert status["halt"]["kind"] == "position_divergence", status["halt"]
        assert "exchange position" in status["halt"]["reason"]
        shown = mm(config, "status").stdout
        assert "HALTED" in shown and "position_divergence" in shown  # the reason, in words
        preview = mm_json(config, "reconcile")  # a dry run by default
        assert preview["status"] == "done" and preview["result"]["dry_run"] is True
        assert "Halt" in [c["kind"] for c in preview["result"]["corrections"]]
        # fix: undo the manual trade; the dry run then finds nothing to correct
        hand.create_order(SYMBOL, "market", "sell", 0.01)
        preview = mm_json(config, "reconcile")
        assert preview["result"]["corrections"] == [], preview
        reset = mm_json(config, "risk", "reset")
        assert reset["status"] == "done" and reset["result"]["after"] == "NORMAL", reset
        # verify: NORMAL, trading again, and the next reconciliations do not halt
        placed = len(control.ledger().orders)
        advance_until(px, lambda: len(control.ledger().orders) > placed, "orders after the reset")
        px.control.advance(130)  # past the next periodic reconciliation
        market = control.market()
        wait_for_bot(bot, lambda s: market.seen_by(s["last_update_ms"]), "the bot caught up")
        status = mm_json(config, "status")
        assert status["risk_state"] == "NORMAL" and status["halt"] is None, status["halt"]

        # -- runbook: halt by hand (the kill switch) and resume ------------------------------
        halted = mm_json(config, "risk", "halt", "--reason", "exchange maintenance")
        assert halted["status"] == "done" and halted["result"]["after"] == "HALTED", halted
        status = mm_json(config, "status")
        assert status["halt"]["kind"] == "operator_halt", status["halt"]
        assert status["halt"]["reason"].startswith("exchange maintenance (cli:"), status["halt"]
        wait_for_bot(
            bot,
            lambda s: all(o["role"] == "CLOSE" for o in s["open_orders"]),
            "the openings cancelled by the halt",
        )
        reset = mm_json(config, "risk", "reset")
        assert reset["result"]["after"] == "NORMAL", reset

        advance_until(px, lambda: len(mm_json(config, "fills")) >= 2, "fills of the bot", 5)

        # -- runbook: stuck slot -------------------------------------------------------------
        # market time stands still from here: once the bot decided at the last price, its
        # resting orders change no more; pick one both the bot and the exchange hold open
        # (the bot's published view may lag a fill by a couple of seconds)
        def resting_orders() -> list[dict[str, Any]]:
            market = control.market()
            wait_for_bot(bot, lambda s: market.seen_by(s["last_update_ms"]), "the bot caught up")
            on_exchange = {o["clientOrderId"] for o in hand.fetch_open_orders(SYMBOL)}
            booked = mm_json(config, "orders")
            return [
                o for o in booked if o["status"] == "NEW" and o["client_order_id"] in on_exchange
            ]

        # none may rest at this candle (all filled on the way): let the market move on a bit
        advance_until(px, lambda: bool(resting_orders()), "a resting order", 1)
        resting = resting_orders()[0]
        refused = mm_json(config, "slot", "release", resting["level"], check=1)
        assert refused["status"] == "refused"
        assert "still open on the exchange" in refused["result"]["message"]

        # -- runbook: crash recovery ---------------------------------------------------------
        bot.process.kill()  # kill -9: no chance to save
        bot.process.wait(30)
        shown = mm(config, "status").stdout
        assert "stopped without a clean exit" in shown, shown
        # the order is cancelled by hand on the exchange while the bot is down, and the
        # operator queues a command, which the bot carries out at its start
        hand.cancel_order(None, SYMBOL, {"origClientOrderId": resting["client_order_id"]})
        queued = mm(config, "orders", "cancel-openings").stdout
        assert "queued; the bot is not running" in queued, queued
        bot = BotProcess(config, tmp_path, name="bot2")
        wait_for_bot(bot, lambda s: s["state_version"] > status["state_version"], "a restart")
        wait_until(
            lambda: mm_json(config, "commands")[0]["status"] != "pending",
            "the queued command",
            60,
        )
        done = mm_json(config, "commands")[0]
        assert done["kind"] == "cancel_openings" and done["status"] == "done", done
        # the start-up reconciliation booked the order cancelled by hand: nothing to release
        booked = [o["client_order_id"] for o in mm_json(config, "orders")]
        assert resting["client_order_id"] not in booked
        refused = mm_json(config, "slot", "release", resting["level"], check=1)
        assert "no order in flight" in refused["result"]["message"], refused
        assert mm_json(config, "status")["running"] is True

        # -- runbook: graceful shutdown ------------------------------------------------------
        stopped = mm_json(config, "stop")
        assert stopped["status"] == "done", stopped
        assert bot.wait() == 0, bot.err
        assert "stopped after" in bot.out and "state saved" in bot.out
        status = mm_json(config, "status")
        assert status["running"] is False and status["run"]["stopped_ms"] is not None
        left = control.ledger()
        still_open = [o for o in left.orders if o.state.status.value in ("NEW", "PARTIALLY_FILLED")]
        # cancel_on_exit: the openings (buys of this long grid) were cancelled at the stop
        assert all(o.request.side.value == "SELL" for o in still_open), still_open
        assert mm(config, "stop", check=2).stderr.startswith("error: bot")  # not running

        # the fill table, whole and by time (the bot is stopped: read from its database)
        fills = mm_json(config, "fills")
        prefix = id_prefix(bot_config.bot_id, bot_config.symbol)
        own = [f for f in left.fills if f.client_order_id.startswith(prefix)]
        assert len(fills) == len(own) >= 2
        middle = fills[len(fills) // 2]["ts_ms"]
        later = mm_json(config, "trades", "--since", str(middle))
        assert later == [f for f in fills if f["ts_ms"] >= middle]
        assert mm_json(config, "fills", "--limit", "1") == fills[-1:]
        bad = mm(config, "fills", "--since", "yesterday", check=2)
        assert "--since: expected epoch milliseconds or an ISO 8601 time" in bad.stderr

        # the books still equal the exchange's ledger to the last digit (the manual trades
        # were not the bot's: its position offset carries them)
        _, mismatches = audit_books(bot_config, control)
        assert mismatches == [], mismatches


def crafted_candles(folder: Path) -> Path:
    """A calm hour, a selling climax (20x volume, closing low), calm, then a steady fall."""
    t0, rows = 1_747_180_800_000, ["timestamp_ms,open,high,low,close,volume"]
    price = 100_000
    for i in range(70):
        close = price + (20 if i % 2 else -20)
        rows.append(f"{t0 + i * 60_000},{price},{price + 30},{price - 30},{close},10")
        price = close
    rows.append(f"{t0 + 70 * 60_000},{price},{price + 10},99500,99550,200")  # the spike
    price = 99_550
    for i in range(71, 80):
        rows.append(f"{t0 + i * 60_000},{price},{price + 20},{price - 20},{price},10")
    for i in range(80, 110):  # down 40 a minute on ordinary volume: buys fill, equity falls
        rows.append(f"{t0 + i * 60_000},{price},{price + 5},{price - 45},{price - 40},10")
        price -= 40
    path = folder / "crafted.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_risk_mode_and_breaker_runbooks_walked_on_a_paper_bot(tmp_path: Path) -> None:
    data = crafted_candles(tmp_path)
    exchange_config = live_config(tmp_path, None, "spot", name="exchange.yaml")
    with paper_exchange_process(tmp_path, "spot", config=exchange_config, data=data) as px:
        config = live_config(
            tmp_path,
            px.url,
            "spot",
            risk={"breaker": {"max_drawdown_quote": "10"}},  # the spike costs ~3.5
        )
        control = px.control
        control.advance(65)  # the monitor's window (60 candles) filled with calm
        bot = BotProcess(config, tmp_path, name="risk")
        wait_for_bot(bot, lambda s: len(s["open_orders"]) > 0, "the first grid")

        # -- runbook: risk mode triggered ----------------------------------------------------
        advance_until(
            px,
            lambda: mm_json(config, "status")["risk_state"] == "RISK_MODE",
            "risk mode after the selling climax",
            1,
        )
        assert control.market().index <= 73  # at the spike, not by the end of the data
        shown = mm(config, "status").stdout
        assert "RISK_MODE" in shown
        wait_for_bot(
            bot,
            lambda s: all(o["role"] == "CLOSE" for o in s["open_orders"]),
            "the openings cancelled",
        )
        reset = mm_json(config, "risk", "reset")
        assert reset["status"] == "done", reset
        assert (reset["result"]["before"], reset["result"]["after"]) == ("RISK_MODE", "NORMAL")
        # verify: NORMAL, and opening orders again at the next decisions
        advance_until(
            px,
            lambda: any(o["role"] == "OPEN" for o in mm_json(config, "orders")),
            "openings after the reset",
            1,
        )
        assert mm_json(config, "status")["risk_state"] == "NORMAL"

        # -- runbook: circuit breaker tripped ------------------------------------------------
        advance_until(
            px,
            lambda: mm_json(config, "status")["risk_state"] == "HALTED",
            "the breaker on the fall",
            1,
        )
        status = mm_json(config, "status")
        assert status["halt"]["kind"] == "drawdown_quote", status["halt"]
        assert "reached the limit of 10" in status["halt"]["reason"]
        assert "halted by" in mm(config, "status").stdout
        reset = mm_json(config, "breaker", "reset")
        assert reset["status"] == "done" and reset["result"]["before"] == "HALTED", reset
        # verify: the breaker re-armed from the equity now: NORMAL and no halt reason
        status = mm_json(config, "status")
        assert status["risk_state"] == "NORMAL" and status["halt"] is None, status
        kinds = [c["kind"] for c in mm_json(config, "commands")]
        assert kinds == ["breaker_reset", "risk_reset"]  # the audit log, newest first
        assert bot.stop() == 0, bot.err


def test_a_second_signal_exits_at_once_and_the_next_start_resumes(tmp_path: Path) -> None:
    data = sample_slice(tmp_path, 300, 1700)
    exchange_config = live_config(tmp_path, None, "spot", name="exchange.yaml")
    with paper_exchange_process(tmp_path, "spot", config=exchange_config, data=data) as px:
        config = live_config(tmp_path, px.url, "spot", venue={"cancel_on_exit": True})
        control = px.control
        control.advance(1)
        bot = BotProcess(config, tmp_path, name="first", args=("--quiet",))
        wait_for_bot(bot, lambda s: len(s["open_orders"]) > 0, "the first grid")
        before = mm_json(config, "status")["state_version"]
        # every request now fails: the graceful stop's cancels retry with backoff, slowly
        control.set_faults({"server_error_rate": 1.0})
        bot.process.send_signal(signal.SIGTERM)
        wait_until(lambda: "stopping: finishing the decision" in bot.err, "the first signal", 30)
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait() == 130, bot.err
        assert "second signal: exiting now without saving" in bot.err
        assert "Traceback" not in bot.err
        shown = mm(config, "status").stdout
        assert "stopped without a clean exit" in shown, shown
        # the next start resumes: it reconciles, trades on, and stops cleanly
        control.set_faults({"server_error_rate": 0.0})
        bot = BotProcess(config, tmp_path, name="second")
        wait_for_bot(bot, lambda s: s["state_version"] > before, "the restart")
        assert mm_json(config, "status")["running"] is True
        assert bot.stop() == 0, bot.err
        _, mismatches = audit_books(load_config(config), control)
        assert mismatches == [], mismatches
        assert not control.ledger().duplicates
