"""Validated, frozen configuration of the risk layer, one model per component.

Every field has a one-line meaning and its unit; the configuration reference is generated
from the ``description`` of each field. Percentages are written as percent (``10`` = 10%).
"""

from decimal import Decimal
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from market_maker.indicators.atr import AtrMethod


class Aggregation(Enum):
    """How the volatility verdicts of several watched markets combine into one risk state."""

    ANY = "any"
    """``RISK_MODE`` while at least one watched market is anomalous."""
    ALL = "all"
    """``RISK_MODE`` only while every watched market is anomalous at the same time."""


class UnknownOrderPolicy(Enum):
    """What the reconciler does with an open order of ours that no slot knows."""

    ADOPT = "adopt"
    """Take the order into the slot its client order id names, when that slot is free."""
    CANCEL = "cancel"
    """Cancel the order on the exchange."""


_FROZEN = ConfigDict(frozen=True, extra="forbid")


class RiskMonitorConfig(BaseModel):
    """Volatility monitor: volume-spike detection on candles and ATR.

    The defaults suit 1-minute candles: a volume above 8x the last hour's average with a
    close below its average close; back to NORMAL after 30 calm minutes. On the 2025
    Binance BTC/USDT 1m file that is about 260 entries a year, 6.6% of the time in RISK_MODE.
    """

    model_config = _FROZEN

    enabled: bool = Field(True, description="Enter RISK_MODE on volatility anomalies.")
    window_candles: int = Field(
        60,
        ge=1,
        le=10_000,
        description="Closed candles averaged for the volume, close and ATR baselines.",
    )
    volume_multiplier: Decimal = Field(
        Decimal(8),
        gt=0,
        description="Anomaly when a candle's volume exceeds this many times the average volume.",
    )
    require_close_below_average: bool = Field(
        True,
        description="Also require the close (quote currency) below the average close of the "
        "window.",
    )
    calm_candles: int = Field(
        30,
        ge=0,
        description="Consecutive calm closed candles that end RISK_MODE; 0 = manual reset only.",
    )
    aggregation: Aggregation = Field(
        Aggregation.ANY, description="With several markets: RISK_MODE when any / all are anomalous."
    )
    atr_method: AtrMethod = Field(
        AtrMethod.SIMPLE, description="ATR averaging over window_candles: simple mean or Wilder."
    )


class CircuitBreakerConfig(BaseModel):
    """Circuit breaker: halts trading on losing streaks and drawdowns."""

    model_config = _FROZEN

    enabled: bool = Field(
        True, description="Trip on losses and drawdown (reconciler and operator halts always work)."
    )
    max_consecutive_losses: int = Field(
        5, ge=0, description="Losing round trips in a row (net of fees) that trip; 0 = off."
    )
    max_drawdown_quote: Decimal | None = Field(
        None,
        gt=0,
        description="Equity drop from its peak that trips, in quote currency; none = off.",
    )
    max_drawdown_pct: Decimal | None = Field(
        None,
        gt=0,
        le=100,
        description="Equity drop from its peak that trips, in percent of the peak; none = off.",
    )
    cooldown_s: int = Field(
        0,
        ge=0,
        description="Seconds after an automatic trip until trading resumes; 0 = manual reset only.",
    )


class OrderCleanerConfig(BaseModel):
    """Order cleaner: cancels stale orders and trims the number of open orders."""

    model_config = _FROZEN

    max_order_age_s: int = Field(
        0, ge=0, description="Cancel orders resting longer than this, in seconds; 0 = off."
    )
    max_open_orders: int = Field(
        0,
        ge=0,
        description="Cancel the orders furthest from the price above this count; 0 = off.",
    )
    include_closing_orders: bool = Field(
        False,
        description="Apply the age and count rules to closing orders too (default: opening only).",
    )


class ReconcilerConfig(BaseModel):
    """Reconciler: compares the exchange with the slot book and proposes corrections."""

    model_config = _FROZEN

    unknown_orders: UnknownOrderPolicy = Field(
        UnknownOrderPolicy.CANCEL,
        description="Open orders of ours that no slot knows: adopt into their slot or cancel.",
    )
    max_divergence_pct: Decimal = Field(
        Decimal(1),
        ge=0,
        le=100,
        description="Position divergence up to this percent is corrected; above it halts.",
    )
    divergence_confirmations: int = Field(
        2,
        ge=1,
        le=10,
        description="Consecutive consistent reads that must show a position divergence "
        "before it is corrected or halts; 1 = act on the first.",
    )
    interval_s: int = Field(
        3600,
        ge=0,
        description="Seconds of event time between periodic reconciliations (also in "
        "backtests); 0 = only before trading starts.",
    )


class SafetyChecksConfig(BaseModel):
    """Startup safety checks: bounds the account must satisfy before trading."""

    model_config = _FROZEN

    leverage: Decimal = Field(
        Decimal(1), gt=0, description="Leverage the account trades with (1 on spot)."
    )
    max_leverage: Decimal = Field(
        Decimal(1), gt=0, description="Highest leverage this configuration accepts."
    )


class RiskConfig(BaseModel):
    """Every risk component's configuration."""

    model_config = _FROZEN

    monitor: RiskMonitorConfig = Field(
        default_factory=RiskMonitorConfig, description="Volatility monitor (RISK_MODE)."
    )
    breaker: CircuitBreakerConfig = Field(
        default_factory=CircuitBreakerConfig, description="Circuit breaker (HALTED)."
    )
    cleaner: OrderCleanerConfig = Field(
        default_factory=OrderCleanerConfig, description="Stale and excess order cleaner."
    )
    reconciler: ReconcilerConfig = Field(
        default_factory=ReconcilerConfig, description="Exchange-versus-book reconciliation."
    )
    checks: SafetyChecksConfig = Field(
        default_factory=SafetyChecksConfig, description="Startup safety checks."
    )
