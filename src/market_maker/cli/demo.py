"""``market-maker demo``: the grid trading along a sample price path on the simulated exchange.

The demo is a tiny backtest: the real engine (the Simple engine, in-memory store) on
the simulated exchange, fed candle by candle by the backtest's own loop (``replay``), so it
shows exactly what a backtest or a live bot would do on the same prices. Each candle walks
from the previous price to the next one on the path; the table prints one row per candle.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from market_maker.backtest.replay import replay
from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.market import Candle
from market_maker.engine.base import EngineObserver
from market_maker.engine.grid import simple_engine
from market_maker.risk.events import RiskEvent
from market_maker.slots.book import BookedFill, SlotBook
from market_maker.stores.memory import MemoryStore

START_PRICE = Decimal(100_000)
PATH_BP = (0, -15, -32, -18, 6, 24, 41, 26, -9, -26, -4, 18, 35, 12, -21, -37, -14, 3)
"""Sample path: moves from the start price in basis points (a range-bound oscillation)."""

START_MS = 1_767_225_600_000
"""Open time of the first candle (2026-01-01 00:00 UTC); candles are one minute apart."""

CANDLE_S = 60
"""Length of each sample candle, seconds."""

CANDLE_VOLUME = Decimal(1000)
"""Traded volume of each sample candle, base currency (large: fills are not volume-bound)."""


def sample_path(steps: int, start: Decimal = START_PRICE) -> list[Decimal]:
    """The demo's price path: ``steps`` prices oscillating around ``start``."""
    return [start * (1 + Decimal(PATH_BP[i % len(PATH_BP)]) / 10_000) for i in range(steps)]


def sample_candles(symbol: str, steps: int, start: Decimal = START_PRICE) -> list[Candle]:
    """One closed candle per path price, each walking from the previous price to it.

    The first candle opens at its own close. A candle's low and high are the two ends of its
    move, so a resting order between them fills at its limit, as the market passes it.
    """
    candles = []
    previous: Decimal | None = None
    for i, price in enumerate(sample_path(steps, start)):
        opened = price if previous is None else previous
        candles.append(
            Candle(
                symbol,
                START_MS + i * CANDLE_S * 1000,
                CANDLE_S,
                opened,
                max(opened, price),
                min(opened, price),
                price,
                CANDLE_VOLUME,
            )
        )
        previous = price
    return candles


class _Counter(EngineObserver):
    """Counts the fills the engine books and keeps its risk events."""

    def __init__(self) -> None:
        self.fills = 0
        self.risk_events: list[RiskEvent] = []

    def on_fill(self, fill: BookedFill) -> None:
        self.fills += 1

    def on_risk_event(self, event: RiskEvent) -> None:
        self.risk_events.append(event)


@dataclass(frozen=True, slots=True)
class DemoRow:
    """What one candle of the demo did.

    Attributes:
        step: Candle number, from 0.
        price: The candle's close, where the engine decided.
        center: Grid center after the decision (``None`` before the first one).
        fills: Fills booked during the candle.
        placed: Orders sent during the candle.
        cancelled: Cancels sent during the candle.
        inventory: The book's signed position after the candle, base currency.
    """

    step: int
    price: Decimal
    center: Decimal | None
    fills: int
    placed: int
    cancelled: int
    inventory: Decimal


@dataclass(frozen=True, slots=True)
class DemoResult:
    """A finished demo run.

    Attributes:
        rows: One row per candle.
        book: The engine's slot book at the end.
        last_price: The last close.
        equity_change: The simulated account's equity at the last close minus its equity at
            the start (both valued at the last close), quote currency.
        risk_events: Risk state changes (monitor, circuit breaker), in order.
    """

    rows: Sequence[DemoRow]
    book: SlotBook
    last_price: Decimal
    equity_change: Decimal
    risk_events: Sequence[RiskEvent]


def simulate(config: AppConfig, steps: int) -> DemoResult:
    """Run the engine on the simulated exchange along ``steps`` sample candles."""
    candles = sample_candles(config.symbol, steps)
    exchange = simulated_exchange(config)
    initial = {asset: exchange.total(asset) for asset in (exchange.base, exchange.quote)}
    counter = _Counter()
    engine = simple_engine(config, exchange, MemoryStore(), observer=counter)
    rows: list[DemoRow] = []
    seen = {"fills": 0, "placed": 0, "cancelled": 0}

    def record(i: int) -> None:
        counts = {
            "fills": counter.fills,
            "placed": engine.orders_placed,
            "cancelled": engine.orders_canceled,
        }
        delta = {k: counts[k] - seen[k] for k in counts}
        seen.update(counts)
        state = engine.state
        rows.append(
            DemoRow(
                i,
                candles[i].close,
                state.center_price,
                delta["fills"],
                delta["placed"],
                delta["cancelled"],
                state.book.inventory,
            )
        )

    last = candles[-1].close
    start_equity = initial[exchange.quote] + initial[exchange.base] * candles[0].open
    replay(engine, exchange, candles, config, None, record, 1, initial, start_equity)
    engine.stop()
    equity_change = (
        exchange.total(exchange.quote)
        - initial[exchange.quote]
        + (exchange.total(exchange.base) - initial[exchange.base]) * last
    )
    return DemoResult(rows, engine.state.book, last, equity_change, counter.risk_events)


def run_demo(config: AppConfig, steps: int, console: Console) -> None:
    """Run the grid along the sample path and print each candle and the final books."""
    result = simulate(config, steps)
    steps_table = Table(title=f"{config.symbol} grid demo ({config.grid.mode.value} mode)")
    for col in ("step", "price", "center", "fills", "placed", "cancelled", "inventory"):
        steps_table.add_column(col, justify="right")
    for row in result.rows:
        steps_table.add_row(
            str(row.step),
            str(row.price),
            str(row.center),
            str(row.fills),
            str(row.placed),
            str(row.cancelled),
            str(row.inventory),
        )
    console.print(steps_table)
    for event in result.risk_events:
        step = (event.ts_ms - START_MS) // (CANDLE_S * 1000)
        console.print(
            f"step {step}: risk {event.state_before.value} -> {event.state_after.value} "
            f"({event.kind.value}): {event.reason}",
            markup=False,
            highlight=False,
        )
    console.print(_slots_table(result.book))
    book, price = result.book, result.last_price
    unrealized = book.unrealized_pnl(price)
    console.print(
        f"realized PnL {book.realized_pnl}  unrealized {unrealized}  fees {book.fees_paid}  "
        f"-> equity change {result.equity_change} "
        f"(= realized + unrealized - fees: {book.realized_pnl + unrealized - book.fees_paid})"
    )


def _slots_table(book: SlotBook) -> Table:
    table = Table(title="slots")
    for col in ("level", "status", "position", "entry", "order", "order price", "qty"):
        table.add_column(col, justify="right")
    for level in sorted(book.slots, reverse=True):
        slot = book.slots[level]
        order = slot.active_order
        table.add_row(
            str(level),
            slot.status.value,
            str(slot.position_qty),
            "" if slot.entry_price is None else str(slot.entry_price),
            "" if order is None else f"{order.side.value} {order.role.value}",
            "" if order is None else str(order.price),
            "" if order is None else str(order.qty),
        )
    return table
