"""Enumerations of the domain. Each mirrors a protobuf enum (see ``market_maker.state.convert``)."""

from enum import Enum


class FastEnum(Enum):
    """An ``Enum`` hashed by identity.

    ``Enum.__hash__`` is a Python-level function hashing the member's name; the decision and
    booking paths look enums up in dicts hundreds of thousands of times per backtest.
    Members are singletons compared by identity, so identity hashing agrees with equality.
    """

    __hash__ = object.__hash__


class Side(FastEnum):
    """Order side."""

    BUY = "BUY"
    """Buy the base asset; increases the position."""
    SELL = "SELL"
    """Sell the base asset; decreases the position."""

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the sign a fill of this side gives a position change."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> "Side":
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(FastEnum):
    """Order type."""

    LIMIT = "LIMIT"
    """Rests at its price until filled or cancelled."""
    MARKET = "MARKET"
    """Takes liquidity immediately at the best available prices."""


class TimeInForce(FastEnum):
    """How long an order stays active."""

    GTC = "GTC"
    """Good till cancelled."""
    IOC = "IOC"
    """Immediate or cancel."""
    FOK = "FOK"
    """Fill or kill."""


class OrderStatus(FastEnum):
    """Exchange-reported order status."""

    NEW = "NEW"
    """Accepted and resting, nothing filled."""
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    """Resting with part of its quantity filled."""
    FILLED = "FILLED"
    """Completely filled (terminal)."""
    CANCELED = "CANCELED"
    """Cancelled; any partial fill stands (terminal)."""
    REJECTED = "REJECTED"
    """Refused by the exchange, never rested (terminal)."""
    EXPIRED = "EXPIRED"
    """Expired by time in force or by the exchange; any partial fill stands (terminal)."""

    @property
    def is_terminal(self) -> bool:
        """True when the order can no longer change on the exchange."""
        return self in TERMINAL_ORDER_STATUSES


TERMINAL_ORDER_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class SlotStatus(FastEnum):
    """Order-lifecycle status of a grid slot."""

    FREE = "FREE"
    """No order in flight: the slot may send one."""
    PENDING = "PENDING"
    """An order intent is recorded (write-ahead) and its outcome is not yet known."""
    LOCKED = "LOCKED"
    """The exchange acknowledged the slot's order, which is resting."""


class PositionStatus(FastEnum):
    """Whether a slot holds inventory."""

    EMPTY = "EMPTY"
    """No position."""
    FILLED = "FILLED"
    """A position (long or short) is held and awaits its closing order."""


class OrderRole(FastEnum):
    """What an order does to its slot's position."""

    OPEN = "OPEN"
    """Opens or grows the slot's position."""
    CLOSE = "CLOSE"
    """Reduces the slot's position (reduce-only take-profit)."""


class RiskState(FastEnum):
    """Risk state fed into the strategy by the risk layer."""

    NORMAL = "NORMAL"
    """Full grid."""
    RISK_MODE = "RISK_MODE"
    """Reduce-only: opening orders cancelled and none placed; closing orders stay."""
    HALTED = "HALTED"
    """Circuit breaker open: opening orders cancelled, nothing new until reset."""


class GridMode(FastEnum):
    """Direction of the grid."""

    LONG = "long"
    """Opening buys below the price; each fill closes with a sell above its entry."""
    SHORT = "short"
    """Opening sells above the price; each fill closes with a buy below its entry."""
    NEUTRAL = "neutral"
    """Opening orders on both sides; each fill closes on the opposite side."""


class Spacing(FastEnum):
    """How grid levels are spaced."""

    ARITHMETIC = "arithmetic"
    """Levels a fixed price distance apart (interval in quote currency)."""
    GEOMETRIC = "geometric"
    """Levels a fixed ratio apart (interval as a fraction of price, 0.005 = 0.5%)."""


class Liquidity(FastEnum):
    """Whether a fill added or removed liquidity."""

    MAKER = "maker"
    """The order rested on the book."""
    TAKER = "taker"
    """The order crossed the book."""


class HaltedClosingPolicy(FastEnum):
    """What happens to closing orders and positions while the circuit breaker is ``HALTED``."""

    KEEP = "keep"
    """Closing orders stay, so open positions can still take profit."""
    CANCEL = "cancel"
    """Closing orders are cancelled too; positions are kept and nothing rests."""
    FLATTEN = "flatten"
    """Every position is closed at the market (a marketable reduce-only limit, bounded by
    the safety buffer), replacing its take-profit order."""
