"""A rule's outcome as a saga: planned once, journaled with every step it needs, carried to the end.

When a rule matches a task the service decides everything at once: the assistant, the person,
the comment's text, the steps (assign, tag, follow, move, set, due, comment, untag). That plan is
journaled as the outcome's ``rule`` entry *before* the first write; each step is journaled with
the outcome's id and its index when it is sent, and completed when it is done. A crash, a refused
token or a failing write leaves the outcome ``pending``: at the next chance (the next cycle, a
restart) its remaining steps are carried out from the journal, never planned again from the
task's current state, which the service's own assignment has changed. Only a person's change
since the outcome began (the assignee moved by someone else, a tag the service added removed)
ends it early, as an override.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from delegator.core.context import Identity
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
from delegator.core.model import Task
from delegator.ports import ActionRecord

#: A step that failed this many times makes the outcome give up (and say so).
MAX_ATTEMPTS = 5
#: An outcome still unfinished after this long gives up too: the task has moved on.
MAX_AGE = timedelta(days=7)

_INTENTS: dict[str, type[Any]] = {
    "assign": Assign,
    "tag": AddTag,
    "untag": RemoveTag,
    "follow": Follow,
    "move": Move,
    "set": SetField,
    "due": SetDue,
    "comment": Comment,
}


def intent_detail(intent: Intent) -> dict[str, Any]:
    """An intent as JSON for the journal: its description and every field."""
    detail: dict[str, Any] = {"description": intent.describe()}
    for item in fields(intent):
        if item.name == "kind":
            continue
        value = getattr(intent, item.name)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        detail[item.name] = value
    return detail


def intent_from_detail(kind: str, detail: Mapping[str, Any]) -> Intent:
    """The intent a journal entry describes (ValueError when it cannot be read back)."""
    cls = _INTENTS.get(kind)
    if cls is None:
        raise ValueError(f"unknown step kind {kind!r}")
    values: dict[str, Any] = {}
    for item in fields(cls):
        if item.name == "kind" or item.name not in detail:
            continue
        value = detail[item.name]
        if cls is SetDue and item.name == "due_on" and isinstance(value, str):
            value = date.fromisoformat(value)
        elif cls is Assign and item.name == "pool" and isinstance(value, list):
            value = tuple(str(v) for v in value)
        values[item.name] = value
    try:
        intent: Intent = cls(**values)
    except TypeError as exc:
        raise ValueError(f"step {kind}: {exc}") from None
    return intent


@dataclass(frozen=True, slots=True)
class Step:
    """One write of an outcome; ``text`` is a comment's words, rendered when the outcome began."""

    intent: Intent
    text: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomePlan:
    """What a rule decided for a task, complete enough to finish without deciding again."""

    steps: tuple[Step, ...]
    assistant: str | None = None  # the assistant key chosen, when the outcome assigns
    assignee: Identity | None = None  # the person the task goes to
    pool: str | None = None  # the pool's key for round-robin turns ("giulia,marco")
    before_assignee: str | None = None  # the task's assignee gid when the outcome began
    before_tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def assign_index(self) -> int | None:
        return next((i for i, s in enumerate(self.steps) if isinstance(s.intent, Assign)), None)

    @property
    def tag(self) -> str | None:
        """The tag the outcome adds (what an override removes)."""
        return next((s.intent.name for s in self.steps if isinstance(s.intent, AddTag)), None)

    def to_detail(self) -> dict[str, Any]:
        return {
            "intents": len(self.steps),
            "steps": [
                {"kind": s.intent.kind, "intent": intent_detail(s.intent), "text": s.text}
                for s in self.steps
            ],
            "assistant": self.assistant,
            "assignee": (
                {"gid": self.assignee.gid, "email": self.assignee.email, "name": self.assignee.name}
                if self.assignee is not None
                else None
            ),
            "pool": self.pool,
            "before": {"assignee": self.before_assignee, "tags": sorted(self.before_tags)},
        }

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> OutcomePlan:
        """Read back a journaled plan (ValueError when it is not one: an older journal entry)."""
        raw_steps = detail.get("steps")
        if not isinstance(raw_steps, list):
            raise ValueError("the journal entry holds no steps")
        steps = []
        for raw in raw_steps:
            if not isinstance(raw, Mapping) or not isinstance(raw.get("intent"), Mapping):
                raise ValueError("a step of the journal entry is not readable")
            text = raw.get("text")
            steps.append(
                Step(
                    intent_from_detail(str(raw.get("kind")), raw["intent"]),
                    text if isinstance(text, str) else None,
                )
            )
        who = detail.get("assignee")
        assignee = (
            Identity(
                str(who.get("gid") or ""), str(who.get("email") or ""), str(who.get("name") or "")
            )
            if isinstance(who, Mapping)
            else None
        )
        before = detail.get("before") if isinstance(detail.get("before"), Mapping) else {}
        assert isinstance(before, Mapping)
        tags = before.get("tags") if isinstance(before.get("tags"), list) else []
        assert isinstance(tags, list)
        assistant = detail.get("assistant")
        pool = detail.get("pool")
        before_assignee = before.get("assignee")
        return cls(
            steps=tuple(steps),
            assistant=assistant if isinstance(assistant, str) else None,
            assignee=assignee,
            pool=pool if isinstance(pool, str) else None,
            before_assignee=before_assignee if isinstance(before_assignee, str) else None,
            before_tags=frozenset(str(t) for t in tags),
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an outcome got to, from its step entries in the journal."""

    done: frozenset[int]
    failures: Mapping[int, int]  # step index -> failed attempts
    last_error: str | None = None

    def remaining(self, plan: OutcomePlan) -> list[int]:
        return [i for i in range(len(plan.steps)) if i not in self.done]

    def exhausted(self) -> bool:
        return any(count >= MAX_ATTEMPTS for count in self.failures.values())


def progress_of(outcome_id: int, entries: Iterable[ActionRecord]) -> Progress:
    """The outcome's progress from its step entries (any order)."""
    done: set[int] = set()
    failures: dict[int, int] = {}
    last_error: str | None = None
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.detail.get("outcome") != outcome_id:
            continue
        step = entry.detail.get("step")
        if not isinstance(step, int):
            continue
        if entry.status == "done":
            done.add(step)
        elif entry.status == "failed":
            failures[step] = failures.get(step, 0) + 1
            last_error = entry.result or last_error
    return Progress(frozenset(done), failures, last_error)


def person_change(task: Task, plan: OutcomePlan, progress: Progress) -> str | None:
    """A person's change to the task since the outcome began, in words, or None.

    Only what the service itself did (or was about to do) is compared: once the task was
    assigned, it must still be with that person; before, still with whoever had it when the
    rule matched; a tag the service added must still be there. A change the service failed to
    make is never a person's change.
    """
    assign = plan.assign_index
    current = task.assignee
    if assign is not None and plan.assignee is not None:
        if assign in progress.done:
            if not plan.assignee.is_user(current):
                return f"assigned to {_name(task)} instead"
        elif (current.gid if current is not None else None) != plan.before_assignee and not (
            plan.assignee.is_user(current)
        ):
            return f"assigned to {_name(task)} before the service could"
    tag_steps = [i for i, s in enumerate(plan.steps) if isinstance(s.intent, AddTag)]
    for index in tag_steps:
        step = plan.steps[index].intent
        assert isinstance(step, AddTag)
        if index in progress.done and step.name.casefold() not in task.tag_names:
            return f"tag {step.name} removed"
    return None


def _name(task: Task) -> str:
    if task.assignee is None:
        return "nobody"
    return task.assignee.name or task.assignee.email or task.assignee.gid


def open_outcomes(pending: Sequence[ActionRecord]) -> list[ActionRecord]:
    """The outcomes (``rule`` entries) still to be carried to the end, oldest first."""
    return sorted(
        (a for a in pending if a.kind == "rule" and a.mode == "active"), key=lambda a: a.id
    )


def too_old(outcome: ActionRecord, now: datetime) -> bool:
    return now - outcome.created_at > MAX_AGE
