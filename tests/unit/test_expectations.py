"""The clock of a delegation: working time, deadlines, reminders, escalations, what was observed
and the assistant's "not for me". Pure functions, no mocks: every moment is given."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from delegator.core.expectations import (
    Activity,
    Bounce,
    Clock,
    Deadline,
    Ledger,
    Step,
    StoryFact,
    StoryKind,
    WorkTime,
    bounce_command,
    clock,
    due_now,
    find_bounce,
    fold,
    next_deadline,
    observed,
    sorted_dues,
    status_lines,
    upcoming,
)
from delegator.core.schema import STAGES, Expectation, Stage
from delegator.core.timeexpr import DateRange, Duration, parse_duration, parse_working_hours

ROME = ZoneInfo("Europe/Rome")
LISBON = ZoneInfo("Europe/Lisbon")
NINE_TO_FIVE = "Mon-Fri 09:00-17:00"
# Calendar used below (2026): Mon 23 Nov .. Fri 27 Nov, Sat 28, Sun 29, Mon 30 Nov;
# Tue 8 Dec is a holiday in Italy. DST: Sun 29 March 02:00 -> 03:00, Sun 25 October 03:00 -> 02:00.


def at(day: int, hour: int = 0, minute: int = 0, *, month: int = 11, tz: Any = ROME) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=tz)


def work(
    hours: str | None = NINE_TO_FIVE,
    *,
    tz: Any = ROME,
    holidays: tuple[date, ...] = (),
    away: tuple[str, ...] = (),
) -> WorkTime:
    periods = []
    for text in away:
        first, _, last = text.partition("..")
        periods.append(DateRange(date.fromisoformat(first), date.fromisoformat(last or first)))
    return WorkTime(
        tz,
        parse_working_hours(hours) if hours is not None else None,
        frozenset(holidays),
        tuple(periods),
    )


def d(text: str) -> Duration:
    return parse_duration(text)


def expect(**keys: Any) -> Expectation:
    return Expectation.model_validate(keys)


# ----------------------------------------------------------------------------- working time


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "expected"),
    [
        pytest.param(work(), at(23, 10), "2h", at(23, 12), id="within-a-shift"),
        pytest.param(work(), at(23, 16), "2h", at(24, 10), id="across-a-night"),
        pytest.param(work(), at(23, 20), "30m", at(24, 9, 30), id="delegated-at-night"),
        pytest.param(work(), at(27, 16), "2h", at(30, 10), id="across-a-weekend"),
        pytest.param(work(), at(28, 11), "1h", at(30, 10), id="delegated-on-saturday"),
        pytest.param(
            work(holidays=(date(2026, 12, 8),)),
            at(7, 16, month=12),
            "2h",
            at(9, 10, month=12),
            id="across-a-holiday",
        ),
        pytest.param(
            work(away=("2026-12-01..2026-12-03",)),
            at(30, 16),
            "2h",
            at(4, 10, month=12),
            id="across-days-away",
        ),
        pytest.param(
            work("Mon-Fri 09:00-13:00; Mon-Fri 14:00-18:00"),
            at(23, 12),
            "2h",
            at(23, 15),
            id="over-a-lunch-break",
        ),
        pytest.param(
            work("Mon-Fri 09:00-13:00; Mon-Fri 14:00-18:00"),
            at(23, 13, 30),
            "10m",
            at(23, 14, 10),
            id="delegated-during-lunch",
        ),
        pytest.param(work("Mon-Fri 18:00-24:00"), at(23, 23, 30), "1h", at(24, 18, 30), id="to-24"),
        pytest.param(
            work("Mon 20:00-24:00; Tue 00:00-02:00"),
            at(23, 23),
            "2h",
            at(24, 1),
            id="to-24-then-from-midnight",
        ),
        pytest.param(work(None), at(27, 20), "6h", at(30, 2), id="no-hours-friday-night"),
        pytest.param(work(None), at(28, 12), "90m", at(30, 1, 30), id="no-hours-saturday"),
        pytest.param(work(None), at(23, 0), "48h", at(25, 0), id="no-hours-whole-days"),
        pytest.param(work(), at(23, 10), "0m", at(23, 10), id="nothing-while-working"),
        pytest.param(work(), at(23, 18), "0m", at(24, 9), id="nothing-after-hours"),
    ],
)
def test_working_time_is_added_over_shifts_only(
    calendar: WorkTime, start: datetime, duration: str, expected: datetime
) -> None:
    assert calendar.add(start, d(duration)) == expected


def test_an_assistant_in_another_zone_counts_in_her_own_hours() -> None:
    marco = work("Mon-Fri 14:00-20:00", tz=LISBON)  # Lisbon is an hour behind Rome in winter
    assert marco.add(at(23, 10), d("2h")) == at(23, 16, tz=LISBON) == at(23, 17)
    # Delegated at 20:30 in Rome, 19:30 in Lisbon: half an hour today, half tomorrow.
    due = marco.add(at(23, 20, 30), d("1h"))
    assert due == at(24, 14, 30, tz=LISBON)
    assert due is not None
    assert due.tzinfo is LISBON
    assert marco.working_between(at(23, 0), at(24, 0)) == timedelta(hours=6)
    assert marco.is_working(at(23, 20, 59))  # 19:59 in Lisbon
    assert not marco.is_working(at(23, 21))


def test_the_march_change_makes_a_sunday_an_hour_shorter() -> None:
    sundays = work("Sun 00:00-24:00")
    start = at(29, 0, month=3)
    assert sundays.working_between(start, at(30, 0, month=3)) == timedelta(hours=23)
    assert sundays.add(start, d("23h")) == at(30, 0, month=3)
    assert sundays.add(start, d("3h")) == at(29, 4, month=3)  # 02:00 does not exist that night
    night = work("Sun 01:00-04:00")
    assert night.working_between(at(29, 0, month=3), at(30, 0, month=3)) == timedelta(hours=2)


def test_the_october_change_makes_a_sunday_an_hour_longer() -> None:
    sundays = work("Sun 00:00-24:00")
    start = at(25, 0, month=10)
    assert sundays.working_between(start, at(26, 0, month=10)) == timedelta(hours=25)
    # 3 hours after midnight is 02:00 the second time (winter time, +01:00).
    later = sundays.add(start, d("3h"))
    assert later is not None
    assert later.astimezone(UTC) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    assert later.utcoffset() == timedelta(hours=1)
    night = work("Sun 01:00-04:00")
    assert night.working_between(at(25, 0, month=10), at(26, 0, month=10)) == timedelta(hours=4)


def test_a_weekday_calendar_across_the_changes_keeps_its_wall_clock() -> None:
    calendar = work()
    spring = calendar.add(at(27, 16, month=3), d("2h"))  # Friday before the change
    assert spring == at(30, 10, month=3)
    assert spring is not None
    assert spring.utcoffset() == timedelta(hours=2)
    autumn = calendar.add(at(23, 16, month=10), d("2h"))
    assert autumn == at(26, 10, month=10)
    assert autumn is not None
    assert autumn.utcoffset() == timedelta(hours=1)
    assert calendar.working_between(at(23, 9, month=10), at(26, 17, month=10)) == timedelta(
        hours=16
    )


def test_subtract_goes_back_in_working_time() -> None:
    calendar = work(holidays=(date(2026, 11, 27),))
    assert calendar.subtract(at(30, 10), d("2h")) == at(26, 16)  # Friday is a holiday
    assert calendar.subtract(at(30, 9), d("30m")) == at(26, 16, 30)
    assert calendar.subtract(at(24, 12), d("1h")) == at(24, 11)


def test_next_working_and_is_working() -> None:
    calendar = work()
    assert calendar.next_working(at(23, 10)) == at(23, 10)
    assert calendar.next_working(at(23, 17)) == at(24, 9)  # a shift ends before its end
    assert calendar.next_working(at(28, 10)) == at(30, 9)
    assert calendar.is_working(at(23, 9))
    assert not calendar.is_working(at(23, 17))
    assert not calendar.is_working(at(28, 10))


def test_no_working_time_ahead_gives_none() -> None:
    away = work(away=("2026-11-01..2028-12-31",))
    assert away.add(at(23, 10), d("1h")) is None
    assert away.add(at(23, 10), d("1d")) is None
    assert away.next_working(at(23, 10)) is None
    assert away.working_between(at(23, 10), at(30, 10)) == timedelta()


# ----------------------------------------------------------------------------- day units


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "expected"),
    [
        pytest.param(work(), at(23, 10), "1d", at(24, 17), id="next-day-end"),
        pytest.param(work(), at(23, 8), "1d", at(24, 17), id="before-the-shift-same"),
        pytest.param(work(), at(23, 10), "2d", at(25, 17), id="two-days"),
        pytest.param(work(), at(23, 10), "2 business days", at(25, 17), id="business-days"),
        pytest.param(work(), at(27, 10), "1d", at(30, 17), id="friday"),
        pytest.param(work(), at(28, 10), "1d", at(30, 17), id="saturday"),
        pytest.param(work(), at(29, 23), "1d", at(30, 17), id="sunday-night"),
        pytest.param(work(), at(23, 10), "1w", at(30, 17), id="a-week-is-5-working-days"),
        pytest.param(work(), at(23, 10), "5d", at(30, 17), id="five-days"),
        pytest.param(work(), at(23, 10), "2w", at(7, 17, month=12), id="two-weeks"),
        pytest.param(
            work(holidays=(date(2026, 12, 8),)),
            at(7, 10, month=12),
            "1d",
            at(9, 17, month=12),
            id="holiday",
        ),
        pytest.param(
            work(away=("2026-11-24..2026-11-25",)),
            at(23, 10),
            "1d",
            at(26, 17),
            id="away",
        ),
        pytest.param(
            work("Mon-Fri 09:00-13:00; Mon-Fri 14:00-18:00"),
            at(23, 10),
            "1d",
            at(24, 18),
            id="end-of-the-last-shift",
        ),
        pytest.param(work("Mon-Fri 18:00-24:00"), at(23, 19), "1d", at(25, 0), id="to-24"),
        pytest.param(work(None), at(23, 10), "1d", at(25, 0), id="no-hours"),
        pytest.param(
            work("Mon-Fri 14:00-20:00", tz=LISBON),
            at(23, 10),
            "1d",
            at(24, 20, tz=LISBON),
            id="other-zone",
        ),
    ],
)
def test_day_units_end_with_the_nth_working_day_after_the_delegation(
    calendar: WorkTime, start: datetime, duration: str, expected: datetime
) -> None:
    assert calendar.add(start, d(duration)) == expected


def test_the_day_of_delegation_is_counted_in_the_assistants_zone() -> None:
    # 00:30 on Tuesday in Rome is still Monday 23:30 in Lisbon: the next working day is Tuesday.
    marco = work("Mon-Fri 14:00-20:00", tz=LISBON)
    assert marco.add(at(24, 0, 30), d("1d")) == at(24, 20, tz=LISBON)


# ----------------------------------------------------------------------------- the clock


def test_the_clock_sets_each_stage_and_its_reminder() -> None:
    rule = expect(acknowledged_within="2h", started_within="1d", done_within="3d")
    clk = clock(rule, at(23, 10), work())
    assert [(x.stage, x.due, x.remind_at) for x in clk.deadlines] == [
        ("acknowledged", at(23, 12), at(23, 11)),
        ("started", at(24, 17), at(24, 16)),
        ("done", at(26, 17), at(26, 16)),
    ]
    assert clk.deadline("started") == clk.deadlines[1]
    assert clk.unknown == ()


def test_the_reminder_counts_working_time_back_from_the_deadline() -> None:
    # Delegated at 16:30 with 1h20m: due Tuesday 09:50; an hour earlier is Monday 16:50.
    clk = clock(expect(acknowledged_within="80m"), at(23, 16, 30), work())
    [deadline] = clk.deadlines
    assert (deadline.due, deadline.remind_at) == (at(24, 9, 50), at(23, 16, 50))
    clk = clock(expect(acknowledged_within="3h", remind_before="30m"), at(23, 16), work())
    assert clk.deadlines[0].remind_at == at(24, 10, 30)


@pytest.mark.parametrize(
    ("within", "before"), [("30m", "1h"), ("1h", "1h"), ("2h", "1d"), ("1d", "2d")]
)
def test_no_reminder_when_the_expectation_is_not_longer_than_the_notice(
    within: str, before: str
) -> None:
    clk = clock(expect(acknowledged_within=within, remind_before=before), at(23, 10), work())
    assert clk.deadlines[0].remind_at is None


def test_a_reminder_in_days_is_the_end_of_an_earlier_working_day() -> None:
    clk = clock(expect(done_within="3d", remind_before="1d"), at(23, 10), work())
    assert (clk.deadlines[0].due, clk.deadlines[0].remind_at) == (at(26, 17), at(25, 17))


def test_done_without_done_within_is_the_due_date() -> None:
    rule = expect(acknowledged_within="2h")
    clk = clock(rule, at(23, 10), work(), due_on=date(2026, 11, 26))
    assert [(x.stage, x.due, x.within) for x in clk.deadlines] == [
        ("acknowledged", at(23, 12), d("2h")),
        ("done", at(26, 17), None),
    ]
    assert clk.deadlines[1].describe() == "done by the due date"
    # Due on a Saturday: the end of Friday; on a holiday: the working day before it.
    assert clock(rule, at(23, 10), work(), due_on=date(2026, 11, 28)).deadlines[1].due == at(27, 17)
    holiday = work(holidays=(date(2026, 12, 8),))
    due = clock(rule, at(23, 10), holiday, due_on=date(2026, 12, 8)).deadlines[1].due
    assert due == at(7, 17, month=12)
    # No due date and no done_within: done has no deadline.
    assert [x.stage for x in clock(rule, at(23, 10), work()).deadlines] == ["acknowledged"]


def test_done_within_wins_over_the_due_date() -> None:
    clk = clock(expect(done_within="1d"), at(23, 10), work(), due_on=date(2026, 11, 27))
    assert [(x.stage, x.due) for x in clk.deadlines] == [("done", at(24, 17))]


def test_a_stage_with_no_working_time_ahead_is_unknown_never_due() -> None:
    away = work(away=("2026-11-01..2028-12-31",))
    clk = clock(expect(acknowledged_within="2h", done_within="2d"), at(23, 10), away)
    assert clk.deadlines == ()
    assert clk.unknown == ("acknowledged", "done")
    assert due_now(clk, Ledger(), at(23, 10) + timedelta(days=300), away) == []
    assert status_lines(clk, Ledger(), at(23, 10), ROME) == [
        "acknowledged: no working time ahead (no deadline)",
        "done: no working time ahead (no deadline)",
    ]


# ----------------------------------------------------------------------------- due now

FOLLOW = expect(
    acknowledged_within="2h", started_within="1d", done_within="3d", remind_before="30m"
)


def steps(dues: list[Any]) -> list[tuple[Stage, Step]]:
    return [(x.stage, x.step) for x in dues]


def test_nothing_is_due_before_the_reminder() -> None:
    clk = clock(FOLLOW, at(23, 10), work())
    assert due_now(clk, Ledger(), at(23, 11), work()) == []


def test_a_reminder_is_due_once_before_the_deadline() -> None:
    clk = clock(FOLLOW, at(23, 10), work())
    assert steps(due_now(clk, Ledger(), at(23, 11, 30), work())) == [
        ("acknowledged", Step.REMINDER)
    ]
    reminded = Ledger(reminded=frozenset({"acknowledged"}))
    assert due_now(clk, reminded, at(23, 11, 45), work()) == []


def test_a_reminder_waits_for_the_assistants_hours() -> None:
    # Delegated at 16:00 with 70 minutes: due Tuesday 09:10, reminder Monday 16:40.
    rule = expect(acknowledged_within="70m", remind_before="30m")
    clk = clock(rule, at(23, 16), work())
    assert clk.deadlines[0].remind_at == at(23, 16, 40)
    assert due_now(clk, Ledger(), at(23, 20), work()) == []  # she is not working: no reminder
    assert steps(due_now(clk, Ledger(), at(24, 9, 5), work())) == [("acknowledged", Step.REMINDER)]


def test_once_the_deadline_passed_it_escalates_instead_of_reminding() -> None:
    clk = clock(FOLLOW, at(23, 10), work())
    assert steps(due_now(clk, Ledger(), at(23, 12), work())) == [("acknowledged", Step.ESCALATION)]
    escalated = Ledger(escalated=frozenset({"acknowledged"}))
    assert due_now(clk, escalated, at(23, 12, 1), work()) == []
    # The escalation is due even when she is not working.
    late = clock(expect(acknowledged_within="70m", remind_before="30m"), at(23, 16), work())
    assert steps(due_now(late, Ledger(), at(24, 20), work())) == [("acknowledged", Step.ESCALATION)]


def test_a_stage_met_or_a_later_one_met_stops_its_steps() -> None:
    clk = clock(FOLLOW, at(23, 10), work())
    past_all = at(30, 10)
    assert due_now(clk, Ledger(met={"done": at(24, 10)}), past_all, work()) == []
    started = Ledger(met={"started": at(23, 10, 5)})
    assert steps(due_now(clk, started, past_all, work())) == [("done", Step.ESCALATION)]
    acknowledged = Ledger(met={"acknowledged": at(23, 10, 5)})
    assert steps(due_now(clk, acknowledged, at(24, 16, 40), work())) == [("started", Step.REMINDER)]


def test_reassign_after_the_second_miss_only_when_the_rule_says_so() -> None:
    clk = clock(FOLLOW, at(23, 10), work())
    one_missed = Ledger(escalated=frozenset({"acknowledged"}))
    after_started = at(24, 17)
    assert steps(due_now(clk, one_missed, after_started, work())) == [("started", Step.ESCALATION)]
    assert steps(due_now(clk, one_missed, after_started, work(), reassign=True)) == [
        ("started", Step.ESCALATION),
        ("started", Step.REASSIGN),
    ]
    # The first miss alone never reassigns.
    assert steps(due_now(clk, Ledger(), at(23, 12), work(), reassign=True)) == [
        ("acknowledged", Step.ESCALATION)
    ]
    # Two misses seen at once: both escalate, then the reassignment; the clock starts over, so
    # the third stage waits for the new assistant.
    assert steps(due_now(clk, Ledger(), at(30, 10), work(), reassign=True)) == [
        ("acknowledged", Step.ESCALATION),
        ("started", Step.ESCALATION),
        ("started", Step.REASSIGN),
    ]
    # Reassigned already: a third miss only escalates.
    twice = Ledger(escalated=frozenset({"acknowledged", "started"}), reassigned=True)
    assert steps(due_now(clk, twice, at(30, 10), work(), reassign=True)) == [
        ("done", Step.ESCALATION)
    ]


def test_sorted_dues_orders_by_stage_then_step() -> None:
    clk = clock(FOLLOW, at(23, 10), work())
    dues = due_now(clk, Ledger(), at(30, 10), work(), reassign=True)
    assert sorted_dues(list(reversed(dues))) == dues


# ----------------------------------------------------------------------------- upcoming, status


def test_upcoming_lists_the_open_deadlines_in_a_window() -> None:
    clk = clock(FOLLOW, at(23, 10), work())
    assert [x.stage for x in upcoming(clk, Ledger(), at(23, 10), at(25, 0))] == [
        "acknowledged",
        "started",
    ]
    met = Ledger(met={"acknowledged": at(23, 11)})
    assert [x.stage for x in upcoming(clk, met, at(23, 10), at(25, 0))] == ["started"]
    assert [x.stage for x in upcoming(clk, Ledger(), at(23, 13), at(27, 0))] == ["started", "done"]
    assert upcoming(clk, Ledger(), at(27, 0), at(30, 0)) == []


def test_next_deadline_is_the_first_neither_met_nor_escalated() -> None:
    clk = clock(FOLLOW, at(23, 10), work())
    first = next_deadline(clk, Ledger())
    assert first is not None
    assert first.stage == "acknowledged"
    later = next_deadline(clk, Ledger(escalated=frozenset({"acknowledged"})))
    assert later is not None
    assert later.stage == "started"
    assert next_deadline(clk, Ledger(met={"done": at(24, 10)})) is None


def test_status_lines_say_where_each_stage_stands() -> None:
    clk = clock(FOLLOW, at(23, 10), work())
    ledger = Ledger(met={"acknowledged": at(23, 11)}, reminded=frozenset({"started"}))
    assert status_lines(clk, ledger, at(24, 16, 45), ROME) == [
        "acknowledged within 2h: by Mon 2026-11-23 12:00 (met Mon 2026-11-23 11:00)",
        "started within 1d: by Tue 2026-11-24 17:00 (open, reminded)",
        "done within 3d: by Thu 2026-11-26 17:00 (open, reminder Thu 2026-11-26 16:30)",
    ]
    late = Ledger(escalated=frozenset({"acknowledged"}), met={"done": at(25, 9)})
    assert status_lines(clk, late, at(25, 10), LISBON)[0] == (
        "acknowledged within 2h: by Mon 2026-11-23 11:00 (met)"
    )
    assert status_lines(clk, Ledger(escalated=frozenset({"acknowledged"})), at(23, 13), ROME)[
        :2
    ] == [
        "acknowledged within 2h: by Mon 2026-11-23 12:00 (missed, escalated)",
        "started within 1d: by Tue 2026-11-24 17:00 (open, reminder Tue 2026-11-24 16:30)",
    ]
    assert status_lines(clk, Ledger(), at(23, 12, 5), ROME)[0].endswith(
        "(missed (escalation pending))"
    )
    short = clock(expect(acknowledged_within="30m"), at(23, 10), work())
    assert status_lines(short, Ledger(), at(23, 10), ROME) == [
        "acknowledged within 30m: by Mon 2026-11-23 10:30 (open)"
    ]


# ----------------------------------------------------------------------------- observed

GIULIA, ANNA = "102", "100"
SINCE = at(23, 10)


def story(author: str, hour: int, kind: StoryKind, text: str = "", day: int = 23) -> StoryFact:
    return StoryFact(author, at(day, hour), kind, text)


def seen(activity: Activity | None, **keys: Any) -> dict[Stage, datetime]:
    options: dict[str, Any] = {"completed_at": None, "started_now": False, "now": at(24, 12)}
    options.update(keys)
    return observed(activity, GIULIA, SINCE, **options)


def test_a_comment_by_the_assignee_acknowledges() -> None:
    activity = Activity(stories=(story(GIULIA, 11, StoryKind.COMMENT, "ok!"),))
    assert seen(activity) == {"acknowledged": at(23, 11)}


def test_a_like_by_the_assignee_acknowledges_when_first_seen() -> None:
    assert seen(Activity(likers=frozenset({GIULIA}))) == {"acknowledged": at(24, 12)}
    assert seen(Activity(likers=frozenset({ANNA}))) == {}
    # A comment gives the moment; the like adds nothing.
    both = Activity(stories=(story(GIULIA, 11, StoryKind.COMMENT),), likers=frozenset({GIULIA}))
    assert seen(both) == {"acknowledged": at(23, 11)}


def test_a_change_by_the_assignee_starts_and_a_comment_does_not() -> None:
    activity = Activity(
        stories=(
            story(GIULIA, 11, StoryKind.COMMENT),
            story(GIULIA, 14, StoryKind.CHANGE),
            story(GIULIA, 15, StoryKind.CHANGE),
        )
    )
    assert seen(activity) == {"acknowledged": at(23, 11), "started": at(23, 14)}
    only_change = Activity(stories=(story(GIULIA, 14, StoryKind.CHANGE),))
    assert seen(only_change) == {"started": at(23, 14)}  # acknowledged follows from started
    assert Ledger(met=seen(only_change)).is_met("acknowledged")


def test_a_subtask_completed_starts() -> None:
    assert seen(Activity(subtasks_done=(at(23, 16), at(23, 12)))) == {"started": at(23, 12)}
    assert seen(Activity(subtasks_done=(at(23, 9),))) == {}  # before the delegation


def test_only_the_assignees_activity_since_the_delegation_counts() -> None:
    activity = Activity(
        stories=(
            story(ANNA, 11, StoryKind.COMMENT),
            story(ANNA, 12, StoryKind.CHANGE),
            story("", 12, StoryKind.CHANGE),
            story(GIULIA, 9, StoryKind.COMMENT),  # before the task was hers
            story(GIULIA, 9, StoryKind.CHANGE),
        )
    )
    assert seen(activity) == {}


def test_completion_and_started_when_need_no_activity() -> None:
    assert seen(None) == {}
    assert seen(None, completed_at=at(24, 10)) == {"done": at(24, 10)}
    assert seen(None, started_now=True) == {"started": at(24, 12)}
    earlier = Activity(stories=(story(GIULIA, 15, StoryKind.CHANGE),))
    assert seen(earlier, started_now=True) == {"started": at(23, 15)}


# ----------------------------------------------------------------------------- not for me


@pytest.mark.parametrize(
    ("text", "command", "reason"),
    [
        ("not for me: too personal", "not for me", "too personal"),
        ("Not for me - it needs Anna's login", "not for me", "it needs Anna's login"),
        ("NOT FOR ME!", "not for me", ""),
        ("not for me", "not for me", ""),
        ("  not   for\nme: spaces", "not for me", "spaces"),
        ("@Anna not for me: she knows the client", "not for me", "she knows the client"),
        (
            "https://app.asana.com/0/profile/100 not for me: ask Anna",
            "not for me",
            "ask Anna",
        ),
        ("#not for me, wrong skill", "not for me", "wrong skill"),
        ("/not for me", "not for me", ""),
        ("Non fa per me: è un lavoro per Anna", "non fa per me", "è un lavoro per Anna"),
        ("NON FA PER ME — Perché è riservato", "non fa per me", "Perché è riservato"),
        ("Non è per me: già fatto", "non e per me", "già fatto"),
        ("non e per me: gia fatto", "non è per me", "gia fatto"),
        ("Ne\u0301 per me: ok", "né per me", "ok"),  # decomposed accent in the text
        ("not for me: Straße und Café", "not for me", "Straße und Café"),
    ],
)
def test_a_comment_command_gives_the_reason_in_its_own_spelling(
    text: str, command: str, reason: str
) -> None:
    assert bounce_command(text, command) == reason


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("not formal enough", "not for"),
        ("not for meetings", "not for me"),
        ("this is not for me", "not for me"),
        ("Not really for me", "not for me"),
        ("", "not for me"),
        ("@Anna", "not for me"),
        ("not for me", ""),
        ("non fa per noi", "non fa per me"),
    ],
)
def test_what_is_not_the_command(text: str, command: str) -> None:
    assert bounce_command(text, command) is None


def test_fold_ignores_case_accents_and_spaces() -> None:
    assert fold("  Perché   È\tCOSÌ ") == "perche e cosi"


def test_find_bounce_reads_the_assignees_comment_or_the_tag() -> None:
    stories = (
        story(ANNA, 11, StoryKind.COMMENT, "not for me: Anna says so"),
        story(GIULIA, 9, StoryKind.COMMENT, "not for me: old"),
        story(GIULIA, 12, StoryKind.CHANGE, "not for me"),
        story(GIULIA, 13, StoryKind.COMMENT, "Not for me: I have no access"),
        story(GIULIA, 14, StoryKind.COMMENT, "not for me: later"),
    )
    activity = Activity(stories=stories)
    now = at(24, 12)
    found = find_bounce(activity, GIULIA, SINCE, "not for me", tagged=True, now=now)
    assert found == Bounce("I have no access", at(23, 13), by_tag=False)
    assert find_bounce(activity, GIULIA, SINCE, None, tagged=True, now=now) == Bounce(
        "", now, by_tag=True
    )
    assert find_bounce(activity, GIULIA, SINCE, None, tagged=False, now=now) is None
    assert find_bounce(None, GIULIA, SINCE, "not for me", tagged=False, now=now) is None
    quiet = Activity(stories=stories[:3])
    assert find_bounce(quiet, GIULIA, SINCE, "not for me", tagged=False, now=now) is None


# ----------------------------------------------------------------------------- properties

ZONES = [ROME, LISBON, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), UTC]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
LOW, HIGH = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, tzinfo=UTC)


@st.composite
def shift_texts(draw: st.DrawFn) -> str:
    first = draw(st.integers(0, 6))
    last = draw(st.integers(first, 6))
    start = draw(st.integers(0, 95)) * 15
    end = draw(st.integers(start // 15 + 1, 96)) * 15
    days = DAYS[first] if first == last else f"{DAYS[first]}-{DAYS[last]}"
    return f"{days} {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


@st.composite
def calendars(draw: st.DrawFn) -> WorkTime:
    tz = draw(st.sampled_from(ZONES))
    shifts = draw(st.none() | st.lists(shift_texts(), min_size=1, max_size=4))
    hours = parse_working_hours("; ".join(shifts)) if shifts is not None else None
    day = st.dates(date(2026, 1, 1), date(2027, 12, 31))
    holidays = frozenset(draw(st.lists(day, max_size=6)))
    away = tuple(
        DateRange(first, first + timedelta(days=draw(st.integers(0, 40))))
        for first in draw(st.lists(day, max_size=3))
    )
    return WorkTime(tz, hours, holidays, away)


anywhen = st.datetimes(min_value=LOW.replace(tzinfo=None), max_value=HIGH.replace(tzinfo=None))
# The nights the clocks change in Europe and in New York, where wall clocks mislead most.
CHANGES = [
    datetime(2026, 3, 29),
    datetime(2026, 10, 25),
    datetime(2026, 3, 8),
    datetime(2026, 11, 1),
]
near_a_change = st.builds(
    lambda night, minutes: night + timedelta(minutes=minutes),
    st.sampled_from(CHANGES),
    st.integers(-6 * 60, 30 * 60),
)
moments = (anywhen | near_a_change).map(lambda m: m.replace(tzinfo=UTC, second=0, microsecond=0))
short_durations = st.builds(
    Duration, st.integers(0, 3000), st.sampled_from(["minutes", "hours"])
).filter(lambda x: x.unit == "minutes" or x.amount <= 120)
day_durations = st.builds(
    Duration, st.integers(1, 15), st.sampled_from(["days", "weeks", "business_days"])
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(calendars(), moments, short_durations)
def test_add_then_working_between_gives_the_duration_back(
    calendar: WorkTime, start: datetime, duration: Duration
) -> None:
    end = calendar.add(start, duration)
    if end is None:
        return  # not enough working time within the horizon
    assert end >= start
    assert calendar.working_between(start, end) == duration.timedelta()


@PROPERTY
@given(calendars(), moments, short_durations, short_durations)
def test_add_is_monotone_in_the_duration(
    calendar: WorkTime, start: datetime, one: Duration, other: Duration
) -> None:
    small, large = sorted([one, other], key=lambda x: x.timedelta())
    first, second = calendar.add(start, small), calendar.add(start, large)
    if first is not None and second is not None:
        assert first <= second
    if first is None:
        assert second is None


@PROPERTY
@given(calendars(), moments, moments, short_durations | day_durations)
def test_add_is_monotone_in_the_start(
    calendar: WorkTime, one: datetime, other: datetime, duration: Duration
) -> None:
    early, late = sorted([one, other])
    first, second = calendar.add(early, duration), calendar.add(late, duration)
    if first is not None and second is not None:
        assert first <= second


@PROPERTY
@given(calendars(), moments, short_durations)
def test_subtract_undoes_add_up_to_the_next_working_moment(
    calendar: WorkTime, start: datetime, duration: Duration
) -> None:
    # Going forward then back lands on the start when she works then, else on the first moment
    # she works after it (the non-working time before that is not counted either way).
    assume(duration.amount > 0)
    end = calendar.add(start, duration)
    if end is None:
        return
    back = calendar.subtract(end, duration)
    assert back == calendar.next_working(start)
    assert back is not None
    assert back >= start


@PROPERTY
@given(calendars(), moments, short_durations)
def test_add_undoes_subtract_no_later_than_the_end(
    calendar: WorkTime, end: datetime, duration: Duration
) -> None:
    assume(duration.amount > 0)  # nothing before a moment off work is the end of the last shift
    start = calendar.subtract(end, duration)
    if start is None:
        return
    assert start <= end
    assert calendar.working_between(start, end) == duration.timedelta()
    again = calendar.add(start, duration)
    assert again is not None
    assert again <= end


@PROPERTY
@given(calendars(), moments, day_durations)
def test_day_units_end_a_working_day(
    calendar: WorkTime, start: datetime, duration: Duration
) -> None:
    end = calendar.add(start, duration)
    if end is None:
        return
    assert end > start
    assert end.astimezone(calendar.tz).date() > start.astimezone(calendar.tz).date()
    just_before = end - timedelta(minutes=1)
    assert calendar.is_working(just_before)
    assert not calendar.is_working(end) or end.astimezone(calendar.tz).time() == time(0)


stage_durations = st.sampled_from(["10m", "45m", "2h", "5h", "1d", "3d", "1w"])


@st.composite
def expectations(draw: st.DrawFn) -> Expectation:
    chosen = sorted(
        draw(st.lists(stage_durations, min_size=1, max_size=3, unique=True)),
        key=lambda text: (parse_duration(text).is_calendar, parse_duration(text).timedelta()),
    )
    stages = draw(st.permutations(["acknowledged", "started", "done"]))[: len(chosen)]
    ordered = [s for s in ("acknowledged", "started", "done") if s in stages]
    keys: dict[str, Any] = {f"{s}_within": text for s, text in zip(ordered, chosen, strict=True)}
    keys["remind_before"] = draw(st.sampled_from(["15m", "1h", "3h", "1d"]))
    keys["reassign"] = draw(st.booleans())
    return Expectation.model_validate(keys)


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    some = st.frozensets(st.sampled_from(STAGES))
    met = dict.fromkeys(draw(some), LOW)
    return Ledger(met, draw(some), draw(some), draw(st.booleans()))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calendars(),
    expectations(),
    moments,
    st.integers(0, 30 * 24 * 60),
    st.just(Ledger()) | ledgers(),
    st.none() | st.tuples(st.integers(0, 2), st.floats(0, 1)),
)
def test_every_reminder_falls_in_working_time_and_before_its_deadline(
    calendar: WorkTime,
    rule: Expectation,
    start: datetime,
    minutes: int,
    ledger: Ledger,
    between: tuple[int, float] | None,
) -> None:
    clk = clock(rule, start, calendar, due_on=start.date() + timedelta(days=minutes % 20))
    now = start + timedelta(minutes=minutes)
    windows = [(x.remind_at, x.due) for x in clk.deadlines if x.remind_at is not None]
    if between is not None and windows:
        # Often between a reminder's moment and its deadline, nights and weekends included.
        remind_at, deadline_due = windows[between[0] % len(windows)]
        now = remind_at + (deadline_due - remind_at) * between[1]
    dues = due_now(clk, ledger, now, calendar, reassign=rule.reassign)
    for due in dues:
        assert not ledger.is_met(due.stage)
        if due.step is Step.REMINDER:
            assert calendar.is_working(now)
            assert due.deadline.remind_at is not None
            assert due.deadline.remind_at <= now
            assert now < due.deadline.due
            assert due.stage not in ledger.reminded
        if due.step is Step.ESCALATION:
            assert now >= due.deadline.due
            assert due.stage not in ledger.escalated
        if due.step is Step.REASSIGN:
            assert rule.reassign
            assert not ledger.reassigned
            assert ledger.misses + sum(x.step is Step.ESCALATION for x in dues) >= 2
    assert len({(x.stage, x.step) for x in dues}) == len(dues)  # each at most once
    for deadline in clk.deadlines:
        if deadline.remind_at is not None:
            assert clk.started < deadline.remind_at <= deadline.due


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calendars(),
    expectations(),
    moments,
    moments,
    st.none() | st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    ledgers(),
)
def test_the_clock_never_raises(
    calendar: WorkTime,
    rule: Expectation,
    start: datetime,
    now: datetime,
    due_on: date | None,
    ledger: Ledger,
) -> None:
    clk = clock(rule, start, calendar, due_on=due_on)
    assert isinstance(clk, Clock)
    assert all(isinstance(x, Deadline) for x in clk.deadlines)
    due_now(clk, ledger, now, calendar, reassign=True)
    upcoming(clk, ledger, now, now + timedelta(days=3))
    status_lines(clk, ledger, now, calendar.tz)
    next_deadline(clk, ledger)
    calendar.is_working(now)
    calendar.next_working(now)
    calendar.working_between(start, now)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["not for me", "non fa per me", "né per me"]))
def test_bounce_command_never_raises_and_its_reason_is_part_of_the_text(
    text: str, command: str
) -> None:
    reason = bounce_command(text, command)
    if reason is not None:
        assert reason in " ".join(text.split())
        assert fold(command) in fold(text)


def test_the_hour_repeated_in_october_is_compared_by_the_real_clock() -> None:
    # On 25 October 02:00-03:00 comes twice in Rome. A shift 01:00-02:30 (summer time) is over
    # by 02:15 the second time (winter time): nothing is left that night.
    night = work("Sun 01:00-02:30")
    second_time = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)  # 02:15+01:00
    assert not night.is_working(second_time)
    assert night.working_between(second_time, second_time + timedelta(days=1)) == timedelta()
    assert night.add(second_time, d("30m")) == at(1, 1, 30)  # the next Sunday
    # A deadline at 02:30 summer time has passed at 02:15 winter time.
    clk = clock(expect(acknowledged_within="30m"), at(25, 2, month=10), night)
    assert clk.deadlines[0].due == at(25, 2, 30, month=10)
    in_rome = second_time.astimezone(ROME)
    assert steps(due_now(clk, Ledger(), in_rome, night)) == [("acknowledged", Step.ESCALATION)]


def test_shifts_that_overlap_count_each_hour_once() -> None:
    calendar = work("Mon-Fri 09:00-17:00; Fri 14:00-18:00; Mon 10:00-12:00")
    assert calendar.working_between(at(23, 0), at(24, 0)) == timedelta(hours=8)
    assert calendar.working_between(at(27, 0), at(28, 0)) == timedelta(hours=9)
    assert calendar.add(at(23, 9), d("8h")) == at(23, 17)
    assert calendar.add(at(26, 10), d("1d")) == at(27, 18)  # the day ends with the latest shift
