"""Candles from any exchange ccxt supports, a page at a time (``fetch_ohlcv``).

``CcxtCandles`` is the download's ``CandlePager``. At this edge:

* the exchange id, the symbol and the timeframe are checked against ccxt (its list of
  exchanges, the exchange's markets and timeframes); a bad one is a ``DownloadError``
  naming the value, close matches and the fix;
* ``url`` points ccxt at another server speaking the exchange's API (the project's paper
  exchange speaks Binance's): every API address of the exchange keeps its path and takes
  the new scheme, host and port;
* values are read as the text the exchange sent (ccxt's ``number`` set to ``str`` while
  parsing candles), so no digit is lost on the way to ``Decimal``;
* transient failures (``DDoSProtection``, ``RateLimitExceeded``, ``RequestTimeout``,
  ``ExchangeNotAvailable``, and any ``NetworkError`` once the exchange has answered) are
  retried with exponential backoff, waiting at least what a ``Retry-After`` header asks;
  the wait is an injected ``sleep``. After ``max_attempts`` they become a
  ``RetryableExchangeError`` (a resumed download continues where it stopped); any other
  ccxt error is a ``FatalExchangeError`` with ccxt's message.
"""

import difflib
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import ccxt

from market_maker.data.download import DownloadError
from market_maker.exchanges.base import FatalExchangeError, RetryableExchangeError

MAX_ATTEMPTS = 6
"""Tries per request before a transient failure is given up on."""
FIRST_DELAY_S = 1.0
"""Wait before the first retry; doubled at each further one."""
MAX_DELAY_S = 60.0
"""Longest wait between two tries unless the exchange's ``Retry-After`` asks for more."""
MAX_RETRY_AFTER_S = 600.0
"""Longest ``Retry-After`` honoured."""

_TRANSIENT = (
    ccxt.DDoSProtection,
    ccxt.RateLimitExceeded,
    ccxt.RequestTimeout,
    ccxt.ExchangeNotAvailable,
)
T = TypeVar("T")


def _close(value: str, choices: list[str]) -> str:
    matches = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(matches)}?)" if matches else ""


def retry_after_s(headers: Mapping[str, Any] | None, now_s: float) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number or an HTTP date), if any."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_s)


def point_at(urls: Any, url: str) -> Any:
    """``urls`` (ccxt's ``urls['api']``, nested) with every address moved to ``url``'s host."""
    target = urlsplit(url)
    if isinstance(urls, str):
        parts = urlsplit(urls)
        if not parts.netloc:
            return urls
        path = target.path.rstrip("/") + parts.path
        return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))
    if isinstance(urls, dict):
        return {key: point_at(value, url) for key, value in urls.items()}
    return urls


def _market_type(symbol: str) -> str:
    """The market type ccxt gives a unified symbol: spot, linear or inverse."""
    if ":" not in symbol:
        return "spot"
    pair, settle = symbol.split(":", 1)
    quote = pair.split("/")[-1]
    return "linear" if settle.split("-")[0] == quote else "inverse"


class CcxtCandles:
    """One market's closed candles of one timeframe from a ccxt exchange (a ``CandlePager``).

    Args:
        exchange_id: ccxt's id of the exchange (``binance``, ``bybit``, ``okx``...).
        symbol: Unified symbol (``BTC/USDT`` spot, ``BTC/USDT:USDT`` USDⓈ-M perpetual).
        timeframe: The exchange's timeframe name (``1m``, ``1h``, ``1d``...).
        url: Another server speaking the exchange's API (e.g. ``http://127.0.0.1:8765``).
        sleep: Waits between retries (``time.sleep``; tests record the waits instead).
        max_attempts: Tries per request before giving up on a transient failure.

    Raises:
        DownloadError: Unknown exchange, symbol or timeframe, or a timeframe of no fixed
            length (months, years).
        RetryableExchangeError: The exchange could not be reached.
        FatalExchangeError: The exchange refused to list its markets.
    """

    def __init__(
        self,
        exchange_id: str,
        symbol: str,
        timeframe: str,
        *,
        url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
        wall_clock_s: Callable[[], float] = time.time,
    ) -> None:
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.wall_clock_s = wall_clock_s
        self.retries = 0  # tries repeated after a transient failure
        self.waited_s: list[float] = []
        if exchange_id not in ccxt.exchanges:
            raise DownloadError(
                f"--exchange: ccxt knows no exchange {exchange_id!r}"
                f"{_close(exchange_id, list(ccxt.exchanges))}; fix: pass one of ccxt's ids "
                "such as binance, bybit, okx, kraken (python -c 'import ccxt; "
                "print(ccxt.exchanges)' lists them all)"
            )
        exchange = getattr(ccxt, exchange_id)({"enableRateLimit": True})
        if not exchange.has.get("fetchOHLCV"):
            raise DownloadError(
                f"--exchange: {exchange_id} serves no candles through ccxt (fetchOHLCV); "
                "fix: choose another exchange"
            )
        if url is not None:
            if not urlsplit(url).netloc:
                raise DownloadError(
                    f"--url: expected an address such as http://127.0.0.1:8765, found {url!r}"
                )
            exchange.urls["api"] = point_at(exchange.urls["api"], url)
        fetch_markets = exchange.options.get("fetchMarkets")
        if isinstance(fetch_markets, dict) and "types" in fetch_markets:
            # Binance-style: list only the kind of market asked for (fewer requests, and a
            # server that speaks only part of the API, like the paper exchange, suffices).
            exchange.options["fetchMarkets"] = {**fetch_markets, "types": [_market_type(symbol)]}
        self.exchange = exchange
        self.where = url or exchange_id
        self._call(exchange.load_markets, first=True)
        if symbol not in exchange.markets:
            raise DownloadError(
                f"--symbol: {exchange_id} has no market {symbol!r}"
                f"{_close(symbol, list(exchange.markets))}; fix: use ccxt's unified symbol, "
                "e.g. BTC/USDT (spot) or BTC/USDT:USDT (USDⓈ-M perpetual)"
            )
        timeframes = list((exchange.timeframes or {}).keys())
        if timeframe not in timeframes:
            raise DownloadError(
                f"--timeframe: {exchange_id} has no timeframe {timeframe!r}; fix: use one of "
                f"{', '.join(timeframes) or 'none (it lists no timeframes)'}"
            )
        if timeframe[-1] in "My":
            raise DownloadError(
                f"--timeframe: {timeframe!r} candles have no fixed length and a backtest needs "
                "evenly spaced candles; fix: use 1w or shorter"
            )
        self.symbol = symbol
        self.timeframe = timeframe
        self.timeframe_ms = int(exchange.parse_timeframe(timeframe) * 1000)

    def fetch(self, since_ms: int, limit: int) -> list[list[object]]:
        """Up to ``limit`` candles from ``since_ms``, as the exchange wrote their values."""
        return self._call(lambda: self._fetch_exact(since_ms, limit))

    def _fetch_exact(self, since_ms: int, limit: int) -> list[list[object]]:
        exchange = self.exchange
        exchange.number = str  # keep the exchange's text: Decimal reads it exactly
        try:
            rows = exchange.fetch_ohlcv(self.symbol, self.timeframe, since_ms, limit)
        except TypeError:
            # An exchange whose candle parser does arithmetic on the values: floats it is
            # (read back through their shortest repr).
            exchange.number = float
            rows = exchange.fetch_ohlcv(self.symbol, self.timeframe, since_ms, limit)
        finally:
            exchange.number = float
        return [list(row) for row in rows]

    def _call(self, call: Callable[[], T], *, first: bool = False) -> T:
        """``call()``, retrying transient failures with backoff; ccxt errors translated."""
        delay = FIRST_DELAY_S
        for attempt in range(1, self.max_attempts + 1):
            try:
                return call()
            except ccxt.NetworkError as exc:
                transient = isinstance(exc, _TRANSIENT) or not first
                if not transient or attempt == self.max_attempts:
                    tries = f" after {attempt} tries" if transient else ""
                    raise RetryableExchangeError(
                        f"cannot get candles from {self.where}{tries}: {type(exc).__name__}: "
                        f"{exc}; fix: check the network (and --url), then run the same command "
                        "again: it resumes where it stopped"
                    ) from exc
                asked = retry_after_s(
                    getattr(self.exchange, "last_response_headers", None), self.wall_clock_s()
                )
                wait = delay if asked is None else max(delay, min(asked, MAX_RETRY_AFTER_S))
                self.retries += 1
                self.waited_s.append(wait)
                self.sleep(wait)
                delay = min(delay * 2, MAX_DELAY_S)
            except ccxt.BaseError as exc:
                raise FatalExchangeError(
                    f"{self.where} refused the request: {type(exc).__name__}: {exc}"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def now_ms(self) -> int:
        """Wall-clock time, milliseconds (what tells a closed candle from a forming one)."""
        return int(self.wall_clock_s() * 1000)


__all__ = ["MAX_ATTEMPTS", "CcxtCandles", "point_at", "retry_after_s"]
