from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from delegator.asana.mapping import SnapshotError, task_from_asana


def test_a_task_as_asana_returns_it() -> None:
    raw = json.loads(Path("examples/tasks/invoice.json").read_text())
    task = task_from_asana(raw)
    assert task.gid == "1100000000001001"
    assert task.assignee is not None
    assert task.assignee.email == "anna@northwind.example"
    assert task.due_on == date(2026, 11, 30)
    assert task.created_at == datetime(2026, 11, 20, 8, 12, tzinfo=UTC)
    assert [m.section.name for m in task.memberships if m.section] == ["Invoices"]
    priority = task.field("priority")
    assert priority is not None
    assert priority.enum == "Medium"
    minutes = task.field("1100000000000402")
    assert minutes is not None
    assert minutes.number == 15.0
    assert task.name_lower == "pay invoice #2041 from hetzner"


def test_compact_and_missing_fields_are_empty_not_errors() -> None:
    task = task_from_asana({"gid": "1", "resource_type": "task", "name": "x"})
    assert (task.assignee, task.tags, task.due_date, task.is_subtask) == (None, (), None, False)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": "no gid"}, "no 'gid'"),
        ({"gid": "1", "due_on": "next week"}, "due_on: invalid date"),
        ({"gid": "1", "created_at": "2026-11-20T08:12:00"}, "has no time zone"),
    ],
)
def test_malformed_tasks_say_what_is_wrong(raw: dict[str, object], message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        task_from_asana(raw)


def test_snapshots_of_a_batch_share_their_common_objects() -> None:
    from delegator.asana.mapping import Shared

    shared = Shared()
    raw = {
        "projects": [{"gid": "201", "name": "Client Admin"}],
        "memberships": [{"project": {"gid": "201", "name": "Client Admin"},
                         "section": {"gid": "302", "name": "Invoices"}}],
        "assignee": {"gid": "100", "name": "Anna", "email": "ANNA@x.example"},
        "custom_fields": [{"gid": "401", "name": "Priority", "resource_subtype": "enum",
                           "enum_value": {"name": "High"}}],
    }  # fmt: skip
    first = task_from_asana({"gid": "1", **raw}, shared)
    second = task_from_asana({"gid": "2", **raw}, shared)
    assert first.projects[0] is second.projects[0]
    assert first.memberships[0] is second.memberships[0]
    assert first.assignee is second.assignee
    assert first.custom_fields[0] is second.custom_fields[0]
    assert first.assignee is not None
    assert first.assignee.email == "anna@x.example"
    alone = task_from_asana({"gid": "3", **raw})
    assert alone.projects[0] == first.projects[0]
    assert alone.projects[0] is not first.projects[0]
