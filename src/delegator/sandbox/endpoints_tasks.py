"""Tasks: the lists a poller reads, and every write the service makes to a task."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from delegator.sandbox.errors import InvalidRequestError
from delegator.sandbox.records import Project, Section, Tag, Task, User, UserTaskList, Workspace
from delegator.sandbox.routing import Call, Reply, RouteTable
from delegator.sandbox.values import parse_date_param, parse_instant_param

routes = RouteTable()

EXACTLY_ONE: Final = (
    "Must specify exactly one of project, tag, section, user task list, or assignee + workspace"
)
SUBTYPES: Final = ("default_task", "milestone", "approval")
_WRITABLE: Final = frozenset(
    {
        "name",
        "notes",
        "html_notes",
        "assignee",
        "due_on",
        "due_at",
        "start_on",
        "completed",
        "custom_fields",
        "resource_subtype",
        "liked",
    }
)
_CREATE_ONLY: Final = {
    "projects": "addProject / removeProject",
    "memberships": "addProject / removeProject / sections addTask",
    "tags": "addTag / removeTag",
    "followers": "addFollowers / removeFollowers",
    "workspace": "nothing: a task cannot change workspace",
    "parent": "setParent",
}
# Accepted and ignored: fields of Asana's request schema the sandbox does not model.
_IGNORED: Final = frozenset(
    {
        "assignee_section",
        "assignee_status",
        "approval_status",
        "external",
        "start_at",
        "custom_type",
        "custom_type_status_option",
        "gid",
        "resource_type",
    }
)
_TAG = re.compile(r"<[^>]+>")


# ---------------------------------------------------------------------- reading
def _completed_since(call: Call) -> Callable[[Task], bool] | None:
    raw = call.query.get("completed_since")
    if raw is None:
        return None
    if raw == "now":
        return lambda task: not task.completed
    since = parse_instant_param(raw, "completed_since")
    assert since is not None
    return lambda task: (
        not task.completed or (task.completed_at is not None and task.completed_at >= since)
    )


def _listing(call: Call, tasks: Iterable[Task], *, modified_since: bool = False) -> Reply:
    """Tasks filtered by ``completed_since`` (and ``modified_since`` where Asana has it), and by
    what the caller may see (a private project's tasks are left out of a tag's list)."""
    keep = _completed_since(call)
    selected = [
        task for task in call.world.visible_tasks(call.user, tasks) if keep is None or keep(task)
    ]
    if modified_since and "modified_since" in call.query:
        since = parse_instant_param(call.query["modified_since"], "modified_since")
        selected = [task for task in selected if since is None or task.modified_at >= since]
    return call.many(selected)


@routes.get("/tasks")
def get_tasks(call: Call) -> Reply:
    query = call.query
    containers = [key for key in ("project", "section", "tag") if query.get(key)]
    by_assignee = bool(query.get("assignee")) or bool(query.get("workspace"))
    if len(containers) + (1 if by_assignee else 0) != 1:
        raise InvalidRequestError(EXACTLY_ONE)
    tasks: list[Task]
    if containers == ["project"]:
        tasks = call.lookup(query["project"], Project, "project").tasks()
    elif containers == ["section"]:
        tasks = list(call.lookup(query["section"], Section, "section").tasks)
    elif containers == ["tag"]:
        tasks = call.world.tasks_tagged(call.lookup(query["tag"], Tag, "tag"))
    else:
        if not query.get("assignee") or not query.get("workspace"):
            raise InvalidRequestError(EXACTLY_ONE)
        workspace = call.lookup(query["workspace"], Workspace, "workspace")
        assignee = call.world.resolve_user(
            query["assignee"], workspace, me=call.user, param="assignee"
        )
        tasks = call.world.tasks_assigned(assignee, workspace)
    return _listing(call, tasks, modified_since=True)


@routes.get("/projects/{project_gid}/tasks")
def get_project_tasks(call: Call) -> Reply:
    return _listing(call, call.record("project_gid", Project).tasks())


@routes.get("/sections/{section_gid}/tasks")
def get_section_tasks(call: Call) -> Reply:
    return _listing(call, call.record("section_gid", Section).tasks)


@routes.get("/tags/{tag_gid}/tasks")
def get_tag_tasks(call: Call) -> Reply:
    return _listing(call, call.world.tasks_tagged(call.record("tag_gid", Tag)))


@routes.get("/user_task_lists/{user_task_list_gid}/tasks")
def get_user_task_list_tasks(call: Call) -> Reply:
    task_list = call.record("user_task_list_gid", UserTaskList)
    return _listing(call, call.world.tasks_assigned(task_list.owner, task_list.workspace))


@routes.get("/tasks/{task_gid}")
def get_task(call: Call) -> Reply:
    return call.one(call.record("task_gid", Task))


@routes.get("/tasks/{task_gid}/subtasks")
def get_subtasks(call: Call) -> Reply:
    subtasks = call.record("task_gid", Task).subtasks
    return call.many(call.world.visible_tasks(call.user, subtasks))


@routes.delete("/tasks/{task_gid}")
def delete_task(call: Call) -> Reply:
    call.world.delete_task(call.record("task_gid", Task), by=call.user)
    return call.empty()


# ---------------------------------------------------------------------- writing
def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise InvalidRequestError(f"{key}: Not a string: {value!r}")
    return value


def _field_changes(
    call: Call, data: Mapping[str, Any], workspace: Workspace, *, creating: bool
) -> dict[str, Any]:
    """The task fields in a request body, checked and converted for the world."""
    changes: dict[str, Any] = {}
    for key in data:
        if key in _WRITABLE or key in _IGNORED or (creating and key in _CREATE_ONLY):
            continue
        if key in _CREATE_ONLY:
            raise InvalidRequestError(
                f"{key}: Cannot be written on an existing task; use {_CREATE_ONLY[key]}"
            )
        raise InvalidRequestError(f"{key}: Not a writable property of a task")
    if "name" in data:
        changes["name"] = _text(data, "name")
    if "notes" in data and "html_notes" in data:
        raise InvalidRequestError("notes: You may only provide one of notes or html_notes")
    if "notes" in data:
        changes["notes"] = _text(data, "notes")
    if "html_notes" in data:
        changes["notes"] = _TAG.sub("", _text(data, "html_notes"))
    if "assignee" in data:
        ref = data["assignee"]
        if ref is not None and not isinstance(ref, str):
            raise InvalidRequestError(f"assignee: Not a user gid, email or 'me': {ref!r}")
        changes["assignee"] = (
            None
            if ref is None
            else call.world.resolve_user(ref, workspace, me=call.user, param="assignee")
        )
    if data.get("due_on") is not None and data.get("due_at") is not None:
        raise InvalidRequestError("due_on: You may only provide one of due_on or due_at")
    if "due_on" in data:
        changes["due_on"] = parse_date_param(data["due_on"], "due_on")
    if "due_at" in data:
        changes["due_at"] = parse_instant_param(data["due_at"], "due_at")
    if "start_on" in data:
        changes["start_on"] = parse_date_param(data["start_on"], "start_on")
    if "completed" in data:
        if not isinstance(data["completed"], bool):
            raise InvalidRequestError(f"completed: Not a boolean: {data['completed']!r}")
        changes["completed"] = data["completed"]
    if "resource_subtype" in data:
        if data["resource_subtype"] not in SUBTYPES:
            raise InvalidRequestError(
                f"resource_subtype: Must be one of {', '.join(SUBTYPES)}, "
                f"got {data['resource_subtype']!r}"
            )
        changes["resource_subtype"] = data["resource_subtype"]
    if data.get("custom_fields") is not None:
        if not isinstance(data["custom_fields"], Mapping):
            raise InvalidRequestError("custom_fields: An object of custom field gid to value")
        if data["custom_fields"]:
            call.world.require_premium(workspace, "Custom fields")
        changes["custom_fields"] = {str(k): v for k, v in data["custom_fields"].items()}
    return changes


def _liked(data: Mapping[str, Any]) -> bool | None:
    """The caller's like (TaskRequest's ``liked``), or None when the body does not say."""
    if "liked" not in data:
        return None
    if not isinstance(data["liked"], bool):
        raise InvalidRequestError(f"liked: Not a boolean: {data['liked']!r}")
    return data["liked"]


@routes.put("/tasks/{task_gid}")
def update_task(call: Call) -> Reply:
    task = call.record("task_gid", Task)
    data = call.data()
    changes = _field_changes(call, data, task.workspace, creating=False)
    liked = _liked(data)
    call.world.update_task(task, by=call.user, custom_field_names=False, **changes)
    if liked is not None:
        call.world.like(task, by=call.user, liked=liked)
    return call.one(task)


def _gids(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestError(f"{key}: An array of gids")
    return value


@routes.post("/tasks")
def create_task(call: Call) -> Reply:
    data = call.data()
    memberships: list[tuple[Project, Section | None]] = [
        (call.lookup(gid, Project, "projects"), None) for gid in _gids(data, "projects")
    ]
    raw_memberships = data.get("memberships") or []
    if not isinstance(raw_memberships, list):
        raise InvalidRequestError("memberships: An array of {project, section}")
    for entry in raw_memberships:
        if not isinstance(entry, Mapping):
            raise InvalidRequestError("memberships: An array of {project, section}")
        project = call.lookup(entry.get("project"), Project, "memberships.project")
        section = (
            call.lookup(entry["section"], Section, "memberships.section")
            if entry.get("section")
            else None
        )
        if section is not None and section.project is not project:
            raise InvalidRequestError(
                f"memberships.section: Section {section.gid} is not in project {project.gid}"
            )
        memberships = [(p, s) for p, s in memberships if p is not project]
        memberships.append((project, section))
    parent = call.lookup(data["parent"], Task, "parent") if data.get("parent") else None
    workspace: Workspace | None = None
    if data.get("workspace"):
        workspace = call.lookup(data["workspace"], Workspace, "workspace")
    candidates = [p.workspace for p, _ in memberships] + ([parent.workspace] if parent else [])
    if workspace is None and candidates:
        workspace = candidates[0]
    if workspace is None:
        raise InvalidRequestError(
            "workspace: Missing input. You should specify one of workspace, parent, projects"
        )
    if any(candidate is not workspace for candidate in candidates):
        raise InvalidRequestError("workspace: The projects and parent must be in the workspace")
    changes = _field_changes(call, data, workspace, creating=True)
    liked = _liked(data)
    if "name" not in changes:
        changes["name"] = ""
    completed = changes.pop("completed", False)
    task = call.world.create_task(
        workspace,
        by=call.user,
        memberships=memberships,
        tags=[call.lookup(gid, Tag, "tags") for gid in _gids(data, "tags")],
        followers=_users(call, data.get("followers") or [], workspace, "followers"),
        parent=parent,
        custom_field_names=False,
        completed=completed,
        **changes,
    )
    if liked:
        call.world.like(task, by=call.user)
    return call.one(task, status=201)


def _users(call: Call, refs: Any, workspace: Workspace, param: str) -> list[User]:
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        raise InvalidRequestError(f"{param}: An array of user gids, emails or 'me'")
    return [call.world.resolve_user(ref, workspace, me=call.user, param=param) for ref in refs]


@routes.post("/tasks/{task_gid}/addTag")
def add_tag(call: Call) -> Reply:
    task = call.record("task_gid", Task)
    call.world.add_tag(task, call.lookup(call.data().get("tag"), Tag, "tag"), by=call.user)
    return call.empty()


@routes.post("/tasks/{task_gid}/removeTag")
def remove_tag(call: Call) -> Reply:
    task = call.record("task_gid", Task)
    call.world.remove_tag(task, call.lookup(call.data().get("tag"), Tag, "tag"), by=call.user)
    return call.empty()


@routes.post("/tasks/{task_gid}/addFollowers")
def add_followers(call: Call) -> Reply:
    task = call.record("task_gid", Task)
    refs = call.data().get("followers")
    if refs is None:
        raise InvalidRequestError("followers: Missing input")
    call.world.add_followers(task, _users(call, refs, task.workspace, "followers"), by=call.user)
    return call.one(task)


@routes.post("/tasks/{task_gid}/removeFollowers")
def remove_followers(call: Call) -> Reply:
    task = call.record("task_gid", Task)
    refs = call.data().get("followers")
    if refs is None:
        raise InvalidRequestError("followers: Missing input")
    users = _users(call, refs, task.workspace, "followers")
    call.world.remove_followers(task, users, by=call.user)
    return call.one(task)


def _anchor(call: Call, data: Mapping[str, Any], key: str) -> Task | None:
    return call.lookup(data[key], Task, key) if data.get(key) else None


@routes.post("/tasks/{task_gid}/addProject")
def add_project(call: Call) -> Reply:
    task = call.record("task_gid", Task)
    data = call.data()
    if data.get("insert_before") and data.get("insert_after"):
        raise InvalidRequestError(
            "insert_before: You may only provide one of insert_before or insert_after"
        )
    project = call.lookup(data.get("project"), Project, "project")
    section = call.lookup(data["section"], Section, "section") if data.get("section") else None
    before, after = _anchor(call, data, "insert_before"), _anchor(call, data, "insert_after")
    if section is not None and "insert_after" in data and data["insert_after"] is None:
        # Asana: `section` with `insert_after: null` puts the task at the top of the section.
        call.world.move_to_section(task, section, by=call.user)
    else:
        call.world.add_to_project(
            task, project, section=section, insert_before=before, insert_after=after, by=call.user
        )
    return call.empty()


@routes.post("/tasks/{task_gid}/removeProject")
def remove_project(call: Call) -> Reply:
    task = call.record("task_gid", Task)
    call.world.remove_from_project(
        task, call.lookup(call.data().get("project"), Project, "project"), by=call.user
    )
    return call.empty()


@routes.post("/sections/{section_gid}/addTask")
def add_task_to_section(call: Call) -> Reply:
    section = call.record("section_gid", Section)
    data = call.data()
    if data.get("insert_before") and data.get("insert_after"):
        raise InvalidRequestError(
            "insert_before: You may only provide one of insert_before or insert_after"
        )
    task = call.lookup(data.get("task"), Task, "task")
    call.world.move_to_section(
        task,
        section,
        insert_before=_anchor(call, data, "insert_before"),
        insert_after=_anchor(call, data, "insert_after"),
        by=call.user,
    )
    return call.empty()
