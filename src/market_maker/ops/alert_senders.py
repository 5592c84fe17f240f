"""Where alerts go: a generic JSON webhook and a Telegram chat, over plain HTTP(S).

An ``Alert`` is what the bot has to say (``market_maker.ops.alerts`` decides when); a
sender delivers one alert or raises ``DeliveryError`` with a message that never contains
a secret (the Telegram token is part of the Bot API's URL, so no URL is ever quoted).

* ``WebhookSender``: ``POST`` of ``Alert.payload()`` as JSON
  (``{bot_id, symbol, kind, message, fields, ts}``); any 2xx answer is a delivery.
* ``TelegramSender``: the Bot API's ``sendMessage`` (``POST
  {api_url}/bot<TOKEN>/sendMessage`` with ``chat_id`` and ``text``); delivered when the
  answer is ``{"ok": true, ...}``.

Both use the standard library's HTTP client with a timeout on every request.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from market_maker import __version__
from market_maker.config.alerts import AlertKind

TELEGRAM_TEXT_LIMIT = 4096
"""Longest message Telegram accepts, in characters."""
USER_AGENT = f"market-maker/{__version__}"
"""The User-Agent of alert requests."""

JsonValue = str | int | float | bool | None
"""A field value as alerts carry it."""


def json_value(value: object) -> JsonValue:
    """``value`` as a JSON scalar: decimals as exact strings, enums by value, else text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return json_value(value.value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert about one bot.

    Attributes:
        bot_id: The bot's id.
        symbol: The market it trades.
        kind: What the alert is about.
        message: One human-readable sentence.
        fields: Details, as JSON scalars (``suppressed``: alerts of this kind the rate
            limit held back since the last one sent).
        ts_ms: When it was raised, milliseconds since the epoch (wall clock).
    """

    bot_id: str
    symbol: str
    kind: AlertKind
    message: str
    fields: Mapping[str, JsonValue] = field(default_factory=dict)
    ts_ms: int = 0

    @property
    def ts(self) -> str:
        """``ts_ms`` as ISO 8601 UTC with milliseconds (``2025-05-14T00:00:00.000Z``)."""
        when = datetime.fromtimestamp(self.ts_ms / 1000, UTC)
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON body."""
        return {
            "bot_id": self.bot_id,
            "symbol": self.symbol,
            "kind": self.kind.value,
            "message": self.message,
            "fields": dict(self.fields),
            "ts": self.ts,
        }

    def text(self) -> str:
        """A plain-text rendering (Telegram): headline, message, one line per field."""
        lines = [f"[{self.bot_id} {self.symbol}] {self.kind.value}", self.message]
        lines += [f"{key}: {value}" for key, value in self.fields.items()]
        lines.append(self.ts)
        text = "\n".join(lines)
        return text if len(text) <= TELEGRAM_TEXT_LIMIT else text[: TELEGRAM_TEXT_LIMIT - 1] + "…"


class DeliveryError(Exception):
    """An alert was not delivered; the message says why and holds no secret."""


class AlertSender(Protocol):
    """Delivers alerts to one destination."""

    @property
    def name(self) -> str:
        """The destination, for log lines (never a secret)."""
        ...

    def send(self, alert: Alert) -> None:
        """Deliver ``alert`` or raise ``DeliveryError``."""
        ...


def _post_json(url: str, body: Mapping[str, Any], timeout_s: float) -> tuple[int, bytes]:
    """POST ``body`` as JSON; the status and the answer's first 64 KiB, whatever the status.

    Raises:
        DeliveryError: No answer (refused, unreachable, timed out); the URL is not quoted.
    """
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return int(answer.status), answer.read(65536)
    except urllib.error.HTTPError as exc:
        try:
            answer_body = exc.read(65536)
        except OSError:
            answer_body = b""
        finally:
            exc.close()
        return exc.code, answer_body
    except urllib.error.URLError as exc:
        raise DeliveryError(f"no answer: {_reason(exc.reason)}") from None
    except (TimeoutError, OSError) as exc:
        raise DeliveryError(f"no answer: {_reason(exc)}") from None


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__ if not str(reason) else str(reason)


class WebhookSender:
    """POSTs each alert's JSON payload to ``url``; a 2xx answer is a delivery.

    Args:
        url: The receiver (``alerts.webhook_url``).
        timeout_s: Longest wait for the answer.
    """

    name = "webhook"

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def send(self, alert: Alert) -> None:
        """POST the alert; raise ``DeliveryError`` on no answer or a non-2xx status."""
        status, _ = _post_json(self.url, alert.payload(), self.timeout_s)
        if not 200 <= status < 300:
            raise DeliveryError(f"the webhook answered HTTP {status}")


class TelegramSender:
    """Sends each alert as a Telegram message through the Bot API's ``sendMessage``.

    Args:
        token: The bot's token (from the environment; never logged or quoted).
        chat_id: The chat written to.
        api_url: The Bot API's base URL (``https://api.telegram.org``).
        timeout_s: Longest wait for the answer.
    """

    name = "telegram"

    def __init__(self, token: str, chat_id: str, api_url: str, timeout_s: float) -> None:
        self._url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self._token = token
        self.chat_id = chat_id
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"TelegramSender(chat_id={self.chat_id!r})"

    def send(self, alert: Alert) -> None:
        """Send the alert's text; raise ``DeliveryError`` unless Telegram answers ok."""
        body = {"chat_id": self.chat_id, "text": alert.text()}
        status, answer = _post_json(self._url, body, self.timeout_s)
        try:
            reply = json.loads(answer)
        except ValueError:
            reply = None
        if isinstance(reply, dict) and reply.get("ok") is True and 200 <= status < 300:
            return
        description = reply.get("description") if isinstance(reply, dict) else None
        why = str(description) if description else "no Bot API answer"
        raise DeliveryError(
            f"Telegram refused the message: HTTP {status}, {why}".replace(self._token, "***")
        )


__all__ = [
    "Alert",
    "AlertSender",
    "DeliveryError",
    "JsonValue",
    "TelegramSender",
    "WebhookSender",
    "json_value",
]
