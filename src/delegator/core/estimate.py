"""How long a delegated task would have taken its owner: the "time given back" of a summary.

From the task's estimate custom field when it has one (a number of minutes, or of hours when the
field's name says hours; a text such as "1h 30m" is read too), otherwise from the rule's
``minutes``. The source is kept so a summary can say which estimates it added up.
"""

from __future__ import annotations

import re
from typing import Literal

from delegator.core.model import Task

DEFAULT_TIME_FIELD = "Estimated time"
EstimateSource = Literal["field", "rule"]

_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*(h|hours?|hrs?|m|mins?|minutes?)\b", re.IGNORECASE)


def _from_text(text: str, in_hours: bool) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        pass
    else:
        return number * 60 if in_hours else number
    total = 0.0
    found = False
    for amount, unit in _PART.findall(text):
        found = True
        value = float(amount.replace(",", "."))
        total += value * 60 if unit.lower().startswith("h") else value
    return total if found else None


def estimate_minutes(
    task: Task, time_field: str = DEFAULT_TIME_FIELD, rule_minutes: int | None = None
) -> tuple[int | None, EstimateSource | None]:
    """(minutes, where they came from), or (None, None) when neither the task nor the rule says."""
    value = task.fields_by_key.get(time_field.casefold())
    if value is not None and value.is_set:
        in_hours = "hour" in value.name.casefold()
        minutes: float | None = None
        if value.number is not None:
            minutes = float(value.number) * 60 if in_hours else float(value.number)
        elif value.text:
            minutes = _from_text(value.text, in_hours)
        elif value.display:
            minutes = _from_text(value.display, in_hours)
        if minutes is not None and minutes > 0:
            return round(minutes), "field"
    if rule_minutes is not None:
        return rule_minutes, "rule"
    return None, None
