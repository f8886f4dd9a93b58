"""Cron schedules: table tests, clock changes, and croniter as an independent oracle."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from delegator.core.cron import Cron

BERLIN = ZoneInfo("Europe/Berlin")
ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _fires(expression: str, start: datetime, tz: ZoneInfo, count: int) -> list[str]:
    cron = Cron.parse(expression)
    out = []
    at = start
    for _ in range(count):
        at = cron.next_after(at, tz)
        out.append(at.isoformat())
    return out


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("expression", "start", "expected"),
    [
        # Friday 27 Nov 2026, 16:59 in Rome
        ("0 17 * * FRI", "2026-11-27T16:59:00+01:00", ["2026-11-27T17:00:00+01:00"]),
        ("0 17 * * fri", "2026-11-27T17:00:00+01:00", ["2026-12-04T17:00:00+01:00"]),
        (
            "0 8 * * MON-FRI",
            "2026-11-27T09:00:00+01:00",
            ["2026-11-30T08:00:00+01:00", "2026-12-01T08:00:00+01:00"],
        ),
        (
            "*/20 9 * * *",
            "2026-11-27T09:05:00+01:00",
            ["2026-11-27T09:20:00+01:00", "2026-11-27T09:40:00+01:00", "2026-11-28T09:00:00+01:00"],
        ),
        (
            "0 1-5/2 * * *",
            "2026-11-27T00:00:00+01:00",
            ["2026-11-27T01:00:00+01:00", "2026-11-27T03:00:00+01:00", "2026-11-27T05:00:00+01:00"],
        ),
        ("0 0 1 jan *", "2026-11-27T00:00:00+01:00", ["2027-01-01T00:00:00+01:00"]),
        # 7 is Sunday, like 0
        ("0 12 * * 7", "2026-11-27T00:00:00+01:00", ["2026-11-29T12:00:00+01:00"]),
        ("0 12 * * 0", "2026-11-27T00:00:00+01:00", ["2026-11-29T12:00:00+01:00"]),
        # either day rule: the 13th, or any Friday
        (
            "0 0 13 * FRI",
            "2027-01-01T00:00:00+01:00",
            ["2027-01-08T00:00:00+01:00", "2027-01-13T00:00:00+01:00", "2027-01-15T00:00:00+01:00"],
        ),
        ("@daily", "2026-11-27T10:00:00+01:00", ["2026-11-28T00:00:00+01:00"]),
        ("@hourly", "2026-11-27T10:00:00+01:00", ["2026-11-27T11:00:00+01:00"]),
        ("@weekly", "2026-11-27T10:00:00+01:00", ["2026-11-29T00:00:00+01:00"]),
        ("@monthly", "2026-11-27T10:00:00+01:00", ["2026-12-01T00:00:00+01:00"]),
        ("@YEARLY", "2026-11-27T10:00:00+01:00", ["2027-01-01T00:00:00+01:00"]),
        # 29 February waits for a leap year
        ("0 0 29 2 *", "2026-11-27T10:00:00+01:00", ["2028-02-29T00:00:00+01:00"]),
        ("30 9 10/10 * *", "2026-11-27T10:00:00+01:00", ["2026-11-30T09:30:00+01:00"]),
        ("0 9 * NOV-DEC 1,3", "2026-11-27T10:00:00+01:00", ["2026-11-30T09:00:00+01:00"]),
    ],
)
def test_next_fire_times(expression: str, start: str, expected: list[str]) -> None:
    assert _fires(expression, datetime.fromisoformat(start), ROME, len(expected)) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 17 * * FRY", re.escape("day of week: 'FRY' is not a day (SUN-SAT or 0-7)")),
        ("0 17 * JUNE *", re.escape("month: 'JUNE' is not a month (JAN-DEC or 1-12)")),
        ("60 * * * *", r"minute: 60 is out of range \(0-59\)"),
        ("0 24 * * *", r"hour: 24 is out of range \(0-23\)"),
        ("0 0 0 * *", r"day of month: 0 is out of range \(1-31\)"),
        ("0 0 * * 8", r"day of week: 8 is out of range \(0-7\)"),
        ("0 17 * *", r"5 fields .*has 4"),
        ("0 17 * * * *", r"5 fields .*has 6"),
        ("", r"5 fields .*has 0"),
        ("*/0 * * * *", "minute: step '0' in '\\*/0' is not 1 or more"),
        ("*/x * * * *", "minute: step 'x'"),
        ("0 17 * * FRI-MON", "day of week: the range 'FRI-MON' runs backwards"),
        ("0 0 1,,2 * *", "day of month: '1,,2' has an empty item"),
        ("0 0 31 4,6 *", "day of month: no day 31 in APR, JUN: this schedule never fires"),
        ("0 0 30 2 *", "never fires"),
        ("@reboot", "unknown schedule '@reboot': use one of @yearly"),
        ("0 -1 * * *", "hour: '' is not an hour"),
    ],
)
def test_mistakes_name_the_field_and_value(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cron.parse(expression)


def test_a_schedule_keeps_what_was_written_and_compares_by_it() -> None:
    cron = Cron.parse("  0 17 * * FRI ")
    assert cron.text == "0 17 * * FRI"
    assert cron == Cron.parse("0 17 * * FRI")
    assert cron != Cron.parse("0 17 * * 5")


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        Cron.parse("@daily").next_after(datetime(2026, 1, 1), ROME)
    with pytest.raises(ValueError, match="aware"):
        Cron.parse("@daily").latest_at_or_before(datetime(2026, 1, 1), ROME)


def test_results_are_in_the_schedule_zone_whatever_the_input_zone() -> None:
    fire = Cron.parse("0 17 * * FRI").next_after(_utc(2026, 11, 27, 12), NEW_YORK)
    assert fire.tzinfo == NEW_YORK
    assert fire.isoformat() == "2026-11-27T17:00:00-05:00"


# ----------------------------------------------------------------------------- the latest run


def test_latest_fire_time_at_or_before() -> None:
    cron = Cron.parse("0 17 * * FRI")
    friday_five = datetime(2026, 11, 27, 17, tzinfo=ROME)
    assert cron.latest_at_or_before(friday_five, ROME) == friday_five
    assert cron.latest_at_or_before(friday_five - timedelta(seconds=1), ROME) == datetime(
        2026, 11, 20, 17, tzinfo=ROME
    )
    assert cron.latest_at_or_before(friday_five + timedelta(days=3), ROME) == friday_five


def test_latest_gives_up_after_about_400_days() -> None:
    cron = Cron.parse("0 0 29 2 *")
    assert cron.latest_at_or_before(_utc(2029, 6, 1), ROME) is None  # last one: 2028-02-29
    assert cron.latest_at_or_before(_utc(2028, 12, 1), ROME) == datetime(2028, 2, 29, tzinfo=ROME)


def test_next_and_latest_agree() -> None:
    cron = Cron.parse("15 8,17 * * MON-FRI")
    at = _utc(2026, 11, 27, 12, 34, 56)
    latest = cron.latest_at_or_before(at, ROME)
    assert latest is not None
    assert cron.next_after(latest, ROME) == cron.next_after(at, ROME)
    assert cron.latest_at_or_before(cron.next_after(at, ROME) - timedelta(seconds=1), ROME) == (
        latest
    )


# ----------------------------------------------------------------------------- clock changes


def test_a_time_skipped_by_spring_forward_fires_when_the_gap_ends() -> None:
    # Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST.
    cron = Cron.parse("30 2 * * *")
    before = _utc(2026, 3, 28, 23)
    fire = cron.next_after(before, BERLIN)
    assert fire.isoformat() == "2026-03-29T03:00:00+02:00"
    assert cron.next_after(fire, BERLIN).isoformat() == "2026-03-30T02:30:00+02:00"
    assert cron.latest_at_or_before(_utc(2026, 3, 29, 5), BERLIN) == fire


def test_several_skipped_times_fire_once() -> None:
    cron = Cron.parse("*/15 2 * * *")
    fires = _fires("*/15 2 * * *", _utc(2026, 3, 28, 23), BERLIN, 2)
    assert fires == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"]
    assert cron.latest_at_or_before(_utc(2026, 3, 29, 12), BERLIN) == datetime.fromisoformat(
        fires[0]
    )


def test_a_time_repeated_by_fall_back_fires_once_the_first_time() -> None:
    # Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
    fires = _fires("30 2 * * *", _utc(2026, 10, 24, 12), BERLIN, 2)
    assert fires == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
    # In the second 02:30 (00:31 UTC was the first pass; 01:31 UTC is the second), no new fire.
    cron = Cron.parse("30 2 * * *")
    assert cron.next_after(_utc(2026, 10, 25, 1, 31), BERLIN).isoformat() == fires[1]
    latest = cron.latest_at_or_before(_utc(2026, 10, 25, 1, 45), BERLIN)
    assert latest is not None
    # (Python never finds an ambiguous local time equal to one in another zone: compare text.)
    assert latest.isoformat() == fires[0]


def test_hourly_schedules_across_fall_back_keep_every_hour_once() -> None:
    fires = _fires("0 * * * *", _utc(2026, 10, 24, 23, 30), BERLIN, 4)
    assert fires == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T03:00:00+01:00",  # the second 02:00 does not fire
        "2026-10-25T04:00:00+01:00",
        "2026-10-25T05:00:00+01:00",
    ]


def test_a_friday_summary_stays_at_five_in_summer_and_winter() -> None:
    cron = Cron.parse("0 17 * * FRI")
    assert cron.next_after(_utc(2026, 7, 1), ROME).utcoffset() == timedelta(hours=2)
    assert cron.next_after(_utc(2026, 12, 1), ROME).utcoffset() == timedelta(hours=1)
    assert cron.next_after(_utc(2026, 7, 1), ROME).hour == 17
    assert cron.next_after(_utc(2026, 12, 1), ROME).hour == 17


# ----------------------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 17 * * FRI", "every Friday at 17:00"),
        ("0 8 * * MON-FRI", "weekdays at 08:00"),
        ("0 8 * * 1-5", "weekdays at 08:00"),
        ("30 10 * * SAT,SUN", "weekends at 10:30"),
        ("0 9 * * MON,WED,FRI", "every Monday, Wednesday and Friday at 09:00"),
        ("0 9 * * SUN,MON", "every Monday and Sunday at 09:00"),
        ("0 8,17 * * *", "every day at 08:00 and 17:00"),
        ("@daily", "every day at 00:00"),
        ("0 9 1 * *", "on the 1st of every month at 09:00"),
        ("0 9 2,3,22 * *", "on the 2nd, 3rd and 22nd of every month at 09:00"),
        ("0 9 11 * *", "on the 11th of every month at 09:00"),
        ("*/15 * * * *", "*/15 * * * *"),
        ("0 9 * JAN *", "0 9 * JAN *"),
        ("0 9 13 * FRI", "0 9 13 * FRI"),
    ],
)
def test_describe(expression: str, words: str) -> None:
    assert Cron.parse(expression).describe() == words


# ----------------------------------------------------------------------------- the oracle


def _random_field(rng: random.Random, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    def value(lo: int = low, hi: int = high) -> str:
        n = rng.randint(lo, hi)
        if names and rng.random() < 0.4 and n - low < len(names):
            return names[n - low]
        return str(n)

    kind = rng.choice(["star", "star", "one", "list", "range", "step", "range_step"])
    if kind == "star":
        return "*"
    if kind == "one":
        return value()
    if kind == "list":
        return ",".join(sorted({value() for _ in range(rng.randint(2, 4))}))
    a = rng.randint(low, high - 1)
    b = rng.randint(a + 1, high)
    if kind == "range":
        return f"{a}-{b}"
    step = rng.randint(2, max(2, (high - low) // 2))
    return f"*/{step}" if kind == "step" else f"{a}-{b}/{step}"


def _random_expression(rng: random.Random) -> str:
    months = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    days = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
    while True:
        expression = " ".join(
            [
                _random_field(rng, 0, 59),
                _random_field(rng, 0, 23),
                _random_field(rng, 1, 28 if rng.random() < 0.7 else 31),
                _random_field(rng, 1, 12, months),
                _random_field(rng, 0, 6, days),
            ]
        )
        try:
            Cron.parse(expression)
        except ValueError:
            continue  # e.g. day 31 in a month without one
        return expression


def _random_instant(rng: random.Random, start: datetime, end: datetime) -> datetime:
    seconds = int((end - start).total_seconds())
    # Never on a whole minute, so "after" and "at or before" cannot be ambiguous.
    return start + timedelta(seconds=rng.randrange(seconds) // 60 * 60 + rng.randint(1, 59))


def test_matches_croniter_in_utc() -> None:
    rng = random.Random(20261127)
    compared = 0
    for _ in range(400):
        expression = _random_expression(rng)
        cron = Cron.parse(expression)
        at = _random_instant(rng, _utc(2020, 1, 1), _utc(2030, 1, 1))
        expected_next = croniter(expression, at).get_next(datetime)
        assert cron.next_after(at, ZoneInfo("UTC")) == expected_next, (expression, at)
        expected_prev = croniter(expression, at).get_prev(datetime)
        latest = cron.latest_at_or_before(at, ZoneInfo("UTC"))
        if at - expected_prev <= timedelta(days=399):
            assert latest == expected_prev, (expression, at)
            compared += 1
        elif at - expected_prev > timedelta(days=401):
            assert latest is None, (expression, at)
    assert compared > 300


def test_matches_croniter_in_berlin_winter() -> None:
    # croniter and this module agree where no clock change happens in between.
    rng = random.Random(7)
    winter_start = datetime(2026, 10, 25, 4, tzinfo=BERLIN)  # after the autumn change
    winter_end = datetime(2027, 3, 28, 1, tzinfo=BERLIN)  # before the spring change
    compared = 0
    for _ in range(400):
        expression = _random_expression(rng)
        cron = Cron.parse(expression)
        at = _random_instant(rng, winter_start, winter_end - timedelta(days=30))
        expected_next = croniter(expression, at).get_next(datetime)
        if expected_next < winter_end:
            assert cron.next_after(at, BERLIN) == expected_next, (expression, at)
            compared += 1
        expected_prev = croniter(expression, at).get_prev(datetime)
        if expected_prev > winter_start:
            assert cron.latest_at_or_before(at, BERLIN) == expected_prev, (expression, at)
            compared += 1
    assert compared > 400


def test_every_minute_is_found_without_a_long_walk() -> None:
    # A correctness check of the near-hour shortcut on the first day: the next minute, always.
    cron = Cron.parse("* * * * *")
    at = datetime(2026, 11, 27, 23, 58, 30, tzinfo=ROME)
    assert cron.next_after(at, ROME) == datetime(2026, 11, 27, 23, 59, tzinfo=ROME)
    assert cron.latest_at_or_before(at, ROME) == datetime(2026, 11, 27, 23, 58, tzinfo=ROME)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_next_and_latest_are_consistent_across_clock_changes(zone: str) -> None:
    # croniter has no opinion on clock changes; this checks the two searches against each other
    # over a whole year: the next fire is the latest one at its own instant, and none between.
    tz = ZoneInfo(zone)
    rng = random.Random(zone)
    for _ in range(200):
        expression = _random_expression(rng)
        cron = Cron.parse(expression)
        at = _random_instant(rng, _utc(2026, 1, 1), _utc(2027, 1, 1))
        fire = cron.next_after(at, tz)
        assert fire > at
        assert fire.tzinfo == tz
        latest = cron.latest_at_or_before(fire, tz)
        assert latest is not None
        assert latest.isoformat() == fire.isoformat(), (expression, at)
        before = cron.latest_at_or_before(fire - timedelta(seconds=1), tz)
        assert before is None or before <= at, (expression, at)
