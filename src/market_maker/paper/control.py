"""``PaperControl``: a client of the paper exchange's own test endpoints (``/paper/...``).

Bots trade on the paper exchange through ccxt and its Binance API; this client is for
what stands outside the market: the paper-trading command (is the data exhausted? the
ledger to check the bot's books against), the crash harness and tests (move market time,
set faults). Failures are ``PaperControlError`` with the URL and what went wrong.
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from market_maker.domain.errors import MarketMakerError
from market_maker.exchanges.base import Balance
from market_maker.paper.paper_json import Ledger, PaperJsonError, ledger_from_json

DEFAULT_TIMEOUT_S = 10.0
"""Longest wait for one answer."""


class PaperControlError(MarketMakerError):
    """The paper exchange did not answer a test endpoint, or answered something unreadable."""


@dataclass(frozen=True, slots=True)
class MarketTime:
    """Where market time stands on the paper exchange.

    Attributes:
        index: Steps processed so far (candles, or slices of trade time; 0 = none yet).
        total: Steps in the data.
        done: Every step has been processed.
        last_open_ms: Open time of the latest candle closed (None before the first).
        time_ms: Market time now (the end of the latest step).
    """

    index: int
    total: int
    done: bool
    last_open_ms: int | None
    time_ms: int = 0

    def seen_by(self, price_ms: int) -> bool:
        """Whether a bot whose latest price is stamped ``price_ms`` has seen market time now.

        The venue stamps a ticker with its close time, one millisecond before market time
        (``time_ms`` unknown, 0: the latest candle's open is enough).
        """
        if self.time_ms:
            return price_ms >= self.time_ms - 1
        return self.last_open_ms is None or price_ms >= self.last_open_ms


class PaperControl:
    """The ``/paper/`` endpoints of the paper exchange at ``base_url``."""

    def __init__(self, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def health(self) -> dict[str, Any]:
        """``GET /paper/health``: market kind, symbol, market time, speed."""
        body = self._call("GET", "/paper/health")
        if not isinstance(body, dict):
            raise PaperControlError(f"{self.base_url}/paper/health: expected an object")
        return body

    def market(self) -> MarketTime:
        """``GET /paper/market``."""
        body = self._call("GET", "/paper/market")
        try:
            candle = body["candle"]
            return MarketTime(
                int(body["index"]),
                int(body["total"]),
                bool(body["done"]),
                None if candle is None else int(candle["open_time_ms"]),
                int(body.get("time_ms", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PaperControlError(f"{self.base_url}/paper/market: unreadable ({exc})") from None

    def advance(self, n: int = 1) -> int:
        """``POST /paper/advance?n=``: process up to ``n`` steps; the index after."""
        body = self._call("POST", f"/paper/advance?n={n}")
        return int(body["index"])

    def ledger(self) -> Ledger:
        """``GET /paper/ledger``: every order, fill and duplicate client order id."""
        try:
            return ledger_from_json(self._call("GET", "/paper/ledger"))
        except PaperJsonError as exc:
            raise PaperControlError(f"{self.base_url}/paper/ledger: {exc}") from None

    def position(self, base: str) -> Decimal:
        """The account's position in ``base``: the perpetual's, or the spot balance held."""
        body = self._call("GET", "/paper/balances")
        try:
            if "position" in body:
                return Decimal(body["position"]["qty"])
            held = body["balances"].get(base)
            return Decimal(0) if held is None else Decimal(held["free"]) + Decimal(held["locked"])
        except (KeyError, TypeError, ArithmeticError) as exc:
            raise PaperControlError(f"{self.base_url}/paper/balances: unreadable ({exc})") from None

    def balances(self) -> dict[str, Balance]:
        """Free and locked amount of each asset, as the exchange holds them."""
        body = self._call("GET", "/paper/balances")
        try:
            return {
                a: Balance(a, Decimal(b["free"]), Decimal(b["locked"]))
                for a, b in body["balances"].items()
            }
        except (KeyError, TypeError, ArithmeticError) as exc:
            raise PaperControlError(f"{self.base_url}/paper/balances: unreadable ({exc})") from None

    def set_faults(self, settings: dict[str, Any]) -> dict[str, Any]:
        """``POST /paper/faults``: change the faults injected; the settings now in force."""
        body = self._call("POST", "/paper/faults", settings)
        if not isinstance(body, dict):
            raise PaperControlError(f"{self.base_url}/paper/faults: expected an object")
        return body

    def faults(self) -> dict[str, Any]:
        """``GET /paper/faults``: the settings and the counts of faults injected so far."""
        body = self._call("GET", "/paper/faults")
        if not isinstance(body, dict):
            raise PaperControlError(f"{self.base_url}/paper/faults: expected an object")
        return body

    def _call(self, method: str, path: str, payload: object = None) -> Any:
        url = self.base_url + path
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise PaperControlError(f"{method} {url}: HTTP {exc.code} {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise PaperControlError(f"{method} {url}: {exc}") from None
