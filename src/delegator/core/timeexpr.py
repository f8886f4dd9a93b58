"""Time as clients write it: durations, business days, working hours and periods away.

All of it is pure: ``now`` always comes from the caller, already in the right time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

Unit = Literal["minutes", "hours", "days", "weeks", "business_days"]

_UNITS: dict[str, Unit] = {
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "week": "weeks", "weeks": "weeks",
    "bd": "business_days", "business day": "business_days", "business days": "business_days",
    "working day": "business_days", "working days": "business_days",
}  # fmt: skip

_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]+(?:\s+days?)?)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time as written in a rule: ``30m``, ``2h``, ``3d``, ``1w``, ``2 business days``."""

    amount: int
    unit: Unit

    def __str__(self) -> str:
        if self.unit == "business_days":
            return f"{self.amount} business day{'s' if self.amount != 1 else ''}"
        return f"{self.amount}{self.unit[0]}"

    @property
    def is_calendar(self) -> bool:
        """Whether the duration counts whole days (days, weeks, business days)."""
        return self.unit in ("days", "weeks", "business_days")

    def after(self, now: datetime, holidays: frozenset[date] = frozenset()) -> datetime:
        """The instant this long after ``now`` (business days skip weekends and holidays)."""
        if self.unit == "business_days":
            return datetime.combine(
                add_business_days(now.date(), self.amount, holidays), now.timetz()
            )
        return now + self.timedelta()

    def before(self, now: datetime, holidays: frozenset[date] = frozenset()) -> datetime:
        """The instant this long before ``now``."""
        if self.unit == "business_days":
            day = add_business_days(now.date(), -self.amount, holidays)
            return datetime.combine(day, now.timetz())
        return now - self.timedelta()

    def timedelta(self) -> timedelta:
        match self.unit:
            case "minutes":
                return timedelta(minutes=self.amount)
            case "hours":
                return timedelta(hours=self.amount)
            case "days":
                return timedelta(days=self.amount)
            case "weeks":
                return timedelta(weeks=self.amount)
            case "business_days":
                # An approximation used only where a fixed length is needed (never for windows).
                return timedelta(days=self.amount * 7 / 5)


def parse_duration(text: object) -> Duration:
    """Parse ``30m``, ``2h``, ``3d``, ``1w``, ``2 business days``; ValueError says what is wrong."""
    if isinstance(text, date):
        raise ValueError(
            f"expected a duration such as '3d' or '2 business days', got the date {text}"
        )
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"expected a duration such as '3d' or '2 business days', got {text!r}")
    if isinstance(text, int):
        raise ValueError(f"a duration needs a unit: write '{text}d', '{text}h' or '{text}m'")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f"invalid duration {text!r}: write a number and a unit, "
            "e.g. '30m', '2h', '3d', '1w' or '2 business days'"
        )
    unit_text = " ".join(match.group(2).lower().split())
    unit = _UNITS.get(unit_text)
    if unit is None:
        raise ValueError(
            f"invalid duration {text!r}: unknown unit '{unit_text}' "
            "(use m, h, d, w or business days)"
        )
    return Duration(int(match.group(1)), unit)


def is_business_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: date, count: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date ``count`` business days from ``start`` (negative goes back); 0 is ``start``."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    day = start
    while remaining:
        day += timedelta(days=step)
        if is_business_day(day, holidays):
            remaining -= 1
    return day


def parse_date(value: object) -> date:
    """A date as YAML gives it (already a date) or as text ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"invalid date {value!r}: write it as YYYY-MM-DD, e.g. 2026-12-24")


@dataclass(frozen=True, slots=True)
class DateRange:
    """A period away, inclusive at both ends: ``2026-12-24..2027-01-06`` or one date."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}..{self.end}"


def parse_date_range(value: object) -> DateRange:
    if isinstance(value, str) and ".." in value:
        first, _, last = value.partition("..")
        start, end = parse_date(first), parse_date(last)
        if end < start:
            raise ValueError(f"the period {value!r} ends before it starts")
        return DateRange(start, end)
    try:
        day = parse_date(value)
    except ValueError:
        raise ValueError(
            f"invalid period {value!r}: write a date (2026-12-24) or a range (2026-12-24..2027-01-06)"
        ) from None
    return DateRange(day, day)


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = re.compile(
    r"^\s*(?P<days>[A-Za-z ,\-]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


@dataclass(frozen=True, slots=True)
class Shift:
    weekday: int  # 0 = Monday
    start: time
    end: time | None  # None: until midnight (written 24:00)

    def covers(self, moment: time) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Weekly working hours, e.g. ``Mon-Fri 09:00-17:00; Sat 10:00-12:00`` (local time)."""

    shifts: tuple[Shift, ...]
    text: str

    def __str__(self) -> str:
        return self.text

    def is_working(self, local: datetime) -> bool:
        """Whether ``local`` (a wall-clock time in the assistant's zone) falls in a shift."""
        weekday, moment = local.weekday(), local.time()
        return any(s.weekday == weekday and s.covers(moment) for s in self.shifts)

    def next_start(self, local: datetime) -> datetime | None:
        """``local`` when working now, else the start of the next shift within a week."""
        if self.is_working(local):
            return local
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            starts = sorted(
                datetime.combine(day, s.start, local.tzinfo)
                for s in self.shifts
                if s.weekday == day.weekday()
            )
            for start in starts:
                if start > local:
                    return start
        return None


def _parse_days(text: str) -> list[int]:
    words = text.strip().lower()
    if words in ("daily", "every day", "all week"):
        return list(range(7))
    if words in ("weekdays",):
        return list(range(5))
    days: list[int] = []
    for part in (p.strip() for p in words.split(",")):
        first, sep, last = part.partition("-")
        names = [first.strip()[:3], last.strip()[:3]] if sep else [part[:3]]
        for name in names:
            if name not in _DAY_NAMES:
                raise ValueError(f"unknown day {name!r} (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
        if sep:
            a, b = _DAY_NAMES.index(names[0]), _DAY_NAMES.index(names[1])
            days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        else:
            days.append(_DAY_NAMES.index(names[0]))
    return days


def _parse_clock(text: str, *, end: bool) -> time | None:
    hours, minutes = (int(x) for x in text.split(":"))
    if end and hours == 24 and minutes == 0:
        return None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"invalid time {text!r}")
    return time(hours, minutes)


def parse_working_hours(value: object) -> WorkingHours:
    """Parse ``"Mon-Fri 09:00-17:00"``, several shifts separated by ``;`` or given as a list."""
    if isinstance(value, str):
        parts = [p for p in value.split(";") if p.strip()]
    elif isinstance(value, list) and all(isinstance(p, str) for p in value):
        parts = list(value)
    else:
        raise ValueError(f"expected working hours such as 'Mon-Fri 09:00-17:00', got {value!r}")
    if not parts:
        raise ValueError("working hours are empty: write e.g. 'Mon-Fri 09:00-17:00'")
    shifts: list[Shift] = []
    for part in parts:
        match = _SHIFT.match(part)
        if not match:
            raise ValueError(
                f"invalid working hours {part.strip()!r}: write days and times, "
                "e.g. 'Mon-Fri 09:00-17:00'"
            )
        start = _parse_clock(match["start"], end=False)
        finish = _parse_clock(match["end"], end=True)
        assert start is not None
        if finish is not None and finish <= start:
            raise ValueError(
                f"invalid working hours {part.strip()!r}: the shift ends before it starts"
            )
        shifts.extend(Shift(day, start, finish) for day in _parse_days(match["days"]))
    text = "; ".join(p.strip() for p in parts)
    return WorkingHours(tuple(shifts), text)


def holidays_set(days: Iterable[date]) -> frozenset[date]:
    return frozenset(days)
