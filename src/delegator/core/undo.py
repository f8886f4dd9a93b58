"""Planning `delegator undo`: which of the service's writes to take back, and how.

From the journal's writes (`Write`, each with what the task showed before it, ``before``), the
tasks as they are now and the client's directory, `plan_undo` gives per task the reverts to carry
out, latest write first (followers removed last: giving a task back to someone in Asana makes
them a follower), and what is left as it is, with the reason. A value a person set since
the service wrote it is never reverted: the task's assignee, section, field or due date must
still be what the service wrote. A task's state is followed through its writes from the latest
back, so an earlier write is compared with what the task will show once the later ones are
taken back.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from delegator.core.context import Directory
from delegator.core.model import Ref, Task, UserRef, ref_matches
from delegator.core.reverts import (
    CorrectComment,
    DeleteComment,
    LeaveProject,
    PlaceBack,
    Reassign,
    RestoreDue,
    RestoreField,
    Retag,
    Revert,
    Unfollow,
    Untag,
)


class WriteKind(enum.StrEnum):
    """The journal's kinds of write to a task."""

    ASSIGN = "assign"
    TAG = "tag"
    UNTAG = "untag"
    FOLLOW = "follow"
    MOVE = "move"
    SET = "set"
    DUE = "due"
    COMMENT = "comment"


class Kept(enum.StrEnum):
    """Why a write is left as it is."""

    CHANGED_SINCE = "changed_since"  # a person changed it since: theirs to keep
    AS_BEFORE = "as_before"  # the task already shows what it showed before the write
    NO_RECORD = "no_record"  # journaled without what it replaced
    NOT_WRITTEN = "not_written"  # a shadow or dry-run entry, or a write that failed
    ALREADY_UNDONE = "already_undone"  # an earlier undo took it back
    TASK_GONE = "task_gone"  # the task is deleted or out of the token's sight
    CANNOT_RESTORE = "cannot_restore"  # what it replaced cannot be written back


@dataclass(frozen=True, slots=True)
class Write:
    """One journal entry of a write to a task, as the planner reads it."""

    id: int
    task_gid: str
    task_name: str
    kind: WriteKind
    detail: Mapping[str, Any]  # the intent's fields, ``before``, ``text``...
    done: bool  # status done (not failed, skipped, pending)
    active: bool  # mode active (not shadow or dry run)
    at: datetime
    rule: str = ""
    story_gid: str | None = None

    @property
    def description(self) -> str:
        if self.kind is WriteKind.COMMENT:  # its description is the whole template
            return "comment posted"
        return str(self.detail.get("description") or self.kind.value)


@dataclass(frozen=True, slots=True)
class Step:
    """A revert to carry out, and the write it takes back."""

    undoes: int  # the write's journal id
    revert: Revert
    label: str  # for people: "assign back to Anna Rossi"


@dataclass(frozen=True, slots=True)
class Left:
    """A write left as it is."""

    entry: int  # the write's journal id
    what: str  # the write, as the journal describes it
    reason: Kept
    note: str  # for people: "reassigned to Marco Bianchi since"


@dataclass(frozen=True, slots=True)
class TaskUndo:
    """One task's part of the plan: its reverts in the order to carry them out (the latest
    write first) and the writes left as they are."""

    task_gid: str
    task_name: str
    steps: tuple[Step, ...] = ()
    left: tuple[Left, ...] = ()


@dataclass(frozen=True, slots=True)
class UndoPlan:
    tasks: tuple[TaskUndo, ...] = ()

    @property
    def steps(self) -> int:
        return sum(len(t.steps) for t in self.tasks)

    @property
    def left(self) -> int:
        return sum(len(t.left) for t in self.tasks)


CORRECTION = "Please disregard the earlier automatic comment: it was taken back{rule}."


def correction(rule: str) -> str:
    """The comment that withdraws one the service posted, where it cannot be deleted."""
    return CORRECTION.format(rule=f' (rule "{rule}")' if rule else "")


def plan_undo(
    writes: Iterable[Write],
    tasks: Mapping[str, Task],
    directory: Directory,
    undone: Collection[int] = (),
) -> UndoPlan:
    """The reverts that take these writes back, per task, and what is left as it is.

    ``tasks``: the tasks as they are now, by gid (a task missing was deleted or cannot be
    seen); ``undone``: the ids of writes an earlier undo already took back."""
    by_task: dict[str, list[Write]] = {}
    for write in writes:
        by_task.setdefault(write.task_gid, []).append(write)
    ordered = sorted(
        by_task.values(), key=lambda ws: (min((w.at, w.id) for w in ws), ws[0].task_gid)
    )
    return UndoPlan(
        tuple(_plan_task(ws, tasks.get(ws[0].task_gid), directory, undone) for ws in ordered)
    )


# ----------------------------------------------------------------------------- one task


@dataclass(slots=True)
class _State:
    """What the task shows, as the reverts planned so far will leave it."""

    task: Task
    assignee: UserRef | None = None
    sections: dict[str, Ref | None] = field(default_factory=dict)  # project gid -> section
    left_projects: set[str] = field(default_factory=set)
    fields: dict[str, object] = field(default_factory=dict)  # field gid -> value
    due: tuple[str | None, str | None] | None = None
    tags: dict[str, bool] = field(default_factory=dict)  # folded name or gid -> present
    followers: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.assignee = self.task.assignee


def _plan_task(
    writes: list[Write], task: Task | None, directory: Directory, undone: Collection[int]
) -> TaskUndo:
    latest_first = sorted(writes, key=lambda w: (w.at, w.id), reverse=True)
    name = next((w.task_name for w in latest_first if w.task_name), "")
    if task is None:
        left = tuple(
            Left(w.id, w.description, Kept.TASK_GONE, "the task is deleted or cannot be seen")
            for w in latest_first
        )
        return TaskUndo(writes[0].task_gid, name, (), left)
    state = _State(task)
    steps: list[Step] = []
    kept: list[Left] = []
    for write in latest_first:
        if write.id in undone:
            kept.append(Left(write.id, write.description, Kept.ALREADY_UNDONE, "already undone"))
            continue
        if not (write.done and write.active):
            note = "a failed write" if write.active else "a shadow or dry-run entry"
            note = f"nothing was written ({note})"
            kept.append(Left(write.id, write.description, Kept.NOT_WRITTEN, note))
            continue
        outcome = _PLANNERS[write.kind](write, state, directory)
        if isinstance(outcome, Step):
            steps.append(outcome)
        else:
            reason, note = outcome
            kept.append(Left(write.id, write.description, reason, note))
    # Asana makes an assignee a follower: a follower comes off after the task is given back.
    steps.sort(key=lambda step: isinstance(step.revert, Unfollow))
    return TaskUndo(task.gid, task.name or name, tuple(steps), tuple(kept))


_Outcome = Step | tuple[Kept, str]
_NO_RECORD = (Kept.NO_RECORD, "no record of what it replaced")


def _before(write: Write) -> Mapping[str, Any] | None:
    before = write.detail.get("before")
    return before if isinstance(before, Mapping) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# ----------------------------------------------------------------------------- assign


def _person(user: UserRef | None) -> str:
    if user is None:
        return "nobody"
    return user.name or user.email or user.gid


def _same_user(a: UserRef | None, b: UserRef | None) -> bool:
    if a is None or b is None:
        return a is b
    return bool((a.gid and a.gid == b.gid) or (a.email and a.email == b.email))


def _written_user(write: Write, directory: Directory) -> UserRef | None:
    spec = _text(write.detail.get("assignee"))
    if not spec:
        return None
    who = directory.resolve(spec)
    return UserRef(gid=who.gid, name=who.name, email=who.email)


def _assign(write: Write, state: _State, directory: Directory) -> _Outcome:
    before = _before(write)
    if before is None or "assignee" not in before:
        return _NO_RECORD
    was_raw = before["assignee"]
    was = (
        UserRef(_text(was_raw.get("gid")), _text(was_raw.get("name")), _text(was_raw.get("email")))
        if isinstance(was_raw, Mapping)
        else None
    )
    now = state.assignee
    if _same_user(now, was):
        return (Kept.AS_BEFORE, f"already with {_person(was)}")
    written = _written_user(write, directory)
    if written is None or not _same_user(now, written):
        change = f"reassigned to {_person(now)}" if now is not None else "unassigned"
        return (Kept.CHANGED_SINCE, f"{change} since")
    if was is not None and not (was.gid or was.email):
        return (Kept.CANNOT_RESTORE, "no gid recorded for whom it was with")
    state.assignee = was
    to = None if was is None else (was.gid or was.email)
    label = f"assign back to {_person(was)}" if was is not None else "unassign"
    return Step(write.id, Reassign(to), label)


# ----------------------------------------------------------------------------- tags, followers


def _find_tag(task: Task, key: str) -> Ref | None:
    return next((t for t in task.tags if ref_matches(t, key)), None)


def _tag_present(state: _State, key: str) -> bool:
    folded = key.casefold()
    if folded in state.tags:
        return state.tags[folded]
    return _find_tag(state.task, key) is not None


def _tag(write: Write, state: _State, directory: Directory) -> _Outcome:
    key = _text(write.detail.get("name"))
    if not key:
        return _NO_RECORD
    if not _tag_present(state, key):
        return (Kept.AS_BEFORE, f"tag {key} already removed")
    state.tags[key.casefold()] = False
    found = _find_tag(state.task, key)
    return Step(write.id, Untag(found.gid if found is not None else key), f"remove tag {key}")


def _untag(write: Write, state: _State, directory: Directory) -> _Outcome:
    key = _text(write.detail.get("name"))
    if not key:
        return _NO_RECORD
    if _tag_present(state, key):
        return (Kept.AS_BEFORE, f"tag {key} already back")
    state.tags[key.casefold()] = True
    return Step(write.id, Retag(key), f"put tag {key} back")


def _follow(write: Write, state: _State, directory: Directory) -> _Outcome:
    spec = _text(write.detail.get("who"))
    if not spec:
        return _NO_RECORD
    who = directory.resolve(spec)
    follower = next((f for f in state.task.followers if who.is_user(f)), None)
    key = who.gid or who.email
    if follower is None or not state.followers.get(key, True):
        return (Kept.AS_BEFORE, f"{who.label()} no longer follows it")
    state.followers[key] = False
    name = who.name or _person(follower)
    return Step(write.id, Unfollow(follower.gid or follower.email), f"remove follower {name}")


# ----------------------------------------------------------------------------- move


def _ref_of(raw: object) -> Ref | None:
    if not isinstance(raw, Mapping) or not _text(raw.get("gid")):
        return None
    return Ref(_text(raw.get("gid")), _text(raw.get("name")))


def _section_now(state: _State, project: Ref) -> tuple[bool, Ref | None]:
    """Whether the task is in the project, and in which section."""
    if project.gid in state.sections:
        return True, state.sections[project.gid]
    if project.gid in state.left_projects:
        return False, None
    for membership in state.task.memberships:
        if membership.project.gid == project.gid:
            return True, membership.section
    return any(p.gid == project.gid for p in state.task.projects), None


def _named(ref: Ref | None) -> str:
    return "no section" if ref is None else (ref.name or ref.gid)


def _move(write: Write, state: _State, directory: Directory) -> _Outcome:
    before = _before(write)
    if before is None or "project" not in before:
        return _NO_RECORD
    written_project = _text(write.detail.get("project"))
    written_section = _text(write.detail.get("section"))
    was_project = _ref_of(before.get("project"))
    was_section = _ref_of(before.get("section"))
    if was_project is None:  # the write added the task to the project
        project = next(
            (m.project for m in state.task.memberships if ref_matches(m.project, written_project)),
            None,
        ) or next((p for p in state.task.projects if ref_matches(p, written_project)), None)
        if project is None or not _section_now(state, project)[0]:
            return (Kept.AS_BEFORE, f"not in project {written_project}")
        section = _section_now(state, project)[1]
        if written_section and (section is None or not ref_matches(section, written_section)):
            return (Kept.CHANGED_SINCE, f"moved to {_named(section)} since")
        state.left_projects.add(project.gid)
        state.sections.pop(project.gid, None)
        return Step(
            write.id,
            LeaveProject(project.gid),
            f"take out of project {project.name or project.gid}",
        )
    inside, section = _section_now(state, was_project)
    if not inside:
        return (
            Kept.CHANGED_SINCE,
            f"taken out of project {was_project.name or was_project.gid} since",
        )
    if was_section is not None and section is not None and section.gid == was_section.gid:
        return (Kept.AS_BEFORE, f"already in {_named(was_section)}")
    if was_section is None and (section is None or not written_section):
        return (Kept.AS_BEFORE, "already where it was")
    if written_section and (section is None or not ref_matches(section, written_section)):
        return (Kept.CHANGED_SINCE, f"moved to {_named(section)} since")
    if was_section is None:
        return (Kept.CANNOT_RESTORE, "it was in no section, and a task in a project is in one")
    state.sections[was_project.gid] = was_section
    return Step(
        write.id,
        PlaceBack(was_project.gid, was_section.gid),
        f"move back to {_named(was_section)}",
    )


# ----------------------------------------------------------------------------- set


def _norm(value: object) -> object:
    """A field value compared loosely: case and type of number aside, empty as None."""
    if value is None or value == "" or value == [] or value == ():
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return tuple(sorted(str(_norm(v)) for v in value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text.casefold()
    return number if math.isfinite(number) else text.casefold()


def _shown(value: object) -> str:
    if value is None or value == "" or value == [] or value == ():
        return "empty"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value.isoformat() if isinstance(value, (date, datetime)) else value)


def _set(write: Write, state: _State, directory: Directory) -> _Outcome:
    before = _before(write)
    if before is None or "value" not in before:
        return _NO_RECORD
    field_ref = _ref_of(before.get("field"))
    if field_ref is None:
        return (Kept.CANNOT_RESTORE, "the field was not on the task")
    if field_ref.gid in state.fields:
        now = state.fields[field_ref.gid]
    else:
        current = state.task.field(field_ref.gid)
        if current is None:
            return (Kept.CHANGED_SINCE, f"field {field_ref.name or field_ref.gid} removed since")
        now = current.value
    was = before["value"]
    label = field_ref.name or field_ref.gid
    if _norm(now) == _norm(was):
        return (Kept.AS_BEFORE, f"{label} already {_shown(was)}")
    if _norm(now) != _norm(write.detail.get("value")):
        return (Kept.CHANGED_SINCE, f"{label} set to {_shown(now)} since")
    if isinstance(was, (list, tuple)):
        return (Kept.CANNOT_RESTORE, f"{label} had several options ({_shown(was)})")
    if isinstance(was, bool) or not (was is None or isinstance(was, (str, int, float))):
        return (Kept.CANNOT_RESTORE, f"{label} had a value that cannot be written back")
    value: str | float | None = float(was) if isinstance(was, int) else was
    state.fields[field_ref.gid] = was
    return Step(write.id, RestoreField(field_ref.gid, value), f"set {label} back to {_shown(was)}")


# ----------------------------------------------------------------------------- due


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _due_now(state: _State) -> tuple[str | None, str | None]:
    if state.due is not None:
        return state.due
    task = state.task
    return (
        task.due_on.isoformat() if task.due_on is not None else None,
        task.due_at.isoformat() if task.due_at is not None else None,
    )


def _same_due(a: tuple[str | None, str | None], b: tuple[str | None, str | None]) -> bool:
    if a[1] is not None or b[1] is not None:
        return _moment(a[1]) == _moment(b[1]) and _moment(a[1]) is not None
    return a[0] == b[0]


def _due(write: Write, state: _State, directory: Directory) -> _Outcome:
    before = _before(write)
    if before is None or "due_on" not in before:
        return _NO_RECORD
    was = (before.get("due_on") or None, before.get("due_at") or None)
    was_pair = (_text(was[0]) or None, _text(was[1]) or None)
    now = _due_now(state)
    shown_was = was_pair[1] or was_pair[0] or "none"
    if _same_due(now, was_pair):
        return (Kept.AS_BEFORE, f"due date already {shown_was}")
    written = _text(write.detail.get("due_on")) or None
    if not _same_due(now, (written, None)):
        return (Kept.CHANGED_SINCE, f"due date changed to {now[1] or now[0] or 'none'} since")
    state.due = was_pair
    return Step(write.id, RestoreDue(*was_pair), f"set the due date back to {shown_was}")


# ----------------------------------------------------------------------------- comment


def _comment(write: Write, state: _State, directory: Directory) -> _Outcome:
    if write.story_gid:
        return Step(write.id, DeleteComment(write.story_gid), "delete the comment it posted")
    return Step(write.id, CorrectComment(correction(write.rule)), "post a comment withdrawing it")


_PLANNERS = {
    WriteKind.ASSIGN: _assign,
    WriteKind.TAG: _tag,
    WriteKind.UNTAG: _untag,
    WriteKind.FOLLOW: _follow,
    WriteKind.MOVE: _move,
    WriteKind.SET: _set,
    WriteKind.DUE: _due,
    WriteKind.COMMENT: _comment,
}
