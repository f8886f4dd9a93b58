"""The summaries' facade: what is due at each tick, sent to each destination, digests combined.

What a summary says is computed by the pure core (``core.summary``) from the records ``gather``
reads; ``rendering`` writes it in the client file's templates; the ``ledger`` makes each
scheduled period go once to each destination. Nothing here writes to a task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from delegator.clients import ClientEntry
from delegator.core.schema import Destination as DestinationSpec
from delegator.core.summary import (
    AssistantDigest,
    ClientSummary,
    DigestInputs,
    Problem,
    StatusThresholds,
    SummaryInputs,
    build_digest,
    build_summary,
)
from delegator.core.summary_render import Rendered
from delegator.logs import get_logger
from delegator.ports import Destination, SendRecord, StateStore
from delegator.service import ClientRuntime
from delegator.settings import Settings
from delegator.summaries import periods
from delegator.summaries.gather import Gather, combined_digest_inputs, cycle_problems
from delegator.summaries.ledger import Claim, Ledger, SendOutcome, Target, already_posted
from delegator.summaries.periods import Job, Kind, Period, utc
from delegator.summaries.rendering import Rendering, digest_text, message_of, summary_text


class DestinationFactory(Protocol):
    """Builds the destinations a client file names (the composition root's destinations.py)."""

    def key(self, spec: DestinationSpec, recipient: str) -> str:
        """The destination's stable, secret-free name: the ledger's key for what was sent."""
        ...

    def build(self, entry: ClientEntry, spec: DestinationSpec, recipient: str) -> Destination:
        """The destination; DeliveryError when it cannot be built."""
        ...


@dataclass(frozen=True, slots=True)
class _Gathered:
    """A digest claimed for sending, waiting to be combined with the same assistant's others."""

    entry: ClientEntry
    job: Job
    recipient: str
    target: Target
    send_id: int
    period: Period


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

    @property
    def _gather(self) -> Gather:
        return Gather(self.store, self.settings, self.runtime_for, self.clock)

    @property
    def _ledger(self) -> Ledger:
        return Ledger(self.store, self.settings, self.clock, self._record)

    # ------------------------------------------------------------------ periods
    def jobs(self, entry: ClientEntry) -> list[Job]:
        return periods.jobs(entry)

    def period_for(self, job: Job, fire: datetime) -> Period:
        """The period a scheduled run covers: the block's ``period``, else since the previous run."""
        return periods.period_for(job, fire)

    def preview_period(self, entry: ClientEntry, length: timedelta | None) -> Period:
        """For ``delegator summary``: the given length up to now, else the schedule's period."""
        return periods.preview_period(entry, self.clock(), length)

    # ------------------------------------------------------------------ gathering
    def summary(self, entry: ClientEntry, period: Period) -> ClientSummary:
        return build_summary(self.summary_inputs(entry, period), self.thresholds)

    @property
    def thresholds(self) -> StatusThresholds:
        return self._gather.thresholds

    def summary_inputs(self, entry: ClientEntry, period: Period) -> SummaryInputs:
        return self._gather.summary_inputs(entry, period)

    def _cycle_problems(self, key: str, period: Period) -> list[Problem]:
        return cycle_problems(self.store, key, period)

    def digest(
        self, entry: ClientEntry, assistant: str, since: datetime, now: datetime | None = None
    ) -> AssistantDigest:
        return build_digest(self.digest_inputs(entry, assistant, since, now or self.clock()))

    def digest_inputs(
        self, entry: ClientEntry, assistant: str, since: datetime, now: datetime
    ) -> DigestInputs:
        return self._gather.digest_inputs(entry, assistant, since, now)

    # ------------------------------------------------------------------ rendering
    def render_summary(self, entry: ClientEntry, period: Period) -> Rendered:
        return summary_text(entry, self.summary(entry, period))

    def render_digest(self, entry: ClientEntry, assistant: str, period: Period) -> Rendered:
        return digest_text(entry, self.digest(entry, assistant, period.start, period.end))

    def _rendering(self, entry: ClientEntry, job: Job, period: Period) -> Rendering:
        if job.kind == "summary":
            return Rendering(lambda: self.render_summary(entry, period))
        return Rendering(lambda: self.render_digest(entry, job.recipient, period))

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
        due = self._ledger.due(entry.key, now)
        for job in jobs:
            fire = job.cron.latest_at_or_before(now, job.tz)
            if fire is not None:
                outcomes.extend(self._scheduled(entry, job, utc(fire), now, combined))
            mine = [r for r in due if (r.kind, r.recipient) == (job.kind, job.recipient)]
            outcomes.extend(self._retries(entry, job, now, mine))
        return outcomes

    def _scheduled(
        self,
        entry: ClientEntry,
        job: Job,
        fire: datetime,
        now: datetime,
        combined: dict[tuple[str, datetime], list[_Gathered]] | None = None,
    ) -> list[SendOutcome]:
        """The latest scheduled period, claimed and sent to each destination not yet sent it."""
        outcomes: list[SendOutcome] = []
        period = self.period_for(job, fire)
        rendering = self._rendering(entry, job, period)
        ledger = self._ledger
        for target in self.targets(entry, job.kind, job.recipient):
            claimed = ledger.claim_scheduled(
                entry.key, job.kind, job.recipient, target, fire, period, now
            )
            if claimed is None:
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
    def _own_address(entry: ClientEntry, job: Job, target: Target) -> str | None:
        """The assistant's address when this is a digest emailed to them, else None."""
        email = target.spec.email
        head = entry.loaded.head
        if job.kind != "digest" or email is None or not email.to_assistant or head is None:
            return None
        user = head.assistants[job.recipient].user if job.recipient in head.assistants else ""
        return user.lower() if "@" in user else None

    def _retries(
        self, entry: ClientEntry, job: Job, now: datetime, due: Sequence[SendRecord]
    ) -> list[SendOutcome]:
        """This job's failed sends whose backoff is over, and sends a crash cut short."""
        outcomes: list[SendOutcome] = []
        ledger = self._ledger
        targets = {t.key: t for t in self.targets(entry, job.kind, job.recipient)}
        for record in due:
            target = targets.get(record.destination)
            if target is None:
                continue  # a destination no longer configured
            if not ledger.lease(record, now):
                continue  # another replica took it
            period = Period(record.period_start, record.period, record.period)
            rendering = self._rendering(entry, job, period)
            if record.status == "pending":
                found = self._already_posted(entry, target, rendering, record)
                if found is not None:
                    ledger.found(record, found, now)
                    continue
            outcomes.append(
                self._deliver(entry, job.kind, job.recipient, target, record.id,
                              record.attempts, rendering)
            )  # fmt: skip
        return outcomes

    def _already_posted(
        self, entry: ClientEntry, target: Target, rendering: Rendering, record: SendRecord
    ) -> str | None:
        # The numbers in a title may have moved since the crash: a status update or task this
        # token made on that project since the claim is the one (the worker makes neither); a
        # comment must open with the same title (the worker comments too).
        def title() -> str:
            return rendering.get().title

        return already_posted(
            lambda: self.destination(entry, target, record.recipient),
            title if target.kind == "asana_comment" else None,
            record.created_at,
        )

    def _deliver(
        self,
        entry: ClientEntry,
        kind: str,
        recipient: str,
        target: Target,
        send_id: int,
        attempts: int,
        rendering: Rendering,
    ) -> SendOutcome:
        def send() -> str | None:
            rendered = rendering.get()
            for problem in rendered.template_errors:
                self.log.warning("template_failed", client=entry.key, kind=kind, error=problem)
            if kind == "digest" and rendered.empty and not self._send_empty(entry):
                return None
            destination = self.destination(entry, target, recipient)
            return str(destination.deliver(message_of(rendered)))

        claim = Claim(entry, kind, recipient, target, send_id, attempts)
        return self._ledger.attempt([claim], send)[0]

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
            rendered = digest_text(first.entry, build_digest(combined_digest_inputs(parts)))
            if rendered.empty and not any(self._send_empty(g.entry) for g in group):
                return None
            destination = self.destination(first.entry, first.target, first.recipient)
            return str(destination.deliver(message_of(rendered)))

        claims = [Claim(g.entry, "digest", g.recipient, g.target, g.send_id, 0) for g in group]
        self.log.info("digests_combined", clients=[g.entry.key for g in group])
        return self._ledger.attempt(claims, send)

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
        rendering = Rendering(lambda: self.render_summary(entry, period))
        for target in self.targets(entry, "summary"):
            if kinds is not None and target.kind not in kinds:
                continue
            claimed = self._ledger.claim_now(entry.key, target, period, now)
            if claimed is None:
                continue
            outcomes.append(self._deliver(entry, "summary", "", target, claimed, 0, rendering))
        return outcomes

    def send_digests_now(self, entry: ClientEntry, period: Period) -> list[SendOutcome]:
        """``delegator summary --send --digests``: each assistant's digest of this period to
        every destination of the client's ``digest:`` block, now; recorded like ``send_now``.
        An assistant with nothing to do this period gets no digest unless the block says
        ``send_empty``."""
        head = entry.loaded.head
        if head is None:
            return []
        now = self.clock()
        outcomes: list[SendOutcome] = []
        for assistant in head.assistants:
            rendering = Rendering(partial(self.render_digest, entry, assistant, period))
            for target in self.targets(entry, "digest", assistant):
                claimed = self._ledger.claim_now(
                    entry.key, target, period, now, kind="digest", recipient=assistant
                )
                if claimed is None:
                    continue
                outcomes.append(
                    self._deliver(entry, "digest", assistant, target, claimed, 0, rendering)
                )
        return outcomes
