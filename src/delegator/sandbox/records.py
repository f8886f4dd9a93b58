"""The objects of a sandbox world, and the JSON fields Asana shows for each.

Every record knows three things about its JSON shape: its ``resource_type``, the fields of its
*compact* form (what collections return by default), the fields of its *full* form (what a single
object returns by default), and how to compute any field by name (``value``). Related objects are
held by reference, so ``memberships.section.name`` is a walk through the graph; the rendering
itself lives in :mod:`delegator.sandbox.render`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Final, Literal

PERMALINK_BASE: Final = "https://app.asana.com/0"

CustomFieldType = Literal["enum", "multi_enum", "number", "text", "date"]
CUSTOM_FIELD_TYPES: Final[tuple[CustomFieldType, ...]] = (
    "enum",
    "multi_enum",
    "number",
    "text",
    "date",
)

Plan = Literal["free", "paid"]
PLANS: Final[tuple[Plan, ...]] = ("free", "paid")

# Status types a project's status update may have (goals have others; the sandbox has no goals).
PROJECT_STATUS_TYPES: Final = ("on_track", "at_risk", "off_track", "on_hold", "complete", "dropped")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""What ``value`` returns for a field the record does not have (left out of the JSON)."""


class Node:
    """Something rendered as a JSON object."""

    resource_type: ClassVar[str] = ""
    COMPACT: ClassVar[tuple[str, ...]] = ()
    FULL: ClassVar[tuple[str, ...]] = ()
    _FIELDS: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    def value(self, name: str) -> Any:
        """The value of JSON field ``name``; MISSING when this kind of record has no such field."""
        getter = type(self)._FIELDS.get(name)
        return MISSING if getter is None else getter(self)


_viewer: ContextVar[User | None] = ContextVar("sandbox_viewer", default=None)


@contextmanager
def viewing(user: User | None) -> Iterator[None]:
    """Render records as ``user`` sees them: ``liked`` is whether the requester liked it."""
    token = _viewer.set(user)
    try:
        yield
    finally:
        _viewer.reset(token)


def viewer() -> User | None:
    """The user records are rendered for (None outside a request)."""
    return _viewer.get()


def _html_body(text: str) -> str:
    return f"<body>{html.escape(text, quote=False)}</body>"


def _permalink(*parts: str) -> str:
    return "/".join((PERMALINK_BASE, *parts))


@dataclass(eq=False)
class Workspace(Node):
    gid: str
    name: str
    email_domains: list[str] = field(default_factory=list)
    is_organization: bool = False
    plan: Plan = "paid"  # not an Asana field: it decides rate limits and premium features (402)
    users: list[User] = field(default_factory=list)  # members and guests
    guests: list[User] = field(default_factory=list)  # an organization's guests, also in users
    projects: list[Project] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    custom_fields: list[CustomField] = field(default_factory=list)

    resource_type: ClassVar[str] = "workspace"
    COMPACT = ("gid", "name", "resource_type")
    FULL = ("gid", "resource_type", "name", "email_domains", "is_organization")


Workspace._FIELDS = {
    "gid": lambda w: w.gid,
    "resource_type": lambda w: w.resource_type,
    "name": lambda w: w.name,
    "email_domains": lambda w: list(w.email_domains),
    "is_organization": lambda w: w.is_organization,
}


@dataclass(eq=False)
class User(Node):
    gid: str
    name: str
    email: str
    workspaces: list[Workspace] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    role: str = ""  # free text from the fixture (client, assistant, employee); not an Asana field

    resource_type: ClassVar[str] = "user"
    COMPACT = ("gid", "name", "resource_type")
    FULL = ("gid", "resource_type", "name", "email", "photo", "workspaces")


User._FIELDS = {
    "gid": lambda u: u.gid,
    "resource_type": lambda u: u.resource_type,
    "name": lambda u: u.name,
    "email": lambda u: u.email,
    "photo": lambda u: None,
    "workspaces": lambda u: list(u.workspaces),
}


@dataclass(eq=False)
class UserTaskList(Node):
    """A user's "My Tasks" in one workspace: the tasks assigned to them there."""

    gid: str
    owner: User
    workspace: Workspace

    resource_type: ClassVar[str] = "user_task_list"
    COMPACT = ("gid", "name", "resource_type")
    FULL = ("gid", "resource_type", "name", "owner", "workspace")


UserTaskList._FIELDS = {
    "gid": lambda u: u.gid,
    "resource_type": lambda u: u.resource_type,
    "name": lambda u: "My Tasks",
    "owner": lambda u: u.owner,
    "workspace": lambda u: u.workspace,
}


@dataclass(eq=False)
class EnumOption(Node):
    gid: str
    name: str
    color: str = "none"
    enabled: bool = True

    resource_type: ClassVar[str] = "enum_option"
    COMPACT = ("gid", "resource_type", "name", "enabled", "color")
    FULL = COMPACT


EnumOption._FIELDS = {
    "gid": lambda o: o.gid,
    "resource_type": lambda o: o.resource_type,
    "name": lambda o: o.name,
    "enabled": lambda o: o.enabled,
    "color": lambda o: o.color,
}


@dataclass(eq=False)
class CustomField(Node):
    """The definition of a custom field in a workspace."""

    gid: str
    name: str
    type: CustomFieldType
    workspace: Workspace
    enum_options: list[EnumOption] = field(default_factory=list)
    precision: int = 0
    description: str = ""

    resource_type: ClassVar[str] = "custom_field"
    COMPACT = ("gid", "name", "resource_type", "resource_subtype", "type")
    FULL = (
        "gid",
        "resource_type",
        "name",
        "resource_subtype",
        "type",
        "description",
        "enabled",
        "enum_options",
        "precision",
        "format",
        "is_formula_field",
        "is_global_to_workspace",
        "has_notifications_enabled",
    )

    def option(self, ref: str) -> EnumOption | None:
        """The enum option with this gid or (case-insensitive) name."""
        for option in self.enum_options:
            if option.gid == ref or option.name.casefold() == ref.casefold():
                return option
        return None


_FIELD_DEFINITION: dict[str, Callable[[Any], Any]] = {
    "gid": lambda f: f.gid,
    "resource_type": lambda f: "custom_field",
    "name": lambda f: f.name,
    "type": lambda f: f.type,
    "resource_subtype": lambda f: f.type,
    "description": lambda f: f.description,
    "enabled": lambda f: True,
    "enum_options": lambda f: list(f.enum_options) if f.type in ("enum", "multi_enum") else [],
    "precision": lambda f: f.precision,
    "format": lambda f: "none",
    "is_formula_field": lambda f: False,
    "is_global_to_workspace": lambda f: True,
    "has_notifications_enabled": lambda f: False,
    "representation_type": lambda f: f.type,
}
CustomField._FIELDS = _FIELD_DEFINITION


@dataclass(eq=False)
class CustomFieldSetting(Node):
    """A custom field attached to a project."""

    gid: str
    project: Project
    custom_field: CustomField
    is_important: bool = True

    resource_type: ClassVar[str] = "custom_field_setting"
    COMPACT = ("gid", "resource_type", "custom_field", "is_important", "parent", "project")
    FULL = COMPACT


CustomFieldSetting._FIELDS = {
    "gid": lambda s: s.gid,
    "resource_type": lambda s: s.resource_type,
    "custom_field": lambda s: s.custom_field,
    "is_important": lambda s: s.is_important,
    "parent": lambda s: s.project,
    "project": lambda s: s.project,
}


CustomValue = EnumOption | list[EnumOption] | float | int | str | date | None
"""A custom field's value on a task: option, options, number, text or date (None when unset)."""


@dataclass(eq=False)
class CustomFieldValue(Node):
    """A custom field as it appears on a task: the definition plus that task's value."""

    field: CustomField
    raw: CustomValue

    resource_type: ClassVar[str] = "custom_field"
    COMPACT = (
        "gid",
        "name",
        "resource_type",
        "resource_subtype",
        "type",
        "display_value",
        "enabled",
        "enum_options",
        "enum_value",
        "multi_enum_values",
        "number_value",
        "text_value",
        "date_value",
    )
    FULL = COMPACT

    @property
    def gid(self) -> str:
        return self.field.gid

    def display_value(self) -> str | None:
        raw = self.raw
        if raw is None:
            return None
        if isinstance(raw, EnumOption):
            return raw.name
        if isinstance(raw, list):
            return ", ".join(option.name for option in raw) or None
        if isinstance(raw, bool):
            return str(raw)
        if isinstance(raw, int | float):
            return f"{raw:.{self.field.precision}f}"
        if isinstance(raw, date):
            return raw.isoformat()
        return raw

    def typed(self, kind: CustomFieldType) -> Any:
        """The value when the field is of this kind; MISSING (left out of the JSON) otherwise."""
        return self.raw if self.field.type == kind else MISSING


def _date_value(value: CustomFieldValue) -> Any:
    if value.field.type != "date":
        return MISSING
    if not isinstance(value.raw, date):
        return None
    return {"date": value.raw.isoformat(), "date_time": None}


CustomFieldValue._FIELDS = {
    **_FIELD_DEFINITION,
    "gid": lambda v: v.field.gid,
    "name": lambda v: v.field.name,
    "type": lambda v: v.field.type,
    "resource_subtype": lambda v: v.field.type,
    "enum_options": lambda v: _FIELD_DEFINITION["enum_options"](v.field),
    "precision": lambda v: v.field.precision,
    "description": lambda v: v.field.description,
    "display_value": lambda v: v.display_value(),
    "enum_value": lambda v: v.typed("enum"),
    "multi_enum_values": lambda v: list(v.raw or []) if v.field.type == "multi_enum" else MISSING,
    "number_value": lambda v: v.typed("number"),
    "text_value": lambda v: v.typed("text"),
    "date_value": _date_value,
}


@dataclass(eq=False)
class Project(Node):
    gid: str
    name: str
    workspace: Workspace
    created_at: datetime
    modified_at: datetime
    owner: User | None = None
    notes: str = ""
    color: str | None = None
    archived: bool = False
    sections: list[Section] = field(default_factory=list)
    custom_field_settings: list[CustomFieldSetting] = field(default_factory=list)
    status_updates: list[StatusUpdate] = field(default_factory=list)
    members: list[User] = field(default_factory=list)
    public: bool = True  # False: a private project, seen only by its members

    resource_type: ClassVar[str] = "project"
    COMPACT = ("gid", "name", "resource_type")
    FULL = (
        "gid",
        "resource_type",
        "name",
        "archived",
        "color",
        "completed",
        "completed_at",
        "created_at",
        "current_status_update",
        "custom_field_settings",
        "default_view",
        "due_on",
        "start_on",
        "members",
        "followers",
        "modified_at",
        "notes",
        "owner",
        "permalink_url",
        "public",
        "workspace",
    )

    def tasks(self) -> list[Task]:
        """The project's tasks in board order: section by section."""
        return [task for section in self.sections for task in section.tasks]

    def section(self, ref: str) -> Section | None:
        for section in self.sections:
            if section.gid == ref or section.name.casefold() == ref.casefold():
                return section
        return None


Project._FIELDS = {
    "gid": lambda p: p.gid,
    "resource_type": lambda p: p.resource_type,
    "name": lambda p: p.name,
    "archived": lambda p: p.archived,
    "color": lambda p: p.color,
    "completed": lambda p: False,
    "completed_at": lambda p: None,
    "created_at": lambda p: p.created_at,
    "current_status_update": lambda p: p.status_updates[-1] if p.status_updates else None,
    "custom_field_settings": lambda p: list(p.custom_field_settings),
    "default_view": lambda p: "list",
    "due_on": lambda p: None,
    "start_on": lambda p: None,
    "members": lambda p: list(p.members),
    "followers": lambda p: list(p.members),
    "modified_at": lambda p: p.modified_at,
    "notes": lambda p: p.notes,
    "html_notes": lambda p: _html_body(p.notes),
    "owner": lambda p: p.owner,
    "permalink_url": lambda p: _permalink(p.gid, p.gid),
    "public": lambda p: p.public,
    "privacy_setting": lambda p: "public_to_workspace" if p.public else "private",
    "workspace": lambda p: p.workspace,
}


@dataclass(eq=False)
class Section(Node):
    gid: str
    name: str
    project: Project
    created_at: datetime
    tasks: list[Task] = field(default_factory=list)

    resource_type: ClassVar[str] = "section"
    COMPACT = ("gid", "name", "resource_type")
    FULL = ("gid", "resource_type", "name", "created_at", "project", "projects")


Section._FIELDS = {
    "gid": lambda s: s.gid,
    "resource_type": lambda s: s.resource_type,
    "name": lambda s: s.name,
    "created_at": lambda s: s.created_at,
    "project": lambda s: s.project,
    "projects": lambda s: [s.project],
}


@dataclass(eq=False)
class Tag(Node):
    gid: str
    name: str
    workspace: Workspace
    created_at: datetime
    color: str | None = None
    notes: str = ""
    followers: list[User] = field(default_factory=list)

    resource_type: ClassVar[str] = "tag"
    COMPACT = ("gid", "name", "resource_type")
    FULL = (
        "gid",
        "resource_type",
        "name",
        "color",
        "created_at",
        "followers",
        "notes",
        "permalink_url",
        "workspace",
    )


Tag._FIELDS = {
    "gid": lambda t: t.gid,
    "resource_type": lambda t: t.resource_type,
    "name": lambda t: t.name,
    "color": lambda t: t.color,
    "created_at": lambda t: t.created_at,
    "followers": lambda t: list(t.followers),
    "notes": lambda t: t.notes,
    "permalink_url": lambda t: _permalink(t.gid, "list"),
    "workspace": lambda t: t.workspace,
}


@dataclass(eq=False)
class Membership(Node):
    """A task's place in a project: the project and the section it sits in."""

    project: Project
    section: Section

    COMPACT = ("project", "section")
    FULL = COMPACT


Membership._FIELDS = {
    "project": lambda m: m.project,
    "section": lambda m: m.section,
}


@dataclass(eq=False)
class Like(Node):
    """A user's like of a task (Asana's ``Like``: its own gid and the user)."""

    gid: str
    user: User

    COMPACT = ("gid", "user")
    FULL = COMPACT


Like._FIELDS = {
    "gid": lambda like: like.gid,
    "user": lambda like: like.user,
}


@dataclass(eq=False)
class Task(Node):
    gid: str
    name: str
    workspace: Workspace
    created_at: datetime
    modified_at: datetime
    notes: str = ""
    resource_subtype: str = "default_task"
    assignee: User | None = None
    created_by: User | None = None
    due_on: date | None = None
    due_at: datetime | None = None
    start_on: date | None = None
    completed: bool = False
    completed_at: datetime | None = None
    completed_by: User | None = None
    tags: list[Tag] = field(default_factory=list)
    followers: list[User] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    custom_values: dict[str, CustomValue] = field(default_factory=dict)
    parent: Task | None = None
    subtasks: list[Task] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    likes: list[Like] = field(default_factory=list)  # oldest first

    resource_type: ClassVar[str] = "task"
    COMPACT = ("gid", "name", "resource_type", "resource_subtype")
    FULL = (
        "gid",
        "resource_type",
        "name",
        "resource_subtype",
        "actual_time_minutes",
        "assignee",
        "assignee_status",
        "completed",
        "completed_at",
        "created_at",
        "custom_fields",
        "due_at",
        "due_on",
        "followers",
        "hearted",
        "hearts",
        "liked",
        "likes",
        "memberships",
        "modified_at",
        "notes",
        "num_hearts",
        "num_likes",
        "parent",
        "permalink_url",
        "projects",
        "start_at",
        "start_on",
        "tags",
        "workspace",
    )

    @property
    def projects(self) -> list[Project]:
        return [membership.project for membership in self.memberships]

    def membership(self, project: Project) -> Membership | None:
        for membership in self.memberships:
            if membership.project is project:
                return membership
        return None

    def custom_fields(self) -> list[CustomFieldValue]:
        """The fields of the task's projects (set or not), then any other field with a value."""
        fields: dict[str, CustomField] = {}
        for project in self.projects:
            for setting in project.custom_field_settings:
                fields.setdefault(setting.custom_field.gid, setting.custom_field)
        shown = [CustomFieldValue(f, self.custom_values.get(f.gid)) for f in fields.values()]
        shown.extend(
            CustomFieldValue(definition, self.custom_values[definition.gid])
            for definition in self.workspace.custom_fields
            if definition.gid not in fields and self.custom_values.get(definition.gid) is not None
        )
        return shown


Task._FIELDS = {
    "gid": lambda t: t.gid,
    "resource_type": lambda t: t.resource_type,
    "name": lambda t: t.name,
    "resource_subtype": lambda t: t.resource_subtype,
    "actual_time_minutes": lambda t: None,
    "approval_status": lambda t: MISSING,
    "assignee": lambda t: t.assignee,
    "assignee_status": lambda t: "inbox" if t.assignee is not None else "upcoming",
    "completed": lambda t: t.completed,
    "completed_at": lambda t: t.completed_at,
    "completed_by": lambda t: t.completed_by,
    "created_at": lambda t: t.created_at,
    "created_by": lambda t: t.created_by,
    "custom_fields": lambda t: t.custom_fields(),
    "dependencies": lambda t: [],
    "dependents": lambda t: [],
    "due_at": lambda t: t.due_at,
    "due_on": lambda t: t.due_on,
    "followers": lambda t: list(t.followers),
    "hearted": lambda t: _liked_by_viewer(t),
    "hearts": lambda t: list(t.likes),
    "html_notes": lambda t: _html_body(t.notes),
    "is_rendered_as_separator": lambda t: False,
    "liked": lambda t: _liked_by_viewer(t),
    "likes": lambda t: list(t.likes),
    "memberships": lambda t: list(t.memberships),
    "modified_at": lambda t: t.modified_at,
    "notes": lambda t: t.notes,
    "num_hearts": lambda t: len(t.likes),
    "num_likes": lambda t: len(t.likes),
    "num_subtasks": lambda t: len(t.subtasks),
    "parent": lambda t: t.parent,
    "permalink_url": lambda t: _permalink(t.projects[0].gid if t.projects else "0", t.gid),
    "projects": lambda t: t.projects,
    "start_at": lambda t: None,
    "start_on": lambda t: t.start_on,
    "tags": lambda t: list(t.tags),
    "workspace": lambda t: t.workspace,
}


def _liked_by_viewer(task: Task) -> bool:
    user = viewer()
    return user is not None and any(like.user is user for like in task.likes)


@dataclass(eq=False)
class Story(Node):
    """Something that happened to a task: a comment, or a system story ("assigned to ...")."""

    gid: str
    task: Task
    created_at: datetime
    created_by: User | None
    resource_subtype: str
    text: str
    type: Literal["comment", "system"] = "system"
    html_text: str | None = None
    is_pinned: bool = False
    details: dict[str, Node | None] = field(default_factory=dict)  # e.g. assignee, tag, project

    resource_type: ClassVar[str] = "story"
    COMPACT = (
        "gid",
        "created_at",
        "created_by",
        "resource_subtype",
        "resource_type",
        "text",
        "type",
    )
    FULL = (
        "gid",
        "resource_type",
        "created_at",
        "created_by",
        "resource_subtype",
        "text",
        "type",
        "html_text",
        "is_pinned",
        "is_editable",
        "is_edited",
        "hearted",
        "liked",
        "likes",
        "num_likes",
        "source",
        "target",
    )

    def value(self, name: str) -> Any:
        if name in self.details:
            return self.details[name]
        return super().value(name)


Story._FIELDS = {
    "gid": lambda s: s.gid,
    "resource_type": lambda s: s.resource_type,
    "created_at": lambda s: s.created_at,
    "created_by": lambda s: s.created_by,
    "resource_subtype": lambda s: s.resource_subtype,
    "text": lambda s: s.text,
    "type": lambda s: s.type,
    "html_text": lambda s: s.html_text or _html_body(s.text),
    "is_pinned": lambda s: s.is_pinned,
    "is_editable": lambda s: s.type == "comment",
    "is_edited": lambda s: False,
    "hearted": lambda s: False,
    "liked": lambda s: False,
    "likes": lambda s: [],
    "num_likes": lambda s: 0,
    "source": lambda s: "api" if s.type == "comment" else "web",
    "target": lambda s: s.task,
}


@dataclass(eq=False)
class StatusUpdate(Node):
    gid: str
    parent: Project
    title: str
    text: str
    status_type: str
    author: User
    created_at: datetime
    html_text: str | None = None

    resource_type: ClassVar[str] = "status_update"
    COMPACT = ("gid", "resource_type", "resource_subtype", "title")
    FULL = (
        "gid",
        "resource_type",
        "resource_subtype",
        "title",
        "text",
        "html_text",
        "status_type",
        "author",
        "created_at",
        "created_by",
        "hearted",
        "hearts",
        "liked",
        "likes",
        "modified_at",
        "num_hearts",
        "num_likes",
        "parent",
    )


StatusUpdate._FIELDS = {
    "gid": lambda s: s.gid,
    "resource_type": lambda s: s.resource_type,
    "resource_subtype": lambda s: "project_status_update",
    "title": lambda s: s.title,
    "text": lambda s: s.text,
    "html_text": lambda s: s.html_text or _html_body(s.text),
    "status_type": lambda s: s.status_type,
    "author": lambda s: s.author,
    "created_at": lambda s: s.created_at,
    "created_by": lambda s: s.author,
    "hearted": lambda s: False,
    "hearts": lambda s: [],
    "liked": lambda s: False,
    "likes": lambda s: [],
    "modified_at": lambda s: s.created_at,
    "num_hearts": lambda s: 0,
    "num_likes": lambda s: 0,
    "parent": lambda s: s.parent,
}


Resource = (
    Workspace
    | User
    | UserTaskList
    | Project
    | Section
    | Tag
    | CustomField
    | CustomFieldSetting
    | EnumOption
    | Task
    | Story
    | StatusUpdate
)
"""The records a gid can name."""


# ---------------------------------------------------------------------- Asana's default fields
# A full record carries every field Asana's spec gives by default for its schema (contract.json,
# each operation's response "defaults"; tests/contract/test_contract_table.py checks it). The
# fields below are the ones the sandbox has nothing to say about: null, empty, or Asana's
# default setting. A getter already defined above is kept.


def _with_defaults(kind: type[Node], getters: dict[str, Callable[[Any], Any]]) -> None:
    kind.FULL = (*kind.FULL, *(name for name in getters if name not in kind.FULL))
    for name, getter in getters.items():
        kind._FIELDS.setdefault(name, getter)


def _shown_when_set(kind: type[Node], names: tuple[str, ...]) -> None:
    """Names in the full form whose value only some records have (MISSING: left out)."""
    kind.FULL = (*kind.FULL, *(name for name in names if name not in kind.FULL))


_with_defaults(
    Task,
    {
        "assigned_by": lambda t: None,
        "assignee_section": lambda t: None,
        "completed_by": lambda t: t.completed_by,
        "custom_type": lambda t: None,
        "custom_type_status_option": lambda t: None,
    },
)
_with_defaults(
    Project,
    {
        "completed_by": lambda p: None,
        "current_status": lambda p: None,
        "custom_fields": lambda p: [],
        "default_access_level": lambda p: "editor",
        "due_date": lambda p: None,
        "icon": lambda p: "list",
        "minimum_access_level_for_customization": lambda p: "admin",
        "minimum_access_level_for_sharing": lambda p: "admin",
        "privacy_setting": lambda p: "public_to_workspace",
    },
)
_with_defaults(StatusUpdate, {"reaction_summary": lambda s: []})
_with_defaults(User, {"custom_fields": lambda u: []})
_with_defaults(
    Story,
    {
        "hearts": lambda s: [],
        "num_hearts": lambda s: 0,
        "previews": lambda s: [],
        "reaction_summary": lambda s: [],
    },
)
# The fields of a system story that say what changed: shown when the story has them (details).
_shown_when_set(
    Story,
    (
        "assignee",
        "custom_field",
        "dependency",
        "duplicate_of",
        "duplicated_from",
        "follower",
        "new_section",
        "old_section",
        "new_enum_value",
        "old_enum_value",
        "new_name",
        "old_name",
        "project",
        "story",
        "tag",
        "task",
    ),
)

_with_defaults(
    CustomField,
    {
        "asana_created_field": lambda f: None,
        "created_by": lambda f: None,
        "currency_code": lambda f: None,
        "custom_label": lambda f: None,
        "custom_label_position": lambda f: None,
        "date_value": lambda f: None,
        "default_access_level": lambda f: "editor",
        "display_value": lambda f: None,
        "enum_value": lambda f: None,
        "html_text_value": lambda f: None,
        "id_prefix": lambda f: None,
        "input_restrictions": lambda f: [],
        "is_value_read_only": lambda f: False,
        "multi_enum_values": lambda f: [],
        "number_value": lambda f: None,
        "people_value": lambda f: [],
        "privacy_setting": lambda f: "public_with_guests",
        "reference_value": lambda f: [],
        "representation_type": lambda f: f.type,
        "text_value": lambda f: None,
    },
)
