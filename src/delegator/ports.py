"""The seams between the service and its adapters, as typing.Protocols, with the records they pass.

The service depends on these shapes only; the SQLAlchemy store, the Asana client and the clock
are wired to them in one place. Records are plain immutable data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from delegator.core.engine import TaskMemory

ActionStatus = Literal["pending", "done", "failed", "skipped", "queued", "planned"]
ActionMode = Literal["active", "shadow", "dry_run"]
DelegationStatus = Literal["open", "done", "overridden"]
SendKind = Literal["summary", "digest"]
# pending: claimed, not yet delivered (or cut short by a crash); failed: will be tried again at
# next_attempt_at; gave_up: out of attempts; baseline: a period that passed before the schedule was
# known, recorded so it is never sent late.
SendStatus = Literal["pending", "sent", "failed", "gave_up", "baseline"]


@dataclass(frozen=True, slots=True)
class SyncPosition:
    """Where reading a watched source got to: its incremental high-water mark and full reads."""

    source: str  # a stable key for the source, e.g. "project:1209876543210" or "my_tasks"
    high_water: datetime | None = None  # the modified_since for the next incremental read
    sync_token: str | None = None  # an Events API token, when events are used
    last_full_read: datetime | None = None


@dataclass(frozen=True, slots=True)
class CycleRecord:
    id: int
    client: str
    started_at: datetime
    finished_at: datetime | None
    dry_run: bool
    counts: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One intended change to a task: written before the Asana call, completed after it."""

    id: int
    cycle_id: int | None
    client: str
    task_gid: str
    task_name: str
    rule: str
    kind: str  # assign, tag, untag, follow, move, set, due, comment, queue; rule: a whole outcome
    detail: Mapping[str, Any]
    assistant: str | None
    mode: ActionMode
    status: ActionStatus
    created_at: datetime
    completed_at: datetime | None = None
    result: str | None = None  # what happened, for people (an error message, "already in place")
    story_gid: str | None = None  # the Asana story created by a comment


@dataclass(frozen=True, slots=True)
class Delegation:
    """A task the service gave to an assistant; watched afterwards for overrides and load."""

    client: str
    task_gid: str
    task_name: str
    rule: str
    assistant: str  # the assistant key
    assignee_gid: str  # the Asana user the task was assigned to
    delegated_at: datetime
    tag: str | None = None  # the tag the service added, if the rule adds one
    status: DelegationStatus = "open"
    closed_at: datetime | None = None
    permalink_url: str = ""
    due_on: date | None = None
    minutes: int | None = None  # the time the task gives back, estimated
    minutes_from: str | None = None  # where that estimate came from: "field" or "rule"


@dataclass(frozen=True, slots=True)
class Override:
    """A person undid a delegation: the service never touches that task again."""

    client: str
    task_gid: str
    task_name: str
    rule: str
    reason: str  # e.g. "assigned back to Anna Rossi", "tag delegated removed"
    detected_at: datetime


@dataclass(frozen=True, slots=True)
class SendRecord:
    """One summary or digest for one period and destination: claimed once, then delivered.

    The store keeps at most one per (client, kind, recipient, destination, period), so two
    replicas, or a restart, never send the same period twice.
    """

    id: int
    client: str
    kind: SendKind
    recipient: str  # "" for a client summary; the assistant key for a digest
    destination: str  # the destination's key, e.g. "webhook:env:SLACK_WEBHOOK_URL"
    period: datetime  # the scheduled fire time that closes the period (UTC)
    period_start: datetime  # UTC
    status: SendStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None  # safe to show: never a URL, token or password
    receipt: str | None  # what the destination answered: a gid, "HTTP 200", a Message-ID
    created_at: datetime
    sent_at: datetime | None


class StateStore(Protocol):
    """What the service remembers between cycles and across restarts."""

    def migrate(self) -> None: ...

    def close(self) -> None: ...

    def ping(self) -> None:
        """Raise StoreError unless the database answers."""
        ...

    # cycles
    def start_cycle(self, client: str, started_at: datetime, dry_run: bool) -> int: ...

    def finish_cycle(
        self,
        cycle_id: int,
        finished_at: datetime,
        counts: Mapping[str, int],
        errors: Sequence[str] = (),
    ) -> None: ...

    def cycles(self, client: str | None = None, limit: int = 20) -> list[CycleRecord]: ...

    # sync positions
    def sync_position(self, client: str, source: str) -> SyncPosition | None: ...

    def save_sync_position(self, client: str, position: SyncPosition) -> None: ...

    # the action journal
    def begin_action(
        self,
        *,
        cycle_id: int | None,
        client: str,
        task_gid: str,
        task_name: str,
        rule: str,
        kind: str,
        detail: Mapping[str, Any],
        assistant: str | None,
        mode: ActionMode,
        at: datetime,
        status: ActionStatus = "pending",
    ) -> int: ...

    def finish_action(
        self,
        action_id: int,
        status: ActionStatus,
        at: datetime,
        result: str | None = None,
        story_gid: str | None = None,
    ) -> None: ...

    def pending_actions(self, client: str) -> list[ActionRecord]: ...

    def actions(
        self,
        client: str | None = None,
        task_gid: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[ActionRecord]: ...

    def memories(self, client: str, task_gids: Iterable[str]) -> dict[str, TaskMemory]: ...

    # delegations, overrides, load and fairness
    def record_delegation(self, delegation: Delegation) -> None: ...

    def delegations(
        self, client: str, status: DelegationStatus | None = "open"
    ) -> list[Delegation]: ...

    def close_delegation(
        self, client: str, task_gid: str, status: DelegationStatus, at: datetime
    ) -> None: ...

    def record_override(self, override: Override) -> None: ...

    def overrides(self, client: str, since: datetime | None = None) -> list[Override]: ...

    def assistant_load(self, client: str) -> dict[str, int]: ...

    def round_robin(self, client: str) -> dict[str, str]: ...

    def save_round_robin(self, client: str, pool: str, assistant: str) -> None: ...

    # summaries and digests sent: once per period and destination
    def claim_send(
        self,
        *,
        client: str,
        kind: SendKind,
        recipient: str,
        destination: str,
        period: datetime,
        period_start: datetime,
        at: datetime,
        status: SendStatus = "pending",
        next_attempt_at: datetime | None = None,
    ) -> int | None: ...

    def lease_send(self, send_id: int, *, at: datetime, until: datetime) -> bool: ...

    def finish_send(
        self,
        send_id: int,
        status: SendStatus,
        at: datetime,
        *,
        error: str | None = None,
        receipt: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None: ...

    def sends(
        self,
        client: str | None = None,
        *,
        kind: SendKind | None = None,
        statuses: Sequence[SendStatus] | None = None,
        due_by: datetime | None = None,
        limit: int | None = None,
    ) -> list[SendRecord]: ...

    def last_send(
        self, client: str, kind: SendKind, recipient: str, destination: str
    ) -> SendRecord | None: ...
