"""Binance's websocket event shapes, built from the venue's events (pure functions).

Market streams: ``kline`` (``<sym>@kline_<interval>``), ``24hrMiniTicker``
(``<sym>@miniTicker``) and ``24hrTicker`` (``<sym>@ticker``), pushed when market time
completes a candle. User data: spot ``executionReport`` (inside the websocket API's
``{"subscriptionId": .., "event": ..}``) and USDⓈ-M ``ORDER_TRADE_UPDATE``, one per order
change, with cumulative fields (``z`` filled, ``Z`` quote) as Binance sends them.
"""

from collections.abc import Sequence
from decimal import Decimal

from market_maker.domain.market import Candle
from market_maker.paper import binance_format as fmt
from market_maker.paper.binance_format import Json, dec
from market_maker.paper.binance_market import BinanceMarket
from market_maker.paper.journal import EventKind, OrderEvent

INTERVAL_NAMES = {60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h"}
"""Binance's name of a candle interval in seconds."""


def cancel_client_id(order_id: str) -> str:
    """The id a cancel gets when its request names none (REST answer and stream agree)."""
    return f"paper_cancel_{order_id}"


def kline_stream(market: BinanceMarket, candle: Candle) -> str:
    """The stream name a candle is pushed on, e.g. ``btcusdt@kline_1m``."""
    return f"{market.symbol_id.lower()}@kline_{INTERVAL_NAMES.get(candle.interval_s, '1m')}"


def kline_event(market: BinanceMarket, candle: Candle) -> Json:
    """A completed (``x: true``) kline."""
    row = fmt.kline_row(candle)
    close_ms = int(str(row[6]))
    return {
        "e": "kline",
        "E": close_ms + 1,
        "s": market.symbol_id,
        "k": {
            "t": candle.open_time_ms,
            "T": close_ms,
            "s": market.symbol_id,
            "i": INTERVAL_NAMES.get(candle.interval_s, "1m"),
            "f": -1,
            "L": -1,
            "o": row[1],
            "c": row[4],
            "h": row[2],
            "l": row[3],
            "v": row[5],
            "n": 0,
            "x": True,
            "q": row[7],
            "V": "0",
            "Q": "0",
            "B": "0",
        },
    }


def ticker_events(market: BinanceMarket, window: Sequence[Candle], now_ms: int) -> dict[str, Json]:
    """``24hrMiniTicker`` and ``24hrTicker`` by stream suffix (``miniTicker``, ``ticker``)."""
    t = fmt.ticker_24hr(market, window, now_ms)
    mini = {
        "e": "24hrMiniTicker",
        "E": now_ms,
        "s": market.symbol_id,
        "c": t["lastPrice"],
        "o": t["openPrice"],
        "h": t["highPrice"],
        "l": t["lowPrice"],
        "v": t["volume"],
        "q": t["quoteVolume"],
    }
    full = {
        "e": "24hrTicker",
        "E": now_ms,
        "s": market.symbol_id,
        "p": t["priceChange"],
        "P": t["priceChangePercent"],
        "w": t["weightedAvgPrice"],
        "x": t["openPrice"],
        "c": t["lastPrice"],
        "Q": "0",
        "b": t["lastPrice"],
        "B": "0",
        "a": t["lastPrice"],
        "A": "0",
        "o": t["openPrice"],
        "h": t["highPrice"],
        "l": t["lowPrice"],
        "v": t["volume"],
        "q": t["quoteVolume"],
        "O": t["openTime"],
        "C": t["closeTime"],
        "F": -1,
        "L": -1,
        "n": 0,
    }
    return {"miniTicker": mini, "ticker": full}


def execution_report(market: BinanceMarket, event: OrderEvent) -> Json:
    """Spot ``executionReport`` of one order change."""
    request, update, trade = event.request, event.update, event.trade
    kind, tif = fmt.order_type(request, market)
    canceled = event.kind is EventKind.CANCELED
    return {
        "e": "executionReport",
        "E": event.time_ms,
        "s": market.symbol_id,
        "c": cancel_client_id(update.order_id) if canceled else request.client_order_id,
        "S": request.side.value,
        "o": kind,
        "f": tif,
        "q": dec(request.qty),
        "p": dec(request.price),
        "P": "0",
        "F": "0",
        "g": -1,
        "C": request.client_order_id if canceled else "",
        "x": event.kind.value,
        "X": update.status.value,
        "r": "NONE",
        "i": int(update.order_id),
        "l": dec(trade.qty) if trade else "0",
        "z": dec(update.cum_filled_qty),
        "L": dec(trade.price) if trade else "0",
        "n": dec(trade.fee) if trade else "0",
        "N": market.quote if trade else None,
        "T": event.time_ms,
        "t": trade.id if trade else -1,
        "w": not update.status.is_terminal,
        "m": trade.maker if trade else False,
        "M": False,
        "O": event.created_ms,
        "Z": dec(update.cum_quote_qty),
        "Y": dec(trade.price * trade.qty) if trade else "0",
        "Q": "0",
        "W": event.created_ms,
        "V": "NONE",
    }


def order_trade_update(market: BinanceMarket, event: OrderEvent) -> Json:
    """USDⓈ-M ``ORDER_TRADE_UPDATE`` of one order change."""
    request, update, trade = event.request, event.update, event.trade
    kind, tif = fmt.order_type(request, market)
    filled = update.cum_filled_qty
    average = update.cum_quote_qty / filled if filled else Decimal(0)
    order: Json = {
        "s": market.symbol_id,
        "c": request.client_order_id,
        "S": request.side.value,
        "o": kind,
        "f": tif,
        "q": dec(request.qty),
        "p": dec(request.price),
        "ap": dec(average),
        "sp": "0",
        "x": event.kind.value,
        "X": update.status.value,
        "i": int(update.order_id),
        "l": dec(trade.qty) if trade else "0",
        "z": dec(update.cum_filled_qty),
        "L": dec(trade.price) if trade else "0",
        "T": event.time_ms,
        "t": trade.id if trade else 0,
        "b": "0",
        "a": "0",
        "m": trade.maker if trade else False,
        "R": request.reduce_only,
        "wt": "CONTRACT_PRICE",
        "ot": kind,
        "ps": "BOTH",
        "cp": False,
        "rp": dec(trade.realized_pnl) if trade else "0",
        "pP": False,
        "si": 0,
        "ss": 0,
        "V": "NONE",
        "pm": "NONE",
        "gtd": 0,
    }
    if trade:
        order |= {"n": dec(trade.fee), "N": market.quote}
    return {"e": "ORDER_TRADE_UPDATE", "E": event.time_ms, "T": event.time_ms, "o": order}
