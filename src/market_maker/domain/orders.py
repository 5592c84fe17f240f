"""Order requests, actions and exchange order updates (mirrors of the protobuf messages)."""

from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import FastEnum, Liquidity, OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.values import value


@value
class PlaceOrderRequest:
    """Everything the exchange needs to place one order.

    Attributes:
        symbol: Unified symbol.
        side: Buy or sell.
        order_type: Limit or market.
        time_in_force: GTC, IOC or FOK.
        price: Limit price in quote currency (already on the tick).
        qty: Quantity in base currency (already on the step).
        post_only: Reject instead of taking liquidity.
        reduce_only: May only reduce the position (derivatives).
        client_order_id: Deterministic id, see ``market_maker.slots.client_ids``.
    """

    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price: Decimal
    qty: Decimal
    post_only: bool
    reduce_only: bool
    client_order_id: str


@value
class CancelOrderRequest:
    """Cancel one order, by exchange id when known and always by client order id.

    Attributes:
        symbol: Unified symbol.
        client_order_id: Our id of the order.
        order_id: The exchange's id ("" while unknown).
    """

    symbol: str
    client_order_id: str
    order_id: str = ""


class ActionKind(FastEnum):
    """What an ``OrderAction`` asks for."""

    PLACE = "PLACE"
    """Send a new order."""
    CANCEL = "CANCEL"
    """Cancel a resting order."""


@value
class OrderAction:
    """One step from current state towards the target state.

    Attributes:
        kind: Place or cancel.
        slot_level: Key of the slot the order belongs to (its grid level).
        place: The request, for ``PLACE``.
        cancel: The request, for ``CANCEL``.
        generation: For ``PLACE``, the generation encoded in the client order id, when the
            planner that built the id says so (saves parsing it back); None: parse it.
    """

    kind: ActionKind
    slot_level: Decimal
    place: PlaceOrderRequest | None = None
    cancel: CancelOrderRequest | None = None
    generation: int | None = None

    @property
    def client_order_id(self) -> str:
        """Client order id of the order placed or cancelled."""
        if self.place is not None:
            return self.place.client_order_id
        assert self.cancel is not None
        return self.cancel.client_order_id


@value
class OrderUpdate:
    """An exchange report about one of our orders. All quantities are cumulative.

    Cumulative figures make booking idempotent and order-independent: a slot books only the
    part of ``cum_filled_qty`` / ``cum_quote_qty`` / ``cum_fee`` it has not booked yet.

    Attributes:
        symbol: Unified symbol.
        order_id: The exchange's id.
        client_order_id: Our deterministic id.
        side: Buy or sell.
        status: Exchange status after this event.
        price: Limit price of the order.
        qty: Original order quantity.
        cum_filled_qty: Total quantity filled so far.
        cum_quote_qty: Total quote value filled so far (sum of price x qty of its fills).
        cum_fee: Total fee charged so far, in quote currency.
        last_fill_price: Price of the fill that caused this update (0 if none).
        last_fill_qty: Quantity of that fill (0 if none).
        last_fee: Fee of that fill, in quote currency.
        trade_id: Exchange trade id of that fill ("" if none).
        liquidity: Maker or taker, for the last fill.
        ts_ms: Event time, milliseconds since the epoch.
        reject_reason: Why the exchange refused the order ("" unless rejected).
        post_only_reject: True when the reject was a post-only order that would have crossed.
    """

    symbol: str
    order_id: str
    client_order_id: str
    side: Side
    status: OrderStatus
    price: Decimal
    qty: Decimal
    cum_filled_qty: Decimal = ZERO
    cum_quote_qty: Decimal = ZERO
    cum_fee: Decimal = ZERO
    last_fill_price: Decimal = ZERO
    last_fill_qty: Decimal = ZERO
    last_fee: Decimal = ZERO
    trade_id: str = ""
    liquidity: Liquidity | None = None
    ts_ms: int = 0
    reject_reason: str = ""
    post_only_reject: bool = False
