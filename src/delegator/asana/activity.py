"""What people did on one task: its stories, its likes and its subtasks, read together.

Cost (`read_activity`): **one HTTP request**, a ``POST /batch`` of three GETs (three quota
units: Asana charges a batch per action), when the task has at most 100 stories and 100
subtasks:

1. ``GET /tasks/{gid}/stories`` (``limit=100``; created_at, created_by, resource_subtype, type,
   text),
2. ``GET /tasks/{gid}`` (``likes.user``: who liked the task),
3. ``GET /tasks/{gid}/subtasks`` (``limit=100``; completed, completed_at).

Each further page is one more request (``GET`` with the page's offset token, which only Asana's
answer gives, so it cannot be batched with the first): stories up to `MAX_STORY_PAGES` pages in
all, subtasks up to `MAX_SUBTASK_PAGES`. At the bound the worst case is 1 + 2 + 2 = 5 requests
(7 quota units).

Asana lists a task's stories **oldest first** and has no "since" filter, so the bound keeps the
*oldest* ``MAX_STORY_PAGES * 100`` stories: on a task with more, the newest are not read and the
read says ``truncated``. Subtasks past their bound are left out (a task with more than 300
subtasks is not one the follow-up is meant for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

from delegator.asana import answers, pagination
from delegator.asana.batch import action_error
from delegator.asana.errors import UnexpectedAnswer
from delegator.asana.http import Record, Transport, segment
from delegator.asana.pagination import PAGE_LIMIT

#: What a story is read with: who made it, when, what kind, and a comment's words. ``created_by``
#: comes compact (gid, name): the spec's opt_fields enum names no ``created_by.gid``.
STORY_FIELDS: tuple[str, ...] = ("created_at", "created_by", "resource_subtype", "type", "text")
#: Who liked the task: each Like's user, compact (the enum names ``likes.user``, no ``.gid``).
LIKE_FIELDS: tuple[str, ...] = ("likes.user",)
SUBTASK_FIELDS: tuple[str, ...] = ("completed", "completed_at")

#: Pages of 100 stories read at most: the oldest 300 stories of a task.
MAX_STORY_PAGES = 3
#: Pages of 100 subtasks read at most.
MAX_SUBTASK_PAGES = 3


@dataclass(frozen=True)
class ActivityRead:
    """Asana's records for one task's activity, as read."""

    stories: list[Record] = field(default_factory=list)  # oldest first
    likes: list[Record] = field(default_factory=list)  # Like records: {gid, user: {gid...}}
    subtasks: list[Record] = field(default_factory=list)
    truncated: bool = False  # more stories than the bound: the newest were not read
    requests: int = 0


def _get(path: str, fields: tuple[str, ...], *, listing: bool) -> Record:
    options: Record = {"fields": list(fields)}
    if listing:
        options["limit"] = PAGE_LIMIT
    return {"relative_path": path, "method": "get", "options": options}


def read_activity(
    transport: Transport,
    task_gid: str,
    *,
    max_story_pages: int = MAX_STORY_PAGES,
    max_subtask_pages: int = MAX_SUBTASK_PAGES,
) -> ActivityRead:
    """The task's stories (bounded), likes and subtasks; see the module's costs.

    A failed action is raised as its own error (`NotFound` / `Forbidden` for a task deleted or
    hidden), as is a failed batch; an answer not shaped as Asana's is an `UnexpectedAnswer`."""
    if max_story_pages < 1 or max_subtask_pages < 1:
        raise ValueError("at least one page of stories and of subtasks is read")
    task = f"/tasks/{segment(task_gid)}"
    actions = [
        _get(f"{task}/stories", STORY_FIELDS, listing=True),
        _get(task, LIKE_FIELDS, listing=False),
        _get(f"{task}/subtasks", SUBTASK_FIELDS, listing=True),
    ]
    response = transport.request(
        "POST",
        "/batch",
        body={"data": {"actions": actions}},
        idempotent=True,
        reads=len(actions),
        writes=0,
        shape=answers.batch(len(actions)),
    )
    items: list[answers.BatchItem] = response.parsed
    now = transport.clock.now()
    bodies: list[Record] = []
    for action, item in zip(actions, items, strict=True):
        path = str(action["relative_path"])
        if not 200 <= item.status < 300:
            raise action_error(transport, "GET", path, item, now)
        bodies.append(item.body)
    requests = 1
    stories_page = _page("GET", actions[0], bodies[0])
    task_record = _record(actions[1], bodies[1])
    subtasks_page = _page("GET", actions[2], bodies[2])

    stories = list(stories_page.records)
    truncated = False
    if stories_page.next_offset is not None:
        more, sent, truncated = _rest(
            transport, f"{task}/stories", stories_page.next_offset, STORY_FIELDS, max_story_pages
        )
        stories.extend(more)
        requests += sent
    subtasks = list(subtasks_page.records)
    if subtasks_page.next_offset is not None:
        more, sent, _cut = _rest(
            transport,
            f"{task}/subtasks",
            subtasks_page.next_offset,
            SUBTASK_FIELDS,
            max_subtask_pages,
        )
        subtasks.extend(more)
        requests += sent
    likes = task_record.get("likes") or []
    if not isinstance(likes, list):
        raise UnexpectedAnswer("GET", task, 200, f"likes is {answers.kind(likes)}, expected a list")
    return ActivityRead(
        stories=stories,
        likes=[like for like in likes if isinstance(like, dict)],
        subtasks=subtasks,
        truncated=truncated,
        requests=requests,
    )


def _page(method: str, action: Record, body: Record) -> answers.Page:
    try:
        return answers.page(body)
    except answers.WrongShape as wrong:
        raise UnexpectedAnswer(method, str(action["relative_path"]), 200, str(wrong)) from None


def _record(action: Record, body: Record) -> Record:
    try:
        return answers.record(body)
    except answers.WrongShape as wrong:
        raise UnexpectedAnswer("GET", str(action["relative_path"]), 200, str(wrong)) from None


def _rest(
    transport: Transport, path: str, offset: str, fields: tuple[str, ...], max_pages: int
) -> tuple[list[Record], int, bool]:
    """The pages after the first, up to ``max_pages`` in all: (records, requests, cut short)."""
    records: list[Record] = []
    sent = 0
    walk = pagination.pages(transport, path, {"offset": offset}, fields)
    last: answers.Page | None = None
    for response in islice(walk, max_pages - 1):
        sent += 1
        last = pagination.page_of(response)
        records.extend(last.records)
    cut = (last.next_offset is not None) if last is not None else True
    return records, sent, cut


__all__ = [
    "LIKE_FIELDS",
    "MAX_STORY_PAGES",
    "MAX_SUBTASK_PAGES",
    "STORY_FIELDS",
    "SUBTASK_FIELDS",
    "ActivityRead",
    "read_activity",
]
