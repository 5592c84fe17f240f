"""Price paths for testing a grid against the shapes of market that break strategies.

``refine`` walks candles as a path ``factor`` times finer: each candle becomes ``factor``
shorter candles along the path the simulated exchange assumes inside it (open -> low ->
high -> close when it closed at or above its open, open -> high -> low -> close otherwise),
visiting the same prices. A live bot sees prices far finer than one-minute candles; a grid
whose fills or order count change a lot under refinement would trade differently live than
in its backtest.

``linear_candles`` builds a smooth path: one candle per step of a straight price walk.
"""

import itertools
from collections.abc import Iterator, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from market_maker.domain.market import Candle


def _path(candle: Candle) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    if candle.close >= candle.open:
        return candle.open, candle.low, candle.high, candle.close
    return candle.open, candle.high, candle.low, candle.close


def _point(points: Sequence[Decimal], distance: Decimal) -> Decimal:
    """The price ``distance`` along the path through ``points``."""
    for a, b in itertools.pairwise(points):
        leg = abs(b - a)
        if distance <= leg:
            if not leg:
                return a
            return a + (b - a) * distance / leg
        distance -= leg
    return points[-1]


def refine(candles: Sequence[Candle], factor: int, tick: Decimal) -> list[Candle]:
    """Split each candle into ``factor`` candles along its path, prices on ``tick``.

    The sub-candles cut the path into ``factor`` pieces of equal length (in price); each
    piece's open and close are its ends (snapped to the nearest tick, the original open,
    high, low and close exactly), its high and low the extremes it passes, and it carries an
    equal share of the volume (the last one the rest, so volumes add up exactly). Times
    split the candle evenly, in whole milliseconds.

    Raises:
        ValueError: ``factor`` is below 1 or ``tick`` is not positive.
    """
    if factor < 1:
        raise ValueError(f"factor: expected at least 1, found {factor}")
    if tick <= 0:
        raise ValueError(f"tick: expected a positive tick size, found {tick}")
    out: list[Candle] = []
    for candle in candles:
        out.extend(split_candle(candle, factor, tick))
    return out


def split_candle(candle: Candle, factor: int, tick: Decimal) -> list[Candle]:
    """One candle as ``factor`` candles along its path (see ``refine``); the last closes it."""
    return list(_split(candle, factor, tick))


def _split(candle: Candle, factor: int, tick: Decimal) -> Iterator[Candle]:
    points = _path(candle)
    length = sum((abs(b - a) for a, b in itertools.pairwise(points)), Decimal(0))
    # Distance along the path of each vertex, so a piece knows which vertices it passes.
    marks = [Decimal(0)]
    for a, b in itertools.pairwise(points):
        marks.append(marks[-1] + abs(b - a))
    duration_ms = candle.interval_s * 1000
    sub_s = max(1, candle.interval_s // factor)
    share = (candle.volume / factor).quantize(Decimal(1).scaleb(-12), rounding=ROUND_HALF_EVEN)
    start = candle.open
    for i in range(1, factor + 1):
        if i == factor:
            end = candle.close
        else:
            raw = _point(points, length * i / factor)
            end = (raw / tick).to_integral_value(rounding=ROUND_HALF_EVEN) * tick
        lo_d, hi_d = length * (i - 1) / factor, length * i / factor
        inside = [p for p, m in zip(points, marks, strict=True) if lo_d < m < hi_d]
        prices = [start, end, *inside]
        volume = share if i < factor else candle.volume - share * (factor - 1)
        yield Candle(
            symbol=candle.symbol,
            open_time_ms=candle.open_time_ms + duration_ms * (i - 1) // factor,
            interval_s=sub_s,
            open=start,
            high=max(prices),
            low=min(prices),
            close=end,
            volume=volume,
        )
        start = end


def linear_candles(
    symbol: str,
    prices: Sequence[Decimal],
    *,
    start_ms: int = 1_700_000_000_000,
    interval_s: int = 60,
    volume: Decimal = Decimal(1),
) -> list[Candle]:
    """One candle per step of the walk through ``prices``: from one price to the next.

    Candle ``i`` opens at ``prices[i]`` and closes at ``prices[i + 1]`` with nothing beyond
    them, so ``len(prices) - 1`` candles.
    """
    out: list[Candle] = []
    for i, (a, b) in enumerate(itertools.pairwise(prices)):
        out.append(
            Candle(
                symbol=symbol,
                open_time_ms=start_ms + i * interval_s * 1000,
                interval_s=interval_s,
                open=a,
                high=max(a, b),
                low=min(a, b),
                close=b,
                volume=volume,
            )
        )
    return out
