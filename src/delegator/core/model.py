"""The task snapshot the engine reads, built from a task as Asana's API returns it.

A snapshot is immutable and precomputes what rules compare against (lower-cased names, tag sets,
custom fields by name and gid), so evaluating many rules over one task stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Ref:
    """Anything Asana names by gid: a project, section, tag or workspace."""

    gid: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class UserRef:
    gid: str
    name: str = ""
    email: str = ""  # always lower case

    def __post_init__(self) -> None:
        if self.email != self.email.lower():
            object.__setattr__(self, "email", self.email.lower())

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else (self.email.split("@")[0] or self.gid)


@dataclass(frozen=True, slots=True)
class Membership:
    project: Ref
    section: Ref | None = None


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A custom field's value on one task, whatever its type."""

    gid: str
    name: str
    type: str  # enum, multi_enum, number, text, date, people, ...
    enum: str | None = None
    multi_enum: tuple[str, ...] = ()
    number: float | None = None
    text: str | None = None
    date: date | None = None
    display: str | None = None
    # Option names folded for comparison, derived once.
    enum_key: str | None = field(init=False, repr=False, compare=False)
    multi_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "enum_key", self.enum.casefold() if self.enum is not None else None
        )
        object.__setattr__(self, "multi_keys", frozenset(v.casefold() for v in self.multi_enum))

    @property
    def is_set(self) -> bool:
        return bool(
            self.enum is not None
            or self.multi_enum
            or self.number is not None
            or self.text
            or self.date is not None
        )

    @property
    def value(self) -> object:
        """The value as a person reads it: option name(s), number, text or date."""
        match self.type:
            case "enum":
                return self.enum
            case "multi_enum":
                return list(self.multi_enum)
            case "number":
                return self.number
            case "date":
                return self.date
            case _:
                return self.text if self.text is not None else self.display


@dataclass(frozen=True, slots=True)
class Task:
    """One Asana task as the rules see it."""

    gid: str
    name: str = ""
    notes: str = ""
    assignee: UserRef | None = None
    completed: bool = False
    completed_at: datetime | None = None
    due_on: date | None = None
    due_at: datetime | None = None
    start_on: date | None = None
    start_at: datetime | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    tags: tuple[Ref, ...] = ()
    projects: tuple[Ref, ...] = ()
    memberships: tuple[Membership, ...] = ()
    followers: tuple[UserRef, ...] = ()
    custom_fields: tuple[FieldValue, ...] = ()
    parent: Ref | None = None
    permalink_url: str = ""
    is_milestone: bool = False
    # Derived once, read by every rule.
    name_lower: str = field(init=False, repr=False, compare=False)
    notes_lower: str = field(init=False, repr=False, compare=False)
    tag_names: frozenset[str] = field(init=False, repr=False, compare=False)
    fields_by_key: Mapping[str, FieldValue] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "name_lower", self.name.casefold())
        put(self, "notes_lower", self.notes.casefold())
        put(self, "tag_names", frozenset(t.name.casefold() for t in self.tags))
        by_key: dict[str, FieldValue] = {}
        for value in self.custom_fields:
            by_key[value.gid] = value
            by_key.setdefault(value.name.casefold(), value)
        put(self, "fields_by_key", by_key)

    @property
    def due_date(self) -> date | None:
        """The due day (from due_on, or the date part of due_at)."""
        if self.due_on is not None:
            return self.due_on
        return self.due_at.date() if self.due_at is not None else None

    @property
    def is_subtask(self) -> bool:
        return self.parent is not None

    def field(self, key: str) -> FieldValue | None:
        """A custom field by gid or by name (case-insensitive)."""
        return self.fields_by_key.get(key) or self.fields_by_key.get(key.casefold())

    def section_in(self, project_key: str) -> Ref | None:
        for membership in self.memberships:
            if _ref_matches(membership.project, project_key):
                return membership.section
        return None


def _ref_matches(ref: Ref, key: str) -> bool:
    return ref.gid == key or ref.name.casefold() == key.casefold()


def ref_matches(ref: Ref, key: str) -> bool:
    """Whether a project, section or tag is the one a rule names (by gid, or name ignoring case)."""
    return _ref_matches(ref, key)


# ----------------------------------------------------------------------------- from Asana JSON


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

    Pass one ``Shared`` for a batch of tasks to share their common objects.
    """
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
