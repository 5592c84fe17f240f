"""Log lines of order actions and fills, one shape for every execution.

Each line carries the fields an operator searches by: ``slot`` (the grid level),
``client_order_id`` and ``workflow_id`` (the DBOS workflow that sent the order or booked
the fill; ``None`` on the direct execution), plus what the exchange answered. The fields
travel as ``logging`` extras, which the log setup (``market_maker.ops.logs``) renders as
``key=value`` or JSON fields.

Normal outcomes are logged at the level the execution asks for (INFO on the Durable
engine, DEBUG on the direct one, so that backtests do not pay for them: the level is
checked before anything is built); an outcome that needs attention (unknown, a failed
cancel) is always a WARNING.
"""

import logging
from collections.abc import Sequence

from market_maker.domain.enums import OrderStatus
from market_maker.domain.orders import ActionKind, OrderAction, OrderUpdate
from market_maker.slots.book import BookedFill


def log_outcome(
    logger: logging.Logger,
    action: OrderAction,
    report: OrderUpdate | None,
    sent: bool,
    *,
    workflow_id: str | None,
    level: int = logging.INFO,
) -> None:
    """Log what one action came to: placed, rejected, cancelled, or unknown / failed.

    Args:
        logger: Where to log.
        action: The action carried out.
        report: The exchange's answer (None: unknown outcome, or a cancel that found the
            order finished already).
        sent: False only for a cancel the exchange did not answer.
        workflow_id: The DBOS workflow that sent it (None outside one).
        level: Level of a normal outcome.
    """
    cid = action.client_order_id
    place = action.kind is ActionKind.PLACE
    if report is None and (place or not sent):
        what = "place outcome unknown" if place else "cancel failed, retried later"
        event, level = f"order {what}: {cid}", logging.WARNING
    elif not logger.isEnabledFor(level):
        return
    elif report is None:
        event = "order cancel: already finished"
    elif place:
        event = "order rejected" if report.status is OrderStatus.REJECTED else "order placed"
    else:
        event = "order cancelled"
    fields: dict[str, object] = {
        "slot": action.slot_level,
        "client_order_id": cid,
        "workflow_id": workflow_id,
        "action": action.kind.value,
    }
    if action.place is not None:
        request = action.place
        fields.update(side=request.side, price=request.price, qty=request.qty)
    if report is not None:
        fields.update(status=report.status, order_id=report.order_id)
        if report.cum_filled_qty:
            fields["filled_qty"] = report.cum_filled_qty
        if report.reject_reason:
            fields["reject_reason"] = report.reject_reason
    logger.log(level, event, extra=fields)


def log_fills(
    logger: logging.Logger,
    fills: Sequence[BookedFill],
    *,
    workflow_id: str | None,
    level: int = logging.INFO,
) -> None:
    """Log each fill booked: slot, client order id, workflow id, side, quantity, price, fee."""
    if not fills or not logger.isEnabledFor(level):
        return
    for fill in fills:
        logger.log(
            level,
            "fill",
            extra={
                "slot": fill.level,
                "client_order_id": fill.client_order_id,
                "workflow_id": workflow_id,
                "side": fill.side,
                "qty": fill.qty,
                "price": fill.price,
                "fee": fill.fee,
                "realized_pnl": fill.realized_pnl,
                "trade_id": fill.trade_id,
                "liquidity": fill.liquidity,
            },
        )


__all__ = ["log_fills", "log_outcome"]
