"""Market data events."""

from decimal import Decimal

from market_maker.domain.values import value


@value
class Candle:
    """One OHLCV bar.

    Attributes:
        symbol: Unified symbol.
        open_time_ms: Bar open time, milliseconds since the epoch (UTC).
        interval_s: Bar length in seconds.
        open: First trade price.
        high: Highest trade price.
        low: Lowest trade price.
        close: Last trade price.
        volume: Traded volume in base currency.
        closed: False while the bar is still forming.
    """

    symbol: str
    open_time_ms: int
    interval_s: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    closed: bool = True


@value
class PriceUpdate:
    """A new market price for one symbol (last trade or mid).

    Attributes:
        symbol: Unified symbol.
        price: The price the strategy decides on.
        ts_ms: Event time, milliseconds since the epoch (UTC).
        bid: Best bid, when known.
        ask: Best ask, when known.
    """

    symbol: str
    price: Decimal
    ts_ms: int
    bid: Decimal | None = None
    ask: Decimal | None = None
