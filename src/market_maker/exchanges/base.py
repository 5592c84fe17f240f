"""The exchange interface every adapter implements, and the exchange error hierarchy.

Engines talk to exchanges only through ``Exchange``. Adapters translate their third-party
errors into ``ExchangeError`` subclasses at the edge, so engines decide on retry, reject or
stop without knowing which venue they trade on.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from market_maker.domain.enums import Liquidity, Side
from market_maker.domain.errors import MarketMakerError
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest


class ExchangeError(MarketMakerError):
    """Base class of errors raised by exchange adapters."""


class RetryableExchangeError(ExchangeError):
    """Timeout, rate limit, disconnect: the outcome is unknown; retry (placing is idempotent)."""


class OrderRejectedError(ExchangeError):
    """The exchange refused the request for good (insufficient balance, bad price...)."""


class FatalExchangeError(ExchangeError):
    """Authentication or configuration problem: stop and ask the operator."""


@dataclass(frozen=True, slots=True)
class Balance:
    """Holdings of one asset.

    Attributes:
        asset: Asset code, e.g. ``USDT``.
        free: Available amount.
        locked: Amount reserved by resting orders.
    """

    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        """Free plus locked."""
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class OwnTrade:
    """One fill of one of our orders, as the venue's trade list reports it.

    The trade list is the venue's ledger of our fills, served apart from open orders and
    balances; the reconciler reads it to notice fills that land between its other reads.

    Attributes:
        trade_id: The venue's trade id; increases with time on one symbol (not necessarily
            by one: on a real venue the ids count every trade on the symbol, not only ours).
        order_id: The venue's id of the order that filled.
        client_order_id: Our id of that order ("" when the venue does not report one).
        side: Side of our order.
        price: Fill price, quote currency per unit of base.
        qty: Filled quantity, base currency.
        fee: Fee charged for this fill, in quote currency.
        liquidity: Maker (our order rested) or taker (it crossed).
        ts_ms: Time of the fill, milliseconds since the epoch.
    """

    trade_id: int
    order_id: str
    client_order_id: str
    side: Side
    price: Decimal
    qty: Decimal
    fee: Decimal
    liquidity: Liquidity
    ts_ms: int


class Exchange(Protocol):
    """What an engine needs from a venue.

    All methods are synchronous and may raise ``ExchangeError`` subclasses.
    """

    def place_order(self, request: PlaceOrderRequest) -> OrderUpdate:
        """Send a new order; return the exchange's first report (NEW, FILLED or REJECTED).

        A duplicate client order id is answered with a REJECTED report, never a second order.
        """
        ...

    def cancel_order(self, request: CancelOrderRequest) -> OrderUpdate | None:
        """Cancel an order; return its final report, or ``None`` when it had already finished."""
        ...

    def get_order(self, symbol: str, client_order_id: str) -> OrderUpdate | None:
        """Current state of one order by client order id, or ``None`` if the venue has none."""
        ...

    def open_orders(self, symbol: str) -> list[OrderUpdate]:
        """Every resting order on ``symbol``."""
        ...

    def balances(self) -> dict[str, Balance]:
        """Balances by asset.

        On a derivatives (margin) account the base asset's entry is the signed position on
        the symbol (negative when short), with ``locked`` 0; the quote asset's entry is the
        margin balance.
        """
        ...

    def own_trades(self, symbol: str, after_id: int | None, limit: int = 1000) -> list[OwnTrade]:
        """Our fills on ``symbol`` with a trade id above ``after_id`` (all when ``None``).

        Oldest first, at most ``limit`` of them: page on by passing the last trade id seen.
        """
        ...
