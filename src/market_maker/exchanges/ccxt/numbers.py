"""Exact decimals out of ccxt structures.

ccxt parses a venue's decimal strings into floats. Where the raw answer (``info``) holds the
venue's own string, the adapter reads that instead; otherwise a float is converted through
its shortest representation (``Decimal(str(0.1)) == Decimal("0.1")``), once, here.
"""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from market_maker.domain.decimals import ZERO


class UnreadableFieldError(ValueError):
    """A field of a venue's answer is not a number where one was expected."""


def to_dec(value: Any, *, field: str = "value") -> Decimal | None:
    """``value`` as an exact ``Decimal``; ``None`` for a missing or empty value.

    Strings and ints are converted exactly, floats through ``str`` (shortest round trip).
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise UnreadableFieldError(f"{field}: expected a number, found {value!r}")
    if isinstance(value, Decimal):
        return value
    try:
        result = Decimal(value) if isinstance(value, str | int) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise UnreadableFieldError(f"{field}: expected a number, found {value!r}") from exc
    if not result.is_finite():
        raise UnreadableFieldError(f"{field}: expected a finite number, found {value!r}")
    return result


def pick(
    unified: Mapping[str, Any], key: str, *raw_keys: str, default: Decimal | None = None
) -> Decimal | None:
    """The first of ``raw_keys`` present in ``unified['info']``, else ``unified[key]``."""
    info = unified.get("info")
    if isinstance(info, Mapping):
        for raw in raw_keys:
            value = to_dec(info.get(raw), field=raw)
            if value is not None:
                return value
    value = to_dec(unified.get(key), field=key)
    return default if value is None else value


def pick_zero(unified: Mapping[str, Any], key: str, *raw_keys: str) -> Decimal:
    """``pick`` with 0 for a missing value."""
    value = pick(unified, key, *raw_keys)
    return ZERO if value is None else value


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros (``0.01000000`` -> ``0.01``, ``10.00`` -> ``10``).

    Exchanges write increments with their full precision; the bot quantises prices with
    the increment's exponent, so it keeps the shortest form.
    """
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()
