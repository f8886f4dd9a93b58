from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from delegator.core.timeexpr import (
    DateRange,
    Duration,
    add_business_days,
    parse_date_range,
    parse_duration,
    parse_working_hours,
)

ROME = ZoneInfo("Europe/Rome")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", Duration(30, "minutes")),
        ("2h", Duration(2, "hours")),
        ("3d", Duration(3, "days")),
        ("1w", Duration(1, "weeks")),
        ("2 business days", Duration(2, "business_days")),
        ("1 business day", Duration(1, "business_days")),
        ("5 BD", Duration(5, "business_days")),
        ("10 minutes", Duration(10, "minutes")),
    ],
)
def test_durations_as_clients_write_them(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2 minutez", "unknown unit 'minutez'"),
        ("soon", "write a number and a unit"),
        (3, "a duration needs a unit: write '3d'"),
        (None, "expected a duration"),
    ],
)
def test_bad_durations_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


def test_business_days_skip_weekends_and_holidays() -> None:
    friday = date(2026, 11, 27)
    assert add_business_days(friday, 1) == date(2026, 11, 30)
    assert add_business_days(friday, 2, frozenset({date(2026, 11, 30)})) == date(2026, 12, 2)
    assert add_business_days(friday, 0) == friday
    assert add_business_days(date(2026, 11, 30), -1) == friday


def test_business_day_durations_keep_the_time_of_day() -> None:
    now = datetime(2026, 11, 27, 16, 30, tzinfo=ROME)
    assert Duration(1, "business_days").after(now) == datetime(2026, 11, 30, 16, 30, tzinfo=ROME)


def test_working_hours_know_who_is_working_and_when_the_next_shift_starts() -> None:
    hours = parse_working_hours("Mon-Thu 09:00-17:00; Fri 09:00-13:00")
    assert hours.is_working(datetime(2026, 11, 26, 9, 0, tzinfo=ROME))
    assert not hours.is_working(datetime(2026, 11, 26, 17, 0, tzinfo=ROME))
    assert not hours.is_working(datetime(2026, 11, 27, 14, 0, tzinfo=ROME))
    friday_afternoon = datetime(2026, 11, 27, 14, 0, tzinfo=ROME)
    assert hours.next_start(friday_afternoon) == datetime(2026, 11, 30, 9, 0, tzinfo=ROME)


def test_working_hours_until_midnight_and_daily() -> None:
    hours = parse_working_hours(["daily 18:00-24:00"])
    assert hours.is_working(datetime(2026, 11, 29, 23, 59, tzinfo=ROME))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Mon-Fri", "write days and times"),
        ("Mon-Fry 09:00-17:00", "unknown day 'fry'"),
        ("Mon 17:00-09:00", "ends before it starts"),
        ("Mon 25:00-26:00", "invalid time"),
    ],
)
def test_bad_working_hours(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_working_hours(text)


def test_periods_away() -> None:
    period = parse_date_range("2026-12-24..2027-01-06")
    assert date(2027, 1, 1) in period
    assert date(2027, 1, 7) not in period
    assert parse_date_range(date(2026, 12, 8)) == DateRange(date(2026, 12, 8), date(2026, 12, 8))
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_date_range("2027-01-06..2026-12-24")
