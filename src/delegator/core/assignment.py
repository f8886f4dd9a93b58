"""Choosing the assistant for a task: skills, capacity, time away, working hours, fairness.

Pure and deterministic: the same roster, intent and moment always give the same choice, so a plan
can be reproduced and explained. The ``Roster`` holds one cycle's view of each assistant's load
and of the round-robin positions; the caller loads it from the store and saves it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from delegator.core.intents import Assign
from delegator.core.schema import Assistant


@dataclass(frozen=True, slots=True)
class Candidate:
    """One assistant considered for a task, and why they were or were not eligible."""

    key: str
    load: int
    capacity: int
    eligible: bool
    reason: str
    working_now: bool = False
    next_shift: datetime | None = None
    order: int = 0  # place in the pool: the last tie-break


@dataclass(frozen=True, slots=True)
class Choice:
    """The assistant chosen for a task (or nobody), with the reasons, for plans and history."""

    assistant: str | None  # an assistant key, or None when nobody can take the task
    user: str | None  # the email or gid to assign when ``to`` names someone outside the roster
    reason: str
    candidates: tuple[Candidate, ...] = ()
    overflow: str | None = None  # "queue" or "skip" when nobody could take it

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
    return replace(_judge(roster, key, skill, now), order=order)


def _judge(roster: Roster, key: str, skill: str | None, now: datetime) -> Candidate:
    assistant = roster.assistants[key]
    load = roster.load.get(key, 0)
    local = now.astimezone(roster.zone(key))
    if skill is not None and skill not in assistant.skills:
        return Candidate(key, load, assistant.capacity, False, f"lacks the skill {skill}")
    away = next((p for p in assistant.away if local.date() in p), None)
    if away is not None:
        return Candidate(key, load, assistant.capacity, False, f"away ({away})")
    if load >= assistant.capacity:
        return Candidate(
            key, load, assistant.capacity, False, f"at capacity ({load}/{assistant.capacity})"
        )
    if assistant.hours is None:
        return Candidate(key, load, assistant.capacity, True, "available", True, local)
    if assistant.hours.is_working(local):
        return Candidate(key, load, assistant.capacity, True, "working now", True, local)
    start = assistant.hours.next_start(local)
    if start is None:
        return Candidate(key, load, assistant.capacity, False, "has no working hours")
    when = start.strftime("%a %H:%M")
    return Candidate(key, load, assistant.capacity, True, f"next shift {when}", False, start)


def choose(intent: Assign, roster: Roster, now: datetime) -> Choice:
    """The assistant ``intent`` should go to at ``now``, or nobody with the reason."""
    if intent.to is not None:
        return _direct(intent, roster, now)
    candidates = tuple(
        _consider(roster, key, intent.skill, now, i) for i, key in enumerate(intent.pool)
    )
    eligible = [c for c in candidates if c.eligible]
    if not eligible:
        why = "; ".join(f"{c.key} {c.reason}" for c in candidates)
        return Choice(None, None, f"nobody can take it: {why}", candidates, intent.overflow)
    working = [c for c in eligible if c.working_now]
    if working:
        field_of, timing = working, "working now"
    else:
        soonest = min(c.next_shift for c in eligible if c.next_shift is not None)
        field_of = [c for c in eligible if c.next_shift == soonest]
        timing = f"nobody is working now; the next shift starts {soonest.strftime('%a %H:%M')}"
    if intent.strategy == "round_robin":
        picked = _round_robin(field_of, intent.pool, roster)
        how = "round robin"
    else:
        picked = min(field_of, key=lambda c: (c.load / max(c.capacity, 1), c.load, c.order))
        how = "least loaded: " + ", ".join(f"{c.key} {c.load}/{c.capacity}" for c in field_of)
    reason = f"{how} ({timing})"
    return Choice(picked.key, None, reason, candidates)


def _round_robin(field_of: list[Candidate], pool: tuple[str, ...], roster: Roster) -> Candidate:
    last = roster.last_pick.get(pool_key(pool))
    start = (pool.index(last) + 1) if last in pool else 0
    order = [pool[(start + i) % len(pool)] for i in range(len(pool))]
    by_key = {c.key: c for c in field_of}
    return next(by_key[key] for key in order if key in by_key)


def _direct(intent: Assign, roster: Roster, now: datetime) -> Choice:
    assert intent.to is not None
    if intent.to not in roster.assistants:
        return Choice(None, intent.to, f"named in the rule: {intent.to}")
    candidate = _consider(roster, intent.to, None, now, 0)
    if not candidate.eligible:
        reason = f"{intent.to} cannot take it: {candidate.reason}"
        return Choice(None, None, reason, (candidate,), intent.overflow)
    return Choice(intent.to, None, f"named in the rule ({candidate.reason})", (candidate,))
