"""Exact decimal conversion at the edges.

Prices, quantities and money are ``decimal.Decimal`` in the core and decimal strings on the
wire (protobuf, JSON, config). These helpers are the only place that converts between them.
"""

from decimal import Decimal, InvalidOperation

from market_maker.domain.errors import InvalidDecimalError

ZERO = Decimal(0)
ONE = Decimal(1)


def parse_decimal(text: str, *, field: str = "value") -> Decimal:
    """Parse a decimal string exactly; reject empty, NaN and infinite values.

    ``field`` names the value in the error message.
    """
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise InvalidDecimalError(
            f"{field}: expected a decimal number such as '61556.04', found {text!r}"
        ) from exc
    if not value.is_finite():
        raise InvalidDecimalError(f"{field}: expected a finite decimal number, found {text!r}")
    return value


def parse_optional_decimal(text: str, *, field: str = "value") -> Decimal | None:
    """Parse a decimal string, mapping the empty string (protobuf's unset) to ``None``."""
    if text == "":
        return None
    return parse_decimal(text, field=field)


def decimal_to_str(value: Decimal) -> str:
    """Format a decimal in fixed-point notation with no loss of precision.

    ``Decimal(decimal_to_str(x)) == x`` for every finite ``x``; negative zero is written "0".
    """
    if not value.is_finite():
        raise InvalidDecimalError(f"expected a finite decimal number, found {value!r}")
    if value.is_zero():
        value = abs(value)
    return format(value, "f")


def decimal_to_plain(value: Decimal) -> str:
    """``decimal_to_str`` without trailing fractional zeros, for people to read.

    Still exact (``Decimal(decimal_to_plain(x)) == x``): a product of exchange figures such
    as ``10003.54505456000000000000`` is shown as ``10003.54505456``.
    """
    text = decimal_to_str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def optional_decimal_to_str(value: Decimal | None) -> str:
    """Format an optional decimal, writing ``None`` as the empty string."""
    return "" if value is None else decimal_to_str(value)


def to_decimal(value: int | str | Decimal) -> Decimal:
    """Convert an int, decimal string or Decimal into a Decimal, exactly.

    Floats are deliberately not accepted here: convert them at the edge with ``Decimal(str(x))``.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise InvalidDecimalError(f"expected a number, found the boolean {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    return parse_decimal(value)
