"""Summaries into Asana itself: a project status update, a comment on a task, or a new task.

Each goes through the client's own create, which never posts twice after an ambiguous failure
within one call. A crash between the post and the store's record of it is the other gap: each
destination's ``find_posted(title, since)`` finds what this token posted with that title since
then, so the next run records it instead of posting again.

Asana's failures become DeliveryError: rate limits, 5xx and lost connections are retryable (the
client already retried them within the call); a refused token, a missing or forbidden project or
task and a rejected body need a person.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Final, TypeVar

from delegator.asana import (
    AsanaClient,
    AsanaError,
    RateLimited,
    ServerError,
    Source,
    TransportError,
)
from delegator.asana.http import Record
from delegator.asana.reads import parse_asana_time
from delegator.notify.message import DeliveryError, Message, one_line
from delegator.notify.plain import to_plain

DEFAULT_STATUS: Final = "on_track"
# Looking for an earlier post reaches this far before ``since``: Asana's clock and ours differ.
CLOCK_SKEW: Final = timedelta(minutes=5)
_TAG = re.compile(r"<[^>]*>")
_BODY = re.compile(r"^\s*<body>(?P<inner>.*)</body>\s*$", re.DOTALL)

T = TypeVar("T")


def _inner(rich_text: str) -> str:
    """The content of ``<body>...</body>`` (or the whole text when it has no body element)."""
    found = _BODY.match(rich_text)
    return found.group("inner") if found else rich_text


def _body(rich_text: str) -> str:
    return f"<body>{_inner(rich_text)}</body>"


def _words(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def _calling(where: str, call: Callable[[], T]) -> T:
    """Run one client call; its failure as a DeliveryError that names the destination."""
    try:
        return call()
    except AsanaError as exc:
        failure = DeliveryError(
            f"{where}: {exc}",
            retryable=isinstance(exc, ServerError | TransportError | RateLimited),
            retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
        )
    except ValueError as exc:  # a body the client refuses to send (an unknown status type)
        failure = DeliveryError(f"{where}: {exc}", retryable=False)
    raise failure


def _created_by_me(record: Record, me: str, since: datetime) -> bool:
    author = record.get("created_by")
    created = record.get("created_at")
    return (
        isinstance(author, dict)
        and str(author.get("gid")) == me
        and isinstance(created, str)
        and parse_asana_time(created) >= since - CLOCK_SKEW
    )


def _latest(records: Iterable[Record], matches: Callable[[Record], bool]) -> str | None:
    """The gid of the last record that matches: stories and task listings come oldest first."""
    found = None
    for record in records:
        if matches(record):
            found = str(record["gid"])
    return found


class AsanaStatusUpdate:
    """A status update on a project (``POST /status_updates``): its followers are notified."""

    def __init__(self, client: AsanaClient, project_gid: str) -> None:
        self._client = client
        self.project_gid = project_gid

    def __repr__(self) -> str:
        return f"AsanaStatusUpdate(project_gid={self.project_gid!r})"

    @property
    def describe(self) -> str:
        return f"status update on project {self.project_gid}"

    def deliver(self, message: Message) -> str:
        """Post it; the status update's gid. No status type in the message means on_track.

        Asana requires ``text``: the summary's plain words go there, its rich text in
        ``html_text``. A status type a project cannot take is refused before sending."""
        return _calling(
            self.describe,
            lambda: self._client.post_status_update(
                self.project_gid,
                to_plain(message.markdown) or _words(message.html) or one_line(message.title),
                message.status_type or DEFAULT_STATUS,
                title=one_line(message.title),
                html_text=_body(message.html),
                parent_type="project",
            ),
        )

    def find_posted(self, title: str | None, since: datetime) -> str | None:
        """The gid of a status update with this title (any title: None) that this token posted
        at or after ``since``, or None."""
        me = _calling(self.describe, self._client.me_gid)
        wanted = one_line(title) if title is not None else None

        def updates() -> list[Record]:
            fields = ("title", "created_at", "created_by")
            return list(
                self._client.status_updates(
                    self.project_gid, fields, created_since=since - CLOCK_SKEW
                )
            )

        # Newest first: the first match is the latest.
        for record in _calling(self.describe, updates):
            if (wanted is None or one_line(str(record.get("title", ""))) == wanted) and (
                _created_by_me(record, me, since)
            ):
                return str(record["gid"])
        return None


class AsanaComment:
    """A comment on a task (a story): its followers are notified. The title opens the comment
    in bold, since a comment has no title of its own."""

    def __init__(self, client: AsanaClient, task_gid: str) -> None:
        self._client = client
        self.task_gid = task_gid

    def __repr__(self) -> str:
        return f"AsanaComment(task_gid={self.task_gid!r})"

    @property
    def describe(self) -> str:
        return f"comment on task {self.task_gid}"

    def deliver(self, message: Message) -> str:
        """Post it; the story's gid."""
        title = html.escape(one_line(message.title), quote=False)
        rich = f"<body><strong>{title}</strong>\n{_inner(message.html)}</body>"
        return _calling(
            self.describe, lambda: self._client.comment(self.task_gid, "", html_text=rich)
        )

    def find_posted(self, title: str | None, since: datetime) -> str | None:
        """The gid of the latest comment this token posted on the task at or after ``since``
        that opens with this title (any comment: None), or None."""
        me = _calling(self.describe, self._client.me_gid)
        wanted = one_line(title) if title is not None else None

        def stories() -> list[Record]:
            fields = ("created_at", "created_by", "resource_subtype", "text")
            return list(self._client.stories(self.task_gid, fields))

        return _latest(
            _calling(self.describe, stories),
            lambda story: (
                story.get("resource_subtype") == "comment_added"
                and (wanted is None or _words(str(story.get("text", ""))).startswith(wanted))
                and _created_by_me(story, me, since)
            ),
        )


class AsanaTask:
    """A new task in a project, assigned to someone when given (a digest to its assistant); the
    summary is its description."""

    def __init__(
        self,
        client: AsanaClient,
        project_gid: str,
        assignee_gid: str | None = None,
        *,
        workspace_gid: str | None = None,
    ) -> None:
        self._client = client
        self.project_gid = project_gid
        self.assignee_gid = assignee_gid
        self.workspace_gid = workspace_gid

    def __repr__(self) -> str:
        return f"AsanaTask(project_gid={self.project_gid!r}, assignee_gid={self.assignee_gid!r})"

    @property
    def describe(self) -> str:
        return f"task in project {self.project_gid}"

    def deliver(self, message: Message) -> str:
        """Create it; the task's gid."""
        record = _calling(
            self.describe,
            lambda: self._client.create_task(
                one_line(message.title),
                projects=[self.project_gid],
                assignee=self.assignee_gid,
                html_notes=_body(message.html),
            ),
        )
        return str(record["gid"])

    def find_posted(self, title: str | None, since: datetime) -> str | None:
        """The gid of a task of this name (any name: None) that this token created in the
        project at or after ``since``, or None."""
        me = _calling(self.describe, self._client.me_gid)
        wanted = one_line(title) if title is not None else None

        def tasks() -> list[Record]:
            fields = ("name", "created_at", "created_by")
            return list(
                self._client.changed_tasks(
                    Source.project(self.project_gid), since - CLOCK_SKEW, fields
                )
            )

        return _latest(
            _calling(self.describe, tasks),
            lambda task: (
                (wanted is None or one_line(str(task.get("name", ""))) == wanted)
                and _created_by_me(task, me, since)
            ),
        )
