"""The seams between the service and its adapters, as typing.Protocols, with the records they pass.

The service, the effects writer and the summaries depend on these shapes only: the task backend
(Asana today: asana/backend.py), the destinations summaries go to (notify/), the state store
(store/). The composition root (bootstrap.py) builds the adapters and wires them in one place;
an import-linter contract keeps the service from reaching past these seams. Records are plain
immutable data.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from delegator.core.context import Directory, Identity
from delegator.core.engine import TaskMemory
from delegator.core.expectations import Activity, Step
from delegator.core.intents import Intent
from delegator.core.language import Language
from delegator.core.model import Task
from delegator.core.reverts import Revert
from delegator.core.rulemining import Example
from delegator.core.schema import WatchSource
from delegator.cycles import CycleCounts, CycleError, ErrorKind

ActionStatus = Literal["pending", "done", "failed", "skipped", "queued", "planned"]
ActionMode = Literal["active", "shadow", "dry_run"]
# deleted / no_access: the task was deleted, or the token can no longer see it; either way it
# no longer counts against the assistant's capacity and is never counted as done.
# bounced: the assistant said "not for me"; reassigned: given to another assistant after a second
# missed expectation (the new assistant's delegation is a new, open one).
DelegationStatus = Literal[
    "open", "done", "overridden", "deleted", "no_access", "bounced", "reassigned"
]
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
    counts: CycleCounts = field(default_factory=CycleCounts)
    errors: tuple[str, ...] = ()
    # One per error; None: a row written before kinds were recorded (see ``error_kind``).
    error_kinds: tuple[ErrorKind | None, ...] | None = None

    def error_kind(self, index: int) -> ErrorKind | None:
        """The kind of ``errors[index]`` as the cycle recorded it; None when the row has none."""
        if self.error_kinds is None or index >= len(self.error_kinds):
            return None
        return self.error_kinds[index]


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
class JournalEntry:
    """An entry for ``begin_actions``: what ``begin_action`` takes."""

    cycle_id: int | None
    client: str
    task_gid: str
    task_name: str
    rule: str
    kind: str
    detail: Mapping[str, Any]
    assistant: str | None
    mode: ActionMode
    at: datetime
    status: ActionStatus = "pending"


@dataclass(frozen=True, slots=True)
class Finished:
    """A journal entry's completion, for ``finish_actions``."""

    action_id: int
    status: ActionStatus
    at: datetime
    result: str | None = None
    story_gid: str | None = None


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune removed (or would remove). Kept whatever their age: pending intents, the
    entries the rules remember a task by (a rule's completed outcome, a posted comment), the
    override ledger, the summaries and digests sent, and cycles still running."""

    actions: int = 0
    cycles: int = 0
    delegations: int = 0  # closed ones; open delegations are never pruned
    followups: int = 0  # follow-up steps of delegations no longer open

    @property
    def total(self) -> int:
        return self.actions + self.cycles + self.delegations + self.followups


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


FollowUpStatus = Literal["pending", "done", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One step of a delegation's follow-up: an expectation met, a reminder, an escalation, a
    reassignment or a bounce. Claimed once: the store keeps at most one per (client, task,
    delegated_at, stage, step), so two replicas, or a restart, never send the same one twice.

    ``pending`` is claimed and not finished (cut short by a crash: the next cycle looks for the
    comment it posted before writing again); ``done`` carried out (``met``: observed);
    ``skipped`` no longer wanted (the task was completed or taken back meanwhile)."""

    id: int
    client: str
    task_gid: str
    task_name: str
    rule: str
    assistant: str  # the assistant key of the delegation
    delegated_at: datetime  # with client and task, which delegation this follows
    stage: str  # acknowledged | started | done; "" for a bounce
    step: Step
    status: FollowUpStatus
    due_at: datetime  # the deadline (reminder: the deadline it warns of; bounce: when seen)
    created_at: datetime
    finished_at: datetime | None = None
    story_gid: str | None = None  # the comment it posted, if any
    # what people read later: {"reason": ...} for a bounce, {"to": ...} for a reassignment and
    # an escalation, {"text": ...} the comment as posted, {"at": ...} when a stage was met
    detail: Mapping[str, Any] = field(default_factory=dict)


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


# ----------------------------------------------------------------------------- webhooks
# With a public URL, each client's watched projects get an Asana webhook: its deliveries mark the
# client due for a cycle, and polling becomes the safety net. A subscription is one webhook, one
# row in the store: created by the client's lease holder, its secret set by whichever replica's
# receiver got the handshake, its signals (deliveries, heartbeats) recorded by any replica.


class SubscriptionState(enum.StrEnum):
    PENDING = "pending"  # POST /webhooks sent (or about to be): the handshake is awaited
    ACTIVE = "active"  # created, its secret confirmed by the 201 answer
    FAILED = "failed"  # creating it failed (``problem`` says why); tried again at ``retry_at``


@dataclass(frozen=True, slots=True)
class Subscription:
    """One webhook of one client on one Asana resource (a project)."""

    key: str  # opaque and unguessable: the last segment of the target URL
    client: str
    resource: str  # the gid of the resource subscribed to
    state: SubscriptionState
    created_at: datetime  # when this key was made (the handshake is awaited from then)
    webhook: str | None = None  # Asana's webhook gid, once the POST answered 201
    sealed_secret: str | None = None  # the handshake's X-Hook-Secret, sealed: never in the clear
    last_signal_at: datetime | None = None  # the handshake, a delivery or a heartbeat
    last_event_at: datetime | None = None  # the last delivery with events
    failures: int = 0  # attempts that failed in a row
    retry_at: datetime | None = None  # FAILED: when to try again
    problem: str | None = None  # FAILED: why, for people
    dirty_at: datetime | None = None  # the first delivery not yet taken by a cycle


@dataclass(frozen=True, slots=True)
class Signal:
    """What a receiver saw of a subscription: a delivery (``events`` > 0) or a heartbeat."""

    key: str
    at: datetime
    events: int


class SubscriptionStore(Protocol):
    """Webhook subscriptions in the store, shared by every replica."""

    def subscriptions(self, client: str | None = None) -> list[Subscription]:
        """Every subscription (of one client), oldest first."""
        ...

    def subscription(self, key: str) -> Subscription | None: ...

    def save_subscription(self, subscription: Subscription) -> None:
        """Insert it, or replace the row with its key (a fenced store checks the lease)."""
        ...

    def remove_subscription(self, key: str) -> None: ...

    def accept_secret(self, key: str, sealed: str, at: datetime, *, since: datetime) -> bool:
        """The first handshake wins: keep ``sealed`` (and ``at`` as the last signal) only when
        the row is PENDING, has no secret yet and was created at or after ``since``; True when
        this call kept it. Not fenced: any replica's receiver may get the handshake."""
        ...

    def record_signals(self, signals: Sequence[Signal]) -> None:
        """In one transaction: each key's last signal (and, with events, last event) moved
        forward to ``at``, and ``dirty_at`` set to ``at`` unless already set. Unknown keys are
        ignored. Not fenced."""
        ...

    def take_dirty(self, clients: Sequence[str]) -> dict[str, datetime]:
        """The earliest ``dirty_at`` of each of these clients' subscriptions, cleared in the same
        transaction (clients with none are left out). Not fenced."""
        ...


@dataclass(frozen=True, slots=True)
class RemoteWebhook:
    """A webhook as Asana lists it."""

    gid: str
    resource: str  # the resource's gid
    target: str
    active: bool


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The answer to creating a webhook."""

    webhook: str  # its gid
    secret: str | None  # the X-Hook-Secret the 201 answer carries (None when it carries none)


class WebhookBackend(Protocol):
    """A client's webhooks in Asana. Failures are ``BackendError`` (``TokenRefused``...)."""

    def subscribe(
        self, resource: str, target: str, filters: Sequence[Mapping[str, Any]]
    ) -> Subscribed:
        """Create a webhook (Asana handshakes with ``target`` before this returns)."""
        ...

    def unsubscribe(self, webhook: str) -> None:
        """Delete a webhook; one that is already gone is not an error."""
        ...

    def webhooks(self) -> list[RemoteWebhook]:
        """Every webhook these credentials have in the client's workspace (all pages)."""
        ...


# ----------------------------------------------------------------------------- status links
# The status page's per-person links: the token (signed, never stored) says whose a link is; the
# store keeps each link's record so it can be listed and revoked, and a link whose id the store
# does not know is refused (it was made for another database, or forged).

LinkKind = Literal["client", "assistant"]


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """One link to the status page, as issued: never its token."""

    id: str  # the id signed into the token
    kind: LinkKind
    client: str | None  # a client link: whose; an assistant link: its client, None for all
    assistant: str | None  # an assistant link: whose
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    note: str = ""  # for operators: who it was sent to, why


class LinkStore(Protocol):
    """The status page's links. Not fenced: links belong to no client's lease."""

    def record_link(self, link: LinkRecord) -> None:
        """Keep a new link (an id already kept is a StoreError)."""
        ...

    def revoke_link(self, link_id: str, at: datetime) -> bool:
        """Revoke a link from ``at`` on; True when this call revoked it, False when there is no
        such link or it was revoked already (its first revocation stands)."""
        ...

    def links(self, client: str | None = None) -> list[LinkRecord]:
        """Every link (only those naming ``client``), newest first."""
        ...

    def link(self, link_id: str) -> LinkRecord | None: ...

    def link_revoked(self, link_id: str) -> bool:
        """Whether a link must be refused: revoked, or unknown to this store."""
        ...


class StateStore(SubscriptionStore, LinkStore, Protocol):
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
        counts: CycleCounts,
        errors: Sequence[CycleError] = (),
    ) -> None: ...

    def cycles(self, client: str | None = None, limit: int = 20) -> list[CycleRecord]: ...

    def close_abandoned_cycles(
        self, before: datetime, *, clients: Sequence[str] | None = None
    ) -> int:
        """Close as interrupted the cycles started before ``before`` whose process is gone (a
        kill, a crash); how many. Called at start-up."""
        ...

    def together(self, *, write: bool = False) -> AbstractContextManager[None]:
        """The store calls this thread makes inside the block share one transaction: all of them
        are kept or none. ``write`` takes the write lock, and checks a fenced store's lease, once
        at the start. A cycle's bookkeeping is a handful of these, never one per row; an Asana
        call never happens inside one."""
        ...

    # sync positions
    def sync_position(self, client: str, source: str) -> SyncPosition | None: ...

    def sync_positions(self, client: str) -> dict[str, SyncPosition]:
        """Every source's position for the client, by source key (one read)."""
        ...

    def save_sync_position(self, client: str, position: SyncPosition) -> None: ...

    def save_sync_positions(self, client: str, positions: Sequence[SyncPosition]) -> None:
        """Replace these positions as wholes (one statement)."""
        ...

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
        task_gids: Iterable[str] | None = None,
    ) -> list[ActionRecord]: ...

    def begin_actions(self, entries: Sequence[JournalEntry]) -> list[int]:
        """``begin_action`` for several entries, in one statement; their ids in order."""
        ...

    def finish_actions(self, finished: Sequence[Finished]) -> None:
        """``finish_action`` for several entries, in one statement."""
        ...

    def forget_actions(self, action_ids: Sequence[int]) -> None:
        """Remove pending intents that were never carried out (nothing happened)."""
        ...

    def shadow_plans(self, client: str, task_gids: Iterable[str]) -> set[tuple[str, str, str]]:
        """(task gid, rule, rule version) of the shadow plans journaled for these tasks."""
        ...

    def memories(self, client: str, task_gids: Iterable[str]) -> dict[str, TaskMemory]: ...

    def prune(self, before: datetime, *, dry_run: bool = False) -> Pruned:
        """Delete the history older than ``before`` that nothing reads any more (see
        ``Pruned``); how many rows of each kind (would have) gone."""
        ...

    # delegations, overrides, load and fairness
    def record_delegation(self, delegation: Delegation) -> None: ...

    def delegations(
        self,
        client: str,
        status: DelegationStatus | None = "open",
        task_gids: Iterable[str] | None = None,
    ) -> list[Delegation]: ...

    def close_delegation(
        self, client: str, task_gid: str, status: DelegationStatus, at: datetime
    ) -> None: ...

    def record_override(self, override: Override) -> None: ...

    def overrides(self, client: str, since: datetime | None = None) -> list[Override]: ...

    def assistant_load(self, client: str) -> dict[str, int]: ...

    # the follow-up ledger: each step of each delegation's follow-up, once
    def claim_followup(
        self,
        *,
        client: str,
        task_gid: str,
        task_name: str,
        rule: str,
        assistant: str,
        delegated_at: datetime,
        stage: str,
        step: Step,
        due_at: datetime,
        at: datetime,
        status: FollowUpStatus = "pending",
        detail: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Claim one follow-up step; its id, or None when it was claimed before (by this or
        another replica), whatever that claim's status."""
        ...

    def finish_followup(
        self,
        followup_id: int,
        status: FollowUpStatus,
        at: datetime,
        *,
        story_gid: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Settle a claimed step; ``detail`` (when given) is merged into the claim's."""
        ...

    def followups(
        self,
        client: str,
        *,
        task_gids: Iterable[str] | None = None,
        since: datetime | None = None,
        steps: Sequence[Step] | None = None,
        statuses: Sequence[FollowUpStatus] | None = None,
    ) -> list[FollowUp]:
        """The follow-up steps of a client, oldest first; ``since`` on ``created_at``."""
        ...

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
        receipts: Iterable[str] | None = None,
    ) -> list[SendRecord]: ...

    def last_send(
        self, client: str, kind: SendKind, recipient: str, destination: str
    ) -> SendRecord | None: ...


# ----------------------------------------------------------------------------- leases
# Several replicas on one database share the clients: a replica runs a client's cycle only while
# it holds that client's lease. A lease has a fencing token, raised by one each time it changes
# hands; the store refuses the writes of a holder whose token is no longer the current one.


@dataclass(frozen=True, slots=True)
class ReplicaIdentity:
    """One running delegator process, as the leases know it."""

    key: str  # unique per process: the id and a random incarnation ("web-1#3fa9c2")
    id: str  # the replica id an operator reads (DELEGATOR_REPLICA_ID; hostname-pid by default)
    host: str
    pid: int
    started_at: datetime


@dataclass(frozen=True, slots=True)
class Fence:
    """A holder's hold on one client's lease; the store writes of a fenced store carry it."""

    client: str
    holder: str  # the holder's ReplicaIdentity.key
    token: int


@dataclass(frozen=True, slots=True)
class Taken:
    """A lease acquired in a round, and who held it before (None: it was never held, or was
    handed back)."""

    fence: Fence
    previous: str | None  # the replica id that held it before, when it had expired
    interrupted: int = 0  # the previous holders' unfinished cycles, closed as interrupted


@dataclass(frozen=True, slots=True)
class LeaseRound:
    """What one round of lease bookkeeping found, by the database's clock."""

    replicas: tuple[str, ...]  # the ids of the live replicas (this one included when a member)
    held: tuple[Fence, ...]  # the leases this holder still has, renewed
    others: frozenset[str]  # clients whose lease another holder has and has not let expire


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """One client's lease, for ``delegator status`` and ``/readyz``."""

    client: str
    holder: str | None  # the holder key; None when free
    replica: str | None  # the holder's replica id
    token: int
    acquired_at: datetime | None
    expires_at: datetime | None
    live: bool  # held and not expired


@dataclass(frozen=True, slots=True)
class ReplicaRecord:
    """One replica that took part in sharing, live or not yet forgotten."""

    key: str
    id: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    expires_at: datetime
    live: bool


class LeaseLost(Exception):
    """This replica no longer holds (or may soon lose) a client's lease: its cycle stops, and
    nothing more is written to Asana or the store for that client."""

    def __init__(self, client: str, detail: str) -> None:
        super().__init__(f"{client}: {detail}")
        self.client = client
        self.detail = detail


class LeaseStore(Protocol):
    """The leases, in the database the replicas share. Times are the database's own, so replicas
    whose clocks disagree still agree on when a lease expires."""

    def lease_round(self, me: ReplicaIdentity, *, period: float, member: bool = True) -> LeaseRound:
        """One round trip's worth: this replica's heartbeat (when a ``member`` of the sharing),
        every lease it holds renewed for ``period`` seconds, who else is live."""
        ...

    def acquire_leases(
        self, me: ReplicaIdentity, clients: Sequence[str], *, period: float, at: datetime
    ) -> list[Taken]:
        """Take the leases of ``clients`` that are free or expired (the others are left); the
        cycles a previous holder left unfinished are closed as interrupted (at ``at``)."""
        ...

    def release_leases(self, me: ReplicaIdentity, clients: Sequence[str] | None = None) -> None:
        """Hand leases back at once (all of this holder's when ``clients`` is None)."""
        ...

    def leave(self, me: ReplicaIdentity, keep: Sequence[str] = ()) -> None:
        """A replica stopping: its heartbeat removed, its leases handed back but those of
        ``keep`` (clients whose cycle still runs: they expire instead)."""
        ...

    def leases(self) -> list[LeaseRecord]: ...

    def replicas(self) -> list[ReplicaRecord]: ...

    def fenced(self, fence: Fence) -> StateStore:
        """The store whose writes are refused (LeaseLost) unless ``fence`` is still current."""
        ...


# ----------------------------------------------------------------------------- the task backend
# The names say what happened, as asana/errors.py's do; an "Error" suffix adds nothing.
# ruff: noqa: N818


class GoneReason(enum.StrEnum):
    """Why a task the service knew can no longer be read."""

    DELETED = "deleted"  # the backend says it does not exist (Asana: 404)
    NO_ACCESS = "no_access"  # it exists, but the token may not see it (Asana: 403)


class BackendError(Exception):
    """The task backend failed or refused. The message is for people and never holds a secret.

    ``fatal``: the client cannot be served this cycle at all (a refused token, a disabled app);
    otherwise only the task or source at hand failed and the cycle goes on.
    """

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class TaskGone(BackendError):
    """The task was deleted, or the token can no longer see it."""

    def __init__(self, gid: str, reason: GoneReason, message: str) -> None:
        super().__init__(message)
        self.gid = gid
        self.reason = reason


class NotInWorkspace(BackendError):
    """A name the rule file uses (a project, section, tag, custom field, option or person) is not
    in the client's workspace: a set-up problem for the client, not a failure of the backend."""


class CommentKept(BackendError):
    """A comment the service posted that Asana will not delete (only its author may)."""


class CommentGone(BackendError):
    """A comment the service posted that is no longer there (deleted already, or hidden)."""


class TokenRefused(BackendError):
    """The backend refused the client's credentials: nothing can be read or written."""

    def __init__(self, message: str) -> None:
        super().__init__(message, fatal=True)


@dataclass(frozen=True, slots=True)
class WatchedSource:
    """A watched source, resolved: ``label`` for people, ``key`` stable for the store."""

    label: str  # e.g. "project Operations", "my tasks"
    key: str  # e.g. "project:1209876543210"
    # The resource whose webhook reports this source's changes (a project's gid, also for its
    # sections); None: not one Asana webhooks serve (tags, my tasks), the source is polled.
    webhook_resource: str | None = None


@dataclass(frozen=True, slots=True)
class SourceChanges:
    """One read of a source: its tasks, the position to store next, and what could not be read."""

    tasks: list[Task]
    position: SyncPosition
    whole: bool  # True: every open task of the source; a task not in it has left the source
    problems: list[str] = field(default_factory=list)  # "task 123: ..." (a poison record)


@dataclass(frozen=True, slots=True)
class TaskState:
    """One task read by gid: its snapshot, or why there is none."""

    gid: str
    task: Task | None = None
    gone: GoneReason | None = None
    error: str | None = None  # any other failure, for people


class TaskBackend(Protocol):
    """A client's tasks: read what changed, read some by gid, carry intents out, and name people
    and places. One instance per client; it caches names and refreshes them on ``refresh``.

    Every failure is a ``BackendError`` (``TaskGone``, ``NotInWorkspace``, ``TokenRefused``...);
    no adapter exception reaches the service.
    """

    @property
    def requests_sent(self) -> int:
        """Requests sent so far (retries included): what the cycle reports as its cost."""
        ...

    def refresh(self) -> None:
        """Forget cached names (people, projects, tags...) so the next look-ups read them again,
        and re-read the credentials."""
        ...

    def me(self) -> Identity:
        """The person the credentials belong to."""
        ...

    def person(self, spec: str) -> Identity | None:
        """An email or a gid as a client file writes it -> the person, or None when the
        workspace has no such person."""
        ...

    def watched(self, watch: WatchSource, owner: Identity) -> WatchedSource:
        """A rule file's ``watch`` entry, resolved (NotInWorkspace when it names nothing)."""
        ...

    def read(
        self, source: WatchedSource, position: SyncPosition | None, *, whole: bool = False
    ) -> SourceChanges:
        """What changed in a source since ``position`` (every open task when ``whole``, when
        never read, or when the periodic whole read is due)."""
        ...

    def read_open(self, source: WatchedSource) -> list[Task]:
        """Every open task of a source (summaries' Covey matrix)."""
        ...

    def read_tasks(self, gids: Sequence[str], *, brief: bool = False) -> list[TaskState]:
        """Tasks by gid, in order; ``brief``: name, due date, completion and link only."""
        ...

    def write(
        self,
        task: Task,
        intent: Intent,
        *,
        assignee: Identity | None = None,
        text: str | None = None,
        directory: Directory | None = None,
    ) -> str | None:
        """Carry one intent out on a task; returns the created comment's id, if any.
        ``directory`` says who the rule file's words (owner, an assistant key) are."""
        ...

    def find_comment(self, task_gid: str, text: str) -> str | None:
        """The id of a comment with this text the credentials' person posted on the task."""
        ...

    def activity(self, task_gid: str, since: datetime) -> Activity:
        """What people did on a task since ``since``: its stories (comments with their text,
        and every other story a person made), who liked it, and its subtasks completed.
        Bounded (the newest stories past the bound are not read: ``truncated``)."""
        ...

    def notify(self, task: Task, text: str, mention: Identity | None) -> str:
        """Post a comment on the task that @-mentions ``mention`` (so Asana notifies them)
        followed by ``text``; the story's gid."""
        ...

    def find_notice(self, task_gid: str, text: str) -> str | None:
        """The gid of a comment by the credentials' person on the task that ends with
        ``text`` (what ``notify`` posted, whatever the mention became), else None."""
        ...

    def revert(self, task: Task, change: Revert) -> str | None:
        """Take back one write of the service on a task; the story it made (a correcting
        comment), if any. BackendError on failure (TaskGone when the task is gone or hidden)."""
        ...

    def close(self) -> None: ...


# ----------------------------------------------------------------------------- destinations


@dataclass(frozen=True, slots=True)
class Message:
    """One summary or digest, rendered in every form a destination may need."""

    title: str  # one line: the email subject, the status update's title, the task's name
    markdown: str  # Slack (converted to mrkdwn) and email (text/plain, and HTML made from it)
    html: str  # Asana's rich text, "<body>...</body>": html_text / html_notes
    status_type: str | None = None  # on_track | at_risk | off_track, for status updates
    language: Language = Language.EN  # of the message: what a destination adds says it so


class DeliveryError(Exception):
    """A destination did not take the message.

    ``retryable`` says whether the same message may succeed later (a server error, a timeout, a
    refused connection, a rate limit) or needs a person first (a wrong address, a refused login,
    a project that does not exist). ``retry_after`` is the wait the destination asked for, in
    seconds, when it said one.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"DeliveryError({str(self)!r}, retryable={self.retryable})"


class Destination(Protocol):
    """Where a summary goes. ``describe`` names it for people; ``deliver`` returns a receipt or
    raises DeliveryError. Its key in the store of sends is not its own: the composition root's
    ``destinations.destination_key`` names it from the rule file's words, one key for all."""

    @property
    def describe(self) -> str: ...

    def deliver(self, message: Message) -> str: ...


@runtime_checkable
class FindsPosted(Protocol):
    """A destination that can tell whether a message was already posted (the Asana ones): after
    a crash between the post and its record, the next run records it instead of posting twice."""

    def find_posted(self, title: str | None, since: datetime) -> str | None: ...


# ----------------------------------------------------------------------------- history


@dataclass(frozen=True, slots=True)
class History:
    """What the owner handed off by hand and what she kept, as read, and what reading it cost.

    ``examples``: the tasks handed off (with the assistant's key) and the owner's completed ones;
    ``directory``: who the owner and the assistants are in the backend; ``truncated``: the people
    (``owner`` or an assistant's key) whose tasks reached the bound, the rest unread; ``unread``:
    tasks whose activity could not be read (deleted or hidden meanwhile)."""

    examples: tuple[Example, ...]
    directory: Directory
    tasks_read: int
    requests: int
    quota_units: int
    read_at: datetime
    truncated: tuple[str, ...] = ()
    unread: int = 0


class HistorySource(Protocol):
    """A client's past hand-offs, for suggesting rules (``delegator suggest``)."""

    def read_history(
        self,
        owner: str,
        assistants: Mapping[str, str],
        since: datetime,
        *,
        max_tasks: int,
        exclude: Collection[str] = (),
    ) -> History:
        """The history since ``since`` of the owner (an email, a gid or ``me``) and of the
        assistants (key -> email or gid), at most ``max_tasks`` tasks read per person, leaving
        out the tasks in ``exclude`` (those the service delegated itself). `BackendError` on
        failure (`TokenRefused` for a refused token)."""
        ...
