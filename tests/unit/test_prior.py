"""What the journal keeps of a task before a write: the value each intent changes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from delegator.core.actions import prior
from delegator.core.intents import (
    AddTag,
    Assign,
    Comment,
    Follow,
    Intent,
    Move,
    RemoveTag,
    SetDue,
    SetField,
)
from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef

ANNA = UserRef("101", "Anna Rossi", "anna@studio.example")
OPS = Ref("201", "Operations")
INBOX = Ref("301", "Inbox")
TASK = Task(
    "1",
    "Pay invoice 2041",
    assignee=ANNA,
    due_on=date(2026, 11, 30),
    projects=(OPS, Ref("202", "Admin")),
    memberships=(Membership(OPS, INBOX),),
    custom_fields=(FieldValue("501", "Priority", "enum", enum="High"),),
)


@pytest.mark.parametrize(
    ("intent", "before"),
    [
        (Assign(to="giulia"), {"assignee": {"gid": "101", "name": "Anna Rossi",
                                            "email": "anna@studio.example"}}),
        (Move("operations", "Doing"), {"project": {"gid": "201", "name": "Operations"},
                                       "section": {"gid": "301", "name": "Inbox"}}),
        (Move("Admin", "Doing"), {"project": {"gid": "202", "name": "Admin"}, "section": None}),
        (Move("Strategy"), {"project": None, "section": None}),
        (SetField("priority", "Low"), {"field": {"gid": "501", "name": "Priority"},
                                       "value": "High"}),
        (SetField("Estimated time", 10), {"field": None, "value": None}),
        (SetDue(date(2026, 12, 3)), {"due_on": "2026-11-30", "due_at": None}),
        (AddTag("delegated"), {}),
        (RemoveTag("waiting"), {}),
        (Follow("owner"), {}),
        (Comment("Hi", "rule"), {}),
    ],
)  # fmt: skip
def test_the_value_each_write_changes(intent: Intent, before: dict[str, object]) -> None:
    assert prior(intent, TASK) == before
    json.dumps(prior(intent, TASK))  # JSON's types only: it goes into the journal as is


def test_an_unassigned_task_and_a_due_time() -> None:
    moment = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    task = Task("2", "x", due_at=moment, due_on=moment.date())
    assert prior(Assign(to="giulia"), task) == {"assignee": None}
    assert prior(SetDue(date(2026, 12, 1)), task) == {
        "due_on": "2026-11-30",
        "due_at": "2026-11-30T09:30:00+00:00",
    }
    dated = Task(
        "3", "y", custom_fields=(FieldValue("9", "Deadline", "date", date=date(2027, 1, 2)),)
    )
    assert prior(SetField("Deadline", "2027-02-01"), dated)["value"] == "2027-01-02"
