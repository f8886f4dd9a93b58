from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from delegator.core.model import SnapshotError, task_from_asana


def test_a_task_as_asana_returns_it() -> None:
    raw = json.loads(Path("rules/examples/tasks/invoice.json").read_text())
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
