"""Startup safety checks of a configured grid against an account, at the current price.

Builds the inputs of ``market_maker.risk.checks.run_safety_checks`` from the configuration
and the exchange's balances: the opening orders the grid would rest right now (its window
around ``price``, within ``max_inventory``), the interval at that price and the fee rates.
Live and paper runs refuse to start on a failure (``raise_on_failure``); a backtest records
the failures as warnings.
"""

from decimal import Decimal

from market_maker.config.app import AppConfig
from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import RiskState, Side
from market_maker.domain.instrument import split_symbol
from market_maker.exchanges.base import Balance
from market_maker.risk.checks import (
    CheckResult,
    PlannedOrder,
    SafetyInputs,
    raise_on_failure,
    run_safety_checks,
)
from market_maker.strategy.target import (
    StrategyMemo,
    frame_at,
    opening_sides,
    window_levels,
    window_start,
)


def planned_openings(config: AppConfig, price: Decimal) -> list[PlannedOrder]:
    """The opening orders the grid may rest around ``price`` with no position, nearest first.

    Per side: the placing window plus the level next to it on the price's side, where a
    resting order stays when the price comes within the safety buffer of it (the keep
    rule), so at most ``window + 1`` levels; taken until the exposure cap
    (``max_inventory``) would be passed, as the strategy does.
    """
    grid, instrument = config.grid, config.to_instrument()
    anchor = instrument.round_price_nearest(price)
    memo = StrategyMemo()
    frame, _ = frame_at(price, grid.base_interval, anchor, ZERO, grid, instrument, memo)
    out: list[PlannedOrder] = []
    for side in opening_sides(RiskState.NORMAL, grid):
        window = grid.buy_window if side is Side.BUY else grid.sell_window
        committed = ZERO
        start = window_start(memo, frame.lattice, side, frame.skewed, frame.gap, frame.center_index)
        if start is None or not window:
            continue
        nearer = start + 1 if side is Side.BUY else start - 1
        levels = window_levels(
            memo, frame.lattice, instrument, side, nearer, window + 1, frame.gap, (grid, None)
        )
        for level in levels:
            if level.order is None:
                continue
            if committed + level.order.qty > grid.max_inventory:
                break
            committed += level.order.qty
            out.append(PlannedOrder(side, level.price, level.order.qty))
    return out


def safety_checks(
    config: AppConfig,
    balances: dict[str, Balance],
    price: Decimal,
    *,
    maker_fee: Decimal,
    taker_fee: Decimal,
    spot: bool,
) -> list[CheckResult]:
    """Run every startup safety check for ``config`` on an account holding ``balances``."""
    base, quote = split_symbol(config.symbol)
    grid, instrument = config.grid, config.to_instrument()
    anchor = instrument.round_price_nearest(price)
    frame, _ = frame_at(price, grid.base_interval, anchor, ZERO, grid, instrument)
    free = {asset: b.free for asset, b in balances.items()}
    inputs = SafetyInputs(
        price=price,
        opening_orders=planned_openings(config, price),
        quote_free=free.get(quote, ZERO),
        base_free=free.get(base, ZERO),
        spot=spot,
        interval_quote=frame.step,
        maker_fee_rate=maker_fee,
        taker_fee_rate=taker_fee,
        post_only=grid.post_only,
        tick_size=instrument.tick_size,
        step_size=instrument.step_size,
        leverage=config.risk.checks.leverage,
        max_leverage=config.risk.checks.max_leverage,
    )
    return run_safety_checks(inputs)


def refuse_unsafe_start(
    config: AppConfig,
    balances: dict[str, Balance],
    price: Decimal,
    *,
    maker_fee: Decimal,
    taker_fee: Decimal,
    spot: bool,
) -> list[CheckResult]:
    """Run the checks before a live or paper run; raise ``SafetyCheckError`` on any failure.

    The error names every failed check with its numbers and the fix. Returns the results
    (all passed) for the log.
    """
    results = safety_checks(
        config, balances, price, maker_fee=maker_fee, taker_fee=taker_fee, spot=spot
    )
    raise_on_failure(results)
    return results
