"""HALTED with ``halted_closing_orders: flatten``: every position is closed at once.

Regression (found by the risk-engine property test): a resting passive take-profit within
the requote tolerance of the flatten price was taken for the flatten order and kept, so the
position stayed open while the bot was halted.

The grid: BTC/USDT, levels 100 USDT apart, buffer 10 USDT, tolerance 25 USDT. The buy at
99,900 fills; its take-profit rests at 100,000. The market then closes at 99,990: the
flatten order is a sell at 99,980, 20 USDT from the resting close.
"""

from decimal import Decimal

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.enums import RiskState, Side
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.engine.grid import GridEngine, simple_engine
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.stores.memory import MemoryStore

D = Decimal
SYMBOL = "BTC/USDT"
T0 = 1_700_000_000_000
CONFIG = AppConfig.model_validate(
    {
        "bot_id": "flat1",
        "symbol": SYMBOL,
        "instrument": {"tick_size": "0.01", "step_size": "0.0001", "min_qty": "0.0001"},
        "grid": {
            "mode": "long",
            "base_interval": "100",
            "buy_window": 3,
            "sell_window": 3,
            "order_qty": "0.01",
            "max_inventory": "1",
            "halted_closing_orders": "flatten",
        },
        "backtest": {"initial_quote": "100000", "spot": False},
    }
)


def step(engine: GridEngine, exchange: SimulatedExchange, i: int, close: str, low: str) -> None:
    c = D(close)
    candle = Candle(SYMBOL, T0 + i * 60_000, 60, c, c + 5, D(low), c, D(10))
    for report in exchange.on_candle(candle):
        engine.on_order_update(report)
    engine.on_candle(candle)
    engine.on_price_update(PriceUpdate(SYMBOL, c, candle.open_time_ms))


def test_halted_flatten_replaces_a_passive_close_near_the_flatten_price() -> None:
    exchange = simulated_exchange(CONFIG)
    engine = simple_engine(CONFIG, exchange, MemoryStore())
    engine.start()
    step(engine, exchange, 0, "100000", "99995")
    step(engine, exchange, 1, "99950", "99899")  # the buy at 99,900 fills
    step(engine, exchange, 2, "99990", "99985")
    assert engine.state.book.inventory == D("0.01")
    closes = [o.request for o in exchange.resting.values() if o.request.side is Side.SELL]
    assert [(c.price, c.post_only) for c in closes] == [(D("100000.00"), True)]

    engine.set_risk(RiskState.HALTED)
    engine.on_price_update(PriceUpdate(SYMBOL, D(99_990), T0 + 2 * 60_000))

    assert engine.state.book.inventory == 0  # flattened, not left with a take-profit
    assert exchange.total("BTC") == 0
    assert list(exchange.resting.values()) == []
