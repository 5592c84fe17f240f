"""Reconciliation that cannot race: fills landing between the reconciler's reads.

A venue serves its trade list, open orders and balances from separate endpoints. Here a
hand-written ``Exchange`` wrapper around the real ``SimulatedExchange`` processes a market
candle (which fills our orders) right after a chosen read of the reconciliation, as a live
venue's matching engine does while the bot is between two requests. The fill reports the
candle causes reach the bot only afterwards (a stream is slower than the matching engine),
or never. The bot must not halt on such a read, must still book the fill, and must still
halt on a real divergence (base removed from the account behind its back).
"""

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.domain.enums import RiskState
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import OrderUpdate
from market_maker.engine.grid import GridEngine, simple_engine
from market_maker.exchanges.base import Balance, OwnTrade
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.risk.events import RiskEventKind
from market_maker.stores.memory import MemoryStore
from market_maker.stores.sqlite import SqliteStore

D = Decimal
BOT, SYMBOL = "rk1", "BTC/USDT"
T0 = 1_700_000_000_000
MINUTE = 60_000
QTY = D("0.01")
READS = ("own_trades", "open_orders", "balances")


def make_config(confirmations: int = 2) -> AppConfig:
    return AppConfig.model_validate(
        {
            "bot_id": BOT,
            "symbol": SYMBOL,
            "instrument": {"tick_size": "0.01", "step_size": "0.0001", "min_qty": "0.0001"},
            "grid": {
                "mode": "long",
                "base_interval": "100",
                "buy_window": 3,
                "sell_window": 3,
                "order_qty": str(QTY),
                "max_inventory": "1",
            },
            "backtest": {"initial_quote": "100000", "spot": False},
            "risk": {
                # Every candle (60 s of event time) reconciles.
                "reconciler": {"interval_s": 60, "divergence_confirmations": confirmations}
            },
        }
    )


def bar(i: int, close: str = "100000", low: str | None = None) -> Candle:
    """The ``i``-th one-minute candle: opens at ``close``, dips to ``low``, 10 USDT above."""
    c = D(close)
    return Candle(
        SYMBOL, T0 + i * MINUTE, 60, c, c + 10, c - 10 if low is None else D(low), c, D(10)
    )


class FillsBetweenReads:
    """The simulated venue, whose market moves on right after chosen reads.

    ``after_read(n, candle)`` processes ``candle`` right after the ``n``-th read (trade
    list, open orders or balances) from now on. Its fill reports wait in ``late`` for the
    test to deliver (a stream slower than the matching engine). ``calls`` logs every read
    with its arguments.
    """

    def __init__(self, inner: SimulatedExchange) -> None:
        self.inner = inner
        self.reads = 0
        self.moves: dict[int, Candle] = {}
        self.late: list[OrderUpdate] = []
        self.calls: list[tuple[Any, ...]] = []

    def after_read(self, n: int, candle: Candle) -> None:
        self.moves[self.reads + n] = candle

    def _read(self, name: str, answer: Any, *args: Any) -> Any:
        self.reads += 1
        self.calls.append((name, *args))
        if (candle := self.moves.pop(self.reads, None)) is not None:
            self.late += self.inner.on_candle(candle)
        return answer

    def own_trades(self, symbol: str, after_id: int | None, limit: int = 1000) -> list[OwnTrade]:
        trades = self.inner.own_trades(symbol, after_id, limit)
        return self._read("own_trades", trades, after_id, limit)  # type: ignore[no-any-return]

    def open_orders(self, symbol: str) -> list[OrderUpdate]:
        return self._read("open_orders", self.inner.open_orders(symbol))  # type: ignore[no-any-return]

    def balances(self) -> dict[str, Balance]:
        return self._read("balances", self.inner.balances())  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def step(engine: GridEngine, venue: FillsBetweenReads, candle: Candle) -> None:
    """One candle the way a live runner feeds it; late reports arrive after the decision."""
    for report in venue.inner.on_candle(candle):
        engine.on_order_update(report)
    engine.on_candle(candle)
    engine.on_price_update(PriceUpdate(SYMBOL, candle.close, candle.open_time_ms))


def deliver_late(engine: GridEngine, venue: FillsBetweenReads) -> None:
    for report in venue.late:
        engine.on_order_update(report)
    venue.late = []


def positions_agree(engine: GridEngine, venue: FillsBetweenReads) -> bool:
    state = engine.state
    assert state.position_offset is not None
    return state.book.inventory + state.position_offset == venue.inner.total("BTC")


def start(
    config: AppConfig, store: Any = None, inner: SimulatedExchange | None = None
) -> tuple[GridEngine, FillsBetweenReads]:
    venue = FillsBetweenReads(inner or simulated_exchange(config))
    engine = simple_engine(config, venue, store or MemoryStore())  # type: ignore[arg-type]
    engine.start()
    step(engine, venue, bar(0))  # three buys rest at 99,900, 99,800 and 99,700
    assert len(venue.inner.resting) == 3
    return engine, venue


def halts(engine: GridEngine) -> list[str]:
    return [c for c in engine.upkeep.corrections if c in {"Halt", "SuspectDivergence"}]


def test_a_fill_right_after_open_orders_is_read_again_not_halted() -> None:
    # With divergence_confirmations 1 the consistent read alone must prevent the false halt.
    engine, venue = start(make_config(confirmations=1))
    venue.after_read(2, bar(1, close="99950", low="99790"))  # read 2: open orders
    step(engine, venue, bar(1, close="99950", low="99990"))  # the bar itself reaches nothing

    assert venue.calls[:6] == [
        ("own_trades", None, 1000),
        ("open_orders",),  # the market fills 99,900 and 99,800 right after this answer
        ("balances",),
        ("own_trades", None, 1),  # the trade list moved: read again, from where it was
        ("own_trades", None, 1000),
        ("open_orders",),
    ]
    assert engine.upkeep.rereads == 1
    assert halts(engine) == []
    assert engine.state.risk_state is RiskState.NORMAL
    # The two fills were booked by the reconciler (looked up), before any report arrived.
    assert engine.upkeep.corrections == Counter({"QueryOrder": 2})
    assert engine.state.book.inventory == 2 * QTY
    assert positions_agree(engine, venue)
    assert engine.state.last_trade_id == 2  # the venue's two fills, booked

    deliver_late(engine, venue)  # the stream catches up: nothing is booked twice
    step(engine, venue, bar(2, close="99950", low="99940"))
    assert positions_agree(engine, venue)
    assert engine.state.book.fees_paid == sum(f.last_fee for f in venue.inner.fills)
    assert halts(engine) == []
    assert venue.calls[-4][1:] == (2, 1000)  # the next reconciliation reads on from trade 2


@pytest.mark.parametrize("confirmations", [1, 2, 3])
def test_base_removed_behind_the_bots_back_still_halts_after_the_confirmations(
    confirmations: int,
) -> None:
    engine, venue = start(make_config(confirmations))
    step(engine, venue, bar(1, close="99950", low="99890"))  # 99,900 fills: 0.01 BTC held
    assert engine.state.book.inventory == QTY and positions_agree(engine, venue)
    venue.inner.free["BTC"] -= D("0.005")  # a transfer out: a real divergence of 50%

    step(engine, venue, bar(2, close="99950", low="99940"))

    assert engine.upkeep.corrections == Counter({"SuspectDivergence": confirmations - 1, "Halt": 1})
    assert engine.state.risk_state is RiskState.HALTED
    assert engine.risk.breaker.snapshot().trip_kind is RiskEventKind.POSITION_DIVERGENCE
    assert engine.state.last_trade_id == 1  # not moved past what the halt is about


def test_the_last_booked_trade_id_survives_a_restart(tmp_path: Path) -> None:
    config = make_config()
    store = SqliteStore(tmp_path / "state.db", bot_id=BOT, symbol=SYMBOL)
    engine, venue = start(config, store)
    step(engine, venue, bar(1, close="99950", low="99790"))
    assert engine.state.last_trade_id == 2
    engine.stop()

    again = SqliteStore(tmp_path / "state.db", bot_id=BOT, symbol=SYMBOL)
    restarted = FillsBetweenReads(venue.inner)
    second = simple_engine(config, restarted, again)  # type: ignore[arg-type]
    second.start()
    try:
        assert second.state.last_trade_id == 2
        assert restarted.calls[0] == ("own_trades", 2, 1000)  # reads on, not from the start
        assert halts(second) == [] and positions_agree(second, restarted)
    finally:
        second.stop()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moves=st.lists(
        st.tuples(st.integers(1, 9), st.sampled_from(["99890", "99790", "99690", "99990"])),
        min_size=1,
        max_size=3,
    ),
    confirmations=st.sampled_from([1, 2]),
    reports_arrive=st.booleans(),
)
def test_wherever_fills_land_among_the_reads_a_healthy_account_never_halts(
    moves: list[tuple[int, str]], confirmations: int, reports_arrive: bool
) -> None:
    engine, venue = start(make_config(confirmations))
    minute = 1
    for read, low in moves:
        # The market moves on (a candle dipping to ``low``) after the ``read``-th read of
        # the next reconciliation; the bar the bot sees reaches nothing by itself.
        venue.after_read(read, bar(minute, close="99995", low=low))
        step(engine, venue, bar(minute, close="99995", low="99990"))
        venue.moves.clear()  # a move the reconciliation did not reach never happens
        if reports_arrive:
            deliver_late(engine, venue)
        minute += 1
        assert engine.state.risk_state is RiskState.NORMAL
        assert halts(engine) == []
    step(engine, venue, bar(minute, close="99995", low="99990"))  # one quiet reconciliation
    assert positions_agree(engine, venue)
    assert halts(engine) == []
    assert engine.state.risk_state is RiskState.NORMAL
