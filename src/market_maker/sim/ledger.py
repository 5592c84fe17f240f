"""A deterministic order ledger that reports like an exchange.

It keeps orders and produces cumulative ``OrderUpdate`` reports (NEW, PARTIALLY_FILLED,
FILLED, CANCELED, REJECTED) that are consistent with each other: post-only orders that would
cross are rejected, duplicate client order ids are rejected, fills happen at the limit price
when the market reaches it, and fees are charged in quote currency. It has no clock and no
I/O; ``ts_ms`` is a counter unless the caller sets it.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import Liquidity, OrderStatus, Side
from market_maker.domain.orders import OrderUpdate, PlaceOrderRequest


@dataclass(slots=True)
class LedgerOrder:
    """One order held by the ledger, with its cumulative fills."""

    request: PlaceOrderRequest
    order_id: str
    status: OrderStatus = OrderStatus.NEW
    filled: Decimal = ZERO
    quote: Decimal = ZERO
    fee: Decimal = ZERO


@dataclass
class OrderLedger:
    """Orders of one symbol and the reports they produced.

    Attributes:
        symbol: Unified symbol.
        fee_rate: Maker fee as a fraction of the fill value.
        orders: Every order ever accepted or rejected, by client order id.
        log: Every report emitted, in order.
        ts_ms: Time stamp given to the next report.
        last_price: Market price, for post-only checks.
    """

    symbol: str
    fee_rate: Decimal = Decimal("0.001")
    orders: dict[str, LedgerOrder] = field(default_factory=dict)
    log: list[OrderUpdate] = field(default_factory=list)
    ts_ms: int = 0
    last_price: Decimal | None = None

    def _report(
        self,
        order: LedgerOrder,
        last_qty: Decimal = ZERO,
        last_fee: Decimal = ZERO,
        reason: str = "",
        post_only_reject: bool = False,
    ) -> OrderUpdate:
        self.ts_ms += 1
        request = order.request
        update = OrderUpdate(
            symbol=self.symbol,
            order_id=order.order_id,
            client_order_id=request.client_order_id,
            side=request.side,
            status=order.status,
            price=request.price,
            qty=request.qty,
            cum_filled_qty=order.filled,
            cum_quote_qty=order.quote,
            cum_fee=order.fee,
            last_fill_price=request.price if last_qty else ZERO,
            last_fill_qty=last_qty,
            last_fee=last_fee,
            trade_id=f"{order.order_id}-{self.ts_ms}" if last_qty else "",
            liquidity=Liquidity.MAKER if last_qty else None,
            ts_ms=self.ts_ms,
            reject_reason=reason,
            post_only_reject=post_only_reject,
        )
        self.log.append(update)
        return update

    def place(self, request: PlaceOrderRequest) -> OrderUpdate:
        """Accept a limit order, or reject it (duplicate id, post-only that would cross)."""
        order = LedgerOrder(request, order_id=str(len(self.orders) + 1))
        if request.client_order_id in self.orders:
            order.status = OrderStatus.REJECTED
            return self._report(order, reason="duplicate client order id")
        self.orders[request.client_order_id] = order
        price = self.last_price
        crosses = price is not None and (
            (request.side is Side.BUY and request.price >= price)
            or (request.side is Side.SELL and request.price <= price)
        )
        if request.post_only and crosses:
            order.status = OrderStatus.REJECTED
            return self._report(order, reason="post-only order would cross", post_only_reject=True)
        return self._report(order)

    def cancel(self, client_order_id: str) -> OrderUpdate | None:
        """Cancel a resting order; ``None`` when it is unknown or already finished."""
        order = self.orders.get(client_order_id)
        if order is None or order.status.is_terminal:
            return None
        order.status = OrderStatus.CANCELED
        return self._report(order)

    def fill(self, client_order_id: str, qty: Decimal) -> OrderUpdate:
        """Fill ``qty`` of a resting order at its limit price."""
        order = self.orders[client_order_id]
        remaining = order.request.qty - order.filled
        if order.status.is_terminal or not ZERO < qty <= remaining:
            raise ValueError(
                f"cannot fill {qty} of {client_order_id}: status {order.status.value}, "
                f"{remaining} remaining"
            )
        quote = qty * order.request.price
        fee = quote * self.fee_rate
        order.filled += qty
        order.quote += quote
        order.fee += fee
        order.status = (
            OrderStatus.FILLED
            if order.filled == order.request.qty
            else OrderStatus.PARTIALLY_FILLED
        )
        return self._report(order, qty, fee)

    def open_orders(self) -> list[LedgerOrder]:
        """Orders still resting."""
        return [o for o in self.orders.values() if not o.status.is_terminal]

    def move_to(self, price: Decimal, fill_step: Decimal | None = None) -> list[OrderUpdate]:
        """Move the market to ``price`` and fill every resting order it reaches.

        With ``fill_step`` each reached order fills at most that quantity (a partial fill).
        """
        self.last_price = price
        updates = []
        for order in sorted(self.open_orders(), key=lambda o: o.request.client_order_id):
            request = order.request
            reached = (request.side is Side.BUY and price <= request.price) or (
                request.side is Side.SELL and price >= request.price
            )
            if reached:
                remaining = request.qty - order.filled
                qty = remaining if fill_step is None else min(fill_step, remaining)
                updates.append(self.fill(request.client_order_id, qty))
        return updates
