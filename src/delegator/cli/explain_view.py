"""A decision and its trace, for a person at a terminal or as JSON for tools."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from delegator.core.conditions import ConditionTrace, trace_data
from delegator.core.engine import Decision
from delegator.core.matrix import QUADRANT_MEANING

YES, NO = "✓", "✗"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if value is None:
        return "-"
    return str(value)


def _condition_lines(trace: ConditionTrace, depth: int) -> list[str]:
    mark = YES if trace.matched else NO
    pad = "  " * depth
    if trace.children:
        head = f"{pad}{mark} {trace.text} ({trace.actual})  [{trace.path}]"
        return [head, *(line for c in trace.children for line in _condition_lines(c, depth + 1))]
    return [
        f"{pad}{mark} {trace.text}  [{trace.path}]",
        f"{pad}    actual: {_value(trace.actual)}   wanted: {_value(trace.wanted)}",
    ]


def render_text(
    decision: Decision, *, now: datetime, tz_name: str, expectations: Sequence[str] = ()
) -> str:
    """``explain``'s text; ``expectations``: the clock lines of the rules that would delegate
    the task, shown before the decision."""
    task = decision.task
    lines = [
        f'Task {task.gid} "{task.name}"',
        f"  evaluated at {now.isoformat(timespec='minutes')} ({tz_name})",
        "",
        f"Quadrant: {decision.quadrant}  ({QUADRANT_MEANING[decision.quadrant]})",
        f"  urgent: {'yes' if decision.urgent else 'no'}, "
        f"important: {'yes' if decision.important else 'no'}",
    ]
    for trace in (decision.urgent_trace, decision.important_trace):
        if trace is not None:
            lines.extend(_condition_lines(trace, 1))
    lines.append("")
    if decision.skipped:
        lines.append(f"Skipped: {decision.skipped}")
        lines.append("")
    for rule in decision.rule_traces:
        lines.append(f'Rule {rule.index + 1} "{rule.rule}": {rule.status}'
                     + (f" ({rule.note})" if rule.note else ""))  # fmt: skip
        if rule.when is not None:
            lines.extend(_condition_lines(rule.when, 1))
        outcome = next((o for o in decision.outcomes if o.index == rule.index), None)
        if outcome is not None and outcome.intents:
            lines.append("  actions:")
            lines.extend(f"    + {intent.describe()}" for intent in outcome.intents)
        lines.append("")
    if not decision.rule_traces:
        lines.append("The file has no usable rules.")
        lines.append("")
    if decision.near_misses:
        lines.append("Near misses (failed by exactly one condition):")
        lines.extend(
            f'  rule "{miss.rule}": {miss.failed.text} [{miss.failed.path}]: '
            f"actual {_value(miss.failed.actual)}, wanted {_value(miss.failed.wanted)}"
            for miss in decision.near_misses
        )
        lines.append("")
    if expectations:
        lines.append("Expectations, if delegated now:")
        lines.extend(expectations)
        lines.append("")
    verdict = (
        f'Decision: rule "{decision.rule}" takes the task'
        if decision.rule
        else "Decision: no rule acts on this task"
    )
    lines.append(verdict)
    return "\n".join(lines)


def trace_json(trace: ConditionTrace | None) -> Any:
    return trace_data(trace)


def decision_json(decision: Decision, *, now: datetime) -> dict[str, Any]:
    return {
        "task": {"gid": decision.task.gid, "name": decision.task.name},
        "now": now.isoformat(),
        "quadrant": decision.quadrant,
        "urgent": decision.urgent,
        "important": decision.important,
        "skipped": decision.skipped,
        "rule": decision.rule,
        "actions": [
            {"rule": o.rule, "kind": i.kind, "description": i.describe()}
            for o in decision.outcomes
            for i in o.intents
        ],
        "matrix": {
            "urgent": trace_json(decision.urgent_trace),
            "important": trace_json(decision.important_trace),
        },
        "rules": [
            {
                "index": r.index,
                "path": f"rules/{r.index}",
                "name": r.rule,
                "status": r.status,
                "note": r.note,
                "when": trace_json(r.when),
            }
            for r in decision.rule_traces
        ],
        "near_misses": [
            {"rule": m.rule, "failed": trace_json(m.failed)} for m in decision.near_misses
        ],
    }
