"""The time a delegated task gives back: from its estimate field, else the rule's minutes."""

from __future__ import annotations

import pytest

from delegator.core.estimate import estimate_minutes
from delegator.core.model import FieldValue, Task


def _task(*values: FieldValue) -> Task:
    return Task(gid="1", name="Pay invoice", custom_fields=values)


def _number(name: str, value: float | None) -> FieldValue:
    return FieldValue(gid="9", name=name, type="number", number=value)


def _text(name: str, value: str) -> FieldValue:
    return FieldValue(gid="9", name=name, type="text", text=value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (_number("Estimated time", 45), (45, "field")),
        (_number("estimated TIME", 20.4), (20, "field")),  # the name is matched case-insensitively
        (_number("Estimated time", 1.5), (2, "field")),
        (_number("Estimated time", None), (15, "rule")),  # empty field: the rule's default
        (_number("Estimated time", 0), (15, "rule")),
        (_text("Estimated time", "1h 30m"), (90, "field")),
        (_text("Estimated time", "25"), (25, "field")),
        (_text("Estimated time", "soon"), (15, "rule")),
    ],
)
def test_the_field_wins_over_the_rule(value: FieldValue, expected: tuple[int, str]) -> None:
    assert estimate_minutes(_task(value), "Estimated time", 15) == expected


def test_a_field_named_in_hours_counts_hours() -> None:
    task = _task(_number("Estimated hours", 2))
    assert estimate_minutes(task, "Estimated hours", None) == (120, "field")


def test_another_field_name_is_not_read() -> None:
    task = _task(_number("Effort", 30))
    assert estimate_minutes(task, "Estimated time", 10) == (10, "rule")
    assert estimate_minutes(task, "Effort", 10) == (30, "field")


def test_nothing_known_is_none() -> None:
    assert estimate_minutes(_task(), "Estimated time", None) == (None, None)
