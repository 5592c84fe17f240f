"""``market-maker run --config`` logs and alerts, end to end, against the paper exchange.

The paper exchange and the bot are separate processes, as a user runs them
(``tests.support.paper_process``). The bot writes JSON log lines to a file
(``--log-format json --log-file F``): every order it placed, cancelled or had rejected and
every fill must be a line carrying the slot, the client order id and the DBOS workflow id,
and the lines must match the exchange's own ledger one for one.

Then an outage: the exchange answers every API request 502/503 for a while. The bot must
log it once when it starts and once when it ends, and send its ``exchange_errors`` and
``exchange_recovered`` alerts to a real webhook receiver and a stand-in Telegram Bot API
on localhost, without its Telegram token ever reaching its output.
"""

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from market_maker.slots.client_ids import id_prefix
from tests.support.alert_receivers import Receiver, telegram_api, webhook_receiver
from tests.support.paper_binance import wait_until
from tests.support.paper_process import (
    BotProcess,
    live_config,
    paper_exchange_process,
    sample_slice,
    trade_to_the_end,
    wait_for_bot,
)

pytestmark = pytest.mark.timeout(240)

ACTIONS = {"order placed", "order rejected", "order cancelled", "order cancel: already finished"}
TOKEN = "5550001:AAH-e2e_token_that_must_never_show"
CHAT = "777001"


def log_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSON log file, parsed (each must be one JSON object)."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        assert {"timestamp", "level", "logger", "event"} <= set(line), line
    return lines


def test_every_order_and_fill_is_a_json_line_with_slot_client_order_id_and_workflow(
    tmp_path: Path,
) -> None:
    data = sample_slice(tmp_path, 1200, 1700)  # a fall, then a rise: buys, then sells
    log = tmp_path / "bot.log"
    exchange_config = live_config(tmp_path, None, "spot", name="exchange.yaml")
    with paper_exchange_process(tmp_path, "spot", config=exchange_config, data=data) as px:
        config_path = live_config(tmp_path, px.url, "spot")
        args = ("--quiet", "--log-format", "json", "--log-file", str(log))
        bot = trade_to_the_end(config_path, tmp_path, px.control, 100, args=args)
        ledger = px.control.ledger()
    assert bot.err.strip() == "", bot.err  # the lines went to the file, not to stderr
    lines = log_lines(log)
    prefix = id_prefix(bot.config.bot_id, bot.config.symbol)

    actions = [line for line in lines if line["event"] in ACTIONS]
    for line in actions:
        assert line["workflow_id"].startswith(f"{prefix}cycle-"), line
        assert line["client_order_id"].startswith(prefix), line
        Decimal(line["slot"])  # a grid level, exactly
    sent = [line for line in actions if line["action"] == "PLACE"]
    assert Counter(line["client_order_id"] for line in sent) == Counter(
        o.request.client_order_id for o in ledger.orders
    )  # each order the exchange holds was logged once, and nothing else
    rejected = {
        o.request.client_order_id for o in ledger.orders if o.state.status.value == "REJECTED"
    }
    assert {
        line["client_order_id"] for line in sent if line["event"] == "order rejected"
    } == rejected
    assert any(line["action"] == "CANCEL" for line in actions)

    fills = [line for line in lines if line["event"] == "fill"]
    assert len(ledger.fills) > 5
    assert sorted((f["client_order_id"], Decimal(f["qty"])) for f in fills) == sorted(
        (f.client_order_id, f.last_fill_qty) for f in ledger.fills
    )
    for line in fills:
        assert line["workflow_id"].startswith(prefix) and Decimal(line["slot"]) > 0, line
    assert {line["side"] for line in fills} == {"BUY", "SELL"}


def placed_grid(status: dict[str, Any]) -> bool:
    """The bot's first grid rests on the exchange (no order is waiting for its answer)."""
    orders = status["open_orders"]
    return len(orders) >= 5 and all(o["status"] == "NEW" for o in orders)


def kinds(receiver: Receiver, seen: list[Any]) -> list[str]:
    """The alert kinds a receiver got so far (``seen`` accumulates the bodies)."""
    seen += [r.body for r in receiver.drain()]
    return [b["kind"] if "kind" in b else b["text"].split("\n")[0].split()[-1] for b in seen]


def test_an_outage_is_logged_once_each_way_and_alerted_to_a_webhook_and_telegram(
    tmp_path: Path,
) -> None:
    log = tmp_path / "bot.log"
    data = sample_slice(tmp_path, 200)
    exchange_config = live_config(tmp_path, None, "usdm", name="exchange.yaml")
    with (
        webhook_receiver() as hook,
        telegram_api(TOKEN, frozenset({CHAT})) as telegram,
        paper_exchange_process(tmp_path, "usdm", config=exchange_config, data=data) as px,
    ):
        alerts = {
            "webhook_url": f"{hook.url}/market-maker",
            "telegram_chat_id": int(CHAT),
            "telegram_api_url": telegram.url,
            "min_interval_s": 0,
            "outage_failures": 1,
        }
        config_path = live_config(tmp_path, px.url, "usdm", streams=False, alerts=alerts)
        px.control.advance(1)
        args = ("--quiet", "--log-format", "json", "--log-file", str(log))
        bot = BotProcess(
            config_path, tmp_path, env={"MARKET_MAKER_TELEGRAM_TOKEN": TOKEN}, args=args
        )
        hooked: list[Any] = []
        texts: list[Any] = []
        try:
            wait_for_bot(bot, placed_grid, "the first grid, placed")
            px.control.set_faults({"server_error_rate": 1.0})  # the exchange goes away
            wait_until(lambda: "exchange_errors" in kinds(hook, hooked), "the outage alert", 60)
            px.control.set_faults({"server_error_rate": 0.0})  # and comes back
            wait_until(lambda: "exchange_recovered" in kinds(hook, hooked), "its end", 60)
            wait_until(lambda: len(kinds(telegram, texts)) >= 2, "the Telegram messages", 30)
            assert bot.stop() == 0, bot.err
        finally:
            bot.kill()
    assert [b["kind"] for b in hooked if b["kind"].startswith("exchange")] == [
        "exchange_errors",
        "exchange_recovered",
    ]
    down = next(b for b in hooked if b["kind"] == "exchange_errors")
    assert (down["bot_id"], down["symbol"]) == (bot.config.bot_id, bot.config.symbol)
    assert down["fields"]["failures"] == 1
    assert down["message"].startswith("exchange unavailable for ")
    assert [t["chat_id"] for t in texts] == [CHAT] * len(texts)
    headline = f"[{bot.config.bot_id} {bot.config.symbol}] exchange_errors\n"
    assert any(t["text"].startswith(headline) for t in texts)

    lines = log_lines(log)
    outage = [line for line in lines if line["logger"] == "market_maker.live.outage"]
    assert [line["level"] for line in outage] == ["warning", "info"]  # once each way
    assert outage[0]["event"].startswith("exchange unavailable: ")
    assert outage[1]["event"].startswith("exchange available again after ")
    assert outage[1]["retries"] >= 1 and outage[1]["outage_s"] > 0
    assert not any(line["event"].startswith("order place outcome unknown") for line in lines)
    for text in (log.read_text(), bot.out, bot.err):
        assert TOKEN not in text
