from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Candle(_message.Message):
    __slots__ = ("symbol", "open_time_ms", "interval_s", "open", "high", "low", "close", "volume", "closed")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    OPEN_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    open_time_ms: int
    interval_s: int
    open: str
    high: str
    low: str
    close: str
    volume: str
    closed: bool
    def __init__(self, symbol: _Optional[str] = ..., open_time_ms: _Optional[int] = ..., interval_s: _Optional[int] = ..., open: _Optional[str] = ..., high: _Optional[str] = ..., low: _Optional[str] = ..., close: _Optional[str] = ..., volume: _Optional[str] = ..., closed: _Optional[bool] = ...) -> None: ...

class PriceChange(_message.Message):
    __slots__ = ("symbol", "price", "ts_ms", "bid", "ask")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    price: str
    ts_ms: int
    bid: str
    ask: str
    def __init__(self, symbol: _Optional[str] = ..., price: _Optional[str] = ..., ts_ms: _Optional[int] = ..., bid: _Optional[str] = ..., ask: _Optional[str] = ...) -> None: ...
