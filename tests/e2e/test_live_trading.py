"""Live trading end to end: ``market-maker paper-exchange`` and ``market-maker run --config``.

Both are separate processes, as a user runs them; the bot trades through the unmodified
ccxt client (``binance`` spot through the websocket streams, ``binanceusdm`` through REST
polling only) on 2,100 real candles of the bundled sample, replayed at high speed once the
bot has placed its first grid. At the end the bot's database must equal the exchange's
ledger to the last digit (``market_maker.live.audit``), and the bot's own account of how
its order reports arrived must name the path the test chose.
"""

import re
from pathlib import Path

import pytest

from market_maker.config.loader import load_config
from tests.support.paper_process import (
    BotProcess,
    Market,
    checked_books,
    live_config,
    paper_exchange_process,
    sample_slice,
    trade_to_the_end,
)

pytestmark = pytest.mark.timeout(180)

CANDLES = 2100
"""Real 1-minute candles replayed (at least 2,000)."""
START = 1700
"""Where in the sample: a fall of about 1,000 USDT, then a rise of 2,400 (buys, then sells)."""
SPEED = 80.0
"""Candles per second of the replay."""


def trade_all(tmp_path: Path, market: Market, *, streams: bool) -> tuple[BotProcess, int]:
    """Run the bot over the whole replay, stop it, check its books; the bot and the fills."""
    data = sample_slice(tmp_path, CANDLES, START)
    exchange_config = live_config(tmp_path, None, market, name="exchange.yaml")
    with paper_exchange_process(tmp_path, market, config=exchange_config, data=data) as px:
        config_path = live_config(tmp_path, px.url, market, streams=streams)
        config = load_config(config_path)
        control = px.control
        bot = trade_to_the_end(config_path, tmp_path, control, SPEED)
        books, ledger = checked_books(config, control, bot)
    assert books.realized_pnl != 0
    assert re.search(r"stopped after \d+ candles on \w+ at http://127.0.0.1:\d+", bot.out)
    return bot, len(ledger.fills)


def reports(out: str) -> tuple[int, int, int]:
    """(reports from the stream, reports by REST, REST passes) as the bot printed them."""
    stream = re.search(
        r"order reports: ([\d,]+) from the order stream, ([\d,]+) by REST \(([\d,]+) pass", out
    )
    rest = re.search(
        r"order reports: ([\d,]+) by REST polling \(([\d,]+) pass(es)?\); streams off", out
    )
    assert (stream is None) != (rest is None), out
    n = [int(g.replace(",", "")) for g in (stream or rest).groups() if g and g != "es"]  # type: ignore[union-attr]
    return (n[0], n[1], n[2]) if stream else (0, n[0], n[1])


def test_spot_trades_through_the_websocket_stream_and_its_books_equal_the_ledger(
    tmp_path: Path,
) -> None:
    bot, fills = trade_all(tmp_path, "spot", streams=True)
    from_stream, _, passes = reports(bot.out)
    assert from_stream >= fills > 10, bot.out  # each fill came as a stream event
    assert passes <= 5, bot.out  # REST only at the start, before the stream delivered


def test_usdm_trades_through_rest_polling_only_and_its_books_equal_the_ledger(
    tmp_path: Path,
) -> None:
    bot, fills = trade_all(tmp_path, "usdm", streams=False)
    from_stream, by_rest, passes = reports(bot.out)
    assert "streams off" in bot.out and from_stream == 0  # no stream was even opened
    # every fill reached the bot over REST: a polled report, or the reconciler's lookup
    assert by_rest > 0 and passes >= 2 and fills > 10, bot.out
