"""Hypothesis properties of the risk layer.

Random sequences of inputs drive the real ``RiskMonitor`` and ``CircuitBreaker``: every
emitted event must chain from the component's state before the call to its state after,
no call may change the state silently, ``HALTED`` is left only by the cooldown (once it
has run out) or a reset, and a checkpoint taken anywhere resumes identically. The cleaner
and the reconciler are checked against their contracts on random books.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.enums import OrderRole, OrderStatus, RiskState, Side, SlotStatus
from market_maker.domain.market import Candle
from market_maker.domain.orders import OrderUpdate
from market_maker.risk.breaker import AUTOMATIC_KINDS, CircuitBreaker
from market_maker.risk.cleaner import clean_orders, is_cancellable
from market_maker.risk.config import (
    Aggregation,
    CircuitBreakerConfig,
    OrderCleanerConfig,
    ReconcilerConfig,
    RiskMonitorConfig,
)
from market_maker.risk.events import RiskEvent, RiskEventKind
from market_maker.risk.monitor import RiskMonitor
from market_maker.risk.reconcile import QueryOrder, reconcile
from market_maker.slots.client_ids import make_client_order_id
from market_maker.slots.model import OrderRecord, Slot

D = Decimal
SYMBOLS = ("BTC/USDT", "ETH/USDT")
BOT = "pr1"

# -- monitor -------------------------------------------------------------------------------

monitor_configs = st.builds(
    RiskMonitorConfig,
    enabled=st.booleans(),
    window_candles=st.integers(1, 4),
    volume_multiplier=st.sampled_from([D("1.5"), D(2), D(3)]),
    require_close_below_average=st.booleans(),
    calm_candles=st.integers(0, 3),
    aggregation=st.sampled_from(list(Aggregation)),
)


@st.composite
def monitor_ops(draw: st.DrawFn) -> list[Candle | int]:
    """Candles whose open times mostly advance, sometimes repeat or step back; some resets."""
    clock = dict.fromkeys(SYMBOLS, 0)
    ops: list[Candle | int] = []
    for _ in range(draw(st.integers(0, 60))):
        if draw(st.integers(0, 19)) == 0:
            ops.append(draw(st.integers(0, 10**6)))  # a manual reset at this time
            continue
        symbol = draw(st.sampled_from(SYMBOLS))
        clock[symbol] = max(0, clock[symbol] + draw(st.sampled_from([-1, 0, 1, 1, 1, 1])))
        close = D(draw(st.integers(90, 110)))
        volume = D(draw(st.sampled_from([0, 1, 10, 10, 10, 12, 40, 200])))
        closed = draw(st.integers(0, 3)) > 0
        start = clock[symbol] * 60_000
        ops.append(Candle(symbol, start, 60, close, close + 2, close - 2, close, volume, closed))
    return ops


def _monitor_step(monitor: RiskMonitor, op: Candle | int) -> RiskEvent | None:
    return monitor.on_candle(op) if isinstance(op, Candle) else monitor.reset(op)


def _check_event(before: RiskState, after: RiskState, event: RiskEvent | None) -> None:
    if event is None:
        assert after is before, "the state changed without an event"
    else:
        assert (event.state_before, event.state_after) == (before, after)


@given(monitor_configs, monitor_ops())
def test_monitor_never_makes_an_illegal_or_silent_transition(
    config: RiskMonitorConfig, ops: list[Candle | int]
) -> None:
    monitor = RiskMonitor(config, SYMBOLS)
    for op in ops:
        before = monitor.state
        event = _monitor_step(monitor, op)
        _check_event(before, monitor.state, event)
        assert monitor.state is not RiskState.HALTED
        flags = [monitor.is_anomalous(s) for s in SYMBOLS]
        combine = any if config.aggregation is Aggregation.ANY else all
        assert (monitor.state is RiskState.RISK_MODE) == combine(flags)
        if event is not None and event.state_after is RiskState.NORMAL:
            expected = (
                RiskEventKind.MONITOR_RESET if isinstance(op, int) else RiskEventKind.CALM_RECOVERY
            )
            assert event.kind is expected
            assert config.calm_candles or event.kind is RiskEventKind.MONITOR_RESET
        if event is not None and event.state_after is RiskState.RISK_MODE:
            assert config.enabled
            assert isinstance(op, Candle)


@given(monitor_configs, monitor_ops(), st.data())
def test_monitor_checkpoint_resumes_identically(
    config: RiskMonitorConfig, ops: list[Candle | int], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(ops)))
    whole = RiskMonitor(config, SYMBOLS)
    part = RiskMonitor(config, SYMBOLS)
    for op in ops[:cut]:
        _monitor_step(whole, op)
        _monitor_step(part, op)
    resumed = RiskMonitor.restore(config, part.snapshot())
    for op in ops[cut:]:
        assert _monitor_step(resumed, op) == _monitor_step(whole, op)
    assert resumed.snapshot() == whole.snapshot()


# -- breaker -------------------------------------------------------------------------------

breaker_configs = st.builds(
    CircuitBreakerConfig,
    enabled=st.booleans(),
    max_consecutive_losses=st.integers(0, 4),
    max_drawdown_quote=st.one_of(st.none(), st.sampled_from([D(5), D(20)])),
    max_drawdown_pct=st.one_of(st.none(), st.sampled_from([D(3), D(10)])),
    cooldown_s=st.sampled_from([0, 1, 30]),
)


@dataclass(frozen=True)
class Op:
    name: str  # round_trip, equity, time, trip, reset
    value: Decimal
    dt_ms: int


breaker_ops = st.lists(
    st.builds(
        Op,
        st.sampled_from(["round_trip"] * 4 + ["equity"] * 3 + ["time"] * 3 + ["trip", "reset"]),
        st.integers(-10, 10).map(D),
        st.sampled_from([0, 500, 1_000, 30_000]),
    ),
    max_size=60,
)


def _breaker_step(cb: CircuitBreaker, op: Op, ts: int) -> RiskEvent | None:
    steps: dict[str, Callable[[], RiskEvent | None]] = {
        "round_trip": lambda: cb.on_round_trip(op.value, ts),
        "equity": lambda: cb.on_equity(100 + op.value * 3, ts),
        "time": lambda: cb.on_time(ts),
        "trip": lambda: cb.trip(RiskEventKind.OPERATOR_HALT, "operator", ts),
        "reset": lambda: cb.reset(ts),
    }
    return steps[op.name]()


@given(breaker_configs, breaker_ops)
def test_breaker_leaves_halted_only_by_cooldown_or_reset(
    config: CircuitBreakerConfig, ops: list[Op]
) -> None:
    cb = CircuitBreaker(config)
    ts = 0
    for op in ops:
        ts += op.dt_ms
        before = cb.snapshot()
        event = _breaker_step(cb, op, ts)
        _check_event(before.state, cb.state, event)
        assert cb.state is not RiskState.RISK_MODE
        if before.state is RiskState.HALTED and cb.state is RiskState.NORMAL:
            assert event is not None
            if op.name == "time":
                assert event.kind is RiskEventKind.COOLDOWN_EXPIRED
                assert before.trip_kind in AUTOMATIC_KINDS
                assert config.cooldown_s
                assert before.tripped_at_ms is not None
                assert ts >= before.tripped_at_ms + config.cooldown_s * 1000
            else:
                assert op.name == "reset"
                assert event.kind is RiskEventKind.BREAKER_RESET
        if event is not None and event.state_after is RiskState.HALTED:
            assert op.name in ("round_trip", "equity", "trip")
            assert op.name == "trip" or config.enabled
            if event.kind is RiskEventKind.CONSECUTIVE_LOSSES:
                assert cb.consecutive_losses >= config.max_consecutive_losses > 0
            if event.kind is RiskEventKind.DRAWDOWN_QUOTE:
                assert config.max_drawdown_quote is not None
                assert cb.peak_equity is not None and cb.last_equity is not None
                assert cb.peak_equity - cb.last_equity >= config.max_drawdown_quote


@given(breaker_configs, breaker_ops, st.data())
def test_breaker_checkpoint_resumes_identically(
    config: CircuitBreakerConfig, ops: list[Op], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(ops)))
    whole, part = CircuitBreaker(config), CircuitBreaker(config)
    ts = 0
    for op in ops[:cut]:
        ts += op.dt_ms
        _breaker_step(whole, op, ts)
        _breaker_step(part, op, ts)
    resumed = CircuitBreaker.restore(config, part.snapshot())
    for op in ops[cut:]:
        ts += op.dt_ms
        assert _breaker_step(resumed, op, ts) == _breaker_step(whole, op, ts)
    assert resumed.snapshot() == whole.snapshot()


# -- cleaner and reconciler ----------------------------------------------------------------


@st.composite
def slot_books(draw: st.DrawFn) -> dict[Decimal, Slot]:
    levels = draw(st.lists(st.integers(80, 120), unique=True, max_size=12))
    slots: dict[Decimal, Slot] = {}
    for generation, raw in enumerate(levels, start=1):
        level = D(raw)
        status = draw(st.sampled_from(list(SlotStatus)))
        side = draw(st.sampled_from(list(Side)))
        if status is SlotStatus.PENDING:
            order_status: OrderStatus | None = None
        elif status is SlotStatus.LOCKED:
            order_status = draw(st.sampled_from([OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED]))
        else:
            order_status = draw(st.sampled_from([OrderStatus.FILLED, OrderStatus.CANCELED]))
        filled = D(0) if order_status in (None, OrderStatus.NEW) else D("0.5")
        record = OrderRecord(
            client_order_id=make_client_order_id(BOT, SYMBOLS[0], level, side, generation),
            level=level,
            side=side,
            role=draw(st.sampled_from(list(OrderRole))),
            price=level,
            qty=D(1),
            generation=generation,
            order_id="" if order_status is None else f"o{generation}",
            status=order_status,
            filled_qty=filled,
            filled_quote=filled * level,
            cancel_requested=status is SlotStatus.LOCKED and draw(st.booleans()),
        )
        position = draw(st.sampled_from([D(0), D("0.5"), D(-1)]))
        slots[level] = Slot(
            level, status, position_qty=position, generation=generation, order=record
        )
    return slots


@given(
    slot_books(),
    st.builds(
        OrderCleanerConfig,
        max_order_age_s=st.sampled_from([0, 10]),
        max_open_orders=st.integers(0, 6),
        include_closing_orders=st.booleans(),
    ),
    st.integers(80, 120).map(D),
    st.data(),
)
def test_cleaner_selects_only_cancellable_orders_furthest_first(
    slots: dict[Decimal, Slot], config: OrderCleanerConfig, price: Decimal, data: st.DataObject
) -> None:
    orders = [s.order for s in slots.values() if s.order is not None]
    placed = {o.client_order_id: data.draw(st.integers(0, 20_000)) for o in orders}
    in_flight = {o.client_order_id for o in orders if data.draw(st.booleans())}
    out = clean_orders(
        slots, now_ms=20_000, price=price, config=config, placed_at_ms=placed, in_flight=in_flight
    )
    chosen = [c.client_order_id for c in out]
    assert len(chosen) == len(set(chosen))
    selectable = {
        o.client_order_id: o
        for s in slots.values()
        if is_cancellable(s, in_flight)
        and (o := s.order) is not None
        and (config.include_closing_orders or o.role is OrderRole.OPEN)
    }
    assert set(chosen) <= set(selectable)
    trimmed = [selectable[c.client_order_id] for c in out if "max_open_orders" in c.reason]
    if trimmed:
        nearest_trimmed = min(abs(o.price - price) for o in trimmed)
        left = [o for cid, o in selectable.items() if cid not in chosen]
        assert all(abs(o.price - price) <= nearest_trimmed for o in left)
    if config.max_open_orders:
        counted = [s for s in slots.values() if (o := s.active_order) and not o.cancel_requested]
        aged = len(out) - len(trimmed)
        assert len(counted) - len(out) >= min(config.max_open_orders, len(counted) - aged)


def _mirror(record: OrderRecord) -> OrderUpdate:
    assert record.status is not None
    return OrderUpdate(
        SYMBOLS[0],
        record.order_id,
        record.client_order_id,
        record.side,
        record.status,
        record.price,
        record.qty,
        cum_filled_qty=record.filled_qty,
        cum_quote_qty=record.filled_quote,
    )


@given(slot_books(), st.data())
def test_reconciler_finds_nothing_on_a_mirror_and_queries_exactly_what_vanished(
    slots: dict[Decimal, Slot], data: st.DataObject
) -> None:
    resting = [s.order for s in slots.values() if s.status is SlotStatus.LOCKED and s.order]
    position = sum((s.position_qty for s in slots.values()), D(0))
    config = ReconcilerConfig()
    mirror = [_mirror(o) for o in resting]
    result = reconcile(
        slots,
        bot_id=BOT,
        symbol=SYMBOLS[0],
        open_orders=mirror,
        config=config,
        exchange_position=position,
    )
    pending = [s for s in slots.values() if s.status is SlotStatus.PENDING]
    assert all(isinstance(c, QueryOrder) for c in result.corrections)
    assert {c.level for c in result.corrections if isinstance(c, QueryOrder)} == {
        s.level for s in pending
    }
    gone = {o.client_order_id for o in resting if data.draw(st.booleans())}
    kept = [u for u in mirror if u.client_order_id not in gone]
    again = reconcile(slots, bot_id=BOT, symbol=SYMBOLS[0], open_orders=kept, config=config)
    queried = {c.client_order_id for c in again.corrections if isinstance(c, QueryOrder)}
    assert queried == gone | {s.order.client_order_id for s in pending if s.order}
    assert len(again.corrections) == len(queried)
