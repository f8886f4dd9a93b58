"""The service's Prometheus metrics, in one registry.

A ``Metrics`` owns its own ``CollectorRegistry``, never prometheus_client's global one, so tests and
several services in one process keep their counts apart. It is fed from two places: each finished
cycle (``observe_cycle``, from its report) and each HTTP attempt to Asana (``observe_request``, the
Asana client's observer). Labels are few and bounded: client keys, action kinds, results,
endpoint templates ("/tasks/{gid}") and the names of Asana's announced changes, never a task gid,
a name or a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from delegator import __version__
from delegator.asana.http import RequestAttempt
from delegator.cycles import Count
from delegator.service import CycleReport, StepStatus

#: A cycle takes from a fraction of a second (idle: one request per source) to minutes (a first
#: read of a large workspace, or waits for a rate limit).
CYCLE_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
#: Webhook reaction times: a debounce of about 2 s plus a cycle.
REACTION_BUCKETS: Final = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0)
WEBHOOK_STATES: Final = ("off", "polled", "pending", "healthy", "degraded")


_FOLLOWUP_COUNTS = (
    ("reminder", Count.REMINDERS),
    ("escalation", Count.ESCALATIONS),
    ("reassign", Count.REASSIGNED),
    ("bounce", Count.BOUNCES),
)


class Metrics:
    """Every metric the service exposes at ``/metrics``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.cycles = Counter(
            "delegator_cycles",
            "Cycles finished, by client and result (ok, errors, partial: some writes failed, "
            "failed, interrupted).",
            ["client", "result"],
            registry=r,
        )
        self.cycle_duration = Histogram(
            "delegator_cycle_duration_seconds",
            "How long a cycle took.",
            ["client"],
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.tasks_seen = Counter(
            "delegator_tasks_seen", "Tasks read and decided, by client.", ["client"], registry=r
        )
        self.actions = Counter(
            "delegator_actions",
            "Changes to tasks, by client, kind (assign, tag, comment...) and result "
            "(done, failed, planned, queued, skipped).",
            ["client", "kind", "result"],
            registry=r,
        )
        self.asana_requests = Counter(
            "delegator_asana_requests",
            "HTTP attempts to Asana, by method, endpoint template and status ('error': no answer).",
            ["method", "endpoint", "status"],
            registry=r,
        )
        self.asana_rate_limited = Counter(
            "delegator_asana_rate_limited", "Asana answers 429 (rate limited).", registry=r
        )
        self.asana_retries = Counter(
            "delegator_asana_retries", "HTTP attempts that repeat an earlier one.", registry=r
        )
        self.asana_change_notices = Counter(
            "delegator_asana_change_notices",
            "Asana answers carrying an Asana-Change header (a coming breaking change), by the "
            "change's name.",
            ["name"],
            registry=r,
        )
        self.queued_tasks = Gauge(
            "delegator_queued_tasks",
            "Tasks waiting for a free assistant at the client's last cycle.",
            ["client"],
            registry=r,
        )
        self.last_success = Gauge(
            "delegator_last_success_timestamp_seconds",
            "When the client's last successful cycle finished (Unix time).",
            ["client"],
            registry=r,
        )
        self.summary_sends = Counter(
            "delegator_summary_sends",
            "Summaries and digests sent, by client, kind, destination and result.",
            ["client", "kind", "destination", "result"],
            registry=r,
        )
        self.followups = Counter(
            "delegator_followups",
            "The follow-up of delegated tasks, by client and step: reminder, escalation "
            '(an expectation missed), reassign (after a second miss), bounce ("not for me").',
            ["client", "step"],
            registry=r,
        )
        self.leases_held_now = Gauge(
            "delegator_leases_held",
            "Clients whose lease this replica holds (it runs their cycles).",
            registry=r,
        )
        self.leases_taken = Counter(
            "delegator_leases_taken",
            "Client leases this replica took, by how: 'free' (never held, or handed back) or "
            "'over' (another replica's lease had expired: it died or was cut off).",
            ["how"],
            registry=r,
        )
        self.leases_lost = Counter(
            "delegator_leases_lost",
            "Client leases this replica found taken by another when it renewed them (it was "
            "paused or cut off from the database past the lease).",
            registry=r,
        )
        self.webhook_requests = Counter(
            "delegator_webhook_requests",
            "Requests to the webhook receiver, by result: delivery, heartbeat, handshake, "
            "bad_signature (missing or forged), unknown (no such subscription), too_large, "
            "malformed, failed (answered 503 for a retry).",
            ["result"],
            registry=r,
        )
        self.webhook_reaction = Histogram(
            "delegator_webhook_reaction_seconds",
            "From a webhook delivery to the end of the cycle it woke.",
            buckets=REACTION_BUCKETS,
            registry=r,
        )
        self.webhooks_mode = Gauge(
            "delegator_webhooks_state",
            "1 for the state of each client's webhooks: healthy (polled only as a safety net), "
            "pending, degraded or polled (the client polls at its poll).",
            ["client", "state"],
            registry=r,
        )
        self._webhook_seen: dict[str, int] = {}
        self.build = Info("delegator_build", "The running version of delegator.", registry=r)
        self.build.info({"version": __version__})

    # ------------------------------------------------------------------ feeding
    def observe_cycle(self, report: CycleReport, seconds: float, finished_at: datetime) -> None:
        """Count one finished cycle from its report (before its task list is dropped)."""
        client = report.client
        result = report.result
        self.cycles.labels(client, result).inc()
        self.cycle_duration.labels(client).observe(max(0.0, seconds))
        self.tasks_seen.labels(client).inc(report.counts[Count.TASKS_SEEN])
        # Failed writes from the counts, per kind (``actions_failed_<kind>``): they hold every
        # failure of the cycle, also those of tasks whose report was not kept.
        failed = report.counts.failed_by_kind()
        for task in report.tasks:
            for step in task.steps:
                if step.status == StepStatus.FAILED and failed:
                    continue
                self.actions.labels(client, step.kind, step.status).inc()
        for kind, count in failed.items():
            self.actions.labels(client, kind, "failed").inc(count)
        unexplained = report.counts[Count.ACTIONS_FAILED] - sum(failed.values())
        if not failed and unexplained > 0:
            # no per-kind counts: what the kept steps do not show is counted as "unknown"
            shown = sum(1 for t in report.tasks for s in t.steps if s.status == StepStatus.FAILED)
            if unexplained > shown:
                self.actions.labels(client, "unknown", "failed").inc(unexplained - shown)
        for label, counted in _FOLLOWUP_COUNTS:
            if report.counts[counted]:
                self.followups.labels(client, label).inc(report.counts[counted])
        if result not in ("failed", "interrupted"):
            self.queued_tasks.labels(client).set(report.counts[Count.QUEUED])
            self.last_success.labels(client).set(finished_at.timestamp())

    def observe_request(self, attempt: RequestAttempt) -> None:
        """The Asana client's observer: one HTTP attempt."""
        status = str(attempt.status) if attempt.status is not None else "error"
        self.asana_requests.labels(attempt.method, attempt.endpoint, status).inc()
        if attempt.rate_limited:
            self.asana_rate_limited.inc()
        if attempt.retry:
            self.asana_retries.inc()
        for notice in attempt.changes:
            self.asana_change_notices.labels(notice.name).inc()

    def summary_sent(self, client: str, kind: str, destination: str, result: str) -> None:
        """One summary or digest delivery attempt (``destination`` is a kind, never a URL)."""
        self.summary_sends.labels(client, kind, destination, result).inc()

    def leases_held(self, count: int) -> None:
        self.leases_held_now.set(count)

    def lease_taken(self, over: bool) -> None:
        self.leases_taken.labels("over" if over else "free").inc()

    def lease_lost(self) -> None:
        self.leases_lost.inc()

    def webhook_reaction_seconds(self, seconds: float) -> None:
        self.webhook_reaction.observe(max(0.0, seconds))

    def webhooks_state(self, client: str, state: str) -> None:
        for mode in WEBHOOK_STATES:
            self.webhooks_mode.labels(client, mode).set(1 if mode == state else 0)

    def webhook_requests_seen(self, totals: Mapping[str, int]) -> None:
        """The receiver's running totals, by result: the counters move by what is new."""
        for result, total in totals.items():
            new = total - self._webhook_seen.get(result, 0)
            if new > 0:
                self.webhook_requests.labels(result).inc(new)
            self._webhook_seen[result] = total

    def forget_client(self, client: str) -> None:
        """A removed client's gauges go away, so no alert fires on a client that left."""
        for gauge in (self.queued_tasks, self.last_success):
            try:
                gauge.remove(client)
            except KeyError:
                continue
        for mode in WEBHOOK_STATES:
            try:
                self.webhooks_mode.remove(client, mode)
            except KeyError:
                continue

    # ------------------------------------------------------------------ reading
    def exposition(self) -> bytes:
        """The Prometheus text format of every metric (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)
