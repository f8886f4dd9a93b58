"""Client summaries and assistant digests computed from a known set of records."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from delegator.core.summary import (
    AssistantLoad,
    Count,
    CoveyMatrix,
    DelegatedTask,
    DigestInputs,
    DigestTask,
    OpenTask,
    Problem,
    StatusThresholds,
    SummaryInputs,
    TakenBack,
    TimeGivenBack,
    WaitingTask,
    build_digest,
    build_summary,
    duration_text,
    period_text,
    plural,
)

ROME = ZoneInfo("Europe/Rome")
START = datetime(2026, 11, 20, 17, tzinfo=ROME)
END = datetime(2026, 11, 27, 17, tzinfo=ROME)  # a Friday


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=ROME)


def delegation(
    gid: str,
    name: str,
    *,
    rule: str = "Invoices",
    assistant: str = "giulia",
    delegated: datetime | None = None,
    due: date | None = None,
    status: str = "open",
    closed: datetime | None = None,
    minutes: int | None = None,
    source: str | None = None,
) -> DelegatedTask:
    names = {"giulia": "Giulia Bianchi", "marco": "Marco Verdi"}
    return DelegatedTask(
        gid=gid,
        name=name,
        url=f"https://app.asana.com/0/0/{gid}",
        rule=rule,
        assistant=assistant,
        assistant_name=names[assistant],
        delegated_at=delegated or at(23),
        due_on=due,
        status=status,  # type: ignore[arg-type]
        closed_at=closed,
        minutes=minutes,
        minutes_from=source,  # type: ignore[arg-type]
    )


DELEGATIONS = [
    delegation("1", "Pay invoice #2041", delegated=at(23), due=date(2026, 11, 25)),
    delegation("2", "Book train to Milan", rule="Travel", delegated=at(24), due=date(2026, 11, 27)),
    delegation(
        "3", "Send receipts", assistant="marco", delegated=at(21), status="done",
        closed=at(26), minutes=30, source="field",
    ),
    delegation(
        "4", "File expenses", delegated=at(10), status="done", closed=at(22), minutes=45,
        source="rule",
    ),
    delegation(
        "5", "Reply to newsletter", rule="Inbox", assistant="marco", delegated=at(25),
        status="done", closed=at(26),
    ),
    delegation("6", "Old receipts", delegated=at(2), status="done", closed=at(15), minutes=99,
               source="rule"),
    delegation("7", "Expense report", delegated=at(24), status="overridden", closed=at(25)),
    delegation("8", "Hotel in Rome", rule="Travel", delegated=at(3), due=date(2026, 11, 30)),
    delegation("9", "Archive invoices", delegated=at(4), due=date(2026, 12, 1)),
    delegation("10", "Tidy the inbox", rule="Inbox", assistant="marco", delegated=at(5)),
    delegation("11", "Ancient invoice", delegated=at(1), due=date(2026, 10, 1)),
]  # fmt: skip

WAITING = [
    WaitingTask("20", "Book flights", "u20", "Travel", "queued", "no assistant free", at(26)),
    WaitingTask("21", "Agenda", "u21", "Nudge", "shadow", "waiting a week", at(24)),
    WaitingTask("22", "Brief", "u22", "Nudge", "shadow", "waiting a week", at(25)),
    WaitingTask("23", "Quote", "u23", "Old tasks", "shadow", "30 days old", at(25)),
]
TAKEN_BACK = [
    TakenBack("7", "Expense report", "u7", "Invoices", "reassigned to Anna", at(25)),
    TakenBack("30", "Client call notes", "u30", "Inbox", "tag removed", at(22)),
]
OPEN_TASKS = [
    OpenTask("40", "Strategy", "u40", "do", held_by_owner=True),
    OpenTask("41", "Pitch deck", "u41", "schedule", held_by_owner=True),
    OpenTask("42", "Roadmap", "u42", "schedule", held_by_owner=False),
    OpenTask("1", "Pay invoice #2041", "u1", "delegate", held_by_owner=False),
    OpenTask("43", "Newsletter", "u43", "eliminate", held_by_owner=True),
    OpenTask("43", "Newsletter", "u43", "eliminate", held_by_owner=True),  # two sources
]
LOADS = [AssistantLoad("marco", "Marco Verdi", 1, 10), AssistantLoad("giulia", "Giulia B", 5, 25)]


def inputs(**changes: object) -> SummaryInputs:
    base = SummaryInputs(
        client="Northwind Studio",
        timezone="Europe/Rome",
        period_start=START,
        period_end=END,
        delegations=DELEGATIONS,
        waiting=WAITING,
        taken_back=TAKEN_BACK,
        problems=[Problem("rules", "rules[3] left out: unknown assistant 'gulia'")],
        open_tasks=OPEN_TASKS,
        assistants=LOADS,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def gids(tasks: tuple[object, ...]) -> list[str]:
    return [t.gid for t in tasks]  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- sections


def test_delegated_this_period_by_assistant_and_by_rule() -> None:
    summary = build_summary(inputs())
    # Made in the period, whatever became of them since (7 was taken back but was delegated).
    assert gids(summary.delegated) == ["1", "2", "7", "5", "3"]  # by due date, then name
    assert summary.by_assistant == (
        Count("giulia", "Giulia Bianchi", 3),
        Count("marco", "Marco Verdi", 2),
    )
    assert summary.by_rule == (
        Count("Invoices", "Invoices", 3),
        Count("Inbox", "Inbox", 1),
        Count("Travel", "Travel", 1),
    )


def test_done_still_open_overdue_and_due_soon() -> None:
    summary = build_summary(inputs())
    assert gids(summary.done) == ["4", "5", "3"]  # no due dates: by name
    assert gids(summary.still_open) == ["11", "1", "2", "8", "9", "10"]  # by due date, none last
    # Due before Friday 27 (the period's last day in Rome) and still open.
    assert gids(summary.overdue) == ["11", "1"]
    # Due from Friday 27 to Monday 30 (3 days): a task due on the last day is not late yet.
    assert gids(summary.due_soon) == ["2", "8"]
    assert summary.due_soon_days == 3
    assert gids(build_summary(inputs(due_soon_days=4)).due_soon) == ["2", "8", "9"]


def test_overdue_is_judged_in_the_clients_time_zone() -> None:
    # 27 Nov 00:30 in Rome is still 26 Nov in UTC: a task due on the 26th is overdue in Rome.
    end = datetime(2026, 11, 27, 0, 30, tzinfo=ROME)
    task = delegation("1", "Due Thursday", delegated=at(23), due=date(2026, 11, 26))
    rome = build_summary(inputs(delegations=[task], period_end=end))
    utc = build_summary(inputs(delegations=[task], period_end=end, timezone="UTC"))
    assert gids(rome.overdue) == ["1"]
    assert gids(utc.overdue) == []


def test_waiting_queued_and_shadow_rules_grouped() -> None:
    summary = build_summary(inputs())
    assert gids(summary.queued) == ["20"]
    assert [(s.rule, s.count, gids(s.tasks)) for s in summary.shadow] == [
        ("Nudge", 2, ["21", "22"]),
        ("Old tasks", 1, ["23"]),
    ]


def test_taken_back_in_order_of_time() -> None:
    summary = build_summary(inputs())
    assert gids(summary.taken_back) == ["30", "7"]
    assert summary.taken_back[1].reason == "reassigned to Anna"


def test_problems_are_kept_once_and_sorted() -> None:
    token = Problem("token", "the Asana token was refused (401)")
    rules = Problem("rules", "rules[3] left out")
    summary = build_summary(inputs(problems=[token, rules, token]))
    assert summary.problems == (rules, token)


def test_time_given_back_counts_what_was_done_in_the_period() -> None:
    summary = build_summary(inputs())
    # 3 (30 min from the field) + 4 (45 min, rule default) + 5 (no estimate); 6 is older.
    assert summary.time_given_back == TimeGivenBack(
        minutes=75, tasks=3, from_field=1, from_rule=1, without=1, field="Estimated time"
    )
    assert summary.time_given_back.text == "about 1 h 15 min"
    assert summary.time_given_back.source == (
        'from the "Estimated time" field for 1 task and rule defaults for 1 task; '
        "1 task without an estimate"
    )


def test_time_given_back_without_estimates_says_so() -> None:
    done = delegation("5", "Reply", delegated=at(25), status="done", closed=at(26))
    summary = build_summary(inputs(delegations=[done], time_field="Minutes"))
    assert summary.time_given_back.text == "not measured"
    assert summary.time_given_back.source == "1 task without an estimate"
    only_field = [
        delegation("3", "A", status="done", closed=at(26), minutes=200, source="field"),
        delegation("4", "B", status="done", closed=at(26), minutes=20, source="field"),
    ]
    summary = build_summary(inputs(delegations=only_field, time_field="Minutes"))
    assert summary.time_given_back.text == "about 3 h 40 min"
    assert summary.time_given_back.source == 'from the "Minutes" field for 2 tasks'


def test_covey_matrix_counts_each_open_task_once() -> None:
    summary = build_summary(inputs())
    assert summary.matrix == CoveyMatrix(do=1, schedule=2, delegate=1, eliminate=1, held_by_owner=2)
    assert summary.matrix.total == 5


def test_no_matrix_when_the_sources_could_not_be_read() -> None:
    assert build_summary(inputs(open_tasks=None)).matrix is None
    assert build_summary(inputs(open_tasks=[])).matrix == CoveyMatrix(0, 0, 0, 0, 0)


def test_assistants_sorted_by_name() -> None:
    assert [a.key for a in build_summary(inputs()).assistants] == ["giulia", "marco"]


def test_headline_and_period() -> None:
    summary = build_summary(inputs())
    assert summary.period_text == "20-27 Nov 2026"
    assert summary.headline == (
        "Northwind Studio, 20-27 Nov 2026: 5 delegated, 3 done, 2 overdue, 1 waiting, "
        "2 taken back, 1 problem; about 1 h 15 min given back"
    )
    quiet = build_summary(
        inputs(delegations=[], waiting=[], taken_back=[], problems=[], open_tasks=None)
    )
    assert quiet.headline == "Northwind Studio, 20-27 Nov 2026: 0 delegated, 0 done"
    assert quiet.quiet
    assert not summary.quiet


def test_the_same_records_in_any_order_give_the_same_summary() -> None:
    forwards = build_summary(inputs())
    backwards = build_summary(
        inputs(
            delegations=DELEGATIONS[::-1],
            waiting=WAITING[::-1],
            taken_back=TAKEN_BACK[::-1],
            open_tasks=OPEN_TASKS[::-1],
            assistants=LOADS[::-1],
        )
    )
    assert forwards == backwards


# ----------------------------------------------------------------------------- status


def _status(overdue: int, queued: int = 0, problems: tuple[Problem, ...] = ()) -> tuple[str, str]:
    tasks = [
        delegation(str(i), f"Late {i}", delegated=at(23), due=date(2026, 11, 1))
        for i in range(overdue)
    ]
    waiting = [
        WaitingTask(f"w{i}", "Wait", "u", "Travel", "queued", "no one free", at(26))
        for i in range(queued)
    ]
    summary = build_summary(
        inputs(delegations=tasks, waiting=waiting, problems=problems),
        StatusThresholds(at_risk_overdue=1, off_track_overdue=3),
    )
    return summary.status_type, summary.status_reason


@pytest.mark.parametrize(
    ("overdue", "queued", "problems", "status", "reason"),
    [
        (0, 0, (), "on_track", "nothing overdue, nothing waiting, no problems"),
        (1, 0, (), "at_risk", "1 task overdue"),
        (2, 0, (), "at_risk", "2 tasks overdue"),
        (3, 0, (), "off_track", "3 tasks overdue"),
        (0, 2, (), "at_risk", "2 tasks waiting for an assistant"),
        (0, 0, (Problem("delivery", "webhook failed"),), "at_risk", "1 problem"),
        (0, 0, (Problem("rules", "x"), Problem("cycle", "y")), "at_risk", "2 problems"),
        (1, 1, (Problem("cycle", "y"),), "at_risk",
         "1 task overdue, 1 task waiting for an assistant, 1 problem"),
        (0, 0, (Problem("token", "the token was refused"),), "off_track", "the token was refused"),
        (0, 0, (Problem("source", "project Ops not found"),), "off_track", "project Ops not found"),
    ],
)  # fmt: skip
def test_status_type(
    overdue: int, queued: int, problems: tuple[Problem, ...], status: str, reason: str
) -> None:
    assert _status(overdue, queued, problems) == (status, reason)


def test_a_threshold_of_zero_turns_that_rule_off() -> None:
    late = [delegation("1", "Late", delegated=at(23), due=date(2026, 11, 1))] * 9
    summary = build_summary(
        inputs(delegations=late, waiting=[], problems=[]),
        StatusThresholds(at_risk_overdue=0, off_track_overdue=0),
    )
    assert summary.status_type == "on_track"


def test_default_thresholds() -> None:
    late = [delegation(str(i), "Late", delegated=at(23), due=date(2026, 11, 1)) for i in range(5)]
    assert build_summary(inputs(delegations=late[:4], waiting=[], problems=[])).status_type == (
        "at_risk"
    )
    assert build_summary(inputs(delegations=late, waiting=[], problems=[])).status_type == (
        "off_track"
    )


# ----------------------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0 min"), (25, "25 min"), (59, "59 min"), (60, "1 h"), (62, "1 h"), (63, "1 h 5 min"),
     (200, "3 h 20 min"), (178, "3 h"), (600, "10 h")],
)  # fmt: skip
def test_duration_text(minutes: int, text: str) -> None:
    assert duration_text(minutes) == text


def test_plural() -> None:
    assert [plural(n, "task") for n in (0, 1, 2)] == ["0 tasks", "1 task", "2 tasks"]


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (at(20, 17), at(27, 17), "20-27 Nov 2026"),
        (at(27, 0), at(28, 0), "27 Nov 2026"),  # the end is exclusive
        (at(28), at(4, month=12), "28 Nov - 4 Dec 2026"),
        (
            datetime(2026, 12, 29, tzinfo=ROME),
            datetime(2027, 1, 4, 12, tzinfo=ROME),
            "29 Dec 2026 - 4 Jan 2027",
        ),
        (at(27), at(27), "27 Nov 2026"),
    ],
)
def test_period_text(start: datetime, end: datetime, text: str) -> None:
    assert period_text(start, end, ROME) == text


# ----------------------------------------------------------------------------- digests

TOKYO = ZoneInfo("Asia/Tokyo")


def digest_task(
    gid: str, name: str, delegated: datetime, due: date | None, client: str = "Northwind Studio"
) -> DigestTask:
    return DigestTask(gid, name, f"u{gid}", client, "Invoices", "money paperwork", delegated, due)


def test_digest_new_due_today_and_overdue_in_the_assistants_zone() -> None:
    # 27 Nov 22:30 UTC is already Saturday 28 Nov in Tokyo, and still Friday in Rome.
    now = datetime(2026, 11, 27, 22, 30, tzinfo=ZoneInfo("UTC"))
    since = now - timedelta(days=1)
    tasks = [
        digest_task("1", "New invoice", now - timedelta(hours=2), date(2026, 11, 28)),
        digest_task("2", "Old invoice", now - timedelta(days=3), date(2026, 11, 27)),
        digest_task("3", "Later", now - timedelta(days=3), date(2026, 12, 3)),
        digest_task("4", "Booking", now - timedelta(hours=1), None, client="Fischer Consulting"),
        digest_task("5", "Just before", since - timedelta(seconds=1), None),
    ]
    digest = build_digest(
        DigestInputs("giulia", "Giulia Bianchi", "Asia/Tokyo", since, now, tasks, 5, 25)
    )
    assert digest.today == date(2026, 11, 28)
    assert gids(digest.new) == ["1", "4"]
    assert gids(digest.due_today) == ["1"]
    assert gids(digest.overdue) == ["2"]
    assert gids(digest.open) == ["2", "1", "3", "4", "5"]
    assert digest.clients == ("Fischer Consulting", "Northwind Studio")
    assert not digest.empty
    assert not digest.over_capacity
    assert (
        digest.headline == "Giulia Bianchi, Sat 28 Nov: 2 new, 1 due today, 1 overdue, 5 of 25 open"
    )
    # The same instant in Rome is still Friday: task 2 is due today there, not overdue.
    rome = build_digest(DigestInputs("giulia", "Giulia", "Europe/Rome", since, now, tasks, 5, 25))
    assert gids(rome.due_today) == ["2"]
    assert gids(rome.overdue) == []


def test_an_empty_digest_and_a_full_assistant() -> None:
    now = datetime(2026, 11, 27, 8, tzinfo=ROME)
    quiet = [digest_task("3", "Later", now - timedelta(days=3), date(2026, 12, 3))]
    digest = build_digest(
        DigestInputs("sam", "Sam", "Europe/Rome", now - timedelta(days=1), now, quiet, 16, 15)
    )
    assert digest.empty
    assert digest.over_capacity
    assert digest.headline == "Sam, Fri 27 Nov: 0 new, 16 of 15 open"


def test_a_task_listed_twice_counts_once() -> None:
    now = datetime(2026, 11, 27, 8, tzinfo=ROME)
    task = digest_task("1", "New", now - timedelta(hours=1), None)
    digest = build_digest(
        DigestInputs("sam", "Sam", "Europe/Rome", now - timedelta(days=1), now, [task, task], 1, 15)
    )
    assert gids(digest.new) == ["1"]
