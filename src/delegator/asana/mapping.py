"""Asana's task JSON -> the core's ``Task`` snapshot: the adapter's edge, where answers are distrusted.

The opt_fields a task read asks for live here with the mapping that reads them, so the core never
sees Asana's wire format. Anything that does not look like what Asana returns (a wrong type
anywhere, a bad date) is a ``SnapshotError`` naming the field: one poison task is reported and
skipped, never a crash of the client's cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef

# The task fields the engine reads: the opt_fields of every task read from Asana.
TASK_OPT_FIELDS: tuple[str, ...] = (
    "name",
    "notes",
    "resource_subtype",
    "assignee.name",
    "assignee.email",
    "completed",
    "completed_at",
    "due_on",
    "due_at",
    "start_on",
    "start_at",
    "created_at",
    "modified_at",
    "tags.name",
    "projects.name",
    "memberships.project.name",
    "memberships.section.name",
    "followers.name",
    "followers.email",
    "parent.name",
    "permalink_url",
    "workspace.name",
    "custom_fields.name",
    "custom_fields.resource_subtype",
    "custom_fields.enum_value.name",
    "custom_fields.multi_enum_values.name",
    "custom_fields.number_value",
    "custom_fields.text_value",
    "custom_fields.date_value",
    "custom_fields.display_value",
)


class SnapshotError(ValueError):
    """A task's JSON does not look like what Asana returns."""


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _date(value: Any, where: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SnapshotError(f"{where}: invalid date {value!r} (expected YYYY-MM-DD)") from None


def _datetime(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise SnapshotError(
                f"{where}: invalid timestamp {value!r} (expected ISO 8601)"
            ) from None
    if moment.tzinfo is None:
        raise SnapshotError(f"{where}: timestamp {value!r} has no time zone")
    return moment


class Shared:
    """One instance of each project, section, tag, user and field value across many snapshots.

    Thousands of tasks name the same few projects, sections and people; sharing the objects
    keeps a large workspace's snapshots small. Use one per read (it only grows).
    """

    __slots__ = ("_objects",)

    def __init__(self) -> None:
        self._objects: dict[object, Any] = {}

    def one(self, value: Any) -> Any:
        return self._objects.setdefault(value, value)


_UNSHARED = None


def _ref(value: Any, shared: Shared | None = _UNSHARED) -> Ref | None:
    if isinstance(value, Mapping) and value.get("gid") is not None:
        ref = Ref(str(value["gid"]), _text(value, "name"))
        return shared.one(ref) if shared is not None else ref
    return None


def _user(value: Any, shared: Shared | None = _UNSHARED) -> UserRef | None:
    if isinstance(value, Mapping) and value.get("gid") is not None:
        user = UserRef(str(value["gid"]), _text(value, "name"), _text(value, "email").lower())
        return shared.one(user) if shared is not None else user
    return None


def _refs(values: Any, shared: Shared | None = _UNSHARED) -> tuple[Ref, ...]:
    if not isinstance(values, Sequence):
        return ()
    return tuple(r for r in (_ref(v, shared) for v in values) if r is not None)


def _field(data: Mapping[str, Any]) -> FieldValue:
    kind = _text(data, "resource_subtype") or _text(data, "type")
    enum_value = data.get("enum_value")
    multi = data.get("multi_enum_values") or ()
    number = data.get("number_value")
    date_value = data.get("date_value")
    day = None
    if isinstance(date_value, Mapping):
        day = _date(date_value.get("date"), "custom_fields.date_value")
    elif date_value:
        day = _date(date_value, "custom_fields.date_value")
    return FieldValue(
        gid=str(data.get("gid", "")),
        name=_text(data, "name"),
        type=kind,
        enum=_text(enum_value, "name") if isinstance(enum_value, Mapping) else None,
        multi_enum=tuple(_text(v, "name") for v in multi if isinstance(v, Mapping)),
        number=float(number) if isinstance(number, int | float) else None,
        text=data.get("text_value") if isinstance(data.get("text_value"), str) else None,
        date=day,
        display=data.get("display_value") if isinstance(data.get("display_value"), str) else None,
    )


def task_from_asana(data: Mapping[str, Any], shared: Shared | None = None) -> Task:
    """Build a snapshot from a task as ``GET /tasks/{gid}`` returns it (``data`` unwrapped).

    Pass one ``Shared`` for a batch of tasks to share their common objects. Whatever the JSON
    holds, the only exception is ``SnapshotError`` (a wrong shape anywhere names the task).
    """
    try:
        return _task(data, shared)
    except SnapshotError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError, OverflowError, RecursionError) as exc:
        gid = data.get("gid") if isinstance(data, Mapping) else None
        raise SnapshotError(
            f"task {gid}: not a task as Asana returns it ({type(exc).__name__}: {exc})"
        ) from None


def _task(data: Mapping[str, Any], shared: Shared | None) -> Task:
    if not isinstance(data, Mapping):
        raise SnapshotError("a task must be a JSON object")
    if "data" in data and isinstance(data["data"], Mapping) and "gid" not in data:
        data = data["data"]
    if data.get("gid") in (None, ""):
        raise SnapshotError("the task has no 'gid'")
    memberships = []
    for item in data.get("memberships") or ():
        project = _ref(item.get("project"), shared) if isinstance(item, Mapping) else None
        if project is not None:
            membership = Membership(project, _ref(item.get("section"), shared))
            memberships.append(shared.one(membership) if shared is not None else membership)
    return Task(
        gid=str(data["gid"]),
        name=_text(data, "name"),
        notes=_text(data, "notes"),
        assignee=_user(data.get("assignee"), shared),
        completed=bool(data.get("completed", False)),
        completed_at=_datetime(data.get("completed_at"), "completed_at"),
        due_on=_date(data.get("due_on"), "due_on"),
        due_at=_datetime(data.get("due_at"), "due_at"),
        start_on=_date(data.get("start_on"), "start_on"),
        start_at=_datetime(data.get("start_at"), "start_at"),
        created_at=_datetime(data.get("created_at"), "created_at"),
        modified_at=_datetime(data.get("modified_at"), "modified_at"),
        tags=_refs(data.get("tags"), shared),
        projects=_refs(data.get("projects"), shared),
        memberships=tuple(memberships),
        followers=tuple(
            u for u in (_user(f, shared) for f in data.get("followers") or ()) if u is not None
        ),
        custom_fields=tuple(
            shared.one(_field(f)) if shared is not None else _field(f)
            for f in data.get("custom_fields") or ()
            if isinstance(f, Mapping)
        ),
        parent=_ref(data.get("parent"), shared),
        permalink_url=_text(data, "permalink_url"),
        is_milestone=data.get("resource_subtype") == "milestone",
    )
