"""Top-level configuration of one bot (one symbol on one exchange account)."""

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from market_maker.config.alerts import AlertsConfig
from market_maker.config.operations import OperationsConfig
from market_maker.config.urls import check_database_url, check_venue_url
from market_maker.domain.errors import ClientOrderIdError
from market_maker.domain.instrument import Instrument
from market_maker.risk.config import RiskConfig
from market_maker.slots.client_ids import validate_prefix
from market_maker.strategy.config import GridConfig


class InstrumentConfig(BaseModel):
    """Market rules for backtests and paper trading (live runs read them from the exchange)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tick_size: Decimal = Field(gt=0, description="Price increment, quote currency.")
    step_size: Decimal = Field(gt=0, description="Quantity increment, base currency.")
    min_qty: Decimal = Field(Decimal(0), ge=0, description="Smallest order size, base currency.")
    min_notional: Decimal = Field(
        Decimal(0), ge=0, description="Smallest order value, quote currency."
    )


class BacktestConfig(BaseModel):
    """The simulated venue and account of a backtest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial_quote: Decimal = Field(
        Decimal(10_000), ge=0, description="Starting balance of the quote asset (e.g. USDT)."
    )
    initial_base: Decimal = Field(
        Decimal(0), ge=0, description="Starting balance of the base asset (e.g. BTC)."
    )
    maker_fee: Decimal = Field(
        Decimal("0.001"), ge=0, lt=1, description="Fee rate of resting fills (0.001 = 0.1%)."
    )
    taker_fee: Decimal = Field(
        Decimal("0.001"), ge=0, lt=1, description="Fee rate of crossing fills (0.001 = 0.1%)."
    )
    latency_events: int = Field(
        0, ge=0, description="Market events an order waits before it can fill (0 = next)."
    )
    max_fill_fraction: Decimal | None = Field(
        None,
        gt=0,
        le=1,
        description="Share of each candle's volume our orders may take (partial fills); "
        "none = unlimited.",
    )
    spot: bool = Field(
        True, description="Spot account (balance checks, no shorting); false = margin account."
    )
    equity_sample_every: int = Field(
        60, ge=1, le=60, description="Events between equity-curve samples (at most 60)."
    )


CREDENTIAL_KEYS = frozenset({"api_key", "apikey", "key", "secret", "api_secret", "password"})
"""Keys refused in the ``venue`` section: credentials never live in the configuration file."""
CREDENTIALS_ERROR = "credentials_in_config"
"""Error type of a credential found in the configuration (its value is never shown)."""


class VenueConfig(BaseModel):
    """Where ``market-maker run`` trades: one market of an exchange, through ccxt.

    Credentials are not part of it: they come from the environment
    (``MARKET_MAKER_API_KEY``, ``MARKET_MAKER_API_SECRET``) or from ``secrets_file``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange: str = Field(
        "binance",
        min_length=1,
        description="ccxt id of the exchange: binance (spot), binanceusdm (USD-M "
        "perpetuals; symbol BASE/QUOTE:SETTLE) or another ccxt id.",
    )
    url: str | None = Field(
        None,
        description="Base URL, http(s)://host[:port], of a Binance-compatible server to trade "
        "on instead of the exchange's own hosts, e.g. the paper exchange at "
        "http://127.0.0.1:8765; unset: the exchange itself.",
    )
    sandbox: bool = Field(
        False,
        description="Trade on the exchange's test network (ccxt's sandbox mode): Binance spot "
        "testnet; ccxt 4.5 has none for binanceusdm.",
    )
    streams: bool = Field(
        True,
        description="Order reports and prices from websockets, with REST polling as the "
        "fallback; false: REST polling only.",
    )
    secrets_file: str | None = Field(
        None,
        description="YAML file with api_key and api_secret; unset: the environment "
        "variables MARKET_MAKER_API_KEY and MARKET_MAKER_API_SECRET.",
    )
    timeout_s: float = Field(
        10,
        gt=0,
        le=120,
        description="Seconds to wait for one exchange answer; after that the call counts as "
        "lost and is retried (a lost order is looked up by client order id first).",
    )
    poll_interval_s: float = Field(
        0.2, gt=0, le=60, description="Seconds between polls for new prices and order states."
    )
    cancel_on_exit: bool = Field(
        False,
        description="On a graceful stop (SIGINT, SIGTERM, `market-maker stop`), cancel the "
        "resting opening orders before saving; closing orders stay. False: every order "
        "stays on the exchange and the next start reconciles them.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_credentials(cls, data: object) -> object:
        if isinstance(data, dict):
            found = sorted(str(k) for k in data if str(k).lower() in CREDENTIAL_KEYS)
            if found:  # a custom type: the loader then never shows the values
                raise PydanticCustomError(
                    CREDENTIALS_ERROR,
                    "{keys}: credentials are never read from the configuration file",
                    {"keys": ", ".join(found)},
                )
        return data

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if url is not None:
            check_venue_url(url)
        return url


class DurableConfig(BaseModel):
    """Where and as whom the Durable engine runs (DBOS and the application tables)."""

    # The URL may hold a password: a raw ValidationError never shows the value.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    database_url: str = Field(
        "sqlite:///market_maker.db",
        description="SQLAlchemy URL of the database holding the DBOS system tables and the "
        "bot's tables: a SQLite file, sqlite:///path (default; its folder must exist, the "
        "file is created), or PostgreSQL, postgresql+psycopg://user:password@host:5432/db.",
    )
    application_version: str = Field(
        "1",
        min_length=1,
        description="DBOS application version: only workflows of the same version are "
        "recovered; change it only between runs with no workflow in flight.",
    )
    executor_id: str = Field(
        "local",
        min_length=1,
        description="DBOS executor id of this process: a restarted bot must keep it to "
        "recover its own interrupted workflows.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, url: str) -> str:
        check_database_url(url)
        return url


class AppConfig(BaseModel):
    """One bot: its identity, its market and its grid."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bot_id: str = Field(
        description="1-8 letters or digits; prefix of every client order id this bot sends."
    )
    symbol: str = Field(min_length=3, description="Unified market symbol, e.g. BTC/USDT.")
    instrument: InstrumentConfig = Field(description="Tick size, step size and minimums.")
    grid: GridConfig = Field(description="Grid strategy parameters.")
    backtest: BacktestConfig = Field(
        default_factory=BacktestConfig, description="Simulated venue and account."
    )
    venue: VenueConfig = Field(
        default_factory=VenueConfig, description="The exchange live runs trade on."
    )
    durable: DurableConfig = Field(
        default_factory=DurableConfig, description="Durable engine: database and DBOS identity."
    )
    risk: RiskConfig = Field(
        default_factory=RiskConfig,
        description="Risk layer: volatility monitor, circuit breaker, cleaner, reconciler.",
    )
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig,
        description="Alerts of a running bot: webhook, Telegram, kinds, rate limit.",
    )
    operations: OperationsConfig = Field(
        default_factory=OperationsConfig,
        description="The bot's HTTP endpoint (metrics, health, dashboard) and health rules.",
    )

    @model_validator(mode="after")
    def _check_ids_fit(self) -> Self:
        try:
            validate_prefix(self.bot_id, self.symbol)
        except ClientOrderIdError as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_instrument(self) -> Instrument:
        """The instrument rules as the domain type."""
        i = self.instrument
        return Instrument(self.symbol, i.tick_size, i.step_size, i.min_qty, i.min_notional)
