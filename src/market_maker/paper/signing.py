"""Binance request authentication: API key header, HMAC-SHA256 signature, timestamp window.

A signed REST request carries ``timestamp`` (wall-clock milliseconds), optionally
``recvWindow`` (default 5,000 ms, at most 60,000), then ``signature``: the hex HMAC-SHA256,
keyed with the secret, of the exact text before ``&signature=`` (the query string, or the
form body, or both concatenated). The signature is checked on the raw text as received,
never on re-encoded parameters. The websocket API signs its ``params`` sorted by name.

The secret is compared and used here only; it is never logged, printed or echoed back.
"""

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from market_maker.paper import binance_errors as errors
from market_maker.paper.binance_errors import BinanceError

API_KEY_ENV = "MARKET_MAKER_PAPER_API_KEY"
"""Environment variable holding the API key the paper exchange accepts."""
API_SECRET_ENV = "MARKET_MAKER_PAPER_API_SECRET"
"""Environment variable holding the secret the paper exchange signs with."""
DEFAULT_API_KEY = "paper-key"
"""The API key accepted when none is configured: for local use only."""
DEFAULT_API_SECRET = "paper-secret"
"""The secret used when none is configured: for local use only."""

DEFAULT_RECV_WINDOW_MS = 5_000
"""Binance's ``recvWindow`` when a request sends none."""
MAX_RECV_WINDOW_MS = 60_000
"""The largest ``recvWindow`` Binance accepts."""
MAX_AHEAD_MS = 1_000
"""How far a request's ``timestamp`` may run ahead of the server's clock."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """The one API key the venue accepts and its secret (``repr`` hides the secret)."""

    api_key: str
    secret: str = field(repr=False)

    @classmethod
    def resolve(
        cls,
        api_key: str | None = None,
        secret: str | None = None,
        env: Mapping[str, str] = os.environ,
    ) -> "Credentials":
        """Explicit values first, then the environment, then the local-use defaults."""
        return cls(
            api_key or env.get(API_KEY_ENV) or DEFAULT_API_KEY,
            secret or env.get(API_SECRET_ENV) or DEFAULT_API_SECRET,
        )

    def sign(self, payload: str) -> str:
        """Hex HMAC-SHA256 of ``payload`` keyed with the secret."""
        return hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

    def check_key(self, api_key: str | None) -> None:
        """Raise -2014 for a missing or malformed key, -2015 for another key."""
        if not api_key or len(api_key) > 256 or not api_key.isprintable():
            raise errors.bad_api_key_format()
        if not hmac.compare_digest(api_key.encode(), self.api_key.encode()):
            raise errors.invalid_api_key()

    def verify(self, api_key: str | None, query: str, body: str, now_ms: int) -> dict[str, str]:
        """Authenticate a signed REST request; its parameters (query and body, decoded).

        Raises ``BinanceError`` -2014/-2015 (key), -1102 (no signature or timestamp),
        -1022 (signature) or -1021 (timestamp outside ``recvWindow``).
        """
        self.check_key(api_key)
        total = query + body if query and body else query or body
        payload, marker, signature = total.rpartition("&signature=")
        if not marker:
            if total.startswith("signature="):
                raise errors.bad_signature()
            raise errors.missing("signature")
        params = dict(parse_qsl(payload, keep_blank_values=True))
        check_timestamp(params, now_ms)
        if not hmac.compare_digest(self.sign(payload), signature.split("&", 1)[0].lower()):
            raise errors.bad_signature()
        return params

    def verify_ws(self, params: Mapping[str, object], now_ms: int) -> None:
        """Authenticate a websocket API request: key, sorted-params signature, timestamp."""
        self.check_key(str(params.get("apiKey", "")) or None)
        signature = str(params.get("signature", ""))
        if not signature:
            raise errors.missing("signature")
        payload = "&".join(
            f"{name}={_ws_value(params[name])}" for name in sorted(params) if name != "signature"
        )
        check_timestamp({k: _ws_value(v) for k, v in params.items()}, now_ms)
        if not hmac.compare_digest(self.sign(payload), signature.lower()):
            raise errors.bad_signature()


def _ws_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_timestamp(params: Mapping[str, str], now_ms: int) -> None:
    """Raise -1102/-1100 for a missing or unreadable ``timestamp``, -1021 outside the window."""
    raw = params.get("timestamp", "")
    if not raw:
        raise errors.missing("timestamp")
    window = params.get("recvWindow") or str(DEFAULT_RECV_WINDOW_MS)
    if not raw.isdigit():
        raise errors.illegal("timestamp")
    if not window.isdigit() or int(window) > MAX_RECV_WINDOW_MS:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    timestamp = int(raw)
    if timestamp > now_ms + MAX_AHEAD_MS:
        raise errors.timestamp_ahead()
    if now_ms - timestamp > int(window):
        raise errors.outside_recv_window()
