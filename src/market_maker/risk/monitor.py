"""Volatility monitor: candles in, ``NORMAL`` / ``RISK_MODE`` out.

Rules (per watched market):

* **Baselines** are the average volume and the average close of the previous
  ``window_candles`` *closed* candles; the candle being judged is never part of its own
  baseline. Until ``window_candles`` closed candles were seen the market is warming up and
  no anomaly is reported.
* **Anomaly**: ``volume > volume_multiplier x average volume`` and, when
  ``require_close_below_average`` is set, ``close < average close``. An average volume of zero
  gives no baseline, so it never reports an anomaly.
* **In-progress candles** (``closed=False``) are judged too, so a spike shows before its bar
  closes, but only closed candles enter the baselines, the ATR and the calm count.
* **Calm**: each closed candle that is not anomalous adds one to the calm count; an anomalous
  candle (closed or not) sets it back to zero. After ``calm_candles`` calm closed candles the
  market is no longer anomalous (``calm_candles = 0``: only a manual reset clears it).
* **Repeated or old candles**: a candle whose open time is not after the last closed candle
  of its market is ignored (a re-delivered closed candle is never counted twice).
* **Several markets**: ``aggregation = any`` is ``RISK_MODE`` while any market is anomalous,
  ``all`` only while every one is.
* **ATR** is the simple mean (or Wilder's smoothing, per ``atr_method``) of the true ranges
  of the last ``window_candles`` closed candles (``market_maker.indicators.atr``).

Event times: a closed candle happens at its close time (open time + interval), an
in-progress candle at its open time.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import RiskState
from market_maker.domain.market import Candle
from market_maker.indicators.atr import Atr, AtrSnapshot
from market_maker.risk.config import Aggregation, RiskMonitorConfig
from market_maker.risk.events import RiskEvent, RiskEventKind, RiskInputError


@dataclass(frozen=True, slots=True)
class CandleStats:
    """What the baselines keep of one closed candle.

    Attributes:
        open_time_ms: Bar open time, milliseconds since the epoch.
        close: Close price in quote currency.
        volume: Volume in base currency.
    """

    open_time_ms: int
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class MarketWatchSnapshot:
    """The monitor's state for one market, for checkpoints.

    Attributes:
        symbol: Unified symbol.
        recent: The closed candles of the baseline window, oldest first.
        atr: The ATR's own snapshot.
        last_closed_open_ms: Open time of the last closed candle counted, if any.
        anomalous: The market is currently anomalous.
        calm_count: Calm closed candles since the last anomaly.
        reason: Explanation of the last anomaly ("" if none).
    """

    symbol: str
    recent: tuple[CandleStats, ...]
    atr: AtrSnapshot
    last_closed_open_ms: int | None
    anomalous: bool
    calm_count: int
    reason: str


@dataclass(frozen=True, slots=True)
class RiskMonitorSnapshot:
    """Everything needed to resume a ``RiskMonitor`` exactly.

    Attributes:
        state: ``NORMAL`` or ``RISK_MODE``.
        markets: One snapshot per watched market, in watch order.
    """

    state: RiskState
    markets: tuple[MarketWatchSnapshot, ...]


class _Watch:
    """Mutable per-market state, private to the monitor."""

    __slots__ = ("anomalous", "atr", "calm_count", "last_closed", "reason", "recent", "symbol")

    def __init__(self, symbol: str, config: RiskMonitorConfig) -> None:
        self.symbol = symbol
        self.recent: deque[CandleStats] = deque(maxlen=config.window_candles)
        self.atr = Atr(config.window_candles, config.atr_method)
        self.last_closed: int | None = None
        self.anomalous = False
        self.calm_count = 0
        self.reason = ""


class RiskMonitor:
    """Watches the candles of one or more markets and decides ``NORMAL`` or ``RISK_MODE``.

    Deterministic and free of I/O: the same candles always give the same events.
    """

    def __init__(self, config: RiskMonitorConfig, symbols: Iterable[str]) -> None:
        self.config = config
        self._watches = {s: _Watch(s, config) for s in symbols}
        if not self._watches:
            raise RiskInputError("the risk monitor needs at least one symbol to watch")
        self._state = RiskState.NORMAL

    # -- queries -------------------------------------------------------------------------

    @property
    def state(self) -> RiskState:
        """``NORMAL`` or ``RISK_MODE``."""
        return self._state

    @property
    def symbols(self) -> tuple[str, ...]:
        """The watched markets."""
        return tuple(self._watches)

    def atr(self, symbol: str) -> Decimal | None:
        """ATR of ``symbol`` in quote currency, ``None`` while warming up."""
        return self._watch(symbol).atr.value

    def is_anomalous(self, symbol: str) -> bool:
        """True while ``symbol`` itself is anomalous (whatever the aggregation)."""
        return self._watch(symbol).anomalous

    def calm_count(self, symbol: str) -> int:
        """Calm closed candles of ``symbol`` since its last anomaly."""
        return self._watch(symbol).calm_count

    # -- inputs --------------------------------------------------------------------------

    def on_candle(self, candle: Candle) -> RiskEvent | None:
        """Fold in one candle (closed or in progress); return the transition it caused."""
        watch = self._watch(candle.symbol)
        if watch.last_closed is not None and candle.open_time_ms <= watch.last_closed:
            return None  # a repeated or out-of-order candle: already counted
        reason = self._anomaly(watch, candle) if self.config.enabled else None
        if reason is not None:
            watch.anomalous, watch.calm_count, watch.reason = True, 0, reason
        elif candle.closed and watch.anomalous and self.config.calm_candles:
            watch.calm_count += 1
            if watch.calm_count >= self.config.calm_candles:
                watch.anomalous, watch.calm_count = False, 0
        if candle.closed:
            watch.recent.append(CandleStats(candle.open_time_ms, candle.close, candle.volume))
            watch.atr.update(candle.high, candle.low, candle.close)
            watch.last_closed = candle.open_time_ms
        ts_ms = candle.open_time_ms + (candle.interval_s * 1000 if candle.closed else 0)
        return self._settle(ts_ms, candle.symbol)

    def reset(self, ts_ms: int) -> RiskEvent | None:
        """Manual reset: every market is calm again; returns the event if ``RISK_MODE`` ended."""
        for watch in self._watches.values():
            watch.anomalous, watch.calm_count = False, 0
        if self._state is RiskState.NORMAL:
            return None
        self._state = RiskState.NORMAL
        return RiskEvent.of(
            ts_ms, RiskEventKind.MONITOR_RESET, RiskState.RISK_MODE, "risk mode reset by operator"
        )

    # -- checkpoints ---------------------------------------------------------------------

    def snapshot(self) -> RiskMonitorSnapshot:
        """Capture the state for a checkpoint."""
        return RiskMonitorSnapshot(
            self._state,
            tuple(
                MarketWatchSnapshot(
                    w.symbol,
                    tuple(w.recent),
                    w.atr.snapshot(),
                    w.last_closed,
                    w.anomalous,
                    w.calm_count,
                    w.reason,
                )
                for w in self._watches.values()
            ),
        )

    @classmethod
    def restore(cls, config: RiskMonitorConfig, snap: RiskMonitorSnapshot) -> "RiskMonitor":
        """Rebuild a monitor that continues where ``snap`` was taken.

        If ``window_candles`` or ``atr_method`` changed since, the baseline keeps the newest
        candles that fit and the ATR warms up again.
        """
        monitor = cls(config, (m.symbol for m in snap.markets))
        monitor._state = snap.state
        for m in snap.markets:
            watch = monitor._watches[m.symbol]
            watch.recent.extend(m.recent)
            if (m.atr.window, m.atr.method) == (config.window_candles, config.atr_method):
                watch.atr = Atr.restore(m.atr)
            watch.last_closed = m.last_closed_open_ms
            watch.anomalous, watch.calm_count, watch.reason = m.anomalous, m.calm_count, m.reason
        return monitor

    # -- internals -----------------------------------------------------------------------

    def _watch(self, symbol: str) -> _Watch:
        watch = self._watches.get(symbol)
        if watch is None:
            raise RiskInputError(
                f"the risk monitor watches {sorted(self._watches)}, not {symbol!r}: add the "
                "symbol when building the monitor"
            )
        return watch

    def _anomaly(self, watch: _Watch, candle: Candle) -> str | None:
        """The reason ``candle`` is anomalous against its market's baseline, or ``None``."""
        window = self.config.window_candles
        if len(watch.recent) < window:
            return None
        avg_volume = sum((c.volume for c in watch.recent), ZERO) / window
        threshold = self.config.volume_multiplier * avg_volume
        if avg_volume <= 0 or candle.volume <= threshold:
            return None
        reason = (
            f"{candle.symbol}: volume {candle.volume} > {self.config.volume_multiplier} x "
            f"average {avg_volume} = {threshold}"
        )
        if self.config.require_close_below_average:
            avg_close = sum((c.close for c in watch.recent), ZERO) / window
            if candle.close >= avg_close:
                return None
            reason += f" and close {candle.close} < average close {avg_close}"
        state = "closed" if candle.closed else "in-progress"
        return f"{reason} ({state} candle opened {candle.open_time_ms}; previous {window} closed)"

    def _settle(self, ts_ms: int, symbol: str) -> RiskEvent | None:
        """Recompute the aggregate state and return the transition, if any."""
        flags = [w.anomalous for w in self._watches.values()]
        combine = any if self.config.aggregation is Aggregation.ANY else all
        target = RiskState.RISK_MODE if combine(flags) else RiskState.NORMAL
        if target is self._state:
            return None
        before, self._state = self._state, target
        if target is RiskState.RISK_MODE:
            reasons = "; ".join(w.reason for w in self._watches.values() if w.anomalous)
            if len(self._watches) > 1:
                reasons = f"{self.config.aggregation.value} of {len(flags)} markets: {reasons}"
            return RiskEvent.of(ts_ms, RiskEventKind.VOLATILITY_ANOMALY, before, reasons, symbol)
        reason = f"{symbol}: {self.config.calm_candles} calm closed candles since the anomaly"
        return RiskEvent.of(ts_ms, RiskEventKind.CALM_RECOVERY, before, reason, symbol)
