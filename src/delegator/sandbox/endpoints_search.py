"""Finding things in a workspace: the task search API (premium) and the typeahead.

``GET /workspaces/{workspace_gid}/tasks/search`` as Asana's spec has it: premium only (402 in a
free workspace), 60 requests a minute besides the token's quota (see faults.py), no offset
pagination (at most ``limit`` results, 1..100, 20 without it, and never a ``next_page``), sorted
by ``sort_by`` (default ``modified_at``), newest first unless ``sort_ascending=true``. Filters
modelled: ``text``, ``resource_subtype``, ``assignee.any`` (gids, emails, ``me``, ``null``),
``projects.any``, ``sections.any``, ``tags.any``, ``modified_at.after``, ``created_at.after``,
``completed``, ``is_subtask``. Any other filter is refused with 400 rather than ignored, so a
client never mistakes an unfiltered answer for a filtered one. Results are exact at once: Asana's
10 to 60 seconds of indexing delay is not modelled.

``GET /workspaces/{workspace_gid}/typeahead?resource_type=user&query=&count=``: compact records
whose name (or a user's email) has a word starting with ``query``, at most ``count`` (1..100,
default 20); ``resource_type`` is ``user``, ``project``, ``tag``, ``task`` or ``custom_field``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from delegator.sandbox.errors import InvalidRequestError
from delegator.sandbox.records import Node, Task, Workspace
from delegator.sandbox.render import render_many
from delegator.sandbox.routing import Call, Reply, RouteTable
from delegator.sandbox.values import parse_instant_param

routes = RouteTable()

SEARCH: Final = "/workspaces/{workspace_gid}/tasks/search"
TYPEAHEAD: Final = "/workspaces/{workspace_gid}/typeahead"
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100
SORTS: Final = ("due_date", "created_at", "completed_at", "likes", "modified_at", "relevance")
TYPEAHEAD_TYPES: Final = (
    "actor",
    "agent",
    "custom_field",
    "goal",
    "project",
    "project_template",
    "portfolio",
    "tag",
    "task",
    "team",
    "user",
)
_NOT_FILTERS: Final = frozenset(
    {"limit", "offset", "opt_fields", "opt_pretty", "sort_by", "sort_ascending"}
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _count(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequestError(f"{name}: Not a valid integer: {raw}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidRequestError(f"{name}: Must be between 1 and {MAX_LIMIT}, got {value}")
    return value


def _boolean(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise InvalidRequestError(f"{name}: Not a boolean: {raw}")
    return raw == "true"


def _gids(query: Mapping[str, str], name: str) -> set[str]:
    gids = {part.strip() for part in query[name].split(",") if part.strip()}
    for gid in gids:
        if not gid.isdigit():
            raise InvalidRequestError(f"{name}: Not a valid GID: {gid}")
    return gids


def _instant(query: Mapping[str, str], name: str) -> datetime | None:
    return parse_instant_param(query[name], name) if query.get(name) else None


def _assignees(call: Call, workspace: Workspace) -> tuple[set[str], bool]:
    """The gids named by ``assignee.any``, and whether ``null`` (unassigned) is among them."""
    refs = [part.strip() for part in call.query["assignee.any"].split(",") if part.strip()]
    gids = {
        call.world.resolve_user(ref, workspace, me=call.user, param="assignee.any").gid
        for ref in refs
        if ref != "null"
    }
    return gids, "null" in refs


def _filters(call: Call, workspace: Workspace) -> list[Callable[[Task], bool]]:
    query = call.query
    unknown = sorted(set(query) - _NOT_FILTERS - _FILTERS)
    if unknown:
        raise InvalidRequestError(
            f"{unknown[0]}: This search filter is not modelled by the sandbox (it has: "
            f"{', '.join(sorted(_FILTERS))})"
        )
    keep: list[Callable[[Task], bool]] = []
    if query.get("text"):
        text = query["text"].casefold()
        keep.append(lambda t: text in t.name.casefold() or text in t.notes.casefold())
    if query.get("resource_subtype"):
        subtype = query["resource_subtype"]
        keep.append(lambda t: t.resource_subtype == subtype)
    if "assignee.any" in query:
        users, unassigned = _assignees(call, workspace)
        keep.append(
            lambda t: (
                (t.assignee is None and unassigned)
                or (t.assignee is not None and t.assignee.gid in users)
            )
        )
    if "projects.any" in query:
        projects = _gids(query, "projects.any")
        keep.append(lambda t: any(p.gid in projects for p in t.projects))
    if "sections.any" in query:
        sections = _gids(query, "sections.any")
        keep.append(lambda t: any(m.section.gid in sections for m in t.memberships))
    if "tags.any" in query:
        tags = _gids(query, "tags.any")
        keep.append(lambda t: any(tag.gid in tags for tag in t.tags))
    modified_after = _instant(query, "modified_at.after")
    if modified_after is not None:
        keep.append(lambda t: t.modified_at > modified_after)
    created_after = _instant(query, "created_at.after")
    if created_after is not None:
        keep.append(lambda t: t.created_at > created_after)
    completed = _boolean(query, "completed")
    if completed is not None:
        keep.append(lambda t: t.completed == completed)
    is_subtask = _boolean(query, "is_subtask")
    if is_subtask is not None:
        keep.append(lambda t: (t.parent is not None) == is_subtask)
    return keep


_FILTERS: Final = frozenset(
    {
        "text",
        "resource_subtype",
        "assignee.any",
        "projects.any",
        "sections.any",
        "tags.any",
        "modified_at.after",
        "created_at.after",
        "completed",
        "is_subtask",
    }
)


def _sort_key(sort_by: str) -> Callable[[Task], Any]:
    if sort_by == "created_at":
        return lambda t: t.created_at
    if sort_by == "completed_at":
        return lambda t: t.completed_at or _EPOCH
    if sort_by == "due_date":
        return lambda t: (t.due_on is not None, t.due_on.isoformat() if t.due_on else "")
    return lambda t: t.modified_at  # modified_at; likes and relevance: no signal to sort on


@routes.get(SEARCH)
def search_tasks(call: Call) -> Reply:
    workspace = call.record("workspace_gid", Workspace)
    call.world.require_premium(workspace, "Search")
    sort_by = call.query.get("sort_by") or "modified_at"
    if sort_by not in SORTS:
        raise InvalidRequestError(f"sort_by: Must be one of {', '.join(SORTS)}, got {sort_by}")
    ascending = _boolean(call.query, "sort_ascending") or False
    limit = _count(call.query, "limit", DEFAULT_LIMIT)
    keep = _filters(call, workspace)
    found = [
        task
        for task in call.world.all_tasks()
        if task.workspace is workspace
        and all(test(task) for test in keep)
        and call.world.can_see_task(call.user, task)
    ]
    found.sort(key=lambda t: t.gid, reverse=not ascending)  # a stable order among equal keys
    found.sort(key=_sort_key(sort_by), reverse=not ascending)
    return Reply(200, {"data": render_many(found[:limit], call.fields)})


# ---------------------------------------------------------------------- typeahead
def _words(*texts: str) -> list[str]:
    return [word for text in texts for word in text.casefold().replace("@", " ").split()]


def _matches(query: str, *texts: str) -> bool:
    if not query:
        return True
    return any(text.casefold().startswith(query) for text in texts) or any(
        word.startswith(query) for word in _words(*texts)
    )


def _candidates(
    call: Call, workspace: Workspace, kind: str
) -> Iterable[tuple[Node, tuple[str, ...]]]:
    world, user = call.world, call.user
    if kind == "user":
        return ((u, (u.name, u.email)) for u in workspace.users)
    if kind == "project":
        return ((p, (p.name,)) for p in workspace.projects if world.can_see_project(user, p))
    if kind == "tag":
        return ((t, (t.name,)) for t in workspace.tags)
    if kind == "custom_field":
        return ((f, (f.name,)) for f in workspace.custom_fields)
    if kind == "task":
        tasks = [
            t for t in world.all_tasks() if t.workspace is workspace and world.can_see_task(user, t)
        ]
        tasks.sort(key=lambda t: user not in t.followers)  # followed tasks first
        return ((t, (t.name,)) for t in tasks)
    return ()


@routes.get(TYPEAHEAD)
def typeahead(call: Call) -> Reply:
    workspace = call.record("workspace_gid", Workspace)
    kind = call.query.get("resource_type") or call.query.get("type")
    if not kind:
        raise InvalidRequestError("resource_type: Missing input")
    if kind not in TYPEAHEAD_TYPES:
        raise InvalidRequestError(
            f"resource_type: Must be one of {', '.join(TYPEAHEAD_TYPES)}, got {kind}"
        )
    count = _count(call.query, "count", DEFAULT_LIMIT)
    query = (call.query.get("query") or "").strip().casefold()
    found: list[Node] = []
    for record, texts in _candidates(call, workspace, kind):
        if _matches(query, *texts):
            found.append(record)
            if len(found) == count:
                break
    return Reply(200, {"data": render_many(found, call.fields)})
