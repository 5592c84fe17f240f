"""Raw Binance answers, parsed by the real (offline) ccxt classes, for the adapter's unit tests.

Each ``*_exchange()`` returns a synchronous ccxt exchange with one market loaded from a raw
``exchangeInfo`` entry, so ``parse_order`` / ``parse_trade`` / ``parse_ws_order`` run exactly
as they do on live answers, without a network.
"""

from typing import Any

import ccxt
import ccxt.pro

SPOT_INFO: dict[str, Any] = {
    "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
    "baseAssetPrecision": 8, "quotePrecision": 8,
    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": False, "permissions": ["SPOT"],
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000",
         "tickSize": "0.01000000"},
        {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
         "stepSize": "0.00001000"},
        {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
         "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
    ],
}  # fmt: skip

USDM_INFO: dict[str, Any] = {
    "symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL", "status": "TRADING",
    "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT", "pricePrecision": 2,
    "quantityPrecision": 3, "orderTypes": ["LIMIT", "MARKET"], "timeInForce": ["GTC", "GTX"],
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.10", "maxPrice": "4529764",
         "tickSize": "0.10"},
        {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
        {"filterType": "MIN_NOTIONAL", "notional": "100"},
    ],
}  # fmt: skip


def _with_market(exchange: Any, info: dict[str, Any]) -> Any:
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    exchange.set_markets([exchange.parse_market(info)])
    return exchange


def spot_exchange() -> Any:
    """``ccxt.pro.binance`` (sync parsers included) with BTC/USDT loaded."""
    return _with_market(ccxt.pro.binance(), SPOT_INFO)


def usdm_exchange() -> Any:
    """``ccxt.pro.binanceusdm`` with BTC/USDT:USDT loaded."""
    return _with_market(ccxt.pro.binanceusdm(), USDM_INFO)


def rest_spot_exchange() -> Any:
    """``ccxt.binance`` (synchronous REST class) with BTC/USDT loaded."""
    return _with_market(ccxt.binance(), SPOT_INFO)


def rest_usdm_exchange() -> Any:
    """``ccxt.binanceusdm`` (synchronous REST class) with BTC/USDT:USDT loaded."""
    return _with_market(ccxt.binanceusdm(), USDM_INFO)
