"""Exact decimal parsing and formatting."""

from decimal import Decimal
from fractions import Fraction

import pytest

from survey.domain import (
    format_decimal,
    format_percent,
    format_percent_exact,
    format_ratio,
    parse_decimal,
    parse_percent,
    round_half_up,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(18), "18"),
        (Fraction(1, 2), "0.5"),
        (Fraction(935, 100), "9.35"),
        (Fraction(0), "0"),
        (Fraction(-7, 4), "-1.75"),
        (Fraction(1, 1024), "0.0009765625"),
        (Fraction(3, 40), "0.075"),
        (10, "10"),
        (Decimal("9.50"), "9.5"),
    ],
)
def test_format_decimal_is_exact_without_trailing_zeros(value, text):
    assert format_decimal(value) == text


@pytest.mark.parametrize("value", [Fraction(1, 3), Fraction(2, 7), Fraction(189, 199)])
def test_format_decimal_refuses_non_terminating_values(value):
    with pytest.raises(ValueError, match="有限小数"):
        format_decimal(value)


def test_format_decimal_refuses_float():
    with pytest.raises(TypeError):
        format_decimal(0.1)


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (Fraction(189, 199), "94.97%"),
        (Fraction(1899, 1999), "95.00%"),  # below 95 % although it displays as 95.00 %
        (Fraction(19, 20), "95.00%"),
        (Fraction(1, 800), "0.13%"),  # exactly 0.125 %: half rounds up, not to even
        (Fraction(3, 800), "0.38%"),  # exactly 0.375 %
        (Fraction(2, 3), "66.67%"),
        (Fraction(1), "100.00%"),
        (Fraction(0), "0.00%"),
    ],
)
def test_format_percent_rounds_half_up_from_the_exact_fraction(rate, text):
    assert format_percent(rate) == text


def test_round_half_up_matches_decimal_round_half_up():
    assert round_half_up(Fraction(25, 1000), 2) == Fraction(3, 100)
    assert round_half_up(Fraction(-25, 1000), 2) == Fraction(-3, 100)
    assert round_half_up(Fraction(2499, 100000), 2) == Fraction(2, 100)


def test_ratio_and_exact_percent():
    assert format_ratio(Fraction(190, 200)) == "19/20"
    assert format_ratio(Fraction(1)) == "1/1"
    assert format_percent_exact(Fraction(7, 8)) == "87.5%"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("95%", Fraction(19, 20)),
        ("87.5%", Fraction(7, 8)),
        ("0%", Fraction(0)),
        ("100%", Fraction(1)),
        ("９５％", Fraction(19, 20)),
    ],
)
def test_parse_percent(text, value):
    assert parse_percent(text) == value


@pytest.mark.parametrize("text", ["95", "0.95", "abc%", "1e2%", "", "%", "9 5%"])
def test_parse_percent_rejects(text):
    with pytest.raises(ValueError):
        parse_percent(text)


def test_parse_decimal():
    assert parse_decimal("0.1") == Fraction(1, 10)
    assert parse_decimal(" 72 ") == 72
    for bad in ("1e3", "NaN", "inf", "1_000", "", "1/2"):
        with pytest.raises(ValueError):
            parse_decimal(bad)
