"""Taking back what the service wrote to a task: one typed change per kind of write.

`delegator undo` plans these from the journal (each write keeps what the task showed before it,
``detail.before``, see `core.actions.prior`) and the task as it is now; the task backend
(`ports.TaskBackend.revert`) carries each one out. Gids only: the journal recorded them, so
nothing is looked up by name again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Reassign:
    """Give the task back to whom it was with (a user gid), or to nobody (None)."""

    to: str | None
    kind: Literal["reassign"] = "reassign"


@dataclass(frozen=True, slots=True)
class Untag:
    """Remove a tag the service added (by the tag's gid when the journal has it, else name)."""

    tag: str
    kind: Literal["untag"] = "untag"


@dataclass(frozen=True, slots=True)
class Retag:
    """Put back a tag the service removed."""

    tag: str
    kind: Literal["retag"] = "retag"


@dataclass(frozen=True, slots=True)
class Unfollow:
    """Remove a follower the service added (a user gid)."""

    user: str
    kind: Literal["unfollow"] = "unfollow"


@dataclass(frozen=True, slots=True)
class PlaceBack:
    """Move the task back into a section of a project (the project kept)."""

    project: str  # project gid
    section: str  # section gid
    kind: Literal["place_back"] = "place_back"


@dataclass(frozen=True, slots=True)
class LeaveProject:
    """Take the task out of a project the service added it to."""

    project: str  # project gid
    kind: Literal["leave_project"] = "leave_project"


@dataclass(frozen=True, slots=True)
class RestoreField:
    """Set a custom field back to the value it had: an option name, a number, a text, a date
    (YYYY-MM-DD), or None for empty."""

    field: str  # custom field gid
    value: str | float | None
    kind: Literal["restore_field"] = "restore_field"


@dataclass(frozen=True, slots=True)
class RestoreDue:
    """Set the due date (or time) back; both None: no due date."""

    due_on: str | None  # YYYY-MM-DD
    due_at: str | None  # ISO 8601 with offset
    kind: Literal["restore_due"] = "restore_due"


@dataclass(frozen=True, slots=True)
class DeleteComment:
    """Delete a comment the service posted (the story's gid)."""

    story: str
    kind: Literal["delete_comment"] = "delete_comment"


@dataclass(frozen=True, slots=True)
class CorrectComment:
    """Where a comment cannot be deleted: a comment saying the earlier one is withdrawn."""

    text: str
    kind: Literal["correct_comment"] = "correct_comment"


Revert = (
    Reassign | Untag | Retag | Unfollow | PlaceBack | LeaveProject | RestoreField | RestoreDue
    | DeleteComment | CorrectComment
)  # fmt: skip
