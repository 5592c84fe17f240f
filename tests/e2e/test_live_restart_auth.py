"""``market-maker run --config`` refused credentials, and a restart on an account with history.

The paper exchange and the bot are separate processes; the bot trades through ccxt.
"""

import signal
from pathlib import Path

import pytest

from market_maker.domain.enums import OrderStatus
from market_maker.live.status import booked_fill_rows
from tests.support.paper_binance import wait_until
from tests.support.paper_process import (
    BotProcess,
    audit_books,
    live_config,
    paper_exchange_process,
    sample_slice,
    wait_for_bot,
)

pytestmark = pytest.mark.timeout(180)

WRONG_SECRET = "not-the-paper-secret-5f2a9c"
"""A secret the paper exchange does not accept (searched for in every output)."""


def test_a_wrong_secret_exits_2_with_an_authentication_message_and_places_nothing(
    tmp_path: Path,
) -> None:
    with paper_exchange_process(tmp_path, "usdm") as px:
        px.control.advance(1)
        config = live_config(tmp_path, px.url, "usdm")
        env = {"MARKET_MAKER_API_KEY": "paper-key", "MARKET_MAKER_API_SECRET": WRONG_SECRET}
        bot = BotProcess(config, tmp_path, env=env)
        assert bot.wait(60) == 2
        ledger = px.control.ledger()
    assert "authentication failed" in bot.err and "check the API key and secret" in bot.err
    assert bot.err.startswith("error: "), bot.err
    assert "Traceback" not in bot.out + bot.err
    assert not ledger.orders and not ledger.fills  # nothing placed
    exchange_log = (tmp_path / "paper-usdm.err").read_text()
    for output in (bot.out, bot.err, exchange_log, *px.lines):
        assert WRONG_SECRET not in output


def test_a_restarted_bot_reconciles_what_happened_while_it_was_down_before_its_first_order(
    tmp_path: Path,
) -> None:
    """Run, kill -9, let the market fill orders behind its back, start again.

    The proof of order: a one-shot trigger moves market time by a candle right after the
    restarted bot's first open-orders read, which is the start-up reconciliation's (the
    engine reconciles in ``start``, before the runner polls anything). Every order the
    second run places is stamped with the later market time, so none came before the
    reconciliation.
    """
    data = sample_slice(tmp_path, 400, 1700)  # falling first: the grid's buys fill
    exchange_config = live_config(tmp_path, None, "usdm", name="exchange.yaml")
    with paper_exchange_process(tmp_path, "usdm", config=exchange_config, data=data) as px:
        control = px.control
        config = live_config(tmp_path, px.url, "usdm")
        control.advance(1)
        first = BotProcess(config, tmp_path, name="first")
        try:
            wait_until(lambda: first.alive() and bool(control.ledger().orders), "a grid", 60)
            while not control.ledger().fills:  # bounded: the data ends
                assert control.advance(10) < 200, "no fill in 200 candles"
            last = control.market().last_open_ms
            wait_for_bot(
                first,
                lambda s: s["last_update_ms"] >= last and s["position"] != "0",
                "a fill booked",
            )
        finally:
            first.stop(signal.SIGKILL)
        booked_before = len(booked_fill_rows(first.config))
        fills_before = len(control.ledger().fills)
        while len(control.ledger().fills) == fills_before:  # fills behind the bot's back
            assert control.advance(10) < 390, "nothing filled while the bot was down"
        orders_before = len(control.ledger().orders)
        down_fills = len(control.ledger().fills) - fills_before
        before_ms = control.market().last_open_ms  # the simulated venue's time now
        assert before_ms is not None
        control.set_faults({"advance_after": {"path": "/fapi/v1/openOrders", "candles": 1}})

        second = BotProcess(config, tmp_path, name="second")
        try:
            wait_until(
                lambda: second.alive() and len(control.ledger().orders) > orders_before,
                "the second run's first order",
                60,
            )
            last = control.market().last_open_ms
            wait_for_bot(second, lambda s: s["last_update_ms"] >= last, "the second run's grid")
            assert second.stop() == 0, second.err
        finally:
            second.kill()
        fired = control.faults()["injected"].get("advance_after", 0)
        ledger = control.ledger()
        new_orders = ledger.orders[orders_before:]
        books, mismatches = audit_books(second.config, control)
    assert fired == 1, (fired, before_ms)
    assert new_orders and all(o.state.ts_ms > before_ms for o in new_orders), [
        before_ms,
        fired,
        *((o.state.client_order_id, o.state.ts_ms) for o in new_orders),
    ]
    assert any(o.state.status is OrderStatus.NEW for o in new_orders)
    assert "reconciliation" in second.err  # what it found is logged
    assert mismatches == [], mismatches  # the fills made while it was down are booked once
    assert len(books.fills) >= booked_before + down_fills
