"""API credentials of a live run: from the environment or a secrets file, never the config.

Order of precedence:

1. ``venue.secrets_file`` when the configuration names one: a YAML mapping with
   ``api_key`` and ``api_secret`` (keep it readable by the bot's user only);
2. the environment variables ``MARKET_MAKER_API_KEY`` and ``MARKET_MAKER_API_SECRET``;
3. for a venue at a local URL (``venue.url``, the paper exchange) with neither: the paper
   exchange's documented development keys.

``Credentials`` never shows its values (``repr`` hides them); error messages name the
variable or the file, never a value.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from market_maker.config.app import VenueConfig
from market_maker.domain.errors import MarketMakerError

API_KEY_ENV = "MARKET_MAKER_API_KEY"
"""Environment variable holding the exchange API key."""
API_SECRET_ENV = "MARKET_MAKER_API_SECRET"
"""Environment variable holding the exchange API secret."""
PAPER_API_KEY = "paper-key"
"""The paper exchange's default key (``market-maker paper-exchange`` without ``--api-key``)."""
PAPER_API_SECRET = "paper-secret"
"""The paper exchange's default secret."""


class CredentialsError(MarketMakerError):
    """No usable credentials: the message says where they were looked for and the fix."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """An API key and secret; ``repr`` shows neither.

    Attributes:
        api_key: The API key.
        secret: The API secret.
        source: Where they came from (``environment``, the file's path, ``paper defaults``).
    """

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    source: str


def load_credentials(
    venue: VenueConfig, *, env: Mapping[str, str] | None = None, base: Path | None = None
) -> Credentials:
    """The credentials for ``venue`` (see the module docstring for the order).

    Args:
        venue: The venue section of the configuration.
        env: The environment (default ``os.environ``).
        base: Folder a relative ``secrets_file`` is read from (default: the working folder).

    Raises:
        CredentialsError: The secrets file is missing, unreadable or incomplete, only one of
            the two variables is set, or nothing is set for a real exchange.
    """
    environ = os.environ if env is None else env
    if venue.secrets_file is not None:
        return _from_file(Path(venue.secrets_file) if base is None else base / venue.secrets_file)
    key, secret = environ.get(API_KEY_ENV, ""), environ.get(API_SECRET_ENV, "")
    if key and secret:
        return Credentials(key, secret, "environment")
    if key or secret:
        missing = API_SECRET_ENV if key else API_KEY_ENV
        raise CredentialsError(f"{missing} is not set: set both {API_KEY_ENV} and {API_SECRET_ENV}")
    if venue.url is not None:
        return Credentials(PAPER_API_KEY, PAPER_API_SECRET, "paper defaults")
    raise CredentialsError(
        f"no API credentials for {venue.exchange}: set {API_KEY_ENV} and {API_SECRET_ENV} in "
        "the environment, or name a YAML file with api_key and api_secret in "
        "venue.secrets_file (see docs/operations_guide.md)"
    )


def _from_file(path: Path) -> Credentials:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CredentialsError(
            f"venue.secrets_file: {path} does not exist; create it with api_key and "
            "api_secret, or remove the setting to use the environment"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = type(exc).__name__  # the message of a YAML error may quote the secret
        raise CredentialsError(
            f"venue.secrets_file: {path} cannot be read ({reason}); it must be a YAML mapping "
            "with api_key and api_secret"
        ) from None
    if not isinstance(data, dict):
        raise CredentialsError(
            f"venue.secrets_file: {path} is not a YAML mapping; write api_key: ... and "
            "api_secret: ... on two lines"
        )
    key, secret = data.get("api_key"), data.get("api_secret")
    missing = [
        n for n, v in (("api_key", key), ("api_secret", secret)) if not isinstance(v, str) or not v
    ]
    if missing:
        raise CredentialsError(
            f"venue.secrets_file: {path} has no {' or '.join(missing)} (text); add it"
        )
    return Credentials(str(key), str(secret), str(path))
