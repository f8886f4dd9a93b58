"""Client summaries and assistant digests: gathered from the store, rendered, sent once per period.

What a summary says is computed by the pure core (``core.summary``) from records this module
gathers: the store's delegations, journal, overrides and cycles, plus one read of the client's
watched sources for the Covey matrix and one batch read of the open delegated tasks for their
current due dates. Nothing here writes to a task.

Sending is exactly once per scheduled period and destination. Before a delivery the period is
claimed in the store (a unique row: two replicas never both send it); after it the row says
``sent``, ``failed`` (retried with exponential backoff at later ticks) or ``gave_up``. The first
time a schedule is seen its latest period is recorded as a ``baseline`` and not sent, so starting
the service does not send last week's summary; after a restart the latest missed period is sent
once. A delivery interrupted by a crash (a ``pending`` row left behind) is looked up first where
the destination allows it (an Asana status update with the same title) and only sent again if
it is not found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from delegator.clients import ClientEntry
from delegator.core.cron import Cron
from delegator.core.estimate import DEFAULT_TIME_FIELD
from delegator.core.model import Task
from delegator.core.schema import Destination as DestinationSpec
from delegator.core.summary import (
    AssistantDigest,
    AssistantLoad,
    ClientSummary,
    DelegatedTask,
    DigestInputs,
    DigestTask,
    OpenTask,
    Problem,
    StatusThresholds,
    SummaryInputs,
    TakenBack,
    WaitingTask,
    build_digest,
    build_summary,
)
from delegator.core.summary_render import Rendered, render_digest, render_summary
from delegator.logs import get_logger
from delegator.ports import (
    ActionRecord,
    BackendError,
    Delegation,
    DeliveryError,
    Destination,
    FindsPosted,
    Message,
    SendRecord,
    SendStatus,
    StateStore,
)
from delegator.redact import redact_outgoing
from delegator.service import ClientError, ClientRuntime, still_queued
from delegator.settings import Settings

Kind = Literal["summary", "digest"]
LEASE = timedelta(minutes=10)  # a send being delivered; a crash leaves it due again after this
MAX_BACKOFF = timedelta(hours=6)
DEFAULT_PERIOD = timedelta(days=7)


class DestinationFactory(Protocol):
    """Builds the destinations a client file names (the composition root's destinations.py)."""

    def key(self, spec: DestinationSpec, recipient: str) -> str:
        """The destination's stable, secret-free name: the store's key for what was sent."""
        ...

    def build(self, entry: ClientEntry, spec: DestinationSpec, recipient: str) -> Destination:
        """The destination; DeliveryError when it cannot be built."""
        ...


@dataclass(frozen=True, slots=True)
class Period:
    """What a summary covers: [start, end), and the scheduled run it belongs to, if any."""

    start: datetime
    end: datetime
    fire: datetime | None = None


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """One delivery attempt, for logs, metrics and the command line."""

    client: str
    kind: str
    recipient: str
    destination: str  # the destination's secret-free key
    status: str  # sent, failed, gave_up
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """A destination from a client file, with a stable secret-free key; built when used."""

    key: str
    kind: str
    spec: DestinationSpec  # the destination from the client file


@dataclass(frozen=True, slots=True)
class _Claim:
    """A claimed send, for recording its outcome."""

    entry: ClientEntry
    kind: str
    recipient: str
    target: Target
    send_id: int
    attempts: int

    def outcome(self, status: str, detail: str) -> SendOutcome:
        return SendOutcome(
            self.entry.key, self.kind, self.recipient, self.target.key, status, detail
        )


@dataclass
class _Job:
    kind: Kind
    recipient: str  # "" for the client summary, the assistant key for a digest
    cron: Cron
    tz: ZoneInfo
    settings: Any  # the summary: or digest: block


@dataclass(frozen=True, slots=True)
class _Gathered:
    """A digest claimed for sending, waiting to be combined with the same assistant's others."""

    entry: ClientEntry
    job: _Job
    recipient: str
    target: Target
    send_id: int
    period: Period


@dataclass
class _Rendering:
    """A period's message, rendered once however many destinations want it."""

    build: Callable[[], Rendered]
    value: Rendered | None = None

    def get(self) -> Rendered:
        if self.value is None:
            self.value = self.build()
        return self.value


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _within(moment: datetime | None, period: Period) -> bool:
    return moment is not None and period.start <= moment < period.end


def message_of(rendered: Rendered) -> Message:
    return Message(rendered.title, rendered.markdown, rendered.html, rendered.status_type)


@dataclass
class Summaries:
    """Builds, previews and sends every client's summaries and digests."""

    store: StateStore
    settings: Settings
    runtime_for: Callable[[ClientEntry], ClientRuntime]
    destinations: DestinationFactory
    clock: Callable[[], datetime]
    on_send: Callable[[SendOutcome], None] | None = None
    log: Any = field(default_factory=get_logger)

    # ------------------------------------------------------------------ periods
    def jobs(self, entry: ClientEntry) -> list[_Job]:
        head = entry.loaded.head
        if head is None or entry.engine is None:
            return []
        jobs: list[_Job] = []
        client_tz = ZoneInfo(head.client.timezone)
        if head.summary is not None:
            jobs.append(_Job("summary", "", head.summary.cron, client_tz, head.summary))
        if head.digest is not None:
            cron = head.digest.cron
            for key, assistant in head.assistants.items():
                tz = ZoneInfo(assistant.timezone) if assistant.timezone else client_tz
                jobs.append(_Job("digest", key, cron, tz, head.digest))
        return jobs

    def period_for(self, job: _Job, fire: datetime) -> Period:
        """The period a scheduled run covers: the block's ``period``, else since the previous run."""
        length = getattr(job.settings, "period", None)
        if length is not None:
            return Period(_utc(fire - length.timedelta()), _utc(fire), _utc(fire))
        previous = job.cron.latest_at_or_before(fire - timedelta(minutes=1), job.tz)
        start = previous if previous is not None else fire - DEFAULT_PERIOD
        return Period(_utc(start), _utc(fire), _utc(fire))

    def preview_period(self, entry: ClientEntry, length: timedelta | None) -> Period:
        """For ``delegator summary``: the given length up to now, else the schedule's period."""
        now = self.clock()
        if length is not None:
            return Period(_utc(now - length), _utc(now))
        for job in self.jobs(entry):
            if job.kind == "summary":
                period = self.period_for(job, now)
                return Period(period.start, _utc(now))
        return Period(_utc(now - DEFAULT_PERIOD), _utc(now))

    # ------------------------------------------------------------------ gathering
    def summary(self, entry: ClientEntry, period: Period) -> ClientSummary:
        return build_summary(self.summary_inputs(entry, period), self.thresholds)

    @property
    def thresholds(self) -> StatusThresholds:
        return StatusThresholds(
            at_risk_overdue=self.settings.summary_at_risk_overdue,
            off_track_overdue=self.settings.summary_off_track_overdue,
        )

    def summary_inputs(self, entry: ClientEntry, period: Period) -> SummaryInputs:
        head = entry.loaded.head
        if head is None:
            raise ClientError(f"{entry.path}: the rule file has errors")
        key = entry.key
        problems: list[Problem] = []
        if entry.errors:
            left_out = ", ".join(name for _, name in entry.loaded.left_out) or "none"
            problems.append(
                Problem(
                    "rules",
                    f"{len(entry.errors)} error(s) in {entry.path.name}; rules left out: "
                    f"{left_out}; first: {entry.errors[0]}",
                )
            )
        runtime: ClientRuntime | None = None
        try:
            runtime = self.runtime_for(entry)
            runtime.refresh(self.clock())
            problems.extend(Problem("source", text) for text in runtime.problems)
        except (ClientError, BackendError) as exc:
            problems.append(Problem(_problem_kind(exc), str(exc)))
            runtime = None

        all_delegations = self.store.delegations(key, status=None)
        relevant = [
            d
            for d in all_delegations
            if d.status == "open" or _within(d.delegated_at, period) or _within(d.closed_at, period)
        ]
        fresh = self._fresh([d.task_gid for d in relevant if d.status == "open"], runtime)
        urls = {d.task_gid: d.permalink_url for d in all_delegations if d.permalink_url}
        open_tasks: list[OpenTask] | None = None
        if runtime is not None:
            try:
                open_tasks = self._open_tasks(runtime, urls)
            except (BackendError, ClientError) as exc:
                problems.append(Problem(_problem_kind(exc), f"reading the sources: {exc}"))
        names = self._assistant_names(entry, runtime)
        delegations = [self._delegated(d, fresh.get(d.task_gid), names) for d in relevant]
        problems.extend(
            Problem("task", _gone_problem(d, names))
            for d in relevant
            if d.status in ("deleted", "no_access") and _within(d.closed_at, period)
        )
        open_gids = {d.task_gid for d in all_delegations if d.status == "open"}
        waiting = self._waiting(key, period, urls, open_gids)
        taken_back = [
            TakenBack(o.task_gid, o.task_name, urls.get(o.task_gid, _task_url(o.task_gid)),
                      o.rule, o.reason, o.detected_at)
            for o in self.store.overrides(key, since=period.start)
            if o.detected_at < period.end
        ]  # fmt: skip
        problems.extend(self._cycle_problems(key, period))
        problems.extend(self._delivery_problems(key, period))
        load = self.store.assistant_load(key)
        assistants = [
            AssistantLoad(k, names.get(k, k), load.get(k, 0), a.capacity)
            for k, a in head.assistants.items()
        ]
        return SummaryInputs(
            client=head.client.name,
            timezone=head.client.timezone,
            period_start=period.start,
            period_end=period.end,
            delegations=delegations,
            waiting=waiting,
            taken_back=taken_back,
            problems=[Problem(p.what, redact_outgoing(p.text)) for p in problems],
            open_tasks=open_tasks,
            assistants=assistants,
            due_soon_days=head.summary.due_soon_days if head.summary is not None else 3,
            time_field=head.summary.time_field if head.summary is not None else DEFAULT_TIME_FIELD,
        )

    def _assistant_names(self, entry: ClientEntry, runtime: ClientRuntime | None) -> dict[str, str]:
        head = entry.loaded.head
        assert head is not None
        known = runtime.directory.assistants if runtime is not None else {}
        names: dict[str, str] = {}
        for key, assistant in head.assistants.items():
            person = known.get(key)
            names[key] = assistant.name or (person.name if person is not None else "") or key
        return names

    def _fresh(self, gids: Sequence[str], runtime: ClientRuntime | None) -> dict[str, Task]:
        """The current state of open delegated tasks: ten per batch request."""
        if not gids or runtime is None:
            return {}
        try:
            states = runtime.backend.read_tasks(list(gids), brief=True)
        except BackendError:
            return {}
        return {state.gid: state.task for state in states if state.task is not None}

    def _open_tasks(self, runtime: ClientRuntime, urls: dict[str, str]) -> list[OpenTask]:
        """Every open task of the watched sources, in its quadrant (one read per source page)."""
        engine = runtime.engine
        now = self.clock()
        ctx = engine.context(now, runtime.directory)
        owner = runtime.directory.owner.gid
        seen: dict[str, OpenTask] = {}
        for source in runtime.sources:
            for task in runtime.backend.read_open(source):
                if task.completed or task.gid in seen:
                    continue
                if task.permalink_url:
                    urls.setdefault(task.gid, task.permalink_url)
                quadrant = engine.decide(task, ctx).quadrant
                held = task.assignee is not None and task.assignee.gid == owner
                seen[task.gid] = OpenTask(
                    task.gid, task.name, task.permalink_url or _task_url(task.gid),
                    quadrant,  # type: ignore[arg-type]
                    held,
                )  # fmt: skip
        return list(seen.values())

    @staticmethod
    def _delegated(
        delegation: Delegation, task: Task | None, names: Mapping[str, str]
    ) -> DelegatedTask:
        status = delegation.status
        closed_at = delegation.closed_at
        due_on: date | None = delegation.due_on
        name = delegation.task_name
        if task is not None:
            due_on = task.due_on
            name = task.name or name
            if task.completed and status == "open":
                status, closed_at = "done", task.completed_at
        minutes_from = delegation.minutes_from
        return DelegatedTask(
            gid=delegation.task_gid,
            name=name,
            url=delegation.permalink_url or _task_url(delegation.task_gid),
            rule=delegation.rule,
            assistant=delegation.assistant,
            assistant_name=names.get(delegation.assistant, delegation.assistant),
            delegated_at=delegation.delegated_at,
            due_on=due_on,
            status=status,
            closed_at=closed_at,
            minutes=delegation.minutes,
            minutes_from=minutes_from if minutes_from in ("field", "rule") else None,  # type: ignore[arg-type]
        )

    def _waiting(
        self, key: str, period: Period, urls: Mapping[str, str], delegated: set[str]
    ) -> list[WaitingTask]:
        """Tasks in the queue at the period's end, and what shadow rules would have done in it.
        ``delegated``: the tasks with an open delegation (no longer waiting)."""
        waiting: list[WaitingTask] = []
        for gid, action in still_queued(self.store, key, period.end).items():
            if gid in delegated:
                continue
            reason = str(action.result or action.detail.get("reason", ""))
            waiting.append(
                WaitingTask(gid, action.task_name, urls.get(gid, _task_url(gid)), action.rule,
                            "queued", reason, action.created_at)
            )  # fmt: skip
        shadows: dict[str, ActionRecord] = {}
        # A shadow rule journals each change it would have made (mode "shadow", never sent).
        for action in self.store.actions(client=key, since=period.start):
            if action.mode == "shadow" and action.created_at < period.end:
                shadows.setdefault(action.task_gid, action)
        for gid, action in shadows.items():
            waiting.append(
                WaitingTask(gid, action.task_name, urls.get(gid, _task_url(gid)), action.rule,
                            "shadow", f"rule {action.rule} is in shadow mode", action.created_at)
            )  # fmt: skip
        return waiting

    def _cycle_problems(self, key: str, period: Period) -> list[Problem]:
        """The period's cycle errors, alike ones grouped, after one line on the writes that
        failed (from the cycles' counts, so none goes unsaid)."""
        failed, cycles_failing = 0, 0
        by_kind: dict[str, int] = {}
        groups: dict[str, list[str]] = {}
        for cycle in self.store.cycles(key, limit=500):
            if not _within(cycle.started_at, period):
                continue
            count = int(cycle.counts.get("actions_failed", 0))
            if count:
                failed += count
                cycles_failing += 1
                for name, value in cycle.counts.items():
                    if name.startswith("actions_failed_") and value:
                        kind = name.removeprefix("actions_failed_")
                        by_kind[kind] = by_kind.get(kind, 0) + int(value)
            for error in cycle.errors:
                text = redact_outgoing(error.strip())
                if text:
                    groups.setdefault(_error_group(text), []).append(text)
        problems: list[Problem] = []
        if failed:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(by_kind.items()))
            problems.append(
                Problem(
                    "write",
                    f"{failed} change{'s' if failed != 1 else ''} to tasks failed in "
                    f"{cycles_failing} cycle{'s' if cycles_failing != 1 else ''}"
                    + (f" ({kinds})" if kinds else "")
                    + "; each is tried again at the next cycle",
                )
            )
        for group, texts in groups.items():
            distinct = list(dict.fromkeys(texts))
            shown = distinct[0] if len(distinct) == 1 else group
            if len(texts) > 1:
                shown = f"{shown} ({len(texts)} times)"
            if _WRITE_ERROR.match(texts[0]):
                problems.append(Problem("write", shown))
            else:
                problems.append(Problem(_problem_kind(texts[0]), shown))
        return problems[:10]

    def _delivery_problems(self, key: str, period: Period) -> list[Problem]:
        return [
            Problem(
                "delivery",
                redact_outgoing(f"{s.kind} to {s.destination}: {s.last_error or s.status}"),
            )
            for s in self.store.sends(key, statuses=("failed", "gave_up"), limit=20)
            if s.created_at >= period.start
        ]

    # ------------------------------------------------------------------ digests
    def digest(
        self, entry: ClientEntry, assistant: str, since: datetime, now: datetime | None = None
    ) -> AssistantDigest:
        return build_digest(self.digest_inputs(entry, assistant, since, now or self.clock()))

    def digest_inputs(
        self, entry: ClientEntry, assistant: str, since: datetime, now: datetime
    ) -> DigestInputs:
        head = entry.loaded.head
        if head is None or assistant not in head.assistants:
            raise ClientError(f"{entry.key}: no assistant {assistant!r}")
        spec = head.assistants[assistant]
        runtime: ClientRuntime | None
        try:
            runtime = self.runtime_for(entry)
            runtime.refresh(now)
        except (ClientError, BackendError):
            runtime = None
        mine = [d for d in self.store.delegations(entry.key, status="open")
                if d.assistant == assistant]  # fmt: skip
        fresh = self._fresh([d.task_gid for d in mine], runtime)
        reasons = self._reasons(entry)
        tasks: list[DigestTask] = []
        for d in mine:
            task = fresh.get(d.task_gid)
            if task is not None and task.completed:
                continue
            tasks.append(
                DigestTask(
                    gid=d.task_gid,
                    name=(task.name if task is not None and task.name else d.task_name),
                    url=d.permalink_url or _task_url(d.task_gid),
                    client=head.client.name,
                    rule=d.rule,
                    reason=reasons.get(d.rule, ""),
                    delegated_at=d.delegated_at,
                    due_on=task.due_on if task is not None else d.due_on,
                )
            )
        names = self._assistant_names(entry, runtime)
        return DigestInputs(
            assistant=assistant,
            name=names.get(assistant, assistant),
            timezone=spec.timezone or head.client.timezone,
            since=since,
            now=now,
            tasks=tasks,
            load=len(mine),
            capacity=spec.capacity,
        )

    @staticmethod
    def _reasons(entry: ClientEntry) -> dict[str, str]:
        if entry.engine is None:
            return {}
        return {r.name: (r.rule.description or "").strip() for r in entry.engine.rules}

    # ------------------------------------------------------------------ rendering
    def render_summary(self, entry: ClientEntry, period: Period) -> Rendered:
        head = entry.loaded.head
        templates = head.summary.template if head is not None and head.summary else None
        return render_summary(self.summary(entry, period), templates)

    def render_digest(self, entry: ClientEntry, assistant: str, period: Period) -> Rendered:
        head = entry.loaded.head
        templates = head.digest.template if head is not None and head.digest else None
        return render_digest(self.digest(entry, assistant, period.start, period.end), templates)

    # ------------------------------------------------------------------ destinations
    def targets(self, entry: ClientEntry, kind: Kind, recipient: str = "") -> list[Target]:
        head = entry.loaded.head
        block = (head.summary if kind == "summary" else head.digest) if head else None
        if block is None:
            return []
        return [
            Target(self.destinations.key(spec, recipient), spec.kind, spec) for spec in block.to
        ]

    def destination(self, entry: ClientEntry, target: Target, recipient: str) -> Destination:
        """The destination a target names, built by the composition root's factory."""
        return self.destinations.build(entry, target.spec, recipient)

    # ------------------------------------------------------------------ sending
    def tick(self, entries: Iterable[ClientEntry]) -> list[SendOutcome]:
        """Send what is due for every client: scheduled periods not yet sent, and retries.

        One client's failure is logged and the others go on."""
        outcomes: list[SendOutcome] = []
        # Digests emailed to the same assistant by several clients at the same moment go as one.
        combined: dict[tuple[str, datetime], list[_Gathered]] = {}
        for entry in entries:
            try:
                outcomes.extend(self.tick_client(entry, combined))
            except Exception as exc:  # one client's problem never stops the others
                self.log.error("summary_tick_failed", client=entry.key, error=str(exc))
        for group in combined.values():
            try:
                outcomes.extend(self._deliver_combined(group))
            except Exception as exc:
                self.log.error("summary_tick_failed", clients=[g.entry.key for g in group],
                               error=str(exc))  # fmt: skip
        return outcomes

    def tick_client(
        self,
        entry: ClientEntry,
        combined: dict[tuple[str, datetime], list[_Gathered]] | None = None,
    ) -> list[SendOutcome]:
        """What is due for one client. With ``combined``, digests emailed to each assistant's own
        address are claimed and collected there instead of sent, for ``tick`` to send as one."""
        now = self.clock()
        outcomes: list[SendOutcome] = []
        jobs = self.jobs(entry)
        if not jobs:
            return outcomes
        # Sends whose backoff is over or whose lease expired: one query for all the client's jobs.
        due = self.store.sends(entry.key, statuses=("pending", "failed"), due_by=now)
        for job in jobs:
            fire = job.cron.latest_at_or_before(now, job.tz)
            if fire is not None:
                outcomes.extend(self._scheduled(entry, job, _utc(fire), now, combined))
            mine = [r for r in due if (r.kind, r.recipient) == (job.kind, job.recipient)]
            outcomes.extend(self._retries(entry, job, now, mine))
        return outcomes

    def _scheduled(
        self,
        entry: ClientEntry,
        job: _Job,
        fire: datetime,
        now: datetime,
        combined: dict[tuple[str, datetime], list[_Gathered]] | None = None,
    ) -> list[SendOutcome]:
        """The latest scheduled period, claimed and sent to each destination not yet sent it."""
        outcomes: list[SendOutcome] = []
        period = self.period_for(job, fire)
        rendering = self._rendering(entry, job, period)
        for target in self.targets(entry, job.kind, job.recipient):
            last = self.store.last_send(entry.key, job.kind, job.recipient, target.key)
            if last is not None and last.period >= fire:
                continue
            # The first period a schedule (or a new destination) sees is only recorded: the
            # service does not send last week's summary the moment it starts.
            status: SendStatus = "baseline" if last is None else "pending"
            claimed = self.store.claim_send(
                client=entry.key, kind=job.kind, recipient=job.recipient,
                destination=target.key, period=fire, period_start=period.start, at=now,
                status=status, next_attempt_at=now + LEASE if status == "pending" else None,
            )  # fmt: skip
            if claimed is None or status == "baseline":
                continue
            address = self._own_address(entry, job, target)
            if combined is not None and address is not None:
                gathered = _Gathered(entry, job, job.recipient, target, claimed, period)
                combined.setdefault((address, fire), []).append(gathered)
                continue
            outcomes.append(
                self._deliver(entry, job.kind, job.recipient, target, claimed, 0, rendering)
            )
        return outcomes

    @staticmethod
    def _own_address(entry: ClientEntry, job: _Job, target: Target) -> str | None:
        """The assistant's address when this is a digest emailed to them, else None."""
        email = target.spec.email
        head = entry.loaded.head
        if job.kind != "digest" or email is None or not email.to_assistant or head is None:
            return None
        user = head.assistants[job.recipient].user if job.recipient in head.assistants else ""
        return user.lower() if "@" in user else None

    def _retries(
        self, entry: ClientEntry, job: _Job, now: datetime, due: Sequence[SendRecord]
    ) -> list[SendOutcome]:
        """This job's failed sends whose backoff is over, and sends a crash cut short."""
        outcomes: list[SendOutcome] = []
        targets = {t.key: t for t in self.targets(entry, job.kind, job.recipient)}
        for record in due:
            target = targets.get(record.destination)
            if target is None:
                continue  # a destination no longer configured
            if not self.store.lease_send(record.id, at=now, until=now + LEASE):
                continue  # another replica took it
            period = Period(record.period_start, record.period, record.period)
            rendering = self._rendering(entry, job, period)
            if record.status == "pending":
                found = self._already_posted(entry, target, rendering, record)
                if found is not None:
                    self.store.finish_send(record.id, "sent", now, receipt=found)
                    continue
            outcomes.append(
                self._deliver(entry, job.kind, job.recipient, target, record.id,
                              record.attempts, rendering)
            )  # fmt: skip
        return outcomes

    def _already_posted(
        self, entry: ClientEntry, target: Target, rendering: _Rendering, record: SendRecord
    ) -> str | None:
        """A delivery a crash interrupted may have gone through: Asana can tell; email and
        webhooks cannot, so those are sent again (at least once in that narrow case)."""
        try:
            destination = self.destination(entry, target, record.recipient)
            if not isinstance(destination, FindsPosted):
                return None
            # The numbers in a title may have moved since the crash: a status update or task
            # this token made on that project since the claim is the one (the worker makes
            # neither); a comment must open with the same title (the worker comments too).
            title = rendering.get().title if target.kind == "asana_comment" else None
            found = destination.find_posted(title, record.created_at)
        except (DeliveryError, BackendError):
            return None
        return str(found) if found is not None else None

    def _rendering(self, entry: ClientEntry, job: _Job, period: Period) -> _Rendering:
        return _Rendering(lambda: self._render(entry, job, period))

    def _render(self, entry: ClientEntry, job: _Job, period: Period) -> Rendered:
        if job.kind == "summary":
            return self.render_summary(entry, period)
        return self.render_digest(entry, job.recipient, period)

    def _deliver(
        self,
        entry: ClientEntry,
        kind: str,
        recipient: str,
        target: Target,
        send_id: int,
        attempts: int,
        rendering: _Rendering,
    ) -> SendOutcome:
        def send() -> str | None:
            rendered = rendering.get()
            for problem in rendered.template_errors:
                self.log.warning("template_failed", client=entry.key, kind=kind, error=problem)
            if kind == "digest" and rendered.empty and not self._send_empty(entry):
                return None
            destination = self.destination(entry, target, recipient)
            return str(destination.deliver(message_of(rendered)))

        claim = _Claim(entry, kind, recipient, target, send_id, attempts)
        return self._attempt([claim], send)[0]

    def _attempt(
        self, claims: Sequence[_Claim], send: Callable[[], str | None]
    ) -> list[SendOutcome]:
        """One delivery for one or more claimed sends (a combined digest covers several
        clients' rows): each is recorded as sent, failed (with its next try) or given up."""
        now = self.clock()
        outcomes: list[SendOutcome] = []
        try:
            receipt = send()
        except DeliveryError as exc:
            said = redact_outgoing(str(exc))  # a server's reply may echo a secret back
            for claim in claims:
                tries = claim.attempts + 1
                if exc.retryable and tries < self.settings.summary_attempts:
                    wait = min(self.settings.summary_backoff * (2 ** (tries - 1)), MAX_BACKOFF)
                    if exc.retry_after is not None:
                        wait = max(wait, timedelta(seconds=exc.retry_after))
                    self.store.finish_send(claim.send_id, "failed", now, error=said,
                                           next_attempt_at=now + wait)  # fmt: skip
                    outcomes.append(
                        self._record(claim.outcome("failed", f"{said}; next try in {wait}"))
                    )
                else:
                    self.store.finish_send(claim.send_id, "gave_up", now, error=said)
                    outcomes.append(self._record(claim.outcome("gave_up", said)))
            return outcomes
        for claim in claims:
            if receipt is None:
                self.store.finish_send(claim.send_id, "sent", now, receipt="nothing to say")
                detail = "nothing new, due or overdue: not sent"
            else:
                self.store.finish_send(claim.send_id, "sent", now, receipt=receipt)
                detail = (
                    receipt
                    if len(claims) == 1
                    else f"{receipt} (one digest for {len(claims)} clients)"
                )
            outcomes.append(self._record(claim.outcome("sent", detail)))
        return outcomes

    def _deliver_combined(self, group: Sequence[_Gathered]) -> list[SendOutcome]:
        """One email to an assistant who works for several clients whose digests fall due at the
        same moment: every client's tasks in one digest."""
        if len(group) == 1:
            only = group[0]
            return [
                self._deliver(only.entry, "digest", only.recipient, only.target, only.send_id, 0,
                              self._rendering(only.entry, only.job, only.period))
            ]  # fmt: skip
        first = group[0]

        def send() -> str | None:
            parts = [
                self.digest_inputs(g.entry, g.recipient, g.period.start, g.period.end)
                for g in group
            ]
            merged = DigestInputs(
                assistant=parts[0].assistant,
                name=parts[0].name,
                timezone=parts[0].timezone,
                since=min(p.since for p in parts),
                now=max(p.now for p in parts),
                tasks=[t for p in parts for t in p.tasks],
                load=sum(p.load for p in parts),
                capacity=sum(p.capacity for p in parts),
            )
            head = first.entry.loaded.head
            templates = head.digest.template if head is not None and head.digest else None
            rendered = render_digest(build_digest(merged), templates)
            if rendered.empty and not any(self._send_empty(g.entry) for g in group):
                return None
            destination = self.destination(first.entry, first.target, first.recipient)
            return str(destination.deliver(message_of(rendered)))

        claims = [_Claim(g.entry, "digest", g.recipient, g.target, g.send_id, 0) for g in group]
        self.log.info("digests_combined", clients=[g.entry.key for g in group])
        return self._attempt(claims, send)

    @staticmethod
    def _send_empty(entry: ClientEntry) -> bool:
        head = entry.loaded.head
        return bool(head is not None and head.digest is not None and head.digest.send_empty)

    def _record(self, outcome: SendOutcome) -> SendOutcome:
        log = self.log.bind(client=outcome.client, kind=outcome.kind,
                            recipient=outcome.recipient or None, destination=outcome.destination)  # fmt: skip
        if outcome.status == "sent":
            log.info("summary_sent", detail=outcome.detail)
        elif outcome.status == "failed":
            log.warning("summary_send_failed", error=outcome.detail)
        else:
            log.error("summary_send_gave_up", error=outcome.detail)
        if self.on_send is not None:
            self.on_send(outcome)
        return outcome

    def send_now(
        self, entry: ClientEntry, period: Period, *, kinds: Sequence[str] | None = None
    ) -> list[SendOutcome]:
        """``delegator summary --send``: this period's summary to every destination now.

        Recorded like a scheduled send (with the current time as its period), so a scheduled
        run already missed is not sent again on top of it."""
        now = self.clock()
        outcomes: list[SendOutcome] = []
        rendering = _Rendering(lambda: self.render_summary(entry, period))
        for target in self.targets(entry, "summary"):
            if kinds is not None and target.kind not in kinds:
                continue
            claimed = self.store.claim_send(
                client=entry.key, kind="summary", recipient="", destination=target.key,
                period=_utc(now), period_start=period.start, at=now, next_attempt_at=now + LEASE,
            )  # fmt: skip
            if claimed is None:
                continue
            outcomes.append(self._deliver(entry, "summary", "", target, claimed, 0, rendering))
        return outcomes


# A write that failed, as the service words it: "task 1234: tag failed (...): why".
_WRITE_ERROR = re.compile(r"^task \d+: \w+ failed\b")
_TASK_PREFIX = re.compile(r"^task \d+: ")
_LONG_NUMBER = re.compile(r"\b\d{6,}\b")


def _error_group(text: str) -> str:
    """What alike errors share: the text without the task and the gids it names."""
    return _LONG_NUMBER.sub("…", _TASK_PREFIX.sub("", text))


def _problem_kind(exc: Exception | str) -> Literal["token", "source", "cycle"]:
    if isinstance(exc, BackendError) and exc.fatal:
        return "token"
    lowered = str(exc).lower()
    if "token" in lowered or "401" in lowered or "not authorized" in lowered:
        return "token"
    if lowered.startswith(("project", "section", "tag", "my tasks", "watch")):
        return "source"
    return "cycle"


def _gone_problem(delegation: Delegation, names: Mapping[str, str]) -> str:
    who = names.get(delegation.assistant, delegation.assistant)
    if delegation.status == "deleted":
        what = "was deleted in Asana"
    else:
        what = "is no longer visible to the service's token"
    return (
        f'"{delegation.task_name}" (delegated to {who} by rule "{delegation.rule}") {what}; '
        "it no longer counts against their capacity"
    )


def _task_url(gid: str) -> str:
    return f"https://app.asana.com/0/0/{gid}/f"
