from market_maker.pb import enums_pb2 as _enums_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlaceOrderRequest(_message.Message):
    __slots__ = ("symbol", "side", "order_type", "time_in_force", "price", "qty", "post_only", "reduce_only", "client_order_id")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_FIELD_NUMBER: _ClassVar[int]
    REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    side: _enums_pb2.Side
    order_type: _enums_pb2.OrderType
    time_in_force: _enums_pb2.TimeInForce
    price: str
    qty: str
    post_only: bool
    reduce_only: bool
    client_order_id: str
    def __init__(self, symbol: _Optional[str] = ..., side: _Optional[_Union[_enums_pb2.Side, str]] = ..., order_type: _Optional[_Union[_enums_pb2.OrderType, str]] = ..., time_in_force: _Optional[_Union[_enums_pb2.TimeInForce, str]] = ..., price: _Optional[str] = ..., qty: _Optional[str] = ..., post_only: _Optional[bool] = ..., reduce_only: _Optional[bool] = ..., client_order_id: _Optional[str] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("symbol", "client_order_id", "order_id")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    client_order_id: str
    order_id: str
    def __init__(self, symbol: _Optional[str] = ..., client_order_id: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class OrderAction(_message.Message):
    __slots__ = ("kind", "slot_level", "place", "cancel")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SLOT_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    kind: _enums_pb2.ActionKind
    slot_level: str
    place: PlaceOrderRequest
    cancel: CancelOrderRequest
    def __init__(self, kind: _Optional[_Union[_enums_pb2.ActionKind, str]] = ..., slot_level: _Optional[str] = ..., place: _Optional[_Union[PlaceOrderRequest, _Mapping]] = ..., cancel: _Optional[_Union[CancelOrderRequest, _Mapping]] = ...) -> None: ...

class OrderUpdate(_message.Message):
    __slots__ = ("symbol", "order_id", "client_order_id", "side", "status", "price", "qty", "cum_filled_qty", "cum_quote_qty", "cum_fee", "last_fill_price", "last_fill_qty", "last_fee", "trade_id", "liquidity", "ts_ms", "reject_reason", "post_only_reject")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    CUM_FILLED_QTY_FIELD_NUMBER: _ClassVar[int]
    CUM_QUOTE_QTY_FIELD_NUMBER: _ClassVar[int]
    CUM_FEE_FIELD_NUMBER: _ClassVar[int]
    LAST_FILL_PRICE_FIELD_NUMBER: _ClassVar[int]
    LAST_FILL_QTY_FIELD_NUMBER: _ClassVar[int]
    LAST_FEE_FIELD_NUMBER: _ClassVar[int]
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_REJECT_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    order_id: str
    client_order_id: str
    side: _enums_pb2.Side
    status: _enums_pb2.OrderStatus
    price: str
    qty: str
    cum_filled_qty: str
    cum_quote_qty: str
    cum_fee: str
    last_fill_price: str
    last_fill_qty: str
    last_fee: str
    trade_id: str
    liquidity: _enums_pb2.Liquidity
    ts_ms: int
    reject_reason: str
    post_only_reject: bool
    def __init__(self, symbol: _Optional[str] = ..., order_id: _Optional[str] = ..., client_order_id: _Optional[str] = ..., side: _Optional[_Union[_enums_pb2.Side, str]] = ..., status: _Optional[_Union[_enums_pb2.OrderStatus, str]] = ..., price: _Optional[str] = ..., qty: _Optional[str] = ..., cum_filled_qty: _Optional[str] = ..., cum_quote_qty: _Optional[str] = ..., cum_fee: _Optional[str] = ..., last_fill_price: _Optional[str] = ..., last_fill_qty: _Optional[str] = ..., last_fee: _Optional[str] = ..., trade_id: _Optional[str] = ..., liquidity: _Optional[_Union[_enums_pb2.Liquidity, str]] = ..., ts_ms: _Optional[int] = ..., reject_reason: _Optional[str] = ..., post_only_reject: _Optional[bool] = ...) -> None: ...
