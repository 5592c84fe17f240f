"""Configuration of the alerts a running bot sends (``market_maker.ops.alerts``).

Where alerts go (a JSON webhook, a Telegram chat, both or neither), which kinds are sent,
how often one kind may be sent and when an exchange outage is worth an alert. The
Telegram bot token is a credential: it comes from the environment
(``MARKET_MAKER_TELEGRAM_TOKEN``), never from this file.
"""

from enum import Enum
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

TELEGRAM_TOKEN_ENV = "MARKET_MAKER_TELEGRAM_TOKEN"
"""Environment variable holding the Telegram bot token (``123456:ABC...``)."""


class AlertKind(Enum):
    """What an alert is about."""

    RISK_MODE = "risk_mode"
    """The volatility monitor entered ``RISK_MODE``: no new openings."""
    HALTED = "halted"
    """The circuit breaker tripped (losses, drawdown, reconciler or an operator): ``HALTED``."""
    RECONCILIATION_DIVERGENCE = "reconciliation_divergence"
    """The reconciler found the exchange and the book apart (unknown orders, position)."""
    STUCK_SLOTS = "stuck_slots"
    """Slots stayed ``PENDING`` or ``LOCKED`` beyond their limit (raised by the health check)."""
    EXCHANGE_ERRORS = "exchange_errors"
    """The exchange kept failing: an outage past ``outage_failures`` or ``outage_s``."""
    EXCHANGE_RECOVERED = "exchange_recovered"
    """The exchange answers again after an outage that raised ``exchange_errors``."""


def _http_url(value: str, example: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL; write it like {example}")
    return value


class AlertsConfig(BaseModel):
    """Alerts of a running bot: destinations, kinds, rate limit, outage threshold.

    With neither ``webhook_url`` nor ``telegram_chat_id`` set, no alert is sent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    webhook_url: str | None = Field(
        None,
        description="URL that receives each alert as a JSON POST {bot_id, symbol, kind, "
        "message, fields, ts}; unset: no webhook.",
    )
    telegram_chat_id: str | None = Field(
        None,
        description="Telegram chat the bot writes to (sendMessage); the token comes from "
        f"{TELEGRAM_TOKEN_ENV}. Unset: no Telegram.",
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org",
        description="Base URL of the Telegram Bot API (a local stand-in in tests).",
    )
    kinds: tuple[AlertKind, ...] = Field(
        tuple(AlertKind),
        description="Kinds of alert sent (default: every kind; the list is in "
        "docs/operations_guide.md, Logs and alerts).",
    )
    min_interval_s: float = Field(
        300,
        ge=0,
        description="Seconds between two alerts of one kind; the ones in between are "
        "counted in the next (suppressed); 0 = no limit.",
    )
    outage_failures: int = Field(
        5,
        ge=1,
        description="Failed polls in a row after which an exchange outage raises "
        "exchange_errors (or after outage_s, whichever comes first).",
    )
    outage_s: float = Field(
        60,
        gt=0,
        description="Seconds of exchange outage after which it raises exchange_errors.",
    )
    timeout_s: float = Field(
        5, gt=0, le=60, description="Seconds to wait for a receiver's answer to one alert."
    )
    queue_size: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Alerts waiting for delivery at most; more are dropped (and counted).",
    )

    @field_validator("telegram_chat_id", mode="before")
    @classmethod
    def _chat_id_as_text(cls, value: object) -> object:
        # Chat ids are numbers (negative for groups); YAML reads them as integers.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "https://hooks.example.com/mm")

    @field_validator("telegram_api_url")
    @classmethod
    def _telegram_api_url(cls, value: str) -> str:
        return _http_url(value, "https://api.telegram.org")

    @property
    def enabled(self) -> bool:
        """True when alerts have somewhere to go."""
        return self.webhook_url is not None or self.telegram_chat_id is not None


__all__ = ["TELEGRAM_TOKEN_ENV", "AlertKind", "AlertsConfig"]
