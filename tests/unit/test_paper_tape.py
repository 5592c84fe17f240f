"""The paper venue replaying trade ticks: steps of trade time, fills per trade, candles built.

The reference for fills is a ``SimulatedExchange`` fed the same orders and then every
trade through ``on_trade``, as a trade backtest does: however the venue's steps cut the
trades and however many steps each ``advance`` takes, its fills must equal the
reference's, report for report. Candles must be ``trades_to_candles``'s, closed in order
once market time passes their end, and each step must announce the ticker's state.
"""

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.data.sample import sample_trades_path
from market_maker.data.trades import CandleBuilder, Trade, load_trades, trades_to_candles
from market_maker.domain.enums import OrderType, Side, TimeInForce
from market_maker.domain.instrument import MarketRules
from market_maker.domain.market import Candle
from market_maker.domain.orders import OrderUpdate, PlaceOrderRequest
from market_maker.paper.journal import CandleEvent, OrderEvent, TickEvent, VenueEvent
from market_maker.paper.tape import TradeTape
from market_maker.paper.venue import PaperVenue

D = Decimal
SYMBOL = "BTC/USDT"
START_MS = 1_723_161_240_000  # a whole minute
CONFIG = """\
bot_id: tape
symbol: BTC/USDT
instrument: {tick_size: 0.01, step_size: 0.00001, min_qty: 0.00001, min_notional: 5}
grid: {mode: long, base_interval: 10, order_qty: 0.001, max_inventory: 0.015}
backtest:
  initial_quote: 100000
  initial_base: 1
  maker_fee: 0.0001
  taker_fee: 0.001
  spot: true
  max_fill_fraction: 0.5
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> AppConfig:
    path: Path = tmp_path_factory.mktemp("tape") / "tape.yaml"
    path.write_text(CONFIG)
    return load_config(path)


def trade(ts_ms: int, price: str, qty: str = "0.01") -> Trade:
    return Trade(SYMBOL, ts_ms, None, D(price), D(qty), None)


@st.composite
def trade_lists(draw: st.DrawFn) -> list[Trade]:
    """Up to 4 minutes of trades around 60,000 with gaps, bursts and equal times."""
    n = draw(st.integers(1, 60))
    gaps = draw(st.lists(st.integers(0, 9_000), min_size=n, max_size=n))
    moves = draw(st.lists(st.integers(-300, 300), min_size=n, max_size=n))
    qtys = draw(st.lists(st.integers(1, 400), min_size=n, max_size=n))
    out, ts, price = [], START_MS + draw(st.integers(0, 59_999)), 60_000 * 100
    for gap, move, qty in zip(gaps, moves, qtys, strict=True):
        ts += gap
        price += move
        out.append(trade(ts, str(D(price) / 100), str(D(qty) / 10_000)))
    return out


def orders() -> list[PlaceOrderRequest]:
    """Buys below and sells above 60,000, 0.02 each: a trade path through them fills some."""
    out = []
    for k in range(1, 6):
        for side, price in ((Side.BUY, 60_000 - k * 5), (Side.SELL, 60_000 + k * 5)):
            out.append(
                PlaceOrderRequest(
                    symbol=SYMBOL,
                    client_order_id=f"{side.value.lower()}{k}",
                    side=side,
                    order_type=OrderType.LIMIT,
                    price=D(price),
                    qty=D("0.02"),
                    time_in_force=TimeInForce.GTC,
                    post_only=True,
                    reduce_only=False,
                )
            )
    return out


def reference_fills(config: AppConfig, trades: Sequence[Trade]) -> list[OrderUpdate]:
    exchange = simulated_exchange(config)
    for request in orders():
        exchange.place_order(request)
    fills: list[OrderUpdate] = []
    for t in trades:
        fills += exchange.on_trade(t.ts_ms, t.price, t.qty)
    return fills


def trade_venue(config: AppConfig, tape: TradeTape) -> tuple[PaperVenue, list[VenueEvent]]:
    rules = MarketRules(config.to_instrument(), D("0.0001"), D("0.001"), True)
    venue = PaperVenue(simulated_exchange(config), tape, rules=rules)
    events: list[VenueEvent] = []
    venue.subscribe(events.append)
    for request in orders():
        venue.place_order(request)
    return venue, events


@settings(max_examples=60, deadline=None)
@given(trade_lists(), st.sampled_from([1, 250, 1000, 5000, 60_000]))
def test_steps_hold_every_trade_once_in_its_time_slice(trades: list[Trade], step_ms: int) -> None:
    tape = TradeTape(trades, step_ms=step_ms)
    start = 0
    for k, step in enumerate(tape.steps):
        assert step.end_ms == tape.start_ms + (k + 1) * step_ms
        held = trades[start : step.stop]
        assert all(step.end_ms - step_ms <= t.ts_ms < step.end_ms for t in held)
        start = step.stop
    assert start == len(trades)
    assert tape.steps[0].stop > 0 and tape.steps[-1].stop == len(trades)  # no empty ends
    assert tape.candles == trades_to_candles(trades, 60).candles


@settings(max_examples=60, deadline=None)
@given(trade_lists(), st.sampled_from([250, 1000, 15_000]), st.lists(st.integers(1, 40)))
def test_fills_equal_a_trade_by_trade_replay_however_time_is_advanced(
    config: AppConfig, trades: list[Trade], step_ms: int, chunks: list[int]
) -> None:
    venue, events = trade_venue(config, TradeTape(trades, step_ms=step_ms))
    fills: list[OrderUpdate] = []
    for n in [*chunks, venue.total]:
        fills += venue.advance(n)[2]
    assert venue.market().done
    assert fills == reference_fills(config, trades)
    assert venue.ledger().fills == tuple(fills)
    streamed = [e.update for e in events if isinstance(e, OrderEvent) and e.update.last_fill_qty]
    assert streamed == fills  # each fill streamed once, in order, stamped at its trade
    trade_times = {t.ts_ms for t in trades}
    assert all(f.ts_ms in trade_times for f in fills)


@settings(max_examples=60, deadline=None)
@given(trade_lists(), st.sampled_from([250, 1000, 30_000]))
def test_candles_close_as_time_passes_their_end_and_ticks_show_the_forming_one(
    config: AppConfig, trades: list[Trade], step_ms: int
) -> None:
    tape = TradeTape(trades, step_ms=step_ms)
    venue, events = trade_venue(config, tape)
    builder = CandleBuilder(SYMBOL, 60)
    closed: list[Candle] = []
    start = 0
    for k, step in enumerate(tape.steps):
        mark = len(events)
        venue.advance(1)
        for t in trades[start : step.stop]:
            builder.add(t.ts_ms, t.price, t.qty)
        start = step.stop
        new = events[mark:]
        closed += [e.candle for e in new if isinstance(e, CandleEvent)]
        tick = new[-1]
        assert isinstance(tick, TickEvent)  # every step ends with the ticker's state
        assert sum(isinstance(e, TickEvent) for e in new) == 1
        assert tick.time_ms == step.end_ms == venue.now_ms()
        assert closed == list(tape.candles[: tick.closed])
        assert all(c.open_time_ms + 60_000 <= step.end_ms for c in closed)
        later = tape.candles[tick.closed :]
        assert all(c.open_time_ms + 60_000 > step.end_ms for c in later)
        forming = builder.finish()
        if forming is not None and closed and forming.open_time_ms <= closed[-1].open_time_ms:
            forming = None
        assert tick.forming == forming
        snap = venue.market()
        assert (snap.index, snap.closed, snap.forming) == (k + 1, tick.closed, forming)
        assert snap.candle == (closed[-1] if closed else None)
    assert venue.market().done and venue.advance(5)[:2] == (venue.total, venue.total)


def test_a_quiet_step_moves_the_clock_and_a_minute_closes_on_its_end() -> None:
    trades = [trade(START_MS + 500, "60000"), trade(START_MS + 61_200, "60010")]
    tape = TradeTape(trades, step_ms=1000)
    assert len(tape) == 62  # 0.5 s to 61.2 s: 62 one-second steps, 60 of them quiet
    assert [s.stop for s in tape.steps[:2]] == [1, 1]
    assert tape.steps[59].closed == 1  # the first minute closes at 60 s...
    assert tape.steps[58].closed == 0  # ... not before
    assert tape.steps[-1].closed == 1  # the second is still forming when the data ends


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"step_ms": 0}, "step_ms: expected at least 1"),
        ({"step_ms": 7000}, "candle_s: expected a whole number of 7000 ms steps"),
    ],
)
def test_bad_tape_settings_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TradeTape([trade(START_MS, "60000")], **kwargs)


def test_no_trades_is_refused() -> None:
    with pytest.raises(ValueError, match="expected at least one trade"):
        TradeTape([])


def test_the_bundled_trade_sample_fills_as_a_trade_backtest_does(config: AppConfig) -> None:
    sample = load_trades(sample_trades_path(), symbol=SYMBOL).trades
    around = sample[0].price  # orders from 5 to 25 USDT either side of the first trade
    offset = around - D(60_000)
    tape = TradeTape(sample)
    rules = MarketRules(config.to_instrument(), D("0.0001"), D("0.001"), True)
    venue = PaperVenue(simulated_exchange(config), tape, rules=rules)
    reference = simulated_exchange(config)
    for request in orders():
        moved = replace(request, price=request.price + offset)
        venue.place_order(moved)
        reference.place_order(moved)
    expected = [f for t in sample for f in reference.on_trade(t.ts_ms, t.price, t.qty)]
    _, stop, fills = venue.advance(venue.total)
    assert stop == len(tape) == 651 and len(tape.candles) == 12  # 23:54 to 00:05
    assert fills == expected and len(fills) >= 10  # the 11 minutes cross several levels
    market = venue.market()
    assert market.closed == 11 and market.forming == tape.candles[-1]  # the last is partial
