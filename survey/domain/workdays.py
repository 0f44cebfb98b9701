"""Working days (工作日): deadlines such as "会后7个工作日内" counted past weekends and holidays.

A calendar is written as text, one date per line, so that a unit can paste the State
Council's yearly holiday notice:

    2026-10-01 国庆节          a holiday (法定节假日), not a working day
    2026-10-10 上班            a weekend day that is worked (调休), so it counts
    +2026-10-10                the same, shorter
    # a comment

Anything after the date is a note; a note containing 上班 or 补班 (or a leading "+") marks an
adjusted working day. Saturdays and Sundays are rest days unless so marked.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

_LINE_RE = re.compile(r"(\+?)\s*(\d{4})-(\d{1,2})-(\d{1,2})(.*)")
_WORKED = ("上班", "补班")


@dataclass(frozen=True)
class Calendar:
    """Holidays and adjusted working weekend days; weekdays and weekends are implied."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def merged(self, other: "Calendar") -> "Calendar":
        """Return a calendar with both lists; a day listed as worked in either is worked."""
        workdays = self.workdays | other.workdays
        return Calendar((self.holidays | other.holidays) - workdays, workdays)

    def is_working_day(self, day: date) -> bool:
        """Tell whether people work on this day."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> date:
        """Return the count-th working day after start; start itself is never counted.

        A meeting on Friday with 7 working days to answer: the deadline is the Tuesday
        after next (Mon … Fri, Mon, Tue), later by one day for each holiday in between.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        day = start
        left = count
        while left:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Count the working days after start up to and including end (0 if end ≤ start)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


def parse_calendar(text: str | Iterable[str]) -> Calendar:
    """Read a calendar (see the module docstring); raise ValueError naming the bad line."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    holidays: set[date] = set()
    workdays: set[date] = set()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE_RE.fullmatch(line)
        if not match:
            raise ValueError(f"第{number}行“{line}”不是日期，应写成 2026-10-01 的形式")
        plus, year, month, day_of_month, note = match.groups()
        try:
            day = date(int(year), int(month), int(day_of_month))
        except ValueError:
            raise ValueError(f"第{number}行“{line}”不是有效日期") from None
        if plus or any(word in note for word in _WORKED):
            workdays.add(day)
        else:
            holidays.add(day)
    both = holidays & workdays
    if both:
        first = min(both).isoformat()
        raise ValueError(f"{first} 既列为节假日又列为调休上班日")
    return Calendar(frozenset(holidays), frozenset(workdays))
