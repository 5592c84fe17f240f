"""What a paper venue replays, cut into steps of market time: candles, or trade ticks.

A ``PaperVenue`` moves market time one *step* at a time. Replaying candles, a step is one
candle: the simulated exchange fills on its range, and the candle closes. Replaying
trades (a ``TradeTape``), a step is ``step_ms`` of trade time: the exchange fills on each
trade of the step in turn (at the order's limit, as on a real book), the last price is
the step's last trade, and the candles the bot reads (1-minute klines, built from the
trades as ``trades_to_candles`` builds them) close as market time passes their end.

``TradeTape`` precomputes, per step, the trades it holds and how many candles are closed
once it is done; a step without trades only moves the clock, as a quiet market does.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from market_maker.data.trades import CandleBuilder, Trade, trades_to_candles
from market_maker.domain.market import Candle

DEFAULT_STEP_MS = 1000
"""Trade time one step of a trade replay covers, milliseconds."""


@dataclass(frozen=True, slots=True)
class TradeStep:
    """One step of a trade replay.

    Attributes:
        end_ms: Market time once the step is done (exclusive end of its trades' times).
        stop: Index after the step's last trade (its first is the previous step's stop).
        closed: Candles closed once the step is done (counted from the first).
    """

    end_ms: int
    stop: int
    closed: int


class TradeTape:
    """Trades of one symbol cut into steps of ``step_ms``, and the candles they make.

    Steps are aligned on multiples of ``step_ms`` since the epoch and run from the one
    holding the first trade to the one holding the last. A candle closes in the step that
    reaches its end; the last candle, still forming when the data ends, never closes (its
    trades fill orders all the same).

    Raises:
        ValueError: No trades, ``step_ms`` or ``candle_s`` below 1, a candle length that
            is not a whole number of steps, or trades out of time order.
    """

    def __init__(
        self, trades: Sequence[Trade], *, candle_s: int = 60, step_ms: int = DEFAULT_STEP_MS
    ) -> None:
        if not trades:
            raise ValueError("trades: expected at least one trade, found none")
        if step_ms < 1:
            raise ValueError(f"step_ms: expected at least 1, found {step_ms}")
        if candle_s < 1 or (candle_s * 1000) % step_ms:
            raise ValueError(
                f"candle_s: expected a whole number of {step_ms} ms steps, found {candle_s} s"
            )
        self.trades = trades
        self.step_ms = step_ms
        self.candle_s = candle_s
        self.candles = tuple(trades_to_candles(trades, candle_s).candles)
        self.steps = _steps(trades, self.candles, step_ms)

    def __len__(self) -> int:
        return len(self.steps)

    def builder(self) -> CandleBuilder:
        """An empty builder of this tape's candles (for the one forming)."""
        return CandleBuilder(self.candles[0].symbol, self.candle_s)

    @property
    def start_ms(self) -> int:
        """Market time before the first step."""
        return self.steps[0].end_ms - self.step_ms


def _steps(
    trades: Sequence[Trade], candles: Sequence[Candle], step_ms: int
) -> tuple[TradeStep, ...]:
    first = trades[0].ts_ms - trades[0].ts_ms % step_ms
    count = (trades[-1].ts_ms - first) // step_ms + 1
    steps: list[TradeStep] = []
    t = closed = 0
    ends = [c.open_time_ms + c.interval_s * 1000 for c in candles]
    for k in range(count):
        end = first + (k + 1) * step_ms
        while t < len(trades) and trades[t].ts_ms < end:
            t += 1
        while closed < len(ends) and ends[closed] <= end:
            closed += 1
        steps.append(TradeStep(end, t, closed))
    return tuple(steps)
