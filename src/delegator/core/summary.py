"""What a client summary and an assistant digest say, computed from plain records.

Delegation works when both sides hear about it without asking: the client sees what the
assistants took over, finished, let slip or could not take, and where the rules were wrong; an
assistant sees what is new for them and what is due. The glue gathers the records (store, Asana);
this module only counts, groups, sorts and judges, so each section is tested from a known state.

Dates are read in the client's (or the assistant's) time zone: a task due on the day the period
ends is not overdue yet. Every text computed here (headline, status reason, time given back) is
written in the client's voice (``core.language``): its language, its dates and numbers. Lists are sorted by due date (none last), then name, then gid, so the
same records always give the same summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from delegator.core.estimate import DEFAULT_TIME_FIELD
from delegator.core.language import ENGLISH, Language, Noun, Phrases, Voice

Quadrant = Literal["do", "schedule", "delegate", "eliminate"]
StatusType = Literal["on_track", "at_risk", "off_track"]
# task: a delegated task was deleted, or the token can no longer see it; write: changes to tasks
# the rules asked for failed.
ProblemKind = Literal["rules", "source", "token", "cycle", "delivery", "task", "write"]

# Problems that mean the service cannot see or act for this client at all.
BLOCKING_PROBLEMS: frozenset[str] = frozenset({"token", "source"})


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class DelegatedTask:
    """One delegation the service made: still open, or made or closed in the period."""

    gid: str
    name: str
    url: str
    rule: str
    assistant: str  # the assistant's key in the client file
    assistant_name: str
    delegated_at: datetime
    due_on: date | None
    # deleted / no_access: gone from the service's sight; neither open nor done; bounced: the
    # assistant said "not for me"; reassigned: given to another assistant after a second miss
    status: Literal["open", "done", "overridden", "deleted", "no_access", "bounced", "reassigned"]
    closed_at: datetime | None = None
    minutes: int | None = None  # the time it would have taken the owner
    minutes_from: Literal["field", "rule"] | None = None


@dataclass(frozen=True, slots=True)
class WaitingTask:
    """A task not delegated yet: queued (no assistant free) or matched by a shadow rule."""

    gid: str
    name: str
    url: str
    rule: str
    why: Literal["queued", "shadow"]
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TakenBack:
    """An override: a person undid a delegation, so the rule may be wrong for this task."""

    gid: str
    name: str
    url: str
    rule: str
    reason: str
    at: datetime


FollowUpKind = Literal["reminder", "escalation", "reassign", "bounce"]


@dataclass(frozen=True, slots=True)
class FollowUpFact:
    """One step of a delegation's follow-up carried out: a reminder, a missed expectation
    escalated, a reassignment, or a bounce ("not for me")."""

    gid: str
    name: str
    url: str
    rule: str
    assistant: str  # the assistant's key
    assistant_name: str
    kind: FollowUpKind
    stage: str  # acknowledged | started | done; "" for a bounce
    at: datetime
    reason: str = ""  # a bounce's reason, as the assistant wrote it ("" when none)
    to: str = ""  # whom an escalation went to, or the assistant a task was reassigned to


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that kept the service from doing its job for this client."""

    what: ProblemKind
    text: str


@dataclass(frozen=True, slots=True)
class OpenTask:
    """An open task of the watched sources, for the Covey matrix."""

    gid: str
    name: str
    url: str
    quadrant: Quadrant
    held_by_owner: bool


@dataclass(frozen=True, slots=True)
class AssistantLoad:
    key: str
    name: str
    open: int
    capacity: int


@dataclass(frozen=True, slots=True)
class StatusThresholds:
    """Overdue counts that make a status update at risk or off track; 0 turns one off."""

    at_risk_overdue: int = 1
    off_track_overdue: int = 5


@dataclass(frozen=True, slots=True)
class SummaryInputs:
    """Everything a client summary is computed from."""

    client: str  # the client's display name
    timezone: str
    period_start: datetime
    period_end: datetime
    delegations: Sequence[DelegatedTask]  # every one still open, or made or closed in the period
    waiting: Sequence[WaitingTask] = ()
    taken_back: Sequence[TakenBack] = ()
    problems: Sequence[Problem] = ()
    open_tasks: Sequence[OpenTask] | None = None  # None: the sources could not be read
    assistants: Sequence[AssistantLoad] = ()
    due_soon_days: int = 3
    time_field: str = DEFAULT_TIME_FIELD  # named when saying where estimates came from
    followups: Sequence[FollowUpFact] = ()  # the follow-up steps carried out in the period
    voice: Voice = ENGLISH  # the client's language, dates and numbers


# ----------------------------------------------------------------------------- the summary


@dataclass(frozen=True, slots=True)
class Count:
    """How many of something one assistant or one rule has."""

    key: str
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class ShadowRule:
    """A shadow rule and the tasks it would have acted on: a hint to turn it on."""

    rule: str
    tasks: tuple[WaitingTask, ...]

    @property
    def count(self) -> int:
        return len(self.tasks)


@dataclass(frozen=True, slots=True)
class BouncedRule:
    """The tasks of one rule its assistants bounced, each with its reason: a hint to refine
    the rule."""

    rule: str
    tasks: tuple[FollowUpFact, ...]

    @property
    def count(self) -> int:
        return len(self.tasks)


@dataclass(frozen=True, slots=True)
class TimeGivenBack:
    """Owner time the tasks done in the period stand for, and where the estimates came from."""

    minutes: int
    tasks: int  # done in the period
    from_field: int
    from_rule: int
    without: int  # done tasks with no estimate at all
    field: str  # the estimate field's name
    voice: Voice = ENGLISH

    @property
    def text(self) -> str:
        """ "about 3 h 20 min", or "not measured" when no task had an estimate."""
        if self.from_field + self.from_rule == 0:
            return self.voice.say(WORDS, "not_measured")
        return self.voice.say(WORDS, "about", duration=self.voice.duration(self.minutes))

    @property
    def source(self) -> str:
        """Which estimates were added up, in words."""
        voice = self.voice
        parts = []
        if self.from_field:
            tasks = voice.plural(self.from_field, TASK)
            parts.append(voice.say(WORDS, "from_field", field=self.field, tasks=tasks))
        if self.from_rule:
            parts.append(voice.say(WORDS, "from_rule", tasks=voice.plural(self.from_rule, TASK)))
        said = voice.say(WORDS, "from", parts=voice.say(WORDS, "and").join(parts)) if parts else ""
        if self.without:
            missing = voice.say(WORDS, "without", tasks=voice.plural(self.without, TASK))
            said = f"{said}; {missing}" if said else missing
        return said


@dataclass(frozen=True, slots=True)
class CoveyMatrix:
    """Open tasks per quadrant, and the important ones (do, schedule) the owner still holds."""

    do: int
    schedule: int
    delegate: int
    eliminate: int
    held_by_owner: int

    @property
    def total(self) -> int:
        return self.do + self.schedule + self.delegate + self.eliminate


@dataclass(frozen=True, slots=True)
class ClientSummary:
    """A client's summary of one period: every section of the issue, sorted and counted."""

    client: str
    timezone: str
    period_start: datetime
    period_end: datetime
    period_text: str  # "20-27 Nov 2026", in the client's time zone
    delegated: tuple[DelegatedTask, ...]  # made in the period
    by_assistant: tuple[Count, ...]  # of those made in the period, most first
    by_rule: tuple[Count, ...]
    done: tuple[DelegatedTask, ...]  # finished by the assistants in the period
    still_open: tuple[DelegatedTask, ...]  # every delegation still open
    overdue: tuple[DelegatedTask, ...]  # open, due before the period's last day
    due_soon: tuple[DelegatedTask, ...]  # open, due from that day to due_soon_days after
    due_soon_days: int
    queued: tuple[WaitingTask, ...]  # waiting for an assistant with capacity or hours
    shadow: tuple[ShadowRule, ...]  # what shadow rules would have done, by rule
    taken_back: tuple[TakenBack, ...]
    problems: tuple[Problem, ...]
    time_given_back: TimeGivenBack
    matrix: CoveyMatrix | None  # None when the sources could not be read
    assistants: tuple[AssistantLoad, ...]
    status_type: StatusType
    status_reason: str  # why that status, in words
    headline: str  # one line
    # the follow-up of delegations in the period (expect: and bounces)
    missed: tuple[FollowUpFact, ...] = ()  # expectations missed, escalated; oldest first
    reminders: int = 0  # reminders sent to assistants
    reassigned: tuple[FollowUpFact, ...] = ()  # given to another assistant after a second miss
    bounced: tuple[BouncedRule, ...] = ()  # "not for me", by rule, most first
    voice: Voice = ENGLISH  # the language, dates and numbers the summary is written in

    @property
    def quiet(self) -> bool:
        """Nothing happened and nothing is pending: no delegation, wait, override, follow-up
        or problem."""
        return not (
            self.delegated
            or self.done
            or self.still_open
            or self.queued
            or self.shadow
            or self.taken_back
            or self.problems
            or self.missed
            or self.reminders
            or self.reassigned
            or self.bounced
        )


class _Sortable(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def gid(self) -> str: ...


_T = TypeVar("_T", bound=_Sortable)


def _by_due(items: Iterable[_T]) -> tuple[_T, ...]:
    def key(item: _T) -> tuple[bool, date, str, str]:
        due: date | None = getattr(item, "due_on", None)
        return (due is None, due or date.min, item.name.casefold(), item.gid)

    return tuple(sorted(items, key=key))


def _by_time(items: Iterable[_T], attr: str) -> tuple[_T, ...]:
    return tuple(sorted(items, key=lambda i: (getattr(i, attr), i.name.casefold(), i.gid)))


def _within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def _counts(pairs: Iterable[tuple[str, str]]) -> tuple[Count, ...]:
    counter: Counter[tuple[str, str]] = Counter(pairs)
    ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0][1].casefold(), kv[0][0]))
    return tuple(Count(key, name, n) for (key, name), n in ordered)


def build_summary(
    inputs: SummaryInputs, thresholds: StatusThresholds = StatusThresholds()
) -> ClientSummary:
    """The summary of one client and period, in the inputs' voice; pure, so the same records
    give the same text."""
    voice = inputs.voice
    tz = ZoneInfo(inputs.timezone)
    start, end = inputs.period_start, inputs.period_end
    last_day = end.astimezone(tz).date()
    soon_until = last_day + timedelta(days=max(0, inputs.due_soon_days))

    delegated = _by_due(d for d in inputs.delegations if _within(d.delegated_at, start, end))
    done = _by_due(
        d for d in inputs.delegations if d.status == "done" and _within(d.closed_at, start, end)
    )
    still_open = _by_due(d for d in inputs.delegations if d.status == "open")
    overdue = tuple(d for d in still_open if d.due_on is not None and d.due_on < last_day)
    due_soon = tuple(
        d for d in still_open if d.due_on is not None and last_day <= d.due_on <= soon_until
    )
    queued = _by_due(w for w in inputs.waiting if w.why == "queued")
    shadow_tasks: dict[str, list[WaitingTask]] = {}
    for waiting in inputs.waiting:
        if waiting.why == "shadow":
            shadow_tasks.setdefault(waiting.rule, []).append(waiting)
    shadow = tuple(
        ShadowRule(rule, _by_due(tasks))
        for rule, tasks in sorted(shadow_tasks.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    )
    problems = tuple(sorted(dict.fromkeys(inputs.problems), key=lambda p: (p.what, p.text)))
    steps = [f for f in inputs.followups if _within(f.at, start, end)]
    bounced_tasks: dict[str, list[FollowUpFact]] = {}
    for fact in steps:
        if fact.kind == "bounce":
            bounced_tasks.setdefault(fact.rule, []).append(fact)
    bounced = tuple(
        BouncedRule(rule, _by_time(tasks, "at"))
        for rule, tasks in sorted(bounced_tasks.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    )
    status_type, status_reason = _status(len(overdue), queued, problems, thresholds, voice)
    time_given_back = TimeGivenBack(
        minutes=sum(d.minutes or 0 for d in done if d.minutes_from is not None),
        tasks=len(done),
        from_field=sum(1 for d in done if d.minutes_from == "field" and d.minutes is not None),
        from_rule=sum(1 for d in done if d.minutes_from == "rule" and d.minutes is not None),
        without=sum(1 for d in done if d.minutes_from is None or d.minutes is None),
        field=inputs.time_field,
        voice=voice,
    )
    summary = ClientSummary(
        client=inputs.client,
        timezone=inputs.timezone,
        period_start=start,
        period_end=end,
        period_text=voice.period(start, end, tz),
        delegated=delegated,
        by_assistant=_counts((d.assistant, d.assistant_name) for d in delegated),
        by_rule=_counts((d.rule, d.rule) for d in delegated),
        done=done,
        still_open=still_open,
        overdue=overdue,
        due_soon=due_soon,
        due_soon_days=inputs.due_soon_days,
        queued=queued,
        shadow=shadow,
        taken_back=_by_time(inputs.taken_back, "at"),
        problems=problems,
        time_given_back=time_given_back,
        matrix=_matrix(inputs.open_tasks),
        assistants=tuple(sorted(inputs.assistants, key=lambda a: (a.name.casefold(), a.key))),
        status_type=status_type,
        status_reason=status_reason,
        headline="",
        missed=_by_time((f for f in steps if f.kind == "escalation"), "at"),
        reminders=sum(1 for f in steps if f.kind == "reminder"),
        reassigned=_by_time((f for f in steps if f.kind == "reassign"), "at"),
        bounced=bounced,
        voice=voice,
    )
    return _with_headline(summary)


def _status(
    overdue: int,
    queued: Sequence[WaitingTask],
    problems: Sequence[Problem],
    thresholds: StatusThresholds,
    voice: Voice = ENGLISH,
) -> tuple[StatusType, str]:
    """Off track: many overdue, or the service cannot read or act; at risk: anything amiss."""
    blocking = [p for p in problems if p.what in BLOCKING_PROBLEMS]
    late = voice.say(WORDS, "overdue", tasks=voice.plural(overdue, TASK))
    if thresholds.off_track_overdue > 0 and overdue >= thresholds.off_track_overdue:
        return "off_track", late
    if blocking:
        return "off_track", blocking[0].text
    reasons = []
    if thresholds.at_risk_overdue > 0 and overdue >= thresholds.at_risk_overdue:
        reasons.append(late)
    if queued:
        reasons.append(voice.say(WORDS, "queued", tasks=voice.plural(len(queued), TASK)))
    writes = [p for p in problems if p.what == "write"]
    if writes:  # changes the rules asked for did not happen: said first among the problems
        reasons.append(writes[0].text.split(";")[0])
    if problems:
        reasons.append(voice.plural(len(problems), PROBLEM))
    if reasons:
        return "at_risk", ", ".join(reasons)
    return "on_track", voice.say(WORDS, "on_track")


def _matrix(tasks: Sequence[OpenTask] | None) -> CoveyMatrix | None:
    if tasks is None:
        return None
    unique = {t.gid: t for t in tasks}.values()
    count = Counter(t.quadrant for t in unique)
    held = sum(1 for t in unique if t.held_by_owner and t.quadrant in ("do", "schedule"))
    return CoveyMatrix(count["do"], count["schedule"], count["delegate"], count["eliminate"], held)


def _with_headline(summary: ClientSummary) -> ClientSummary:
    voice = summary.voice
    parts = [voice.plural(len(summary.delegated), DELEGATED), voice.plural(len(summary.done), DONE)]
    counted: tuple[tuple[int, Noun], ...] = (
        (len(summary.overdue), OVERDUE),
        (len(summary.queued), WAITING),
        (len(summary.taken_back), TAKEN_BACK),
        (len(summary.missed), MISSED),
        (sum(b.count for b in summary.bounced), BOUNCED),
        (len(summary.problems), PROBLEM),
    )
    parts.extend(voice.plural(count, noun) for count, noun in counted if count)
    line = f"{summary.client}, {summary.period_text}: {', '.join(parts)}"
    if summary.time_given_back.from_field + summary.time_given_back.from_rule:
        line += voice.say(WORDS, "given_back", time=summary.time_given_back.text)
    return _replace_headline(summary, line)


def _replace_headline(summary: ClientSummary, headline: str) -> ClientSummary:
    return replace(summary, headline=headline)


# ----------------------------------------------------------------------------- the digest


@dataclass(frozen=True, slots=True)
class DigestTask:
    """An open task delegated to the assistant, with the rule's reason."""

    gid: str
    name: str
    url: str
    client: str  # the client's display name
    rule: str
    reason: str
    delegated_at: datetime
    due_on: date | None


_STAGE_VERBS: dict[Language, dict[str, str]] = {
    Language.EN: {"acknowledged": "acknowledge", "started": "start", "done": "finish"},
    Language.IT: {
        "acknowledged": "da prendere in carico",
        "started": "da iniziare",
        "done": "da completare",
    },
}
# A stage missed, as the summary says it of a task: "not acknowledged in time".
_STAGES_MISSED: dict[Language, dict[str, str]] = {
    Language.EN: {"acknowledged": "acknowledged", "started": "started", "done": "done"},
    Language.IT: {"acknowledged": "presa in carico", "started": "iniziata", "done": "completata"},
}


def stage_text(stage: str, language: Language = Language.EN) -> str:
    """A stage as done to a task: "acknowledged", "presa in carico" (unknown ones as they are)."""
    return _STAGES_MISSED[language].get(stage, stage)


@dataclass(frozen=True, slots=True)
class DeadlineSoon:
    """An open task whose next expectation falls due before the assistant hears again: about
    to be late."""

    gid: str
    name: str
    url: str
    client: str  # the client's display name
    rule: str
    stage: str  # acknowledged | started | done
    due: datetime  # the deadline
    due_on: date | None = None  # the task's due date (shown by task())
    by: str = ""  # the deadline in the assistant's zone, "Tue 3 Mar 14:00" (build_digest)
    language: Language = Language.EN  # of ``what`` (build_digest)

    @property
    def what(self) -> str:
        """What the assistant is expected to do: "acknowledge", "start" or "finish" ("da
        prendere in carico", "da iniziare", "da completare")."""
        return _STAGE_VERBS[self.language].get(self.stage, self.stage)


@dataclass(frozen=True, slots=True)
class DigestInputs:
    assistant: str  # the assistant's key
    name: str
    timezone: str
    since: datetime  # the previous digest
    now: datetime
    tasks: Sequence[DigestTask]  # their open delegated tasks, possibly of several clients
    load: int
    capacity: int
    deadlines: Sequence[DeadlineSoon] = ()  # expectations falling due before the next digest
    voice: Voice = ENGLISH  # the assistant's language (else the client's), dates and numbers
    own_language: bool = False  # the voice is the assistant's own ``language`` setting
    client: str = ""  # the client's display name


@dataclass(frozen=True, slots=True)
class AssistantDigest:
    """What is new for an assistant since the last digest, and what is due, in their zone."""

    assistant: str
    name: str
    timezone: str
    since: datetime
    now: datetime
    today: date  # in the assistant's time zone
    new: tuple[DigestTask, ...]
    due_today: tuple[DigestTask, ...]
    overdue: tuple[DigestTask, ...]
    open: tuple[DigestTask, ...]  # every open task, sorted
    clients: tuple[str, ...]  # the clients these tasks are for
    load: int
    capacity: int
    headline: str
    about_to_be_late: tuple[DeadlineSoon, ...] = ()  # soonest deadline first
    voice: Voice = ENGLISH  # the language, dates and numbers the digest is written in

    @property
    def empty(self) -> bool:
        """Nothing new, nothing due today, nothing overdue, no deadline close: a digest may be
        skipped."""
        return not (self.new or self.due_today or self.overdue or self.about_to_be_late)

    @property
    def over_capacity(self) -> bool:
        return self.load > self.capacity


def build_digest(inputs: DigestInputs) -> AssistantDigest:
    """An assistant's digest in the inputs' voice; "today" and "overdue" are read in the
    assistant's time zone."""
    voice = inputs.voice
    tz = ZoneInfo(inputs.timezone)
    today = inputs.now.astimezone(tz).date()
    tasks = _by_due({(t.client, t.gid): t for t in inputs.tasks}.values())
    new = tuple(t for t in tasks if _within(t.delegated_at, inputs.since, inputs.now))
    due_today = tuple(t for t in tasks if t.due_on == today)
    overdue = tuple(t for t in tasks if t.due_on is not None and t.due_on < today)
    parts = [voice.plural(len(new), NEW)]
    if due_today:
        parts.append(voice.plural(len(due_today), DUE_TODAY))
    if overdue:
        parts.append(voice.plural(len(overdue), OVERDUE))
    soon = tuple(
        replace(d, by=voice.moment(d.due, tz), language=voice.language)
        for d in sorted(
            {(d.client, d.gid, d.stage): d for d in inputs.deadlines}.values(),
            key=lambda d: (d.due, d.name.casefold(), d.gid),
        )
    )
    if soon:
        parts.append(voice.plural(len(soon), ABOUT_TO_BE_LATE))
    load, capacity = voice.number(inputs.load), voice.number(inputs.capacity)
    parts.append(voice.say(WORDS, "load", load=load, capacity=capacity))
    return AssistantDigest(
        assistant=inputs.assistant,
        name=inputs.name,
        timezone=inputs.timezone,
        since=inputs.since,
        now=inputs.now,
        today=today,
        new=new,
        due_today=due_today,
        overdue=overdue,
        open=tasks,
        clients=tuple(sorted({t.client for t in tasks}, key=str.casefold)),
        load=inputs.load,
        capacity=inputs.capacity,
        headline=f"{inputs.name}, {voice.day(today)}: {', '.join(parts)}",
        about_to_be_late=soon,
        voice=voice,
    )


# ----------------------------------------------------------------------------- words

# The texts this module computes, in every language (an Italian office's words, not a
# translation word for word).
WORDS = Phrases(
    {
        "not_measured": {Language.EN: "not measured", Language.IT: "non misurato"},
        "about": {Language.EN: "about {duration}", Language.IT: "circa {duration}"},
        "from_field": {
            Language.EN: 'the "{field}" field for {tasks}',
            Language.IT: 'dal campo "{field}" per {tasks}',
        },
        "from_rule": {
            Language.EN: "rule defaults for {tasks}",
            Language.IT: "dalle stime delle regole per {tasks}",
        },
        "from": {Language.EN: "from {parts}", Language.IT: "{parts}"},
        "and": {Language.EN: " and ", Language.IT: " e "},
        "without": {
            Language.EN: "{tasks} without an estimate",
            Language.IT: "{tasks} senza stima",
        },
        "overdue": {Language.EN: "{tasks} overdue", Language.IT: "{tasks} in ritardo"},
        "queued": {
            Language.EN: "{tasks} waiting for an assistant",
            Language.IT: "{tasks} in attesa di un assistente",
        },
        "on_track": {
            Language.EN: "nothing overdue, nothing waiting, no problems",
            Language.IT: "niente in ritardo, niente in attesa, nessun problema",
        },
        "given_back": {
            Language.EN: "; {time} given back",
            Language.IT: "; tempo restituito {time}",
        },
        "load": {
            Language.EN: "{load} of {capacity} open",
            Language.IT: "aperte: {load} su {capacity}",
        },
    }
)

TASK = Noun({Language.EN: ("task", "tasks"), Language.IT: ("attività", "attività")})
PROBLEM = Noun({Language.EN: ("problem", "problems"), Language.IT: ("problema", "problemi")})
DELEGATED = Noun({Language.EN: ("delegated", "delegated"), Language.IT: ("delegata", "delegate")})
DONE = Noun({Language.EN: ("done", "done"), Language.IT: ("fatta", "fatte")})
OVERDUE = Noun({Language.EN: ("overdue", "overdue"), Language.IT: ("in ritardo", "in ritardo")})
WAITING = Noun({Language.EN: ("waiting", "waiting"), Language.IT: ("in attesa", "in attesa")})
TAKEN_BACK = Noun(
    {
        Language.EN: ("taken back", "taken back"),
        Language.IT: ("ripresa dal titolare", "riprese dal titolare"),
    }
)
MISSED = Noun(
    {Language.EN: ("missed", "missed"), Language.IT: ("scadenza mancata", "scadenze mancate")}
)
BOUNCED = Noun({Language.EN: ("bounced", "bounced"), Language.IT: ("respinta", "respinte")})
NEW = Noun({Language.EN: ("new", "new"), Language.IT: ("nuova", "nuove")})
DUE_TODAY = Noun(
    {
        Language.EN: ("due today", "due today"),
        Language.IT: ("in scadenza oggi", "in scadenza oggi"),
    }
)
ABOUT_TO_BE_LATE = Noun(
    {
        Language.EN: ("about to be late", "about to be late"),
        Language.IT: ("quasi in ritardo", "quasi in ritardo"),
    }
)


def plural(count: int, noun: str) -> str:
    """ "1 task", "3 tasks"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# The English helpers of earlier versions, for their callers: the voice's, in English.


def duration_text(minutes: int) -> str:
    """Minutes as people say them: "25 min", "3 h", "3 h 20 min" (rounded to 5 min past 1 h)."""
    return ENGLISH.duration(minutes)


def day_text(day: date) -> str:
    """ "Fri 27 Nov" (English whatever the machine's locale)."""
    return ENGLISH.day(day)


def moment_text(moment: datetime, tz: ZoneInfo) -> str:
    """ "Tue 3 Mar 14:00", in tz."""
    return ENGLISH.moment(moment, tz)


def period_text(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """The days a period covers, in tz: "20-27 Nov 2026", "28 Nov - 4 Dec 2026"."""
    return ENGLISH.period(start, end, tz)
