"""The paper exchange's JSON wire format, shared by the server and the client.

Every price, quantity, fee and balance travels as an exact decimal string (``"0.002"``),
never a JSON number, so a value read back equals the value sent. Enums travel by their
value (``"BUY"``, ``"maker"``). The ``*_to_json`` functions build plain dicts; the
``*_from_json`` functions raise ``ProtocolError`` on anything they cannot read.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator

from market_maker.domain.decimals import decimal_to_str, parse_decimal
from market_maker.domain.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.errors import InvalidDecimalError, MarketMakerError
from market_maker.domain.instrument import Instrument, MarketRules
from market_maker.domain.market import Candle
from market_maker.domain.orders import OrderUpdate, PlaceOrderRequest
from market_maker.exchanges.base import Balance, OwnTrade

Json = dict[str, Any]
"""A JSON object as Python data."""


class ProtocolError(MarketMakerError):
    """A message does not have the shape or values the paper exchange protocol defines."""


@dataclass(frozen=True, slots=True)
class IndexedCandle:
    """A candle with its position in the replayed series.

    Attributes:
        index: 1-based position: the first candle of the data is 1.
        candle: The candle.
    """

    index: int
    candle: Candle


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Where market time stands on the paper exchange.

    Attributes:
        index: Number of candles processed so far, which is also the index of the latest
            one (0 = none yet).
        candle: The latest candle processed, ``None`` before the first.
        done: Every candle of the data has been processed; market time has stopped.
    """

    index: int
    candle: Candle | None
    done: bool


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


def _decimal_text(value: object) -> Decimal:
    """Accept only a decimal string: a JSON number may already have lost exactness."""
    expected = "expected a finite decimal number written as a string, such as '61556.04'"
    if not isinstance(value, str):
        raise ValueError(f"{expected}, found {value!r}")
    try:
        return parse_decimal(value)
    except InvalidDecimalError:
        raise ValueError(f"{expected}, found {value!r}") from None


DecimalText = Annotated[Decimal, BeforeValidator(_decimal_text)]
"""A ``Decimal`` field that is sent as a string."""


# -- to JSON ---------------------------------------------------------------------------------


def request_to_json(request: PlaceOrderRequest) -> Json:
    """A place-order request as the ``POST /orders`` body."""
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


def trade_to_json(trade: OwnTrade) -> Json:
    """One entry of our trade list, every decimal as a string."""
    d = decimal_to_str
    return {
        "trade_id": trade.trade_id,
        "order_id": trade.order_id,
        "client_order_id": trade.client_order_id,
        "side": trade.side.value,
        "price": d(trade.price),
        "qty": d(trade.qty),
        "fee": d(trade.fee),
        "liquidity": trade.liquidity.value,
        "ts_ms": trade.ts_ms,
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


def balances_to_json(balances: Mapping[str, Balance]) -> Json:
    """Balances by asset: ``{"USDT": {"free": "...", "locked": "..."}}``."""
    return {
        asset: {"free": decimal_to_str(b.free), "locked": decimal_to_str(b.locked)}
        for asset, b in balances.items()
    }


def rules_to_json(rules: MarketRules) -> Json:
    """The body of ``GET /rules``: the instrument's rules and the fee rates, as strings."""
    d, i = decimal_to_str, rules.instrument
    return {
        "symbol": i.symbol,
        "tick_size": d(i.tick_size),
        "step_size": d(i.step_size),
        "min_qty": d(i.min_qty),
        "min_notional": d(i.min_notional),
        "maker_fee": d(rules.maker_fee),
        "taker_fee": d(rules.taker_fee),
        "spot": rules.spot,
    }


# -- from JSON -------------------------------------------------------------------------------


def _dec(data: Mapping[str, Any], name: str) -> Decimal:
    return parse_decimal(data[name], field=name)


def _str(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ProtocolError(f"{name}: expected a string, found {value!r}")
    return value


def _int(data: Mapping[str, Any], name: str) -> int:
    value = data[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f"{name}: expected a whole number, found {value!r}")
    return value


def _bool(data: Mapping[str, Any], name: str) -> bool:
    value = data[name]
    if not isinstance(value, bool):
        raise ProtocolError(f"{name}: expected true or false, found {value!r}")
    return value


def _guard(what: str, data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ProtocolError(f"{what}: expected a JSON object, found {data!r}")
    return data


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """Turn a missing key or a bad value met while reading ``what`` into a ``ProtocolError``."""
    try:
        yield
    except KeyError as exc:
        raise ProtocolError(f"{what}: missing field {exc}") from exc
    except (ValueError, TypeError, ProtocolError) as exc:
        raise ProtocolError(f"{what}: {exc}") from exc


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


def trades_from_json(data: object) -> list[OwnTrade]:
    """Read the body of ``GET /trades``: ``{"trades": [...]}`` (as ``trade_to_json`` writes)."""
    with _reading("trades"):
        items = _guard("trades", data)["trades"]
        if not isinstance(items, list):
            raise ProtocolError(f"expected a list of trades, found {items!r}")
        return [
            OwnTrade(
                trade_id=_int(m, "trade_id"),
                order_id=_str(m, "order_id"),
                client_order_id=_str(m, "client_order_id"),
                side=Side(m["side"]),
                price=_dec(m, "price"),
                qty=_dec(m, "qty"),
                fee=_dec(m, "fee"),
                liquidity=Liquidity(m["liquidity"]),
                ts_ms=_int(m, "ts_ms"),
            )
            for m in (_guard("trade", item) for item in items)
        ]


def candle_from_json(data: object) -> Candle:
    """Read a candle (as written by ``candle_to_json``)."""
    with _reading("candle"):
        m = _guard("candle", data)
        return Candle(
            symbol=_str(m, "symbol"),
            open_time_ms=_int(m, "open_time_ms"),
            interval_s=_int(m, "interval_s"),
            open=_dec(m, "open"),
            high=_dec(m, "high"),
            low=_dec(m, "low"),
            close=_dec(m, "close"),
            volume=_dec(m, "volume"),
            closed=_bool(m, "closed"),
        )


def balances_from_json(data: object) -> dict[str, Balance]:
    """Read balances (as written by ``balances_to_json``)."""
    with _reading("balances"):
        m = _guard("balances", data)
        out: dict[str, Balance] = {}
        for asset, raw in m.items():
            b = _guard(f"balance of {asset}", raw)
            out[asset] = Balance(asset, _dec(b, "free"), _dec(b, "locked"))
        return out


def market_from_json(data: object) -> MarketSnapshot:
    """Read the body of ``GET /market``."""
    with _reading("market"):
        m = _guard("market", data)
        raw = m["candle"]
        candle = None if raw is None else candle_from_json(raw)
        return MarketSnapshot(_int(m, "index"), candle, _bool(m, "done"))


def candles_from_json(data: object) -> list[IndexedCandle]:
    """Read the body of ``GET /candles``: ``{"candles": [{"index": i, "candle": {...}}]}``."""
    with _reading("candles"):
        items = _guard("candles", data)["candles"]
        if not isinstance(items, list):
            raise ProtocolError(f"expected a list of candles, found {items!r}")
        return [
            IndexedCandle(_int(m, "index"), candle_from_json(m["candle"]))
            for m in (_guard("candle entry", item) for item in items)
        ]


def ledger_from_json(data: object) -> Ledger:
    """Read the body of ``GET /ledger``."""
    with _reading("ledger"):
        m = _guard("ledger", data)
        orders = tuple(
            LedgerOrder(request_from_json(o["request"]), update_from_json(o["state"]))
            for o in (_guard("ledger order", raw) for raw in m["orders"])
        )
        fills = tuple(update_from_json(f) for f in m["fills"])
        duplicates = tuple(str(cid) for cid in m.get("duplicates", []))
        return Ledger(orders, fills, duplicates)


def rules_from_json(data: object) -> MarketRules:
    """Read the body of ``GET /rules`` (as written by ``rules_to_json``)."""
    with _reading("market rules"):
        m = _guard("market rules", data)
        instrument = Instrument(
            _str(m, "symbol"),
            _dec(m, "tick_size"),
            _dec(m, "step_size"),
            _dec(m, "min_qty"),
            _dec(m, "min_notional"),
        )
        return MarketRules(instrument, _dec(m, "maker_fee"), _dec(m, "taker_fee"), _bool(m, "spot"))
