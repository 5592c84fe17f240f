from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_BUY: _ClassVar[Side]
    SIDE_SELL: _ClassVar[Side]

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    ORDER_TYPE_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_MARKET: _ClassVar[OrderType]

class TimeInForce(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_IN_FORCE_UNSPECIFIED: _ClassVar[TimeInForce]
    TIME_IN_FORCE_GTC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_IOC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_FOK: _ClassVar[TimeInForce]

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_NEW: _ClassVar[OrderStatus]
    ORDER_STATUS_PARTIALLY_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELED: _ClassVar[OrderStatus]
    ORDER_STATUS_REJECTED: _ClassVar[OrderStatus]
    ORDER_STATUS_EXPIRED: _ClassVar[OrderStatus]

class SlotStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SLOT_STATUS_UNSPECIFIED: _ClassVar[SlotStatus]
    SLOT_STATUS_FREE: _ClassVar[SlotStatus]
    SLOT_STATUS_PENDING: _ClassVar[SlotStatus]
    SLOT_STATUS_LOCKED: _ClassVar[SlotStatus]

class PositionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POSITION_STATUS_UNSPECIFIED: _ClassVar[PositionStatus]
    POSITION_STATUS_EMPTY: _ClassVar[PositionStatus]
    POSITION_STATUS_FILLED: _ClassVar[PositionStatus]

class OrderRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_ROLE_UNSPECIFIED: _ClassVar[OrderRole]
    ORDER_ROLE_OPEN: _ClassVar[OrderRole]
    ORDER_ROLE_CLOSE: _ClassVar[OrderRole]

class RiskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RISK_STATE_UNSPECIFIED: _ClassVar[RiskState]
    RISK_STATE_NORMAL: _ClassVar[RiskState]
    RISK_STATE_RISK_MODE: _ClassVar[RiskState]
    RISK_STATE_HALTED: _ClassVar[RiskState]

class Liquidity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIQUIDITY_UNSPECIFIED: _ClassVar[Liquidity]
    LIQUIDITY_MAKER: _ClassVar[Liquidity]
    LIQUIDITY_TAKER: _ClassVar[Liquidity]

class ActionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_KIND_UNSPECIFIED: _ClassVar[ActionKind]
    ACTION_KIND_PLACE: _ClassVar[ActionKind]
    ACTION_KIND_CANCEL: _ClassVar[ActionKind]

class AtrMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATR_METHOD_UNSPECIFIED: _ClassVar[AtrMethod]
    ATR_METHOD_SIMPLE: _ClassVar[AtrMethod]
    ATR_METHOD_WILDER: _ClassVar[AtrMethod]

class RiskEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RISK_EVENT_KIND_UNSPECIFIED: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_VOLATILITY_ANOMALY: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_CALM_RECOVERY: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_MONITOR_RESET: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_CONSECUTIVE_LOSSES: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_DRAWDOWN_QUOTE: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_DRAWDOWN_PCT: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_POSITION_DIVERGENCE: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_OPERATOR_HALT: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_COOLDOWN_EXPIRED: _ClassVar[RiskEventKind]
    RISK_EVENT_KIND_BREAKER_RESET: _ClassVar[RiskEventKind]
SIDE_UNSPECIFIED: Side
SIDE_BUY: Side
SIDE_SELL: Side
ORDER_TYPE_UNSPECIFIED: OrderType
ORDER_TYPE_LIMIT: OrderType
ORDER_TYPE_MARKET: OrderType
TIME_IN_FORCE_UNSPECIFIED: TimeInForce
TIME_IN_FORCE_GTC: TimeInForce
TIME_IN_FORCE_IOC: TimeInForce
TIME_IN_FORCE_FOK: TimeInForce
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_NEW: OrderStatus
ORDER_STATUS_PARTIALLY_FILLED: OrderStatus
ORDER_STATUS_FILLED: OrderStatus
ORDER_STATUS_CANCELED: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
ORDER_STATUS_EXPIRED: OrderStatus
SLOT_STATUS_UNSPECIFIED: SlotStatus
SLOT_STATUS_FREE: SlotStatus
SLOT_STATUS_PENDING: SlotStatus
SLOT_STATUS_LOCKED: SlotStatus
POSITION_STATUS_UNSPECIFIED: PositionStatus
POSITION_STATUS_EMPTY: PositionStatus
POSITION_STATUS_FILLED: PositionStatus
ORDER_ROLE_UNSPECIFIED: OrderRole
ORDER_ROLE_OPEN: OrderRole
ORDER_ROLE_CLOSE: OrderRole
RISK_STATE_UNSPECIFIED: RiskState
RISK_STATE_NORMAL: RiskState
RISK_STATE_RISK_MODE: RiskState
RISK_STATE_HALTED: RiskState
LIQUIDITY_UNSPECIFIED: Liquidity
LIQUIDITY_MAKER: Liquidity
LIQUIDITY_TAKER: Liquidity
ACTION_KIND_UNSPECIFIED: ActionKind
ACTION_KIND_PLACE: ActionKind
ACTION_KIND_CANCEL: ActionKind
ATR_METHOD_UNSPECIFIED: AtrMethod
ATR_METHOD_SIMPLE: AtrMethod
ATR_METHOD_WILDER: AtrMethod
RISK_EVENT_KIND_UNSPECIFIED: RiskEventKind
RISK_EVENT_KIND_VOLATILITY_ANOMALY: RiskEventKind
RISK_EVENT_KIND_CALM_RECOVERY: RiskEventKind
RISK_EVENT_KIND_MONITOR_RESET: RiskEventKind
RISK_EVENT_KIND_CONSECUTIVE_LOSSES: RiskEventKind
RISK_EVENT_KIND_DRAWDOWN_QUOTE: RiskEventKind
RISK_EVENT_KIND_DRAWDOWN_PCT: RiskEventKind
RISK_EVENT_KIND_POSITION_DIVERGENCE: RiskEventKind
RISK_EVENT_KIND_OPERATOR_HALT: RiskEventKind
RISK_EVENT_KIND_COOLDOWN_EXPIRED: RiskEventKind
RISK_EVENT_KIND_BREAKER_RESET: RiskEventKind
