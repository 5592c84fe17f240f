from market_maker.pb import enums_pb2 as _enums_pb2
from market_maker.pb import slot_pb2 as _slot_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AtrState(_message.Message):
    __slots__ = ("window", "method", "prev_close", "ranges", "value")
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PREV_CLOSE_FIELD_NUMBER: _ClassVar[int]
    RANGES_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    window: int
    method: _enums_pb2.AtrMethod
    prev_close: str
    ranges: _containers.RepeatedScalarFieldContainer[str]
    value: str
    def __init__(self, window: _Optional[int] = ..., method: _Optional[_Union[_enums_pb2.AtrMethod, str]] = ..., prev_close: _Optional[str] = ..., ranges: _Optional[_Iterable[str]] = ..., value: _Optional[str] = ...) -> None: ...

class BaselineCandle(_message.Message):
    __slots__ = ("open_time", "close", "volume")
    OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    open_time: int
    close: str
    volume: str
    def __init__(self, open_time: _Optional[int] = ..., close: _Optional[str] = ..., volume: _Optional[str] = ...) -> None: ...

class MarketWatchState(_message.Message):
    __slots__ = ("symbol", "recent", "atr", "last_closed_open_time", "anomalous", "calm_count", "reason")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    RECENT_FIELD_NUMBER: _ClassVar[int]
    ATR_FIELD_NUMBER: _ClassVar[int]
    LAST_CLOSED_OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    ANOMALOUS_FIELD_NUMBER: _ClassVar[int]
    CALM_COUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    recent: _containers.RepeatedCompositeFieldContainer[BaselineCandle]
    atr: AtrState
    last_closed_open_time: int
    anomalous: bool
    calm_count: int
    reason: str
    def __init__(self, symbol: _Optional[str] = ..., recent: _Optional[_Iterable[_Union[BaselineCandle, _Mapping]]] = ..., atr: _Optional[_Union[AtrState, _Mapping]] = ..., last_closed_open_time: _Optional[int] = ..., anomalous: _Optional[bool] = ..., calm_count: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class RiskMonitorState(_message.Message):
    __slots__ = ("state", "markets")
    STATE_FIELD_NUMBER: _ClassVar[int]
    MARKETS_FIELD_NUMBER: _ClassVar[int]
    state: _enums_pb2.RiskState
    markets: _containers.RepeatedCompositeFieldContainer[MarketWatchState]
    def __init__(self, state: _Optional[_Union[_enums_pb2.RiskState, str]] = ..., markets: _Optional[_Iterable[_Union[MarketWatchState, _Mapping]]] = ...) -> None: ...

class CircuitBreakerState(_message.Message):
    __slots__ = ("state", "consecutive_losses", "peak_equity", "last_equity", "tripped_at", "trip_kind", "trip_reason")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_LOSSES_FIELD_NUMBER: _ClassVar[int]
    PEAK_EQUITY_FIELD_NUMBER: _ClassVar[int]
    LAST_EQUITY_FIELD_NUMBER: _ClassVar[int]
    TRIPPED_AT_FIELD_NUMBER: _ClassVar[int]
    TRIP_KIND_FIELD_NUMBER: _ClassVar[int]
    TRIP_REASON_FIELD_NUMBER: _ClassVar[int]
    state: _enums_pb2.RiskState
    consecutive_losses: int
    peak_equity: str
    last_equity: str
    tripped_at: int
    trip_kind: _enums_pb2.RiskEventKind
    trip_reason: str
    def __init__(self, state: _Optional[_Union[_enums_pb2.RiskState, str]] = ..., consecutive_losses: _Optional[int] = ..., peak_equity: _Optional[str] = ..., last_equity: _Optional[str] = ..., tripped_at: _Optional[int] = ..., trip_kind: _Optional[_Union[_enums_pb2.RiskEventKind, str]] = ..., trip_reason: _Optional[str] = ...) -> None: ...

class RiskLayerState(_message.Message):
    __slots__ = ("monitor", "breaker", "open_round_trips")
    class OpenRoundTripsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MONITOR_FIELD_NUMBER: _ClassVar[int]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    OPEN_ROUND_TRIPS_FIELD_NUMBER: _ClassVar[int]
    monitor: RiskMonitorState
    breaker: CircuitBreakerState
    open_round_trips: _containers.ScalarMap[str, str]
    def __init__(self, monitor: _Optional[_Union[RiskMonitorState, _Mapping]] = ..., breaker: _Optional[_Union[CircuitBreakerState, _Mapping]] = ..., open_round_trips: _Optional[_Mapping[str, str]] = ...) -> None: ...

class State(_message.Message):
    __slots__ = ("bot_id", "symbol", "slots", "retired_orders", "order_seq", "anchor_price", "last_price", "last_update_time", "version", "risk_mode", "realized_pnl", "fees_paid", "center_price", "interval", "baseline_atr", "atr", "checksum", "position_offset", "risk_layer", "last_trade_id")
    class SlotsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _slot_pb2.InventorySlot
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_slot_pb2.InventorySlot, _Mapping]] = ...) -> None: ...
    BOT_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    RETIRED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    ORDER_SEQ_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_PRICE_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RISK_MODE_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    FEES_PAID_FIELD_NUMBER: _ClassVar[int]
    CENTER_PRICE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    BASELINE_ATR_FIELD_NUMBER: _ClassVar[int]
    ATR_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    POSITION_OFFSET_FIELD_NUMBER: _ClassVar[int]
    RISK_LAYER_FIELD_NUMBER: _ClassVar[int]
    LAST_TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    bot_id: str
    symbol: str
    slots: _containers.MessageMap[str, _slot_pb2.InventorySlot]
    retired_orders: _containers.RepeatedCompositeFieldContainer[_slot_pb2.OrderRecord]
    order_seq: int
    anchor_price: str
    last_price: str
    last_update_time: int
    version: int
    risk_mode: _enums_pb2.RiskState
    realized_pnl: str
    fees_paid: str
    center_price: str
    interval: str
    baseline_atr: str
    atr: AtrState
    checksum: str
    position_offset: str
    risk_layer: RiskLayerState
    last_trade_id: int
    def __init__(self, bot_id: _Optional[str] = ..., symbol: _Optional[str] = ..., slots: _Optional[_Mapping[str, _slot_pb2.InventorySlot]] = ..., retired_orders: _Optional[_Iterable[_Union[_slot_pb2.OrderRecord, _Mapping]]] = ..., order_seq: _Optional[int] = ..., anchor_price: _Optional[str] = ..., last_price: _Optional[str] = ..., last_update_time: _Optional[int] = ..., version: _Optional[int] = ..., risk_mode: _Optional[_Union[_enums_pb2.RiskState, str]] = ..., realized_pnl: _Optional[str] = ..., fees_paid: _Optional[str] = ..., center_price: _Optional[str] = ..., interval: _Optional[str] = ..., baseline_atr: _Optional[str] = ..., atr: _Optional[_Union[AtrState, _Mapping]] = ..., checksum: _Optional[str] = ..., position_offset: _Optional[str] = ..., risk_layer: _Optional[_Union[RiskLayerState, _Mapping]] = ..., last_trade_id: _Optional[int] = ...) -> None: ...
