"""Say on paper when a rounded figure would suggest another band or grade than the exact one.

Bands are looked up on exact fractions. A report prints rates and averages rounded to two
places, so 1899/1999 (94.997…%) prints as "95.00%" yet scores 18, and an average of
18089/201 (89.995…) prints as "90.00" yet grades 良好. Wherever that happens the printed
figure must carry the fraction and the words "精确值低于95%" (or the grade's equivalent).
"""

from fractions import Fraction

from .bands import BandTable, BoundUnit, format_bound
from .numbers import Exact, exact, format_ratio, round_half_up

PLACES = 2


def shown_value(table: BandTable, value: Exact, places: int = PLACES) -> Fraction:
    """Return the value as the report prints it: a rate in percent, a score, to `places`."""
    value = exact(value)
    if table.unit is BoundUnit.PERCENT:
        return round_half_up(value * 100, places) / 100
    return round_half_up(value, places)


def rounding_note(table: BandTable | None, value: Exact | None, places: int = PLACES) -> str | None:
    """Return "精确值低于95%" when the rounded figure falls in another band; else None."""
    if table is None or value is None:
        return None
    value = exact(value)
    shown = min(max(shown_value(table, value, places), Fraction(0)), table.maximum)
    exact_band, shown_band = table.band_for(value), table.band_for(shown)
    if exact_band == shown_band:
        return None
    unit = "" if table.unit is BoundUnit.PERCENT else "分"
    if shown > value:
        # Rounded up into a higher band: the exact value is below that band's lower bound.
        return f"精确值低于{format_bound(shown_band.low, table.unit)}{unit}"
    return f"精确值不低于{format_bound(exact_band.low, table.unit)}{unit}"


def exact_note(table: BandTable | None, value: Exact | None, places: int = PLACES) -> str:
    """Return "18089/201，精确值低于90分" when needed, for a figure printed without its fraction."""
    note = rounding_note(table, value, places)
    if note is None:
        return ""
    return f"{format_ratio(exact(value))}，{note}"
