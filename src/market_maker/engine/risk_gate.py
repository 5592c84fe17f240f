"""The risk layer as one engine runs it: monitor, breaker and their events, fed by the engine.

The rules are pure (``market_maker.risk``); this module only routes the engine's events into
them and folds their states into the one ``RiskState`` the strategy decides with:

* closed and in-progress candles -> ``RiskMonitor`` (``RISK_MODE``);
* every booked fill -> round trips per slot (a slot's fills from flat back to flat, net of
  fees) -> ``CircuitBreaker.on_round_trip``;
* equity (only when a drawdown limit is set) and event time (cooldown) -> the breaker;
* operator resets and reconciler halts.

Every state change is a ``RiskEvent``; the latest ``EVENTS_KEPT`` are kept in order in
``events`` (the engine's observer receives every one, for reports and logs).
"""

from collections import deque
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import RiskState
from market_maker.domain.market import Candle
from market_maker.risk.breaker import CircuitBreaker
from market_maker.risk.config import RiskConfig
from market_maker.risk.events import RiskEvent, RiskEventKind, combine_states
from market_maker.risk.layer import RiskLayerSnapshot
from market_maker.risk.monitor import RiskMonitor
from market_maker.slots.book import BookedFill

EVENTS_KEPT = 1024
"""Risk events a gate remembers (a bot runs for months; its observer gets them all)."""


class RiskGate:
    """Runs the monitor and the breaker for one bot on one symbol."""

    def __init__(self, config: RiskConfig, symbol: str) -> None:
        self.config = config
        self.monitor = RiskMonitor(config.monitor, [symbol])
        self.breaker = CircuitBreaker(config.breaker)
        self.events: deque[RiskEvent] = deque(maxlen=EVENTS_KEPT)
        self._trip_pnl: dict[Decimal, Decimal] = {}  # open round trips: net PnL so far
        breaker = config.breaker
        self.watches_equity = breaker.enabled and (
            breaker.max_drawdown_quote is not None or breaker.max_drawdown_pct is not None
        )
        self.monitoring = config.monitor.enabled

    @property
    def state(self) -> RiskState:
        """The risk state the strategy must decide with (HALTED over RISK_MODE over NORMAL)."""
        return combine_states(self.monitor.state, self.breaker.state)

    def on_candle(self, candle: Candle) -> RiskEvent | None:
        """Feed the volatility monitor."""
        if not self.monitoring:
            return None
        return self._record(self.monitor.on_candle(candle))

    def on_fill(self, fill: BookedFill, position_after: Decimal) -> RiskEvent | None:
        """Account a booked fill to its slot's round trip; a flat slot closes the trip."""
        pnl = self._trip_pnl.pop(fill.level, ZERO) + fill.realized_pnl - fill.fee
        if position_after:
            self._trip_pnl[fill.level] = pnl
            return None
        return self._record(self.breaker.on_round_trip(pnl, fill.ts_ms))

    def on_equity(self, equity: Decimal, ts_ms: int) -> RiskEvent | None:
        """Feed the drawdown rules (callers skip this unless ``watches_equity``)."""
        return self._record(self.breaker.on_equity(equity, ts_ms))

    def on_time(self, ts_ms: int) -> RiskEvent | None:
        """Let a halt's cooldown expire."""
        if not self.breaker.halted:
            return None
        return self._record(self.breaker.on_time(ts_ms))

    def halt(self, kind: RiskEventKind, reason: str, ts_ms: int) -> RiskEvent | None:
        """Trip the breaker from outside its own rules (reconciler, operator, restart)."""
        return self._record(self.breaker.trip(kind, reason, ts_ms))

    def reset(self, ts_ms: int, *, monitor: bool = True) -> list[RiskEvent]:
        """Operator reset of the breaker and (``monitor``) the risk monitor; the events caused."""
        out = [self._record(self.monitor.reset(ts_ms))] if monitor else []
        out.append(self._record(self.breaker.reset(ts_ms)))
        return [e for e in out if e is not None]

    def snapshot(self) -> RiskLayerSnapshot:
        """Everything needed to resume this gate exactly (for checkpoints)."""
        return RiskLayerSnapshot(
            self.monitor.snapshot(),
            self.breaker.snapshot(),
            tuple(sorted(self._trip_pnl.items())),
        )

    @classmethod
    def restore(cls, config: RiskConfig, symbol: str, snap: RiskLayerSnapshot) -> "RiskGate":
        """A gate that continues where ``snap`` was taken (events recorded from then on)."""
        gate = cls(config, symbol)
        if symbol in (m.symbol for m in snap.monitor.markets):
            gate.monitor = RiskMonitor.restore(config.monitor, snap.monitor)
        gate.breaker = CircuitBreaker.restore(config.breaker, snap.breaker)
        gate._trip_pnl = dict(snap.open_round_trips)
        return gate

    def _record(self, event: RiskEvent | None) -> RiskEvent | None:
        if event is not None:
            self.events.append(event)
        return event
