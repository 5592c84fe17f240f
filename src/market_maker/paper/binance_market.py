"""The one market a Binance-speaking paper exchange serves, and its symbol filters.

A paper exchange process serves one market of one kind: ``spot`` (the ``/api/v3`` API, a
spot account) or ``usdm`` (the ``/fapi`` API, a USDⓈ-M perpetual on a margin account).
``BinanceMarket`` holds its Binance symbol id, assets and rules, and checks an order
against the filters ``exchangeInfo`` publishes (``PRICE_FILTER``, ``LOT_SIZE``,
``NOTIONAL`` / ``MIN_NOTIONAL``).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from market_maker.domain.instrument import MarketRules, split_symbol
from market_maker.paper.binance_errors import FILTER_REASON

MarketKind = Literal["spot", "usdm"]
"""``spot``: Binance spot (``/api/v3``); ``usdm``: USDⓈ-M perpetual futures (``/fapi``)."""

MARKET_KINDS: tuple[MarketKind, ...] = ("spot", "usdm")
"""Every market kind, in the order the CLI lists them."""

PRICE_RANGE_TICKS = Decimal(10) ** 9
"""``maxPrice`` is this many ticks (Binance publishes a ceiling; the simulation has none)."""
QTY_RANGE_STEPS = Decimal(10) ** 9
"""``maxQty`` is this many steps."""


@dataclass(frozen=True, slots=True)
class BinanceMarket:
    """The market a paper exchange serves, as Binance describes it.

    Attributes:
        kind: Spot or USDⓈ-M perpetual.
        rules: Instrument rules and fee rates (the instrument's symbol is unified).
        leverage: USDⓈ-M leverage (initial margin = notional / leverage); unused on spot.
    """

    kind: MarketKind
    rules: MarketRules
    leverage: int = 20

    @property
    def spot(self) -> bool:
        """True for the spot market."""
        return self.kind == "spot"

    @property
    def base(self) -> str:
        """Base asset, e.g. ``BTC``."""
        return split_symbol(self.rules.instrument.symbol)[0]

    @property
    def quote(self) -> str:
        """Quote (and, on USDⓈ-M, margin) asset, e.g. ``USDT``."""
        return split_symbol(self.rules.instrument.symbol)[1]

    @property
    def symbol_id(self) -> str:
        """Binance's symbol, e.g. ``BTCUSDT``."""
        return self.base + self.quote

    @property
    def tick(self) -> Decimal:
        """Price increment."""
        return self.rules.instrument.tick_size

    @property
    def step(self) -> Decimal:
        """Quantity increment."""
        return self.rules.instrument.step_size

    @property
    def min_qty(self) -> Decimal:
        """Smallest quantity (at least one step)."""
        return max(self.rules.instrument.min_qty, self.step)

    @property
    def max_price(self) -> Decimal:
        """Largest price accepted."""
        return self.tick * PRICE_RANGE_TICKS

    @property
    def max_qty(self) -> Decimal:
        """Largest quantity accepted."""
        return self.step * QTY_RANGE_STEPS

    @property
    def min_notional(self) -> Decimal:
        """Smallest order value, quote currency."""
        return self.rules.instrument.min_notional

    def filter_failure(self, price: Decimal | None, qty: Decimal, reference: Decimal) -> str:
        """Why a filter refuses an order (``"filter failure: LOT_SIZE"``), or "".

        ``price`` is ``None`` for a market order, whose notional is checked at
        ``reference`` (the last price). A reduce-only futures order is exempt from the
        minimum notional, as on Binance; the caller passes ``reference`` 0 for it.
        """
        if price is not None and (
            price < self.tick or price > self.max_price or price % self.tick != 0
        ):
            return f"{FILTER_REASON}: PRICE_FILTER"
        if qty < self.min_qty or qty > self.max_qty or qty % self.step != 0:
            return f"{FILTER_REASON}: LOT_SIZE"
        value = (price if price is not None else reference) * qty
        if value and value < self.min_notional:
            return f"{FILTER_REASON}: {'NOTIONAL' if self.spot else 'MIN_NOTIONAL'}"
        return ""
