"""The ledger of the paper exchange and the JSON its ``/paper/`` endpoints write it in.

``Ledger`` (every order and fill the venue holds) and ``MarketSnapshot`` (where market
time stands) are what ``PaperVenue`` answers; the ``/paper/`` routes write orders, fills
and candles with the ``*_to_json`` functions, and ``PaperControl`` reads the ledger back
with ``ledger_from_json``, which raises ``PaperJsonError`` on anything it cannot read.
Every price, quantity and fee travels as an exact decimal string (``"0.002"``), never a
JSON number, so a value read back equals the value sent; enums travel by their value.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from market_maker.domain.decimals import decimal_to_str, parse_decimal
from market_maker.domain.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.errors import MarketMakerError
from market_maker.domain.market import Candle
from market_maker.domain.orders import OrderUpdate, PlaceOrderRequest

Json = dict[str, Any]
"""A JSON object as Python data."""


class PaperJsonError(MarketMakerError):
    """A ``/paper/`` answer does not have the shape or the values this module writes."""


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Where market time stands on the paper exchange.

    Attributes:
        index: Number of steps processed so far (candles, when replaying candles).
        candle: The latest candle closed, ``None`` before the first.
        done: Every step of the data has been processed; market time has stopped.
        closed: Number of candles closed so far (``index`` when replaying candles).
        forming: The candle a trade replay is still building, ``None`` when none is.
    """

    index: int
    candle: Candle | None
    done: bool
    closed: int = 0
    forming: Candle | None = None


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    """One order the paper exchange holds: what was asked and where it stands.

    Attributes:
        request: The order as placed.
        state: Its current report (status, cumulative fills and fees).
    """

    request: PlaceOrderRequest
    state: OrderUpdate


@dataclass(frozen=True, slots=True)
class Ledger:
    """Everything the paper exchange holds, read-only.

    Attributes:
        orders: Every order accepted or rejected on its own merits, in placement order
            (a duplicate client order id is answered but never held).
        fills: Every fill report, in the order the fills happened.
        duplicates: Client order ids placed again after the first time (rejected).
    """

    orders: tuple[LedgerOrder, ...]
    fills: tuple[OrderUpdate, ...]
    duplicates: tuple[str, ...] = ()


# -- to JSON ---------------------------------------------------------------------------------


def request_to_json(request: PlaceOrderRequest) -> Json:
    """A place-order request, every decimal as a string."""
    return {
        "symbol": request.symbol,
        "side": request.side.value,
        "order_type": request.order_type.value,
        "time_in_force": request.time_in_force.value,
        "price": decimal_to_str(request.price),
        "qty": decimal_to_str(request.qty),
        "post_only": request.post_only,
        "reduce_only": request.reduce_only,
        "client_order_id": request.client_order_id,
    }


def update_to_json(update: OrderUpdate) -> Json:
    """An order report, every decimal as a string."""
    d = decimal_to_str
    return {
        "symbol": update.symbol,
        "order_id": update.order_id,
        "client_order_id": update.client_order_id,
        "side": update.side.value,
        "status": update.status.value,
        "price": d(update.price),
        "qty": d(update.qty),
        "cum_filled_qty": d(update.cum_filled_qty),
        "cum_quote_qty": d(update.cum_quote_qty),
        "cum_fee": d(update.cum_fee),
        "last_fill_price": d(update.last_fill_price),
        "last_fill_qty": d(update.last_fill_qty),
        "last_fee": d(update.last_fee),
        "trade_id": update.trade_id,
        "liquidity": None if update.liquidity is None else update.liquidity.value,
        "ts_ms": update.ts_ms,
        "reject_reason": update.reject_reason,
        "post_only_reject": update.post_only_reject,
    }


def candle_to_json(candle: Candle) -> Json:
    """A candle, prices and volume as strings."""
    d = decimal_to_str
    return {
        "symbol": candle.symbol,
        "open_time_ms": candle.open_time_ms,
        "interval_s": candle.interval_s,
        "open": d(candle.open),
        "high": d(candle.high),
        "low": d(candle.low),
        "close": d(candle.close),
        "volume": d(candle.volume),
        "closed": candle.closed,
    }


# -- from JSON -------------------------------------------------------------------------------


def _dec(data: Mapping[str, Any], name: str) -> Decimal:
    return parse_decimal(data[name], field=name)


def _str(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise PaperJsonError(f"{name}: expected a string, found {value!r}")
    return value


def _int(data: Mapping[str, Any], name: str) -> int:
    value = data[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise PaperJsonError(f"{name}: expected a whole number, found {value!r}")
    return value


def _bool(data: Mapping[str, Any], name: str) -> bool:
    value = data[name]
    if not isinstance(value, bool):
        raise PaperJsonError(f"{name}: expected true or false, found {value!r}")
    return value


def _guard(what: str, data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise PaperJsonError(f"{what}: expected a JSON object, found {data!r}")
    return data


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """Turn a missing key or a bad value met while reading ``what`` into a ``PaperJsonError``."""
    try:
        yield
    except KeyError as exc:
        raise PaperJsonError(f"{what}: missing field {exc}") from exc
    except (ValueError, TypeError, PaperJsonError) as exc:
        raise PaperJsonError(f"{what}: {exc}") from exc


def request_from_json(data: object) -> PlaceOrderRequest:
    """Read a place-order request (as written by ``request_to_json``)."""
    with _reading("order request"):
        m = _guard("order request", data)
        return PlaceOrderRequest(
            symbol=_str(m, "symbol"),
            side=Side(m["side"]),
            order_type=OrderType(m["order_type"]),
            time_in_force=TimeInForce(m["time_in_force"]),
            price=_dec(m, "price"),
            qty=_dec(m, "qty"),
            post_only=_bool(m, "post_only"),
            reduce_only=_bool(m, "reduce_only"),
            client_order_id=_str(m, "client_order_id"),
        )


def update_from_json(data: object) -> OrderUpdate:
    """Read an order report (as written by ``update_to_json``)."""
    with _reading("order report"):
        m = _guard("order report", data)
        liquidity = m["liquidity"]
        return OrderUpdate(
            symbol=_str(m, "symbol"),
            order_id=_str(m, "order_id"),
            client_order_id=_str(m, "client_order_id"),
            side=Side(m["side"]),
            status=OrderStatus(m["status"]),
            price=_dec(m, "price"),
            qty=_dec(m, "qty"),
            cum_filled_qty=_dec(m, "cum_filled_qty"),
            cum_quote_qty=_dec(m, "cum_quote_qty"),
            cum_fee=_dec(m, "cum_fee"),
            last_fill_price=_dec(m, "last_fill_price"),
            last_fill_qty=_dec(m, "last_fill_qty"),
            last_fee=_dec(m, "last_fee"),
            trade_id=_str(m, "trade_id"),
            liquidity=None if liquidity is None else Liquidity(liquidity),
            ts_ms=_int(m, "ts_ms"),
            reject_reason=_str(m, "reject_reason"),
            post_only_reject=_bool(m, "post_only_reject"),
        )


def ledger_from_json(data: object) -> Ledger:
    """Read the body of ``GET /paper/ledger`` (its ``orders``, ``fills``, ``duplicates``)."""
    with _reading("ledger"):
        m = _guard("ledger", data)
        orders = tuple(
            LedgerOrder(request_from_json(o["request"]), update_from_json(o["state"]))
            for o in (_guard("ledger order", raw) for raw in m["orders"])
        )
        fills = tuple(update_from_json(f) for f in m["fills"])
        duplicates = tuple(str(cid) for cid in m.get("duplicates", []))
        return Ledger(orders, fills, duplicates)
