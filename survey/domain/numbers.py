"""Parse and print exact decimals and percentages; never go through float."""

import re
import unicodedata
from decimal import Decimal
from fractions import Fraction
from math import floor

Exact = Fraction | int | Decimal

_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def exact(value: Exact) -> Fraction:
    """Return value as a Fraction; refuse floats, whose binary value is not what was written."""
    if isinstance(value, bool) or not isinstance(value, Fraction | int | Decimal):
        raise TypeError(f"需要精确数值(Fraction、int 或 Decimal),收到 {type(value).__name__}")
    return Fraction(value)


def parse_decimal(text: str) -> Fraction:
    """Parse a plain decimal string such as "9.35" exactly; raise ValueError otherwise."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if not _DECIMAL_RE.fullmatch(cleaned):
        raise ValueError(f"“{text}” 不是有效的数(应写成如 0.5、18 这样的小数)")
    return Fraction(cleaned)


def parse_percent(text: str) -> Fraction:
    """Parse a percent string such as "95%" or "87.5%" into an exact ratio."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if not cleaned.endswith("%") or not _DECIMAL_RE.fullmatch(cleaned[:-1].strip()):
        raise ValueError(f"“{text}” 不是有效的百分数(应写成如 95%、87.5% 这样的字符串)")
    return Fraction(cleaned[:-1].strip()) / 100


def format_decimal(value: Exact) -> str:
    """Return the exact terminating decimal of value without trailing zeros ("9.35", "18").

    Raise ValueError when the value has no finite decimal expansion (e.g. 1/3): scores built
    from the shipped rules always terminate, so such a value means the caller must round first
    with round_half_up().
    """
    value = exact(value)
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        raise ValueError(f"{value} 不能写成有限小数")
    # The smallest number of places that makes the value whole; it never ends in a zero.
    places = max(twos, fives)
    scaled = abs(value.numerator) * 10**places // value.denominator
    sign = "-" if value < 0 else ""
    if places == 0:
        return f"{sign}{scaled}"
    digits = str(scaled).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def round_half_up(value: Exact, places: int) -> Fraction:
    """Round to the given decimal places, halves away from zero (Decimal's ROUND_HALF_UP)."""
    scaled = exact(value) * 10**places
    magnitude = floor(abs(scaled) + Fraction(1, 2))
    return Fraction(magnitude if scaled >= 0 else -magnitude, 10**places)


def format_fixed(value: Exact, places: int) -> str:
    """Return value rounded half up with exactly the given number of decimal places."""
    rounded = round_half_up(value, places)
    units = abs(rounded.numerator * 10**places // rounded.denominator)
    sign = "-" if rounded < 0 else ""
    if places == 0:
        return f"{sign}{units}"
    whole, fraction = divmod(units, 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}"


def format_percent(rate: Exact, places: int = 2) -> str:
    """Return a ratio as a percentage with fixed places, rounded half up (189/199 → "94.97%")."""
    return f"{format_fixed(exact(rate) * 100, places)}%"


def format_percent_exact(rate: Exact) -> str:
    """Return an exact ratio as a percent string without rounding (19/20 → "95%")."""
    return f"{format_decimal(exact(rate) * 100)}%"


def format_ratio(rate: Exact) -> str:
    """Return a ratio as "numerator/denominator", even when it is whole."""
    rate = exact(rate)
    return f"{rate.numerator}/{rate.denominator}"
