"""The ccxt adapter: live trading on real exchanges (Binance spot and USD-M first).

``connect(CcxtSettings(...))`` returns a ``CcxtVenue`` holding the bot's ports for one
market: ``exchange`` (``Exchange``, ``VenueInfo``), ``market_data``
(``MarketDataSource``), ``order_updates`` (``OrderUpdateSource``). See
``docs/exchanges.md`` for what is verified on which exchange, the error mapping and the
retry and rate-limit behaviour.
"""

from market_maker.exchanges.ccxt.caller import Timing
from market_maker.exchanges.ccxt.exchange import CcxtExchange
from market_maker.exchanges.ccxt.market_data import CcxtMarketData
from market_maker.exchanges.ccxt.order_updates import CcxtOrderUpdates
from market_maker.exchanges.ccxt.pacing import RetryPolicy
from market_maker.exchanges.ccxt.settings import CcxtSettings, SettingsError
from market_maker.exchanges.ccxt.venue import CcxtVenue, connect

__all__ = [
    "CcxtExchange",
    "CcxtMarketData",
    "CcxtOrderUpdates",
    "CcxtSettings",
    "CcxtVenue",
    "RetryPolicy",
    "SettingsError",
    "Timing",
    "connect",
]
