from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.decimals import (
    decimal_to_plain,
    decimal_to_str,
    optional_decimal_to_str,
    parse_decimal,
    parse_optional_decimal,
    to_decimal,
)
from market_maker.domain.errors import InvalidDecimalError

finite = st.decimals(allow_nan=False, allow_infinity=False)


@given(finite)
def test_decimal_string_round_trips_exactly(value: Decimal) -> None:
    text = decimal_to_str(value)
    assert parse_decimal(text) == value
    assert "E" not in text and "e" not in text
    assert decimal_to_str(parse_decimal(text)) == text


@given(finite)
def test_the_plain_form_is_exact_and_has_no_trailing_zeros(value: Decimal) -> None:
    text = decimal_to_plain(value)
    assert Decimal(text) == value and "E" not in text
    assert not ("." in text and text.endswith(("0", ".")))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("10003.54505456000000000000"), "10003.54505456"),
        (Decimal("100.000"), "100"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.0"), "0"),
        (Decimal("0.10"), "0.1"),
    ],
)
def test_plain_examples(value: Decimal, text: str) -> None:
    assert decimal_to_plain(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("61556.04"), "61556.04"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("-0"), "0"),
        (Decimal("-0.00"), "0.00"),
        (Decimal("0.10"), "0.10"),
    ],
)
def test_decimal_to_str_is_fixed_point(value: Decimal, text: str) -> None:
    assert decimal_to_str(value) == text


@pytest.mark.parametrize("bad", ["", "abc", "NaN", "Infinity", "-inf", "1,5", "1.2.3"])
def test_parse_decimal_rejects_non_numbers_and_names_the_field(bad: str) -> None:
    with pytest.raises(InvalidDecimalError, match="price"):
        parse_decimal(bad, field="price")


def test_decimal_to_str_rejects_non_finite() -> None:
    with pytest.raises(InvalidDecimalError):
        decimal_to_str(Decimal("NaN"))


def test_optional_helpers_map_empty_to_none() -> None:
    assert parse_optional_decimal("") is None
    assert parse_optional_decimal(" 1.5 ") == Decimal("1.5")
    assert optional_decimal_to_str(None) == ""
    assert optional_decimal_to_str(Decimal("2.50")) == "2.50"


def test_to_decimal_accepts_int_str_decimal_and_refuses_bool() -> None:
    assert to_decimal(3) == Decimal(3)
    assert to_decimal("0.1") == Decimal("0.1")
    d = Decimal("7.25")
    assert to_decimal(d) is d
    with pytest.raises(InvalidDecimalError):
        to_decimal(True)
