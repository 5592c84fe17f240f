"""Startup safety checks: refuse to trade a grid that cannot pay for itself.

``run_safety_checks`` takes explicit numbers and returns one ``CheckResult`` per check,
passed or not, each with a message naming the numbers and, on failure, the fix. What a
failure does is the caller's decision: live and paper runs refuse to start
(``raise_on_failure``); a backtest prints the failures as warnings and records them in its
report.

Rules:

* **balance**: the worst case of the grid is every opening order filled. Spot: the buys
  need their notional plus fees in free quote, the sells their quantity in free base.
  Derivatives: the larger side's notional divided by the leverage, plus that side's fees,
  in free quote (margin); both sides cannot fill in one direction of the price.
* **leverage**: ``0 < leverage <= max_leverage``.
* **interval_vs_fees**: a round trip buys at ``p`` and sells at ``p + interval``; its fees
  are ``f_buy x p + f_sell x (p + interval)`` per unit, so it is profitable before slippage
  only when ``interval > p x (f_buy + f_sell) / (1 - f_sell)`` — slightly stricter than
  ``p x (f_buy + f_sell)``. Post-only grids pay the maker rate on both sides, others are
  checked at the taker rate (their worst case).
* **instrument_precision**: tick size and step size are known and positive.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import Enum

from market_maker.domain.decimals import ONE, ZERO
from market_maker.domain.enums import Side
from market_maker.domain.errors import MarketMakerError

_FINE = Decimal("1E-8")


class SafetyCheck(Enum):
    """The startup safety checks."""

    BALANCE = "balance"
    """Free balance covers every opening order of the grid filled."""
    LEVERAGE = "leverage"
    """Leverage is positive and within the configured bound."""
    INTERVAL_VS_FEES = "interval_vs_fees"
    """The grid interval exceeds the fees of one round trip."""
    INSTRUMENT_PRECISION = "instrument_precision"
    """The market's tick size and step size are known."""


class SafetyCheckError(MarketMakerError):
    """At least one startup safety check failed; the bot refuses to start."""


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """One opening order of the configured grid.

    Attributes:
        side: Buy or sell.
        price: Limit price in quote currency.
        qty: Quantity in base currency.
    """

    side: Side
    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class SafetyInputs:
    """Everything the checks look at.

    Attributes:
        price: Current market price, in quote currency.
        opening_orders: Every opening order of the configured grid.
        quote_free: Free quote balance (margin balance on derivatives).
        base_free: Free base balance (spot only).
        spot: Spot account; false = derivatives (margin) account.
        interval_quote: Grid interval at the current price, in quote currency.
        maker_fee_rate: Maker fee as a fraction (0.001 = 0.1%).
        taker_fee_rate: Taker fee as a fraction.
        post_only: The grid sends post-only orders (maker fees on both sides).
        tick_size: Price increment in quote currency, ``None`` if unknown.
        step_size: Quantity increment in base currency, ``None`` if unknown.
        leverage: Leverage the account will use (1 on spot).
        max_leverage: Highest leverage the configuration allows.
    """

    price: Decimal
    opening_orders: Sequence[PlannedOrder]
    quote_free: Decimal
    base_free: Decimal
    spot: bool
    interval_quote: Decimal
    maker_fee_rate: Decimal
    taker_fee_rate: Decimal
    post_only: bool
    tick_size: Decimal | None
    step_size: Decimal | None
    leverage: Decimal = ONE
    max_leverage: Decimal = ONE


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of one check.

    Attributes:
        check: Which check.
        passed: True when the check passed.
        message: What was compared, with the numbers; on failure, how to fix it.
    """

    check: SafetyCheck
    passed: bool
    message: str

    @property
    def name(self) -> str:
        """The check's name as written in logs and reports."""
        return self.check.value


def run_safety_checks(inputs: SafetyInputs) -> list[CheckResult]:
    """Run every startup check; one result per check, in ``SafetyCheck`` order."""
    return [
        _balance(inputs),
        _leverage(inputs),
        _interval(inputs),
        _precision(inputs),
    ]


def failures(results: Iterable[CheckResult]) -> list[CheckResult]:
    """The failed checks."""
    return [r for r in results if not r.passed]


def raise_on_failure(results: Iterable[CheckResult]) -> None:
    """Raise ``SafetyCheckError`` naming every failed check (live and paper runs)."""
    failed = failures(results)
    if failed:
        lines = "\n".join(f"  {r.name}: {r.message}" for r in failed)
        raise SafetyCheckError(f"refusing to start, {len(failed)} safety check(s) failed:\n{lines}")


def _opening_fee(inputs: SafetyInputs) -> Decimal:
    return inputs.maker_fee_rate if inputs.post_only else inputs.taker_fee_rate


def _balance(inputs: SafetyInputs) -> CheckResult:
    fee = _opening_fee(inputs)
    buys = sum((o.price * o.qty for o in inputs.opening_orders if o.side is Side.BUY), ZERO)
    sells = sum((o.price * o.qty for o in inputs.opening_orders if o.side is Side.SELL), ZERO)
    fix = "deposit the difference, or lower the order size or the number of levels"
    if inputs.spot:
        quote_needed = buys * (1 + fee)
        base_needed = sum((o.qty for o in inputs.opening_orders if o.side is Side.SELL), ZERO)
        text = (
            f"all opening buys filled need {quote_needed} quote (free {inputs.quote_free}); "
            f"all opening sells need {base_needed} base (free {inputs.base_free})"
        )
        passed = inputs.quote_free >= quote_needed and inputs.base_free >= base_needed
    else:
        side_notional = max(buys, sells)
        if inputs.leverage <= 0:
            return CheckResult(
                SafetyCheck.BALANCE, False, "margin cannot be computed without a positive leverage"
            )
        quote_needed = side_notional / inputs.leverage + side_notional * fee
        text = (
            f"all opening orders of the larger side ({side_notional} notional) filled need "
            f"{quote_needed} margin at leverage {inputs.leverage} (free {inputs.quote_free})"
        )
        passed = inputs.quote_free >= quote_needed
    return CheckResult(SafetyCheck.BALANCE, passed, text if passed else f"{text}: {fix}")


def _leverage(inputs: SafetyInputs) -> CheckResult:
    lev, cap = inputs.leverage, inputs.max_leverage
    passed = 0 < lev <= cap
    text = f"leverage {lev}, allowed up to {cap}"
    if passed:
        return CheckResult(SafetyCheck.LEVERAGE, True, text)
    return CheckResult(
        SafetyCheck.LEVERAGE,
        False,
        f"{text}: set a leverage above 0 and at most {cap} on the exchange account, or raise "
        "max_leverage deliberately",
    )


def _interval(inputs: SafetyInputs) -> CheckResult:
    fee = _opening_fee(inputs)
    kind = "maker" if inputs.post_only else "taker"
    required = inputs.price * (fee + fee) / (1 - fee)
    shown = _round_up_for_display(required, inputs.tick_size)
    text = (
        f"interval {inputs.interval_quote} at price {inputs.price} against round-trip fees "
        f"{shown} ({kind} fee {fee} on both sides)"
    )
    if inputs.interval_quote > required:
        return CheckResult(SafetyCheck.INTERVAL_VS_FEES, True, text)
    return CheckResult(
        SafetyCheck.INTERVAL_VS_FEES,
        False,
        f"{text}: every round trip would lose money; raise the interval above {shown} "
        "or trade at lower fees",
    )


def _round_up_for_display(value: Decimal, tick: Decimal | None) -> Decimal:
    """``value`` rounded up to a hundredth of a tick (1e-8 without a tick), for messages.

    A division leaves 28 digits; rounded up, "raise the interval above" it stays true.
    """
    quantum = tick / 100 if tick is not None and tick.is_finite() and tick > 0 else _FINE
    return (value / quantum).to_integral_value(rounding=ROUND_CEILING) * quantum


def _precision(inputs: SafetyInputs) -> CheckResult:
    known = {"tick_size": inputs.tick_size, "step_size": inputs.step_size}
    missing = [k for k, v in known.items() if v is None or not v.is_finite() or v <= 0]
    text = f"tick_size {inputs.tick_size}, step_size {inputs.step_size}"
    if not missing:
        return CheckResult(SafetyCheck.INSTRUMENT_PRECISION, True, text)
    return CheckResult(
        SafetyCheck.INSTRUMENT_PRECISION,
        False,
        f"{text}: {' and '.join(missing)} unknown; load the market rules from the exchange "
        "or set them in the instrument section of the configuration",
    )
