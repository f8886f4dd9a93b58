"""Intents: the changes the engine wants made to a task, before anyone makes them.

An intent is planned only when the task is not already in the desired state, so applying a plan
twice writes nothing the second time. Who carries an intent out (and how many API calls it
costs) is the worker's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Strategy = Literal["round_robin", "least_loaded"]
Overflow = Literal["queue", "skip"]


@dataclass(frozen=True, slots=True)
class Assign:
    """Give the task to ``to`` (an assistant key, email or gid) or to the best of ``pool``."""

    to: str | None = None
    pool: tuple[str, ...] = ()
    strategy: Strategy = "least_loaded"
    skill: str | None = None
    overflow: Overflow = "queue"
    kind: Literal["assign"] = "assign"

    def describe(self) -> str:
        if self.to is not None:
            return f"assign to {self.to}"
        skill = f", skill {self.skill}" if self.skill else ""
        return f"assign to one of [{', '.join(self.pool)}] ({self.strategy}{skill})"


@dataclass(frozen=True, slots=True)
class AddTag:
    name: str
    kind: Literal["tag"] = "tag"

    def describe(self) -> str:
        return f"add tag {self.name}"


@dataclass(frozen=True, slots=True)
class RemoveTag:
    name: str
    kind: Literal["untag"] = "untag"

    def describe(self) -> str:
        return f"remove tag {self.name}"


@dataclass(frozen=True, slots=True)
class Follow:
    """Add a follower: ``owner``, an assistant key, an email or a gid."""

    who: str
    kind: Literal["follow"] = "follow"

    def describe(self) -> str:
        return f"add follower {self.who}"


@dataclass(frozen=True, slots=True)
class Move:
    project: str
    section: str | None = None
    kind: Literal["move"] = "move"

    def describe(self) -> str:
        where = f"section {self.section} of " if self.section else ""
        return f"move to {where}project {self.project}"


@dataclass(frozen=True, slots=True)
class SetField:
    field: str
    value: object
    kind: Literal["set"] = "set"

    def describe(self) -> str:
        return f"set {self.field} to {self.value}"


@dataclass(frozen=True, slots=True)
class SetDue:
    due_on: date
    kind: Literal["due"] = "due"

    def describe(self) -> str:
        return f"set due date {self.due_on.isoformat()}"


@dataclass(frozen=True, slots=True)
class Comment:
    """Post the rule's comment (rendered once the assignee is known)."""

    template: str
    rule: str
    kind: Literal["comment"] = "comment"

    def describe(self) -> str:
        first = self.template.strip().splitlines()[0] if self.template.strip() else ""
        return f'comment "{first[:60]}{"…" if len(first) > 60 else ""}"'


Intent = Assign | AddTag | RemoveTag | Follow | Move | SetField | SetDue | Comment
