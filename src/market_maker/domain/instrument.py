"""Instrument trading rules and the only place prices and quantities are quantised.

Rounding never crosses the book: a buy price rounds down to the tick, a sell price rounds
up, and quantities always round down to the step.
"""

from dataclasses import dataclass
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import Side
from market_maker.domain.errors import InstrumentError


def floor_to(value: Decimal, increment: Decimal) -> Decimal:
    """Largest multiple of ``increment`` that is ``<= value`` (exact for any sign).

    The result carries the increment's exponent (``0.00801``, not ``0.008010000…``), so it
    can be sent to an exchange as it is.
    """
    remainder = value % increment  # Decimal remainder takes the sign of the dividend
    floored = value - remainder
    if remainder < 0:
        floored -= increment
    return floored.quantize(increment)


def ceil_to(value: Decimal, increment: Decimal) -> Decimal:
    """Smallest multiple of ``increment`` that is ``>= value`` (exact for any sign)."""
    floored = floor_to(value, increment)
    return floored if floored == value else (floored + increment).quantize(increment)


@dataclass(frozen=True, slots=True, eq=False)
class Instrument:
    """Trading rules of one market.

    Equal only when written alike: a tick of ``0.010`` quantises prices to three decimals
    and one of ``0.01`` to two, and memo tables key on instruments.

    Attributes:
        symbol: Unified symbol, e.g. ``BTC/USDT``.
        tick_size: Price increment in quote currency.
        step_size: Quantity increment in base currency.
        min_qty: Smallest order quantity in base currency.
        min_notional: Smallest order value (price x quantity) in quote currency.
    """

    symbol: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal = ZERO
    min_notional: Decimal = ZERO

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Instrument) and self._written() == other._written()

    def __hash__(self) -> int:
        return hash((self.symbol, self.tick_size, self.step_size, self.min_qty, self.min_notional))

    def _written(self) -> tuple[str, ...]:
        return (
            self.symbol,
            str(self.tick_size),
            str(self.step_size),
            str(self.min_qty),
            str(self.min_notional),
        )

    def __post_init__(self) -> None:
        for name in ("tick_size", "step_size"):
            value: Decimal = getattr(self, name)
            if not value.is_finite() or value <= 0:
                raise InstrumentError(
                    f"{self.symbol}: {name} must be a positive number, found {value}; "
                    "take it from the exchange's market rules (e.g. PRICE_FILTER / LOT_SIZE)"
                )
        for name in ("min_qty", "min_notional"):
            value = getattr(self, name)
            if not value.is_finite() or value < 0:
                raise InstrumentError(
                    f"{self.symbol}: {name} must be zero or positive, found {value}"
                )

    def round_price(self, side: Side, raw: Decimal) -> Decimal:
        """Snap a limit price to the tick: buys down, sells up, so rounding never crosses."""
        if side is Side.BUY:
            return floor_to(raw, self.tick_size)
        return ceil_to(raw, self.tick_size)

    def round_price_nearest(self, raw: Decimal) -> Decimal:
        """Snap a price to the nearest tick (ties to the lower tick); for grid level keys."""
        down = floor_to(raw, self.tick_size)
        return down if raw - down <= self.tick_size / 2 else down + self.tick_size

    def round_qty(self, raw: Decimal) -> Decimal:
        """Snap a quantity down to the step size (never above ``raw``)."""
        if raw <= 0:
            return ZERO
        return floor_to(raw, self.step_size)

    def is_tradeable(self, price: Decimal, qty: Decimal) -> bool:
        """True when an order of ``qty`` at ``price`` meets ``min_qty`` and ``min_notional``."""
        return qty > 0 and qty >= self.min_qty and price * qty >= self.min_notional


def split_symbol(symbol: str) -> tuple[str, str]:
    """Base and quote asset of a unified symbol (``BTC/USDT:USDT`` -> ``BTC``, ``USDT``)."""
    base, _, rest = symbol.partition("/")
    quote = rest.split(":")[0]
    if not base or not quote:
        raise ValueError(f"symbol {symbol!r} is not of the form BASE/QUOTE")
    return base, quote


@dataclass(frozen=True, slots=True)
class MarketRules:
    """What a venue says about trading one market: its instrument rules and fee rates.

    A live run takes these from the venue (the configuration may only repeat them, and
    must then agree); a backtest takes them from its configuration.

    Attributes:
        instrument: Tick size, quantity step and minimums of the market.
        maker_fee: Fee rate of fills of resting orders (0.0002 = 0.02%).
        taker_fee: Fee rate of fills that take liquidity.
        spot: True for a spot market (balances, no shorting); False for derivatives
            (a margin account with a signed position).
    """

    instrument: Instrument
    maker_fee: Decimal
    taker_fee: Decimal
    spot: bool

    def __post_init__(self) -> None:
        for name in ("maker_fee", "taker_fee"):
            value: Decimal = getattr(self, name)
            if not value.is_finite() or not 0 <= value < 1:
                raise InstrumentError(
                    f"{self.instrument.symbol}: {name} must be a rate from 0 up to 1 "
                    f"(0.001 = 0.1%), found {value}"
                )
