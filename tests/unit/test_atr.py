from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.indicators.atr import Atr, AtrMethod, true_range

candle = st.tuples(
    st.decimals(min_value=Decimal(1), max_value=Decimal(1000), places=2),
    st.decimals(min_value=Decimal(0), max_value=Decimal(50), places=2),
    st.decimals(min_value=Decimal(0), max_value=Decimal(1), places=2),
).map(lambda t: (t[0] + t[1], t[0], t[0] + t[1] * t[2]))  # (high, low, close)


def naive_atr(candles: list[tuple[Decimal, Decimal, Decimal]], window: int) -> Decimal | None:
    ranges = []
    prev = None
    for high, low, close in candles:
        ranges.append(true_range(high, low, prev))
        prev = close
    if len(ranges) < window:
        return None
    return sum(ranges[-window:], Decimal(0)) / window


@given(st.lists(candle, max_size=40), st.integers(min_value=1, max_value=10))
def test_incremental_simple_atr_equals_recomputation(candles, window) -> None:  # type: ignore[no-untyped-def]
    atr = Atr(window)
    for high, low, close in candles:
        atr.update(high, low, close)
    assert atr.value == naive_atr(candles, window)


@given(
    st.lists(candle, min_size=1, max_size=30),
    st.integers(min_value=1, max_value=8),
    st.sampled_from(list(AtrMethod)),
    st.data(),
)
def test_snapshot_restore_continues_exactly(candles, window, method, data) -> None:  # type: ignore[no-untyped-def]
    cut = data.draw(st.integers(min_value=0, max_value=len(candles)))
    whole = Atr(window, method)
    part = Atr(window, method)
    for c in candles[:cut]:
        whole.update(*c)
        part.update(*c)
    resumed = Atr.restore(part.snapshot())
    for c in candles[cut:]:
        whole.update(*c)
        resumed.update(*c)
    assert resumed.snapshot() == whole.snapshot()


def test_true_range_uses_previous_close_gaps() -> None:
    assert true_range(Decimal(10), Decimal(8), None) == 2
    assert true_range(Decimal(10), Decimal(8), Decimal(4)) == 6  # gap up
    assert true_range(Decimal(10), Decimal(8), Decimal(15)) == 7  # gap down


def test_wilder_smoothing_after_seed() -> None:
    atr = Atr(2, AtrMethod.WILDER)
    assert atr.update(Decimal(10), Decimal(8), Decimal(9)) is None  # tr 2
    assert atr.update(Decimal(11), Decimal(9), Decimal(10)) == 2  # tr 2, seed = mean
    assert atr.update(Decimal(14), Decimal(10), Decimal(12)) == 3  # (2*1 + 4)/2


def test_single_candle_and_zero_range() -> None:
    atr = Atr(1)
    assert atr.update(Decimal(5), Decimal(5), Decimal(5)) == 0
    assert atr.update(Decimal(6), Decimal(4), Decimal(5)) == 2


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Atr(0)


@given(
    st.lists(
        st.tuples(st.integers(100, 200), st.integers(0, 50), st.integers(0, 50)),
        max_size=40,
    ),
    st.integers(0, 40),
    st.integers(1, 8),
    st.sampled_from(list(AtrMethod)),
)
def test_replay_equals_folding_each_candle(rows, split, window, method) -> None:  # type: ignore[no-untyped-def]
    candles = [(Decimal(mid + up), Decimal(mid - down), Decimal(mid)) for mid, up, down in rows]
    one_by_one = Atr(window, method)
    for high, low, close in candles:
        one_by_one.update(high, low, close)
    replayed = Atr(window, method)
    for high, low, close in candles[:split]:
        replayed.update(high, low, close)
    # The engine keeps only the last window + 1 deferred candles of a simple ATR.
    tail = candles[split:]
    kept = tail[-(window + 1) :] if method is AtrMethod.SIMPLE else tail
    assert replayed.replay(kept) == one_by_one.value
    assert replayed.snapshot() == one_by_one.snapshot()
