"""The Covey/Eisenhower matrix: urgent x important -> do, schedule, delegate, eliminate.

Every task gets a quadrant before any rule runs, from the client's ``matrix`` or these defaults:
urgent when overdue, due within two business days, or tagged ``urgent``; important when tagged
``important`` or its Priority custom field is High.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter

from delegator.core.conditions import Check, compile_condition
from delegator.core.schema import Condition
from delegator.core.schema import Matrix as MatrixSettings
from delegator.core.timeexpr import Duration

_CONDITION = TypeAdapter(Condition)

DEFAULT_URGENT = _CONDITION.validate_python(
    {"any": [{"overdue": True}, {"due": {"within": "2 business days"}}, {"tag": "urgent"}]}
)
DEFAULT_IMPORTANT = _CONDITION.validate_python(
    {"any": [{"tag": "important"}, {"custom_field": {"name": "Priority", "in": ["High"]}}]}
)

QUADRANT_MEANING = {
    "do": "urgent and important: the owner does it now",
    "schedule": "important, not urgent: the owner plans it",
    "delegate": "urgent, not important: an assistant does it",
    "eliminate": "neither urgent nor important: an assistant or nobody",
}


@dataclass(frozen=True, slots=True)
class Matrix:
    urgent: Check
    important: Check
    urgent_is_default: bool
    important_is_default: bool

    @property
    def durations(self) -> tuple[Duration, ...]:
        out: list[Duration] = []
        stack = [self.urgent, self.important]
        while stack:
            check = stack.pop()
            out.extend(check.durations)
            stack.extend(check.children)
        return tuple(out)


def compile_matrix(settings: MatrixSettings) -> Matrix:
    urgent = settings.urgent or DEFAULT_URGENT
    important = settings.important or DEFAULT_IMPORTANT
    return Matrix(
        compile_condition(urgent, ("matrix", "urgent")),
        compile_condition(important, ("matrix", "important")),
        settings.urgent is None,
        settings.important is None,
    )
