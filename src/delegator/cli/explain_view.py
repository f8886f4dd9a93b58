"""A decision and its trace, for a person at a terminal (in the client's language) or as JSON
for tools (always English).

In Italian the headings, verdicts, quadrants, rule statuses, actions and dates are translated;
the conditions' own texts and the engine's notes (``tagged X: never touched``...) stay as the
engine writes them, in English, as do the names written in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from delegator.core.conditions import ConditionTrace, trace_data
from delegator.core.engine import Decision, RuleStatus
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
from delegator.core.language import ENGLISH, Language, Phrases, Voice
from delegator.core.matrix import QUADRANT_MEANING

if TYPE_CHECKING:
    from delegator.followup import Foreseen

YES, NO = "✓", "✗"

# The words of explain's text; the English ones are those it always printed.
WORDS = Phrases(
    {
        "task": {Language.EN: 'Task {gid} "{name}"', Language.IT: "Attività {gid} «{name}»"},
        "evaluated": {
            Language.EN: "  evaluated at {now} ({zone})",
            Language.IT: "  valutata il {now} ({zone})",
        },
        "quadrant": {
            Language.EN: "Quadrant: {quadrant}  ({meaning})",
            Language.IT: "Quadrante: {quadrant}  ({meaning})",
        },
        "urgent": {
            Language.EN: "  urgent: {urgent}, important: {important}",
            Language.IT: "  urgente: {urgent}, importante: {important}",
        },
        "yes": {Language.EN: "yes", Language.IT: "sì"},
        "no": {Language.EN: "no", Language.IT: "no"},
        "skipped": {Language.EN: "Skipped: {why}", Language.IT: "Saltata: {why}"},
        "rule": {
            Language.EN: 'Rule {number} "{rule}": {status}',
            Language.IT: "Regola {number} «{rule}»: {status}",
        },
        "actions": {Language.EN: "  actions:", Language.IT: "  azioni:"},
        "actual": {
            Language.EN: "actual: {actual}   wanted: {wanted}",
            Language.IT: "valore: {actual}   atteso: {wanted}",
        },
        "no_rules": {
            Language.EN: "The file has no usable rules.",
            Language.IT: "Il file non ha regole utilizzabili.",
        },
        "near_misses": {
            Language.EN: "Near misses (failed by exactly one condition):",
            Language.IT: "Quasi applicabili (manca una sola condizione):",
        },
        "near_miss": {
            Language.EN: '  rule "{rule}": {text} [{path}]: actual {actual}, wanted {wanted}',
            Language.IT: "  regola «{rule}»: {text} [{path}]: valore {actual}, atteso {wanted}",
        },
        "expectations": {
            Language.EN: "Expectations, if delegated now:",
            Language.IT: "Tempi attesi, se delegata adesso:",
        },
        "expectation_rule": {
            Language.EN: '  rule "{rule}", to {assistant}:',
            Language.IT: "  regola «{rule}», a {assistant}:",
        },
        "takes": {
            Language.EN: 'Decision: rule "{rule}" takes the task',
            Language.IT: "Decisione: la regola «{rule}» prende l'attività",
        },
        "no_rule": {
            Language.EN: "Decision: no rule acts on this task",
            Language.IT: "Decisione: nessuna regola agisce su questa attività",
        },
    }
)

QUADRANTS = Phrases(
    {
        quadrant: {Language.EN: meaning, Language.IT: italian}
        for (quadrant, meaning), italian in zip(
            QUADRANT_MEANING.items(),
            (
                "urgente e importante: la fa subito il titolare",
                "importante, non urgente: la pianifica il titolare",
                "urgente, non importante: la fa un assistente",
                "né urgente né importante: un assistente, o nessuno",
            ),
            strict=True,
        )
    }
)

STATUSES = Phrases(
    {
        RuleStatus.ACTS: {Language.EN: "acts", Language.IT: "agisce"},
        RuleStatus.ACTS_SHADOW: {
            Language.EN: "acts (shadow)",
            Language.IT: "agisce (in prova: non scrive nulla)",
        },
        RuleStatus.NOTHING_TO_DO: {Language.EN: "nothing to do", Language.IT: "niente da fare"},
        RuleStatus.NO_MATCH: {Language.EN: "no match", Language.IT: "non si applica"},
        RuleStatus.NOT_REACHED: {Language.EN: "not reached", Language.IT: "non raggiunta"},
        RuleStatus.SKIPPED: {Language.EN: "skipped", Language.IT: "saltata"},
    }
)

ACTIONS = Phrases(
    {
        "assign_to": {Language.EN: "assign to {to}", Language.IT: "assegna a {to}"},
        "assign_pool": {
            Language.EN: "assign to one of [{pool}] ({how})",
            Language.IT: "assegna a uno tra [{pool}] ({how})",
        },
        "skill": {Language.EN: ", skill {skill}", Language.IT: ", competenza {skill}"},
        "tag": {Language.EN: "add tag {name}", Language.IT: "aggiungi il tag {name}"},
        "untag": {Language.EN: "remove tag {name}", Language.IT: "togli il tag {name}"},
        "follow": {
            Language.EN: "add follower {who}",
            Language.IT: "aggiungi {who} ai collaboratori",
        },
        "move": {
            Language.EN: "move to project {project}",
            Language.IT: "sposta nel progetto {project}",
        },
        "move_section": {
            Language.EN: "move to section {section} of project {project}",
            Language.IT: "sposta nella sezione {section} del progetto {project}",
        },
        "set": {Language.EN: "set {field} to {value}", Language.IT: "imposta {field} a {value}"},
        "due": {Language.EN: "set due date {day}", Language.IT: "imposta la scadenza a {day}"},
        "comment": {Language.EN: "comment {text}", Language.IT: "commenta {text}"},
    }
)


def describe_intent(intent: Intent, voice: Voice = ENGLISH) -> str:
    """An action as a person reads it: ``intent.describe()`` in English, translated else."""
    if voice.language is Language.EN:
        return intent.describe()
    say = voice.say
    match intent:
        case Assign(to=str(to)):
            return say(ACTIONS, "assign_to", to=to)
        case Assign():
            skill = say(ACTIONS, "skill", skill=intent.skill) if intent.skill else ""
            how = f"{intent.strategy}{skill}"
            return say(ACTIONS, "assign_pool", pool=", ".join(intent.pool), how=how)
        case AddTag():
            return say(ACTIONS, "tag", name=intent.name)
        case RemoveTag():
            return say(ACTIONS, "untag", name=intent.name)
        case Follow():
            return say(ACTIONS, "follow", who=intent.who)
        case Move(section=str(section)):
            return say(ACTIONS, "move_section", section=section, project=intent.project)
        case Move():
            return say(ACTIONS, "move", project=intent.project)
        case SetField():
            return say(ACTIONS, "set", field=intent.field, value=intent.value)
        case SetDue():
            return say(ACTIONS, "due", day=voice.long_day(intent.due_on))
        case Comment():
            return say(ACTIONS, "comment", text=intent.describe().removeprefix("comment "))


def expectation_lines(clocks: Iterable[Foreseen], voice: Voice = ENGLISH) -> list[str]:
    """The clocks ``explain`` shows, if the task were delegated now: a heading per rule and
    assistant, then its lines (already in the client's language)."""
    return [
        line
        for c in clocks
        for line in (
            voice.say(WORDS, "expectation_rule", rule=c.rule, assistant=c.assistant),
            *(f"    {x}" for x in c.lines),
        )
    ]


def _evaluated(now: datetime, voice: Voice) -> str:
    if voice.language is Language.EN:
        return now.isoformat(timespec="minutes")
    zone = now.tzinfo if isinstance(now.tzinfo, ZoneInfo) else None
    local = now if zone is None else now.astimezone(zone)
    return f"{voice.long_day(local.date())} {local.strftime('%H:%M')}"


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


def _condition_lines(trace: ConditionTrace, depth: int, voice: Voice = ENGLISH) -> list[str]:
    mark = YES if trace.matched else NO
    pad = "  " * depth
    if trace.children:
        head = f"{pad}{mark} {trace.text} ({trace.actual})  [{trace.path}]"
        return [
            head,
            *(line for c in trace.children for line in _condition_lines(c, depth + 1, voice)),
        ]
    values = voice.say(WORDS, "actual", actual=_value(trace.actual), wanted=_value(trace.wanted))
    return [f"{pad}{mark} {trace.text}  [{trace.path}]", f"{pad}    {values}"]


def render_text(
    decision: Decision,
    *,
    now: datetime,
    tz_name: str,
    expectations: Sequence[str] = (),
    voice: Voice = ENGLISH,
) -> str:
    """``explain``'s text in the voice's language; ``expectations``: the clock lines of the
    rules that would delegate the task, shown before the decision (``expectation_lines``)."""
    task = decision.task
    say = voice.say

    def yes(value: bool) -> str:
        return say(WORDS, "yes" if value else "no")

    lines = [
        say(WORDS, "task", gid=task.gid, name=task.name),
        say(WORDS, "evaluated", now=_evaluated(now, voice), zone=tz_name),
        "",
        say(
            WORDS,
            "quadrant",
            quadrant=decision.quadrant,
            meaning=say(QUADRANTS, decision.quadrant),
        ),
        say(WORDS, "urgent", urgent=yes(decision.urgent), important=yes(decision.important)),
    ]
    for trace in (decision.urgent_trace, decision.important_trace):
        if trace is not None:
            lines.extend(_condition_lines(trace, 1, voice))
    lines.append("")
    if decision.skipped:
        lines.append(say(WORDS, "skipped", why=decision.skipped))
        lines.append("")
    for rule in decision.rule_traces:
        status = say(STATUSES, rule.status)
        lines.append(say(WORDS, "rule", number=rule.index + 1, rule=rule.rule, status=status)
                     + (f" ({rule.note})" if rule.note else ""))  # fmt: skip
        if rule.when is not None:
            lines.extend(_condition_lines(rule.when, 1, voice))
        outcome = next((o for o in decision.outcomes if o.index == rule.index), None)
        if outcome is not None and outcome.intents:
            lines.append(say(WORDS, "actions"))
            lines.extend(f"    + {describe_intent(i, voice)}" for i in outcome.intents)
        lines.append("")
    if not decision.rule_traces:
        lines.append(say(WORDS, "no_rules"))
        lines.append("")
    if decision.near_misses:
        lines.append(say(WORDS, "near_misses"))
        lines.extend(
            say(
                WORDS,
                "near_miss",
                rule=miss.rule,
                text=miss.failed.text,
                path=miss.failed.path,
                actual=_value(miss.failed.actual),
                wanted=_value(miss.failed.wanted),
            )
            for miss in decision.near_misses
        )
        lines.append("")
    if expectations:
        lines.append(say(WORDS, "expectations"))
        lines.extend(expectations)
        lines.append("")
    verdict = say(WORDS, "takes", rule=decision.rule) if decision.rule else say(WORDS, "no_rule")
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
