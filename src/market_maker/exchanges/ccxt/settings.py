"""``CcxtSettings``: everything needed to connect the bot to one market of one ccxt exchange.

The lead wires these from the configuration file (exchange, symbol, URLs, timeouts) and
the environment or a secrets file (``MARKET_MAKER_API_KEY``, ``MARKET_MAKER_API_SECRET``).
The key and secret never appear in a ``repr``, a log line or an error message.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import ccxt
import ccxt.pro

from market_maker.exchanges.ccxt.pacing import RetryPolicy


class SettingsError(ValueError):
    """A ccxt setting is invalid; the message names the field, the value and the fix."""


@dataclass(frozen=True, slots=True)
class CcxtSettings:
    """How to reach one market of one exchange through ccxt.

    Attributes:
        exchange_id: ccxt's id of the exchange (``binance`` for spot, ``binanceusdm`` for
            USD-M perpetuals; any other ccxt id whose capabilities the bot needs).
        symbol: ccxt's unified symbol, the bot's symbol too (``BTC/USDT`` spot,
            ``BTC/USDT:USDT`` USD-M perpetual).
        api_key: The API key (never shown).
        secret: The API secret (never shown).
        sandbox: Use the exchange's test network (ccxt's sandbox mode).
        base_url: A Binance-compatible server to use instead of the exchange's hosts, e.g.
            ``http://127.0.0.1:8765``: every REST URL keeps its path on this host and the
            websockets take the paper exchange's layout (``exchanges.ccxt.urls``).
        ws_urls: Websocket URLs to set exactly, by key of ccxt's ``urls['api']['ws']``
            (``"spot"``, ``"linear"``, ``"ws-api.spot"``...), after ``base_url``.
        timeout_s: Longest wait for one REST answer before it counts as lost (retryable).
        streams: Websockets for order reports and prices (REST is the fallback); False:
            REST polling only.
        retry: Bounded retries of retryable failures.
        requests_per_s: Client-side request budget, on top of ccxt's own rate limiter.
        burst: Requests allowed at once before the budget paces them.
        options: Extra ccxt options, merged over the adapter's (``fetchCurrencies`` off...).
    """

    exchange_id: str
    symbol: str
    api_key: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    sandbox: bool = False
    base_url: str | None = None
    ws_urls: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    timeout_s: float = 10.0
    streams: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    requests_per_s: float = 10.0
    burst: int = 10
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        known = ccxt.pro.exchanges if self.streams else ccxt.exchanges
        if self.exchange_id not in known:
            where = "with websockets (ccxt.pro)" if self.streams else "in ccxt"
            raise SettingsError(
                f"exchange_id: {self.exchange_id!r} is not an exchange {where}; use a ccxt id "
                "such as 'binance' or 'binanceusdm'"
                + (", or set streams to false for REST only" if self.streams else "")
            )
        if "/" not in self.symbol:
            raise SettingsError(
                f"symbol: {self.symbol!r} is not a ccxt unified symbol; write BASE/QUOTE for "
                "spot (BTC/USDT) or BASE/QUOTE:SETTLE for a perpetual (BTC/USDT:USDT)"
            )
        if not self.api_key or not self.secret:
            raise SettingsError(
                "api_key/secret: both are needed to trade; set MARKET_MAKER_API_KEY and "
                "MARKET_MAKER_API_SECRET (or the secrets file)"
            )
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(
                    f"base_url: {self.base_url!r} is not an http(s) URL; write it like "
                    "http://127.0.0.1:8765"
                )
        if self.timeout_s <= 0:
            raise SettingsError(f"timeout_s: must be positive, found {self.timeout_s}")
        if self.requests_per_s <= 0 or self.burst < 1:
            raise SettingsError(
                f"requests_per_s/burst: need requests_per_s > 0 and burst >= 1, found "
                f"{self.requests_per_s} and {self.burst}"
            )

    @property
    def secrets(self) -> tuple[str, str]:
        """The strings no message may contain."""
        return (self.api_key, self.secret)
