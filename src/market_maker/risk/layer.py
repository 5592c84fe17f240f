"""The risk layer's checkpoint: monitor, breaker and the round trips still open."""

from dataclasses import dataclass
from decimal import Decimal

from market_maker.risk.breaker import CircuitBreakerSnapshot
from market_maker.risk.monitor import RiskMonitorSnapshot


@dataclass(frozen=True, slots=True)
class RiskLayerSnapshot:
    """Everything the risk layer needs to resume exactly where it stopped.

    Attributes:
        monitor: The volatility monitor.
        breaker: The circuit breaker.
        open_round_trips: ``(slot level, net PnL so far)`` of every round trip not yet back
            to flat, by level.
    """

    monitor: RiskMonitorSnapshot
    breaker: CircuitBreakerSnapshot
    open_round_trips: tuple[tuple[Decimal, Decimal], ...] = ()
