"""The grid lets the price trade through its levels, however finely the price is sampled.

These properties would have caught the grid that retreated from the price: it rebuilt its
buy window from the level nearest the price and cancelled the buy the price was about to
reach, so on a path finer than one-minute candles it never filled.

Every run is a real backtest (Simple engine, planner, simulated exchange) along a price
path given as candles that each walk straight from one price to the next.
"""

import itertools
from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from market_maker.backtest.result import BacktestResult
from market_maker.backtest.runner import run_backtest, simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.data.paths import linear_candles
from market_maker.domain.enums import GridMode, OrderRole, Side, Spacing
from market_maker.domain.market import PriceUpdate
from market_maker.domain.orders import ActionKind, OrderAction
from market_maker.engine.base import EngineObserver
from market_maker.engine.grid import simple_engine
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.stores.memory import MemoryStore

D = Decimal
SYMBOL = "BTC/USDT"
START = D(100_000)
QTY = D("0.001")


def app_config(**grid: Any) -> AppConfig:
    """A grid on a margin account with the risk layer off (it is not under test here)."""
    return AppConfig.model_validate(
        {
            "bot_id": "p1",
            "symbol": SYMBOL,
            "instrument": {"tick_size": "0.01", "step_size": "0.00001", "min_qty": "0.00001"},
            "grid": {
                "base_interval": 100,
                "order_qty": str(QTY),
                "max_inventory": 1,
                "requote_tolerance": 0,
                **grid,
            },
            "backtest": {"initial_quote": 10**9, "spot": False},
            "risk": {
                "monitor": {"enabled": False},
                "breaker": {"enabled": False},
                "reconciler": {"interval_s": 0},
            },
        }
    )


def walk(start: Decimal, moves: list[int]) -> list[Decimal]:
    """Prices from ``start`` by ``moves`` cents each, kept positive."""
    prices = [start]
    for cents in moves:
        prices.append(max(D(1000), prices[-1] + D(cents) / 100))
    return prices


def refined(prices: list[Decimal], cuts: list[int]) -> list[Decimal]:
    """The same path with ``cuts[i]`` points inserted on the straight line of step ``i``."""
    out = [prices[0]]
    for i, (a, b) in enumerate(itertools.pairwise(prices)):
        n = cuts[i % len(cuts)] + 1
        for j in range(1, n):
            out.append((a + (b - a) * j / n).quantize(D("0.01")))
        out.append(b)
    return out


def run(config: AppConfig, prices: list[Decimal]) -> BacktestResult:
    """Backtest along ``prices``; a flat first candle makes the first price the anchor."""
    return run_backtest(config, linear_candles(SYMBOL, [prices[0], *prices]))


def fills(result: BacktestResult) -> Counter[tuple[str, Decimal, Decimal]]:
    return Counter((f.side, f.price, f.qty) for f in result.fills)


grids = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(list(GridMode)),
        "buy_window": st.integers(3, 8),
        "sell_window": st.integers(3, 8),
        "safety_buffer": st.sampled_from([D(0), D("0.1"), D("0.3")]),
        "skew_factor": st.sampled_from([D(0), D("0.0005")]),
    }
)


@st.composite
def paths(draw: st.DrawFn) -> tuple[dict[str, Any], list[int], list[int]]:
    """A grid, a walk whose steps never cross a whole window, and the cuts that refine it."""
    grid = draw(grids)
    grid["spacing"] = draw(st.sampled_from(list(Spacing)))
    grid["base_interval"] = D(100) if grid["spacing"] is Spacing.ARITHMETIC else D("0.001")
    # 100 USDT levels (about 94-106 on the geometric grid over the walk): a step stays
    # 1.5 levels short of the narrower window.
    largest = int((min(grid["buy_window"], grid["sell_window"]) - D("1.5")) * 9_000)
    moves = draw(st.lists(st.integers(-largest, largest), min_size=2, max_size=40))
    cuts = draw(st.lists(st.integers(0, 12), min_size=1, max_size=5))
    return grid, moves, cuts


@settings(max_examples=60, deadline=None)
@given(paths())
def test_fills_do_not_depend_on_how_finely_the_path_is_sampled(  # type: ignore[no-untyped-def]
    case,
) -> None:
    """The same path, sampled finer, trades exactly the same fills."""
    grid, moves, cuts = case
    config = app_config(**grid)
    prices = walk(START, moves)
    coarse = run(config, prices)
    fine = run(config, refined(prices, cuts))
    assert fills(fine) == fills(coarse)
    assert fine.summary.realized_pnl == coarse.summary.realized_pnl


class _Actions(EngineObserver):
    def __init__(self) -> None:
        self.actions: list[OrderAction] = []

    def on_action(self, action: OrderAction) -> None:
        self.actions.append(action)


@settings(max_examples=60, deadline=None)
@given(
    grids,
    st.lists(st.integers(-20_000, 20_000), min_size=2, max_size=60),
)
def test_an_opening_order_is_never_cancelled_while_the_price_moves_towards_it(  # type: ignore[no-untyped-def]
    grid, moves
) -> None:
    config = app_config(**grid)
    exchange: SimulatedExchange = simulated_exchange(config)
    observer = _Actions()
    engine = simple_engine(config, exchange, MemoryStore(), observer=observer)
    engine.start()
    previous: Decimal | None = None
    for candle in linear_candles(SYMBOL, [START, *walk(START, moves)]):
        for report in exchange.on_candle(candle):
            engine.on_order_update(report)
        observer.actions.clear()
        book = engine.state.book
        resting = {o.client_order_id: o for o in book.active_orders()}
        engine.on_price_update(PriceUpdate(SYMBOL, candle.close, candle.open_time_ms))
        for action in observer.actions:
            if action.kind is not ActionKind.CANCEL:
                continue
            order = resting.get(action.client_order_id)
            if order is None or order.role is not OrderRole.OPEN or previous is None:
                continue
            towards = candle.close < previous if order.side is Side.BUY else candle.close > previous
            assert not towards, f"{order.side} at {order.price} cancelled at {candle.close}"
        previous = candle.close


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 12),  # levels bought on the way down
    st.sampled_from([D(50), D(100), D("137.5")]),
    st.integers(1, 10),  # window
    st.sampled_from([D(0), D("0.1"), D("0.5")]),
    st.lists(st.integers(1, 100), min_size=1, max_size=6),  # step sizes, % of the largest
)
def test_a_long_grid_buys_each_level_once_on_the_way_down_and_sells_it_on_the_way_up(  # type: ignore[no-untyped-def]
    n, interval, window, buffer, steps
) -> None:
    """A monotone path down through ``n`` free levels and back: one buy and one sell each.

    The inventory cap allows exactly ``n`` levels; no step is longer than the resting
    window reaches below the price (``window - buffer`` intervals), so no level is skipped.
    """
    config = app_config(
        mode=GridMode.LONG,
        base_interval=interval,
        buy_window=window,
        safety_buffer=buffer,
        max_inventory=QTY * n,
    )
    largest = interval * (window - buffer) * D("0.99")
    sizes = [(largest * k / 100).quantize(D("0.01")) or D("0.01") for k in steps]
    bottom = START - interval * n - interval / 2
    down, i = [START], 0
    while down[-1] > bottom:
        down.append(max(bottom, down[-1] - sizes[i % len(sizes)]))
        i += 1
    top = START + interval * 2
    up = [down[-1]]
    while up[-1] < top:
        up.append(min(top, up[-1] + sizes[i % len(sizes)]))
        i += 1
    result = run(config, down + up[1:])

    levels = [START - interval * k for k in range(1, n + 1)]
    buys = [f.price for f in result.fills if f.side == Side.BUY.value]
    sells = [f.price for f in result.fills if f.side == Side.SELL.value]
    assert sorted(buys) == sorted(levels)
    assert sorted(sells) == sorted(level + interval for level in levels)
    assert result.summary.realized_pnl == interval * QTY * n
    assert result.summary.final_inventory == 0
