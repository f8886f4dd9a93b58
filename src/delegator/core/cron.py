"""Cron schedules for summaries and digests, read as wall-clock times in a person's time zone.

A client writes ``"0 17 * * FRI"`` and means five o'clock on Friday where they live, in winter and
in summer. So fire times are wall-clock times in a zone: a time skipped by a clock change (02:30
on the night clocks go forward) fires at the first instant after the gap, and a time that happens
twice (when clocks go back) fires once, the first time. The day rule is the usual one: when both
day of month and day of week are restricted (neither is ``*``), a day matching either fires.

Pure: no clock is read, ``at`` always comes from the caller. Searches step through matching days
and then through the hours and minutes of the expression, never minute by minute.

Written here, not taken from croniter or APScheduler's CronTrigger: neither fires a skipped wall
time once after the gap and a repeated one once, and neither is pure (the core reads no clock).
croniter stays the tests' independent oracle (tests/unit/test_cron.py).
"""

from __future__ import annotations

import bisect
import calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# How far the searches look: a 29 February schedule waits up to 8 years (2096 -> 2104).
_NEXT_HORIZON_DAYS = 366 * 9
_LATEST_HORIZON_DAYS = 400
# A clock change moves wall time by at most this much (2 h in historical double summer time).
_DST_SLACK = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str  # as people say it: "day of week"
    low: int
    high: int
    names: tuple[str, ...] = ()  # JAN.., SUN..; index + name_base is the value
    name_base: int = 0
    what: str = ""  # "a day (SUN-SAT or 0-7)"


_MINUTE = _Field("minute", 0, 59, what="a minute (0-59)")
_HOUR = _Field("hour", 0, 23, what="an hour (0-23)")
_DOM = _Field("day of month", 1, 31, what="a day of the month (1-31)")
_MONTH = _Field("month", 1, 12, _MONTHS, 1, "a month (JAN-DEC or 1-12)")
_DOW = _Field("day of week", 0, 7, _DAYS, 0, "a day (SUN-SAT or 0-7)")
_FIELDS = (_MINUTE, _HOUR, _DOM, _MONTH, _DOW)


def _value(text: str, spec: _Field) -> int:
    word = text.strip().upper()
    if word in spec.names:
        return spec.names.index(word) + spec.name_base
    if not word.isdigit():
        raise ValueError(f"{spec.name}: '{text}' is not {spec.what}")
    number = int(word)
    if not spec.low <= number <= spec.high:
        raise ValueError(f"{spec.name}: {number} is out of range ({spec.low}-{spec.high})")
    return number


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    if not text:
        raise ValueError(f"{spec.name}: empty")
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError(f"{spec.name}: '{text}' has an empty item between commas")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{spec.name}: step '{step_text}' in '{part}' is not 1 or more")
            step = int(step_text)
        if base in ("*", "?"):
            low, high = spec.low, spec.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _value(first, spec), _value(last, spec)
            if low > high:
                raise ValueError(
                    f"{spec.name}: the range '{base}' runs backwards; write it from low to high"
                )
        else:
            low = _value(base, spec)
            high = spec.high if slash else low  # "10/5" means from 10 on, every 5
        values.update(range(low, high + 1, step))
    return frozenset(values)


def _split(text: str) -> list[str]:
    stripped = text.strip()
    if stripped.startswith("@"):
        macro = _MACROS.get(stripped.lower())
        if macro is None:
            raise ValueError(f"unknown schedule '{stripped}': use one of {', '.join(_MACROS)}")
        stripped = macro
    parts = stripped.split()
    if len(parts) != 5:
        raise ValueError(
            "a schedule has 5 fields (minute hour day-of-month month day-of-week), "
            f"'{text.strip()}' has {len(parts)}"
        )
    return parts


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression; ``text`` is what the person wrote."""

    text: str
    minutes: tuple[int, ...] = field(init=False, compare=False, repr=False)
    hours: tuple[int, ...] = field(init=False, compare=False, repr=False)
    days: frozenset[int] = field(init=False, compare=False, repr=False)
    months: frozenset[int] = field(init=False, compare=False, repr=False)
    weekdays: frozenset[int] = field(init=False, compare=False, repr=False)  # 0 is Sunday
    days_restricted: bool = field(init=False, compare=False, repr=False)
    weekdays_restricted: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ValueError(f"a schedule is text such as '0 17 * * FRI', got {self.text!r}")
        parts = _split(self.text)
        minute, hour, dom, month, dow = (
            _parse_field(p, spec) for p, spec in zip(parts, _FIELDS, strict=True)
        )
        days_restricted = parts[2] not in ("*", "?")
        weekdays_restricted = parts[4] not in ("*", "?")
        if days_restricted and not weekdays_restricted:
            longest = max(_longest_month(m) for m in month)
            if min(dom) > longest:
                months = ", ".join(_MONTHS[m - 1] for m in sorted(month))
                raise ValueError(
                    f"day of month: no day {min(dom)} in {months}: this schedule never fires"
                )
        parsed = {
            "text": self.text.strip(),
            "minutes": tuple(sorted(minute)),
            "hours": tuple(sorted(hour)),
            "days": dom,
            "months": month,
            "weekdays": frozenset(d % 7 for d in dow),
            "days_restricted": days_restricted,
            "weekdays_restricted": weekdays_restricted,
        }
        for name, value in parsed.items():
            object.__setattr__(self, name, value)

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Read five fields or a macro (``@daily``); ValueError names the wrong field and value."""
        return cls(text)

    # ------------------------------------------------------------------------- searching

    def matches_day(self, day: date) -> bool:
        """Whether the schedule fires on this calendar day (at some hour)."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def next_after(self, at: datetime, tz: ZoneInfo) -> datetime:
        """The first fire time strictly after ``at``, in ``tz``."""
        _require_aware(at)
        local = at.astimezone(tz)
        for day in self._days_from(local.date(), 1, _NEXT_HORIZON_DAYS):
            for wall in self._times(day, forward=True, near=local if day == local.date() else None):
                instant = _resolve(wall, tz)
                if instant > at:
                    return instant
        raise ValueError(f"the schedule '{self.text}' does not fire in the next years")

    def latest_at_or_before(self, at: datetime, tz: ZoneInfo) -> datetime | None:
        """The most recent fire time at or before ``at``, in ``tz``; None if none in ~400 days."""
        _require_aware(at)
        local = at.astimezone(tz)
        for day in self._days_from(local.date(), -1, _LATEST_HORIZON_DAYS):
            near = local if day == local.date() else None
            for wall in self._times(day, forward=False, near=near):
                instant = _resolve(wall, tz)
                if instant <= at:
                    return instant
        return None

    def _days_from(self, start: date, step: int, horizon: int) -> Iterator[date]:
        day = start
        while abs((day - start).days) <= horizon:
            if day.month not in self.months:
                day = _month_edge(day, step)  # skip the rest of this month
                continue
            if self.matches_day(day):
                yield day
            day += timedelta(days=step)

    def _times(self, day: date, *, forward: bool, near: datetime | None) -> Iterator[datetime]:
        """Wall times of one day in order; near the start instant, only the hours that can count."""
        hours: tuple[int, ...] = self.hours
        if near is not None:
            wall = near.replace(tzinfo=None, fold=0)
            if forward:
                floor = (wall - _DST_SLACK).hour if (wall - _DST_SLACK).date() == day else 0
                hours = hours[bisect.bisect_left(hours, floor) :]
            else:
                ceiling = (wall + _DST_SLACK).hour if (wall + _DST_SLACK).date() == day else 23
                hours = hours[: bisect.bisect_right(hours, ceiling)]
        minutes = self.minutes if forward else tuple(reversed(self.minutes))
        for hour in hours if forward else reversed(hours):
            for minute in minutes:
                yield datetime.combine(day, time(hour, minute))

    # ------------------------------------------------------------------------- words

    def describe(self) -> str:
        """In words, for check and summaries: "every Friday at 17:00"; else the expression."""
        if len(self.minutes) != 1:
            return self.text
        times = [f"{h:02d}:{self.minutes[0]:02d}" for h in self.hours]
        if len(times) > 3:
            return self.text
        at = "at " + _and(times)
        all_months = len(self.months) == 12
        every_dom = not self.days_restricted
        every_dow = not self.weekdays_restricted
        if not all_months:
            return self.text
        if every_dom and every_dow:
            return f"every day {at}"
        if every_dom:
            days = sorted(self.weekdays)
            if days == [1, 2, 3, 4, 5]:
                return f"weekdays {at}"
            if days == [0, 6]:
                return f"weekends {at}"
            return f"every {_and([_DAY_NAMES[d] for d in _week_order(days)])} {at}"
        if every_dow and len(self.days) <= 3:
            ordinals = [_ordinal(d) for d in sorted(self.days)]
            return f"on the {_and(ordinals)} of every month {at}"
        return self.text


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a schedule needs an aware datetime (with a time zone)")


def _resolve(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant of a wall time in tz: the first of two, or the end of a gap it falls in."""
    first = wall.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # The clocks jumped over this wall time. Read with the offset from after the jump it is an
    # instant before the gap, with the offset from before it an instant after: the jump is
    # between the two, found by bisection on whole seconds (zone transitions are whole seconds).
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high.astimezone(tz)


def _month_edge(day: date, step: int) -> date:
    if step > 0:
        return (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return day.replace(day=1) - timedelta(days=1)


def _longest_month(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


def _week_order(days: list[int]) -> list[int]:
    """Monday first, as people list the days of a working week."""
    return sorted(days, key=lambda d: (d + 6) % 7)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _and(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
