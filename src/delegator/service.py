"""One cycle for one client: fetch -> skip -> quadrant + rules -> plan -> assign -> apply -> record.

The cycle is the unit of work: everything it needs between cycles is in the store (sync positions,
the action journal, delegations, overrides, load, round-robin turns); what a ``ClientRuntime``
keeps in memory (the Asana client, the directory of people, name look-ups) is a cache rebuilt
when the process restarts and refreshed at every full reconcile.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from delegator.clients import ClientEntry
from delegator.core.actions import in_place
from delegator.core.assignment import Choice, Roster, choose
from delegator.core.conditions import trace_data
from delegator.core.context import Directory, EvalContext, Identity, identity_of
from delegator.core.engine import Decision, Engine, RuleOutcome
from delegator.core.estimate import DEFAULT_TIME_FIELD, estimate_minutes
from delegator.core.intents import AddTag, Assign, Comment, Intent, RemoveTag
from delegator.core.model import Task
from delegator.core.overrides import override_reason
from delegator.core.schema import FileHead
from delegator.core.templates import compile_template
from delegator.cycles import Count, CycleCounts, CycleError, ErrorKind
from delegator.effects import Settlement, WriteError, Writer
from delegator.followup import ClockView, FollowUps
from delegator.logs import bound, get_logger
from delegator.outcomes import (
    MAX_ATTEMPTS,
    OutcomePlan,
    Progress,
    intent_detail,
    open_outcomes,
    person_change,
    progress_of,
    too_old,
)
from delegator.outcomes import Step as OutcomeStep
from delegator.ports import (
    ActionRecord,
    BackendError,
    Delegation,
    DelegationStatus,
    GoneReason,
    JournalEntry,
    LeaseLost,
    NotInWorkspace,
    Override,
    StateStore,
    SyncPosition,
    TaskBackend,
    TaskGone,
    TaskState,
    TokenRefused,
    WatchedSource,
)
from delegator.redact import redact_outgoing

QUEUE_TAG = "delegation-queued"


QUEUE_MEMORY = timedelta(days=30)  # how far back the journal is read for queued tasks
OWN_WRITES_KEPT = timedelta(days=1)  # how long the runtime remembers writing to a task


def still_queued(store: StateStore, client: str, now: datetime) -> dict[str, ActionRecord]:
    """Tasks queued for want of a free assistant and not assigned since: task gid -> the
    latest queue entry (its reason and when)."""
    queued: dict[str, ActionRecord] = {}
    settled: set[str] = set()  # assigned, or dropped from the queue, after the queueing
    since = now - QUEUE_MEMORY
    with store.together():
        # Only the queued tasks' entries are read: the cost is the queue's, not the journal's.
        entered = store.actions(client=client, since=since, kinds=("queue",))
        gids = {action.task_gid for action in entered}
        recent = (
            store.actions(client=client, since=since, kinds=("assign", "queue"), task_gids=gids)
            if gids
            else []
        )
    for action in recent:  # newest first: an assignment or a drop after the queueing wins
        gid = action.task_gid
        if gid in settled:
            continue
        if (action.kind == "assign" and action.status == "done") or (
            action.kind == "queue" and action.status == "skipped"
        ):
            settled.add(gid)
        elif action.kind == "queue" and action.status == "queued":
            queued.setdefault(gid, action)
    return queued


def created_by_service(store: StateStore, client: str, gids: Iterable[str]) -> set[str]:
    """Of these tasks, those the service itself created (summaries and digests posted as
    tasks): never read as work, whatever the client's rules say of them."""
    return {
        send.receipt
        for send in store.sends(client, statuses=("sent",), receipts=gids)
        if send.destination.startswith("asana_task:") and send.receipt and send.receipt.isdigit()
    }


@dataclass(frozen=True, slots=True)
class Bookkeeping:
    """What a cycle reads from the store before it reads Asana (one transaction)."""

    pending: list[ActionRecord]  # intents begun and not finished (a crash, a lost settlement)
    positions: dict[str, SyncPosition]  # by source key
    queued: dict[str, ActionRecord]  # tasks waiting for a free assistant


class ClientError(Exception):
    """This client cannot be served this cycle (set-up, token, workspace); others go on.

    ``kind``: what kept it from being served (no source could be resolved: ``SOURCE``)."""

    def __init__(self, message: str, *, kind: ErrorKind = ErrorKind.CYCLE) -> None:
        super().__init__(message)
        self.kind = kind


class CycleInterrupted(Exception):  # noqa: N818 - a request to stop, not a failure
    """The service is stopping: the cycle ends at a safe point, between two tasks."""


INTERRUPTED = "interrupted: the service is stopping; the rest is done next cycle"
CycleResult = Literal["ok", "errors", "partial", "failed", "interrupted"]


def cycle_result(counts: CycleCounts, errors: Sequence[object]) -> CycleResult:
    """ok; errors (a source or a task could not be read, the rest went on); partial (writes
    failed: their outcomes are finished at the next cycles); failed (the client could not be
    served); interrupted (the service stopped mid-way). Only ok and errors count as success."""
    if counts[Count.INTERRUPTED]:
        return "interrupted"
    if counts[Count.CLIENT_FAILED]:
        return "failed"
    if counts[Count.ACTIONS_FAILED] or counts[Count.OUTCOMES_GIVEN_UP]:
        return "partial"
    return "errors" if errors else "ok"


def error_kind(exc: BaseException) -> ErrorKind:
    """The kind of error an exception is, from its type: a refused token, a name the workspace
    lacks (a source), a client that could not be set up (its own kind), else the cycle's."""
    if isinstance(exc, TokenRefused):
        return ErrorKind.TOKEN
    if isinstance(exc, NotInWorkspace):
        return ErrorKind.SOURCE
    if isinstance(exc, ClientError):
        return exc.kind
    if isinstance(exc, WriteError):
        return ErrorKind.WRITE
    return ErrorKind.CYCLE


class StepStatus(enum.StrEnum):
    """What became of one intent in a cycle."""

    DONE = "done"  # carried out
    FAILED = "failed"  # tried and failed (retried next cycle)
    PLANNED = "planned"  # a dry run's change, not made
    SHADOW = "shadow"  # a shadow rule's change (journaled once, never sent)
    QUEUED = "queued"  # waiting for a free assistant
    SKIPPED = "skipped"  # not done: no assistant could take it


@dataclass(slots=True)
class Step:
    """What happened (or would happen) for one intent: ``description`` in English (the report's
    and the log's words); ``intent`` and ``text`` (a comment as posted) let a view say it in the
    client's language."""

    kind: str
    description: str
    status: StepStatus
    note: str = ""
    intent: Intent | None = None
    text: str | None = None


@dataclass(slots=True)
class TaskReport:
    """One task's decision in a cycle, with the assistant chosen and the steps taken."""

    task: Task
    decision: Decision
    choice: Choice | None = None
    steps: list[Step] = field(default_factory=list)
    deferred: str | None = None  # held back by a rule's limit


@dataclass(slots=True)
class CycleReport:
    client: str
    name: str
    started_at: datetime
    dry_run: bool
    counts: CycleCounts = field(default_factory=CycleCounts)
    cycle_errors: list[CycleError] = field(default_factory=list)
    tasks: list[TaskReport] = field(default_factory=list)
    requests: int = 0
    overrides: list[Override] = field(default_factory=list)
    cycle_id: int | None = None  # the store's id of the cycle (None for a dry run)
    clocks: list[ClockView] = field(default_factory=list)  # open delegations' clocks (plans)

    @property
    def errors(self) -> list[str]:
        """The errors' texts, in the order reported (a copy: report one with ``add_error``)."""
        return [error.text for error in self.cycle_errors]

    def add_error(self, kind: ErrorKind, text: str) -> None:
        self.cycle_errors.append(CycleError(kind, text))

    @property
    def failed(self) -> bool:
        return bool(self.cycle_errors) and self.counts[Count.TASKS_SEEN] == 0

    @property
    def result(self) -> CycleResult:
        return cycle_result(self.counts, self.cycle_errors)


class ClientRuntime:
    """A client's task backend and its rebuildable caches (who is who, what is watched)."""

    def __init__(
        self,
        entry: ClientEntry,
        backend: TaskBackend,
        store: StateStore,
        *,
        refresh_every: timedelta = timedelta(hours=1),
    ) -> None:
        if entry.engine is None or entry.loaded.head is None:
            raise ClientError(f"{entry.path}: the rule file has errors")
        self.entry = entry
        self.engine: Engine = entry.engine
        self.head: FileHead = entry.loaded.head
        self.backend = backend
        self.store = store
        self.refresh_every = refresh_every
        self._directory: Directory | None = None
        self._sources: list[WatchedSource] | None = None
        self._refreshed: datetime | None = None
        self.problems: list[CycleError] = []
        # When the follow-up of the open delegations next has something to do, and under which
        # lease that was worked out (followup.FollowUps.run): a cache, None when unknown.
        self.followup_wake: tuple[object, datetime] | None = None
        # When this process last wrote to each task (a cycle's end): a task read back with no
        # later change was changed by the service only. Entries older than a day are dropped.
        self.own_writes: dict[str, datetime] = {}

    @property
    def key(self) -> str:
        return self.entry.key

    def refresh(self, now: datetime, *, force: bool = False) -> None:
        """Resolve people and sources (a few requests), at start and then hourly."""
        if not force and self._refreshed is not None and now - self._refreshed < self.refresh_every:
            return
        backend = self.backend
        problems: list[CycleError] = []
        if self._refreshed is not None:
            try:
                backend.refresh()  # names and people read again, the secret re-read
            except BackendError as exc:
                problems.append(CycleError(error_kind(exc), str(exc)))
        owner_spec = self.head.client.owner
        if owner_spec == "me":
            owner = backend.me()
        else:
            owner = self._person(owner_spec, "owner", problems)
        assistants = {
            key: self._person(a.user, f"assistant {key}", problems, a.name)
            for key, a in self.head.assistants.items()
        }
        self._directory = Directory(owner, assistants)
        sources: list[WatchedSource] = []
        for watch in self.head.watch:
            try:
                sources.append(backend.watched(watch, owner))
            except NotInWorkspace as exc:
                problems.append(CycleError(ErrorKind.SOURCE, str(exc)))
        if not sources:
            if not problems:
                raise ClientError("nothing to watch")
            raise ClientError("; ".join(p.text for p in problems), kind=ErrorKind.SOURCE)
        self._sources = sources
        self._refreshed = now
        self.problems = problems

    def _person(
        self, spec: str, role: str, problems: list[CycleError], name: str | None = None
    ) -> Identity:
        found = self.backend.person(spec)
        if found is None:
            missing = f"{role}: no user {spec} in the workspace"
            problems.append(CycleError(ErrorKind.CYCLE, missing))
            return identity_of(spec, name or "")
        return Identity(found.gid, found.email, name or found.name)

    @property
    def directory(self) -> Directory:
        assert self._directory is not None, "refresh() first"
        return self._directory

    @property
    def sources(self) -> list[WatchedSource]:
        assert self._sources is not None, "refresh() first"
        return self._sources

    @property
    def resolved_sources(self) -> list[WatchedSource] | None:
        """The sources as the last refresh resolved them (None: never resolved)."""
        return self._sources


def _template_context(
    task: Task, rule: RuleOutcome, assignee: Identity | None, runtime: ClientRuntime, now: datetime
) -> dict[str, Any]:
    owner = runtime.directory.owner
    return {
        "task": {
            "gid": task.gid, "name": task.name, "notes": task.notes,
            "due_on": task.due_on.isoformat() if task.due_on else None,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "permalink_url": task.permalink_url,
            "tags": [t.name for t in task.tags], "projects": [p.name for p in task.projects],
        },
        "rule": {"name": rule.rule},
        "assignee": (
            {"name": assignee.name, "first_name": assignee.first_name, "email": assignee.email}
            if assignee is not None else {}
        ),
        "client": {"name": runtime.head.client.name},
        "owner": {"name": owner.name, "first_name": owner.first_name, "email": owner.email},
        "now": now.isoformat(timespec="minutes"),
    }  # fmt: skip


def _clip(text: str, size: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


class Cycle:
    """One cycle for one client. ``run()`` never raises for a task's failure."""

    def __init__(
        self,
        runtime: ClientRuntime,
        *,
        now: datetime,
        dry_run: bool = False,
        full: bool = False,
        explain: bool = False,
        progress: Callable[[str, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        store: StateStore | None = None,
        lease_check: Callable[[], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        hold: object = None,
    ) -> None:
        self.runtime = runtime
        # The lease this cycle runs under (its fence), None without leases: what the runtime's
        # memory of the follow-up is valid for.
        self.hold = hold
        # The time the cycle ends is recorded by this clock (``now`` when none is given).
        self.clock = clock
        # The store this cycle writes through: fenced by the client's lease when replicas share.
        self.store = store if store is not None else runtime.store
        # Raises LeaseLost at a safe point when the lease no longer leaves room for a write.
        self.lease_check = lease_check
        self.now = now
        self.dry_run = dry_run
        self.full = full
        self.explain = explain
        self.progress = progress
        # Asked between sources and between tasks: a stopping service ends the cycle there, with
        # the call in flight finished and journaled; the next cycle reads from the same position.
        self.should_stop = should_stop
        self.report = CycleReport(runtime.key, runtime.entry.name, now, dry_run)
        self.log = get_logger()
        self._queued_entries: dict[str, ActionRecord] = {}
        self._positions: list[SyncPosition] = []  # saved with the cycle's end
        # shadow plans: journaled already (task, rule, version), and to journal this cycle
        self._shadow_seen: set[tuple[str, str, str]] = set()
        self._shadow_plans: list[tuple[Task, str, Intent, str | None, str]] = []
        self._versions: dict[str, str] = {}
        # Tasks read this cycle that stay delegated: something changed on them (a comment moves
        # a task's modified_at too), so the follow-up looks for an assistant's "not for me".
        self._changed_open: set[str] = set()
        self._ctx: EvalContext | None = None  # this cycle's evaluation context, once decided
        self._whole = False  # whether this cycle read every open task of a source

    def _checkpoint(self) -> None:
        if self.dry_run:
            return
        if self.should_stop is not None and self.should_stop():
            raise CycleInterrupted(INTERRUPTED)
        if self.lease_check is not None:
            self.lease_check()

    # ------------------------------------------------------------------ the cycle
    def run(self) -> CycleReport:
        runtime, report = self.runtime, self.report
        try:
            # The cycle's start and what it needs from the store, in one transaction.
            with self.store.together(write=not self.dry_run):
                cycle_id = (
                    None if self.dry_run else self.store.start_cycle(runtime.key, self.now, False)
                )
                book = self._bookkeeping()
        except LeaseLost as exc:
            self._lease_lost(exc)
            return report
        report.cycle_id = cycle_id
        with bound(cycle=cycle_id) if cycle_id is not None else nullcontext():
            self._run(cycle_id, book)
        return report

    def _run(self, cycle_id: int | None, book: Bookkeeping) -> None:
        runtime, report = self.runtime, self.report
        requests_before = runtime.backend.requests_sent
        try:
            runtime.refresh(self.now, force=self.full)
            report.cycle_errors.extend(runtime.problems)
            if not self.dry_run:
                self._reconcile_pending(book.pending)
            tasks, positions, whole = self._read(book)
            if whole:
                tasks.extend(self._delegated_elsewhere({t.gid for t in tasks}))
            resumed: set[str] = set()
            if not self.dry_run:
                resumed = self._resume_outcomes({t.gid: t for t in tasks}, book.pending)
            # A resumed outcome's task was read before its steps were done: it was judged
            # against the outcome's own journal above, not against that older snapshot.
            untouched = [t for t in tasks if t.gid not in resumed]
            self._whole = whole
            follow = self._followups()
            # An assistant's "not for me" tag first: handing the task back along with it is a
            # bounce, not an override.
            bounced = follow.tagged_bounces(untouched)
            untouched = [t for t in untouched if t.gid not in bounced]
            self._notice_overrides(untouched)
            deferred = self._decide_and_apply(untouched, cycle_id)
            follow.run(
                {t.gid: t for t in untouched}, whole, hold=self.hold, changed=self._changed_open
            )
            if not self.dry_run:
                self._remember_writes(follow.written)
            if self.dry_run or self.explain:
                report.clocks = follow.clocks()
            if not self.dry_run:
                if deferred:
                    # Tasks held back by a rule's limit are not changed, so an incremental
                    # read would not show them again: read whole next cycle until drained.
                    positions = [dataclasses.replace(p, last_full_read=None) for p in positions]
                # Saved with the cycle's end, and only those that moved.
                self._positions = [p for p in positions if book.positions.get(p.source) != p]
        except (BackendError, ClientError, WriteError) as exc:
            report.add_error(error_kind(exc), str(exc))
            report.counts[Count.CLIENT_FAILED] = 1
        except CycleInterrupted as exc:
            # Positions are not saved: the next cycle reads the same changes again, and what this
            # one already did is in place (desired state) or in the journal (comments).
            report.add_error(ErrorKind.CYCLE, str(exc))
            report.counts[Count.INTERRUPTED] = 1
            self.log.warning("cycle_interrupted", tasks_done=report.counts[Count.MATCHED])
        except LeaseLost as exc:
            self._lease_lost(exc)
        finally:
            report.requests = runtime.backend.requests_sent - requests_before
            report.counts[Count.REQUESTS] = report.requests
            if cycle_id is not None:
                try:
                    finished = self.clock() if self.clock is not None else self.now
                    with self.store.together(write=True):
                        self.store.save_sync_positions(runtime.key, self._positions)
                        self.store.finish_cycle(
                            cycle_id, finished, report.counts, report.cycle_errors
                        )
                except LeaseLost as exc:  # the new holder closes this cycle as interrupted
                    if not report.counts[Count.INTERRUPTED]:
                        self._lease_lost(exc)

    def _remember_writes(self, written: Iterable[str]) -> None:
        """The tasks this cycle wrote to, at its end (see ClientRuntime.own_writes)."""
        end = self.clock() if self.clock is not None else self.now
        own = self.runtime.own_writes
        for item in self.report.tasks:
            if any(step.status == StepStatus.DONE for step in item.steps):
                own[item.task.gid] = end
        for gid in written:
            own[gid] = end
        for gid in [gid for gid, at in own.items() if at < end - OWN_WRITES_KEPT]:
            del own[gid]

    def _followups(self) -> FollowUps:
        return FollowUps(
            self.runtime, self.store, self.report, now=self.now, dry_run=self.dry_run,
            checkpoint=self._checkpoint, notice_overrides=self._notice_overrides,
        )  # fmt: skip

    def _lease_lost(self, exc: LeaseLost) -> None:
        """The client's lease is gone or running out: stop here. What was done is in Asana or
        the journal; the replica that holds the lease next reconciles and carries on."""
        report = self.report
        report.add_error(ErrorKind.CYCLE, f"interrupted: {exc.detail}")
        report.counts[Count.INTERRUPTED] = 1
        self.log.warning("cycle_lease_lost", reason=exc.detail,
                         tasks_done=report.counts[Count.MATCHED])  # fmt: skip

    def _bookkeeping(self) -> Bookkeeping:
        """What the cycle needs from the store before it reads Asana, in one transaction."""
        key = self.runtime.key
        with self.store.together():  # joins the cycle's start, when there is one
            return Bookkeeping(
                pending=[] if self.dry_run else self.store.pending_actions(key),
                positions=self.store.sync_positions(key),
                queued={} if self.dry_run else still_queued(self.store, key, self.now),
            )

    def _read(self, book: Bookkeeping) -> tuple[list[Task], list[SyncPosition], bool]:
        """The changed tasks of every watched source, the positions to store, and whether any
        source was read whole (the periodic reconcile)."""
        runtime = self.runtime
        seen: dict[str, Task] = {}
        positions: list[SyncPosition] = []
        whole = False
        self._queued_entries = book.queued
        for source in runtime.sources:
            self._checkpoint()
            stored = book.positions.get(source.key)
            try:
                read = runtime.backend.read(source, stored, whole=self.full or self.dry_run)
            except BackendError as exc:
                if exc.fatal:
                    raise
                self.report.add_error(ErrorKind.SOURCE, f"{source.label}: {exc}")
                continue
            whole = whole or read.whole
            for problem in read.problems:  # a task of the source could not be read
                self.report.add_error(ErrorKind.SOURCE, problem)
            for task in read.tasks:
                seen[task.gid] = task
            if self.progress is not None:
                self.progress(source.label, len(seen))
            positions.append(read.position)
        if seen:  # the summaries and digests the service posted as tasks are not work
            for gid in created_by_service(self.store, runtime.key, seen):
                del seen[gid]
                self.report.counts[Count.OWN_TASKS_SKIPPED] += 1
        # Tasks waiting for a free assistant are looked at again every cycle.
        waiting = sorted(book.queued.keys() - set(seen))
        if waiting:
            self._checkpoint()
            for state in runtime.backend.read_tasks(waiting):
                if state.task is not None:
                    seen[state.gid] = state.task
                elif state.gone is not None:
                    self._drop_queued(state)
                else:
                    unread = f"queued task {state.gid}: {state.error}"
                    self.report.add_error(ErrorKind.TASK, unread)
        self.report.counts[Count.TASKS_SEEN] = len(seen)
        return list(seen.values()), positions, whole

    def _drop_queued(self, state: TaskState) -> None:
        """A queued task that was deleted or hidden leaves the queue, with the reason, once."""
        queued = self._queued_entries.get(state.gid)
        reason = _gone_text(state.gone)
        self.report.counts[Count.QUEUE_DROPPED] += 1
        self.log.info("queued_task_dropped", task=state.gid, reason=reason)
        if self.dry_run:
            return
        dropped = self.store.begin_action(
            cycle_id=self.report.cycle_id, client=self.runtime.key, task_gid=state.gid,
            task_name=queued.task_name if queued is not None else "",
            rule=queued.rule if queued is not None else "", kind="queue",
            detail={"reason": reason}, assistant=None, mode="active", at=self.now,
        )  # fmt: skip
        self.store.finish_action(dropped, "skipped", self.now, result=f"left the queue: {reason}")

    def _delegated_elsewhere(self, seen: set[str]) -> list[Task]:
        """Open delegations the watched sources no longer show (a task given to an assistant
        usually leaves the owner's My Tasks): read at each whole read, ten per batch request, so
        completions free the assistants' capacity and overrides are noticed. A task deleted or
        no longer visible closes its delegation as such (never as done), reported once."""
        open_ = {
            d.task_gid: d
            for d in self.store.delegations(self.runtime.key, status="open")
            if d.task_gid not in seen
        }
        if not open_ or self.dry_run:
            return []
        found: list[Task] = []
        for state in self.runtime.backend.read_tasks(list(open_)):
            if state.task is not None:
                found.append(state.task)
            elif state.gone is not None:
                delegation = open_[state.gid]
                self.store.close_delegation(self.runtime.key, state.gid, state.gone.value, self.now)
                self.report.counts[_GONE_COUNT[state.gone]] += 1
                self.log.warning(
                    "delegation_gone", task=state.gid, reason=state.gone.value,
                    assistant=delegation.assistant,
                )  # fmt: skip
                release = self.store.begin_action(
                    cycle_id=self.report.cycle_id, client=self.runtime.key, task_gid=state.gid,
                    task_name=delegation.task_name, rule=delegation.rule, kind="release",
                    detail={"reason": state.gone.value}, assistant=delegation.assistant,
                    mode="active", at=self.now,
                )  # fmt: skip
                self.store.finish_action(
                    release, "done", self.now,
                    result=f"{_gone_text(state.gone)}; no longer counted for "
                    f"{delegation.assistant}",
                )  # fmt: skip
            else:
                unread = f"delegated task {state.gid}: {state.error}"
                self.report.add_error(ErrorKind.TASK, unread)
        self.report.counts[Count.DELEGATIONS_CHECKED] = len(open_)
        return found

    def _writer(self) -> Writer:
        runtime = self.runtime
        return Writer(
            backend=runtime.backend, store=self.store, client_key=runtime.key,
            directory=runtime.directory, cycle_id=self.report.cycle_id, now=self.now,
        )  # fmt: skip

    # ------------------------------------------------------------------ overrides
    def _notice_overrides(self, tasks: Iterable[Task]) -> None:
        runtime = self.runtime
        by_gid = {t.gid: t for t in tasks}
        if not by_gid:
            return
        respect = runtime.head.client.overrides == "respect"
        closes: list[tuple[str, DelegationStatus]] = []
        overrides: list[Override] = []
        for delegation in self.store.delegations(runtime.key, "open", task_gids=by_gid):
            task = by_gid.get(delegation.task_gid)
            if task is None:
                continue
            self._changed_open.add(task.gid)
            if task.completed:
                self._changed_open.discard(task.gid)
                closes.append((task.gid, "done"))
                self.report.counts[Count.DELEGATIONS_DONE] += 1
                continue
            assistant = runtime.directory.assistants.get(delegation.assistant, Identity())
            reason = override_reason(
                task, delegation.assignee_gid, assistant.email, delegation.tag, runtime.directory
            )
            if reason is None:
                continue
            override = Override(runtime.key, task.gid, task.name, delegation.rule, reason, self.now)
            self.report.overrides.append(override)
            self.report.counts[Count.OVERRIDES] += 1
            closes.append((task.gid, "overridden"))
            self._changed_open.discard(task.gid)
            if respect:
                overrides.append(override)
        if self.dry_run or not closes:
            return
        with self.store.together(write=True):
            for gid, status in closes:
                self.store.close_delegation(runtime.key, gid, status, self.now)
            for override in overrides:
                self.store.record_override(override)

    # ------------------------------------------------------------------ decisions
    def _decide_and_apply(self, tasks: list[Task], cycle_id: int | None) -> int:
        """Decide every task and carry the decisions out; the number held back by limits."""
        runtime, store = self.runtime, self.store
        engine = runtime.engine
        if not tasks:
            return 0
        ctx = engine.context(self.now, runtime.directory)
        self._ctx = ctx
        with store.together():
            memories = store.memories(runtime.key, [t.gid for t in tasks])
            load = dict(store.assistant_load(runtime.key))
            turns = dict(store.round_robin(runtime.key))
        plan = engine.plan(tasks, ctx, memories, explain=self.explain)
        if self._whole:
            self._count_quadrants(plan.decisions)
        deferred = {d.task.gid: rule for d, rule in plan.deferred}
        roster = Roster(runtime.head.assistants, engine.tz, load, turns)
        writer = self._writer()
        self._shadow_seen = self._shadow_journaled(plan.decisions)
        for decision in plan.decisions:
            report = TaskReport(decision.task, decision, deferred=deferred.get(decision.task.gid))
            # A plan shows every task; a running service keeps only those a rule took, so a
            # large workspace does not stay in memory after its cycle.
            if self.explain or decision.outcomes or report.deferred:
                self.report.tasks.append(report)
            if decision.skipped is not None:
                self.report.counts[Count.SKIPPED] += 1
                continue
            if decision.outcomes:
                self._checkpoint()
            for outcome in decision.outcomes:
                self.report.counts[Count.MATCHED] += 1
                try:
                    with bound(task=decision.task.gid, rule=outcome.rule):
                        self._carry_out(report, outcome, roster, writer)
                except BackendError as exc:
                    if exc.fatal:
                        raise
                    self.report.add_error(ErrorKind.TASK, f"task {decision.task.gid}: {exc}")
                    self.report.counts[Count.TASKS_FAILED] += 1
                except WriteError as exc:
                    self.report.add_error(ErrorKind.WRITE, f"task {decision.task.gid}: {exc}")
                    self.report.counts[Count.TASKS_FAILED] += 1
        self._journal_shadows()
        self.report.counts[Count.HELD_BACK] = len(deferred)
        return len(deferred)

    def _shadow_journaled(self, decisions: Sequence[Decision]) -> set[tuple[str, str, str]]:
        """The shadow plans already journaled for the tasks a shadow rule takes this cycle."""
        gids = [d.task.gid for d in decisions if any(o.shadow for o in d.outcomes)]
        if not gids or self.dry_run:
            return set()
        return self.store.shadow_plans(self.runtime.key, gids)

    def _journal_shadows(self) -> None:
        """A shadow rule's plans, journaled once per task and version of the rule (never again
        at each whole read), together."""
        planned, self._shadow_plans = self._shadow_plans, []
        if not planned:
            return
        self.store.begin_actions([
            JournalEntry(self.report.cycle_id, self.runtime.key, task.gid, task.name, rule,
                         intent.kind, {**intent_detail(intent), "version": version}, assistant,
                         "shadow", self.now, "planned")
            for task, rule, intent, assistant, version in planned
        ])  # fmt: skip

    def _rule_version(self, name: str) -> str:
        """A short digest of the rule as written: a changed rule is a new version."""
        version = self._versions.get(name)
        if version is None:
            rule = next((r.rule for r in self.runtime.engine.rules if r.name == name), None)
            text = rule.model_dump_json(by_alias=True, warnings=False) if rule is not None else name
            version = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
            self._versions[name] = version
        return version

    def _carry_out(
        self, report: TaskReport, outcome: RuleOutcome, roster: Roster, writer: Writer
    ) -> None:
        task = report.task
        runtime = self.runtime
        intents = list(outcome.intents)
        if not intents:
            return
        assign = next((i for i in intents if isinstance(i, Assign)), None)
        choice: Choice | None = None
        assignee: Identity | None = None
        if assign is not None:
            choice = choose(assign, roster, self.now)
            report.choice = choice
            if not choice.assigned:
                self._overflow(report, outcome, choice, writer)
                return
            assignee = (
                runtime.directory.assistants.get(choice.assistant)
                if choice.assistant is not None
                else runtime.directory.resolve(choice.user or "")
            )
            if choice.assistant is not None:
                roster.took(choice.assistant, assign.pool)
            if QUEUE_TAG in task.tag_names:
                intents.append(RemoveTag(QUEUE_TAG))
        mode = "shadow" if outcome.shadow else ("dry_run" if self.dry_run else "active")
        if mode != "active":
            version = self._rule_version(outcome.rule) if mode == "shadow" else ""
            journal = (
                mode == "shadow"
                and not self.dry_run
                and (task.gid, outcome.rule, version) not in self._shadow_seen
            )
            status = StepStatus.SHADOW if mode == "shadow" else StepStatus.PLANNED
            for intent in intents:
                report.steps.append(
                    Step(intent.kind, self._describe(intent, choice), status, intent=intent)
                )
                if journal:
                    assistant = choice.assistant if choice else None
                    self._shadow_plans.append((task, outcome.rule, intent, assistant, version))
            self.report.counts[Count.SHADOW if mode == "shadow" else Count.PLANNED] += len(intents)
            return
        # Everything is decided now, comments rendered included, and journaled before the first
        # write: whatever cuts the outcome short, the rest is done from this entry.
        current = assignee
        if current is None and task.assignee is not None:  # already with the right person
            current = Identity(task.assignee.gid, task.assignee.email, task.assignee.name)
        steps = []
        for intent in intents:
            text = None
            if isinstance(intent, Comment):
                context = _template_context(task, outcome, current, runtime, self.now)
                # Whatever a template pulls in (a task's notes), no secret leaves in a comment.
                text = redact_outgoing(compile_template(intent.template).render(context))
            steps.append(OutcomeStep(intent, text))
        plan = OutcomePlan(
            steps=tuple(steps),
            assistant=choice.assistant if choice else None,
            assignee=assignee,
            pool=",".join(assign.pool) if assign is not None and assign.pool else None,
            before_assignee=task.assignee.gid if task.assignee is not None else None,
            before_tags=task.tag_names,
        )
        # The outcome and its steps, journaled in one transaction before the first write, with
        # why the rule took the task (the status page shows it as `explain` would).
        detail = plan.to_detail()
        detail["why"] = self._why(task, outcome)
        with self.store.together(write=True):
            rule_action = writer.journal(
                task, outcome.rule, "rule", detail, plan.assistant, "active"
            )
            intended = writer.intend_steps(task, outcome.rule, plan, rule_action,
                                           range(len(plan.steps)))  # fmt: skip
        self._advance(report, rule_action, self.now, outcome.rule, plan, Progress(frozenset(), {}),
                      writer, choice, intended)  # fmt: skip

    def _count_quadrants(self, decisions: Sequence[Decision]) -> None:
        """The open tasks of a whole read per quadrant, kept with the cycle's counts."""
        counts = self.report.counts
        owner = self.runtime.directory.owner
        for decision in decisions:
            if decision.task.completed:
                continue
            counts[_QUADRANT_COUNT[decision.quadrant]] += 1
            if decision.quadrant in ("do", "schedule") and owner.is_user(decision.task.assignee):
                counts[Count.QUADRANT_HELD_BY_OWNER] += 1

    def _why(self, task: Task, outcome: RuleOutcome) -> dict[str, Any] | None:
        """The quadrant and the rule's conditions as they held for the task, each with its
        actual and wanted values (a few milliseconds, for the tasks a rule acts on only)."""
        ctx = self._ctx
        if ctx is None:
            return None
        decision = self.runtime.engine.explain(task, ctx)
        trace = next((t for t in decision.rule_traces if t.index == outcome.index), None)
        return {
            "quadrant": decision.quadrant,
            "urgent": trace_data(decision.urgent_trace),
            "important": trace_data(decision.important_trace),
            "when": trace_data(trace.when) if trace is not None else None,
        }

    def _advance(
        self,
        report: TaskReport,
        outcome_id: int,
        began: datetime,
        rule: str,
        plan: OutcomePlan,
        progress: Progress,
        writer: Writer,
        choice: Choice | None = None,
        intended: dict[int, int] | None = None,
    ) -> None:
        """Carry an outcome's remaining steps out; finish it when every step is done.

        A step that fails leaves the outcome pending (retried at the next cycle); after a failed
        assignment the rest waits, since it only makes sense once the task is delegated. The
        steps are journaled as pending before the first write (``intended``, or here) and
        settled together after the last."""
        task = report.task
        done = set(progress.done)
        assign_index = plan.assign_index
        remaining = progress.remaining(plan)
        # Resumed, the steps are judged against the task as read this cycle: one the task already
        # shows (done before a crash or a lost lease, its settlement lost) is not written again.
        resumed = intended is None
        if intended is None:
            with self.store.together(write=True):
                intended = writer.intend_steps(task, rule, plan, outcome_id, remaining)
        settlement = Settlement(self.store, self.now)
        in_flight: int | None = None  # a write whose end is unknown when something escapes it
        try:
            for index in remaining:
                step = plan.steps[index]
                intent = step.intent
                if assign_index is not None and index != assign_index and assign_index not in done:
                    break
                if isinstance(intent, Comment) and index in progress.failures and step.text:
                    # A comment whose answer was lost may have been posted: look before posting.
                    story = self.runtime.backend.find_comment(task.gid, step.text)
                    if story is not None:
                        settlement.finish(intended[index], "done", story_gid=story,
                                          result="found posted after a failed answer")  # fmt: skip
                        done.add(index)
                        continue
                try:
                    in_flight = intended[index]
                    if resumed and in_place(intent, task, self.runtime.directory, plan.assignee):
                        story = None
                    else:
                        story = writer.carry(
                            task, intent, text=step.text,
                            assignee=plan.assignee if isinstance(intent, Assign) else None,
                        )  # fmt: skip
                        self.report.counts[Count.ACTIONS_DONE] += 1
                    in_flight = None
                except (BackendError, WriteError) as exc:
                    in_flight = None
                    settlement.finish(intended[index], "failed", result=str(exc))
                    report.steps.append(
                        Step(intent.kind, intent.describe(), StepStatus.FAILED, str(exc), intent)
                    )
                    self.report.counts.failed_write(intent.kind)
                    self.report.add_error(
                        ErrorKind.WRITE,
                        f"task {task.gid}: {intent.kind} failed (retried next cycle): {exc}",
                    )
                    self.log.warning("action_failed", kind=intent.kind, error=str(exc))
                    if isinstance(exc, BackendError) and exc.fatal:
                        raise
                    if isinstance(exc, TaskGone):
                        settlement.finish(outcome_id, "skipped", result=str(exc))
                        return
                    if isinstance(intent, Assign):
                        break
                    continue
                settlement.finish(intended[index], "done", story_gid=story)
                done.add(index)
                shown = (
                    f'comment "{_clip(step.text)}"'
                    if step.text is not None
                    else self._describe(intent, choice)
                )
                report.steps.append(
                    Step(intent.kind, shown, StepStatus.DONE, intent=intent, text=step.text)
                )
                if plan.assistant is not None and plan.assignee is not None:
                    if isinstance(intent, Assign):
                        # The turn and the delegation are saved with the assignment itself.
                        if plan.pool:
                            settlement.turns[plan.pool] = plan.assistant
                        settlement.delegation = self._delegation(
                            task, rule, plan, began, tagged=False
                        )
                    elif isinstance(intent, AddTag) and assign_index in done:
                        settlement.delegation = self._delegation(
                            task, rule, plan, began, tagged=True
                        )
            self.log.info(
                "rule_applied",
                assistant=plan.assistant,
                steps=[f"{step.kind}:{step.status}" for step in report.steps],
            )
            if len(done) == len(plan.steps):
                settlement.finish(outcome_id, "done")
            # Otherwise the outcome stays pending: its remaining steps are done at the next cycle.
        finally:
            # The steps not reached are forgotten; one cut short by anything but the backend's
            # answer (a crash, a stop) stays pending for the next cycle to reconcile.
            settlement.save(self.runtime.key, [i for i in intended.values() if i != in_flight])

    # ------------------------------------------------------------------ unfinished outcomes
    def _resume_outcomes(self, seen: dict[str, Task], pending: Sequence[ActionRecord]) -> set[str]:
        """Carry the outcomes left unfinished (a crash, a failed write, a refused token) to the
        end from the journal; the tasks they concern are not planned again this cycle."""
        runtime = self.runtime
        outcomes = open_outcomes(pending)
        if not outcomes:
            return set()
        touched = {o.task_gid for o in outcomes}
        missing = [gid for gid in dict.fromkeys(o.task_gid for o in outcomes) if gid not in seen]
        current = dict(seen)
        gone: dict[str, TaskState] = {}
        if missing:
            for state in runtime.backend.read_tasks(missing):
                if state.task is not None:
                    current[state.gid] = state.task
                else:
                    gone[state.gid] = state
        writer = self._writer()
        for outcome in outcomes:
            self._checkpoint()
            with bound(task=outcome.task_gid, rule=outcome.rule):
                self._resume(outcome, current.get(outcome.task_gid), gone.get(outcome.task_gid),
                             writer)  # fmt: skip
        return touched

    def _resume(
        self, outcome: ActionRecord, task: Task | None, gone: TaskState | None, writer: Writer
    ) -> None:
        try:
            plan = OutcomePlan.from_detail(outcome.detail)
        except ValueError:
            self.store.finish_action(outcome.id, "failed", self.now,
                                     result="interrupted; planned again from the task's current state")  # fmt: skip
            self.report.counts[Count.RECONCILED] += 1
            return
        if task is None:
            reason = _gone_text(gone.gone if gone is not None else None)
            if gone is not None and gone.gone is None:
                self.report.add_error(ErrorKind.TASK, f"task {outcome.task_gid}: {gone.error}")
                return  # unreadable now: tried again next cycle
            self.store.finish_action(outcome.id, "skipped", self.now, result=f"task {reason}")
            return
        entries = self.store.actions(client=self.runtime.key, task_gid=task.gid,
                                     since=outcome.created_at)  # fmt: skip
        progress = progress_of(outcome.id, entries)
        if task.completed:
            self.store.finish_action(outcome.id, "skipped", self.now,
                                     result="the task was completed before the rest was done")  # fmt: skip
            return
        assign = plan.assign_index
        if (assign is None or assign not in progress.done) and not self._still_active(outcome.rule):
            # Nothing was handed over yet and the client has since removed the rule or put it in
            # shadow mode: what it wanted is no longer wanted.
            self.store.finish_action(outcome.id, "skipped", self.now,
                                     result="the rule was removed or is in shadow mode now")  # fmt: skip
            return
        change = person_change(task, plan, progress)
        if change is not None:
            self._outcome_overridden(outcome, task, plan, progress, change)
            return
        if progress.exhausted() or too_old(outcome, self.now):
            self.store.finish_action(
                outcome.id, "failed", self.now,
                result=f"gave up after {MAX_ATTEMPTS} attempts: {progress.last_error}",
            )  # fmt: skip
            self.report.counts[Count.OUTCOMES_GIVEN_UP] += 1
            self.report.add_error(
                ErrorKind.WRITE,
                f"task {task.gid}: rule {outcome.rule} gave up: {progress.last_error}",
            )
            return
        self.report.counts[Count.OUTCOMES_RESUMED] += 1
        report = TaskReport(task, Decision(task, "delegate", urgent=True, important=False))
        self.report.tasks.append(report)
        self._advance(report, outcome.id, outcome.created_at, outcome.rule, plan, progress, writer)

    def _still_active(self, rule: str) -> bool:
        return any(r.name == rule and r.rule.mode == "active" for r in self.runtime.engine.rules)

    def _outcome_overridden(
        self, outcome: ActionRecord, task: Task, plan: OutcomePlan, progress: Progress, change: str
    ) -> None:
        """A person changed the task since the outcome began: it ends there, and once the task
        was delegated, that is an override (recorded once)."""
        self.store.finish_action(outcome.id, "skipped", self.now, result=f"a person {change}")
        assign = plan.assign_index
        if assign is None or assign not in progress.done:
            return
        open_ = {d.task_gid for d in self.store.delegations(self.runtime.key, "open", [task.gid])}
        if task.gid not in open_:
            return  # already closed (noticed as an override, completed or gone)
        override = Override(self.runtime.key, task.gid, task.name, outcome.rule, change, self.now)
        self.report.overrides.append(override)
        self.report.counts[Count.OVERRIDES] += 1
        self.store.close_delegation(self.runtime.key, task.gid, "overridden", self.now)
        if self.runtime.head.client.overrides == "respect":
            self.store.record_override(override)

    def _describe(self, intent: Intent, choice: Choice | None) -> str:
        if isinstance(intent, Assign) and choice is not None and choice.assigned:
            who = choice.assistant or choice.user
            return f"assign to {who}: {choice.reason}"
        return intent.describe()

    def _overflow(
        self, report: TaskReport, outcome: RuleOutcome, choice: Choice, writer: Writer
    ) -> None:
        task = report.task
        self.report.counts[Count.QUEUED if choice.overflow == "queue" else Count.UNASSIGNABLE] += 1
        if choice.overflow != "queue":
            report.steps.append(Step("assign", choice.reason, StepStatus.SKIPPED, "overflow: skip"))
            return
        report.steps.append(Step("queue", f"queue: {choice.reason}", StepStatus.QUEUED))
        if self.dry_run or outcome.shadow:
            return
        already = QUEUE_TAG in task.tag_names
        action = writer.journal(task, outcome.rule, "queue", {"reason": choice.reason},
                                None, "active", "pending")  # fmt: skip
        try:
            if not already:
                writer.write(task, outcome.rule, AddTag(QUEUE_TAG))
        except (BackendError, WriteError) as exc:
            self.store.finish_action(action, "failed", self.now, result=str(exc))
            raise
        self.store.finish_action(action, "queued", self.now, result=choice.reason)

    def _delegation(
        self, task: Task, rule_name: str, plan: OutcomePlan, began: datetime, *, tagged: bool
    ) -> Delegation:
        """The delegation, recorded with the assignment; its tag only once the tag is on the
        task, so a tag the service failed to add is never taken for a person's removal."""
        assert plan.assistant is not None
        summary = self.runtime.head.summary
        rule = next((r.rule for r in self.runtime.engine.rules if r.name == rule_name), None)
        minutes, minutes_from = estimate_minutes(
            task,
            summary.time_field if summary is not None else DEFAULT_TIME_FIELD,
            rule.minutes if rule is not None else None,
        )
        return Delegation(
            client=self.runtime.key, task_gid=task.gid, task_name=task.name,
            rule=rule_name, assistant=plan.assistant,
            assignee_gid=plan.assignee.gid if plan.assignee else "", delegated_at=began,
            tag=plan.tag if tagged else None,
            permalink_url=task.permalink_url, due_on=task.due_on,
            minutes=minutes, minutes_from=minutes_from,
        )  # fmt: skip

    # ------------------------------------------------------------------ crash recovery
    def _reconcile_pending(self, pending: Sequence[ActionRecord]) -> None:
        """Complete the journal entries a crash left pending, without writing twice.

        An outcome's steps are journaled together before its first write and carried out in
        order, so of its pending steps only the first can have been in flight: that one is an
        interrupted attempt; the later ones were never tried, unless the settlement after them
        was lost (the store failing at the end of the outcome). A pending comment may have been
        posted either way, so each is looked for; any other later step is simply forgotten, and
        done again from the outcome's journal."""
        first: dict[object, int] = {}  # outcome -> its lowest pending step
        steps = [a for a in pending if a.kind != "rule"]  # outcomes: _resume_outcomes
        for action in steps:
            outcome, step = action.detail.get("outcome"), action.detail.get("step")
            if outcome is not None and isinstance(step, int):
                first[outcome] = min(first.get(outcome, step), step)
        forget: list[int] = []
        for action in steps:
            outcome, step = action.detail.get("outcome"), action.detail.get("step")
            if action.kind == "comment":
                text = str(action.detail.get("text", ""))
                story = self._find_comment(action.task_gid, text)
                if story is not None:
                    self.store.finish_action(action.id, "done", self.now, story_gid=story,
                                             result="found after a restart")  # fmt: skip
                    continue
            if outcome is not None and isinstance(step, int) and step > first[outcome]:
                forget.append(action.id)
                continue
            self.store.finish_action(
                action.id, "failed", self.now,
                result="interrupted; done again from the outcome's journal",
            )  # fmt: skip
            self.report.counts[Count.RECONCILED] += 1
        self.store.forget_actions(forget)

    def _find_comment(self, task_gid: str, text: str) -> str | None:
        return self.runtime.backend.find_comment(task_gid, text)


_QUADRANT_COUNT = {
    "do": Count.QUADRANT_DO,
    "schedule": Count.QUADRANT_SCHEDULE,
    "delegate": Count.QUADRANT_DELEGATE,
    "eliminate": Count.QUADRANT_ELIMINATE,
}

_GONE_COUNT = {
    GoneReason.DELETED: Count.DELEGATIONS_DELETED,
    GoneReason.NO_ACCESS: Count.DELEGATIONS_NO_ACCESS,
}


def _gone_text(reason: GoneReason | None) -> str:
    if reason is GoneReason.NO_ACCESS:
        return "no longer visible to the token (403)"
    return "deleted in Asana (404)"
