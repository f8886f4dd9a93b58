"""Who and where: users, workspaces, projects, sections, tags, custom fields, "My Tasks" lists."""

from __future__ import annotations

from typing import Any

from delegator.sandbox.errors import InvalidRequestError
from delegator.sandbox.records import (
    CustomField,
    Project,
    Section,
    Tag,
    User,
    UserTaskList,
    Workspace,
)
from delegator.sandbox.routing import Call, Reply, RouteTable

routes = RouteTable()


# ---------------------------------------------------------------------- users and workspaces
def _user(call: Call, ref: str, param: str) -> User:
    if ref == "me":
        return call.user
    if "@" in ref:
        for candidate in call.world.users():
            if candidate.email.casefold() == ref.casefold():
                call.world.check_access(call.user, candidate)
                return candidate
        raise InvalidRequestError(f"{param}: Unknown user: {ref}")
    return call.lookup(ref, User, param)


@routes.get("/users/{user_gid}")
def get_user(call: Call) -> Reply:
    return call.one(_user(call, call.params["user_gid"], "user"))


@routes.get("/users")
def get_users(call: Call) -> Reply:
    workspace_gid = call.query.get("workspace")
    if workspace_gid:
        return call.many(list(call.lookup(workspace_gid, Workspace, "workspace").users))
    seen: dict[str, User] = {}
    for workspace in call.user.workspaces:
        for user in workspace.users:
            seen.setdefault(user.gid, user)
    return call.many(list(seen.values()))


@routes.get("/workspaces")
def get_workspaces(call: Call) -> Reply:
    return call.many(list(call.user.workspaces))


@routes.get("/workspaces/{workspace_gid}")
def get_workspace(call: Call) -> Reply:
    return call.one(call.record("workspace_gid", Workspace))


@routes.get("/workspaces/{workspace_gid}/users")
def get_workspace_users(call: Call) -> Reply:
    return call.many(list(call.record("workspace_gid", Workspace).users))


@routes.get("/users/{user_gid}/user_task_list")
def get_user_task_list(call: Call) -> Reply:
    user = _user(call, call.params["user_gid"], "user")
    workspace = call.lookup(call.required("workspace"), Workspace, "workspace")
    if workspace not in user.workspaces:
        raise InvalidRequestError(
            f"user: User {user.gid} is not a member of workspace {workspace.gid}"
        )
    return call.one(call.world.user_task_list(user, workspace))


@routes.get("/user_task_lists/{user_task_list_gid}")
def get_user_task_list_by_gid(call: Call) -> Reply:
    return call.one(call.record("user_task_list_gid", UserTaskList))


# ---------------------------------------------------------------------- projects and sections
def _projects(call: Call, workspaces: list[Workspace]) -> Reply:
    archived = call.query.get("archived")
    if archived not in (None, "true", "false"):
        raise InvalidRequestError(f"archived: Not a boolean: {archived}")
    projects = [
        project
        for workspace in workspaces
        for project in workspace.projects
        if (archived is None or project.archived == (archived == "true"))
        and call.world.can_see_project(call.user, project)
    ]
    return call.many(projects)


@routes.get("/projects")
def get_projects(call: Call) -> Reply:
    workspace_gid = call.query.get("workspace")
    if workspace_gid:
        return _projects(call, [call.lookup(workspace_gid, Workspace, "workspace")])
    return _projects(call, list(call.user.workspaces))


@routes.get("/workspaces/{workspace_gid}/projects")
def get_workspace_projects(call: Call) -> Reply:
    return _projects(call, [call.record("workspace_gid", Workspace)])


@routes.get("/projects/{project_gid}")
def get_project(call: Call) -> Reply:
    return call.one(call.record("project_gid", Project))


@routes.get("/projects/{project_gid}/sections")
def get_sections(call: Call) -> Reply:
    return call.many(list(call.record("project_gid", Project).sections))


@routes.get("/sections/{section_gid}")
def get_section(call: Call) -> Reply:
    return call.one(call.record("section_gid", Section))


@routes.get("/projects/{project_gid}/custom_field_settings")
def get_custom_field_settings(call: Call) -> Reply:
    return call.many(list(call.record("project_gid", Project).custom_field_settings))


@routes.get("/workspaces/{workspace_gid}/custom_fields")
def get_workspace_custom_fields(call: Call) -> Reply:
    return call.many(list(call.record("workspace_gid", Workspace).custom_fields))


@routes.get("/custom_fields/{custom_field_gid}")
def get_custom_field(call: Call) -> Reply:
    return call.one(call.record("custom_field_gid", CustomField))


# ---------------------------------------------------------------------- tags
@routes.get("/tags")
def get_tags(call: Call) -> Reply:
    workspace_gid = call.query.get("workspace")
    workspaces = (
        [call.lookup(workspace_gid, Workspace, "workspace")]
        if workspace_gid
        else list(call.user.workspaces)
    )
    return call.many([tag for workspace in workspaces for tag in workspace.tags])


@routes.get("/workspaces/{workspace_gid}/tags")
def get_workspace_tags(call: Call) -> Reply:
    return call.many(list(call.record("workspace_gid", Workspace).tags))


@routes.get("/tags/{tag_gid}")
def get_tag(call: Call) -> Reply:
    return call.one(call.record("tag_gid", Tag))


def _create_tag(call: Call, workspace: Workspace, data: Any) -> Reply:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError("name: Missing input")
    color = data.get("color")
    if color is not None and not isinstance(color, str):
        raise InvalidRequestError(f"color: Not a valid color: {color!r}")
    tag = call.world.create_tag(
        workspace, name, by=call.user, color=color, notes=str(data.get("notes") or "")
    )
    for ref in data.get("followers") or []:
        follower = call.world.resolve_user(str(ref), workspace, me=call.user, param="followers")
        if follower not in tag.followers:
            tag.followers.append(follower)
    return call.one(tag, status=201)


@routes.post("/tags")
def create_tag(call: Call) -> Reply:
    data = call.data()
    workspace = call.lookup(data.get("workspace"), Workspace, "workspace")
    return _create_tag(call, workspace, data)


@routes.post("/workspaces/{workspace_gid}/tags")
def create_workspace_tag(call: Call) -> Reply:
    return _create_tag(call, call.record("workspace_gid", Workspace), call.data())
