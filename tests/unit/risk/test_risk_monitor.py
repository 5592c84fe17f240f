"""RiskMonitor: volume-spike detection, calm recovery, aggregation, checkpoints."""

from decimal import Decimal

import pytest

from market_maker.domain.enums import RiskState
from market_maker.domain.market import Candle
from market_maker.indicators.atr import Atr, AtrMethod
from market_maker.risk.config import Aggregation, RiskMonitorConfig
from market_maker.risk.events import RiskEventKind, RiskInputError
from market_maker.risk.monitor import RiskMonitor

BTC = "BTC/USDT"
ETH = "ETH/USDT"
MINUTE_MS = 60_000


def candle(
    i: int,
    volume: Decimal | int = 10,
    close: Decimal | int = 100,
    *,
    symbol: str = BTC,
    closed: bool = True,
    high: Decimal | int | None = None,
    low: Decimal | int | None = None,
) -> Candle:
    c = Decimal(close)
    return Candle(
        symbol,
        i * MINUTE_MS,
        60,
        c,
        Decimal(high) if high is not None else c + 1,
        Decimal(low) if low is not None else c - 1,
        c,
        Decimal(volume),
        closed,
    )


def config(**kw: object) -> RiskMonitorConfig:
    base: dict[str, object] = {
        "window_candles": 3,
        "volume_multiplier": Decimal(3),
        "calm_candles": 2,
    }
    base.update(kw)
    return RiskMonitorConfig.model_validate(base)


def warmed(cfg: RiskMonitorConfig | None = None, symbols: tuple[str, ...] = (BTC,)) -> RiskMonitor:
    """A monitor that has seen three calm closed candles (volume 10, close 100) per symbol."""
    monitor = RiskMonitor(cfg or config(), symbols)
    for symbol in symbols:
        for i in range(3):
            assert monitor.on_candle(candle(i, symbol=symbol)) is None
    return monitor


def test_no_candles_yet_is_normal_without_atr() -> None:
    monitor = RiskMonitor(config(), [BTC])
    assert monitor.state is RiskState.NORMAL
    assert monitor.atr(BTC) is None
    assert monitor.reset(5) is None


def test_a_single_candle_never_triggers_even_with_a_huge_volume() -> None:
    monitor = RiskMonitor(config(window_candles=1), [BTC])
    assert monitor.on_candle(candle(0, volume=10**9, close=1)) is None
    assert monitor.state is RiskState.NORMAL
    assert monitor.atr(BTC) == 2  # high - low of the only candle


def test_spike_with_close_below_average_enters_risk_mode() -> None:
    monitor = warmed()
    event = monitor.on_candle(candle(3, volume=31, close=99))
    assert event is not None
    assert event.kind is RiskEventKind.VOLATILITY_ANOMALY
    assert (event.state_before, event.state_after) == (RiskState.NORMAL, RiskState.RISK_MODE)
    assert event.symbol == BTC
    assert event.ts_ms == 4 * MINUTE_MS  # a closed candle happens at its close time
    assert "volume 31 > 3 x average 10 = 30" in event.reason
    assert "close 99 < average close 100" in event.reason
    assert monitor.state is RiskState.RISK_MODE


def test_volume_exactly_at_the_threshold_is_not_an_anomaly() -> None:
    monitor = warmed()
    assert monitor.on_candle(candle(3, volume=30, close=90)) is None


def test_close_at_or_above_average_blocks_entry_unless_the_price_rule_is_off() -> None:
    assert warmed().on_candle(candle(3, volume=100, close=100)) is None
    monitor = warmed(config(require_close_below_average=False))
    event = monitor.on_candle(candle(3, volume=100, close=120))
    assert event is not None
    assert "close" not in event.reason.split("(")[0]


def test_baseline_excludes_the_candle_being_judged() -> None:
    monitor = RiskMonitor(config(window_candles=2, volume_multiplier=Decimal(2)), [BTC])
    monitor.on_candle(candle(0, volume=10))
    monitor.on_candle(candle(1, volume=10))
    # Previous average 10 -> threshold 20. Had the candle been in its own baseline the
    # average would be 15 and the threshold 30.
    assert monitor.on_candle(candle(2, volume=25, close=99)) is not None


def test_baseline_is_a_sliding_window_of_closed_candles() -> None:
    monitor = RiskMonitor(config(window_candles=2, volume_multiplier=Decimal(2)), [BTC])
    for i, vol in enumerate([1000, 10, 10]):
        monitor.on_candle(candle(i, volume=vol))
    # The 1000 fell out of the window: average 10, threshold 20.
    assert monitor.on_candle(candle(3, volume=21, close=99)) is not None


def test_zero_average_volume_gives_no_baseline_and_no_anomaly() -> None:
    monitor = RiskMonitor(config(), [BTC])
    for i in range(3):
        monitor.on_candle(candle(i, volume=0))
    assert monitor.on_candle(candle(3, volume=5, close=50)) is None
    assert monitor.state is RiskState.NORMAL


def test_in_progress_candle_triggers_entry_before_the_bar_closes() -> None:
    monitor = warmed()
    event = monitor.on_candle(candle(3, volume=40, close=95, closed=False))
    assert event is not None
    assert event.kind is RiskEventKind.VOLATILITY_ANOMALY
    assert event.ts_ms == 3 * MINUTE_MS  # an in-progress candle happens at its open time
    assert "in-progress" in event.reason


def test_in_progress_candles_do_not_enter_baselines_or_atr() -> None:
    monitor = warmed(config(volume_multiplier=Decimal(2)))
    atr_before = monitor.atr(BTC)
    for _ in range(5):
        assert monitor.on_candle(candle(3, volume=15, close=100, closed=False, high=500)) is None
    assert monitor.atr(BTC) == atr_before
    # Baseline still the three closed candles of volume 10: threshold 20.
    assert monitor.on_candle(candle(3, volume=21, close=99)) is not None


def test_calm_closed_candles_end_risk_mode_and_a_new_spike_restarts_the_count() -> None:
    monitor = warmed(config(window_candles=3, calm_candles=2))
    assert monitor.on_candle(candle(3, volume=31, close=99)) is not None
    assert monitor.on_candle(candle(4)) is None
    assert monitor.calm_count(BTC) == 1
    # Average volume is now (10 + 31 + 10) / 3 = 17: 60 is a fresh anomaly.
    assert monitor.on_candle(candle(5, volume=60, close=90)) is None
    assert monitor.calm_count(BTC) == 0
    assert monitor.on_candle(candle(6)) is None
    event = monitor.on_candle(candle(7))
    assert event is not None
    assert event.kind is RiskEventKind.CALM_RECOVERY
    assert (event.state_before, event.state_after) == (RiskState.RISK_MODE, RiskState.NORMAL)
    assert "2 calm closed candles" in event.reason
    assert monitor.state is RiskState.NORMAL


def test_in_progress_candles_do_not_count_as_calm() -> None:
    monitor = warmed(config(calm_candles=1))
    monitor.on_candle(candle(3, volume=31, close=99))
    for _ in range(3):
        assert monitor.on_candle(candle(4, closed=False)) is None
    assert monitor.state is RiskState.RISK_MODE
    assert monitor.calm_count(BTC) == 0
    assert monitor.on_candle(candle(4)) is not None


def test_in_progress_spike_during_risk_mode_resets_the_calm_count() -> None:
    monitor = warmed(config(calm_candles=3))
    monitor.on_candle(candle(3, volume=31, close=99))
    monitor.on_candle(candle(4))
    assert monitor.calm_count(BTC) == 1
    monitor.on_candle(candle(5, volume=1000, close=1, closed=False))
    assert monitor.calm_count(BTC) == 0


def test_calm_candles_zero_means_manual_reset_only() -> None:
    monitor = warmed(config(calm_candles=0))
    monitor.on_candle(candle(3, volume=31, close=99))
    for i in range(4, 30):
        assert monitor.on_candle(candle(i)) is None
    assert monitor.state is RiskState.RISK_MODE
    event = monitor.reset(123)
    assert event is not None
    assert event.kind is RiskEventKind.MONITOR_RESET
    assert event.ts_ms == 123
    assert monitor.state is RiskState.NORMAL
    assert monitor.reset(124) is None


def test_repeated_closed_candle_is_not_counted_twice() -> None:
    monitor = warmed(config(calm_candles=2))
    monitor.on_candle(candle(3, volume=31, close=99))
    assert monitor.on_candle(candle(4)) is None
    assert monitor.on_candle(candle(4)) is None  # re-delivered: ignored
    assert monitor.calm_count(BTC) == 1
    assert monitor.state is RiskState.RISK_MODE
    assert monitor.on_candle(candle(5)) is not None


def test_repeated_anomalous_closed_candle_is_ignored_too() -> None:
    monitor = warmed()
    assert monitor.on_candle(candle(2, volume=1000, close=1)) is None  # same open time as #2
    assert monitor.on_candle(candle(1, volume=1000, close=1)) is None  # older
    assert monitor.on_candle(candle(2, volume=1000, close=1, closed=False)) is None
    assert monitor.state is RiskState.NORMAL


def test_atr_is_over_closed_candles_and_matches_the_indicator() -> None:
    cfg = config(window_candles=3, atr_method=AtrMethod.WILDER)
    monitor = RiskMonitor(cfg, [BTC])
    atr = Atr(3, AtrMethod.WILDER)
    for i, (h, lo, c) in enumerate([(105, 95, 100), (110, 99, 108), (109, 90, 91), (95, 85, 94)]):
        monitor.on_candle(candle(i, close=c, high=h, low=lo))
        atr.update(Decimal(h), Decimal(lo), Decimal(c))
        assert monitor.atr(BTC) == atr.value
    assert monitor.atr(BTC) is not None


def test_disabled_monitor_tracks_atr_but_never_enters_risk_mode() -> None:
    monitor = warmed(config(enabled=False))
    assert monitor.on_candle(candle(3, volume=10**6, close=1)) is None
    assert monitor.state is RiskState.NORMAL
    assert monitor.atr(BTC) is not None


def test_aggregation_any_enters_on_one_market_and_leaves_when_all_are_calm() -> None:
    monitor = warmed(config(calm_candles=1), (BTC, ETH))
    event = monitor.on_candle(candle(3, volume=31, close=99, symbol=ETH))
    assert event is not None
    assert event.symbol == ETH
    assert "any of 2 markets" in event.reason
    assert monitor.on_candle(candle(3, volume=31, close=99, symbol=BTC)) is None  # already in
    assert monitor.on_candle(candle(4, symbol=ETH)) is None  # BTC still anomalous
    assert monitor.is_anomalous(BTC)
    assert not monitor.is_anomalous(ETH)
    event = monitor.on_candle(candle(4, symbol=BTC))
    assert event is not None
    assert event.kind is RiskEventKind.CALM_RECOVERY


def test_aggregation_all_needs_every_market_anomalous_at_once() -> None:
    monitor = warmed(config(aggregation=Aggregation.ALL, calm_candles=1), (BTC, ETH))
    assert monitor.on_candle(candle(3, volume=31, close=99, symbol=ETH)) is None
    assert monitor.state is RiskState.NORMAL
    event = monitor.on_candle(candle(3, volume=31, close=99, symbol=BTC))
    assert event is not None
    assert "all of 2 markets" in event.reason
    assert BTC in event.reason and ETH in event.reason
    event = monitor.on_candle(candle(4, symbol=ETH))  # one calm market ends it
    assert event is not None
    assert event.kind is RiskEventKind.CALM_RECOVERY
    assert event.symbol == ETH


def test_unknown_symbol_and_empty_watch_list_are_refused() -> None:
    with pytest.raises(RiskInputError, match="at least one symbol"):
        RiskMonitor(config(), [])
    with pytest.raises(RiskInputError, match="not 'ETH/USDT'"):
        RiskMonitor(config(), [BTC]).on_candle(candle(0, symbol=ETH))


def test_snapshot_restore_continues_exactly() -> None:
    cfg = config(calm_candles=3)
    spikes = {10, 16, 23}  # the cut falls inside the first risk period
    path = [
        candle(i, volume=100 if i in spikes else 10, close=90 if i in spikes else 100)
        for i in range(30)
    ]
    whole = RiskMonitor(cfg, [BTC])
    part = RiskMonitor(cfg, [BTC])
    for c in path[:12]:
        whole.on_candle(c)
        part.on_candle(c)
    assert part.state is RiskState.RISK_MODE
    resumed = RiskMonitor.restore(cfg, part.snapshot())
    events_whole = [whole.on_candle(c) for c in path[12:]]
    events_resumed = [resumed.on_candle(c) for c in path[12:]]
    assert events_resumed == events_whole
    assert any(e is not None for e in events_whole)
    assert resumed.snapshot() == whole.snapshot()


def test_restore_with_a_smaller_window_keeps_the_newest_candles_and_rewarms_atr() -> None:
    monitor = RiskMonitor(config(window_candles=5), [BTC])
    for i, vol in enumerate([1000, 1000, 10, 10, 10]):
        monitor.on_candle(candle(i, volume=vol))
    resumed = RiskMonitor.restore(config(window_candles=2), monitor.snapshot())
    assert resumed.atr(BTC) is None
    # Baseline = the two newest candles (volume 10): 31 is a spike.
    assert resumed.on_candle(candle(5, volume=31, close=99)) is not None
