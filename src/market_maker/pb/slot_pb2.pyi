from market_maker.pb import enums_pb2 as _enums_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderRecord(_message.Message):
    __slots__ = ("client_order_id", "level", "side", "role", "price", "qty", "generation", "order_id", "status", "filled_qty", "filled_quote", "fee", "cancel_requested", "post_only", "reduce_only", "reject_reason", "placed_time")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILLED_QTY_FIELD_NUMBER: _ClassVar[int]
    FILLED_QUOTE_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_FIELD_NUMBER: _ClassVar[int]
    REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    PLACED_TIME_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    level: str
    side: _enums_pb2.Side
    role: _enums_pb2.OrderRole
    price: str
    qty: str
    generation: int
    order_id: str
    status: _enums_pb2.OrderStatus
    filled_qty: str
    filled_quote: str
    fee: str
    cancel_requested: bool
    post_only: bool
    reduce_only: bool
    reject_reason: str
    placed_time: int
    def __init__(self, client_order_id: _Optional[str] = ..., level: _Optional[str] = ..., side: _Optional[_Union[_enums_pb2.Side, str]] = ..., role: _Optional[_Union[_enums_pb2.OrderRole, str]] = ..., price: _Optional[str] = ..., qty: _Optional[str] = ..., generation: _Optional[int] = ..., order_id: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.OrderStatus, str]] = ..., filled_qty: _Optional[str] = ..., filled_quote: _Optional[str] = ..., fee: _Optional[str] = ..., cancel_requested: _Optional[bool] = ..., post_only: _Optional[bool] = ..., reduce_only: _Optional[bool] = ..., reject_reason: _Optional[str] = ..., placed_time: _Optional[int] = ...) -> None: ...

class InventorySlot(_message.Message):
    __slots__ = ("price", "slot_status", "position_status", "position_qty", "entry_price", "cost_basis", "realized_pnl", "fees_paid", "generation", "post_only_fail_count", "order_id", "client_order_id", "order_side", "order_price", "order_qty", "order_filled_qty", "order_status", "order_level", "order_role", "order_generation", "order_filled_quote", "order_fee", "order_cancel_requested", "order_post_only", "order_reduce_only", "order_reject_reason", "order_placed_time")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SLOT_STATUS_FIELD_NUMBER: _ClassVar[int]
    POSITION_STATUS_FIELD_NUMBER: _ClassVar[int]
    POSITION_QTY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PRICE_FIELD_NUMBER: _ClassVar[int]
    COST_BASIS_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    FEES_PAID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_FAIL_COUNT_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_SIDE_FIELD_NUMBER: _ClassVar[int]
    ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
    ORDER_QTY_FIELD_NUMBER: _ClassVar[int]
    ORDER_FILLED_QTY_FIELD_NUMBER: _ClassVar[int]
    ORDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    ORDER_LEVEL_FIELD_NUMBER: _ClassVar[int]
    ORDER_ROLE_FIELD_NUMBER: _ClassVar[int]
    ORDER_GENERATION_FIELD_NUMBER: _ClassVar[int]
    ORDER_FILLED_QUOTE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FEE_FIELD_NUMBER: _ClassVar[int]
    ORDER_CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    ORDER_POST_ONLY_FIELD_NUMBER: _ClassVar[int]
    ORDER_REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ORDER_REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    ORDER_PLACED_TIME_FIELD_NUMBER: _ClassVar[int]
    price: str
    slot_status: _enums_pb2.SlotStatus
    position_status: _enums_pb2.PositionStatus
    position_qty: str
    entry_price: str
    cost_basis: str
    realized_pnl: str
    fees_paid: str
    generation: int
    post_only_fail_count: int
    order_id: str
    client_order_id: str
    order_side: _enums_pb2.Side
    order_price: str
    order_qty: str
    order_filled_qty: str
    order_status: _enums_pb2.OrderStatus
    order_level: str
    order_role: _enums_pb2.OrderRole
    order_generation: int
    order_filled_quote: str
    order_fee: str
    order_cancel_requested: bool
    order_post_only: bool
    order_reduce_only: bool
    order_reject_reason: str
    order_placed_time: int
    def __init__(self, price: _Optional[str] = ..., slot_status: _Optional[_Union[_enums_pb2.SlotStatus, str]] = ..., position_status: _Optional[_Union[_enums_pb2.PositionStatus, str]] = ..., position_qty: _Optional[str] = ..., entry_price: _Optional[str] = ..., cost_basis: _Optional[str] = ..., realized_pnl: _Optional[str] = ..., fees_paid: _Optional[str] = ..., generation: _Optional[int] = ..., post_only_fail_count: _Optional[int] = ..., order_id: _Optional[str] = ..., client_order_id: _Optional[str] = ..., order_side: _Optional[_Union[_enums_pb2.Side, str]] = ..., order_price: _Optional[str] = ..., order_qty: _Optional[str] = ..., order_filled_qty: _Optional[str] = ..., order_status: _Optional[_Union[_enums_pb2.OrderStatus, str]] = ..., order_level: _Optional[str] = ..., order_role: _Optional[_Union[_enums_pb2.OrderRole, str]] = ..., order_generation: _Optional[int] = ..., order_filled_quote: _Optional[str] = ..., order_fee: _Optional[str] = ..., order_cancel_requested: _Optional[bool] = ..., order_post_only: _Optional[bool] = ..., order_reduce_only: _Optional[bool] = ..., order_reject_reason: _Optional[str] = ..., order_placed_time: _Optional[int] = ...) -> None: ...
