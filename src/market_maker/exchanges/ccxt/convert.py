"""ccxt order and trade structures as the project's ``OrderUpdate`` and ``OwnTrade``.

Exact decimals: the venue's raw strings (``info``) are read first, ccxt's floats only for
venues whose raw fields the adapter does not know (see ``numbers``). Binance field names:

* REST order (spot, futures): ``price origQty executedQty cummulativeQuoteQty|cumQuote
  status updateTime|transactTime``;
* websocket order event (spot ``executionReport``, futures ``ORDER_TRADE_UPDATE.o``):
  ``p q z Z|ap X T``, and for a trade ``t l L n N m`` (the fee of *that trade* only);
* trade (``myTrades``, ``userTrades``): ``id orderId price qty commission commissionAsset
  time isMaker|maker``.

Fees are reported in the quote currency. A commission charged in the base asset (a spot
buy without BNB) is converted at the fill price: the bot books the fee's value, while the
account receives that much less base than the fill quantity (see ``docs/exchanges.md``).
A commission in a third asset (BNB) cannot be valued exactly here: it counts as 0, with a
warning per fill.
"""

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import Liquidity, OrderStatus, Side
from market_maker.domain.orders import OrderUpdate
from market_maker.exchanges.base import OwnTrade
from market_maker.exchanges.ccxt.numbers import UnreadableFieldError, pick, pick_zero, to_dec

log = logging.getLogger(__name__)

_BINANCE_STATUS = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.NEW,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
_UNIFIED_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def fee_in_quote(
    cost: Decimal, currency: str | None, price: Decimal, *, base: str, quote: str
) -> Decimal:
    """A commission's value in the quote currency.

    Args:
        cost: The commission charged.
        currency: The asset it was charged in (``None``: the quote currency).
        price: The fill price (quote per base), to value a base-asset commission.
        base: The market's base asset.
        quote: The market's quote asset.
    """
    if not cost or currency is None or currency == quote:
        return cost
    if currency == base:
        return cost * price
    log.warning(
        "a commission of %s %s cannot be valued in %s exactly: it is booked as 0; pay fees "
        "in %s or %s for exact books",
        cost,
        currency,
        quote,
        quote,
        base,
    )
    return ZERO


def order_status(order: Mapping[str, Any], filled: Decimal) -> OrderStatus:
    """The order's status: the venue's raw status when known, else ccxt's unified one."""
    info = order.get("info")
    if isinstance(info, Mapping):
        raw = info.get("status", info.get("X"))
        if isinstance(raw, str) and raw in _BINANCE_STATUS:
            return _BINANCE_STATUS[raw]
    unified = order.get("status")
    if unified in _UNIFIED_STATUS:
        return _UNIFIED_STATUS[unified]
    if unified == "open" or unified is None:
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW
    raise UnreadableFieldError(f"status: unknown order status {unified!r}")


def _cum_quote(order: Mapping[str, Any], filled: Decimal) -> Decimal:
    quote = pick(order, "cost", "cummulativeQuoteQty", "cumQuote", "Z")
    info = order.get("info")
    if isinstance(info, Mapping) and "Z" not in info and "ap" in info and "z" in info:
        stream_average = to_dec(info["ap"], field="ap") or ZERO  # futures stream: no quote sum
        return stream_average * filled
    if quote is not None and (quote > 0 or filled == 0):
        return quote
    average = pick(order, "average", "avgPrice", "ap")
    return ZERO if average is None else average * filled


def order_ts_ms(order: Mapping[str, Any]) -> int:
    """The time of the order's latest change, milliseconds (0 when the venue gave none)."""
    info = order.get("info")
    if isinstance(info, Mapping):
        for key in ("updateTime", "T", "transactTime", "E", "workingTime", "time"):
            value = info.get(key)
            if value not in (None, "", 0, "0"):
                return int(value)
    for key in ("lastUpdateTimestamp", "lastTradeTimestamp", "timestamp"):
        value = order.get(key)
        if value:
            return int(value)
    return 0


def order_to_update(
    order: Mapping[str, Any],
    symbol: str,
    *,
    cum_fee: Decimal,
    client_order_id: str | None = None,
    base: str,
    quote: str,
) -> OrderUpdate:
    """One ccxt order (REST answer or websocket event) as a cumulative ``OrderUpdate``.

    Args:
        order: The ccxt order structure.
        symbol: The bot's symbol (ccxt's unified symbol of the market).
        cum_fee: The order's cumulative fee in quote currency, from its known trades: a
            venue's order answer holds no fee, and a stream event only its last trade's.
        client_order_id: Our id, when the caller knows it better than the answer (a Binance
            cancel answer carries the cancel request's own id).
        base: The market's base asset.
        quote: The market's quote asset.
    """
    filled = pick_zero(order, "filled", "executedQty", "z")
    info = order.get("info")
    raw: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
    last_qty = to_dec(raw.get("l"), field="l") or ZERO
    last_price = to_dec(raw.get("L"), field="L") or ZERO
    last_fee = ZERO
    trade_id = ""
    liquidity: Liquidity | None = None
    if last_qty > 0:
        cost = to_dec(raw.get("n"), field="n") or ZERO
        last_fee = fee_in_quote(cost, raw.get("N"), last_price, base=base, quote=quote)
        trade_id = str(raw.get("t", ""))
        liquidity = Liquidity.MAKER if raw.get("m") else Liquidity.TAKER
    side = str(order.get("side") or raw.get("side") or raw.get("S") or "").upper()
    return OrderUpdate(
        symbol=symbol,
        order_id=str(order.get("id") or raw.get("orderId") or raw.get("i") or ""),
        client_order_id=client_order_id or str(order.get("clientOrderId") or ""),
        side=Side(side),
        status=order_status(order, filled),
        price=pick_zero(order, "price", "price", "p"),
        qty=pick_zero(order, "amount", "origQty", "q"),
        cum_filled_qty=filled,
        cum_quote_qty=_cum_quote(order, filled),
        cum_fee=cum_fee,
        last_fill_price=last_price,
        last_fill_qty=last_qty,
        last_fee=last_fee,
        trade_id=trade_id,
        liquidity=liquidity,
        ts_ms=order_ts_ms(order),
    )


def trade_to_own(
    trade: Mapping[str, Any], *, base: str, quote: str, client_order_id: str = ""
) -> OwnTrade:
    """One ccxt trade of ours (``fetch_my_trades``) as an ``OwnTrade``, fee in quote."""
    info = trade.get("info")
    raw: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
    price = pick_zero(trade, "price", "price")
    qty = pick_zero(trade, "amount", "qty")
    fee_raw = to_dec(raw.get("commission"), field="commission")
    fee_asset: str | None = raw.get("commissionAsset")
    if fee_raw is None:
        fee = trade.get("fee") or {}
        fee_raw = to_dec(fee.get("cost"), field="fee.cost") or ZERO
        fee_asset = fee.get("currency")
    maker = raw.get("isMaker", raw.get("maker"))
    if maker is None:
        maker = trade.get("takerOrMaker") == "maker"
    return OwnTrade(
        trade_id=int(trade["id"]),
        order_id=str(trade.get("order") or raw.get("orderId") or ""),
        client_order_id=client_order_id,
        side=Side(str(trade["side"]).upper()),
        price=price,
        qty=qty,
        fee=fee_in_quote(fee_raw, fee_asset, price, base=base, quote=quote),
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        ts_ms=int(trade.get("timestamp") or raw.get("time") or 0),
    )


def fills_of_answer(order: Mapping[str, Any], *, base: str, quote: str) -> list[OwnTrade]:
    """The fills a spot ``newOrderRespType=FULL`` answer lists (``[]`` for other answers)."""
    info = order.get("info")
    fills = info.get("fills") if isinstance(info, Mapping) else None
    if not fills:
        return []
    out = []
    for fill in fills:
        price = to_dec(fill["price"], field="fills.price") or ZERO
        out.append(
            OwnTrade(
                trade_id=int(fill["tradeId"]),
                order_id=str(order.get("id") or ""),
                client_order_id=str(order.get("clientOrderId") or ""),
                side=Side(str(order["side"]).upper()),
                price=price,
                qty=to_dec(fill["qty"], field="fills.qty") or ZERO,
                fee=fee_in_quote(
                    to_dec(fill.get("commission"), field="fills.commission") or ZERO,
                    fill.get("commissionAsset"),
                    price,
                    base=base,
                    quote=quote,
                ),
                liquidity=Liquidity.TAKER,  # an answer's fills are the order crossing at once
                ts_ms=order_ts_ms(order),
            )
        )
    return out


def stream_trade(order: Mapping[str, Any], *, base: str, quote: str) -> OwnTrade | None:
    """The trade a websocket order event reports (``x == TRADE``), or ``None``."""
    info = order.get("info")
    raw: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
    qty = to_dec(raw.get("l"), field="l") or ZERO
    if qty <= 0 or raw.get("t") in (None, ""):
        return None
    price = to_dec(raw.get("L"), field="L") or ZERO
    return OwnTrade(
        trade_id=int(raw["t"]),
        order_id=str(order.get("id") or raw.get("i") or ""),
        client_order_id=str(order.get("clientOrderId") or ""),
        side=Side(str(order.get("side") or raw.get("S")).upper()),
        price=price,
        qty=qty,
        fee=fee_in_quote(
            to_dec(raw.get("n"), field="n") or ZERO, raw.get("N"), price, base=base, quote=quote
        ),
        liquidity=Liquidity.MAKER if raw.get("m") else Liquidity.TAKER,
        ts_ms=int(raw.get("T") or raw.get("E") or 0),
    )
