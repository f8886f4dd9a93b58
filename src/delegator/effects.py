"""Carrying intents out in Asana, each write journaled before it is sent and completed after.

The journal entry is written as ``pending`` before the HTTP call and completed (``done`` or
``failed``) after it, so a crash between the two is found on the next start and reconciled
(see ``service.reconcile_pending``) without writing anything twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from delegator.asana import AsanaClient, AsanaError, Lookups
from delegator.core.context import Directory, Identity
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
from delegator.ports import ActionMode, ActionStatus, StateStore


class WriteError(Exception):
    """A write could not be carried out for a reason of the client's set-up (not Asana's)."""


@dataclass(frozen=True, slots=True)
class Written:
    kind: str
    description: str
    status: ActionStatus
    result: str | None = None
    story_gid: str | None = None


def intent_detail(intent: Intent) -> dict[str, Any]:
    """An intent as JSON for the journal."""
    detail: dict[str, Any] = {"description": intent.describe()}
    for name in getattr(intent, "__slots__", ()):
        value = getattr(intent, name)
        if name == "kind":
            continue
        detail[name] = value.isoformat() if isinstance(value, date) else value
    if isinstance(intent, Assign):
        detail["pool"] = list(intent.pool)
    return detail


class Writer:
    """Writes one client's intents during one cycle."""

    def __init__(
        self,
        *,
        client: AsanaClient,
        lookups: Lookups,
        store: StateStore,
        client_key: str,
        workspace: str,
        directory: Directory,
        cycle_id: int | None,
        now: datetime,
    ) -> None:
        self.client = client
        self.lookups = lookups
        self.store = store
        self.client_key = client_key
        self.workspace = workspace
        self.directory = directory
        self.cycle_id = cycle_id
        self.now = now

    # ---------------------------------------------------------------- the journal
    def journal(
        self,
        task: Task,
        rule: str,
        kind: str,
        detail: Mapping[str, Any],
        assistant: str | None,
        mode: ActionMode,
        status: ActionStatus = "pending",
    ) -> int:
        return self.store.begin_action(
            cycle_id=self.cycle_id, client=self.client_key, task_gid=task.gid,
            task_name=task.name, rule=rule, kind=kind, detail=detail, assistant=assistant,
            mode=mode, at=self.now, status=status,
        )  # fmt: skip

    def write(
        self,
        task: Task,
        rule: str,
        intent: Intent,
        *,
        assistant: str | None = None,
        assignee: Identity | None = None,
        text: str | None = None,
    ) -> Written:
        """Carry one intent out; AsanaError propagates after the journal says it failed."""
        detail = intent_detail(intent)
        if assignee is not None:
            detail["assignee"] = assignee.gid or assignee.email
        if text is not None:
            detail["text"] = text
        action_id = self.journal(task, rule, intent.kind, detail, assistant, "active")
        try:
            story_gid = self._send(task, intent, assignee, text)
        except (AsanaError, WriteError) as exc:
            self.store.finish_action(action_id, "failed", self.now, result=str(exc))
            raise
        self.store.finish_action(action_id, "done", self.now, story_gid=story_gid)
        return Written(intent.kind, intent.describe(), "done", None, story_gid)

    # ---------------------------------------------------------------- Asana
    def person(self, spec: str) -> str:
        """``owner``, an assistant key, an email or a gid -> what Asana accepts (gid or email)."""
        who = self.directory.resolve(spec)
        if who.gid:
            return who.gid
        if who.email:
            return who.email
        raise WriteError(f"cannot tell who {spec!r} is in this workspace")

    def _send(
        self, task: Task, intent: Intent, assignee: Identity | None, text: str | None
    ) -> str | None:
        client, gid = self.client, task.gid
        match intent:
            case Assign():
                if assignee is None:
                    raise WriteError("no assistant was chosen")
                client.assign(gid, assignee.gid or assignee.email)
            case AddTag(name=name):
                client.add_tag(gid, self.lookups.ensure_tag(self.workspace, name))
            case RemoveTag(name=name):
                tag = self.lookups.tag(self.workspace, name)
                if tag is not None:
                    client.remove_tag(gid, str(tag["gid"]))
            case Follow(who=who):
                client.add_followers(gid, [self.person(who)])
            case Move(project=project, section=section):
                self._move(task, project, section)
            case SetField(field=field, value=value):
                self._set_field(task, field, value)
            case SetDue(due_on=due_on):
                client.set_due_on(gid, due_on)
            case Comment():
                if text is None:
                    raise WriteError("the comment has no text")
                return client.comment(gid, text)
        return None

    def _project_gid(self, project: str) -> str:
        if project.isdigit():
            return project
        found = self.lookups.project(self.workspace, project)
        if found is None:
            raise WriteError(f"no project called {project!r} in the workspace")
        return str(found["gid"])

    def _move(self, task: Task, project: str, section: str | None) -> None:
        project_gid = self._project_gid(project)
        section_gid: str | None = None
        if section is not None:
            found = self.lookups.section(project_gid, section) if not section.isdigit() else None
            section_gid = section if section.isdigit() else (str(found["gid"]) if found else None)
            if section_gid is None:
                raise WriteError(f"no section called {section!r} in project {project!r}")
        in_project = any(ref_matches(p, project) or p.gid == project_gid for p in task.projects)
        if in_project and section_gid is not None:
            self.client.move_to_section(task.gid, section_gid)
        else:
            self.client.add_project(task.gid, project_gid, section_gid=section_gid)

    def _set_field(self, task: Task, field: str, value: object) -> None:
        current = task.field(field)
        definition = None
        if current is None or not current.gid:
            definition = self.lookups.custom_field(field, workspace_gid=self.workspace)
            if definition is None:
                raise WriteError(f"no custom field called {field!r} in the workspace")
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
                    raise WriteError(f"the field {field!r} has no option {name!r}")
                gids.append(option.gid)
            converted = gids if kind == "multi_enum" else gids[0]
        self.client.set_custom_fields(task.gid, {field_gid: converted})
