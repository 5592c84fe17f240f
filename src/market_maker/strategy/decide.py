"""One decision: price in, target state and actions out. The same code in backtest and live."""

from decimal import Decimal

from market_maker.domain.enums import RiskState
from market_maker.domain.instrument import Instrument
from market_maker.domain.orders import OrderAction
from market_maker.domain.values import value
from market_maker.slots.book import SlotBook
from market_maker.strategy.config import GridConfig
from market_maker.strategy.diff import diff_target
from market_maker.strategy.interval import effective_interval
from market_maker.strategy.target import TargetState, compute_target


@value
class Decision:
    """The outcome of one decision.

    Attributes:
        anchor: Lattice anchor (the first price snapped to the tick, then fixed).
        target: The target state.
        actions: Cancels, then places, to execute in order.
        center_moved: The grid center differs from the previous decision's; slots waiting
            out post-only rejects may try again.
        complete: Executing ``actions`` exactly as planned reaches the target: nothing was
            held back by the exposure cap or deferred by the diff.
    """

    anchor: Decimal
    target: TargetState
    actions: tuple[OrderAction, ...]
    center_moved: bool
    complete: bool = True


def decide(
    *,
    price: Decimal,
    book: SlotBook,
    config: GridConfig,
    instrument: Instrument,
    risk: RiskState = RiskState.NORMAL,
    anchor: Decimal | None = None,
    previous_center: Decimal | None = None,
    atr: Decimal | None = None,
    baseline_atr: Decimal | None = None,
    max_open_orders: int = 0,
) -> Decision:
    """Decide the target state at ``price`` and the actions that reach it from ``book``.

    Reads the book, never changes it: the engine records the intents of the returned
    actions (write-ahead) before executing them. ``baseline_atr`` defaults to the configured
    one; pass the measured baseline when the config leaves it unset. ``max_open_orders``
    caps resting orders by dropping the furthest opening levels (0 = no cap).
    """
    if anchor is None:
        anchor = instrument.round_price_nearest(price)
    if baseline_atr is None:
        baseline_atr = config.baseline_atr
    interval = effective_interval(config, atr, baseline_atr)
    target = compute_target(
        price=price,
        interval=interval,
        anchor=anchor,
        slots=book.slots,
        inventory=book.inventory,
        config=config,
        instrument=instrument,
        risk=risk,
        atr=atr,
        max_open_orders=max_open_orders,
    )
    tolerance = config.requote_tolerance * target.step
    diff = diff_target(
        target,
        book.slots,
        bot_id=book.bot_id,
        symbol=book.symbol,
        next_generation=book.order_seq + 1,
        tolerance=tolerance,
    )
    center_moved = previous_center is not None and previous_center != target.center
    return Decision(
        anchor,
        target,
        tuple(diff.actions),
        center_moved,
        complete=diff.complete and not target.capped,
    )
