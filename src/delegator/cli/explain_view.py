"""A decision and its trace, for a person at a terminal (in the client's language) or as JSON
for tools (always English).

In Italian everything the service says is Italian: headings, verdicts, quadrants, rule statuses,
actions, the frames of the conditions (``tutte queste``, ``almeno una di queste``, ``non``) and
what they saw, the engine's notes, and dates. The conditions themselves are shown as the rule
file writes them (``quadrant in [eliminate]``, ``section is Inbox in Operations``): its keywords
are English, and so are the names written in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from delegator.core.assignment import Choice, choice_reason
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
from delegator.summaries.reasons import taken_back_reason

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
        "assigned": {Language.EN: "assign to {who}: {why}", Language.IT: "assegna a {who}: {why}"},
        "least_loaded": {Language.EN: "least_loaded", Language.IT: "al meno carico"},
        "round_robin": {Language.EN: "round_robin", Language.IT: "a rotazione"},
    }
)

# The frames of the conditions (all, any, not) and what they saw and wanted.
FRAMES = Phrases(
    {
        "all": {Language.EN: "all of", Language.IT: "tutte queste"},
        "any": {Language.EN: "any of", Language.IT: "almeno una di queste"},
        "not": {Language.EN: "not", Language.IT: "non"},
        "count": {Language.EN: "{held} of {total} hold", Language.IT: "{held} su {total} valgono"},
        "holds": {Language.EN: "holds", Language.IT: "vale"},
        "fails": {Language.EN: "does not hold", Language.IT: "non vale"},
        "want_all": {Language.EN: "every one holds", Language.IT: "valgono tutte"},
        "want_any": {Language.EN: "at least one holds", Language.IT: "ne vale almeno una"},
        "want_not": {
            Language.EN: "the condition does not hold",
            Language.IT: "la condizione non vale",
        },
        # a near miss on a whole frame, in a plan's line about a task left alone
        "missed_all": {Language.EN: "all of", Language.IT: "non valgono tutte le condizioni"},
        "missed_any": {Language.EN: "any of", Language.IT: "non vale nessuna delle alternative"},
        "missed_not": {Language.EN: "not", Language.IT: "vale la condizione esclusa"},
    }
)

# What a condition saw, where the engine words it (a missing date, the owner...).
SEEN = Phrases(
    {
        "nobody": {Language.EN: "nobody", Language.IT: "nessuno"},
        "owner": {Language.EN: "{who} (owner)", Language.IT: "{who} (titolare)"},
        "assistant": {
            Language.EN: "{who} (assistant {key})",
            Language.IT: "{who} (assistente {key})",
        },
        "no date": {Language.EN: "no date", Language.IT: "nessuna data"},
        "no due date": {Language.EN: "no due date", Language.IT: "nessuna scadenza"},
        "due": {Language.EN: "due {when}", Language.IT: "scade {when}"},
        "unknown": {Language.EN: "unknown", Language.IT: "sconosciuta"},
        "not set": {Language.EN: "not set", Language.IT: "non impostato"},
        "no such field on the task": {
            Language.EN: "no such field on the task",
            Language.IT: "campo assente nell'attività",
        },
    }
)
_DATED = frozenset({"due", "start", "created", "modified"})
_SEEN_WORDS: dict[str, tuple[str, ...]] = {  # the kinds of condition that see each word
    "assignee": ("nobody",),
    "due": ("no date",),
    "start": ("no date",),
    "overdue": ("no due date",),
    "created": ("unknown",),
    "modified": ("unknown",),
    "custom_field": ("not set", "no such field on the task"),
}
_OWNED = re.compile(
    r"^(?P<who>.+?)(?P<owner> \(owner\))?(?: \(assistant (?P<key>[^()]+)\))?$", re.DOTALL
)

# The engine's notes on a rule or a task left alone, as it words them.
NOTES = Phrases(
    {
        "opted_out": {
            Language.EN: "tagged {tag}: never touched",
            Language.IT: "ha il tag {tag}: non si tocca",
        },
        "taken_back": {
            Language.EN: "taken back by a person: {why}",
            Language.IT: "ripresa da una persona: {why}",
        },
        "completed": {
            Language.EN: "the task is completed",
            Language.IT: "l'attività è completata",
        },
        "claimed": {
            Language.EN: "rule '{rule}' already took the task (continue: false)",
            Language.IT: "la regola «{rule}» ha già preso l'attività (continue: false)",
        },
        "acted": {
            Language.EN: "already acted on {day} (repeat: false)",
            Language.IT: "ha già agito {day} (repeat: false)",
        },
        "in_place": {
            Language.EN: "every action is already in place",
            Language.IT: "ogni azione è già fatta",
        },
        "shadow": {
            Language.EN: "shadow mode: planned and reported, nothing written",
            Language.IT: "prevista e mostrata, mai scritta",
        },
    }
)
_NOTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^tagged (?P<tag>.+): never touched$", re.DOTALL), "opted_out"),
    (re.compile(r"^taken back by a person: (?P<why>.+)$", re.DOTALL), "taken_back"),
    (re.compile(r"^the task is completed$"), "completed"),
    (re.compile(r"^rule '(?P<rule>.+)' already took the task \(continue: false\)$", re.DOTALL),
     "claimed"),
    (re.compile(r"^already acted on (?P<day>\d{4}-\d\d-\d\d) \(repeat: false\)$"), "acted"),
    (re.compile(r"^every action is already in place$"), "in_place"),
    (re.compile(r"^shadow mode: planned and reported, nothing written$"), "shadow"),
)  # fmt: skip


def describe_intent(intent: Intent, voice: Voice = ENGLISH, choice: Choice | None = None) -> str:
    """An action as a person reads it: ``intent.describe()`` in English, translated else; an
    assignment with its ``choice`` says to whom and why (as a plan's step does)."""
    say = voice.say
    if isinstance(intent, Assign) and choice is not None and choice.assigned:
        who = choice.assistant or choice.user
        return say(ACTIONS, "assigned", who=who, why=choice_reason(choice, voice))
    if voice.language is Language.EN:
        return intent.describe()
    match intent:
        case Assign(to=str(to)):
            return say(ACTIONS, "assign_to", to=to)
        case Assign():
            skill = say(ACTIONS, "skill", skill=intent.skill) if intent.skill else ""
            how = f"{say(ACTIONS, intent.strategy)}{skill}"
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


def note_text(note: str, voice: Voice = ENGLISH) -> str:
    """One of the engine's notes (why a task is left alone, what a rule did) in the voice; a
    note worded otherwise is shown as written."""
    if voice.language is Language.EN:
        return note
    for pattern, key in _NOTES:
        found = pattern.match(note)
        if found is None:
            continue
        values = found.groupdict()
        if key == "taken_back":
            values["why"] = taken_back_reason(values["why"], voice)
        if key == "acted":
            values["day"] = voice.long_day(date.fromisoformat(values["day"]))
        return voice.say(NOTES, key, **values)
    return note


def condition_text(trace: ConditionTrace, voice: Voice = ENGLISH) -> str:
    """A condition as shown: a frame (all, any, not) in the voice, any other as written."""
    if voice.language is Language.EN or trace.kind not in ("all", "any", "not"):
        return trace.text
    return voice.say(FRAMES, trace.kind)


def missed_text(trace: ConditionTrace, voice: Voice = ENGLISH) -> str:
    """The one condition a near miss failed, for a line about a task left alone."""
    if voice.language is Language.EN or trace.kind not in ("all", "any", "not"):
        return trace.text
    return voice.say(FRAMES, f"missed_{trace.kind}")


def seen(trace: ConditionTrace, voice: Voice = ENGLISH) -> str:
    """What a condition saw, as shown: a frame's count in the voice, a date per its locale."""
    if voice.language is Language.EN:
        return _value(trace.actual)
    say = voice.say
    if trace.kind in ("all", "any"):
        held = sum(c.matched for c in trace.children)
        return say(FRAMES, "count", held=held, total=len(trace.children))
    if trace.kind == "not":
        return say(FRAMES, "holds" if trace.children[0].matched else "fails")
    actual = trace.actual
    if isinstance(actual, bool):
        return say(WORDS, "yes" if actual else "no")
    if not isinstance(actual, str):
        return _value(actual)
    if actual in _SEEN_WORDS.get(trace.kind, ()):
        return say(SEEN, actual)
    if trace.kind in _DATED:
        return _when(actual, voice)
    if trace.kind == "overdue" and actual.startswith("due "):
        return say(SEEN, "due", when=_when(actual.removeprefix("due "), voice))
    if trace.kind == "assignee":
        found = _OWNED.match(actual)
        if found is not None and (found["owner"] or found["key"]):
            who = found["who"]
            if found["owner"]:
                who = say(SEEN, "owner", who=who)
            return say(SEEN, "assistant", who=who, key=found["key"]) if found["key"] else who
    return actual


def wanted(trace: ConditionTrace, voice: Voice = ENGLISH) -> str:
    """What a condition wanted, as shown: a frame's in the voice, any other as written."""
    if voice.language is Language.EN:
        return _value(trace.wanted)
    if trace.kind in ("all", "any", "not"):
        return voice.say(FRAMES, f"want_{trace.kind}")
    if isinstance(trace.wanted, bool):
        return voice.say(WORDS, "yes" if trace.wanted else "no")
    return _value(trace.wanted)


def _when(text: str, voice: Voice) -> str:
    """An ISO date or moment a condition saw, as the voice writes dates; else as it is."""
    try:
        if "T" not in text:
            return voice.day(date.fromisoformat(text))
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return f"{voice.day(moment.date())} {moment:%H:%M}"


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
    text = condition_text(trace, voice)
    if trace.children:
        head = f"{pad}{mark} {text} ({seen(trace, voice)})  [{trace.path}]"
        return [
            head,
            *(line for c in trace.children for line in _condition_lines(c, depth + 1, voice)),
        ]
    values = voice.say(WORDS, "actual", actual=seen(trace, voice), wanted=wanted(trace, voice))
    return [f"{pad}{mark} {text}  [{trace.path}]", f"{pad}    {values}"]


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
        lines.append(say(WORDS, "skipped", why=note_text(decision.skipped, voice)))
        lines.append("")
    for rule in decision.rule_traces:
        status = say(STATUSES, rule.status)
        lines.append(say(WORDS, "rule", number=rule.index + 1, rule=rule.rule, status=status)
                     + (f" ({note_text(rule.note, voice)})" if rule.note else ""))  # fmt: skip
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
                text=condition_text(miss.failed, voice),
                path=miss.failed.path,
                actual=seen(miss.failed, voice),
                wanted=wanted(miss.failed, voice),
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
