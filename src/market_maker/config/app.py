"""Top-level configuration of one bot (one symbol on one exchange account)."""

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from market_maker.domain.errors import ClientOrderIdError
from market_maker.domain.instrument import Instrument
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


class AppConfig(BaseModel):
    """One bot: its identity, its market and its grid."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bot_id: str = Field(
        description="1-8 letters or digits; prefix of every client order id this bot sends."
    )
    symbol: str = Field(min_length=3, description="Unified market symbol, e.g. BTC/USDT.")
    instrument: InstrumentConfig = Field(description="Tick size, step size and minimums.")
    grid: GridConfig = Field(description="Grid strategy parameters.")

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
