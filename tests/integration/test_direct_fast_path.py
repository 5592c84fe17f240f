"""The grid engine's inlined direct execution equals ``DirectExecution.execute``.

``GridEngine`` runs the direct execution's loop itself (native calls in the compiled
build). A ``DirectExecution`` subclass is not recognised as the direct execution, so it
takes the general path through the ``Execution`` and ``Ledger`` protocols: both runs must
place, cancel, fill and book exactly alike, exchange faults included.
"""

from decimal import Decimal

import pytest

from market_maker.backtest.replay import replay
from market_maker.backtest.runner import simulated_exchange
from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.engine.execution import CheckpointPolicy, DirectExecution
from market_maker.engine.grid import GridEngine
from market_maker.exchanges.base import Balance, RetryableExchangeError
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.state.views import state_view
from market_maker.stores.memory import MemoryStore

CANDLES = 1500


class GeneralPath(DirectExecution):
    """The direct execution, taken through the protocols (not recognised as direct)."""


class FlakyVenue:
    """A simulated exchange whose every ``period``-th order call fails as retryable.

    Odd failures happen after the exchange acted (a lost answer), even ones before.
    """

    def __init__(self, exchange: SimulatedExchange, period: int) -> None:
        self.exchange = exchange
        self.period = period
        self.base, self.quote = exchange.base, exchange.quote
        self.calls = 0
        self.failures = 0

    def _maybe_fail(self, act: bool) -> bool:
        self.calls += 1
        if not self.period or self.calls % self.period:
            return False
        self.failures += 1
        if act == bool(self.failures % 2):
            raise RetryableExchangeError("injected: no answer")
        return True

    def place_order(self, request: PlaceOrderRequest) -> OrderUpdate:
        lost = self._maybe_fail(act=False)
        report = self.exchange.place_order(request)
        if lost:
            raise RetryableExchangeError("injected: answer lost")
        return report

    def cancel_order(self, request: CancelOrderRequest) -> OrderUpdate | None:
        lost = self._maybe_fail(act=False)
        report = self.exchange.cancel_order(request)
        if lost:
            raise RetryableExchangeError("injected: answer lost")
        return report

    def get_order(self, symbol: str, client_order_id: str) -> OrderUpdate | None:
        return self.exchange.get_order(symbol, client_order_id)

    def open_orders(self, symbol: str) -> list[OrderUpdate]:
        return self.exchange.open_orders(symbol)

    def balances(self) -> dict[str, Balance]:
        return self.exchange.balances()

    @property
    def fill_count(self) -> int:
        return self.exchange.fill_count

    def total(self, asset: str) -> Decimal:
        return self.exchange.total(asset)

    def on_candle(self, candle: Candle) -> list[OrderUpdate]:
        return self.exchange.on_candle(candle)


def _run(
    config: AppConfig, candles: list[Candle], period: int, *, general: bool
) -> tuple[object, ...]:
    venue = FlakyVenue(simulated_exchange(config), period)
    kind = GeneralPath if general else DirectExecution
    execution = kind(venue, MemoryStore(), CheckpointPolicy.EVERY_CHANGE)
    engine = GridEngine(config, venue, execution)
    assert (engine._direct is None) == general  # noqa: SLF001 - the path under test
    initial = {a: venue.total(a) for a in (venue.base, venue.quote)}
    equity = initial[venue.quote] + initial[venue.base] * candles[0].open
    replay(engine, venue, candles, config, None, None, 10**9, initial, equity)
    engine.stop()
    return (
        state_view(engine.state),
        engine.orders_placed,
        engine.orders_canceled,
        engine.decisions,
        venue.calls,
        venue.failures,
        venue.exchange.fills,
        venue.exchange.balances(),
    )


@pytest.mark.parametrize("period", [0, 5, 7])
def test_inlined_direct_execution_trades_like_the_general_path(period: int) -> None:
    config = load_config(default_backtest_config_path())
    candles = list(load_candles(sample_candles_path(), symbol=config.symbol).candles[:CANDLES])
    fast = _run(config, candles, period, general=False)
    general = _run(config, candles, period, general=True)
    assert fast[1] > 20  # orders placed: the run traded
    assert period == 0 or fast[5] > 3  # faults were injected
    assert fast == general
