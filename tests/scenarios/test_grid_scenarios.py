"""Table-driven grid scenarios: a price path in, the exact resting orders, fills and PnL out.

Every row runs the real engine (``simple_engine``: planner, slot book, in-memory store) on
the simulated exchange along a short price path, the way a backtest does: per step the
exchange walks a candle from the previous price to the new one and the engine books its
reports, then decides at the step's price and executes. The expected outcome is written out
by hand from SPEC §4-5, so a row fails when the behaviour changes.

Orders are written as ``(slot level, side, role, price, qty)``; a closing order's level is
the slot whose position it closes, which differs from its price.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig, BacktestConfig, InstrumentConfig
from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import (
    GridMode,
    HaltedClosingPolicy,
    OrderRole,
    RiskState,
    Side,
    Spacing,
)
from market_maker.domain.instrument import Instrument
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import ActionKind, OrderAction
from market_maker.engine.base import EngineObserver
from market_maker.engine.grid import GridEngine, simple_engine
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.risk.config import CircuitBreakerConfig, RiskConfig, RiskMonitorConfig
from market_maker.slots.book import BookedFill, SlotBook
from market_maker.stores.memory import MemoryStore
from market_maker.strategy.config import GridConfig
from market_maker.strategy.lattice import Lattice
from market_maker.strategy.planner import Planner
from market_maker.strategy.target import TargetState

D = Decimal
SYMBOL = "BTC/USDT"
QTY = "0.01"

INSTRUMENT = Instrument(SYMBOL, D("0.01"), D("0.001"), min_qty=D("0.001"))
FINE = Instrument(SYMBOL, D("0.01"), D("0.00001"), min_qty=D("0.00001"))
"""Fine quantity step, for sizes that are not round numbers."""
DUSTY = Instrument(SYMBOL, D("0.01"), D("0.001"), min_qty=D("0.005"))
"""Large minimum quantity, so a partial fill can leave dust."""

BASE: dict[str, Any] = {
    "mode": GridMode.LONG,
    "base_interval": D(100),
    "buy_window": 3,
    "sell_window": 3,
    "order_qty": D(QTY),
    "max_inventory": D(1),
    "atr_window": 1,  # a step's ATR is its candle's true range
}

Order = tuple[Decimal, Side, OrderRole, Decimal, Decimal]
Fill = tuple[Side, Decimal, Decimal]


# -- notation --------------------------------------------------------------------------------


def bo(level: str, qty: str = QTY) -> Order:
    """An opening buy resting on its own level."""
    return (D(level), Side.BUY, OrderRole.OPEN, D(level), D(qty))


def so(level: str, qty: str = QTY) -> Order:
    """An opening sell resting on its own level."""
    return (D(level), Side.SELL, OrderRole.OPEN, D(level), D(qty))


def sc(level: str, price: str, qty: str = QTY) -> Order:
    """A closing sell at ``price`` that belongs to the long slot at ``level``."""
    return (D(level), Side.SELL, OrderRole.CLOSE, D(price), D(qty))


def bc(level: str, price: str, qty: str = QTY) -> Order:
    """A closing buy at ``price`` that belongs to the short slot at ``level``."""
    return (D(level), Side.BUY, OrderRole.CLOSE, D(price), D(qty))


def buy(price: str, qty: str = QTY) -> Fill:
    return (Side.BUY, D(price), D(qty))


def sell(price: str, qty: str = QTY) -> Fill:
    return (Side.SELL, D(price), D(qty))


@dataclass(frozen=True)
class Step:
    """One tick of the path.

    Attributes:
        price: Price the strategy decides on.
        market: Exchange price when it differs from ``price`` (a stale feed: the market moved
            before the orders arrived); the exchange's candle ends there, so it fills and
            checks post-only against it.
        risk: Risk state the engine decides with (``engine.set_risk``).
        atr: ATR the engine decides with: the step's candle is closed with this true range
            (rows with an ATR use a one-candle ATR window).
        fill_step: Volume of the step's candle: the orders it reaches share at most this
            quantity (partial fills; the rows using it reach one order).
    """

    price: str
    market: str | None = None
    risk: RiskState = RiskState.NORMAL
    atr: str | None = None
    fill_step: str | None = None


def path(*prices: str | Step) -> tuple[Step, ...]:
    return tuple(p if isinstance(p, Step) else Step(p) for p in prices)


# -- the runner ------------------------------------------------------------------------------

T0 = 1_767_225_600_000
"""Open time of the first candle; steps are one minute apart."""
NO_VOLUME_LIMIT = D(10) ** 9
"""Candle volume of a step without ``fill_step``: larger than any order, so fills are whole."""
RISK_OFF = RiskConfig(
    monitor=RiskMonitorConfig(enabled=False), breaker=CircuitBreakerConfig(enabled=False)
)
"""Rows set the risk state themselves; the monitor and the breaker would override it (each
round trip of 100 x 0.01 loses to the 0.1% fees, so five of them trip the breaker)."""


class Recorder(EngineObserver):
    """Collects what the engine did: every booked fill and every action it sent."""

    def __init__(self) -> None:
        self.fills: list[BookedFill] = []
        self.actions: list[OrderAction] = []

    def on_fill(self, fill: BookedFill) -> None:
        self.fills.append(fill)

    def on_action(self, action: OrderAction) -> None:
        self.actions.append(action)


@dataclass(frozen=True)
class Decided:
    """The engine's grid after one step (the decision it settled on).

    Attributes:
        anchor: Anchor price of the lattice.
        center: Grid center.
        interval: Effective interval.
        actions: Every action sent during the step (all decision rounds).
    """

    anchor: Decimal | None
    center: Decimal | None
    interval: Decimal | None
    actions: tuple[OrderAction, ...]


@dataclass
class Run:
    """Everything a path produced."""

    engine: GridEngine
    exchange: SimulatedExchange
    recorder: Recorder
    instrument: Instrument
    steps: list[Decided] = field(default_factory=list)
    fail_counts: list[dict[Decimal, int]] = field(default_factory=list)
    cash: Decimal = ZERO

    @property
    def book(self) -> SlotBook:
        return self.engine.state.book

    @property
    def last(self) -> Decided:
        return self.steps[-1]

    @property
    def fills(self) -> list[BookedFill]:
        return self.recorder.fills

    @property
    def placed(self) -> list[OrderAction]:
        return [a for a in self.recorder.actions if a.kind is ActionKind.PLACE]

    @property
    def cancelled(self) -> list[OrderAction]:
        return [a for a in self.recorder.actions if a.kind is ActionKind.CANCEL]

    def resting(self) -> set[Order]:
        """Active orders of the book as ``(level, side, role, price, remaining qty)``."""
        return {
            (o.level, o.side, o.role, o.price, o.remaining_qty) for o in self.book.active_orders()
        }

    def fill_rows(self) -> Counter[Fill]:
        return Counter((f.side, f.price, f.qty) for f in self.fills)


def grid(**overrides: Any) -> GridConfig:
    return GridConfig(**{**BASE, **overrides})


def app_config(config: GridConfig, instrument: Instrument) -> AppConfig:
    """The bot of a row: its grid on ``instrument``, a margin account, no automatic risk."""
    return AppConfig(
        bot_id="sc",
        symbol=SYMBOL,
        instrument=InstrumentConfig(
            tick_size=instrument.tick_size,
            step_size=instrument.step_size,
            min_qty=instrument.min_qty,
        ),
        grid=config,
        backtest=BacktestConfig(initial_quote=D(0), spot=False, max_fill_fraction=D(1)),
        risk=RISK_OFF,
    )


def step_candle(i: int, opened: Decimal, step: Step, market: Decimal) -> Candle:
    """The market's move of one step: from ``opened`` straight to ``market``.

    Its low and high are the two ends of the move (a resting order between them fills at its
    limit, as the ledger filled it when the market reached it). A step with an ATR is a
    closed candle whose true range is that ATR (the extra range above the move); a step
    without one is an open candle, which the engine does not fold into its ATR.
    """
    low, high = min(opened, market), max(opened, market)
    if step.atr is not None:
        high = low + D(step.atr)
        assert high >= max(opened, market), f"ATR {step.atr} is smaller than the move"
    volume = D(step.fill_step) if step.fill_step is not None else NO_VOLUME_LIMIT
    closed = step.atr is not None
    return Candle(SYMBOL, T0 + i * 60_000, 60, opened, high, low, market, volume, closed)


def run_path(config: GridConfig, steps: Sequence[Step], instrument: Instrument = INSTRUMENT) -> Run:
    """Run ``steps`` through the engine on the simulated exchange, as a backtest does.

    Per step: the exchange walks the step's candle and the engine books its fill reports,
    folds the candle, and decides at the step's price (with the step's risk state).
    """
    app = app_config(config, instrument)
    exchange = simulated_exchange(app)
    recorder = Recorder()
    engine = simple_engine(app, exchange, MemoryStore(), observer=recorder)
    engine.start()
    run = Run(engine, exchange, recorder, instrument)
    market = D(steps[0].market or steps[0].price)
    for i, step in enumerate(steps):
        opened, market = market, D(step.market or step.price)
        candle = step_candle(i, opened, step, market)
        fills_before, actions_before = len(run.fills), len(recorder.actions)
        for report in exchange.on_candle(candle):
            engine.on_order_update(report)
        engine.on_candle(candle)
        engine.set_risk(step.risk)
        engine.on_price_update(PriceUpdate(SYMBOL, D(step.price), candle.open_time_ms))
        for fill in run.fills[fills_before:]:
            run.cash -= fill.side.sign * fill.quote + fill.fee
        state = engine.state
        run.steps.append(
            Decided(
                state.anchor_price,
                state.center_price,
                state.interval,
                tuple(recorder.actions[actions_before:]),
            )
        )
        run.fail_counts.append({lv: s.post_only_fail_count for lv, s in run.book.slots.items()})
        _check_consistency(run, market)
    return run


def settled_target(run: Run) -> TargetState:
    """The target of the engine's last decision, for the figures the engine keeps no record
    of (the skewed price): a fresh planner deciding again on the engine's final state finds
    the same target (checked by its center)."""
    state = run.engine.state
    assert state.last_price is not None
    config = run.engine.config.grid
    target = (
        Planner(config, run.instrument)
        .decide(
            price=state.last_price,
            book=state.book,
            risk=state.risk_state,
            anchor=state.anchor_price,
            previous_center=state.center_price,
            baseline_atr=config.baseline_atr,
        )
        .target
    )
    assert target.center == state.center_price
    return target


def _check_consistency(run: Run, mark: Decimal) -> None:
    """Invariants every row must keep after every step, whatever it expects otherwise."""
    book, exchange = run.book, run.exchange
    # The book and the exchange agree on what rests, one order per slot.
    active = {o.client_order_id: o for o in book.active_orders()}
    resting = exchange.resting
    assert set(active) == set(resting)
    for cid, order in active.items():
        assert resting[cid].request.qty - resting[cid].filled == order.remaining_qty
    # A closing order covers exactly the position of the slot it belongs to.
    for order in active.values():
        slot = book.slots[order.level]
        if order.role is OrderRole.CLOSE:
            assert slot.position_qty * order.side.sign < 0
            assert order.remaining_qty == abs(slot.position_qty)
    # Cash from fills equals realised + unrealised - fees, exactly, and the venue agrees:
    # its quote balance moved by that cash, its base balance (the position) is the inventory.
    equity = run.cash + book.inventory * mark
    assert equity == book.realized_pnl + book.unrealized_pnl(mark) - book.fees_paid
    assert exchange.total(exchange.quote) == run.cash
    assert exchange.total(exchange.base) == book.inventory


# -- the main table --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A price path and its exact expected outcome.

    Attributes:
        name: Test id.
        config: Overrides of ``BASE``.
        steps: The path.
        resting: Orders resting after the path.
        fills: Fills along the path (as a multiset).
        realized_pnl: Realised PnL before fees.
        inventory: Signed position at the end.
        center: Grid center of the last decision, when the row checks it.
        interval: Effective interval of the last decision, when the row checks it.
        instrument: Market rules.
    """

    name: str
    config: Mapping[str, Any]
    steps: tuple[Step, ...]
    resting: frozenset[Order]
    fills: tuple[Fill, ...] = ()
    realized_pnl: str = "0"
    inventory: str = "0"
    center: str | None = None
    interval: str | None = None
    instrument: Instrument = INSTRUMENT


def case(
    name: str,
    config: Mapping[str, Any],
    steps: tuple[Step, ...],
    resting: Sequence[Order],
    **kw: Any,
) -> Any:
    return pytest.param(Case(name, config, steps, frozenset(resting), **kw), id=name)


# Tables are aligned by hand: one row per scenario reads better than the formatter's layout.
# fmt: off
LONG = {"mode": GridMode.LONG}
SHORT = {"mode": GridMode.SHORT}
NEUTRAL = {"mode": GridMode.NEUTRAL}
DYNAMIC = {
    "dynamic_interval": True,
    "min_interval": D(50),
    "max_interval": D(200),
    "baseline_atr": D(100),
}

MODES = [
    case("long-opens-buys-below", LONG, path("100000"),
         [bo("99900"), bo("99800"), bo("99700")], center="100000"),
    case("long-fill-gets-close-at-entry-plus-interval", LONG, path("100000", "99900"),
         [bo("99800"), bo("99700"), bo("99600"), sc("99900", "100000")],
         fills=(buy("99900"),), inventory="0.01", center="99900"),
    case("long-round-trip-realises-interval-times-qty", LONG, path("100000", "99900", "100000"),
         [bo("99900"), bo("99800"), bo("99700")],
         fills=(buy("99900"), sell("100000")), realized_pnl="1.00"),
    case("short-opens-sells-above", SHORT, path("100000"),
         [so("100100"), so("100200"), so("100300")]),
    case("short-fill-gets-close-at-entry-minus-interval", SHORT, path("100000", "100100"),
         [so("100200"), so("100300"), so("100400"), bc("100100", "100000")],
         fills=(sell("100100"),), inventory="-0.01", center="100100"),
    case("short-round-trip-realises-interval-times-qty", SHORT,
         path("100000", "100100", "100000"),
         [so("100100"), so("100200"), so("100300")],
         fills=(sell("100100"), buy("100000")), realized_pnl="1.00"),
    case("neutral-opens-both-sides", NEUTRAL, path("100000"),
         [bo("99900"), bo("99800"), bo("99700"), so("100100"), so("100200"), so("100300")]),
    case("neutral-buy-fill-closes-with-a-sell", NEUTRAL, path("100000", "99900"),
         [bo("99800"), bo("99700"), bo("99600"), so("100000"), so("100100"), so("100200"),
          sc("99900", "100000")],
         fills=(buy("99900"),), inventory="0.01"),
    case("neutral-sell-fill-closes-with-a-buy", NEUTRAL, path("100000", "100100"),
         [bo("100000"), bo("99900"), bo("99800"), so("100200"), so("100300"), so("100400"),
          bc("100100", "100000")],
         fills=(sell("100100"),), inventory="-0.01"),
    # Back at 100000 the short's closing buy and the new level's opening buy both fill: the
    # round trip realises 100 x 0.01 and the new long waits for its own close at 100100.
    case("neutral-round-trip-and-reopen", NEUTRAL, path("100000", "100100", "100000"),
         [bo("99900"), bo("99800"), bo("99700"), so("100100"), so("100200"), so("100300"),
          sc("100000", "100100")],
         fills=(sell("100100"), buy("100000"), buy("100000")),
         realized_pnl="1.00", inventory="0.01"),
]

TRAILING = [
    # 25 levels up with the price between levels: the window follows on the anchor's lattice
    # (anchor 100037.50), nothing fills, every level left behind is cancelled. The first buy
    # is the highest level at least the buffer (10) below the price (102550.50).
    case("long-trails-up-25-levels", LONG,
         path("100037.50", *(str(D("100037.50") + 100 * i + 13) for i in range(1, 26))),
         [bo("102537.50"), bo("102437.50"), bo("102337.50")], center="102637.50"),
    # 25 levels down one level per step: each step fills the next buy, every filled slot
    # keeps its position and its close one interval above, far outside the window.
    case("long-trails-down-25-levels-filling", LONG,
         path(*(str(100000 - 100 * i) for i in range(26))),
         [bo("97400"), bo("97300"), bo("97200"),
          *(sc(str(100000 - 100 * i), str(100100 - 100 * i)) for i in range(1, 26))],
         fills=tuple(buy(str(100000 - 100 * i)) for i in range(1, 26)),
         inventory="0.25", center="97500"),
    case("short-trails-down-25-levels", SHORT,
         path("100000", *(str(100000 - 100 * i - 13) for i in range(1, 26))),
         [so("97500"), so("97600"), so("97700")], center="97400"),
    # A jump up through the whole window: the three shorts keep their closing buys.
    case("short-jumps-up-25-levels-and-holds", SHORT, path("100000", "102540"),
         [so("102600"), so("102700"), so("102800"),
          bc("100100", "100000"), bc("100200", "100100"), bc("100300", "100200")],
         fills=(sell("100100"), sell("100200"), sell("100300")),
         inventory="-0.03", center="102500"),
    case("long-jumps-down-and-holds", LONG, path("100000", "97500"),
         [bo("97400"), bo("97300"), bo("97200"),
          sc("99900", "100000"), sc("99800", "99900"), sc("99700", "99800")],
         fills=(buy("99900"), buy("99800"), buy("99700")), inventory="0.03"),
]

HELD = path("100000", "99900")
RISK_MODE, HALTED = RiskState.RISK_MODE, RiskState.HALTED
RISK = [
    case("risk-mode-cancels-openings-keeps-close", LONG,
         (*HELD, Step("99950", risk=RISK_MODE)),
         [sc("99900", "100000")], fills=(buy("99900"),), inventory="0.01"),
    case("risk-mode-places-no-new-openings", LONG,
         (*HELD, Step("99950", risk=RISK_MODE), Step("99700", risk=RISK_MODE)),
         [sc("99900", "100000")], fills=(buy("99900"),), inventory="0.01"),
    case("risk-mode-ends-openings-return", LONG,
         (*HELD, Step("99950", risk=RISK_MODE), Step("99760")),
         [bo("99700"), bo("99600"), bo("99500"), sc("99900", "100000")],
         fills=(buy("99900"),), inventory="0.01"),
    # Two shorts (slots 100000 and 100100) keep their closing buys.
    case("risk-mode-neutral-keeps-closes", NEUTRAL,
         path("100000", "99900", "100100", Step("100050", risk=RISK_MODE)),
         [bc("100000", "99900"), bc("100100", "100000")],
         fills=(buy("99900"), sell("100000"), sell("100000"), sell("100100")),
         realized_pnl="1.00", inventory="-0.02"),
    case("halted-keep-closing-orders", {**LONG, "halted_closing_orders": HaltedClosingPolicy.KEEP},
         (*HELD, Step("99950", risk=HALTED)),
         [sc("99900", "100000")], fills=(buy("99900"),), inventory="0.01"),
    case("halted-cancel-closing-orders",
         {**LONG, "halted_closing_orders": HaltedClosingPolicy.CANCEL},
         (*HELD, Step("99950", risk=HALTED)),
         [], fills=(buy("99900"),), inventory="0.01"),
    case("halted-cancel-places-nothing-later",
         {**LONG, "halted_closing_orders": HaltedClosingPolicy.CANCEL},
         (*HELD, Step("99950", risk=HALTED), Step("99700", risk=HALTED)),
         [], fills=(buy("99900"),), inventory="0.01"),
]

GEOMETRIC = {**LONG, "spacing": Spacing.GEOMETRIC, "base_interval": D("0.01")}
SPACING = [
    # Levels 100000 x 1.01^k snapped to the tick.
    case("geometric-neutral-levels", {**GEOMETRIC, "mode": GridMode.NEUTRAL}, path("100000"),
         [bo("99009.90"), bo("98029.60"), bo("97059.01"),
          so("101000.00"), so("102010.00"), so("103030.10")]),
    # The close is entry x 1.01 = 99999.999 rounded up for a sell.
    case("geometric-close-at-entry-times-ratio", GEOMETRIC, path("100000", "99009.90"),
         [bo("98029.60"), bo("97059.01"), bo("96098.03"), sc("99009.90", "100000.00")],
         fills=(buy("99009.90"),), inventory="0.01"),
    case("geometric-round-trip", GEOMETRIC, path("100000", "99009.90", "100000"),
         [bo("99009.90"), bo("98029.60"), bo("97059.01")],
         fills=(buy("99009.90"), sell("100000.00")), realized_pnl="9.9010"),
]

# After 100000 -> 99945 the neutral sell at 100000 is 55 away and the buy at 99900 45 away.
SAFETY = [
    # Buffer 10: a sell goes on 100000; the sell at 100300 is now past the window's far end.
    case("safety-buffer-0.1-keeps-near-sell", {**NEUTRAL, "safety_buffer": D("0.1")},
         path("100000", "99945"),
         [bo("99900"), bo("99800"), bo("99700"), so("100000"), so("100100"), so("100200")],
         center="100000"),
    # Buffer 60: no sell on 100000 (55 away); new buys start at 99800 (99900 is 45 away),
    # but the buy resting on 99900 stays: an order is never cancelled for the price coming
    # close to it.
    case("safety-buffer-0.6-skips-near-sell", {**NEUTRAL, "safety_buffer": D("0.6")},
         path("100000", "99945"),
         [bo("99900"), bo("99800"), bo("99700"), bo("99600"),
          so("100100"), so("100200"), so("100300")], center="99900"),
]

CAP_5 = {**LONG, "buy_window": 5, "max_inventory": D("0.025")}
EXPOSURE = [
    case("cap-0.025-allows-two-buys", CAP_5, path("100000"), [bo("99900"), bo("99800")]),
    case("cap-is-inclusive", {**CAP_5, "max_inventory": D("0.03")},
         path("100000"), [bo("99900"), bo("99800"), bo("99700")]),
    case("cap-counts-inventory-and-resting-buys", CAP_5, path("100000", "99900"),
         [bo("99800"), sc("99900", "100000")], fills=(buy("99900"),), inventory="0.01"),
    case("cap-short-side", {**SHORT, "sell_window": 5, "max_inventory": D("0.025")},
         path("100000", "100100"),
         [so("100200"), bc("100100", "100000")], fills=(sell("100100"),), inventory="-0.01"),
    case("cap-frees-room-after-round-trip", CAP_5, path("100000", "99900", "100000"),
         [bo("99900"), bo("99800")], fills=(buy("99900"), sell("100000")), realized_pnl="1.00"),
]

DYNAMIC_ROWS = [
    case("dynamic-off-ignores-atr", {**DYNAMIC, "dynamic_interval": False},
         path(Step("100000", atr="300")), [bo("99900"), bo("99800"), bo("99700")],
         interval="100"),
    case("dynamic-before-atr-uses-base", DYNAMIC, path("100000"),
         [bo("99900"), bo("99800"), bo("99700")], interval="100"),
    case("dynamic-widens", DYNAMIC, path(Step("100000", atr="150")),
         [bo("99850"), bo("99700"), bo("99550")], interval="150"),
    case("dynamic-widening-clamped-at-max", DYNAMIC, path(Step("100000", atr="300")),
         [bo("99800"), bo("99600"), bo("99400")], interval="200"),
    case("dynamic-narrows", DYNAMIC, path(Step("100000", atr="60")),
         [bo("99940"), bo("99880"), bo("99820")], interval="60"),
    case("dynamic-narrowing-clamped-at-min", DYNAMIC, path(Step("100000", atr="20")),
         [bo("99950"), bo("99900"), bo("99850")], interval="50"),
    case("dynamic-volatility-scale", {**DYNAMIC, "volatility_scale": D(2)},
         path(Step("100000", atr="75")), [bo("99850"), bo("99700"), bo("99550")],
         interval="150"),
    case("dynamic-neutral-widens-both-sides", {**NEUTRAL, **DYNAMIC},
         path(Step("100000", atr="150")),
         [bo("99850"), bo("99700"), bo("99550"), so("100150"), so("100300"), so("100450")]),
    # The level both lattices share (99700) stays; the others move.
    case("dynamic-widening-mid-path", DYNAMIC,
         path(Step("100000", atr="100"), Step("100000", atr="150")),
         [bo("99850"), bo("99700"), bo("99550")], interval="150"),
    case("dynamic-narrowing-mid-path", DYNAMIC,
         path(Step("100000", atr="100"), Step("100000", atr="60")),
         [bo("99940"), bo("99880"), bo("99820")], interval="60"),
    case("dynamic-close-uses-current-interval", DYNAMIC,
         path(Step("100000", atr="150"), Step("99850", atr="150")),
         [bo("99700"), bo("99550"), bo("99400"), sc("99850", "100000")],
         fills=(buy("99850"),), inventory="0.01"),
]

# Interval 100 -> 110 moves the targets 99900/99800/99700 to 99890/99780/99670
# (10, 20 and 30 away); the tolerance is a fraction of the new interval.
REQUOTE_PATH = path(Step("100000", atr="100"), Step("100000", atr="110"))
REQUOTE = [
    case("requote-tolerance-0-replaces-all", {**DYNAMIC, "requote_tolerance": D(0)},
         REQUOTE_PATH, [bo("99890"), bo("99780"), bo("99670")]),
    case("requote-tolerance-0.25-keeps-near", {**DYNAMIC, "requote_tolerance": D("0.25")},
         REQUOTE_PATH, [bo("99900"), bo("99800"), bo("99670")]),
    case("requote-tolerance-0.5-keeps-all", {**DYNAMIC, "requote_tolerance": D("0.5")},
         REQUOTE_PATH, [bo("99900"), bo("99800"), bo("99700")]),
    # The market comes within the buffer (10) of the take-profit: the resting close stays at
    # 100000, with or without tolerance (it is about to fill, never moved away).
    case("requote-close-kept-within-tolerance", {"requote_tolerance": D("0.25")},
         path("100000", "99900", "99995"),
         [bo("99800"), bo("99700"), sc("99900", "100000")], fills=(buy("99900"),),
         inventory="0.01"),
    case("close-kept-as-the-price-nears-it", {"requote_tolerance": D(0)},
         path("100000", "99900", "99995", "99995"),
         [bo("99800"), bo("99700"), sc("99900", "100000")], fills=(buy("99900"),),
         inventory="0.01"),
    # A close placed while the market is within the buffer goes 10 beyond it (100005); when
    # the market falls back, the take-profit (100000) is 5 away: beyond a zero tolerance,
    # the close is cancelled, then placed at the take-profit by the next decision.
    case("requote-close-replaced-beyond-tolerance",
         {"requote_tolerance": D(0), "halted_closing_orders": HaltedClosingPolicy.CANCEL},
         (*path("100000", "99900"), Step("99995", risk=HALTED), *path("99995", "99900", "99900")),
         [bo("99800"), bo("99700"), bo("99600"), sc("99900", "100000")], fills=(buy("99900"),),
         inventory="0.01"),
    case("close-placed-beyond-the-market-near-its-take-profit",
         {"requote_tolerance": D(0), "halted_closing_orders": HaltedClosingPolicy.CANCEL},
         (*path("100000", "99900"), Step("99995", risk=HALTED), *path("99995")),
         [bo("99800"), bo("99700"), sc("99900", "100005")], fills=(buy("99900"),),
         inventory="0.01"),
]


NOTIONAL = {"order_qty": None, "order_notional": D(1000)}
SIZING = [
    # 1000 / 99900 = 0.0100100..., 1000 / 99800 = 0.0100200..., 1000 / 99700 = 0.0100300...
    case("fixed-notional-1000", NOTIONAL, path("100000"),
         [bo("99900", "0.01001"), bo("99800", "0.01002"), bo("99700", "0.01003")],
         instrument=FINE),
    # 0.01 x (1 - 100 x 200 / order price): 0.0079979..., 0.0079959..., 0.0079939...
    case("volatility-scaled-size", {"volatility_size_k": D(100)},
         path(Step("100000", atr="200")),
         [bo("99900", "0.00799"), bo("99800", "0.00799"), bo("99700", "0.00799")],
         instrument=FINE),
    case("volatility-scaled-size-floor-0.1", {"volatility_size_k": D(1000)},
         path(Step("100000", atr="200")),
         [bo("99900", "0.001"), bo("99800", "0.001"), bo("99700", "0.001")], instrument=FINE),
    case("volatility-scaling-needs-atr", {"volatility_size_k": D(100)}, path("100000"),
         [bo("99900"), bo("99800"), bo("99700")], instrument=FINE),
    # 0.0100100... x 0.7997..., 0.0100200... x 0.7995..., 0.0100300... x 0.7993...
    case("fixed-notional-and-volatility", {**NOTIONAL, "volatility_size_k": D(100)},
         path(Step("100000", atr="200")),
         [bo("99900", "0.00800"), bo("99800", "0.00801"), bo("99700", "0.00801")],
         instrument=FINE),
]

DUST = [
    # A 0.002 partial fill is below min_qty 0.005: held without a close. The rest of the
    # opening order is cancelled (the slot's one order is now its closing order).
    case("dust-gets-no-close", {},
         path("100000", Step("99900", fill_step="0.002"), "99900"),
         [bo("99800"), bo("99700"), bo("99600")],
         fills=(buy("99900", "0.002"),), inventory="0.002", instrument=DUSTY),
    case("partial-fill-above-min-gets-close", {},
         path("100000", Step("99900", fill_step="0.006"), "99900"),
         [bo("99800"), bo("99700"), bo("99600"), sc("99900", "100000", "0.006")],
         fills=(buy("99900", "0.006"),), inventory="0.006", instrument=DUSTY),
]
# fmt: on


ALL = [*MODES, *TRAILING, *RISK, *SPACING, *SAFETY, *EXPOSURE, *DYNAMIC_ROWS, *REQUOTE, *SIZING]


@pytest.mark.parametrize("c", [*ALL, *DUST])
def test_scenario(c: Case) -> None:
    run = run_path(grid(**c.config), c.steps, c.instrument)

    assert run.resting() == c.resting
    assert run.fill_rows() == Counter(c.fills)
    assert run.book.realized_pnl == D(c.realized_pnl)
    assert run.book.inventory == D(c.inventory)
    assert run.book.fees_paid == sum((f.quote for f in run.fills), D(0)) * D("0.001")
    if c.center is not None:
        assert run.last.center == D(c.center)
    if c.interval is not None:
        assert run.last.interval == D(c.interval)


# -- focused tables --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "steps", "sign"),
    [
        pytest.param(GridMode.LONG, path("100000", "99900", "99800"), -1, id="long-shifts-down"),
        pytest.param(GridMode.SHORT, path("100000", "100100", "100200"), 1, id="short-shifts-up"),
    ],
)
def test_inventory_skew_shifts_the_grid(mode: GridMode, steps: tuple[Step, ...], sign: int) -> None:
    """Same path with and without skew: the skewed grid places its new levels one level
    further from risk, and keeps the orders already resting nearer the price."""
    plain = run_path(grid(mode=mode), steps)
    skewed = run_path(grid(mode=mode, skew_factor=D("0.06")), steps)

    inventory = plain.book.inventory
    assert inventory == skewed.book.inventory == -sign * D("0.02")
    price = D(steps[-1].price)
    # skewed price = price x (1 - 0.06 x inventory / max_inventory): 120 away from risk
    assert settled_target(skewed).skewed_price == price * (1 - D("0.06") * inventory)
    assert plain.last.center == price
    assert skewed.last.center == price + sign * 100

    def openings(run: Run) -> list[Decimal]:
        return sorted(o.price for o in run.book.active_orders() if o.role is OrderRole.OPEN)

    def closes(run: Run) -> set[Order]:
        return {o for o in run.resting() if o[2] is OrderRole.CLOSE}

    # The window moved one interval: one more level on the far side; the level nearest the
    # price, placed before the last fill, keeps resting. Closes stay at entry +/- interval.
    near = price + sign * 100
    shifted = [p + sign * 100 for p in openings(plain)]
    assert len(openings(plain)) == 3
    assert openings(skewed) == sorted({near, *shifted})
    assert near in openings(plain)
    assert closes(skewed) == closes(plain) != set()


def test_trailing_levels_stay_on_the_anchor_lattice() -> None:
    """Whatever the path, every resting level is anchor + k x interval (k an integer)."""
    prices = [D("100037.50") + D(i * 37) for i in range(0, 70)]
    prices += [prices[-1] - D(i * 61) for i in range(1, 80)]
    run = run_path(grid(mode=GridMode.NEUTRAL), [Step(str(p)) for p in prices])

    anchor = run.steps[0].anchor
    assert anchor == D("100037.50")
    assert {d.anchor for d in run.steps} == {anchor}
    placed_levels = {a.slot_level for a in run.placed}
    assert len(placed_levels) > 40  # the grid really travelled
    assert all((level - anchor) % 100 == 0 for level in placed_levels)
    assert all(d.center is not None and (d.center - anchor) % 100 == 0 for d in run.steps)
    # Cancelled out-of-window openings really left the exchange.
    assert run.cancelled
    assert len(run.exchange.resting) == len(run.book.active_orders())


@pytest.mark.parametrize(
    ("retries", "steps", "counts", "places_at_99900"),
    [
        # The market (99850) sits below the 99900 level the stale decision price (100000)
        # targets, so every post-only buy there is rejected.
        # Changed from the toy loop ([1, 2, 3, 3, 3] and one place a step for three steps):
        # the engine decides again after a surprise (a reject), up to four rounds per price
        # update, so the slot spends its three retries within the first step; the bound
        # (SPEC §5: a bounded retry policy) holds all the same.
        pytest.param(
            3,
            (*[Step("100000", market="99850")] * 4, Step("100000")),
            [3, 3, 3, 3, 3],
            [3, 0, 0, 0, 0],
            id="three-rejects-then-skipped",
        ),
        # Changed as above (was [1, 2, 3, 3, 0] and one place in each of the first three
        # steps). The reset is the engine's own now: the center moving (to 100100) clears
        # the failures, and the slot's buy is placed, accepted and rests. (The toy loop reset
        # the book by hand at an unchanged price; the engine rightly skips a decision that
        # nothing it knows of has changed.)
        pytest.param(
            3,
            (
                *[Step("100000", market="99850")] * 3,
                Step("100000"),
                Step("100100"),
            ),
            [3, 3, 3, 3, 0],
            [3, 0, 0, 0, 1],
            id="reset-lets-the-slot-try-again",
        ),
        pytest.param(
            1,
            (Step("100000", market="99850"), Step("100000"), Step("100000")),
            [1, 1, 1],
            [1, 0, 0],
            id="one-retry",
        ),
    ],
)
def test_post_only_reject_retry_policy(
    retries: int, steps: tuple[Step, ...], counts: list[int], places_at_99900: list[int]
) -> None:
    run = run_path(grid(max_post_only_retries=retries), steps)
    level = D("99900")

    assert [c.get(level, 0) for c in run.fail_counts] == counts
    places = [
        sum(a.kind is ActionKind.PLACE and a.slot_level == level for a in d.actions)
        for d in run.steps
    ]
    assert places == places_at_99900
    # Rejected orders never rest; the one accepted after the reset does.
    final = run.book.slots[level].active_order
    assert (final is not None) == (counts[-1] == 0)
    assert run.book.realized_pnl == 0 and run.book.inventory == 0


def test_round_trips_realise_interval_times_qty_each() -> None:
    """An oscillating path: every closing fill realises exactly interval x qty."""
    prices = ["100000"] + ["99850", "100050", "99750", "100150"] * 5
    run = run_path(grid(mode=GridMode.NEUTRAL, base_interval=D(100)), path(*prices))

    closing = [f for f in run.fills if f.realized_pnl]
    assert len(closing) >= 10
    assert all(f.realized_pnl == D(100) * f.qty for f in closing)
    assert run.book.realized_pnl == D(100) * sum((f.qty for f in closing), D(0))


def test_neutral_closing_fills_never_push_inventory_past_max() -> None:
    """``max_inventory`` is the largest absolute position (GridConfig, SPEC §4 exposure cap).

    Neutral, 0.01 per level, max 0.02. At 100100 the short (-0.01) lets the grid rest buys
    at 100000, 99900 and 99800 (-0.01 + 0.03 = 0.02) next to the short's closing buy at
    100000. When the price falls to 99790 the closing buy and all three opening buys fill.
    """
    config = grid(mode=GridMode.NEUTRAL, max_inventory=D("0.02"))
    steps = path("100000", "100100", "99790")
    for n in range(1, len(steps) + 1):
        run = run_path(config, steps[:n])
        assert abs(run.book.inventory) <= config.max_inventory, (
            f"after {[s.price for s in steps[:n]]} the position is {run.book.inventory}, "
            f"over max_inventory {config.max_inventory}"
        )


@pytest.mark.parametrize(
    ("config", "k", "side"),
    [
        # 100000 / 1.01^5 = 95146.5687...: a buy rounds down to 95146.56.
        pytest.param({**GEOMETRIC, "buy_window": 5}, -5, Side.BUY, id="geometric-buy"),
        # 100000 + 33.333 = 100033.333: a sell rounds up to 100033.34.
        pytest.param({**NEUTRAL, "base_interval": D("33.333")}, 1, Side.SELL, id="arithmetic-sell"),
        pytest.param({**NEUTRAL, "base_interval": D("33.333")}, -1, Side.BUY, id="arithmetic-buy"),
    ],
)
def test_opening_price_rounds_away_from_the_market(
    config: dict[str, Any], k: int, side: Side
) -> None:
    """SPEC §4: prices snap to the tick, buys round down and sells round up."""
    cfg = grid(**config)
    run = run_path(cfg, path("100000"))
    raw = Lattice(D(100000), cfg.base_interval, cfg.spacing).level(k)
    expected = INSTRUMENT.round_price(side, raw)
    assert expected != INSTRUMENT.round_price_nearest(raw)  # the row discriminates
    prices = {o.price for o in run.book.active_orders() if o.side is side}
    assert expected in prices, f"raw level {raw}: expected {expected}, resting {sorted(prices)}"


def test_the_worked_example_of_the_design_doc() -> None:
    """docs/design.md, "Windows: placing and keeping": the table there is this run."""
    prices = ("100000", "99960", "99905", "99895", "99795", "99850", "99910", "100020")
    run = run_path(grid(buy_window=3, safety_buffer=D("0.1")), path(*prices))

    def did(kind: ActionKind) -> list[list[str]]:
        return [[str(a.slot_level) for a in d.actions if a.kind is kind] for d in run.steps]

    # One entry per price: the levels placed (a close is placed for the slot it closes, one
    # interval below its price), the levels cancelled, the fills on the way.
    assert did(ActionKind.PLACE) == [
        ["99900.00", "99800.00", "99700.00"],
        [],
        ["99600.00"],
        ["99900.00"],  # sell 100000 (close)
        ["99800.00", "99500.00"],  # sell 99900 (close), buy 99500
        [],
        ["99800.00"],
        ["100000.00", "99900.00"],
    ]
    assert did(ActionKind.CANCEL) == [[], [], [], [], [], ["99500.00"], ["99600.00"], ["99700.00"]]
    assert [(f.side, f.price) for f in run.fills] == [
        (Side.BUY, D("99900")),
        (Side.BUY, D("99800")),
        (Side.SELL, D("99900")),
        (Side.SELL, D("100000")),
    ]
    assert run.resting() == {bo("100000"), bo("99900"), bo("99800")}
