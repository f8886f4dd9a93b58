"""Each condition's meaning, on tasks built in place (no mocks: the core is pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from corekit import DIRECTORY, NOW, ROME
from pydantic import TypeAdapter

from delegator.core.conditions import compile_condition, explain
from delegator.core.context import EvalContext
from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef
from delegator.core.schema import Condition

CONDITION = TypeAdapter(Condition)
ANNA = UserRef("100", "Anna Rossi", "anna@northwind.example")
GIULIA = UserRef("102", "Giulia Bianchi", "giulia@va-agency.example")


def holds(condition: object, task: Task, now: datetime = NOW) -> bool:
    check = compile_condition(CONDITION.validate_python(condition), ("rules", 0, "when"))
    ctx = EvalContext(now, ROME, DIRECTORY, frozenset(), check.durations)
    ctx.quadrant = "delegate"
    fast = check.test(task, ctx)
    traced = explain(check, task, ctx).matched
    assert fast == traced, "the hot path and the explanation disagree"
    return fast


def task(**fields: object) -> Task:
    return Task(gid="1", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("condition", "name", "expected"),
    [
        ({"name": {"contains": "invoice"}}, "Pay INVOICE 42", True),
        ({"name": {"contains": ["receipt", "invoice"]}}, "Pay invoice", True),
        ({"name": {"contains": "invoice", "case_sensitive": True}}, "Pay INVOICE", False),
        ({"name": {"equals": "pay invoice"}}, " Pay Invoice ", True),
        ({"name": {"starts_with": "pay"}}, "Pay invoice", True),
        ({"name": {"ends_with": "42"}}, "Pay invoice 42", True),
        ({"name": {"matches": r"\binvoices?\b"}}, "Two Invoices", True),
        ({"name": {"matches": r"\binvoices?\b"}}, "Invoicing", False),
        ({"name": {"matches": "^Pay", "case_sensitive": True}}, "pay", False),
    ],
)
def test_text(condition: object, name: str, expected: bool) -> None:
    assert holds(condition, task(name=name)) is expected


def test_notes() -> None:
    assert holds({"notes": {"contains": "pdf"}}, task(notes="The PDF is attached"))


def test_tags_any_all_none_and_the_shorthand() -> None:
    tagged = task(tags=(Ref("1", "Urgent"), Ref("2", "admin")))
    assert holds({"tag": "urgent"}, tagged)
    assert holds({"tag": ["x", "admin"]}, tagged)
    assert holds({"tag": {"all": ["urgent", "admin"]}}, tagged)
    assert not holds({"tag": {"all": ["urgent", "x"]}}, tagged)
    assert holds({"tag": {"none": ["keep"]}}, tagged)
    assert not holds({"tag": {"any": ["admin"], "none": ["urgent"]}}, tagged)


def test_project_and_section_by_name_or_gid() -> None:
    placed = task(
        projects=(Ref("201", "Client Admin"),),
        memberships=(Membership(Ref("201", "Client Admin"), Ref("302", "Invoices")),),
    )
    assert holds({"project": "client admin"}, placed)
    assert holds({"project": 201}, placed)
    assert not holds({"project": "Strategy"}, placed)
    assert holds({"section": "Invoices"}, placed)
    assert holds({"section": {"project": "Client Admin", "name": "302"}}, placed)
    assert not holds({"section": {"project": "Operations", "name": "Invoices"}}, placed)


@pytest.mark.parametrize(
    ("spec", "assignee", "expected"),
    [
        ("owner", ANNA, True),
        ("owner", GIULIA, False),
        ("none", None, True),
        ("any", None, False),
        ("any", GIULIA, True),
        ("giulia", UserRef("999", "", "Giulia@VA-agency.example"), True),
        ("giulia@va-agency.example", GIULIA, True),
        ("102", GIULIA, True),
        (["owner", "none"], None, True),
    ],
)
def test_assignee(spec: object, assignee: UserRef | None, expected: bool) -> None:
    assert holds({"assignee": spec}, task(assignee=assignee)) is expected


def fields(*values: FieldValue) -> Task:
    return task(custom_fields=values)


PRIORITY = FieldValue("401", "Priority", "enum", enum="High")
MINUTES = FieldValue("402", "Estimated time", "number", number=30.0)
LABELS = FieldValue("403", "Labels", "multi_enum", multi_enum=("web", "print"))
DEADLINE = FieldValue("404", "Contract end", "date", date=date(2027, 1, 31))
EMPTY = FieldValue("405", "Client", "text")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"name": "priority", "equals": "high"}, True),
        ({"gid": "401", "in": ["Medium", "High"]}, True),
        ({"name": "Priority", "not_in": ["High"]}, False),
        ({"name": "Missing", "not_in": ["High"]}, True),
        ({"name": "Estimated time", "gte": 30, "lt": 60}, True),
        ({"name": "Estimated time", "gt": 30}, False),
        ({"name": "Labels", "contains": "web"}, True),
        ({"name": "Labels", "equals": ["print", "web"]}, True),
        ({"name": "Contract end", "lt": date(2027, 2, 1)}, True),
        ({"name": "Contract end", "gt": 3}, False),
        ({"name": "Client", "is_set": False}, True),
        ({"name": "Priority", "is_set": True}, True),
        ({"name": "Missing", "equals": "x"}, False),
    ],
)
def test_custom_fields(condition: dict[str, object], expected: bool) -> None:
    subject = fields(PRIORITY, MINUTES, LABELS, DEADLINE, EMPTY)
    assert holds({"custom_field": condition}, subject) is expected


def test_due_windows_on_dates_and_times() -> None:
    friday = NOW  # Friday 27 Nov 2026, 10:00 in Rome
    monday = task(due_on=date(2026, 11, 30))
    tuesday = task(due_on=date(2026, 12, 1))
    assert holds({"due": {"within": "1 business day"}}, monday)
    assert not holds({"due": {"within": "1 business day"}}, tuesday)
    assert holds({"due": {"within": "4d"}}, tuesday)
    assert not holds({"due": {"within": "4d"}}, task(due_on=date(2026, 11, 26)))  # overdue
    soon = task(due_at=friday + timedelta(hours=3))
    assert holds({"due": {"within": "4h"}}, soon)
    assert not holds({"due": {"within": "2h"}}, soon)
    assert holds({"due": {"before": "2026-12-01"}}, monday)
    assert not holds({"due": {"before": "2026-12-01"}}, tuesday)
    assert holds({"due": {"after": "3d"}}, task(due_on=date(2026, 12, 4)))
    assert holds({"due": {"none": True}}, task())
    assert not holds({"due": {"within": "30d"}}, task())
    assert holds({"start": {"none": False}}, task(start_on=date(2026, 11, 28)))


def test_overdue_by_day_and_by_time_and_never_when_completed() -> None:
    assert holds({"overdue": True}, task(due_on=date(2026, 11, 26)))
    assert not holds({"overdue": True}, task(due_on=date(2026, 11, 27)))  # due today: not yet
    assert holds({"overdue": True}, task(due_at=NOW - timedelta(minutes=1)))
    assert not holds({"overdue": True}, task(due_on=date(2026, 11, 1), completed=True))
    assert holds({"overdue": False}, task())


def test_created_and_modified_age() -> None:
    old = task(created_at=NOW - timedelta(days=40), modified_at=NOW - timedelta(hours=1))
    assert holds({"created": {"older_than": "30d"}}, old)
    assert holds({"modified": {"newer_than": "2h"}}, old)
    assert not holds({"modified": {"older_than": "1 business day"}}, old)
    assert not holds({"created": {"older_than": "1d"}}, task())


def test_completed_subtask_quadrant_and_composition() -> None:
    sub = task(parent=Ref("9", "parent"), completed=True)
    assert holds({"completed": True}, sub)
    assert holds({"subtask": True}, sub)
    assert holds({"quadrant": ["delegate", "do"]}, sub)
    assert holds({"all": [{"completed": True}, {"not": {"tag": "x"}}]}, sub)
    assert holds({"any": [{"completed": False}, {"subtask": True}]}, sub)
    assert holds([{"completed": True}, {"subtask": True}], sub)  # a list means all
    assert not holds({"not": {"subtask": True}}, sub)


def test_explanations_carry_actual_and_wanted_values_keyed_by_path() -> None:
    condition = CONDITION.validate_python(
        {
            "all": [
                {"name": {"contains": "invoice"}},
                {"assignee": "owner"},
                {"due": {"within": "2d"}},
            ]
        }
    )
    check = compile_condition(condition, ("rules", 3, "when"))
    ctx = EvalContext(NOW, ROME, DIRECTORY, frozenset(), check.durations)
    trace = explain(check, task(name="Pay invoice", assignee=GIULIA), ctx)
    assert (trace.path, trace.matched, trace.actual) == ("rules/3/when", False, "1 of 3 hold")
    assert [(c.path, c.matched, c.actual, c.wanted) for c in trace.children] == [
        ("rules/3/when/all/0", True, "Pay invoice", 'contains "invoice"'),
        ("rules/3/when/all/1", False, "Giulia Bianchi (assistant giulia)", "owner"),
        ("rules/3/when/all/2", False, "no date", "within 2d"),
    ]


def test_values_compare_as_written_whatever_yaml_made_of_them() -> None:
    one = fields(FieldValue("406", "Tier", "enum", enum="1"))
    assert holds({"custom_field": {"name": "Tier", "equals": 1}}, one)
    assert holds({"custom_field": {"name": "Tier", "in": [1, 2]}}, one)
    assert holds({"custom_field": {"name": "Estimated time", "equals": "30"}}, fields(MINUTES))
    assert holds(
        {"custom_field": {"name": "Contract end", "equals": "2027-01-31"}}, fields(DEADLINE)
    )
