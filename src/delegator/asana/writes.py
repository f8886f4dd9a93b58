"""The changes the actions make, as data: an `Action` says what to send and how to retry it.

The client sends an action alone (`send`, one request) or with up to nine others in a /batch
(`batch.py`); the same `Action` serves both, so a dry run can show exactly what would be sent.

Idempotent writes (PUT, addTag, removeTag, add/removeFollowers, add/removeProject,
sections/addTask) may be sent again after any transient failure. Creates (a comment, a status update, a task, a tag) are
not: each carries a `check` that finds what an ambiguous attempt may already have created, so a
comment is never posted twice (see `find_existing`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeAlias

from delegator.asana import answers, pagination
from delegator.asana.http import (
    ApiResponse,
    Fields,
    Record,
    Transport,
    field_names,
    join_fields,
    segment,
)
from delegator.asana.reads import asana_time, time_or_none

#: Fields asked for in the answer to a write that returns a task: the least Asana allows.
TASK_WRITE_FIELDS: tuple[str, ...] = ("modified_at",)

#: A value for `custom_fields`: an enum option gid or text, a number, a list of option gids
#: (multi-enum) or of user gids (people), a date, or None to clear it.
CustomFieldValue: TypeAlias = str | int | float | Sequence[str] | date | datetime | None

_TAG = re.compile(r"<[^>]*>")

#: What a status update is posted on.
ParentType: TypeAlias = Literal["project", "portfolio", "goal"]

#: The status types each parent takes (Asana's spec, StatusUpdateBase.status_type).
PROJECT_STATUS_TYPES = frozenset(
    {"on_track", "at_risk", "off_track", "on_hold", "complete", "dropped"}
)
GOAL_STATUS_TYPES = frozenset(
    {"on_track", "at_risk", "off_track", "achieved", "partial", "missed", "dropped"}
)
STATUS_TYPES_BY_PARENT: Mapping[str, frozenset[str]] = {
    "project": PROJECT_STATUS_TYPES,
    "portfolio": PROJECT_STATUS_TYPES,
    "goal": GOAL_STATUS_TYPES,
}
STATUS_TYPES = PROJECT_STATUS_TYPES | GOAL_STATUS_TYPES


# ---------------------------------------------------------------- checks for ambiguous creates


@dataclass(frozen=True)
class StoryCheck:
    """A comment on `task_gid` with this text (or rich text), by the token's user."""

    task_gid: str
    text: str
    html_text: str | None = None  # compared by its words: Asana may rewrite the markup


@dataclass(frozen=True)
class StatusUpdateCheck:
    """A status update on `parent_gid` with this text (or, when it was rich text, this title),
    by the token's user."""

    parent_gid: str
    text: str
    title: str | None = None


@dataclass(frozen=True)
class TaskCheck:
    """A task with this name created by the token's user, in a project or a user's tasks."""

    name: str
    project_gid: str | None = None
    assignee: str | None = None
    workspace_gid: str | None = None


@dataclass(frozen=True)
class TagCheck:
    """A tag of that name (any case) in the workspace: whoever made it, it is the one wanted."""

    workspace_gid: str
    name: str


ExistenceCheck: TypeAlias = StoryCheck | StatusUpdateCheck | TaskCheck | TagCheck


@dataclass(frozen=True)
class Action:
    method: str  # GET, POST, PUT
    path: str  # relative to the base URL, e.g. "/tasks/123/addTag"
    data: Record = field(default_factory=dict)  # the body's "data" (query parameters for a GET)
    fields: tuple[str, ...] = ()  # opt_fields of the answer
    idempotent: bool = True
    check: ExistenceCheck | None = None  # how to find an ambiguous create's result
    returns: Literal["record", "empty"] = "record"  # a record with a gid, or ``{"data": {}}``

    @property
    def is_read(self) -> bool:
        return self.method == "GET"

    @property
    def shape(self) -> answers.Shape:
        """What a success must look like (answers.py): otherwise an `UnexpectedAnswer`."""
        return answers.record if self.returns == "record" else answers.empty

    def batch_entry(self) -> Record:
        """This action as one entry of a /batch request."""
        entry: Record = {"relative_path": self.path, "method": self.method.lower()}
        if self.data:
            entry["data"] = self.data
        if self.fields:
            entry["options"] = {"fields": list(self.fields)}
        return entry


# ---------------------------------------------------------------- builders


def update_task(
    task_gid: str, changes: Mapping[str, Any], *, fields: Fields = TASK_WRITE_FIELDS
) -> Action:
    """``PUT /tasks/{gid}`` with only the fields to change (Asana leaves the others alone)."""
    if not changes:
        raise ValueError("update_task needs at least one field to change")
    return Action("PUT", f"/tasks/{segment(task_gid)}", dict(changes), field_names(fields))


def assign(task_gid: str, assignee: str | None, *, fields: Fields = TASK_WRITE_FIELDS) -> Action:
    """Assign to a user gid, an email or "me"; None unassigns."""
    return update_task(task_gid, {"assignee": assignee}, fields=fields)


def set_due_on(task_gid: str, due_on: date | None, *, fields: Fields = TASK_WRITE_FIELDS) -> Action:
    return update_task(
        task_gid, {"due_on": None if due_on is None else due_on.isoformat()}, fields=fields
    )


def set_custom_fields(
    task_gid: str,
    values: Mapping[str, CustomFieldValue],
    *,
    fields: Fields = TASK_WRITE_FIELDS,
) -> Action:
    """Set custom field values by field gid (enum: the option gid; dates: ``YYYY-MM-DD``)."""
    if not values:
        raise ValueError("set_custom_fields needs at least one value")
    encoded = {gid: _custom_field_value(value) for gid, value in values.items()}
    return update_task(task_gid, {"custom_fields": encoded}, fields=fields)


def add_tag(task_gid: str, tag_gid: str) -> Action:
    return Action("POST", f"/tasks/{segment(task_gid)}/addTag", {"tag": tag_gid}, returns="empty")


def remove_tag(task_gid: str, tag_gid: str) -> Action:
    return Action(
        "POST", f"/tasks/{segment(task_gid)}/removeTag", {"tag": tag_gid}, returns="empty"
    )


def add_followers(
    task_gid: str, followers: Sequence[str], *, fields: Fields = TASK_WRITE_FIELDS
) -> Action:
    """Followers by user gid, email or "me"; adding one already there changes nothing."""
    if isinstance(followers, str) or not followers:
        raise ValueError("followers must be a non-empty sequence of users")
    return Action(
        "POST",
        f"/tasks/{segment(task_gid)}/addFollowers",
        {"followers": list(followers)},
        field_names(fields),
    )


def remove_followers(
    task_gid: str, followers: Sequence[str], *, fields: Fields = TASK_WRITE_FIELDS
) -> Action:
    """Followers by user gid, email or "me"; removing one who does not follow changes nothing."""
    if isinstance(followers, str) or not followers:
        raise ValueError("followers must be a non-empty sequence of users")
    return Action(
        "POST",
        f"/tasks/{segment(task_gid)}/removeFollowers",
        {"followers": list(followers)},
        field_names(fields),
    )


def move_to_section(
    task_gid: str,
    section_gid: str,
    *,
    insert_before: str | None = None,
    insert_after: str | None = None,
) -> Action:
    """Into a section of a project the task is in (it leaves the project's other sections)."""
    if insert_before is not None and insert_after is not None:
        raise ValueError("give insert_before or insert_after, not both")
    data: Record = {"task": task_gid}
    if insert_before is not None:
        data["insert_before"] = insert_before
    if insert_after is not None:
        data["insert_after"] = insert_after
    return Action("POST", f"/sections/{segment(section_gid)}/addTask", data, returns="empty")


def add_project(task_gid: str, project_gid: str, *, section_gid: str | None = None) -> Action:
    """Add the task to a project (at the end of `section_gid` when given)."""
    data: Record = {"project": project_gid}
    if section_gid is not None:
        data["section"] = section_gid
    return Action("POST", f"/tasks/{segment(task_gid)}/addProject", data, returns="empty")


def remove_project(task_gid: str, project_gid: str) -> Action:
    """Take the task out of a project (it stays in its other projects, or in none)."""
    return Action(
        "POST",
        f"/tasks/{segment(task_gid)}/removeProject",
        {"project": project_gid},
        returns="empty",
    )


def comment(
    task_gid: str, text: str, *, pinned: bool = False, html_text: str | None = None
) -> Action:
    """A comment story, authored by the token's user; never posted twice. With `html_text`
    (Asana's rich text, ``<body>...</body>``) that is sent instead of `text`."""
    if not (html_text if html_text is not None else text).strip():
        raise ValueError("a comment needs text")
    data: Record = {"text": text} if html_text is None else {"html_text": html_text}
    if pinned:
        data["is_pinned"] = True
    return Action(
        "POST",
        f"/tasks/{segment(task_gid)}/stories",
        data,
        ("created_at",),
        idempotent=False,
        check=StoryCheck(task_gid, text, html_text),
    )


def create_tag(workspace_gid: str, name: str, *, color: str | None = None) -> Action:
    if not name.strip():
        raise ValueError("a tag needs a name")
    data: Record = {"name": name}
    if color is not None:
        data["color"] = color
    return Action(
        "POST",
        f"/workspaces/{segment(workspace_gid)}/tags",
        data,
        ("name",),
        idempotent=False,
        check=TagCheck(workspace_gid, name),
    )


def create_task(
    name: str,
    *,
    workspace_gid: str | None = None,
    projects: Sequence[str] = (),
    assignee: str | None = None,
    notes: str | None = None,
    due_on: date | None = None,
    tags: Sequence[str] = (),
    followers: Sequence[str] = (),
    custom_fields: Mapping[str, CustomFieldValue] | None = None,
    fields: Fields = ("name", "permalink_url"),
    html_notes: str | None = None,
) -> Action:
    """``POST /tasks``: in `projects`, or in a workspace (then give `workspace_gid`).
    `html_notes` (rich text) and `notes` exclude each other.

    It can be checked for after an ambiguous failure only when it has a project, or an assignee
    and a workspace: otherwise such a failure is reported, not retried.
    """
    if not projects and not workspace_gid:
        raise ValueError("a task is created in projects or in a workspace")
    if notes is not None and html_notes is not None:
        raise ValueError("give notes or html_notes, not both")
    data: Record = {"name": name}
    optional: dict[str, Any] = {
        "workspace": workspace_gid,
        "projects": list(projects) or None,
        "assignee": assignee,
        "notes": notes,
        "html_notes": html_notes,
        "due_on": due_on.isoformat() if due_on else None,
        "tags": list(tags) or None,
        "followers": list(followers) or None,
        "custom_fields": (
            {gid: _custom_field_value(value) for gid, value in custom_fields.items()}
            if custom_fields
            else None
        ),
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    check: TaskCheck | None = None
    if projects:
        check = TaskCheck(name, project_gid=projects[0])
    elif assignee and workspace_gid:
        check = TaskCheck(name, assignee=assignee, workspace_gid=workspace_gid)
    return Action("POST", "/tasks", data, field_names(fields), idempotent=False, check=check)


def status_update(
    parent_gid: str,
    text: str,
    status_type: str,
    *,
    title: str | None = None,
    html_text: str | None = None,
    parent_type: ParentType | None = None,
) -> Action:
    """A status update on a project, portfolio or goal, sent to its followers; never twice.

    Asana requires `text` (with `status_type` and `parent`): it is always sent, and `html_text`
    (rich text) with it when given; a blank `text` beside `html_text` becomes the rich text's
    words. With `html_text` give a `title`: an ambiguous post is then recognised by it, since
    Asana may rewrite the markup. `parent_type` refuses, before anything is sent, a status type
    that parent cannot take (a goal's ``achieved`` on a project, a project's ``on_hold`` on a
    goal); without it only the union of all types is checked."""
    allowed = STATUS_TYPES if parent_type is None else STATUS_TYPES_BY_PARENT.get(parent_type)
    if allowed is None:
        raise ValueError(f"parent_type {parent_type!r}: use project, portfolio or goal")
    if status_type not in allowed:
        kind = "a status update" if parent_type is None else f"a {parent_type} status update"
        raise ValueError(
            f"status_type {status_type!r} is not valid for {kind}: "
            f"use one of {', '.join(sorted(allowed))}"
        )
    if html_text is not None and not (title or "").strip():
        raise ValueError("a rich text status update needs a title")
    if not text.strip() and html_text is not None:
        text = _words(html_text)
    if not text.strip():
        raise ValueError("a status update needs text")
    data: Record = {"parent": parent_gid, "status_type": status_type, "text": text}
    if html_text is not None:
        data["html_text"] = html_text
    if title is not None:
        data["title"] = title
    return Action(
        "POST",
        "/status_updates",
        data,
        ("created_at",),
        idempotent=False,
        check=StatusUpdateCheck(parent_gid, text if html_text is None else "", title),
    )


def get_task(task_gid: str, fields: Fields) -> Action:
    """A read, for batching: ``GET /tasks/{gid}``."""
    return Action("GET", f"/tasks/{segment(task_gid)}", {}, field_names(fields))


# ---------------------------------------------------------------- sending


def send(transport: Transport, action: Action, *, me: Callable[[], str]) -> ApiResponse:
    """Send one action as its own request; `me` gives the token's user gid for checks."""
    params: dict[str, str | int | bool | None] = {}
    if action.fields:
        params["opt_fields"] = join_fields(action.fields)
    body: Record | None = None
    if action.is_read:
        params.update(action.data)
    else:
        body = {"data": action.data}
    check = action.check

    def finder(since: datetime) -> Record | None:
        assert check is not None
        return find_existing(transport, check, since, me=me)

    return transport.request(
        action.method,
        action.path,
        params=params,
        body=body,
        idempotent=action.idempotent,
        find_existing=finder if check is not None else None,
        shape=action.shape,
    )


def find_existing(
    transport: Transport, check: ExistenceCheck, since: datetime, *, me: Callable[[], str]
) -> Record | None:
    """What an ambiguous create made at or after `since`, if Asana has it; else None."""
    if isinstance(check, TagCheck):
        wanted = check.name.casefold()
        tags = pagination.items(
            transport,
            f"/workspaces/{segment(check.workspace_gid)}/tags",
            None,
            ("name",),
            shape=answers.named_page,
        )
        return next((tag for tag in tags if str(tag.get("name", "")).casefold() == wanted), None)
    if isinstance(check, StoryCheck):
        records = pagination.items(
            transport,
            f"/tasks/{segment(check.task_gid)}/stories",
            None,
            ("created_at", "created_by", "resource_subtype", "text")
            + (() if check.html_text is None else ("html_text",)),
        )
        key, text = "text", check.text
        if check.html_text is not None:
            key, text = "html_text", _words(check.html_text)
    elif isinstance(check, StatusUpdateCheck):
        records = pagination.items(
            transport,
            "/status_updates",
            {"parent": check.parent_gid, "created_since": asana_time(since)},
            ("created_at", "created_by", "text" if check.text else "title"),
        )
        key, text = ("text", check.text) if check.text else ("title", check.title or "")
    else:
        params: dict[str, str | int | bool | None] = {"modified_since": asana_time(since)}
        if check.project_gid is not None:
            params["project"] = check.project_gid
        else:
            params["assignee"] = check.assignee
            params["workspace"] = check.workspace_gid
        records = pagination.items(
            transport, "/tasks", params, ("name", "created_at", "created_by")
        )
        key, text = "name", check.name
    my_gid = me()
    found: Record | None = None
    for record in records:  # stories come oldest first: keep the last match
        value = str(record.get(key, ""))
        if (
            (_words(value) if key == "html_text" else value.strip()) == text.strip()
            and _gid(record.get("created_by")) == my_gid
            and _at_or_after(record.get("created_at"), since)
        ):
            found = record
    return found


def _words(html_text: str) -> str:
    """The words of rich text, tags and spacing aside: how a rich text comment is recognised."""
    return " ".join(html.unescape(_TAG.sub(" ", html_text)).split())


def _custom_field_value(value: CustomFieldValue) -> Any:
    if isinstance(value, datetime):
        return asana_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int | float) or value is None:
        return value
    return list(value)


def _gid(reference: object) -> str | None:
    if isinstance(reference, Mapping):
        gid = reference.get("gid")
        return None if gid is None else str(gid)
    return None


def _at_or_after(value: object, since: datetime) -> bool:
    when = time_or_none(value)
    return when is not None and when >= since
