"""Choosing the assistant for a task: skills, capacity, time away, working hours, fairness.

Pure and deterministic: the same roster, intent and moment always give the same choice, so a plan
can be reproduced and explained. The ``Roster`` holds one cycle's view of each assistant's load
and of the round-robin positions; the caller loads it from the store and saves it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

from delegator.core.intents import Assign, Strategy
from delegator.core.language import ENGLISH, Language, Phrases, Voice
from delegator.core.schema import Assistant


class Availability(StrEnum):
    """Whether an assistant can take a task now, and if not why."""

    LACKS_SKILL = "lacks_skill"
    AWAY = "away"
    AT_CAPACITY = "at_capacity"
    NO_HOURS = "no_hours"
    AVAILABLE = "available"  # no working hours set: always available
    WORKING = "working"
    NEXT_SHIFT = "next_shift"


class Pick(StrEnum):
    """How a choice was made."""

    POOL = "pool"  # the best of the rule's pool
    NOBODY = "nobody"  # nobody in the pool can take the task
    NAMED = "named"  # the assistant the rule names
    NAMED_CANNOT = "named_cannot"  # the assistant the rule names cannot take it now
    OUTSIDE = "outside"  # someone outside the roster, named in the rule


# The reasons' words; ``Choice.reason`` is their English, kept as it always was written.
REASONS = Phrases(
    {
        Availability.LACKS_SKILL: {
            Language.EN: "lacks the skill {detail}",
            Language.IT: "non ha la competenza {detail}",
        },
        Availability.AWAY: {Language.EN: "away ({detail})", Language.IT: "assente ({detail})"},
        Availability.AT_CAPACITY: {
            Language.EN: "at capacity ({load}/{capacity})",
            Language.IT: "al completo ({load}/{capacity})",
        },
        Availability.NO_HOURS: {
            Language.EN: "has no working hours",
            Language.IT: "non ha orari di lavoro",
        },
        Availability.AVAILABLE: {Language.EN: "available", Language.IT: "disponibile"},
        Availability.WORKING: {Language.EN: "working now", Language.IT: "al lavoro ora"},
        Availability.NEXT_SHIFT: {
            Language.EN: "next shift {when}",
            Language.IT: "prossimo turno {when}",
        },
        Pick.NOBODY: {
            Language.EN: "nobody can take it: {why}",
            Language.IT: "nessuno può prenderla: {why}",
        },
        Pick.NAMED: {
            Language.EN: "named in the rule ({why})",
            Language.IT: "indicato dalla regola ({why})",
        },
        Pick.NAMED_CANNOT: {
            Language.EN: "{who} cannot take it: {why}",
            Language.IT: "{who} non può prenderla: {why}",
        },
        Pick.OUTSIDE: {
            Language.EN: "named in the rule: {who}",
            Language.IT: "indicato dalla regola: {who}",
        },
        "pool": {Language.EN: "{how} ({timing})", Language.IT: "{how} ({timing})"},
        "round_robin": {Language.EN: "round robin", Language.IT: "a rotazione"},
        "least_loaded": {
            Language.EN: "least loaded: {loads}",
            Language.IT: "il meno carico: {loads}",
        },
        "working_now": {Language.EN: "working now", Language.IT: "al lavoro ora"},
        "nobody_working": {
            Language.EN: "nobody is working now; the next shift starts {when}",
            Language.IT: "ora non lavora nessuno; il prossimo turno inizia {when}",
        },
    }
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One assistant considered for a task, and why they were or were not eligible."""

    key: str
    load: int
    capacity: int
    eligible: bool
    availability: Availability
    working_now: bool = False
    next_shift: datetime | None = None
    order: int = 0  # place in the pool: the last tie-break
    detail: str = ""  # the skill lacked, or the time away

    @property
    def reason(self) -> str:
        """Why, in English ("at capacity (3/3)"); ``candidate_reason`` says it in a voice."""
        return candidate_reason(self)


@dataclass(frozen=True, slots=True)
class Choice:
    """The assistant chosen for a task (or nobody), with the reasons, for plans and history."""

    assistant: str | None  # an assistant key, or None when nobody can take the task
    user: str | None  # the email or gid to assign when ``to`` names someone outside the roster
    reason: str
    candidates: tuple[Candidate, ...] = ()
    overflow: str | None = None  # "queue" or "skip" when nobody could take it
    pick: Pick = Pick.POOL
    strategy: Strategy = "least_loaded"
    among: tuple[Candidate, ...] = ()  # those the pick was made among (the soonest at work)
    soonest: datetime | None = None  # when the first of them starts, if none is working now

    @property
    def assigned(self) -> bool:
        return self.assistant is not None or self.user is not None


@dataclass(slots=True)
class Roster:
    """The assistants of one client and their state during one cycle."""

    assistants: Mapping[str, Assistant]
    client_tz: tzinfo
    load: dict[str, int] = field(default_factory=dict)  # open tasks delegated by the service
    last_pick: dict[str, str] = field(default_factory=dict)  # pool key -> last assistant chosen

    def zone(self, key: str) -> tzinfo:
        timezone = self.assistants[key].timezone
        return ZoneInfo(timezone) if timezone else self.client_tz

    def took(self, key: str, pool: tuple[str, ...] = ()) -> None:
        """Record that ``key`` was given a task (from ``pool``) in this cycle."""
        self.load[key] = self.load.get(key, 0) + 1
        if pool:
            self.last_pick[pool_key(pool)] = key

    def released(self, key: str) -> None:
        self.load[key] = max(0, self.load.get(key, 0) - 1)


def pool_key(pool: tuple[str, ...]) -> str:
    return ",".join(pool)


def _consider(roster: Roster, key: str, skill: str | None, now: datetime, order: int) -> Candidate:
    assistant = roster.assistants[key]
    load, capacity = roster.load.get(key, 0), assistant.capacity
    local = now.astimezone(roster.zone(key))

    def judged(
        state: Availability,
        eligible: bool,
        detail: str = "",
        working_now: bool = False,
        next_shift: datetime | None = None,
    ) -> Candidate:
        return Candidate(key, load, capacity, eligible, state, working_now, next_shift, order,
                         detail)  # fmt: skip

    if skill is not None and skill not in assistant.skills:
        return judged(Availability.LACKS_SKILL, False, skill)
    away = next((p for p in assistant.away if local.date() in p), None)
    if away is not None:
        return judged(Availability.AWAY, False, str(away))
    if load >= capacity:
        return judged(Availability.AT_CAPACITY, False)
    if assistant.hours is None:
        return judged(Availability.AVAILABLE, True, "", True, local)
    if assistant.hours.is_working(local):
        return judged(Availability.WORKING, True, "", True, local)
    start = assistant.hours.next_start(local)
    if start is None:
        return judged(Availability.NO_HOURS, False)
    return judged(Availability.NEXT_SHIFT, True, next_shift=start)


def _shift(moment: datetime, voice: Voice) -> str:
    """ "Mon 14:00", "lun 14:00": a weekday and a time, in the moment's own zone."""
    if voice.language is Language.EN:
        return moment.strftime("%a %H:%M")  # as the English reasons always wrote it
    return f"{voice.day(moment.date()).split(' ')[0]} {moment:%H:%M}"


def candidate_reason(candidate: Candidate, voice: Voice = ENGLISH) -> str:
    """Why an assistant can or cannot take a task, in the voice (``Candidate.reason`` is the
    English)."""
    state = candidate.availability
    when = _shift(candidate.next_shift, voice) if candidate.next_shift is not None else ""
    return voice.say(REASONS, state, detail=candidate.detail, load=candidate.load,
                     capacity=candidate.capacity, when=when)  # fmt: skip


def choice_reason(choice: Choice, voice: Voice = ENGLISH) -> str:
    """Why the task goes to whom it goes (or to nobody), in the voice; ``Choice.reason`` is the
    English."""
    say = voice.say
    match choice.pick:
        case Pick.NOBODY:
            why = "; ".join(f"{c.key} {candidate_reason(c, voice)}" for c in choice.candidates)
            return say(REASONS, Pick.NOBODY, why=why)
        case Pick.OUTSIDE:
            return say(REASONS, Pick.OUTSIDE, who=choice.user)
        case Pick.NAMED | Pick.NAMED_CANNOT:
            [candidate] = choice.candidates
            why = candidate_reason(candidate, voice)
            return say(REASONS, choice.pick, who=candidate.key, why=why)
    if choice.soonest is None:
        timing = say(REASONS, "working_now")
    else:
        timing = say(REASONS, "nobody_working", when=_shift(choice.soonest, voice))
    if choice.strategy == "round_robin":
        how = say(REASONS, "round_robin")
    else:
        loads = ", ".join(f"{c.key} {c.load}/{c.capacity}" for c in choice.among)
        how = say(REASONS, "least_loaded", loads=loads)
    return say(REASONS, "pool", how=how, timing=timing)


def _said(choice: Choice) -> Choice:
    return replace(choice, reason=choice_reason(choice))


def choose(intent: Assign, roster: Roster, now: datetime) -> Choice:
    """The assistant ``intent`` should go to at ``now``, or nobody with the reason."""
    if intent.to is not None:
        return _direct(intent, roster, now)
    candidates = tuple(
        _consider(roster, key, intent.skill, now, i) for i, key in enumerate(intent.pool)
    )
    eligible = [c for c in candidates if c.eligible]
    if not eligible:
        return _said(Choice(None, None, "", candidates, intent.overflow, Pick.NOBODY))
    working = [c for c in eligible if c.working_now]
    soonest: datetime | None = None
    if working:
        field_of = working
    else:
        soonest = min(c.next_shift for c in eligible if c.next_shift is not None)
        field_of = [c for c in eligible if c.next_shift == soonest]
    if intent.strategy == "round_robin":
        picked = _round_robin(field_of, intent.pool, roster)
    else:
        picked = min(field_of, key=lambda c: (c.load / max(c.capacity, 1), c.load, c.order))
    choice = Choice(picked.key, None, "", candidates, None, Pick.POOL, intent.strategy,
                    tuple(field_of), soonest)  # fmt: skip
    return _said(choice)


def _round_robin(field_of: list[Candidate], pool: tuple[str, ...], roster: Roster) -> Candidate:
    last = roster.last_pick.get(pool_key(pool))
    start = (pool.index(last) + 1) if last in pool else 0
    order = [pool[(start + i) % len(pool)] for i in range(len(pool))]
    by_key = {c.key: c for c in field_of}
    return next(by_key[key] for key in order if key in by_key)


def _direct(intent: Assign, roster: Roster, now: datetime) -> Choice:
    assert intent.to is not None
    if intent.to not in roster.assistants:
        return _said(Choice(None, intent.to, "", pick=Pick.OUTSIDE))
    candidate = _consider(roster, intent.to, None, now, 0)
    if not candidate.eligible:
        return _said(Choice(None, None, "", (candidate,), intent.overflow, Pick.NAMED_CANNOT))
    return _said(Choice(intent.to, None, "", (candidate,), pick=Pick.NAMED))
