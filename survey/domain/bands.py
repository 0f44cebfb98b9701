"""Band tables: [low, high) ranges mapped to points, deductions or grades, validated as data."""

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from .errors import RuleFileError
from .numbers import Exact, exact, format_decimal, parse_decimal, parse_percent

BandValue = Fraction | str


class BoundUnit(StrEnum):
    """How bounds are written: percent strings for rates, plain numbers for scores."""

    PERCENT = "percent"
    POINTS = "points"


@dataclass(frozen=True)
class Band:
    """One row of a band table: low included, high excluded unless it is the top row."""

    low: Fraction
    high: Fraction
    value: BandValue
    includes_high: bool = False

    def contains(self, x: Fraction) -> bool:
        """Tell whether x falls in this band."""
        return self.low <= x and (x < self.high or (self.includes_high and x == self.high))


def format_bound(value: Fraction, unit: BoundUnit) -> str:
    """Print a bound the way the rule file writes it."""
    if unit is BoundUnit.PERCENT:
        return f"{format_decimal(value * 100)}%"
    return format_decimal(value)


def format_band_value(value: BandValue) -> str:
    """Print a band's value the way the rule file writes it."""
    return value if isinstance(value, str) else format_decimal(value)


def parse_bound(raw: object, unit: BoundUnit) -> Fraction:
    """Parse a bound cell from a rule file; raise ValueError with a Chinese message."""
    if unit is BoundUnit.PERCENT:
        if not isinstance(raw, str):
            raise ValueError(f'{raw} 应写成带 % 的字符串,如 "95%"')
        return parse_percent(raw)
    return parse_number(raw)


def parse_number(raw: object) -> Fraction:
    """Parse a number cell: a decimal string, a TOML integer or a TOML decimal read exactly."""
    if isinstance(raw, str):
        return parse_decimal(raw)
    if isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        if isinstance(raw, Decimal) and not raw.is_finite():
            raise ValueError(f"{raw} 不是有限的数")
        return Fraction(raw)
    raise ValueError(f"{raw!r} 不是数")


@dataclass(frozen=True)
class BandTable:
    """A validated, gap-free table of bands covering [0, maximum]."""

    title: str
    unit: BoundUnit
    bands: tuple[Band, ...]

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[object],
        *,
        title: str,
        unit: BoundUnit,
        parse_value: Callable[[object], BandValue],
        maximum: Fraction = Fraction(1),
        source: str = "<内置>",
        section: str | None = None,
    ) -> "BandTable":
        """Build a table from rule-file rows {low, high, value}, lowest band first.

        Raise RuleFileError naming source, section and the 1-based row on any defect.
        """

        def fail(detail: str, row: int | None = None) -> RuleFileError:
            return RuleFileError(source, detail, section=section, row=row)

        def show(bound: Fraction) -> str:
            return format_bound(bound, unit)

        if not isinstance(rows, list | tuple) or not rows:
            raise fail("没有分档(bands 应为非空数组)")
        bands: list[Band] = []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise fail("每一档应写成 { low = …, high = …, value = … }", number)
            unknown = sorted(set(row) - {"low", "high", "value"})
            if unknown:
                raise fail(f"未知的键 {'、'.join(unknown)}", number)
            for key in ("low", "high", "value"):
                if key not in row:
                    raise fail(f"缺少 {key}", number)
            try:
                low = parse_bound(row["low"], unit)
            except ValueError as exc:
                raise fail(f"下限 low {exc}", number) from None
            try:
                high = parse_bound(row["high"], unit)
            except ValueError as exc:
                raise fail(f"上限 high {exc}", number) from None
            try:
                value = parse_value(row["value"])
            except ValueError as exc:
                raise fail(f"value {exc}", number) from None
            if low < 0 or high > maximum:
                raise fail(
                    f"[{show(low)}, {show(high)}) 超出 {show(Fraction(0))}–{show(maximum)} 的范围",
                    number,
                )
            if low >= high:
                raise fail(f"下限 {show(low)} 不小于上限 {show(high)}", number)
            bands.append(Band(low, high, value))
        # Order first, so a table written top band first gets one clear message.
        for number in range(2, len(bands) + 1):
            low, previous = bands[number - 1].low, bands[number - 2]
            if low < previous.low:
                raise fail(
                    f"下限 {show(low)} 小于上一行下限 {show(previous.low)}:"
                    "各档应按下限从小到大排列",
                    number,
                )
        zero = show(Fraction(0))
        if bands[0].low != 0:
            raise fail(
                f"第一档下限应为 {zero},实为 {show(bands[0].low)}(未覆盖 {zero} 起的范围)", 1
            )
        for number in range(2, len(bands) + 1):
            low, previous = bands[number - 1].low, bands[number - 2]
            if low < previous.high:
                raise fail(
                    f"下限 {show(low)} 与上一行上限 {show(previous.high)} 不衔接:两档重叠", number
                )
            if low > previous.high:
                raise fail(
                    f"下限 {show(low)} 与上一行上限 {show(previous.high)} 不衔接:中间有空档", number
                )
        if bands[-1].high != maximum:
            top = show(maximum)
            raise fail(
                f"最高一档上限应为 {top},实为 {show(bands[-1].high)}(未覆盖到 {top})", len(bands)
            )
        # The top band is closed so that a rate of exactly 100 % (or a full score) has a band.
        bands[-1] = Band(bands[-1].low, bands[-1].high, bands[-1].value, includes_high=True)
        return cls(title=title, unit=unit, bands=tuple(bands))

    @property
    def maximum(self) -> Fraction:
        """Return the top of the covered range (1 for rates)."""
        return self.bands[-1].high

    def band_for(self, x: Exact) -> Band:
        """Return the band holding x, comparing exactly; raise ValueError outside the range."""
        x = exact(x)
        if not 0 <= x <= self.maximum:
            raise ValueError(f"{x} 超出 {self.title} 的范围")
        return self.bands[bisect_right(self.bands, x, key=lambda band: band.low) - 1]

    def lookup(self, x: Exact) -> BandValue:
        """Return the value of the band holding x."""
        return self.band_for(x).value

    def row_text(self, band: Band) -> str:
        """Return one band as "[low, high) → value"."""
        closing = "]" if band.includes_high else ")"
        low = format_bound(band.low, self.unit)
        high = format_bound(band.high, self.unit)
        return f"[{low}, {high}{closing} → {format_band_value(band.value)}"

    def describe(self) -> str:
        """Print the table back as data, one "[low, high) → value" line per band."""
        return "\n".join([self.title, *(self.row_text(band) for band in self.bands)])

    def __str__(self) -> str:
        return self.describe()
