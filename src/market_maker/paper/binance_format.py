"""Binance's JSON shapes, built from the paper venue's records (pure functions).

Every decimal travels as a string, exact (``"0.002"``), as Binance sends them; times are
integers of milliseconds. Spot and USDⓈ-M differ in field names and in what an order
answer carries; each writer names the endpoint whose shape it follows.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from market_maker.domain.decimals import ZERO, decimal_to_str
from market_maker.domain.enums import OrderType
from market_maker.domain.market import Candle
from market_maker.domain.orders import PlaceOrderRequest
from market_maker.paper.binance_market import BinanceMarket
from market_maker.paper.journal import OrderView, Trade

Json = dict[str, Any]
"""A JSON object as Python data."""

TICKER_WINDOW_MS = 24 * 3600 * 1000
"""The rolling window of ``ticker/24hr``."""


def dec(value: Decimal) -> str:
    """A decimal as Binance writes it: a plain string, exact."""
    return decimal_to_str(value)


def exchange_info(market: BinanceMarket | None, server_ms: int) -> Json:
    """``GET /api/v3/exchangeInfo`` or ``/fapi/v1/exchangeInfo``; no symbols for ``None``."""
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [] if market is None else [_symbol_info(market)],
    }


def _symbol_info(market: BinanceMarket) -> Json:
    tick, step = market.tick, market.step
    price_filter = {
        "filterType": "PRICE_FILTER",
        "minPrice": dec(tick),
        "maxPrice": dec(market.max_price),
        "tickSize": dec(tick),
    }
    lot_size = {
        "filterType": "LOT_SIZE",
        "minQty": dec(market.min_qty),
        "maxQty": dec(market.max_qty),
        "stepSize": dec(step),
    }
    info: Json = {
        "symbol": market.symbol_id,
        "status": "TRADING",
        "baseAsset": market.base,
        "quoteAsset": market.quote,
    }
    if market.spot:
        notional = {
            "filterType": "NOTIONAL",
            "minNotional": dec(market.min_notional),
            "applyMinToMarket": True,
            "maxNotional": dec(market.max_price * market.max_qty),
            "applyMaxToMarket": False,
            "avgPriceMins": 0,
        }
        return info | {
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
            "icebergAllowed": False,
            "ocoAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [price_filter, lot_size, notional],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
        }
    min_notional = {"filterType": "MIN_NOTIONAL", "notional": dec(market.min_notional)}
    return info | {
        "pair": market.symbol_id,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "marginAsset": market.quote,
        "pricePrecision": max(-tick.normalize().as_tuple().exponent, 0),  # type: ignore[operator]
        "quantityPrecision": max(-step.normalize().as_tuple().exponent, 0),  # type: ignore[operator]
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "orderTypes": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        "filters": [price_filter, lot_size, min_notional],
    }


def kline_row(candle: Candle) -> list[object]:
    """One row of ``klines``: open time, OHLCV, close time, quote volume and counts.

    The quote volume is approximated as volume x close (candles carry no finer data).
    """
    close_ms = candle.open_time_ms + candle.interval_s * 1000 - 1
    quote_volume = candle.volume * candle.close
    return [
        candle.open_time_ms,
        dec(candle.open),
        dec(candle.high),
        dec(candle.low),
        dec(candle.close),
        dec(candle.volume),
        close_ms,
        dec(quote_volume),
        0,
        "0",
        "0",
        "0",
    ]


def ticker_24hr(market: BinanceMarket, window: Sequence[Candle], now_ms: int) -> Json:
    """``ticker/24hr`` over ``window`` (the candles of the last 24 h of market time).

    The simulation has no order book: a buy at or above the last price takes, a sell at or
    below it takes, so best bid and best ask are both the last price (quantities 0).
    """
    if not window:
        zero = "0"
        open_ms = close_ms = now_ms
        last = opened = high = low = ZERO
        volume = quote_volume = ZERO
    else:
        zero = "0"
        first, latest = window[0], window[-1]
        open_ms = first.open_time_ms
        close_ms = min(latest.open_time_ms + latest.interval_s * 1000, now_ms) - 1
        last, opened = latest.close, first.open
        high, low = max(c.high for c in window), min(c.low for c in window)
        volume = sum((c.volume for c in window), ZERO)
        quote_volume = sum((c.volume * c.close for c in window), ZERO)
    change = last - opened
    percent = (change / opened * 100).quantize(Decimal("0.001")) if opened else ZERO
    ticker: Json = {
        "symbol": market.symbol_id,
        "priceChange": dec(change),
        "priceChangePercent": dec(percent),
        "weightedAvgPrice": dec(quote_volume / volume) if volume else dec(last),
        "lastPrice": dec(last),
        "lastQty": zero,
        "openPrice": dec(opened),
        "highPrice": dec(high),
        "lowPrice": dec(low),
        "volume": dec(volume),
        "quoteVolume": dec(quote_volume),
        "openTime": open_ms,
        "closeTime": close_ms,
        "firstId": -1,
        "lastId": -1,
        "count": 0,
    }
    if market.spot:
        ticker |= {
            "prevClosePrice": dec(opened),
            "bidPrice": dec(last),
            "bidQty": zero,
            "askPrice": dec(last),
            "askQty": zero,
        }
    return ticker


def order_type(request: PlaceOrderRequest, market: BinanceMarket) -> tuple[str, str]:
    """Binance's ``type`` and ``timeInForce`` of an order.

    Spot post-only orders are ``LIMIT_MAKER`` (answered with ``GTC``); USDⓈ-M ones are
    ``LIMIT`` with ``GTX``.
    """
    tif = request.time_in_force.value
    if request.order_type is OrderType.MARKET:
        return "MARKET", tif
    if request.post_only:
        return ("LIMIT_MAKER", "GTC") if market.spot else ("LIMIT", "GTX")
    return "LIMIT", tif


def _average(view: OrderView) -> Decimal:
    update = view.update
    return update.cum_quote_qty / update.cum_filled_qty if update.cum_filled_qty else ZERO


def spot_order(view: OrderView, market: BinanceMarket) -> Json:
    """An order as ``GET /api/v3/order`` and ``openOrders`` answer it."""
    request, update = view.request, view.update
    kind, tif = order_type(request, market)
    return {
        "symbol": market.symbol_id,
        "orderId": int(update.order_id),
        "orderListId": -1,
        "clientOrderId": request.client_order_id,
        "price": dec(request.price),
        "origQty": dec(request.qty),
        "executedQty": dec(update.cum_filled_qty),
        "cummulativeQuoteQty": dec(update.cum_quote_qty),
        "status": update.status.value,
        "timeInForce": tif,
        "type": kind,
        "side": request.side.value,
        "stopPrice": "0",
        "icebergQty": "0",
        "time": view.created_ms,
        "updateTime": view.updated_ms,
        "isWorking": True,
        "workingTime": view.created_ms,
        "origQuoteOrderQty": "0",
        "selfTradePreventionMode": "NONE",
    }


def spot_placed(
    view: OrderView, market: BinanceMarket, response_type: str, fills: Sequence[Trade]
) -> Json:
    """``POST /api/v3/order`` answered as ``ACK``, ``RESULT`` or ``FULL`` (with ``fills``)."""
    full = spot_order(view, market)
    ack = {
        "symbol": full["symbol"],
        "orderId": full["orderId"],
        "orderListId": -1,
        "clientOrderId": full["clientOrderId"],
        "transactTime": view.updated_ms,
    }
    if response_type == "ACK":
        return ack
    keep = ("price", "origQty", "executedQty", "cummulativeQuoteQty", "status")
    result = (
        ack
        | {k: full[k] for k in keep}
        | {
            "timeInForce": full["timeInForce"],
            "type": full["type"],
            "side": full["side"],
            "workingTime": view.created_ms,
            "origQuoteOrderQty": "0",
            "selfTradePreventionMode": "NONE",
        }
    )
    if response_type == "RESULT":
        return result
    return result | {
        "fills": [
            {
                "price": dec(t.price),
                "qty": dec(t.qty),
                "commission": dec(t.fee),
                "commissionAsset": market.quote,
                "tradeId": t.id,
            }
            for t in fills
        ]
    }


def spot_canceled(view: OrderView, market: BinanceMarket, cancel_id: str) -> Json:
    """``DELETE /api/v3/order``: ``clientOrderId`` is the cancel's own id, as on Binance."""
    full = spot_order(view, market)
    keep = ("symbol", "orderId", "orderListId", "price", "origQty", "executedQty")
    more = ("cummulativeQuoteQty", "status", "timeInForce", "type", "side")
    return (
        {"origClientOrderId": view.request.client_order_id, "clientOrderId": cancel_id}
        | {k: full[k] for k in keep + more}
        | {"transactTime": view.updated_ms, "selfTradePreventionMode": "NONE"}
    )


def futures_order(view: OrderView, market: BinanceMarket) -> Json:
    """An order as every ``/fapi/v1/order`` endpoint answers it (``RESULT``)."""
    request, update = view.request, view.update
    kind, tif = order_type(request, market)
    return {
        "orderId": int(update.order_id),
        "symbol": market.symbol_id,
        "status": update.status.value,
        "clientOrderId": request.client_order_id,
        "price": dec(request.price),
        "avgPrice": dec(_average(view)),
        "origQty": dec(request.qty),
        "executedQty": dec(update.cum_filled_qty),
        "cumQty": dec(update.cum_filled_qty),
        "cumQuote": dec(update.cum_quote_qty),
        "timeInForce": tif,
        "type": kind,
        "reduceOnly": request.reduce_only,
        "closePosition": False,
        "side": request.side.value,
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": kind,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": view.created_ms,
        "updateTime": view.updated_ms,
    }


def spot_trade(trade: Trade, market: BinanceMarket) -> Json:
    """One row of ``GET /api/v3/myTrades`` (commission in the quote asset, see docs)."""
    return {
        "symbol": market.symbol_id,
        "id": trade.id,
        "orderId": int(trade.order_id),
        "orderListId": -1,
        "price": dec(trade.price),
        "qty": dec(trade.qty),
        "quoteQty": dec(trade.price * trade.qty),
        "commission": dec(trade.fee),
        "commissionAsset": market.quote,
        "time": trade.time_ms,
        "isBuyer": trade.side.value == "BUY",
        "isMaker": trade.maker,
        "isBestMatch": True,
    }


def futures_trade(trade: Trade, market: BinanceMarket) -> Json:
    """One row of ``GET /fapi/v1/userTrades``."""
    return {
        "symbol": market.symbol_id,
        "id": trade.id,
        "orderId": int(trade.order_id),
        "side": trade.side.value,
        "price": dec(trade.price),
        "qty": dec(trade.qty),
        "realizedPnl": dec(trade.realized_pnl),
        "quoteQty": dec(trade.price * trade.qty),
        "commission": dec(trade.fee),
        "commissionAsset": market.quote,
        "time": trade.time_ms,
        "positionSide": "BOTH",
        "buyer": trade.side.value == "BUY",
        "maker": trade.maker,
    }
