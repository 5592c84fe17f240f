"""Top-level configuration of one bot (one symbol on one exchange account)."""

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class VenueConfig(BaseModel):
    """Where ``market-maker run`` trades (for now: the paper exchange at a URL)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(
        "http://127.0.0.1:8765",
        description="Base URL of the paper exchange (market-maker paper-exchange).",
    )
    poll_interval_s: float = Field(
        0.2, gt=0, le=60, description="Seconds between polls for new candles and order states."
    )


class DurableConfig(BaseModel):
    """Where and as whom the Durable engine runs (DBOS and the application tables)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str = Field(
        "sqlite:///market_maker.db",
        description="SQLAlchemy URL of the database holding the DBOS system tables and the "
        "bot's tables: a SQLite file (default) or postgresql+psycopg://user@host/db.",
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
