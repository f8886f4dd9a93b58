"""What the owner handed off by hand, and what she kept: `ports.HistorySource` over Asana.

Asana's audit log API would say who assigned what, but it is for Enterprise+ workspaces only;
the task's stories say it too, on every plan: an ``assigned`` story (``resource_subtype``
``assigned``) names the person given the task (``assignee``), who did it (``created_by``) and
when (``created_at``).

What is read, for the owner and each assistant of the client file:

1. the person, by email or gid (``GET /users/{user}`` through the client's user cache: one
   request per person at most; ``owner: me`` is ``GET /users/me``);
2. the tasks assigned to them in the workspace, completed since ``since`` or still open:
   ``GET /tasks?assignee=..&workspace=..&completed_since=..`` (pages of 100; at most
   ``max_tasks`` tasks per person, default `MAX_TASKS`: the rest are not read and the person
   is named in ``truncated``);
3. for the assistants' tasks only, the first page of each task's stories (100, oldest first),
   ten tasks per ``POST /batch``: a task is *handed off by hand* when its latest ``assigned``
   story gave it to that assistant, was made by the owner and is dated within ``since``. A task
   with more than 100 stories whose first page has no such story is left out (not guessed).

The owner's tasks that she completed within ``since`` are the counter-examples (*kept*). Tasks
the service delegated itself (``exclude``: the store's journal and delegations) are left out of
both.

Worst case, for A assistants and M = ``max_tasks``: people 1 + A requests; task lists
(1 + A) x ceil(M / 100) requests; stories A x ceil(M / 10) batch requests holding A x M
actions. In quota units (one per request, one per action of a batch): (1 + A) x (1 +
ceil(M / 100)) + A x M. With the defaults and two assistants: 3 + 15 + 100 = 118 requests,
3 + 15 + 1000 = 1018 units (`worst_case`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from delegator.asana import answers, errors
from delegator.asana.backend import backend_error
from delegator.asana.batch import action_error
from delegator.asana.client import AsanaClient
from delegator.asana.errors import AsanaError, UnexpectedAnswer
from delegator.asana.http import Record, segment
from delegator.asana.mapping import Shared, SnapshotError, task_from_asana
from delegator.asana.pagination import PAGE_LIMIT, page_of, pages
from delegator.asana.reads import asana_time, time_or_none
from delegator.core.context import Directory, Identity
from delegator.core.model import Task
from delegator.core.rulemining import Example
from delegator.ports import BackendError, History

#: Tasks read per person at most (the newest Asana lists first are not guaranteed: the rest of
#: the list is simply not read).
MAX_TASKS = 500
#: Tasks whose stories one ``POST /batch`` reads (Asana's most actions in a batch).
BATCH_SIZE = 10

#: What a task of the history is read with: what the rules can mine, and when it was done.
HISTORY_TASK_FIELDS: tuple[str, ...] = (
    "name",
    "assignee.name",
    "assignee.email",
    "completed",
    "completed_at",
    "created_at",
    "due_on",
    "tags.name",
    "projects.name",
    "memberships.project.name",
    "memberships.section.name",
    "custom_fields.name",
    "custom_fields.resource_subtype",
    "custom_fields.enum_value.name",
    "permalink_url",
)
#: What an assignment story is read with: its kind, who was given the task, by whom, when.
ASSIGNMENT_STORY_FIELDS: tuple[str, ...] = (
    "created_at",
    "created_by",
    "resource_subtype",
    "assignee",
)


@dataclass(frozen=True, slots=True)
class WorstCase:
    requests: int
    quota_units: int


def worst_case(assistants: int, max_tasks: int = MAX_TASKS) -> WorstCase:
    """The most one history read costs (see the module's description)."""
    people = 1 + assistants
    listing = people * math.ceil(max_tasks / PAGE_LIMIT)
    batches = assistants * math.ceil(max_tasks / BATCH_SIZE)
    return WorstCase(people + listing + batches, people + listing + assistants * max_tasks)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except AsanaError as exc:
        raise backend_error(exc) from exc


class AsanaHistory:
    """One client's history in one Asana workspace (`ports.HistorySource`)."""

    def __init__(self, client: AsanaClient, workspace: str) -> None:
        self.client = client
        self.workspace = workspace
        self._extra_units = 0  # a batch's actions beyond its one request

    def read_history(
        self,
        owner: str,
        assistants: Mapping[str, str],
        since: datetime,
        *,
        max_tasks: int = MAX_TASKS,
        exclude: Collection[str] = (),
    ) -> History:
        if max_tasks < 1:
            raise ValueError("at least one task per person is read")
        start = self.client.requests_sent
        self._extra_units = 0
        with _translated():
            directory = Directory(
                self._person(owner, "owner"),
                {key: self._person(spec, f"assistant {key}") for key, spec in assistants.items()},
            )
        read_at = self.client.transport.clock.now()
        truncated: list[str] = []
        examples: list[Example] = []
        skipped: set[str] = set(exclude)
        tasks_read = 0
        with _translated():
            owner_tasks, cut = self._assigned(directory.owner, since, max_tasks)
        tasks_read += len(owner_tasks)
        if cut:
            truncated.append("owner")
        for task in owner_tasks:
            if task.gid in skipped or not task.completed:
                continue
            if task.completed_at is None or task.completed_at < since:
                continue
            skipped.add(task.gid)
            examples.append(Example(task, None, task.completed_at))
        unread = 0
        for key, person in directory.assistants.items():
            with _translated():
                tasks, cut = self._assigned(person, since, max_tasks)
            tasks_read += len(tasks)
            if cut:
                truncated.append(key)
            tasks = [t for t in tasks if t.gid not in skipped]
            with _translated():
                handed, failed = self._handed_by(tasks, person, directory.owner, since)
            unread += failed
            for task in tasks:
                at = handed.get(task.gid)
                if at is not None:
                    skipped.add(task.gid)
                    examples.append(Example(task, key, at))
        requests = self.client.requests_sent - start
        return History(
            examples=tuple(examples),
            directory=directory,
            tasks_read=tasks_read,
            requests=requests,
            quota_units=requests + self._extra_units,
            truncated=tuple(truncated),
            unread=unread,
            read_at=read_at,
        )

    # ------------------------------------------------------------------ people
    def _person(self, spec: str, role: str) -> Identity:
        found = self.client.me() if spec == "me" else self.client.users.get(self.workspace, spec)
        if found is None:
            raise BackendError(f"{role}: no user {spec!r} in the workspace")
        return Identity(
            str(found["gid"]),
            str(found.get("email", "") or (spec if "@" in spec else "")),
            str(found.get("name", "") or ""),
        )

    # ------------------------------------------------------------------ tasks
    def _assigned(
        self, person: Identity, since: datetime, max_tasks: int
    ) -> tuple[list[Task], bool]:
        """The person's tasks in the workspace, open or completed since ``since``, at most
        ``max_tasks``; whether there were more."""
        params: dict[str, str | int | bool | None] = {
            "assignee": person.gid,
            "workspace": self.workspace,
            "completed_since": asana_time(since),
        }
        records: list[Record] = []
        shared = Shared()
        limit = min(PAGE_LIMIT, max_tasks)
        walk = pages(self.client.transport, "/tasks", params, HISTORY_TASK_FIELDS, limit=limit)
        cut = False
        for response in walk:
            page = page_of(response)
            room = max_tasks - len(records)
            records.extend(page.records[:room])
            if len(records) >= max_tasks:
                cut = page.next_offset is not None or len(page.records) > room
                break
        tasks: list[Task] = []
        for record in records:
            try:
                tasks.append(task_from_asana(record, shared))
            except SnapshotError:
                continue  # not a task as Asana returns it: not an example
        return tasks, cut

    # ------------------------------------------------------------------ stories
    def _handed_by(
        self, tasks: Sequence[Task], assistant: Identity, owner: Identity, since: datetime
    ) -> tuple[dict[str, datetime], int]:
        """When the owner gave each task to the assistant (its latest assignment, if that was
        it and within ``since``); and how many tasks' stories could not be read."""
        handed: dict[str, datetime] = {}
        failed = 0
        for start in range(0, len(tasks), BATCH_SIZE):
            chunk = tasks[start : start + BATCH_SIZE]
            for task, stories in zip(chunk, self._stories(chunk), strict=True):
                if stories is None:
                    failed += 1
                    continue
                at = handed_off_at(stories, assistant, owner, since)
                if at is not None:
                    handed[task.gid] = at
        return handed, failed

    def _stories(self, chunk: Sequence[Task]) -> list[list[Record] | None]:
        """The first page of stories of each task, in one ``POST /batch``; None for a task
        whose action failed (deleted or hidden since it was listed)."""
        actions = [
            {
                "relative_path": f"/tasks/{segment(task.gid)}/stories",
                "method": "get",
                "options": {"fields": list(ASSIGNMENT_STORY_FIELDS), "limit": PAGE_LIMIT},
            }
            for task in chunk
        ]
        transport = self.client.transport
        response = transport.request(
            "POST",
            "/batch",
            body={"data": {"actions": actions}},
            idempotent=True,
            reads=len(actions),
            writes=0,
            shape=answers.batch(len(actions)),
        )
        self._extra_units += len(actions) - 1
        items: list[answers.BatchItem] = response.parsed
        now = transport.clock.now()
        result: list[list[Record] | None] = []
        for action, item in zip(actions, items, strict=True):
            path = str(action["relative_path"])
            if not 200 <= item.status < 300:
                error = action_error(transport, "GET", path, item, now)
                if isinstance(error, errors.RateLimited | errors.Unauthorized):
                    raise error
                result.append(None)
                continue
            try:
                result.append(list(answers.page(item.body).records))
            except answers.WrongShape as wrong:
                raise UnexpectedAnswer("GET", path, 200, str(wrong)) from None
        return result


def _gid(value: Any) -> str | None:
    if isinstance(value, Mapping) and value.get("gid"):
        return str(value["gid"])
    return None


def handed_off_at(
    stories: Sequence[Record], assistant: Identity, owner: Identity, since: datetime
) -> datetime | None:
    """When the owner gave the task to the assistant: the latest ``assigned`` story, if it
    names the assistant, was made by the owner and is dated at or after ``since``; else None."""
    latest: tuple[datetime, Record] | None = None
    for story in stories:
        if story.get("resource_subtype") != "assigned":
            continue
        at = time_or_none(story.get("created_at"))
        if at is None:
            continue
        if latest is None or at >= latest[0]:
            latest = (at, story)
    if latest is None:
        return None
    at, story = latest
    if at < since:
        return None
    if _gid(story.get("assignee")) != assistant.gid or _gid(story.get("created_by")) != owner.gid:
        return None
    return at


__all__ = [
    "ASSIGNMENT_STORY_FIELDS",
    "BATCH_SIZE",
    "HISTORY_TASK_FIELDS",
    "MAX_TASKS",
    "AsanaHistory",
    "WorstCase",
    "handed_off_at",
    "worst_case",
]
