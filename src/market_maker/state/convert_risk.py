"""Protobuf conversions of the ATR and risk layer checkpoints (``AtrState``, ``RiskLayerState``)."""

from market_maker.domain.decimals import decimal_to_str, optional_decimal_to_str
from market_maker.domain.errors import StateIntegrityError
from market_maker.indicators.atr import AtrSnapshot
from market_maker.pb import state_pb2
from market_maker.risk.breaker import CircuitBreakerSnapshot
from market_maker.risk.layer import RiskLayerSnapshot
from market_maker.risk.monitor import CandleStats, MarketWatchSnapshot, RiskMonitorSnapshot
from market_maker.state.convert_base import (
    ATR_METHOD,
    RISK_EVENT_KIND,
    RISK_STATE,
    IdentityMemo,
    read_decimal,
    read_optional_decimal,
)


def atr_to_pb(snap: AtrSnapshot) -> state_pb2.AtrState:
    """Convert an ATR snapshot to an ``AtrState`` message."""
    return state_pb2.AtrState(
        window=snap.window,
        method=ATR_METHOD.to_pb(snap.method),
        prev_close=optional_decimal_to_str(snap.prev_close),
        ranges=[decimal_to_str(r) for r in snap.ranges],
        value=optional_decimal_to_str(snap.value),
    )


def atr_from_pb(msg: state_pb2.AtrState, *, where: str = "AtrState") -> AtrSnapshot:
    """Convert an ``AtrState`` message back to an ATR snapshot (``Atr.restore`` can resume it)."""
    if msg.window < 1 or len(msg.ranges) > msg.window:
        raise StateIntegrityError(
            f"{where}: expected a window of at least 1 candle and at most that many ranges, "
            f"found window {msg.window} with {len(msg.ranges)} ranges"
        )
    return AtrSnapshot(
        window=msg.window,
        method=ATR_METHOD.from_pb(msg.method, f"{where}.method"),
        prev_close=read_optional_decimal(msg.prev_close, f"{where}.prev_close"),
        ranges=tuple(read_decimal(r, f"{where}.ranges[{i}]") for i, r in enumerate(msg.ranges)),
        value=read_optional_decimal(msg.value, f"{where}.value"),
    )


def _baseline_candle_pb(c: CandleStats) -> state_pb2.BaselineCandle:
    return state_pb2.BaselineCandle(
        open_time=c.open_time_ms, close=decimal_to_str(c.close), volume=decimal_to_str(c.volume)
    )


_baseline_candle = IdentityMemo(_baseline_candle_pb)  # a checkpoint rewrites the window


def risk_layer_to_pb(snap: RiskLayerSnapshot) -> state_pb2.RiskLayerState:
    """Convert the risk layer's snapshot to its message."""
    monitor = state_pb2.RiskMonitorState(
        state=RISK_STATE.to_pb(snap.monitor.state),
        markets=[
            state_pb2.MarketWatchState(
                symbol=m.symbol,
                recent=[_baseline_candle(c) for c in m.recent],
                atr=atr_to_pb(m.atr),
                last_closed_open_time=m.last_closed_open_ms,
                anomalous=m.anomalous,
                calm_count=m.calm_count,
                reason=m.reason,
            )
            for m in snap.monitor.markets
        ],
    )
    b = snap.breaker
    breaker = state_pb2.CircuitBreakerState(
        state=RISK_STATE.to_pb(b.state),
        consecutive_losses=b.consecutive_losses,
        peak_equity=optional_decimal_to_str(b.peak_equity),
        last_equity=optional_decimal_to_str(b.last_equity),
        tripped_at=b.tripped_at_ms,
        trip_kind=RISK_EVENT_KIND.optional_to_pb(b.trip_kind),
        trip_reason=b.trip_reason,
    )
    return state_pb2.RiskLayerState(
        monitor=monitor,
        breaker=breaker,
        open_round_trips={
            decimal_to_str(level): decimal_to_str(pnl) for level, pnl in snap.open_round_trips
        },
    )


def risk_layer_from_pb(
    msg: state_pb2.RiskLayerState, *, where: str = "State.risk_layer"
) -> RiskLayerSnapshot:
    """Convert a ``RiskLayerState`` message back; ``StateIntegrityError`` names a bad field."""
    if not msg.HasField("monitor") or not msg.HasField("breaker"):
        raise StateIntegrityError(f"{where}: expected both monitor and breaker, found one missing")
    markets = []
    for i, m in enumerate(msg.monitor.markets):
        at = f"{where}.monitor.markets[{i}]"
        if not m.HasField("atr"):
            raise StateIntegrityError(f"{at}.atr: expected the monitor's ATR state, found none")
        markets.append(
            MarketWatchSnapshot(
                symbol=m.symbol,
                recent=tuple(
                    CandleStats(
                        c.open_time,
                        read_decimal(c.close, f"{at}.recent[{j}].close"),
                        read_decimal(c.volume, f"{at}.recent[{j}].volume"),
                    )
                    for j, c in enumerate(m.recent)
                ),
                atr=atr_from_pb(m.atr, where=f"{at}.atr"),
                last_closed_open_ms=(
                    m.last_closed_open_time if m.HasField("last_closed_open_time") else None
                ),
                anomalous=m.anomalous,
                calm_count=m.calm_count,
                reason=m.reason,
            )
        )
    b = msg.breaker
    at = f"{where}.breaker"
    breaker = CircuitBreakerSnapshot(
        state=RISK_STATE.from_pb(b.state, f"{at}.state"),
        consecutive_losses=b.consecutive_losses,
        peak_equity=read_optional_decimal(b.peak_equity, f"{at}.peak_equity"),
        last_equity=read_optional_decimal(b.last_equity, f"{at}.last_equity"),
        tripped_at_ms=b.tripped_at if b.HasField("tripped_at") else None,
        trip_kind=RISK_EVENT_KIND.optional_from_pb(b.trip_kind, f"{at}.trip_kind"),
        trip_reason=b.trip_reason,
    )
    trips = tuple(
        sorted(
            (
                read_decimal(level, f"{where}.open_round_trips key"),
                read_decimal(pnl, f"{where}.open_round_trips[{level}]"),
            )
            for level, pnl in msg.open_round_trips.items()
        )
    )
    monitor = RiskMonitorSnapshot(
        RISK_STATE.from_pb(msg.monitor.state, f"{where}.monitor.state"), tuple(markets)
    )
    return RiskLayerSnapshot(monitor, breaker, trips)
