"""Cycle reports for people: the Terraform-style plan, one-line cycle summaries, JSON, Markdown.

The plan and its Markdown are written in the client's language (``voice``): its steps, why an
assistant was chosen, the frames of the conditions and what they saw, and the engine's notes.
The conditions are shown as the rule file writes them; the JSON stays English."""

from __future__ import annotations

from typing import Any

from delegator.cli.console import Style, iso
from delegator.cli.explain_view import (
    ACTIONS,
    NO,
    YES,
    condition_text,
    describe_intent,
    missed_text,
    note_text,
    seen,
    trace_json,
)
from delegator.core.assignment import choice_reason
from delegator.core.conditions import ConditionTrace
from delegator.core.intents import Assign
from delegator.core.language import ENGLISH, Language, Noun, Phrases, Voice
from delegator.cycles import Count
from delegator.service import CycleReport, Step, StepStatus, TaskReport

PLAIN = Style()
_MARK = {"done": "+", "planned": "+", "shadow": "?", "queued": "~", "failed": "!", "skipped": "-"}

# The plan's words; the English ones are those it always printed.
WORDS = Phrases(
    {
        "shadow": {
            Language.EN: " (shadow: nothing written)",
            Language.IT: " (in prova: non scrive nulla)",
        },
        "rule": {Language.EN: 'rule "{rule}"', Language.IT: "regola «{rule}»"},
        "held_back": {
            Language.EN: 'held back: rule "{rule}" reached its limit for this cycle',
            Language.IT: "rimandata: la regola «{rule}» ha raggiunto il suo limite per questo giro",
        },
        "no_rule": {Language.EN: "no rule applies", Language.IT: "nessuna regola si applica"},
        "nothing": {
            Language.EN: 'rule "{rule}": nothing to change',
            Language.IT: "regola «{rule}»: niente da cambiare",
        },
        "missed": {
            Language.EN: '"{rule}" missed {text}',
            Language.IT: "«{rule}» senza {text}",
        },
        "missed_frame": {
            Language.EN: '"{rule}" missed {text}',
            Language.IT: "«{rule}»: {text}",
        },
        "near": {Language.EN: "; near miss: {misses}", Language.IT: "; quasi: {misses}"},
        "head": {
            Language.EN: "Plan for {name} ({client}): {read} read, {change} to change",
            Language.IT: "Piano per {name} ({client}): {read} lette, {change} da cambiare",
        },
        "left_alone": {
            Language.EN: "  {tasks} left alone:",
            Language.IT: "  {tasks} lasciate così:",
        },
        "clocks": {
            Language.EN: "  {delegations} with expectations:",
            Language.IT: "  {delegations} con tempi attesi:",
        },
        "clock": {
            Language.EN: '  @ "{task}" with {assistant} [rule "{rule}"]',
            Language.IT: "  @ «{task}» a {assistant} [regola «{rule}»]",
        },
        "due_now": {Language.EN: "due now: {due}", Language.IT: "da fare ora: {due}"},
        "total": {
            Language.EN: "Plan: {change} to change ({writes} writes), {shadow} in shadow mode, "
            "{queued} queued, {quiet} left alone. Nothing was written to Asana.",
            Language.IT: "Piano: {change} da cambiare ({writes} scritture), {shadow} in prova, "
            "{queued} in coda, {quiet} lasciate così. Nulla è stato scritto su Asana.",
        },
        "md_head": {Language.EN: "### Plan for {name}", Language.IT: "### Piano per {name}"},
        "md_columns": {
            Language.EN: "| task | quadrant | rule | assistant | changes |",
            Language.IT: "| attività | quadrante | regola | assistente | modifiche |",
        },
        "actual": {Language.EN: "(actual: {actual})", Language.IT: "(valore: {actual})"},
        "queue": {Language.EN: "queue: {why}", Language.IT: "in coda: {why}"},
        "step_note": {Language.EN: "{status}: {note}", Language.IT: "{status}: {note}"},
        "md_total": {
            Language.EN: "{tasks} left alone. Nothing was written to Asana.",
            Language.IT: "{tasks} lasciate così. Nulla è stato scritto su Asana.",
        },
    }
)
_DUE = Phrases(
    {
        f"{step} {stage}": {Language.EN: f"{step} {stage}", Language.IT: italian}
        for step, stage, italian in (
            ("reminder", "acknowledged", "promemoria presa in carico"),
            ("reminder", "started", "promemoria inizio"),
            ("reminder", "done", "promemoria completamento"),
            ("escalation", "acknowledged", "segnalazione presa in carico"),
            ("escalation", "started", "segnalazione inizio"),
            ("escalation", "done", "segnalazione completamento"),
            ("reassign", "acknowledged", "riassegnazione"),
            ("reassign", "started", "riassegnazione"),
            ("reassign", "done", "riassegnazione"),
        )
    }
)
STEP_STATUSES = Phrases(
    {
        StepStatus.DONE: {Language.EN: "done", Language.IT: "fatto"},
        StepStatus.FAILED: {Language.EN: "failed", Language.IT: "non riuscito"},
        StepStatus.PLANNED: {Language.EN: "planned", Language.IT: "previsto"},
        StepStatus.SHADOW: {Language.EN: "shadow", Language.IT: "in prova"},
        StepStatus.QUEUED: {Language.EN: "queued", Language.IT: "in coda"},
        StepStatus.SKIPPED: {Language.EN: "skipped", Language.IT: "saltato"},
    }
)
_MISSED = {"all": "missed_frame", "any": "missed_frame", "not": "missed_frame"}
TASKS = Noun({Language.EN: ("task", "tasks"), Language.IT: ("attività", "attività")})
DELEGATIONS = Noun(
    {
        Language.EN: ("open delegation", "open delegations"),
        Language.IT: ("delega aperta", "deleghe aperte"),
    }
)


def _due_words(due: str, voice: Voice) -> str:
    if voice.language is Language.EN or due not in _DUE.texts:
        return due
    return voice.say(_DUE, due)


def _leaves(trace: ConditionTrace, depth: int = 0, voice: Voice = ENGLISH) -> list[str]:
    mark = YES if trace.matched else NO
    pad = "        " + "  " * depth
    text = condition_text(trace, voice)
    if trace.children:
        own = f"{pad}{mark} {text}"
        return [own, *(line for c in trace.children for line in _leaves(c, depth + 1, voice))]
    if voice.language is Language.EN:
        actual = trace.actual
        shown = actual if not isinstance(actual, list) else ", ".join(map(str, actual))
    elif isinstance(trace.actual, list):
        shown = ", ".join(map(str, trace.actual))
    else:
        shown = seen(trace, voice)
    return [f"{pad}{mark} {text}   {voice.say(WORDS, 'actual', actual=shown)}"]


def step_text(step: Step, item: TaskReport, voice: Voice = ENGLISH) -> str:
    """A step as the plan shows it: its description, in the voice. The service describes each
    step in English from its intent and the assistant chosen; the step carries both, and they
    are said here in the voice (a comment posted: its text; a queued or skipped assignment: the
    choice's reason). A step carrying neither is shown as described."""
    if voice.language is Language.EN:
        return step.description
    choice = item.choice
    if step.intent is not None and step.text is None:
        # The step's own intent (a failed write is described without the choice, as in English).
        assigned = isinstance(step.intent, Assign) and step.status is not StepStatus.FAILED
        return describe_intent(step.intent, voice, choice if assigned else None)
    if choice is not None and step.kind in ("queue", "assign") and not choice.assigned:
        if step.description == choice.reason:
            return choice_reason(choice, voice)
        if step.description == f"queue: {choice.reason}":
            return voice.say(WORDS, "queue", why=choice_reason(choice, voice))
    if step.kind == "comment" and step.description.startswith('comment "'):
        return voice.say(ACTIONS, "comment", text=step.description.removeprefix("comment "))
    return step.description


def _step_note(step: Step, voice: Voice) -> str:
    if not step.note:
        return ""
    status = (
        voice.say(STEP_STATUSES, step.status) if step.status in STEP_STATUSES.texts else step.status
    )
    return f"  [{voice.say(WORDS, 'step_note', status=status, note=step.note)}]"


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


def _task_lines(
    item: TaskReport, *, verbose: bool, style: Style, voice: Voice = ENGLISH
) -> list[str]:
    decision = item.decision
    task = decision.task
    name = f'"{task.name}"' if voice.language is Language.EN else f"«{task.name}»"
    lines = [f"  ~ {name} [{decision.quadrant}]  {task.permalink_url or task.gid}"]
    for outcome in decision.outcomes:
        mode = voice.say(WORDS, "shadow") if outcome.shadow else ""
        rule = voice.say(WORDS, "rule", rule=outcome.rule)
        lines.append(f"      {rule} [rules/{outcome.index}]{mode}")
        trace = next((t for t in decision.rule_traces if t.index == outcome.index), None)
        if verbose and trace is not None and trace.when is not None:
            lines.extend(_leaves(trace.when, 0, voice))
    if item.deferred:
        lines.append(f"      {voice.say(WORDS, 'held_back', rule=item.deferred)}")
    lines.extend(
        f"      {_paint_mark(step.status, style)} {step_text(step, item, voice)}"
        + _step_note(step, voice)
        for step in item.steps
    )
    return lines


def _quiet_lines(item: TaskReport, voice: Voice = ENGLISH) -> str:
    decision = item.decision
    say = voice.say
    why = note_text(decision.skipped, voice) if decision.skipped else say(WORDS, "no_rule")
    if decision.outcomes and not decision.intents:
        why = say(WORDS, "nothing", rule=decision.rule)
    misses = ", ".join(
        say(
            WORDS,
            _MISSED.get(m.failed.kind, "missed"),
            rule=m.rule,
            text=missed_text(m.failed, voice),
        )
        for m in decision.near_misses
    )
    near = say(WORDS, "near", misses=misses) if misses else ""
    name = f'"{decision.task.name}"' if voice.language is Language.EN else f"«{decision.task.name}»"
    return f"  = {name} [{decision.quadrant}] {why}{near}"


def _tasks(count: int, voice: Voice) -> str:
    if voice.language is Language.EN:
        return f"{count} tasks"  # the English plan always said "1 tasks" here
    return TASKS.count(voice.language, count)


def render_plan(
    report: CycleReport, *, verbose: bool = True, style: Style = PLAIN, voice: Voice = ENGLISH
) -> str:
    """The plan of a cycle, in the client's language (``voice``: the client's ``voice``)."""
    changing = [t for t in report.tasks if t.steps or t.deferred]
    quiet = [t for t in report.tasks if not (t.steps or t.deferred)]
    say = voice.say
    lines = [
        say(
            WORDS,
            "head",
            name=report.name,
            client=report.client,
            read=_tasks(report.counts[Count.TASKS_SEEN], voice),
            change=len(changing),
        ),
        "",
    ]
    for item in changing:
        lines.extend(_task_lines(item, verbose=verbose, style=style, voice=voice))
        lines.append("")
    if quiet:
        lines.append(say(WORDS, "left_alone", tasks=TASKS.count(voice.language, len(quiet))))
        lines.extend(_quiet_lines(item, voice) for item in quiet)
        lines.append("")
    lines.extend(clock_lines(report, style, voice))
    lines.extend(style.fail(f"  ! {error}") for error in report.errors)
    writes = sum(1 for t in changing for s in t.steps if s.status == StepStatus.PLANNED)
    shadow = sum(1 for t in changing for o in t.decision.outcomes if o.shadow)
    queued = sum(1 for t in changing for s in t.steps if s.status == StepStatus.QUEUED)
    lines.append(
        say(
            WORDS,
            "total",
            change=_tasks(len(changing), voice),
            writes=writes,
            shadow=shadow,
            queued=queued,
            quiet=len(quiet),
        )
    )
    return "\n".join(lines)


def clock_lines(report: CycleReport, style: Style = PLAIN, voice: Voice = ENGLISH) -> list[str]:
    """The clocks of the open delegations whose rule expects something, and what is due."""
    if not report.clocks:
        return []
    say = voice.say
    lines = [
        say(WORDS, "clocks", delegations=DELEGATIONS.count(voice.language, len(report.clocks)))
    ]
    for clock in report.clocks:
        lines.append(
            say(WORDS, "clock", task=clock.task_name, assistant=clock.assistant, rule=clock.rule)
        )
        shown = clock.lines if voice.language is Language.EN or not clock.said else clock.said
        lines.extend(f"      {line}" for line in shown)
        lines.extend(
            style.warn(f"      {say(WORDS, 'due_now', due=_due_words(due, voice))}")
            for due in clock.due
        )
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


def _cell(text: str) -> str:
    """A text in one cell of a Markdown table: its pipes escaped, its lines joined, and no HTML
    (GitHub renders a table cell's tags)."""
    return " ".join(text.splitlines()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(report: CycleReport, *, voice: Voice = ENGLISH) -> str:
    lines = [
        voice.say(WORDS, "md_head", name=" ".join(report.name.splitlines())),
        "",
        voice.say(WORDS, "md_columns"),
        "| --- | --- | --- | --- | --- |",
    ]
    for t in report.tasks:
        if not (t.steps or t.deferred):
            continue
        name = _cell(t.task.name)
        if t.task.permalink_url:
            name = name.replace("[", "\\[").replace("]", "\\]")
        link = f"[{name}]({t.task.permalink_url})" if t.task.permalink_url else name
        rule = _cell(t.decision.rule or "")
        who = _cell(t.choice.assistant if t.choice and t.choice.assistant else "")
        changes = "<br>".join(_cell(step_text(s, t, voice)) for s in t.steps)
        lines.append(f"| {link} | {t.decision.quadrant} | {rule} | {who} | {changes} |")
    quiet = sum(1 for t in report.tasks if not (t.steps or t.deferred))
    lines += ["", voice.say(WORDS, "md_total", tasks=_tasks(quiet, voice))]
    return "\n".join(lines)
