"""Carrying intents out through the task backend, each write journaled before and completed after.

The journal entry is written as ``pending`` before the backend's call and completed (``done`` or
``failed``) after it, so a crash between the two is found on the next start and reconciled
(see ``Cycle._reconcile_pending`` in service.py) without writing anything twice. An outcome's
steps are journaled together, in one transaction before its first write, and completed together
in one after its last (``Settlement``), with the delegation and the pool's turn they imply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from delegator.core.actions import prior
from delegator.core.context import Directory, Identity
from delegator.core.intents import Assign, Intent
from delegator.core.model import Task
from delegator.outcomes import OutcomePlan, intent_detail
from delegator.ports import (
    ActionMode,
    ActionStatus,
    BackendError,
    Delegation,
    Finished,
    JournalEntry,
    StateStore,
    TaskBackend,
)


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

    def entry(
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
    ) -> JournalEntry:
        """The pending journal entry of one write, with what the task showed before it."""
        detail = intent_detail(intent)
        before = prior(intent, task)
        if before:
            detail["before"] = before
        if assignee is not None:
            detail["assignee"] = assignee.gid or assignee.email
        if text is not None:
            detail["text"] = text
        if outcome is not None:  # which outcome and which of its steps this write is
            detail["outcome"] = outcome
            detail["step"] = step
        return JournalEntry(self.cycle_id, self.client_key, task.gid, task.name, rule,
                            intent.kind, detail, assistant, "active", self.now)  # fmt: skip

    def intend_steps(
        self, task: Task, rule: str, plan: OutcomePlan, outcome: int, steps: Iterable[int]
    ) -> dict[int, int]:
        """Journal the outcome's steps still to do as pending, in one statement: step index ->
        entry id. Inside ``store.together(write=True)`` with the outcome's own entry."""
        indexes = list(steps)
        entries = [
            self.entry(
                task, rule, plan.steps[index].intent, assistant=plan.assistant,
                assignee=plan.assignee if isinstance(plan.steps[index].intent, Assign) else None,
                text=plan.steps[index].text, outcome=outcome, step=index,
            )
            for index in indexes
        ]  # fmt: skip
        return dict(zip(indexes, self.store.begin_actions(entries), strict=True))

    def carry(
        self,
        task: Task,
        intent: Intent,
        *,
        assignee: Identity | None = None,
        text: str | None = None,
    ) -> str | None:
        """Carry out a write already journaled; the story it made, if any."""
        if isinstance(intent, Assign) and (assignee is None or not assignee.known):
            raise WriteError("no assistant was chosen")
        return self.backend.write(
            task, intent, assignee=assignee, text=text, directory=self.directory
        )

    def write(self, task: Task, rule: str, intent: Intent) -> Written:
        """Carry one intent out that needs no assignee or text (a tag), journaled on its own;
        BackendError propagates after the journal says it failed."""
        [action_id] = self.store.begin_actions([self.entry(task, rule, intent)])
        try:
            story_gid = self.carry(task, intent)
        except (BackendError, WriteError) as exc:
            self.store.finish_action(action_id, "failed", self.now, result=str(exc))
            raise
        self.store.finish_action(action_id, "done", self.now, story_gid=story_gid)
        return Written(intent.kind, intent.describe(), "done", None, story_gid)


class Settlement:
    """What an outcome's writes came to, kept in memory and saved in one transaction at its end:
    the steps done or failed, the intents never reached (removed), the pool's turn, the
    delegation and the outcome itself. Until then a crash leaves the steps pending in the
    journal, and the next cycle reconciles them as before."""

    def __init__(self, store: StateStore, now: datetime) -> None:
        self.store = store
        self.now = now
        self.finished: dict[int, Finished] = {}
        self.turns: dict[str, str] = {}  # pool -> assistant
        self.delegation: Delegation | None = None

    def finish(
        self,
        action_id: int,
        status: ActionStatus,
        *,
        result: str | None = None,
        story_gid: str | None = None,
    ) -> None:
        self.finished[action_id] = Finished(action_id, status, self.now, result, story_gid)

    def save(self, client: str, unreached: Iterable[int]) -> None:
        forget = [action for action in unreached if action not in self.finished]
        with self.store.together(write=True):
            self.store.finish_actions(list(self.finished.values()))
            self.store.forget_actions(forget)
            for pool, assistant in self.turns.items():
                self.store.save_round_robin(client, pool, assistant)
            if self.delegation is not None:
                self.store.record_delegation(self.delegation)
