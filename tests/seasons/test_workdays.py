"""Working days: "会后7个工作日内" past weekends, holidays and 调休 working weekends."""

from datetime import date

import pytest

from survey.domain.workdays import Calendar, parse_calendar

PLAIN = Calendar()


def test_seven_working_days_from_a_friday_cross_one_weekend():
    friday = date(2026, 3, 6)
    # Mon 9 … Fri 13 (5), Mon 16 (6), Tue 17 (7).
    assert PLAIN.add_working_days(friday, 7) == date(2026, 3, 17)


def test_the_meeting_day_itself_is_not_counted():
    monday = date(2026, 3, 9)
    assert PLAIN.add_working_days(monday, 1) == date(2026, 3, 10)
    assert PLAIN.add_working_days(monday, 7) == date(2026, 3, 18)


def test_a_meeting_on_a_saturday_counts_from_monday():
    assert PLAIN.add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)


def test_a_holiday_in_between_pushes_the_deadline_by_a_day():
    calendar = parse_calendar("2026-03-12 假日")  # a Thursday
    assert calendar.add_working_days(date(2026, 3, 6), 7) == date(2026, 3, 18)


def test_national_day_week_with_adjusted_working_days():
    # A week off from 10-01 to 10-07, and Saturday 10-10 worked instead (调休).
    text = """
    # 国庆节、中秋节
    2026-10-01 国庆节
    2026-10-02
    2026-10-03
    2026-10-04
    2026-10-05
    2026-10-06
    2026-10-07
    2026-10-10 上班
    """
    calendar = parse_calendar(text)
    assert not calendar.is_working_day(date(2026, 10, 5))  # a Monday, but a holiday
    assert calendar.is_working_day(date(2026, 10, 10))  # a Saturday, but worked
    # Meeting Wed 09-30: Thu 10-08 (1), Fri 10-09 (2), Sat 10-10 (3), Mon 12 … Thu 15 (7).
    assert calendar.add_working_days(date(2026, 9, 30), 7) == date(2026, 10, 15)
    # Without the 调休 Saturday it would be one working day later.
    holidays_only = Calendar(calendar.holidays)
    assert holidays_only.add_working_days(date(2026, 9, 30), 7) == date(2026, 10, 16)


def test_plus_sign_marks_a_worked_weekend_day_too():
    calendar = parse_calendar("+2026-10-11")
    assert calendar.workdays == {date(2026, 10, 11)}


def test_merging_the_instance_list_with_the_seasons():
    instance = parse_calendar("2026-05-01")
    season = parse_calendar("2026-05-04\n2026-05-09 补班")
    both = instance.merged(season)
    assert not both.is_working_day(date(2026, 5, 1)) and not both.is_working_day(date(2026, 5, 4))
    assert both.is_working_day(date(2026, 5, 9))


def test_working_days_between_counts_after_the_start_up_to_the_end():
    assert PLAIN.working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1
    assert PLAIN.working_days_between(date(2026, 3, 9), date(2026, 3, 9)) == 0
    assert PLAIN.working_days_between(date(2026, 3, 9), date(2026, 3, 6)) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026/10/01", "不是日期"),
        ("2026-02-30", "不是有效日期"),
        ("2026-10-01\n2026-10-01 上班", "既列为节假日又列为调休上班日"),
    ],
)
def test_bad_calendars_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_calendar(text)


def test_count_must_be_positive():
    with pytest.raises(ValueError):
        PLAIN.add_working_days(date(2026, 3, 6), 0)
