"""Reading the watched sources: incremental by `modified_since`, whole for reconciling.

Costs (requests, at 100 tasks a page):

* incremental (`changes_listing`): ``GET /tasks?project=|section=|assignee=&workspace=`` with
  `modified_since`: 1 request when nothing changed, 1 per 100 changed tasks otherwise.
* a tag source, incremental: ``GET /tasks`` has no tag filter, so Asana's search API is asked
  (`search_changes`: ``GET /workspaces/{gid}/tasks/search?tags.any=&modified_at.after=``,
  sorted by modified_at): 1 request when idle. It is premium-only: a free workspace answers 402,
  which is remembered (`SyncPosition.search`), and there the tag is read only whole, at the
  reconcile interval, the idle cycles between costing nothing. Search is eventually consistent
  (10-60 s) and has its own limit (60/min): its high-water mark keeps a longer overlap and its
  requests also spend a separate search budget.
* whole (`whole_listing`): ``GET /projects/{gid}/tasks``, ``/sections/{gid}/tasks``,
  ``/tags/{gid}/tasks`` or ``/user_task_lists/{gid}/tasks`` (plus one ``GET
  /users/{gid}/user_task_list`` per user, cached by the client): 1 per 100 tasks. Needed
  periodically because time-based conditions change without edits and a task that left a
  section or project does not show in the incremental read of it.

The high-water mark is Asana's own clock (the Date header of the first page) minus an
overlap, because `modified_since` is compared with Asana's `modified_at`, not with ours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from delegator.asana import answers, pagination
from delegator.asana.budget import Budget
from delegator.asana.errors import PaymentRequired, UnexpectedAnswer
from delegator.asana.http import Fields, Record, Transport, field_names, join_fields, segment
from delegator.asana.sources import (
    Source,
    SourceKind,
    SourceRead,
    SyncPosition,
)

#: Looks up (and caches) the gid of a user's task list in a workspace.
UserTaskLists = Callable[[str, str], str]

#: Asana's largest page, for the search API too.
SEARCH_PAGE = 100

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchState:
    """Where a tag source is searched, and whether search works there (None: not tried yet)."""

    workspace_gid: str
    available: bool | None = None


def asana_time(when: datetime) -> str:
    """An aware datetime as Asana writes them: ``2026-11-27T09:30:00.000Z``."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when.isoformat()}: time must be timezone-aware")
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_asana_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def time_or_none(value: object) -> datetime | None:
    """A time from an answer, or None when it is not one (not a string, not ISO 8601, naive)."""
    if not isinstance(value, str):
        return None
    try:
        when = parse_asana_time(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def user_task_list_gid(transport: Transport, user_gid: str, workspace_gid: str) -> str:
    """``GET /users/{gid}/user_task_list?workspace=``: the gid of the user's My Tasks list."""
    response = transport.request(
        "GET",
        f"/users/{segment(user_gid)}/user_task_list",
        params={"workspace": workspace_gid, "opt_fields": "name"},
        shape=answers.record,
    )
    return str(response.parsed["gid"])


@dataclass(frozen=True)
class Listing:
    """Where a set of tasks is read from, and what this side must filter or add."""

    path: str
    params: dict[str, str | int | bool | None]
    extra_fields: tuple[str, ...] = ()  # fields the filter below needs
    keep: Callable[[Record], bool] | None = None  # a filter Asana cannot apply for us


@dataclass(frozen=True)
class Fetched:
    tasks: list[Record]
    requests: int  # pages fetched
    server_time: datetime | None  # Date header of the first page


def changes_listing(source: Source, since: datetime) -> Listing:
    """Tasks of `source` modified at or after `since`, completed ones included."""
    if source.kind is SourceKind.TAG:
        # GET /tasks has no tag filter: read the tag whole and keep what changed.
        return Listing(
            f"/tags/{segment(source.gid)}/tasks",
            {},
            extra_fields=("modified_at",),
            keep=lambda task: _modified_at_or_after(task, since),
        )
    params: dict[str, str | int | bool | None] = {"modified_since": asana_time(since)}
    if source.kind is SourceKind.PROJECT:
        params["project"] = source.gid
    elif source.kind is SourceKind.SECTION:
        params["section"] = source.gid
    else:
        params["assignee"] = source.gid
        params["workspace"] = source.workspace_gid
    return Listing("/tasks", params)


def whole_listing(
    source: Source, *, user_task_lists: UserTaskLists, include_completed: bool = False
) -> Listing:
    """Every task of `source`; only the incomplete ones unless `include_completed`."""
    params: dict[str, str | int | bool | None] = {}
    if not include_completed:
        params["completed_since"] = "now"  # Asana: the tasks that are incomplete now
    if source.kind is SourceKind.PROJECT:
        return Listing(f"/projects/{segment(source.gid)}/tasks", params)
    if source.kind is SourceKind.SECTION:
        return Listing(f"/sections/{segment(source.gid)}/tasks", params)
    if source.kind is SourceKind.TAG:
        # This endpoint takes no completed_since: filter here.
        if include_completed:
            return Listing(f"/tags/{segment(source.gid)}/tasks", {})
        return Listing(
            f"/tags/{segment(source.gid)}/tasks",
            {},
            extra_fields=("completed",),
            keep=lambda task: not task.get("completed"),
        )
    assert source.workspace_gid is not None
    list_gid = user_task_lists(source.gid, source.workspace_gid)
    return Listing(f"/user_task_lists/{segment(list_gid)}/tasks", params)


def iterate(transport: Transport, listing: Listing, fields: Fields) -> Iterator[Record]:
    """The listing's tasks, lazily, page by page."""
    tasks = pagination.items(transport, listing.path, listing.params, _with(fields, listing))
    if listing.keep is None:
        return tasks
    return filter(listing.keep, tasks)


def fetch(transport: Transport, listing: Listing, fields: Fields) -> Fetched:
    """The listing's tasks, all pages read, with the request count and Asana's time."""
    tasks: list[Record] = []
    count = 0
    server_time: datetime | None = None
    for page in pagination.pages(transport, listing.path, listing.params, _with(fields, listing)):
        count += 1
        server_time = server_time or page.server_time
        tasks.extend(pagination.page_of(page).records)
    if listing.keep is not None:
        tasks = [task for task in tasks if listing.keep(task)]
    return Fetched(tasks, count, server_time)


def search_changes(
    transport: Transport,
    workspace_gid: str,
    tag_gid: str,
    since: datetime,
    fields: Fields,
    *,
    budget: Budget | None = None,
    max_pages: int = 50,
) -> Fetched:
    """Tasks with the tag modified after `since`, through the search API, oldest change first.

    Search has no offset pagination: a full page is followed by the same query from the last
    task's modified_at (1 ms earlier, so tasks changed in the same instant are not lost; tasks
    seen twice are kept once). `budget` is the search API's own quota (60/min), spent too.
    """
    path = f"/workspaces/{segment(workspace_gid)}/tasks/search"
    opt_fields = join_fields((*field_names(fields), "modified_at"))
    found: dict[str, Record] = {}
    after = since
    last_seen: datetime | None = None
    count = 0
    server_time: datetime | None = None
    for _ in range(max_pages):
        params: dict[str, str | int | bool | None] = {
            "tags.any": tag_gid,
            "modified_at.after": asana_time(after),
            "sort_by": "modified_at",
            "sort_ascending": True,
            "opt_fields": opt_fields,
            "limit": SEARCH_PAGE,
        }
        if budget is not None:
            budget.take(1)
        response = transport.request("GET", path, params=params, shape=answers.page)
        count += 1
        server_time = server_time or response.server_time
        page = pagination.page_of(response).records
        for task in page:
            found[str(task.get("gid"))] = task
        if len(page) < SEARCH_PAGE:
            break
        last = time_or_none(page[-1].get("modified_at"))
        if last is None:
            # The next query starts from this time: without it the rest would be lost unseen.
            raise UnexpectedAnswer(
                "GET", path, response.status, f"data[{len(page) - 1}].modified_at is not a time"
            )
        if last_seen is not None and last <= last_seen:
            # A whole page changed in one instant: the next query would return it again.
            log.warning("asana_search_stuck", extra={"endpoint": "/workspaces/{gid}/tasks/search"})
            break
        last_seen = last
        after = last - timedelta(milliseconds=1)
    return Fetched(list(found.values()), count, server_time)


def read_source(
    transport: Transport,
    position: SyncPosition,
    fields: Fields,
    *,
    user_task_lists: UserTaskLists,
    reconcile_every: timedelta | None,
    overlap: timedelta,
    force_full: bool = False,
    search: SearchState | None = None,
    search_overlap: timedelta = timedelta(seconds=60),
    search_budget: Budget | None = None,
) -> SourceRead:
    """One cycle's read of a source: incremental, or whole when due (never read, or reconcile).

    A tag source with a `search` state is read incrementally through the search API (1 request
    when idle); where search answered 402 (a free workspace) its incremental reads cost nothing
    and return nothing: the tag is read whole at the reconcile interval only.
    """
    started = transport.clock.now()
    full = (
        force_full
        or position.high_water is None
        or position.last_full_read is None
        or (reconcile_every is not None and started - position.last_full_read >= reconcile_every)
    )
    if not full and search is not None and position.source.kind is SourceKind.TAG:
        return _search_tag(
            transport, position, fields, search, search_overlap, search_budget, started
        )
    if full:
        listing = whole_listing(position.source, user_task_lists=user_task_lists)
    else:
        assert position.high_water is not None
        listing = changes_listing(position.source, position.high_water)
    fetched = fetch(transport, listing, fields)
    read_at = fetched.server_time or started
    high_water = read_at - overlap
    if position.high_water is not None and not full:
        high_water = max(high_water, position.high_water)  # a skewed clock never moves it back
    new_position = SyncPosition(
        source=position.source,
        high_water=high_water,
        last_full_read=read_at if full else position.last_full_read,
        search=position.search if search is None else search.available,
    )
    return SourceRead(
        tasks=fetched.tasks, position=new_position, full=full, requests=fetched.requests
    )


def _search_tag(
    transport: Transport,
    position: SyncPosition,
    fields: Fields,
    search: SearchState,
    overlap: timedelta,
    budget: Budget | None,
    started: datetime,
) -> SourceRead:
    assert position.high_water is not None
    if search.available is False:
        # A free workspace: nothing until the reconcile interval's whole read.
        return SourceRead(
            tasks=[], position=replace(position, search=False), full=False, requests=0
        )
    try:
        fetched = search_changes(
            transport,
            search.workspace_gid,
            position.source.gid,
            position.high_water,
            fields,
            budget=budget,
        )
    except PaymentRequired:
        log.info(
            "asana_search_unavailable",
            extra={"workspace": search.workspace_gid, "fallback": "whole read at reconcile"},
        )
        return SourceRead(
            tasks=[], position=replace(position, search=False), full=False, requests=1
        )
    read_at = fetched.server_time or started
    # Search is eventually consistent (10-60 s): the mark stays `overlap` behind Asana's clock.
    high_water = max(read_at - overlap, position.high_water)
    new_position = replace(position, high_water=high_water, search=True)
    return SourceRead(
        tasks=fetched.tasks, position=new_position, full=False, requests=fetched.requests
    )


def _with(fields: Fields, listing: Listing) -> tuple[str, ...]:
    return (*field_names(fields), *listing.extra_fields)


def _modified_at_or_after(task: Record, since: datetime) -> bool:
    when = time_or_none(task.get("modified_at"))
    if when is None:
        return True  # unknown: let the caller look at it (the mapping reports a bad time)
    return when >= since
