"""Asana as the service's task backend: `ports.TaskBackend` over one `AsanaClient`.

Everything Asana-shaped stops here: opt_fields and the JSON -> ``Task`` mapping (mapping.py),
names resolved to gids (the per-client `Lookups` cache, refreshed hourly), Asana's exceptions
turned into the port's (`BackendError`, `TaskGone` for 404/403 on a task, `NotInWorkspace` for a
name the workspace lacks, `TokenRefused` for a refused token), and the cost of each call. It is
also the client's `WebhookBackend`: webhooks created, listed and deleted, their targets never
shown beyond ``scheme://host/...`` (the path's last segment is a secret key).
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from delegator.asana.activity import MAX_STORY_PAGES, ActivityRead
from delegator.asana.client import AsanaClient
from delegator.asana.errors import (
    ApiError,
    AsanaError,
    Forbidden,
    InvalidRequest,
    NotFound,
    Outcome,
    Unauthorized,
)
from delegator.asana.lookups import CustomFieldDef, Lookups
from delegator.asana.mapping import TASK_OPT_FIELDS, Shared, SnapshotError, task_from_asana
from delegator.asana.reads import time_or_none
from delegator.asana.sources import Source
from delegator.asana.sources import SyncPosition as ReadPosition
from delegator.asana.writes import get_task
from delegator.core.context import Directory, Identity
from delegator.core.expectations import Activity, StoryFact, StoryKind
from delegator.core.intents import (
    AddTag,
    Assign,
    Comment,
    Follow,
    Intent,
    Move,
    RemoveTag,
    SetDue,
    SetField,
)
from delegator.core.model import Task, ref_matches
from delegator.core.reverts import (
    CorrectComment,
    DeleteComment,
    LeaveProject,
    PlaceBack,
    Reassign,
    RestoreDue,
    RestoreField,
    Retag,
    Revert,
    Unfollow,
    Untag,
)
from delegator.core.schema import WatchSource
from delegator.ports import (
    BackendError,
    CommentGone,
    CommentKept,
    GoneReason,
    NotInWorkspace,
    RemoteWebhook,
    SourceChanges,
    Subscribed,
    SyncPosition,
    TaskGone,
    TaskState,
    TokenRefused,
    WatchedSource,
)

#: What a summary needs of a delegated task: its name, due date, completion and link.
BRIEF_FIELDS: tuple[str, ...] = ("name", "due_on", "completed", "completed_at", "permalink_url")
_STORY_FIELDS = ("text", "resource_subtype", "created_by")
_BATCH = 10  # Asana's most actions in one /batch

log = logging.getLogger(__name__)


def backend_error(exc: AsanaError, *, task_gid: str | None = None) -> BackendError:
    """Asana's exception as the port's: a task's 404 / 403 is `TaskGone`; a refused token (or
    any error the client judged fatal) ends the client's cycle; the rest fail one step."""
    if task_gid is not None and isinstance(exc, NotFound):
        return TaskGone(task_gid, GoneReason.DELETED, f"task {task_gid} was deleted: {exc}")
    if task_gid is not None and isinstance(exc, Forbidden):
        return TaskGone(
            task_gid, GoneReason.NO_ACCESS, f"task {task_gid} is no longer visible: {exc}"
        )
    if isinstance(exc, Unauthorized):
        return TokenRefused(f"the token was refused: {exc}")
    return BackendError(str(exc), fatal=exc.outcome == Outcome.FATAL)


@contextmanager
def _translated(task_gid: str | None = None) -> Iterator[None]:
    try:
        yield
    except AsanaError as exc:
        raise backend_error(exc, task_gid=task_gid) from exc


class AsanaBackend:
    """One client's tasks in one Asana workspace."""

    def __init__(self, client: AsanaClient, workspace: str) -> None:
        self.client = client
        self.workspace = workspace
        self._lock = threading.Lock()
        self._lookups: Lookups | None = None

    # ------------------------------------------------------------------ housekeeping
    @property
    def requests_sent(self) -> int:
        return self.client.requests_sent

    @property
    def lookups(self) -> Lookups:
        with self._lock:
            if self._lookups is None:
                self._lookups = self.client.lookups()
            return self._lookups

    def refresh(self) -> None:
        with self._lock:
            self._lookups = None
        try:
            self.client.reload()
        except ValueError as exc:  # the secret cannot be read now: the current one is kept
            raise BackendError(f"the token could not be read again: {exc}") from None

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ people and places
    def me(self) -> Identity:
        with _translated():
            me = self.client.me()
        return Identity(str(me["gid"]), str(me.get("email", "") or ""), str(me.get("name", "")))

    def person(self, spec: str) -> Identity | None:
        with _translated():
            found = (
                self.lookups.user_by_gid(self.workspace, spec)
                if spec.isdigit()
                else self.lookups.user_by_email(self.workspace, spec)
            )
        if found is None:
            return None
        return Identity(
            str(found["gid"]),
            str(found.get("email", "") or (spec if "@" in spec else "")),
            str(found.get("name", "") or ""),
        )

    def watched(self, watch: WatchSource, owner: Identity) -> WatchedSource:
        label, source, resource = self._source(watch, owner)
        return WatchedSource(label, source.key, resource)

    def _source(self, watch: WatchSource, owner: Identity) -> tuple[str, Source, str | None]:
        """The source's label, its `Source`, and the project whose webhook reports it (None for
        tags and my tasks: Asana's webhooks carry task events for projects and tasks only)."""
        workspace = self.workspace
        with _translated():
            if watch.my_tasks:
                if not owner.gid:
                    raise NotInWorkspace("watch: my tasks needs the owner's Asana account")
                return "my tasks", Source.user_tasks(owner.gid, workspace), None
            if watch.project is not None:
                if watch.project.gid:
                    gid = watch.project.gid
                    return f"project {gid}", Source.project(gid), gid
                assert watch.project.name is not None
                gid = self._project_gid(watch.project.name, "watch")
                return f"project {watch.project.name}", Source.project(gid), gid
            if watch.section is not None:
                section = watch.section
                if section.name.isdigit():
                    project = section.project
                    resource = project if project and project.isdigit() else None
                    if resource is None:
                        resource = self._section_project(section.name)
                    return f"section {section.name}", Source.section(section.name), resource
                if section.project is None:
                    raise NotInWorkspace(f"watch: section {section.name!r} needs its project")
                project_gid = self._project_gid(section.project, "watch")
                found = self.lookups.section(project_gid, section.name)
                if found is None:
                    raise NotInWorkspace(
                        f"watch: no section {section.name!r} in {section.project!r}"
                    )
                return f"section {section.name}", Source.section(str(found["gid"])), project_gid
            assert watch.tag is not None
            tag = self.lookups.tag(workspace, watch.tag)
            if tag is None:
                raise NotInWorkspace(f"watch: no tag called {watch.tag!r} in the workspace")
            return f"tag {watch.tag}", Source.tag(str(tag["gid"])), None

    def _section_project(self, section_gid: str) -> str | None:
        """The project of a section given by gid, for its webhook; None when it cannot be read
        (the source is then polled; a refused token is still raised)."""
        try:
            return self.lookups.section_project(section_gid)
        except Unauthorized:
            raise
        except AsanaError as exc:
            log.warning(
                "asana_section_project_unread",
                extra={"section": section_gid, "error": str(exc)},
            )
            return None

    def _project_gid(self, project: str, where: str) -> str:
        if project.isdigit():
            return project
        found = self.lookups.project(self.workspace, project)
        if found is None:
            raise NotInWorkspace(f"{where}: no project called {project!r} in the workspace")
        return str(found["gid"])

    # ------------------------------------------------------------------ webhooks
    def subscribe(
        self, resource: str, target: str, filters: Sequence[Mapping[str, Any]]
    ) -> Subscribed:
        """``POST /webhooks``. A target that failed Asana's handshake (400) or that Asana refuses
        (403, e.g. localhost) is a clear, non-fatal `BackendError`; a refused token is
        `TokenRefused`. No message holds the target's path (its last segment is a secret key)."""
        try:
            created = self.client.create_webhook(resource, target, filters)
        except AsanaError as exc:
            raise _webhook_error(exc, resource, target) from None
        return Subscribed(str(created.record["gid"]), created.secret)

    def unsubscribe(self, webhook: str) -> None:
        """``DELETE /webhooks/{gid}``; one already gone (404) is done."""
        try:
            self.client.delete_webhook(webhook)
        except NotFound:
            return
        except AsanaError as exc:
            raise backend_error(exc) from exc

    def webhooks(self) -> list[RemoteWebhook]:
        """The token's webhooks in the workspace, every page."""
        with _translated():
            records = list(self.client.webhooks(self.workspace))
        return [
            RemoteWebhook(
                gid=str(record["gid"]),
                resource=str(record["resource"]["gid"]),
                target=str(record["target"]),
                active=bool(record["active"]),
            )
            for record in records
        ]

    # ------------------------------------------------------------------ reads
    def read(
        self, source: WatchedSource, position: SyncPosition | None, *, whole: bool = False
    ) -> SourceChanges:
        start = ReadPosition(
            Source.from_key(source.key),
            position.high_water if position is not None else None,
            position.last_full_read if position is not None else None,
        )
        with _translated():
            read = self.client.read_source(start, TASK_OPT_FIELDS, full=whole)
        tasks, problems = _tasks(read.tasks, source.label)
        return SourceChanges(
            tasks=tasks,
            position=SyncPosition(
                source.key, read.position.high_water, None, read.position.last_full_read
            ),
            whole=read.full,
            problems=problems,
        )

    def read_open(self, source: WatchedSource) -> list[Task]:
        with _translated():
            records = list(self.client.tasks(Source.from_key(source.key), TASK_OPT_FIELDS))
        tasks, _problems = _tasks(records, source.label)
        return [task for task in tasks if not task.completed]

    def read_tasks(self, gids: Sequence[str], *, brief: bool = False) -> list[TaskState]:
        fields = BRIEF_FIELDS if brief else TASK_OPT_FIELDS
        if len(gids) == 1:
            return [self._read_one(gids[0], fields)]
        states: list[TaskState] = []
        with _translated():
            results = self.client.batch([get_task(gid, fields) for gid in gids])
        shared = Shared()
        for gid, result in zip(gids, results, strict=True):
            if result.ok and isinstance(result.data, dict):
                try:
                    states.append(TaskState(gid, task_from_asana(result.data, shared)))
                except SnapshotError as exc:
                    states.append(TaskState(gid, error=f"task {gid}: {exc}"))
            elif isinstance(result.error, NotFound):
                states.append(TaskState(gid, gone=GoneReason.DELETED))
            elif isinstance(result.error, Forbidden):
                states.append(TaskState(gid, gone=GoneReason.NO_ACCESS))
            elif isinstance(result.error, Unauthorized):
                raise backend_error(result.error)
            else:
                states.append(TaskState(gid, error=f"task {gid}: {result.error or 'no answer'}"))
        return states

    def _read_one(self, gid: str, fields: Sequence[str]) -> TaskState:
        try:
            with _translated(gid):
                record = self.client.get_task(gid, tuple(fields))
        except TaskGone as gone:
            return TaskState(gid, gone=gone.reason)
        except BackendError as exc:
            if exc.fatal:
                raise
            return TaskState(gid, error=f"task {gid}: {exc}")
        try:
            return TaskState(gid, task_from_asana(record))
        except SnapshotError as exc:
            return TaskState(gid, error=f"task {gid}: {exc}")

    def find_comment(self, task_gid: str, text: str) -> str | None:
        try:
            me = self.client.me_gid()
            for story in self.client.stories(task_gid, _STORY_FIELDS):
                author = story.get("created_by") or {}
                if (
                    story.get("resource_subtype") == "comment_added"
                    and story.get("text") == text
                    and isinstance(author, dict)
                    and author.get("gid") == me
                ):
                    return str(story["gid"])
        except AsanaError:
            return None
        return None

    # ------------------------------------------------------------------ follow-up
    def activity(self, task_gid: str, since: datetime) -> Activity:
        """What people did on the task since ``since``.

        - stories: every comment (``comment_added``: COMMENT, with its text) and every other
          story a person made (section moves, field changes, assignment, subtasks...: CHANGE),
          created at or after ``since``; a system story with no ``created_by`` is Asana's own
          and left out;
        - likers: the gids of the users in the task's ``likes``;
        - subtasks_done: when each completed subtask was completed (whenever that was).

        Cost: one request (a ``POST /batch`` of three GETs, three quota units) for a task with
        at most 100 stories and 100 subtasks; one more per further page of either. Bound: Asana
        lists stories oldest first with no "since" filter, so the read stops after
        `MAX_STORY_PAGES` pages of 100 (the oldest 300 stories): on a longer task the newest
        are not read and ``truncated`` is set. Failures are `BackendError`; a task deleted or
        hidden (404 / 403) is `TaskGone`."""
        with _translated(task_gid):
            read = self.client.activity(task_gid)
        return activity_of(read, since)

    def notify(self, task: Task, text: str, mention: Identity | None) -> str:
        """A comment on the task: ``<body><a data-asana-gid="GID"/> TEXT</body>`` (rich text, so
        Asana @-mentions and notifies the person; the text escaped for it), or ``text`` alone
        when there is no one to mention (None, or a person with no gid). The story's gid.

        Asana writes the mention into the story's plain ``text`` as a link (a profile URL), not
        as ``TEXT`` alone: `find_notice` therefore matches the end of the text."""
        with _translated(task.gid):
            if mention is None or not mention.gid:
                return self.client.comment(task.gid, text)
            return self.client.comment(task.gid, text, html_text=mention_html(mention.gid, text))

    def find_notice(self, task_gid: str, text: str) -> str | None:
        """The gid of the newest comment by the credentials' user on the task whose text ends
        with ``text`` (spacing aside), else None. Every page of stories is read (1 request per
        100); a failure is a `BackendError` (`TaskGone` for 404 / 403), never a None that
        would have the notice posted twice."""
        wanted = _spaced(text)
        if not wanted:
            return None
        found: str | None = None
        with _translated(task_gid):
            me = self.client.me_gid()
            for story in self.client.stories(task_gid, _STORY_FIELDS):
                if (
                    story.get("resource_subtype") == "comment_added"
                    and _author(story) == me
                    and _spaced(str(story.get("text") or "")).endswith(wanted)
                ):
                    found = str(story["gid"])
        return found

    # ------------------------------------------------------------------ writes
    def write(
        self,
        task: Task,
        intent: Intent,
        *,
        assignee: Identity | None = None,
        text: str | None = None,
        directory: Directory | None = None,
    ) -> str | None:
        with _translated(task.gid):
            return self._send(task, intent, assignee, text, directory or Directory())

    def _send(
        self,
        task: Task,
        intent: Intent,
        assignee: Identity | None,
        text: str | None,
        directory: Directory,
    ) -> str | None:
        client, gid = self.client, task.gid
        match intent:
            case Assign():
                if assignee is None or not assignee.known:
                    raise NotInWorkspace("no assistant was chosen")
                client.assign(gid, assignee.gid or assignee.email)
            case AddTag(name=name):
                client.add_tag(gid, self.lookups.ensure_tag(self.workspace, name))
            case RemoveTag(name=name):
                tag = self.lookups.tag(self.workspace, name)
                if tag is not None:
                    client.remove_tag(gid, str(tag["gid"]))
            case Follow(who=who):
                client.add_followers(gid, [self._person_ref(directory.resolve(who), who)])
            case Move(project=project, section=section):
                self._move(task, project, section)
            case SetField(field=field, value=value):
                self._set_field(task, field, value, directory)
            case SetDue(due_on=due_on):
                client.set_due_on(gid, due_on)
            case Comment():
                if text is None:
                    raise NotInWorkspace("the comment has no text")
                return client.comment(gid, text)
        return None

    @staticmethod
    def _person_ref(who: Identity, spec: str) -> str:
        """What Asana accepts for a person: the gid, or else the email."""
        if who.gid:
            return who.gid
        if who.email:
            return who.email
        raise NotInWorkspace(f"cannot tell who {spec!r} is in this workspace")

    def _move(self, task: Task, project: str, section: str | None) -> None:
        project_gid = self._project_gid(project, "move")
        section_gid: str | None = None
        if section is not None:
            if section.isdigit():
                section_gid = section
            else:
                found = self.lookups.section(project_gid, section)
                if found is None:
                    raise NotInWorkspace(f"no section called {section!r} in project {project!r}")
                section_gid = str(found["gid"])
        in_project = any(ref_matches(p, project) or p.gid == project_gid for p in task.projects)
        if in_project and section_gid is not None:
            self.client.move_to_section(task.gid, section_gid)
        else:
            self.client.add_project(task.gid, project_gid, section_gid=section_gid)

    def _set_field(self, task: Task, field: str, value: object, directory: Directory) -> None:
        current = task.field(field)
        definition = None
        if current is None or not current.gid:
            definition = self.lookups.custom_field(field, workspace_gid=self.workspace)
            if definition is None:
                raise NotInWorkspace(f"no custom field called {field!r} in the workspace")
            field_gid, kind = definition.gid, definition.type
        else:
            field_gid, kind = current.gid, current.type
        converted: Any = value
        if kind in ("enum", "multi_enum") and value is not None:
            if definition is None:
                definition = self.lookups.custom_field(
                    current.name if current else field, workspace_gid=self.workspace
                )
            names = value if isinstance(value, list) else [value]
            gids = []
            for name in names:
                option = definition.option(str(name)) if definition else None
                if option is None:
                    raise NotInWorkspace(f"the field {field!r} has no option {name!r}")
                gids.append(option.gid)
            converted = gids if kind == "multi_enum" else gids[0]
        elif kind == "people" and value is not None:
            # A people field takes user gids: "owner", an assistant key, an email or a gid.
            specs = value if isinstance(value, list) else [value]
            converted = [self._user_gid(str(spec), field, directory) for spec in specs]
        self.client.set_custom_fields(task.gid, {field_gid: converted})

    def _user_gid(self, spec: str, field: str, directory: Directory) -> str:
        who = directory.resolve(spec)
        if who.gid:
            return who.gid
        found = self.person(who.email or spec)
        if found is None or not found.gid:
            raise NotInWorkspace(f"the field {field!r}: no person {spec!r} in the workspace")
        return found.gid

    # ------------------------------------------------------------------ taking writes back
    def revert(self, task: Task, change: Revert) -> str | None:
        """Take back one write of the service on a task; the correcting comment's story gid,
        if one was posted. A tag the task no longer carries (or the workspace no longer has)
        and a project the task is no longer in need no request. A comment Asana will not
        delete (403: not its author's, or not a comment) is a `BackendError` saying it cannot
        be deleted, and one already gone (404) a `BackendError` saying it was not found; either
        way the task is not `TaskGone`."""
        with _translated(task.gid):
            return self._take_back(task, change)

    def _take_back(self, task: Task, change: Revert) -> str | None:
        client, gid = self.client, task.gid
        match change:
            case Reassign(to=to):
                client.assign(gid, to)
            case Untag(tag=tag):
                carried = self._carried_tag(task, tag)
                if carried is not None:
                    client.remove_tag(gid, carried)
            case Retag(tag=tag):
                if self._carried_tag(task, tag) is None:
                    tag_gid = tag if tag.isdigit() else self.lookups.ensure_tag(self.workspace, tag)
                    client.add_tag(gid, tag_gid)
            case Unfollow(user=user):
                client.remove_followers(gid, [self._follower_ref(user)])
            case PlaceBack(project=project, section=section):
                self._move(task, project, section)
            case LeaveProject(project=project):
                if _in_project(task, project):
                    client.remove_project(gid, project)
            case RestoreField(field=field, value=value):
                self._restore_field(task, field, value)
            case RestoreDue(due_on=due_on, due_at=due_at):
                if due_at is not None:
                    client.update_task(gid, {"due_at": due_at})
                else:
                    client.update_task(gid, {"due_on": due_on})
            case CorrectComment(text=text):
                return client.comment(gid, text)
            case DeleteComment(story=story):
                self._delete_comment(gid, story)
        return None

    def _carried_tag(self, task: Task, tag: str) -> str | None:
        """The gid of the tag (a gid or a name) on the task as it is now; None if not there."""
        for ref in task.tags:
            if ref_matches(ref, tag):
                return ref.gid
        if tag.isdigit():
            return None
        found = self.lookups.tag(self.workspace, tag)
        if found is None:
            return None
        found_gid = str(found["gid"])
        return found_gid if any(ref.gid == found_gid for ref in task.tags) else None

    def _follower_ref(self, user: str) -> str:
        """A follower as Asana takes it: the gid, looked up by email when the workspace has the
        person (else the email itself, which Asana also accepts)."""
        if "@" not in user:
            return user
        found = self.lookups.user_by_email(self.workspace, user)
        return str(found["gid"]) if found is not None else user

    def _restore_field(self, task: Task, field: str, value: str | float | None) -> None:
        current = task.field(field)
        definition: CustomFieldDef | None = None
        if current is None or current.type in ("enum", "multi_enum"):
            definition = self._field_definition(field, current.name if current else None)
        kind = current.type if current is not None else definition.type if definition else ""
        label = current.name if current is not None else definition.name if definition else field
        converted: Any = value
        if kind in ("enum", "multi_enum") and value is not None:
            option = definition.option(str(value)) if definition is not None else None
            if option is None:
                raise NotInWorkspace(f"the field {label!r} no longer has the option {value!r}")
            converted = [option.gid] if kind == "multi_enum" else option.gid
        elif kind == "multi_enum" or kind == "people":
            converted = [] if value is None else [self._person_gid(str(value), label)]
        self.client.set_custom_fields(task.gid, {field: converted})

    def _field_definition(self, field_gid: str, name: str | None) -> CustomFieldDef:
        """A custom field's definition (its type and options) by gid, found in the workspace's
        fields (by its name first, when the task shows it)."""
        if name:
            found = self.lookups.custom_field(name, workspace_gid=self.workspace)
            if found is not None and found.gid == field_gid:
                return found
        for definition in self.lookups.custom_fields(workspace_gid=self.workspace):
            if definition.gid == field_gid:
                return definition
        raise NotInWorkspace(f"no custom field {name or field_gid!r} in the workspace")

    def _person_gid(self, spec: str, field: str) -> str:
        found = self.person(spec)
        if found is None or not found.gid:
            raise NotInWorkspace(f"the field {field!r}: no person {spec!r} in the workspace")
        return found.gid

    def _delete_comment(self, task_gid: str, story: str) -> None:
        try:
            self.client.delete_story(story)
        except Forbidden as exc:
            raise CommentKept(
                f"the comment {story} on task {task_gid} cannot be deleted "
                f"(Asana lets only its author delete a comment): {exc}"
            ) from exc
        except NotFound as exc:
            raise CommentGone(
                f"the comment {story} on task {task_gid} was not found "
                f"(already deleted, or no longer visible): {exc}"
            ) from exc
        except AsanaError as exc:
            raise backend_error(exc) from exc


def _in_project(task: Task, project_gid: str) -> bool:
    return any(ref.gid == project_gid for ref in task.projects) or any(
        membership.project.gid == project_gid for membership in task.memberships
    )


def shown_target(target: str) -> str:
    """A webhook target as people may see it: ``scheme://host/...``, never its path (whose last
    segment is the subscription's secret key) nor its query or user info."""
    parts = urlsplit(target)
    host = parts.netloc.rpartition("@")[2]
    if not parts.scheme or not host:
        return "(a target that is not a URL)"
    return f"{parts.scheme}://{host}/..."


def _scrubbed(text: str, target: str) -> str:
    """`text` with the target, its path and its key replaced (Asana may echo the target)."""
    parts = urlsplit(target)
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    key = parts.path.rstrip("/").rpartition("/")[2]
    for secret in sorted({target, path_and_query, parts.path}, key=len, reverse=True):
        if len(secret) > 1:
            text = text.replace(secret, shown_target(target))
    if len(key) >= 8:
        text = text.replace(key, "...")
    return text


_FIELD_PREFIXES = ("filters:", "resource:", "data:")


def _webhook_error(exc: AsanaError, resource: str, target: str) -> BackendError:
    """A failed ``POST /webhooks`` for people: what went wrong, Asana's words, never the path."""
    where = shown_target(target)
    messages = exc.messages if isinstance(exc, ApiError) else ()
    said = _scrubbed("; ".join(messages) if messages else exc.detail, target)
    if isinstance(exc, InvalidRequest):
        if messages and all(m.strip().startswith(_FIELD_PREFIXES) for m in messages):
            return BackendError(f"Asana refused the webhook on resource {resource}: {said}")
        return BackendError(
            f"Asana could not complete the handshake with the webhook target {where} "
            f"(resource {resource}): {said}"
        )
    if isinstance(exc, Forbidden):
        return BackendError(
            f"Asana refused the webhook target {where} (resource {resource}): {said}"
        )
    error = backend_error(exc)
    if isinstance(error, TokenRefused):
        return TokenRefused(_scrubbed(str(error), target))
    return BackendError(_scrubbed(str(error), target), fatal=error.fatal)


def mention_html(user_gid: str, text: str) -> str:
    """Asana's rich text for a comment that @-mentions a user, then says ``text``."""
    return f'<body><a data-asana-gid="{html.escape(user_gid)}"/> {html.escape(text, quote=False)}</body>'


def _spaced(text: str) -> str:
    return " ".join(text.split())


def _author(story: Mapping[str, Any]) -> str | None:
    author = story.get("created_by")
    if isinstance(author, Mapping) and author.get("gid"):
        return str(author["gid"])
    return None


def activity_of(read: ActivityRead, since: datetime) -> Activity:
    """Asana's activity records as the follow-up reads them (see `AsanaBackend.activity`)."""
    facts: list[StoryFact] = []
    for story in read.stories:
        at = time_or_none(story.get("created_at"))
        if at is None or at < since:
            continue
        author = _author(story)
        if story.get("resource_subtype") == "comment_added":
            facts.append(
                StoryFact(author or "", at, StoryKind.COMMENT, str(story.get("text") or ""))
            )
        elif author is not None:
            facts.append(StoryFact(author, at, StoryKind.CHANGE))
    likers = frozenset(
        str(like["user"]["gid"])
        for like in read.likes
        if isinstance(like.get("user"), Mapping) and like["user"].get("gid")
    )
    done = sorted(
        at
        for subtask in read.subtasks
        if subtask.get("completed") is True
        and (at := time_or_none(subtask.get("completed_at"))) is not None
    )
    return Activity(
        stories=tuple(facts),
        likers=likers,
        subtasks_done=tuple(done),
        truncated=read.truncated,
    )


def _tasks(records: Sequence[Any], label: str) -> tuple[list[Task], list[str]]:
    """Asana's task records as snapshots; a record that is not a task is reported, not fatal."""
    shared = Shared()
    tasks: list[Task] = []
    problems: list[str] = []
    for record in records:
        try:
            tasks.append(task_from_asana(record, shared))
        except SnapshotError as exc:
            gid = record.get("gid") if isinstance(record, dict) else None
            problems.append(f"{label}: task {gid}: {exc}")
    return tasks, problems


__all__ = [
    "BRIEF_FIELDS",
    "MAX_STORY_PAGES",
    "AsanaBackend",
    "activity_of",
    "backend_error",
    "mention_html",
    "shown_target",
]
