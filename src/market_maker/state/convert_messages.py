"""Conversions of order requests, actions, order updates and market data to protobuf and back.

These are the messages that cross process boundaries (exchange adapters, engines, logs).
Part of ``market_maker.state.convert``, which re-exports every function here.
"""

from market_maker.domain.decimals import decimal_to_str, optional_decimal_to_str
from market_maker.domain.errors import StateIntegrityError
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import (
    ActionKind,
    CancelOrderRequest,
    OrderAction,
    OrderUpdate,
    PlaceOrderRequest,
)
from market_maker.pb import market_pb2, orders_pb2
from market_maker.state.convert_base import (
    ACTION_KIND,
    LIQUIDITY,
    ORDER_STATUS,
    ORDER_TYPE,
    SIDE,
    TIME_IN_FORCE,
    read_decimal,
    read_optional_decimal,
)

# -- orders, actions and updates ------------------------------------------------------------


def place_request_to_pb(request: PlaceOrderRequest) -> orders_pb2.PlaceOrderRequest:
    """Convert a place request to its message."""
    return orders_pb2.PlaceOrderRequest(
        symbol=request.symbol,
        side=SIDE.to_pb(request.side),
        order_type=ORDER_TYPE.to_pb(request.order_type),
        time_in_force=TIME_IN_FORCE.to_pb(request.time_in_force),
        price=decimal_to_str(request.price),
        qty=decimal_to_str(request.qty),
        post_only=request.post_only,
        reduce_only=request.reduce_only,
        client_order_id=request.client_order_id,
    )


def place_request_from_pb(
    msg: orders_pb2.PlaceOrderRequest, *, where: str = "PlaceOrderRequest"
) -> PlaceOrderRequest:
    """Convert a ``PlaceOrderRequest`` message back."""
    return PlaceOrderRequest(
        symbol=msg.symbol,
        side=SIDE.from_pb(msg.side, f"{where}.side"),
        order_type=ORDER_TYPE.from_pb(msg.order_type, f"{where}.order_type"),
        time_in_force=TIME_IN_FORCE.from_pb(msg.time_in_force, f"{where}.time_in_force"),
        price=read_decimal(msg.price, f"{where}.price"),
        qty=read_decimal(msg.qty, f"{where}.qty"),
        post_only=msg.post_only,
        reduce_only=msg.reduce_only,
        client_order_id=msg.client_order_id,
    )


def cancel_request_to_pb(request: CancelOrderRequest) -> orders_pb2.CancelOrderRequest:
    """Convert a cancel request to its message."""
    return orders_pb2.CancelOrderRequest(
        symbol=request.symbol, client_order_id=request.client_order_id, order_id=request.order_id
    )


def cancel_request_from_pb(msg: orders_pb2.CancelOrderRequest) -> CancelOrderRequest:
    """Convert a ``CancelOrderRequest`` message back."""
    return CancelOrderRequest(
        symbol=msg.symbol, client_order_id=msg.client_order_id, order_id=msg.order_id
    )


def action_to_pb(action: OrderAction) -> orders_pb2.OrderAction:
    """Convert an action to its message; it must carry exactly the request its kind needs."""
    if (action.place is not None, action.cancel is not None) != (
        action.kind is ActionKind.PLACE,
        action.kind is ActionKind.CANCEL,
    ):
        raise StateIntegrityError(
            f"a {action.kind.name} action must carry only a {action.kind.name.lower()} request, "
            f"found place={action.place!r} cancel={action.cancel!r}"
        )
    msg = orders_pb2.OrderAction(
        kind=ACTION_KIND.to_pb(action.kind), slot_level=decimal_to_str(action.slot_level)
    )
    if action.place is not None:
        msg.place.CopyFrom(place_request_to_pb(action.place))
    if action.cancel is not None:
        msg.cancel.CopyFrom(cancel_request_to_pb(action.cancel))
    return msg


def action_from_pb(msg: orders_pb2.OrderAction) -> OrderAction:
    """Convert an ``OrderAction`` message back, checking ``kind`` matches the request set."""
    kind = ACTION_KIND.from_pb(msg.kind, "OrderAction.kind")
    request = msg.WhichOneof("request")
    if request != kind.name.lower():
        raise StateIntegrityError(
            f"OrderAction: expected a {kind.name.lower()} request for kind {kind.name}, "
            f"found {request or 'none'}"
        )
    return OrderAction(
        kind=kind,
        slot_level=read_decimal(msg.slot_level, "OrderAction.slot_level"),
        place=place_request_from_pb(msg.place, where="OrderAction.place")
        if msg.HasField("place")
        else None,
        cancel=cancel_request_from_pb(msg.cancel) if msg.HasField("cancel") else None,
    )


def order_update_to_pb(update: OrderUpdate) -> orders_pb2.OrderUpdate:
    """Convert an order update to its message."""
    return orders_pb2.OrderUpdate(
        symbol=update.symbol,
        order_id=update.order_id,
        client_order_id=update.client_order_id,
        side=SIDE.to_pb(update.side),
        status=ORDER_STATUS.to_pb(update.status),
        price=decimal_to_str(update.price),
        qty=decimal_to_str(update.qty),
        cum_filled_qty=decimal_to_str(update.cum_filled_qty),
        cum_quote_qty=decimal_to_str(update.cum_quote_qty),
        cum_fee=decimal_to_str(update.cum_fee),
        last_fill_price=decimal_to_str(update.last_fill_price),
        last_fill_qty=decimal_to_str(update.last_fill_qty),
        last_fee=decimal_to_str(update.last_fee),
        trade_id=update.trade_id,
        liquidity=LIQUIDITY.optional_to_pb(update.liquidity),
        ts_ms=update.ts_ms,
        reject_reason=update.reject_reason,
        post_only_reject=update.post_only_reject,
    )


def order_update_from_pb(msg: orders_pb2.OrderUpdate) -> OrderUpdate:
    """Convert an ``OrderUpdate`` message back."""
    w = "OrderUpdate"
    return OrderUpdate(
        symbol=msg.symbol,
        order_id=msg.order_id,
        client_order_id=msg.client_order_id,
        side=SIDE.from_pb(msg.side, f"{w}.side"),
        status=ORDER_STATUS.from_pb(msg.status, f"{w}.status"),
        price=read_decimal(msg.price, f"{w}.price"),
        qty=read_decimal(msg.qty, f"{w}.qty"),
        cum_filled_qty=read_decimal(msg.cum_filled_qty, f"{w}.cum_filled_qty"),
        cum_quote_qty=read_decimal(msg.cum_quote_qty, f"{w}.cum_quote_qty"),
        cum_fee=read_decimal(msg.cum_fee, f"{w}.cum_fee"),
        last_fill_price=read_decimal(msg.last_fill_price, f"{w}.last_fill_price"),
        last_fill_qty=read_decimal(msg.last_fill_qty, f"{w}.last_fill_qty"),
        last_fee=read_decimal(msg.last_fee, f"{w}.last_fee"),
        trade_id=msg.trade_id,
        liquidity=LIQUIDITY.optional_from_pb(msg.liquidity, f"{w}.liquidity"),
        ts_ms=msg.ts_ms,
        reject_reason=msg.reject_reason,
        post_only_reject=msg.post_only_reject,
    )


# -- market data ----------------------------------------------------------------------------


def candle_to_pb(candle: Candle) -> market_pb2.Candle:
    """Convert a candle to its message."""
    return market_pb2.Candle(
        symbol=candle.symbol,
        open_time_ms=candle.open_time_ms,
        interval_s=candle.interval_s,
        open=decimal_to_str(candle.open),
        high=decimal_to_str(candle.high),
        low=decimal_to_str(candle.low),
        close=decimal_to_str(candle.close),
        volume=decimal_to_str(candle.volume),
        closed=candle.closed,
    )


def candle_from_pb(msg: market_pb2.Candle) -> Candle:
    """Convert a ``Candle`` message back."""
    return Candle(
        symbol=msg.symbol,
        open_time_ms=msg.open_time_ms,
        interval_s=msg.interval_s,
        open=read_decimal(msg.open, "Candle.open"),
        high=read_decimal(msg.high, "Candle.high"),
        low=read_decimal(msg.low, "Candle.low"),
        close=read_decimal(msg.close, "Candle.close"),
        volume=read_decimal(msg.volume, "Candle.volume"),
        closed=msg.closed,
    )


def price_update_to_pb(update: PriceUpdate) -> market_pb2.PriceChange:
    """Convert a price update to a ``PriceChange`` message."""
    return market_pb2.PriceChange(
        symbol=update.symbol,
        price=decimal_to_str(update.price),
        ts_ms=update.ts_ms,
        bid=optional_decimal_to_str(update.bid),
        ask=optional_decimal_to_str(update.ask),
    )


def price_update_from_pb(msg: market_pb2.PriceChange) -> PriceUpdate:
    """Convert a ``PriceChange`` message back to a price update."""
    return PriceUpdate(
        symbol=msg.symbol,
        price=read_decimal(msg.price, "PriceChange.price"),
        ts_ms=msg.ts_ms,
        bid=read_optional_decimal(msg.bid, "PriceChange.bid"),
        ask=read_optional_decimal(msg.ask, "PriceChange.ask"),
    )
