from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Balance(_message.Message):
    __slots__ = ("asset", "free", "locked")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    asset: str
    free: str
    locked: str
    def __init__(self, asset: _Optional[str] = ..., free: _Optional[str] = ..., locked: _Optional[str] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("balances", "ts_ms")
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    balances: _containers.RepeatedCompositeFieldContainer[Balance]
    ts_ms: int
    def __init__(self, balances: _Optional[_Iterable[_Union[Balance, _Mapping]]] = ..., ts_ms: _Optional[int] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ("symbol", "qty", "entry_price", "unrealized_pnl", "leverage", "ts_ms")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PRICE_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    qty: str
    entry_price: str
    unrealized_pnl: str
    leverage: str
    ts_ms: int
    def __init__(self, symbol: _Optional[str] = ..., qty: _Optional[str] = ..., entry_price: _Optional[str] = ..., unrealized_pnl: _Optional[str] = ..., leverage: _Optional[str] = ..., ts_ms: _Optional[int] = ...) -> None: ...
