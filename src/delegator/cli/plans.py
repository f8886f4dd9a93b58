"""Cycle reports for people: the Terraform-style plan, one-line cycle summaries, JSON, Markdown."""

from __future__ import annotations

from typing import Any

from delegator.cli.console import Style, iso
from delegator.cli.explain_view import NO, YES, trace_json
from delegator.core.conditions import ConditionTrace
from delegator.cycles import Count
from delegator.service import CycleReport, StepStatus, TaskReport

PLAIN = Style()
_MARK = {"done": "+", "planned": "+", "shadow": "?", "queued": "~", "failed": "!", "skipped": "-"}


def _leaves(trace: ConditionTrace, depth: int = 0) -> list[str]:
    mark = YES if trace.matched else NO
    pad = "        " + "  " * depth
    if trace.children:
        own = f"{pad}{mark} {trace.text}"
        return [own, *(line for c in trace.children for line in _leaves(c, depth + 1))]
    actual = (
        trace.actual if not isinstance(trace.actual, list) else ", ".join(map(str, trace.actual))
    )
    return [f"{pad}{mark} {trace.text}   (actual: {actual})"]


def changes_pending(report: CycleReport) -> bool:
    """Whether the plan would write anything: a step planned or queued, or a task held back."""
    return any(
        item.deferred
        or any(s.status in (StepStatus.PLANNED, StepStatus.QUEUED) for s in item.steps)
        for item in report.tasks
    )


def _paint_mark(status: str, style: Style) -> str:
    mark = _MARK.get(status, "?")
    if status in ("done", "planned"):
        return style.ok(mark)
    if status == "failed":
        return style.fail(mark)
    if status == "queued":
        return style.warn(mark)
    return style.dim(mark)


def _task_lines(item: TaskReport, *, verbose: bool, style: Style) -> list[str]:
    decision = item.decision
    task = decision.task
    lines = [f'  ~ "{task.name}" [{decision.quadrant}]  {task.permalink_url or task.gid}']
    for outcome in decision.outcomes:
        mode = " (shadow: nothing written)" if outcome.shadow else ""
        lines.append(f'      rule "{outcome.rule}" [rules/{outcome.index}]{mode}')
        trace = next((t for t in decision.rule_traces if t.index == outcome.index), None)
        if verbose and trace is not None and trace.when is not None:
            lines.extend(_leaves(trace.when))
    if item.deferred:
        lines.append(f'      held back: rule "{item.deferred}" reached its limit for this cycle')
    lines.extend(
        f"      {_paint_mark(step.status, style)} {step.description}"
        + (f"  [{step.status}: {step.note}]" if step.note else "")
        for step in item.steps
    )
    return lines


def _quiet_lines(item: TaskReport) -> str:
    decision = item.decision
    why = decision.skipped or "no rule applies"
    if decision.outcomes and not decision.intents:
        why = f'rule "{decision.rule}": nothing to change'
    misses = ", ".join(f'"{m.rule}" missed {m.failed.text}' for m in decision.near_misses)
    near = f"; near miss: {misses}" if misses else ""
    return f'  = "{decision.task.name}" [{decision.quadrant}] {why}{near}'


def render_plan(report: CycleReport, *, verbose: bool = True, style: Style = PLAIN) -> str:
    changing = [t for t in report.tasks if t.steps or t.deferred]
    quiet = [t for t in report.tasks if not (t.steps or t.deferred)]
    lines = [
        f"Plan for {report.name} ({report.client}): {report.counts[Count.TASKS_SEEN]} tasks read, "
        f"{len(changing)} to change",
        "",
    ]
    for item in changing:
        lines.extend(_task_lines(item, verbose=verbose, style=style))
        lines.append("")
    if quiet:
        lines.append(f"  {len(quiet)} task{'s' if len(quiet) != 1 else ''} left alone:")
        lines.extend(_quiet_lines(item) for item in quiet)
        lines.append("")
    lines.extend(clock_lines(report, style))
    lines.extend(style.fail(f"  ! {error}") for error in report.errors)
    writes = sum(1 for t in changing for s in t.steps if s.status == StepStatus.PLANNED)
    shadow = sum(1 for t in changing for o in t.decision.outcomes if o.shadow)
    queued = sum(1 for t in changing for s in t.steps if s.status == StepStatus.QUEUED)
    lines.append(
        f"Plan: {len(changing)} tasks to change ({writes} writes), {shadow} in shadow mode, "
        f"{queued} queued, {len(quiet)} left alone. Nothing was written to Asana."
    )
    return "\n".join(lines)


def clock_lines(report: CycleReport, style: Style = PLAIN) -> list[str]:
    """The clocks of the open delegations whose rule expects something, and what is due."""
    if not report.clocks:
        return []
    count = len(report.clocks)
    lines = [f"  {count} open delegation{'s' if count != 1 else ''} with expectations:"]
    for clock in report.clocks:
        lines.append(f'  @ "{clock.task_name}" with {clock.assistant} [rule "{clock.rule}"]')
        lines.extend(f"      {line}" for line in clock.lines)
        lines.extend(style.warn(f"      due now: {due}") for due in clock.due)
    lines.append("")
    return lines


def render_summary(report: CycleReport, *, style: Style = PLAIN) -> str:
    c = report.counts
    head = (
        f"{report.client}: {c[Count.TASKS_SEEN]} tasks read, {c[Count.MATCHED]} matched a rule, "
        f"{c[Count.ACTIONS_DONE]} writes done, {c[Count.ACTIONS_FAILED]} failed, "
        f"{c[Count.QUEUED]} queued, {c[Count.SHADOW]} shadow, {c[Count.OVERRIDES]} overrides, "
        f"{report.requests} API requests"
    )
    failed = [
        (item.task, step)
        for item in report.tasks
        for step in item.steps
        if step.status == StepStatus.FAILED
    ]
    lines = [head]
    lines.extend(
        style.fail(f'  ! {step.kind} failed on "{task.name}" ({task.gid}): {step.note}')
        for task, step in failed
    )
    notes = [step.note for _, step in failed if step.note]
    lines.extend(
        style.fail(f"  ! {e}") for e in report.errors if not any(note in e for note in notes)
    )
    return "\n".join(lines)


def report_json(report: CycleReport) -> dict[str, Any]:
    return {
        "client": report.client,
        "name": report.name,
        "started_at": iso(report.started_at),
        "dry_run": report.dry_run,
        "counts": report.counts.to_mapping(),
        "errors": report.errors,
        "requests": report.requests,
        "clocks": [
            {
                "task_gid": c.task_gid,
                "task_name": c.task_name,
                "rule": c.rule,
                "assistant": c.assistant,
                "delegated_at": iso(c.delegated_at),
                "lines": list(c.lines),
                "due": list(c.due),
            }
            for c in report.clocks
        ],
        "tasks": [
            {
                "gid": t.task.gid,
                "name": t.task.name,
                "url": t.task.permalink_url,
                "quadrant": t.decision.quadrant,
                "skipped": t.decision.skipped,
                "rules": [
                    {"rule": o.rule, "index": o.index, "mode": o.mode} for o in t.decision.outcomes
                ],
                "assistant": t.choice.assistant if t.choice else None,
                "assistant_reason": t.choice.reason if t.choice else None,
                "steps": [
                    {
                        "kind": s.kind,
                        "description": s.description,
                        "status": s.status,
                        "note": s.note,
                    }
                    for s in t.steps
                ],
                "held_back_by": t.deferred,
                "conditions": [
                    trace_json(r.when)
                    for r in t.decision.rule_traces
                    if r.status.startswith("acts")
                ],
                "near_misses": [
                    {"rule": m.rule, "failed": trace_json(m.failed)} for m in t.decision.near_misses
                ],
            }
            for t in report.tasks
        ],
    }


def render_markdown(report: CycleReport) -> str:
    lines = [
        f"### Plan for {report.name}",
        "",
        "| task | quadrant | rule | assistant | changes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in report.tasks:
        if not (t.steps or t.deferred):
            continue
        name = t.task.name.replace("|", "\\|")
        link = f"[{name}]({t.task.permalink_url})" if t.task.permalink_url else name
        rule = t.decision.rule or ""
        who = t.choice.assistant if t.choice and t.choice.assistant else ""
        changes = "<br>".join(s.description.replace("|", "\\|") for s in t.steps)
        lines.append(f"| {link} | {t.decision.quadrant} | {rule} | {who} | {changes} |")
    quiet = sum(1 for t in report.tasks if not (t.steps or t.deferred))
    lines += ["", f"{quiet} tasks left alone. Nothing was written to Asana."]
    return "\n".join(lines)
