"""Building blocks of the protobuf conversions: enum bijections and strict decimal readers.

Every Python enum maps to the non-zero values of its protobuf enum; 0 (``*_UNSPECIFIED``)
means "not set". Readers raise ``StateIntegrityError`` naming the field, never guess.
"""

from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Generic, TypeVar

from market_maker.domain.decimals import parse_decimal, parse_optional_decimal
from market_maker.domain.enums import (
    Liquidity,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionStatus,
    RiskState,
    Side,
    SlotStatus,
    TimeInForce,
)
from market_maker.domain.errors import InvalidDecimalError, StateIntegrityError
from market_maker.domain.orders import ActionKind
from market_maker.indicators.atr import AtrMethod
from market_maker.pb import enums_pb2 as epb
from market_maker.risk.events import RiskEventKind

E = TypeVar("E", bound=Enum)
P = TypeVar("P", bound=int)


class EnumMap(Generic[E, P]):
    """A bijection between a Python enum and the set (non-zero) values of a protobuf enum.

    ``name`` is the protobuf enum's name (for error messages), ``unset`` its
    ``*_UNSPECIFIED`` value 0, and ``pairs`` maps every Python member to its protobuf value.
    """

    def __init__(self, name: str, unset: P, pairs: Mapping[E, P]) -> None:
        self.name = name
        self.unset = unset
        self._to_pb = dict(pairs)
        self._from_pb: dict[int, E] = {int(p): e for e, p in pairs.items()}

    @property
    def members(self) -> Mapping[E, P]:
        """The mapping, Python member to protobuf value."""
        return self._to_pb

    def to_pb(self, value: E) -> P:
        """Return the protobuf value of ``value``."""
        return self._to_pb[value]

    def optional_to_pb(self, value: E | None) -> P:
        """Return the protobuf value of ``value``, writing ``None`` as the unset value."""
        return self.unset if value is None else self._to_pb[value]

    def from_pb(self, value: int, field: str) -> E:
        """Return the member of a required enum field.

        An unset (0) or unknown value raises ``StateIntegrityError`` naming ``field``.
        """
        member = self.optional_from_pb(value, field)
        if member is None:
            raise StateIntegrityError(
                f"{field}: expected a {self.name} ({self._choices()}), found it unset (0)"
            )
        return member

    def optional_from_pb(self, value: int, field: str) -> E | None:
        """Return the member of an optional enum field, reading the unset value 0 as ``None``.

        An unknown value raises ``StateIntegrityError`` naming ``field``.
        """
        if value == self.unset:
            return None
        try:
            return self._from_pb[value]
        except KeyError:
            raise StateIntegrityError(
                f"{field}: expected a {self.name} ({self._choices()}), found unknown value "
                f"{value}; was it written by a newer version?"
            ) from None

    def _choices(self) -> str:
        return ", ".join(m.name for m in self._to_pb)


SIDE = EnumMap("Side", epb.SIDE_UNSPECIFIED, {Side.BUY: epb.SIDE_BUY, Side.SELL: epb.SIDE_SELL})
ORDER_TYPE = EnumMap(
    "OrderType",
    epb.ORDER_TYPE_UNSPECIFIED,
    {OrderType.LIMIT: epb.ORDER_TYPE_LIMIT, OrderType.MARKET: epb.ORDER_TYPE_MARKET},
)
TIME_IN_FORCE = EnumMap(
    "TimeInForce",
    epb.TIME_IN_FORCE_UNSPECIFIED,
    {
        TimeInForce.GTC: epb.TIME_IN_FORCE_GTC,
        TimeInForce.IOC: epb.TIME_IN_FORCE_IOC,
        TimeInForce.FOK: epb.TIME_IN_FORCE_FOK,
    },
)
ORDER_STATUS = EnumMap(
    "OrderStatus",
    epb.ORDER_STATUS_UNSPECIFIED,
    {
        OrderStatus.NEW: epb.ORDER_STATUS_NEW,
        OrderStatus.PARTIALLY_FILLED: epb.ORDER_STATUS_PARTIALLY_FILLED,
        OrderStatus.FILLED: epb.ORDER_STATUS_FILLED,
        OrderStatus.CANCELED: epb.ORDER_STATUS_CANCELED,
        OrderStatus.REJECTED: epb.ORDER_STATUS_REJECTED,
        OrderStatus.EXPIRED: epb.ORDER_STATUS_EXPIRED,
    },
)
SLOT_STATUS = EnumMap(
    "SlotStatus",
    epb.SLOT_STATUS_UNSPECIFIED,
    {
        SlotStatus.FREE: epb.SLOT_STATUS_FREE,
        SlotStatus.PENDING: epb.SLOT_STATUS_PENDING,
        SlotStatus.LOCKED: epb.SLOT_STATUS_LOCKED,
    },
)
POSITION_STATUS = EnumMap(
    "PositionStatus",
    epb.POSITION_STATUS_UNSPECIFIED,
    {
        PositionStatus.EMPTY: epb.POSITION_STATUS_EMPTY,
        PositionStatus.FILLED: epb.POSITION_STATUS_FILLED,
    },
)
ORDER_ROLE = EnumMap(
    "OrderRole",
    epb.ORDER_ROLE_UNSPECIFIED,
    {OrderRole.OPEN: epb.ORDER_ROLE_OPEN, OrderRole.CLOSE: epb.ORDER_ROLE_CLOSE},
)
RISK_STATE = EnumMap(
    "RiskState",
    epb.RISK_STATE_UNSPECIFIED,
    {
        RiskState.NORMAL: epb.RISK_STATE_NORMAL,
        RiskState.RISK_MODE: epb.RISK_STATE_RISK_MODE,
        RiskState.HALTED: epb.RISK_STATE_HALTED,
    },
)
LIQUIDITY = EnumMap(
    "Liquidity",
    epb.LIQUIDITY_UNSPECIFIED,
    {Liquidity.MAKER: epb.LIQUIDITY_MAKER, Liquidity.TAKER: epb.LIQUIDITY_TAKER},
)
ACTION_KIND = EnumMap(
    "ActionKind",
    epb.ACTION_KIND_UNSPECIFIED,
    {ActionKind.PLACE: epb.ACTION_KIND_PLACE, ActionKind.CANCEL: epb.ACTION_KIND_CANCEL},
)
ATR_METHOD = EnumMap(
    "AtrMethod",
    epb.ATR_METHOD_UNSPECIFIED,
    {AtrMethod.SIMPLE: epb.ATR_METHOD_SIMPLE, AtrMethod.WILDER: epb.ATR_METHOD_WILDER},
)
RISK_EVENT_KIND = EnumMap(
    "RiskEventKind",
    epb.RISK_EVENT_KIND_UNSPECIFIED,
    {
        RiskEventKind.VOLATILITY_ANOMALY: epb.RISK_EVENT_KIND_VOLATILITY_ANOMALY,
        RiskEventKind.CALM_RECOVERY: epb.RISK_EVENT_KIND_CALM_RECOVERY,
        RiskEventKind.MONITOR_RESET: epb.RISK_EVENT_KIND_MONITOR_RESET,
        RiskEventKind.CONSECUTIVE_LOSSES: epb.RISK_EVENT_KIND_CONSECUTIVE_LOSSES,
        RiskEventKind.DRAWDOWN_QUOTE: epb.RISK_EVENT_KIND_DRAWDOWN_QUOTE,
        RiskEventKind.DRAWDOWN_PCT: epb.RISK_EVENT_KIND_DRAWDOWN_PCT,
        RiskEventKind.POSITION_DIVERGENCE: epb.RISK_EVENT_KIND_POSITION_DIVERGENCE,
        RiskEventKind.OPERATOR_HALT: epb.RISK_EVENT_KIND_OPERATOR_HALT,
        RiskEventKind.COOLDOWN_EXPIRED: epb.RISK_EVENT_KIND_COOLDOWN_EXPIRED,
        RiskEventKind.BREAKER_RESET: epb.RISK_EVENT_KIND_BREAKER_RESET,
    },
)


def read_decimal(text: str, field: str) -> Decimal:
    """Parse a required decimal string field; ``StateIntegrityError`` naming ``field`` if bad."""
    try:
        return parse_decimal(text, field=field)
    except InvalidDecimalError as exc:
        raise StateIntegrityError(str(exc)) from exc


def read_optional_decimal(text: str, field: str) -> Decimal | None:
    """Parse an optional decimal string field: ``""`` means ``None``; else as ``read_decimal``."""
    try:
        return parse_optional_decimal(text, field=field)
    except InvalidDecimalError as exc:
        raise StateIntegrityError(str(exc)) from exc


V = TypeVar("V")
M = TypeVar("M")


class IdentityMemo(Generic[V, M]):
    """Messages of immutable values, remembered by object identity.

    A checkpoint converts every slot, retired order and baseline candle, most of them the
    same objects as last time. Keyed by identity, not equality: ``Decimal("1.0")`` equals
    ``Decimal("1.00")`` but writes differently, and a snapshot must write exactly what it
    holds. Each entry keeps its value alive, so an id is never reused while remembered.
    Returned messages are shared: callers copy them (``CopyFrom``, repeated-field
    constructors). Holds at most ``size`` entries, forgetting the oldest half when full.
    """

    def __init__(self, build: Callable[[V], M], size: int = 4096) -> None:
        self._build = build
        self._size = size
        self._entries: dict[int, tuple[V, M]] = {}

    def __call__(self, value: V) -> M:
        """The message of ``value``, built once per object."""
        entry = self._entries.get(id(value))
        if entry is not None and entry[0] is value:
            return entry[1]
        msg = self._build(value)
        entries = self._entries
        if len(entries) >= self._size:
            for key in list(entries)[: self._size // 2]:
                del entries[key]
        entries[id(value)] = (value, msg)
        return msg
