"""``PaperExchange``: the ``Exchange`` adapter that trades on a paper exchange over HTTP.

It speaks the JSON API of ``market_maker.paper.server`` with the standard library's HTTP
client, and translates every failure into the project's exchange errors at this edge:

* no connection, a timeout, a dropped connection or a 5xx answer -> ``RetryableExchangeError``
  (the outcome is unknown; placing again is safe, a duplicate id is answered REJECTED);
* 404 on an order lookup or cancel -> ``None``, as the ``Exchange`` interface says;
* any other 4xx, or an answer it cannot read -> ``FatalExchangeError`` with the server's
  message (a bug or a misconfiguration: retrying will not help).

An order the venue refuses is not an error: like every ``Exchange``, ``place_order``
returns the REJECTED report, passed through as the venue wrote it. Its fields tell the
rejects apart: ``post_only_reject`` for a post-only order that would cross; a
``reject_reason`` starting with ``"reduce-only order rejected"``
(``market_maker.exchanges.simulated.REDUCE_ONLY_REJECT``; Binance answers -2022) for a
reduce-only order that would open, increase or flip the position; "duplicate client
order id" or "insufficient balance: ..." otherwise. A resting reduce-only order the venue
ends later because the position left it nothing to reduce is EXPIRED: ``advance`` returns
that report (reason ``"reduce-only order expired: ..."``) and lookups show the status.

Besides the ``Exchange`` methods it reads the market's rules and fee rates
(``market_rules``) and market time (``latest``, ``candles_after``), moves time in manual
mode (``advance``) and reads the venue's ``ledger``.
"""

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from market_maker.domain.instrument import MarketRules
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.exchanges.base import (
    Balance,
    FatalExchangeError,
    OwnTrade,
    RetryableExchangeError,
)
from market_maker.paper.protocol import (
    IndexedCandle,
    Ledger,
    MarketSnapshot,
    ProtocolError,
    balances_from_json,
    candles_from_json,
    ledger_from_json,
    market_from_json,
    request_to_json,
    rules_from_json,
    trades_from_json,
    update_from_json,
)

DEFAULT_TIMEOUT_S = 5.0
"""How long one request may take before it counts as lost (retryable)."""

_NOT_FOUND = 404
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AdvanceResult:
    """What ``POST /advance`` did.

    Attributes:
        index: Candles processed after the call (the index of the latest one).
        advanced: How many candles this call processed (fewer than asked at the end).
        done: Every candle of the data has been processed.
        fills: The reports those candles caused, in order: fills, and the EXPIRED report of
            a reduce-only order left with nothing to reduce.
    """

    index: int
    advanced: int
    done: bool
    fills: tuple[OrderUpdate, ...]


class PaperExchange:
    """An ``Exchange`` backed by a paper exchange server at ``base_url``.

    Args:
        base_url: Where the server listens, e.g. ``http://127.0.0.1:8765``.
        timeout_s: Seconds one request may take; longer counts as a lost request.
    """

    def __init__(self, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        # No proxies: a paper exchange is reached directly, whatever the environment says.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- Exchange interface ----------------------------------------------------------------

    def place_order(self, request: PlaceOrderRequest) -> OrderUpdate:
        """Send a new order; the first report (NEW, FILLED or REJECTED)."""
        return self._read(update_from_json, self._call("POST", "/orders", request_to_json(request)))

    def cancel_order(self, request: CancelOrderRequest) -> OrderUpdate | None:
        """Cancel an order; its final report, or ``None`` when it is unknown or finished."""
        path = self._order_path(request.client_order_id, request.symbol)
        body = self._call("DELETE", path, allow_missing=True)
        return None if body is None else self._read(update_from_json, body)

    def get_order(self, symbol: str, client_order_id: str) -> OrderUpdate | None:
        """Current state of one order, or ``None`` when the venue has none."""
        body = self._call("GET", self._order_path(client_order_id, symbol), allow_missing=True)
        return None if body is None else self._read(update_from_json, body)

    def open_orders(self, symbol: str) -> list[OrderUpdate]:
        """Every resting order on ``symbol``."""
        body = self._call("GET", "/orders?" + urlencode({"open": "true", "symbol": symbol}))
        return self._read(lambda b: [update_from_json(o) for o in b["orders"]], body)

    def balances(self) -> dict[str, Balance]:
        """Free and locked balances by asset."""
        return self._read(balances_from_json, self._call("GET", "/balances"))

    def own_trades(self, symbol: str, after_id: int | None, limit: int = 1000) -> list[OwnTrade]:
        """Our fills on ``symbol`` with a trade id above ``after_id``, oldest first."""
        params: dict[str, object] = {"symbol": symbol, "limit": limit}
        if after_id is not None:
            params["after_id"] = after_id
        return self._read(trades_from_json, self._call("GET", "/trades?" + urlencode(params)))

    # -- market rules, market time and the ledger --------------------------------------------------

    def market_rules(self, symbol: str) -> MarketRules:
        """The instrument rules and fee rates the venue applies to ``symbol``.

        A symbol the venue does not trade is refused (``FatalExchangeError``).
        """
        body = self._call("GET", "/rules?" + urlencode({"symbol": symbol}))
        return self._read(rules_from_json, body)

    def latest(self) -> MarketSnapshot:
        """The latest candle processed, its index, and whether the data is exhausted."""
        return self._read(market_from_json, self._call("GET", "/market"))

    def candles_after(self, index: int, limit: int = 1000) -> list[IndexedCandle]:
        """Processed candles with an index above ``index``, oldest first (at most ``limit``).

        Pass the index of the last candle seen (0 at the start) to get every one missed.
        """
        query = urlencode({"after": index, "limit": limit})
        return self._read(candles_from_json, self._call("GET", f"/candles?{query}"))

    def advance(self, n: int = 1) -> AdvanceResult:
        """Process ``n`` more candles (fewer at the end of the data); what they caused."""
        body = self._call("POST", f"/advance?n={n}")

        def read(b: Any) -> AdvanceResult:
            fills = tuple(update_from_json(f) for f in b["fills"])
            return AdvanceResult(int(b["index"]), int(b["advanced"]), bool(b["done"]), fills)

        return self._read(read, body)

    def ledger(self) -> Ledger:
        """Every order the venue holds and every fill, in order."""
        return self._read(ledger_from_json, self._call("GET", "/ledger"))

    def health(self) -> dict[str, Any]:
        """The server's ``/health`` answer (symbol, market index, speed)."""
        body = self._call("GET", "/health")
        if not isinstance(body, dict):
            raise FatalExchangeError(f"unexpected /health answer from {self.base_url}: {body!r}")
        return body

    # -- HTTP ------------------------------------------------------------------------------

    @staticmethod
    def _order_path(client_order_id: str, symbol: str) -> str:
        return f"/orders/{quote(client_order_id, safe='')}?" + urlencode({"symbol": symbol})

    def _read(self, reader: Callable[[Any], T], body: Any) -> T:
        """Apply ``reader`` to a decoded body; an unreadable answer is a fatal error."""
        try:
            return reader(body)
        except (ProtocolError, KeyError, TypeError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise FatalExchangeError(
                f"unexpected answer from the paper exchange at {self.base_url}: {what}; "
                "check that the URL points at a market-maker paper-exchange of this version"
            ) from exc

    def _call(
        self, method: str, path: str, body: Any = None, *, allow_missing: bool = False
    ) -> Any:
        """Send one request; the decoded JSON answer, or ``None`` on an allowed 404."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        where = f"{method} {url}"
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            with exc:  # it holds the connection open until closed
                message = _error_message(exc)
            if exc.code == _NOT_FOUND and allow_missing:
                return None
            if exc.code >= 500:
                raise RetryableExchangeError(
                    f"{where}: server error {exc.code}: {message}"
                ) from exc
            raise FatalExchangeError(f"{where}: refused with {exc.code}: {message}") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise RetryableExchangeError(
                f"{where}: no answer from the paper exchange ({reason}); "
                "is `market-maker paper-exchange` running there?"
            ) from exc
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise FatalExchangeError(f"{where}: the answer is not JSON: {raw[:200]!r}") from exc


def _error_message(exc: urllib.error.HTTPError) -> str:
    """The server's ``{"error": ...}`` message, or the raw body when there is none."""
    try:
        raw = exc.read()
    except (OSError, http.client.HTTPException):
        return exc.reason if isinstance(exc.reason, str) else str(exc.reason)
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:500] or str(exc.reason)
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return str(payload["error"])
    return json.dumps(payload)[:500]
