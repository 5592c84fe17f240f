"""The engine's operator verbs on the real engine and simulated exchange, both executions.

``cancel_openings`` cancels every resting opening order and leaves the closes;
``release_slot`` asks the exchange first: it books what the exchange reports (a fill is
never lost), refuses while the order is still open there, and frees a slot whose order the
exchange never received; ``status`` is the read model of the book.

The grid: BTC/USDT, levels 100 USDT apart, three buys of 0.01 BTC below the price; the first
candle closes at 100,000, so the buys rest at 99,900, 99,800 and 99,700.
"""

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.enums import (
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
    SlotStatus,
    TimeInForce,
)
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import ActionKind, OrderAction, PlaceOrderRequest
from market_maker.durable.execution import durable_engine
from market_maker.engine.base import Engine
from market_maker.engine.grid import GridEngine, SlotStillOpenError, simple_engine
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.slots.client_ids import make_client_order_id
from market_maker.stores.memory import MemoryStore

D = Decimal
SYMBOL = "BTC/USDT"
T0 = 1_700_000_000_000
MINUTE = 60_000
CONFIG = AppConfig.model_validate(
    {
        "bot_id": "ops1",
        "symbol": SYMBOL,
        "instrument": {"tick_size": "0.01", "step_size": "0.0001", "min_qty": "0.0001"},
        "grid": {
            "mode": "long",
            "base_interval": "100",
            "buy_window": 3,
            "sell_window": 3,
            "order_qty": "0.01",
            "max_inventory": "1",
        },
        "backtest": {"initial_quote": "100000", "spot": False},
    }
)


def bar(i: int, close: str = "100000", low: str | None = None) -> Candle:
    c = D(close)
    bottom = c - 10 if low is None else D(low)
    return Candle(SYMBOL, T0 + i * MINUTE, 60, c, c + 10, bottom, c, D(10))


def step(engine: Engine, exchange: SimulatedExchange, candle: Candle) -> None:
    for report in exchange.on_candle(candle):
        engine.on_order_update(report)
    engine.on_candle(candle)
    engine.on_price_update(PriceUpdate(SYMBOL, candle.close, candle.open_time_ms))


@pytest.fixture(params=["simple", "durable"])
def bot(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Engine, SimulatedExchange]]:
    exchange = simulated_exchange(CONFIG)
    engine: GridEngine
    if request.param == "simple":
        engine = simple_engine(CONFIG, exchange, MemoryStore())
    else:
        engine = durable_engine(CONFIG, exchange, database_url=f"sqlite:///{tmp_path / 'b.db'}")
    engine.start()
    try:
        yield engine, exchange
    finally:
        engine.stop()


def open_orders(engine: Engine) -> dict[Decimal, tuple[OrderRole, SlotStatus]]:
    return {
        level: (slot.order.role, slot.status)
        for level, slot in engine.state.book.slots.items()
        if slot.order is not None and slot.active_order is not None
    }


def test_cancel_openings_cancels_the_openings_and_keeps_the_closes(
    bot: tuple[Engine, SimulatedExchange],
) -> None:
    engine, exchange = bot
    step(engine, exchange, bar(0))
    step(engine, exchange, bar(1, low="99899"))  # the buy at 99,900 fills: a close rests
    roles = [role for role, _ in open_orders(engine).values()]
    assert roles.count(OrderRole.CLOSE) == 1 and roles.count(OrderRole.OPEN) == 2
    placed = engine.orders_placed

    sent = engine.cancel_openings()

    assert sent == roles.count(OrderRole.OPEN)
    assert [role for role, _ in open_orders(engine).values()] == [OrderRole.CLOSE]
    assert engine.orders_canceled >= sent and engine.orders_placed == placed
    resting = {o.request.side for o in exchange.resting.values()}
    assert resting == {Side.SELL}  # only the take-profit rests on the exchange
    assert engine.cancel_openings() == 0  # nothing left to cancel


def test_a_halt_by_hand_cancels_the_openings_at_once_and_a_reset_resumes(
    bot: tuple[Engine, SimulatedExchange],
) -> None:
    engine, exchange = bot
    step(engine, exchange, bar(0))
    step(engine, exchange, bar(1, low="99899"))  # the buy at 99,900 fills: a close rests

    engine.halt("maintenance", T0 + MINUTE)  # no new price: the halt must not wait for one

    assert engine.state.risk_state.value == "HALTED"
    assert [role for role, _ in open_orders(engine).values()] == [OrderRole.CLOSE]
    assert {o.request.side for o in exchange.resting.values()} == {Side.SELL}
    step(engine, exchange, bar(2, "99950"))  # halted: the next price places no opening order
    assert [role for role, _ in open_orders(engine).values()] == [OrderRole.CLOSE]

    engine.reset_risk(T0 + 2 * MINUTE)
    step(engine, exchange, bar(3, "99950"))
    roles = [role for role, _ in open_orders(engine).values()]
    assert roles.count(OrderRole.OPEN) >= 2 and roles.count(OrderRole.CLOSE) == 1


def test_release_refuses_while_the_exchange_holds_the_order_open(
    bot: tuple[Engine, SimulatedExchange],
) -> None:
    engine, exchange = bot
    step(engine, exchange, bar(0))
    level = D("99900.00")
    before = engine.state.book.slots[level]
    assert before.status is SlotStatus.LOCKED

    with pytest.raises(SlotStillOpenError, match="still open on the exchange"):
        engine.release_slot(level)

    assert engine.state.book.slots[level] == before


def test_release_books_a_fill_the_bot_never_heard_of(
    bot: tuple[Engine, SimulatedExchange],
) -> None:
    engine, exchange = bot
    step(engine, exchange, bar(0))
    level = D("99900.00")
    exchange.on_candle(bar(1, low="99899"))  # filled on the exchange; the report is lost

    slot = engine.release_slot(level)

    assert slot.position_qty == D("0.01")  # the fill is booked, never lost
    assert engine.state.book.inventory == D("0.01")


def test_release_frees_a_slot_whose_order_never_reached_the_exchange(
    bot: tuple[Engine, SimulatedExchange],
) -> None:
    engine, exchange = bot
    step(engine, exchange, bar(0))
    level = D(99_000)
    cid = make_client_order_id(CONFIG.bot_id, SYMBOL, level, Side.BUY, 99)
    request = PlaceOrderRequest(
        SYMBOL, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, level, D("0.01"), True, False, cid
    )
    intent = OrderAction(ActionKind.PLACE, level, place=request)
    assert isinstance(engine, GridEngine)
    engine.record_intents([intent])  # written ahead; the process died before the call
    assert engine.state.book.slots[level].status is SlotStatus.PENDING
    assert exchange.get_order(SYMBOL, cid) is None

    slot = engine.release_slot(level)

    assert slot.status is SlotStatus.FREE and slot.position_qty == 0


def test_release_of_a_slot_without_an_order_is_an_error(
    bot: tuple[Engine, SimulatedExchange],
) -> None:
    engine, exchange = bot
    step(engine, exchange, bar(0))
    with pytest.raises(ValueError, match="no order in flight"):
        engine.release_slot(D(12_345))


def test_status_is_the_read_model_of_the_book(bot: tuple[Engine, SimulatedExchange]) -> None:
    engine, exchange = bot
    step(engine, exchange, bar(0))
    status = engine.status()
    assert status["running"] is True
    assert status["last_price"] == "100000"
    held = {o.client_order_id: o for o in engine.state.book.active_orders()}
    assert {o["client_order_id"] for o in status["open_orders"]} == set(held)
    for row in status["open_orders"]:
        order = held[row["client_order_id"]]
        assert D(row["price"]) == order.price and row["status"] == OrderStatus.NEW.value
        assert isinstance(row["qty"], str)
    assert [s["level"] for s in status["slots"]] == sorted(
        (s["level"] for s in status["slots"]), key=D
    )
