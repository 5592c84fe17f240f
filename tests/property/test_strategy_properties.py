"""Hypothesis properties of the grid strategy driven along random price paths.

A random configuration trades along a random walk (with random partial fills, stale
prices that cause post-only rejects, ATR values and risk states) through the reference
strategy (``decide``), the slot book and the simulated exchange. After every step the
invariants of SPEC §4-5 must hold. (The engine's own loop along paths is checked by the
scenarios and by ``test_grid_fills_properties``.)
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from market_maker.domain.enums import (
    GridMode,
    HaltedClosingPolicy,
    OrderRole,
    RiskState,
    Side,
    Spacing,
)
from market_maker.domain.instrument import Instrument
from market_maker.domain.orders import ActionKind
from market_maker.slots.book import BookedFill, SlotBook
from market_maker.slots.client_ids import parse_client_order_id
from market_maker.strategy.config import GridConfig
from market_maker.strategy.decide import Decision, decide
from market_maker.strategy.interval import effective_interval
from market_maker.strategy.lattice import Lattice
from market_maker.strategy.sizing import MIN_SIZE_FACTOR, order_size
from market_maker.strategy.target import compute_target
from support.market import Market, execute

D = Decimal
SYMBOL = "BTC/USDT"
TICK = D("0.01")
STEP = D("0.001")
START = D(100_000)
INSTRUMENT = Instrument(SYMBOL, TICK, STEP, min_qty=STEP)


# -- strategies ------------------------------------------------------------------------------


def _hundredths(lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    return st.integers(lo, hi).map(lambda n: D(n) / 100)


@st.composite
def grid_configs(draw: st.DrawFn) -> GridConfig:
    spacing = draw(st.sampled_from(Spacing))
    if spacing is Spacing.ARITHMETIC:
        # Whole ticks, or a thousandth so that lattice levels fall between ticks.
        base = draw(
            st.one_of(
                st.integers(500, 30_000).map(lambda n: D(n) / 100),
                st.integers(5_000, 300_000).map(lambda n: D(n) / 1000),
            )
        )
    else:
        base = draw(st.integers(5, 200).map(lambda n: D(n) / 10_000))
    dynamic = draw(st.booleans())
    min_interval = base * draw(_hundredths(20, 100)) if draw(st.booleans()) else None
    max_interval = base * draw(_hundredths(100, 300)) if draw(st.booleans()) else None
    # Sizes of 1-20 steps (or the notional equivalent) and a cap of a few orders, so that
    # the cap binds often.
    qty_steps = draw(st.integers(1, 20))
    max_inventory = STEP * (qty_steps * draw(st.integers(1, 10)) + draw(st.integers(0, qty_steps)))
    limit = int(max_inventory / STEP) - 1
    target_inventory = STEP * draw(st.integers(-limit, limit)) if draw(st.booleans()) else D(0)
    sizing: dict[str, Decimal] = (
        {"order_qty": STEP * qty_steps}
        if draw(st.booleans())
        else {"order_notional": START * STEP * qty_steps + draw(st.integers(-50, 50))}
    )
    return GridConfig(
        mode=draw(st.sampled_from(GridMode)),
        spacing=spacing,
        base_interval=base,
        min_interval=min_interval,
        max_interval=max_interval,
        dynamic_interval=dynamic,
        volatility_scale=draw(_hundredths(50, 200)),
        baseline_atr=None,
        buy_window=draw(st.integers(0, 8)),
        sell_window=draw(st.integers(0, 8)),
        volatility_size_k=draw(st.sampled_from([D(0), D(0), D(5), D(50), D(500)])),
        max_inventory=max_inventory,
        target_inventory=target_inventory,
        skew_factor=draw(st.sampled_from([D(0), D(0), D("0.0005"), D("0.005"), D("0.05")])),
        safety_buffer=draw(_hundredths(0, 90)),
        requote_tolerance=draw(_hundredths(0, 90)),
        max_post_only_retries=draw(st.integers(1, 3)),
        halted_closing_orders=draw(st.sampled_from(HaltedClosingPolicy)),
        **sizing,
    )


def _step_abs(config: GridConfig) -> Decimal:
    """One base interval in quote currency near the start price."""
    if config.spacing is Spacing.ARITHMETIC:
        return config.base_interval
    return START * config.base_interval


@dataclass(frozen=True)
class Tick:
    """One step of a path: what the strategy sees and what the exchange does.

    Attributes:
        price: Price the strategy decides on.
        market: Where the exchange's market moves first (differs from ``price`` on a stale
            feed: post-only orders then get rejected).
        risk: Risk state fed to the strategy.
        atr: ATR fed to the strategy.
        fill_step: Volume traded by the market's move, shared by the orders it reaches
            (partial fills); ``None``: every reached order fills whole.
    """

    price: Decimal
    market: Decimal
    risk: RiskState
    atr: Decimal | None
    fill_step: Decimal | None


@dataclass(frozen=True)
class Scenario:
    config: GridConfig
    baseline_atr: Decimal | None
    ticks: tuple[Tick, ...]


RISKS = [RiskState.NORMAL] * 6 + [RiskState.RISK_MODE, RiskState.HALTED]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    config = draw(grid_configs())
    step_ticks = int(_step_abs(config) / TICK)
    half = _step_abs(config) / 2
    baseline = _step_abs(config) if draw(st.booleans()) else None
    move = st.one_of(
        st.integers(-3 * step_ticks, 3 * step_ticks).map(lambda n: n * TICK),
        # Whole half-intervals: lands on levels and on ties between them.
        st.integers(-6, 6).map(lambda n: INSTRUMENT.round_price_nearest(n * half)),
    )
    price = START
    ticks = []
    for _ in range(draw(st.integers(5, 60))):
        # Within [START / 2, 2 x START], so that an interval is always many ticks wide.
        price = min(2 * START, max(START / 2, price + draw(move)))
        stale = draw(st.sampled_from([D(0)] * 8 + [D(1), D(-1)]))
        market = price + INSTRUMENT.round_price_nearest(stale * half)
        atr = None
        if baseline is not None and draw(st.booleans()):
            atr = baseline * draw(_hundredths(10, 400))
        fill_step = draw(st.sampled_from([None, None, STEP, 2 * STEP, 5 * STEP]))
        ticks.append(Tick(price, market, draw(st.sampled_from(RISKS)), atr, fill_step))
    return Scenario(config, baseline, tuple(ticks))


# -- the driver ------------------------------------------------------------------------------


@dataclass
class StepView:
    """What one step did, handed to the per-step checks."""

    tick: Tick
    decision: Decision
    roles: dict[str, OrderRole]
    entries: dict[str, Decimal | None]
    fail_counts: dict[Decimal, int]


def drive(scenario: Scenario, check: "StepCheck") -> SlotBook:
    """Run the scenario like an engine and call ``check`` after every executed step."""
    book = SlotBook("pt", SYMBOL)
    market = Market(SYMBOL)
    anchor: Decimal | None = None
    center: Decimal | None = None
    for tick in scenario.ticks:
        for update in market.move_to(tick.market, tick.fill_step):
            result = book.apply_update(update)
            assert not result.unknown and not result.orphan
            check.on_fills(result.fills)
        decision = decide(
            price=tick.price,
            book=book,
            config=scenario.config,
            instrument=INSTRUMENT,
            risk=tick.risk,
            anchor=anchor,
            previous_center=center,
            atr=tick.atr,
            baseline_atr=scenario.baseline_atr,
        )
        anchor, center = decision.anchor, decision.target.center
        # Roles as record_intent will assign them: a place against a slot's position closes.
        roles: dict[str, OrderRole] = {}
        entries: dict[str, Decimal | None] = {}
        for action in decision.actions:
            if action.place is not None:
                slot = book.get(action.slot_level)
                position = slot.position_qty if slot is not None else D(0)
                closing = position * action.place.side.sign < 0
                roles[action.client_order_id] = OrderRole.CLOSE if closing else OrderRole.OPEN
                entries[action.client_order_id] = slot.entry_price if slot is not None else None
        fail_counts = {level: s.post_only_fail_count for level, s in book.slots.items()}
        if decision.center_moved:
            book.reset_post_only_failures()
        for result in execute(book, market, decision.actions):
            check.on_fills(result.fills)
        check.after_step(book, market, StepView(tick, decision, roles, entries, fail_counts))
    return book


class StepCheck:
    """The invariants of SPEC §4-5, checked after every step."""

    def __init__(self, config: GridConfig) -> None:
        self.config = config
        self.cash = D(0)
        self.cids: set[str] = set()
        self.last_generation = 0

    def on_fills(self, fills: Sequence[BookedFill]) -> None:
        for fill in fills:
            self.cash -= fill.side.sign * fill.quote + fill.fee

    def after_step(self, book: SlotBook, market: Market, view: StepView) -> None:
        config, decision, tick = self.config, view.decision, view.tick
        price = tick.price
        target = decision.target
        lattice = Lattice(decision.anchor, target.interval, config.spacing)
        buffer = config.safety_buffer * view.decision.target.step  # the interval at the center
        places = [a for a in decision.actions if a.kind is ActionKind.PLACE]

        for action in places:
            request = action.place
            assert request is not None
            side, role = request.side, view.roles[request.client_order_id]
            away = (price - request.price) * side.sign  # > 0: on the passive side of price
            # (c) on the tick, on the step, passive.
            assert request.price % TICK == 0 and request.price > 0
            assert request.qty % STEP == 0 and request.qty >= INSTRUMENT.min_qty
            if role is OrderRole.OPEN:
                # (a) outside the safety buffer of the decision price.
                assert away >= buffer, f"{side} open at {request.price}, price {price}"
                assert not request.reduce_only
                # (e) nothing opens outside NORMAL.
                assert tick.risk is RiskState.NORMAL
                # Slots that gave up after post-only rejects wait for a reset.
                fails = view.fail_counts.get(action.slot_level, 0)
                assert fails < config.max_post_only_retries
                # The opening level is a lattice level snapped to the tick.
                k = lattice.nearest_index(action.slot_level)
                assert INSTRUMENT.round_price_nearest(lattice.level(k)) == action.slot_level
            else:
                # Reduce-only, but not in neutral mode (a netting venue would reject a long
                # slot's close while the net position is short).
                assert request.reduce_only is (config.mode is not GridMode.NEUTRAL)
                entry = view.entries[request.client_order_id]
                assert entry is not None
                if (
                    tick.risk is RiskState.HALTED
                    and config.halted_closing_orders is HaltedClosingPolicy.FLATTEN
                ):
                    # Flattening: marketable, taker allowed, at most the gap through the
                    # market (gap = the safety buffer, at least a tick).
                    gap = max(buffer, TICK)
                    assert away <= 0 and not request.post_only
                    assert -away <= gap + TICK, f"flatten {side} at {request.price}, {price}"
                else:
                    assert away > 0
                    # A take-profit is never worse than entry +/- one interval.
                    if side is Side.SELL:
                        assert request.price >= lattice.above(entry)
                    else:
                        assert request.price <= lattice.below(entry)
                assert not (
                    tick.risk is RiskState.HALTED
                    and config.halted_closing_orders is HaltedClosingPolicy.CANCEL
                )
            # (h) client order ids are unique and generations increase.
            assert request.client_order_id not in self.cids
            self.cids.add(request.client_order_id)
            parts = parse_client_order_id(request.client_order_id)
            assert parts.level == action.slot_level and parts.side is side
            assert parts.generation > self.last_generation
            self.last_generation = parts.generation

        active = book.active_orders()
        # (e) after executing, no opening order survives RISK_MODE / HALTED (the exchange
        # confirms cancels at once, so none is even in flight).
        if tick.risk is not RiskState.NORMAL:
            assert all(o.role is OrderRole.CLOSE or o.cancel_requested for o in active)
            if config.halted_closing_orders is HaltedClosingPolicy.CANCEL and (
                tick.risk is RiskState.HALTED
            ):
                assert not active

        # (b) exposure cap as placed: a step that placed an opening order leaves that side's
        # inventory plus resting opening orders within max_inventory.
        open_buys = sum(
            (o.remaining_qty for o in active if o.role is OrderRole.OPEN and o.side is Side.BUY),
            D(0),
        )
        open_sells = sum(
            (o.remaining_qty for o in active if o.role is OrderRole.OPEN and o.side is Side.SELL),
            D(0),
        )
        placed_sides = {
            a.place.side
            for a in places
            if a.place is not None and view.roles[a.client_order_id] is OrderRole.OPEN
        }
        if Side.BUY in placed_sides:
            assert book.inventory + open_buys <= config.max_inventory
        if Side.SELL in placed_sides:
            assert open_sells - book.inventory <= config.max_inventory

        # (g) one order per slot, and the book and the exchange agree on what rests.
        resting = {o.request.client_order_id: o for o in market.open_orders()}
        assert {o.client_order_id for o in active} == set(resting)
        levels = [parse_client_order_id(cid).level for cid in resting]
        assert len(levels) == len(set(levels))
        for order in active:
            slot = book.slots[order.level]
            assert slot.active_order is order
            assert resting[order.client_order_id].filled == order.filled_qty
            if order.role is OrderRole.CLOSE:
                assert slot.position_qty * order.side.sign < 0
                assert order.remaining_qty == abs(slot.position_qty)
        assert all(o.reject_reason != "duplicate client order id" for o in book.retired.values())

        # (f) accounting identity, exactly.
        mark = tick.market
        inventory = sum((s.position_qty for s in book.slots.values()), D(0))
        assert inventory == book.inventory
        assert self.cash + book.inventory * mark == (
            book.realized_pnl + book.unrealized_pnl(mark) - book.fees_paid
        )


class ExposureCheck(StepCheck):
    """(b) in full: the cap holds after every step, fills of closing orders included."""

    def after_step(self, book: SlotBook, market: Market, view: StepView) -> None:
        active = [o for o in book.active_orders() if o.role is OrderRole.OPEN]
        buys = sum((o.remaining_qty for o in active if o.side is Side.BUY), D(0))
        sells = sum((o.remaining_qty for o in active if o.side is Side.SELL), D(0))
        cap = self.config.max_inventory
        where = f"step at {view.tick.price}: inventory {book.inventory}"
        assert abs(book.inventory) <= cap, where
        assert book.inventory + buys <= cap, f"{where}, opening buys {buys}"
        assert sells - book.inventory <= cap, f"{where}, opening sells {sells}"


# -- properties along random paths -----------------------------------------------------------


@settings(max_examples=120)
@given(scenarios())
def test_invariants_hold_along_random_paths(scenario: Scenario) -> None:
    """(a) safety buffer, (b) cap as placed, (c) passive prices on the tick, (d) no illegal
    transition (one would raise), (e) risk states, (f) accounting, (g) one order per slot,
    (h) unique ids."""
    drive(scenario, StepCheck(scenario.config))


def _flat_path(*prices: str) -> tuple[Tick, ...]:
    return tuple(Tick(D(p), D(p), RiskState.NORMAL, None, None) for p in prices)


NEUTRAL_CLOSE_THEN_OPENS = Scenario(
    GridConfig(
        mode=GridMode.NEUTRAL,
        base_interval=D(100),
        buy_window=3,
        sell_window=3,
        order_qty=D("0.01"),
        max_inventory=D("0.02"),
    ),
    None,
    _flat_path("100000", "100100", "99790"),
)
"""A short's closing buy fills, then the opening buys the short made room for."""


@settings(max_examples=120)
@given(scenarios())
@example(NEUTRAL_CLOSE_THEN_OPENS)
def test_exposure_cap_holds_after_every_step(scenario: Scenario) -> None:
    """|inventory| and each side's inventory plus resting opening orders stay within
    max_inventory after every step (it holds at the start: flat, nothing resting)."""
    drive(scenario, ExposureCheck(scenario.config))


# -- properties of the building blocks -------------------------------------------------------


@st.composite
def price_points(draw: st.DrawFn) -> tuple[GridConfig, Decimal, Decimal, Decimal | None]:
    """A config, an anchor, a price near it and maybe an ATR."""
    config = draw(grid_configs())
    anchor = START + draw(st.integers(-100_000, 100_000)) * TICK
    price = anchor + draw(st.integers(-2_000_000, 2_000_000)) * TICK
    atr = _step_abs(config) * draw(_hundredths(10, 400)) if draw(st.booleans()) else None
    return config, anchor, price, atr


GEOMETRIC_FIVE_BUYS = GridConfig(
    spacing=Spacing.GEOMETRIC,
    base_interval=D("0.01"),
    buy_window=5,
    order_qty=STEP,
    max_inventory=D(1),
)
"""Its fifth buy level, 100000 / 1.01^5 = 95146.5687..., is nearer to 95146.57 than .56."""


@settings(max_examples=150)
@given(price_points(), st.integers(-3, 3))
@example((GEOMETRIC_FIVE_BUYS, START, START, None), 0)
def test_opening_prices_round_away_from_the_market(
    point: tuple[GridConfig, Decimal, Decimal, Decimal | None], inventory_steps: int
) -> None:
    """SPEC §4: a buy's price is its lattice level rounded down, a sell's rounded up."""
    config, anchor, price, atr = point
    interval = effective_interval(config, atr, _step_abs(config))
    lattice = Lattice(anchor, interval, config.spacing)
    target = compute_target(
        price=price,
        interval=interval,
        anchor=anchor,
        slots={},
        inventory=STEP * inventory_steps,
        config=config,
        instrument=INSTRUMENT,
        risk=RiskState.NORMAL,
        atr=atr,
    )
    raw = {}
    for i in range(
        -max(config.buy_window, config.sell_window) - 1,
        max(config.buy_window, config.sell_window) + 2,
    ):
        level = lattice.level(target.center_index + i)
        raw[INSTRUMENT.round_price_nearest(level)] = level
    for order in target.orders:
        assert order.role is OrderRole.OPEN
        if order.side is Side.BUY:
            assert order.price <= raw[order.level], f"buy {order.price} above {raw[order.level]}"
        else:
            assert order.price >= raw[order.level], f"sell {order.price} below {raw[order.level]}"


@settings(max_examples=150)
@given(grid_configs(), st.none() | _hundredths(1, 100_000), st.none() | _hundredths(1, 100_000))
def test_effective_interval_is_clamped(
    config: GridConfig, atr: Decimal | None, baseline: Decimal | None
) -> None:
    interval = effective_interval(config, atr, baseline)
    if config.dynamic_interval and atr is not None and baseline is not None:
        assert config.min_interval is None or interval >= config.min_interval
        assert config.max_interval is None or interval <= config.max_interval
        expected = config.base_interval * config.volatility_scale * atr / baseline
        if config.min_interval is not None:
            expected = max(expected, config.min_interval)
        if config.max_interval is not None:
            expected = min(expected, config.max_interval)
        assert interval == expected
    else:
        assert interval == config.base_interval


@settings(max_examples=150)
@given(
    st.integers(1, 10_000_000).map(lambda n: n * TICK),
    st.one_of(
        st.tuples(st.just(Spacing.ARITHMETIC), st.integers(1, 100_000).map(lambda n: n * TICK)),
        st.tuples(st.just(Spacing.GEOMETRIC), st.integers(1, 5_000).map(lambda n: D(n) / 10_000)),
    ),
    st.integers(-300, 300),
)
def test_lattice_levels_increase_and_index_back(
    anchor: Decimal, spacing_interval: tuple[Spacing, Decimal], k: int
) -> None:
    spacing, interval = spacing_interval
    lattice = Lattice(anchor, interval, spacing)
    assert lattice.level(0) == anchor
    assert lattice.level(k - 1) < lattice.level(k) < lattice.level(k + 1)
    assert lattice.nearest_index(lattice.level(k)) == k
    assert lattice.nearest_index(lattice.above(lattice.level(k))) == k + 1
    assert lattice.nearest_index(lattice.below(lattice.level(k))) == k - 1
    assert lattice.step(lattice.level(k)) > 0


@settings(max_examples=150)
@given(
    grid_configs(),
    st.integers(100, 10_000_000).map(lambda n: n * TICK),
    st.none() | st.integers(1, 10_000_000).map(lambda n: n * TICK),
    st.sampled_from([D("0.001"), D("0.00001"), D("0.5")]),
)
def test_order_size_bounds(
    config: GridConfig, price: Decimal, atr: Decimal | None, step: Decimal
) -> None:
    instrument = Instrument(SYMBOL, TICK, step)
    raw = config.order_qty if config.order_qty is not None else config.order_notional / price
    size = order_size(config, instrument, price, atr)
    assert size >= 0
    assert size % step == 0
    assert size <= instrument.round_qty(raw)
    assert size >= instrument.round_qty(raw * MIN_SIZE_FACTOR)
    if not config.volatility_size_k or atr is None:
        assert size == instrument.round_qty(raw)
