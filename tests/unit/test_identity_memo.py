"""IdentityMemo: checkpoint conversions remembered per object, never per equal value."""

from decimal import Decimal

from market_maker.pb import state_pb2
from market_maker.risk.monitor import CandleStats
from market_maker.state.convert_base import IdentityMemo


def _candle(close: str) -> CandleStats:
    return CandleStats(open_time_ms=0, close=Decimal(close), volume=Decimal("1"))


def _build(c: CandleStats) -> state_pb2.BaselineCandle:
    calls.append(c)
    return state_pb2.BaselineCandle(open_time=c.open_time_ms, close=str(c.close))


calls: list[CandleStats] = []


def test_the_same_object_is_built_once() -> None:
    calls.clear()
    memo = IdentityMemo(_build)
    candle = _candle("1.0")
    first = memo(candle)
    assert memo(candle) is first
    assert calls == [candle]


def test_equal_values_written_differently_get_their_own_message() -> None:
    calls.clear()
    memo = IdentityMemo(_build)
    one, one_oo = _candle("1.0"), _candle("1.00")
    assert one == one_oo  # equal values...
    assert memo(one).close == "1.0"
    assert memo(one_oo).close == "1.00"  # ...each written exactly as it is held
    assert len(calls) == 2


def test_a_full_memo_forgets_the_oldest_half_and_rebuilds_them() -> None:
    calls.clear()
    memo = IdentityMemo(_build, size=4)
    candles = [_candle(str(i)) for i in range(5)]
    for c in candles:
        memo(c)
    assert len(calls) == 5
    memo(candles[4])  # the newest is still remembered
    assert len(calls) == 5
    memo(candles[0])  # the oldest was forgotten: built again, with the same content
    assert len(calls) == 6
    assert memo(candles[0]).close == "0"
