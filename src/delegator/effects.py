"""Carrying intents out through the task backend, each write journaled before and completed after.

The journal entry is written as ``pending`` before the backend's call and completed (``done`` or
``failed``) after it, so a crash between the two is found on the next start and reconciled
(see ``Cycle._reconcile_pending`` in service.py) without writing anything twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from delegator.core.context import Directory, Identity
from delegator.core.intents import Assign, Intent
from delegator.core.model import Task
from delegator.outcomes import intent_detail
from delegator.ports import ActionMode, ActionStatus, BackendError, StateStore, TaskBackend


class WriteError(Exception):
    """A write could not be carried out for a reason of the client's set-up (not the backend's)."""


@dataclass(frozen=True, slots=True)
class Written:
    kind: str
    description: str
    status: ActionStatus
    result: str | None = None
    story_gid: str | None = None


class Writer:
    """Writes one client's intents during one cycle."""

    def __init__(
        self,
        *,
        backend: TaskBackend,
        store: StateStore,
        client_key: str,
        directory: Directory,
        cycle_id: int | None,
        now: datetime,
    ) -> None:
        self.backend = backend
        self.store = store
        self.client_key = client_key
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
        outcome: int | None = None,
        step: int | None = None,
    ) -> Written:
        """Carry one intent out; BackendError propagates after the journal says it failed."""
        detail = intent_detail(intent)
        if assignee is not None:
            detail["assignee"] = assignee.gid or assignee.email
        if text is not None:
            detail["text"] = text
        if outcome is not None:  # which outcome and which of its steps this write is
            detail["outcome"] = outcome
            detail["step"] = step
        action_id = self.journal(task, rule, intent.kind, detail, assistant, "active")
        try:
            if isinstance(intent, Assign) and (assignee is None or not assignee.known):
                raise WriteError("no assistant was chosen")
            story_gid = self.backend.write(
                task, intent, assignee=assignee, text=text, directory=self.directory
            )
        except (BackendError, WriteError) as exc:
            self.store.finish_action(action_id, "failed", self.now, result=str(exc))
            raise
        self.store.finish_action(action_id, "done", self.now, story_gid=story_gid)
        return Written(intent.kind, intent.describe(), "done", None, story_gid)
