"""A bot moves from the Simple engine to the Durable engine mid-market, orders resting.

``market-maker paper-exchange`` runs in its own process. A Simple engine bot (the same
``GridEngine`` with direct execution and an ``SqliteStore``, driven by the live runner
through the unmodified ccxt client) trades the first part of the replay and is stopped
with its orders resting on the exchange. ``market-maker state import`` moves its state;
``market-maker run --config`` then starts on the same exchange and must take the resting
orders as its own: at its start the exchange holds exactly the orders the Simple bot
left, none cancelled, none placed again; after the rest of the replay the books of the
two periods (the Simple bot's fills and the Durable bot's, under one state) equal the
exchange's ledger to the last digit, with no client order id ever sent twice.
"""

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from market_maker.cli.paper_trading import Pacer
from market_maker.config.app import AppConfig
from market_maker.config.credentials import load_credentials
from market_maker.config.loader import load_config
from market_maker.engine.base import EngineObserver
from market_maker.engine.execution import CheckpointPolicy
from market_maker.engine.grid import simple_engine
from market_maker.exchanges.ccxt import CcxtVenue, connect
from market_maker.live.audit import BookedFillRow, audit, books_from_status
from market_maker.live.polled import SystemClock
from market_maker.live.runner import LiveRunner, LiveSources
from market_maker.live.session import ccxt_settings, venue_name
from market_maker.live.status import booked_fill_rows, bot_status
from market_maker.live.venue_rules import with_venue_rules
from market_maker.ops.reads import read_bot
from market_maker.paper.control import MarketTime, PaperControl
from market_maker.slots.book import BookedFill
from market_maker.slots.client_ids import id_prefix
from market_maker.stores.sqlite import SqliteStore
from tests.support.paper_binance import wait_until
from tests.support.paper_process import (
    BotProcess,
    ledger_of,
    live_config,
    paper_exchange_process,
    sample_slice,
    wait_until_caught_up,
)

pytestmark = pytest.mark.timeout(240)

CANDLES = 1400
"""Real 1-minute candles replayed."""
START = 1700
"""Where in the sample: a fall of about 1,000 USDT, then a rise (buys, then sells)."""
SIMPLE_FROM = 300
"""Candles the Simple engine bot trades at least; then it is stopped once it holds a position."""
SIMPLE_UNTIL = 700
"""Candles the Simple engine bot trades at most."""
SPEED = 80.0
"""Candles per second of the replay."""


class _Fills(EngineObserver):
    """The fills the Simple engine booked (its store keeps no fill history)."""

    def __init__(self) -> None:
        self.rows: list[BookedFillRow] = []

    def on_fill(self, fill: BookedFill) -> None:
        self.rows.append(BookedFillRow(fill.client_order_id, fill.qty, fill.fee))


def _simple_bot(
    config: AppConfig, store: SqliteStore, fills: _Fills
) -> tuple[LiveRunner, CcxtVenue]:
    """The Simple engine on the venue of ``config``, as ``run_live`` builds the Durable one."""
    venue = connect(ccxt_settings(config, load_credentials(config.venue)))
    rules = venue.exchange.market_rules(config.symbol)
    config = with_venue_rules(config, rules, venue=venue_name(config))
    sources = LiveSources(
        venue=venue.exchange,
        market=venue.market_data,
        orders=venue.order_updates,
        clock=SystemClock(),
    )
    engine = simple_engine(
        config, venue.exchange, store, observer=fills, checkpoint=CheckpointPolicy.EVERY_CHANGE
    )
    runner = LiveRunner(config, engine, sources, rules, freeze_heap=False)
    venue.attach_wake(runner.wake)
    return runner, venue


def _trade_simple(
    config: AppConfig, store_path: Path, control: PaperControl
) -> tuple[list[BookedFillRow], set[str]]:
    """Run the Simple bot until it holds a position, then stop it; its fills and resting ids."""
    fills = _Fills()
    with SqliteStore(store_path, bot_id=config.bot_id, symbol=config.symbol) as store:
        runner, venue = _simple_bot(config, store, fills)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                runner.run()
            except BaseException as exc:  # reported by the test's thread
                failure.append(exc)

        thread = threading.Thread(target=run, name="simple-bot", daemon=True)
        control.advance(1)  # a first price to decide on
        thread.start()
        pacer = Pacer(control, SPEED, SIMPLE_FROM)
        try:
            wait_until(lambda: bool(control.ledger().orders) or bool(failure), "a first grid", 60)
            pacer.start()
            wait_until(
                lambda: control.market().index >= SIMPLE_FROM or bool(failure),
                "the Simple bot's part of the replay",
                60,
            )
            pacer.stop()
            # Then one candle at a time until it holds a position (the test's stop moment).
            while True:
                market = control.market()

                def caught_up(market: MarketTime = market) -> bool:
                    return market.seen_by(runner.engine.state.last_update_ms) or bool(failure)

                wait_until(caught_up, "the Simple bot's last price", 30)
                book = runner.engine.state.book
                if failure or (book.inventory != 0 and book.realized_pnl != 0):
                    break
                assert market.index < SIMPLE_UNTIL, "the Simple bot never held a position"
                control.advance(1)
        finally:
            pacer.stop()
            runner.request_stop()
            thread.join(30)
            venue.close()
        assert not failure, failure
        state = store.load()
    assert state is not None
    return fills.rows, {o.client_order_id for o in state.book.active_orders()}


def test_the_durable_bot_takes_over_the_simple_bots_resting_orders(tmp_path: Path) -> None:
    data = sample_slice(tmp_path, CANDLES, START)
    exchange_config = live_config(tmp_path, None, "usdm", name="exchange.yaml")
    with paper_exchange_process(tmp_path, "usdm", config=exchange_config, data=data) as px:
        config_path = live_config(tmp_path, px.url, "usdm", streams=False)
        config = load_config(config_path)
        control = px.control
        prefix = id_prefix(config.bot_id, config.symbol)
        store_path = tmp_path / "simple.db"

        simple_fills, resting = _trade_simple(config, store_path, control)
        assert simple_fills and resting, "the Simple bot must leave fills and resting orders"
        on_exchange = set(ledger_of(config, control).open_orders)
        assert on_exchange == resting  # stopped: its orders stay on the exchange

        imported = subprocess.run(
            [sys.executable, "-m", "market_maker", "state", "import",
             "--from", str(store_path), "--config", str(config_path)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert imported.returncode == 0, imported.stderr
        before = bot_status(config)
        assert before is not None
        assert {o["client_order_id"] for o in before["open_orders"]} == resting
        assert before["position"] != "0" and before["realized_pnl"] != "0"

        bot = BotProcess(config_path, tmp_path, name="durable")
        pacer = Pacer(control, SPEED, CANDLES)
        try:
            wait_until(lambda: bot.alive() and read_bot(config).run is not None, "its start", 90)
            # started and reconciled at the same market price: the same orders, all adopted
            assert set(ledger_of(config, control).open_orders) == resting
            assert control.ledger().duplicates == ()
            pacer.start()
            wait_until_caught_up(bot, control, 90)
            pacer.stop()
            assert bot.stop() == 0, bot.err
        finally:
            pacer.stop()
            bot.kill()
        assert "Traceback" not in bot.err, bot.err

        status = bot_status(config)
        assert status is not None and status["state_version"] > before["state_version"]
        durable_fills = booked_fill_rows(config)
        ledger = ledger_of(config, control)
        books = books_from_status(status, [*simple_fills, *durable_fills])
        assert audit(books, ledger) == []
        assert ledger.duplicates == ()
        # Orders the Simple bot placed filled under the Durable bot, booked by it.
        taken_over = {r.client_order_id for r in durable_fills} & resting
        assert taken_over, "no order left by the Simple bot filled after the move"
        assert all(r.client_order_id.startswith(prefix) for r in durable_fills)
        assert durable_fills, "the Durable bot traded after the move"
