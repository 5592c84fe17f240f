"""The metrics of a bot whose state is known: a real engine traded on a simulated exchange.

Every gauge equals the engine's own figure (decimal -> float at the export only), the order
counters equal what the engine and the exchange did, a second update adds nothing, and
each bot has its own registry.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.engine.grid import simple_engine
from market_maker.live.runner import RunnerCounts
from market_maker.ops.history import History
from market_maker.ops.metrics import BotMetrics, skew
from market_maker.ops.publish import build_view
from market_maker.stores.memory import MemoryStore

D = Decimal
SYMBOL = "BTC/USDT"
T0 = 1_747_180_800_000
CONFIG = AppConfig.model_validate(
    {
        "bot_id": "met1",
        "symbol": SYMBOL,
        "instrument": {"tick_size": "0.01", "step_size": "0.0001", "min_qty": "0.0001"},
        "grid": {
            "mode": "long",
            "base_interval": "100",
            "buy_window": 3,
            "sell_window": 3,
            "order_qty": "0.01",
            "max_inventory": "0.05",
        },
        "backtest": {"initial_quote": "100000"},
    }
)
PATH = ["100000", "99850", "99700", "99550", "99700", "99900", "100100", "100250", "100150"]


@dataclass
class RunnerView:
    """What the runner hook reads of a ``LiveRunner`` (the engine and its counters)."""

    engine: Any
    counts: RunnerCounts = field(default_factory=RunnerCounts)
    price_wall_ms: int | None = None
    commands_done: int = 0
    last_error: tuple[int, str] | None = None


def samples(metrics: BotMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for s in family.samples:
            assert (s.labels["bot_id"], s.labels["symbol"]) == ("met1", SYMBOL), s
            rest = tuple(sorted((k, v) for k, v in s.labels.items() if k not in LABELS))
            found[(s.name, rest)] = s.value
    return found


LABELS = ("bot_id", "symbol")


def traded() -> tuple[BotMetrics, RunnerView, dict[str, Any], Any]:
    metrics = BotMetrics("met1", SYMBOL, CONFIG.grid.max_inventory)
    exchange = simulated_exchange(CONFIG)
    engine = simple_engine(CONFIG, exchange, MemoryStore(), observer=metrics.observer)
    engine.start()
    for i, close in enumerate(PATH):
        c = D(close)
        candle = Candle(SYMBOL, T0 + i * 60_000, 60, c + 60, c + 70, c - 160, c, D(10))
        for report in exchange.on_candle(candle):
            engine.on_order_update(report)
        engine.on_candle(candle)
        engine.on_price_update(PriceUpdate(SYMBOL, c, candle.open_time_ms))
    runner = RunnerView(engine, price_wall_ms=T0)
    view = build_view(runner, T0 + 1500, exchange.balances(), T0)  # type: ignore[arg-type]
    metrics.update(runner, view)  # type: ignore[arg-type]
    return metrics, runner, view, exchange


def test_gauges_equal_the_engines_own_figures() -> None:
    metrics, runner, _, exchange = traded()
    state = runner.engine.state
    book = state.book
    got = samples(metrics)
    assert book.realized_pnl != 0 and book.inventory != 0  # the path bought and sold
    assert got[("market_maker_realized_pnl", ())] == float(book.realized_pnl)
    assert got[("market_maker_fees_paid", ())] == float(book.fees_paid)
    assert got[("market_maker_inventory", ())] == float(book.inventory)
    assert got[("market_maker_unrealized_pnl", ())] == float(book.unrealized_pnl(state.last_price))
    assert got[("market_maker_inventory_skew", ())] == float(book.inventory / D("0.05"))
    assert got[("market_maker_last_price", ())] == float(state.last_price)
    assert got[("market_maker_price_age_seconds", ())] == 1.5
    held = {a: b.total for a, b in exchange.balances().items()}
    assert got[("market_maker_equity", ())] == float(
        held["USDT"] + held.get("BTC", D(0)) * state.last_price
    )
    for status in ("FREE", "PENDING", "LOCKED"):
        expected = sum(s.status.value == status for s in book.slots.values())
        assert got[("market_maker_active_slots", (("status", status),))] == expected
    resting = [s.active_order for s in book.slots.values() if s.active_order is not None]
    assert resting
    for side in ("BUY", "SELL"):
        for role in ("OPEN", "CLOSE"):
            expected = sum(o.side.value == side and o.role.value == role for o in resting)
            key = ("market_maker_open_orders", (("role", role), ("side", side)))
            assert got[key] == expected
    assert got[("market_maker_risk_mode_active", ())] == 0
    assert got[("market_maker_circuit_breaker_open", ())] == 0


def test_counters_equal_what_the_engine_and_the_exchange_did_and_never_count_twice() -> None:
    metrics, runner, view, exchange = traded()
    engine = runner.engine
    trades = exchange.own_trades(SYMBOL, None)
    for _ in range(2):  # a second update of the same state adds nothing
        got = samples(metrics)
        assert got[("market_maker_orders_placed_total", ())] == engine.orders_placed > 0
        assert got[("market_maker_orders_cancelled_total", ())] == engine.orders_canceled
        assert got[("market_maker_orders_filled_total", ())] == len(trades) > 2
        metrics.update(runner, view)  # type: ignore[arg-type]


def test_corrections_count_the_new_ones_by_kind() -> None:
    metrics = BotMetrics("met1", SYMBOL, D(1))
    _, runner, view, _ = traded()
    for corrections in ({"orphan_order": 1}, {"orphan_order": 3, "fill_booked": 2}):
        metrics.update(runner, {**view, "corrections": corrections})
    got = samples(metrics)
    kind = "market_maker_reconciliation_corrections_total"
    assert got[(kind, (("kind", "orphan_order"),))] == 3
    assert got[(kind, (("kind", "fill_booked"),))] == 2


def test_requests_errors_and_refusals() -> None:
    now = [100.0]
    metrics = BotMetrics("met1", SYMBOL, D(1), monotonic=lambda: now[0])
    metrics.observe_request("create_order", 0.02, None)
    metrics.observe_request("create_order", 0.03, "insufficient")  # refused: not an error
    metrics.observe_request("fetch_ticker", 10.0, "retryable")
    now[0] = 130.0
    metrics.observe_request("fetch_open_orders", 0.5, "rate_limited")
    metrics.observe_request("cancel_order", 0.01, "not_found")  # an error, not a fault
    metrics.observe_tick_to_order(0.004)
    got = samples(metrics)
    assert got[("market_maker_orders_rejected_total", ())] == 1
    errors = "market_maker_exchange_errors_total"
    assert got[(errors, (("error_class", "retryable"),))] == 1
    assert got[(errors, (("error_class", "rate_limited"),))] == 1
    assert got[(errors, (("error_class", "not_found"),))] == 1
    assert (errors, (("error_class", "insufficient"),)) not in got
    requests = "market_maker_exchange_request_seconds_count"
    assert got[(requests, (("operation", "create_order"),))] == 2
    assert got[("market_maker_tick_to_order_seconds_count", ())] == 1
    assert got[("market_maker_tick_to_order_seconds_bucket", (("le", "0.005"),))] == 1
    assert metrics.errors_within(60) == 2
    assert metrics.errors_within(20) == 1  # the timeout was 30 s ago


def test_each_bot_has_its_own_registry() -> None:
    first = BotMetrics("a", SYMBOL, D(1))
    second = BotMetrics("b", SYMBOL, D(1))  # the same names: a shared registry would refuse
    first.observe_request("fetch_ticker", 1.0, "retryable")
    assert b'error_class="retryable"' not in second.exposition()


@given(
    inventory=st.decimals(-10, 10, places=4, allow_nan=False),
    limit=st.decimals(0, 5, places=3, allow_nan=False),
)
def test_skew_is_the_share_of_the_limit_within_minus_one_and_one(
    inventory: Decimal, limit: Decimal
) -> None:
    value = skew(inventory, limit)
    assert -1 <= value <= 1
    if limit > 0 and abs(inventory) <= limit:
        assert value == float(inventory / limit)
    if limit == 0:
        assert value == 0


def test_history_is_bounded_and_keeps_the_newest() -> None:
    history = History(10)
    for i in range(25):
        history.record({"wall_ms": i, "last_price": str(i), "position": "0"})
    points = history.points()
    assert len(points) == len(history) == 10
    assert [p["wall_ms"] for p in points] == list(range(15, 25))
    assert [p["price"] for p in history.points(since_ms=22)] == ["23", "24"]
