"""APScheduler wiring: one job per client at its poll interval, and a watcher for rule files.

Jobs run with ``max_instances=1`` and ``coalesce``: a slow cycle is never run twice at once and
missed runs collapse into one. Jitter spreads clients with the same interval. The rules folder
is re-read every few seconds: added, changed and removed files are picked up without a restart,
and an invalid new version leaves the last valid one running.

Stopping is graceful: no new cycle starts, running cycles end at their next safe point (see
``Cycle.should_stop``), and ``stop`` says whether they did within the grace period.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from delegator.bootstrap import Fleet
from delegator.clients import ClientEntry, disabled, load_clients, reload_clients
from delegator.clock import SystemClock
from delegator.cycles import Count, ErrorKind
from delegator.health import (
    LeaseState,
    Readiness,
    ReplicaState,
    Tracker,
    lease_picture,
    readiness,
)
from delegator.leases import Keeper
from delegator.logs import get_logger
from delegator.service import CycleReport

RELOAD_SECONDS = 5
SUMMARY_SECONDS = 60
HOUSEKEEPING = 3  # threads beyond worker.concurrency for the jobs that are not cycles
HOOKS_SECONDS = 10
PRUNE_SECONDS = (
    24 * 3600
)  # the history past journal.retention, pruned daily  # how often the webhooks' health is judged (one store read)


class Service:
    """The long-running service: schedules every client's cycles until stopped."""

    def __init__(
        self,
        fleet: Fleet,
        rules_dir: Path,
        *,
        workers: int | None = None,
        reload_seconds: float = RELOAD_SECONDS,
        on_cycle: Callable[[str], None] | None = None,
    ) -> None:
        self.fleet = fleet
        self.rules_dir = rules_dir
        self.reload_seconds = reload_seconds
        self.on_cycle = on_cycle
        self.entries: dict[str, ClientEntry] = {}
        self.scheduler = BackgroundScheduler(
            # The cycles at once (worker.concurrency), and room for the housekeeping jobs
            # (reload, webhooks' health, pruning) so a full house of cycles never delays them.
            executors={
                "default": ThreadPoolExecutor(
                    max_workers=(workers or fleet.settings.worker_concurrency) + HOUSEKEEPING
                )
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone="UTC",
        )
        self.stopped = threading.Event()
        self.log = get_logger()
        self.health = Tracker(fleet.clock.now)
        self._busy: Counter[str] = Counter()  # jobs running now, by id
        self._idle = threading.Condition()
        self.keeper: Keeper | None = None  # the lease rounds, when the fleet keeps leases
        # Webhook deliveries not yet taken by a cycle: client -> when the first one came.
        self._dirty: dict[str, datetime] = {}
        self._every: dict[str, float] = {}  # each client job's interval now, in seconds

    def start(self) -> None:
        for entry in load_clients(self.rules_dir):
            self._add(entry)
        ownership = self.fleet.ownership
        if ownership is not None:
            # The first round before the first cycle, so cycles find their leases; then rounds on
            # a thread of their own, never queued behind busy cycle workers.
            self.keeper = Keeper(
                ownership, self._leasable, self._client_busy, acquired=self._run_now
            )
            self.keeper.start()
        self.scheduler.add_job(
            self.reload, "interval", seconds=self.reload_seconds, id="reload-rules"
        )
        # Summaries and digests: what is due (and retries) is checked every minute.
        summaries = self.fleet.summaries()

        def send_summaries() -> None:
            summaries.tick([e for e in self.entries.values() if self._mine(e.key)])

        self.add_periodic_job(
            "summaries",
            send_summaries,
            SUMMARY_SECONDS,
            first_run=self.fleet.clock.now() + timedelta(seconds=5),
        )
        if self.fleet.subscriber is not None:
            self.add_periodic_job("webhooks", self.judge_hooks, HOOKS_SECONDS)
        if self.fleet.settings.journal_retention:
            # The history past journal.retention, pruned a few minutes after start and daily.
            self.add_periodic_job(
                "prune",
                self.prune,
                PRUNE_SECONDS,
                first_run=self.fleet.clock.now() + timedelta(minutes=5),
                jitter=600,
            )
        self.scheduler.start()
        self.log.info("service_started", clients=sorted(self.entries))

    def prune(self) -> None:
        """Delete the history older than journal.retention (see ``StateStore.prune``); any
        replica may, the deletes are the same whoever does them."""
        before = self.fleet.clock.now() - self.fleet.settings.journal_retention
        try:
            pruned = self.fleet.store.prune(before)
        except Exception as exc:  # StoreError: tried again tomorrow
            self.log.warning("prune_failed", error=str(exc))
            return
        if pruned.total:
            self.log.info("pruned", before=before.isoformat(), actions=pruned.actions,
                          cycles=pruned.cycles, delegations=pruned.delegations)  # fmt: skip

    def add_periodic_job(
        self,
        job_id: str,
        func: Callable[[], None],
        seconds: float,
        *,
        first_run: datetime | None = None,
        jitter: float | None = None,
    ) -> None:
        """Run ``func`` every ``seconds`` (first at ``first_run``, else after one interval), one at
        a time, skipped once the service stops; ``stop`` waits for a running one like a cycle."""

        def job() -> None:
            if self.stopped.is_set():
                return
            with self._running(job_id):
                func()

        self.scheduler.add_job(
            job, "interval", seconds=seconds, id=job_id, replace_existing=True,
            jitter=jitter, **({"next_run_time": first_run} if first_run is not None else {}),
        )  # fmt: skip

    @contextmanager
    def _running(self, job_id: str) -> Iterator[None]:
        with self._idle:
            self._busy[job_id] += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy[job_id] -= 1
                if self._busy[job_id] <= 0:
                    del self._busy[job_id]
                self._idle.notify_all()

    def _leasable(self) -> list[str]:
        """The clients this replica can run: those with a usable rule file."""
        return [key for key, entry in self.entries.items() if entry.engine is not None]

    def _client_busy(self, key: str) -> bool:
        with self._idle:
            return f"client:{key}" in self._busy

    def _run_now(self, clients: list[str]) -> None:
        """Clients whose leases a round just took run now, not at their next poll (minutes away,
        perhaps): the replica that ran them stopped, died or handed them over."""
        for key in clients:  # what this replica remembers of them may be out of date
            self.fleet.forget_runtime(key)
        if self.stopped.is_set() or not self.scheduler.running:
            return  # starting: every client's first run is now already
        now = SystemClock().now()
        for key in clients:
            with suppress(JobLookupError):  # its rule file was removed meanwhile
                self.scheduler.modify_job(f"client:{key}", next_run_time=now)

    def wake(self, key: str, received_at: datetime) -> None:
        """A webhook delivery for the client: run its cycle after ``webhooks.debounce`` (a
        burst of deliveries is one cycle), or right after the one running now. Called from the
        receiver's thread: only marks and reschedules, never runs anything."""
        if key not in self.entries or self.stopped.is_set() or not self._mine(key):
            return  # another replica holds it: that one's relay takes the store's mark
        with self._idle:
            first = key not in self._dirty
            if first:
                self._dirty[key] = received_at
            running = f"client:{key}" in self._busy
        if first and not running:
            self._soon(key)

    def _soon(self, key: str) -> None:
        """Move the client's next cycle up to ``debounce`` from now (never later than it was)."""
        if not self.scheduler.running:
            return
        due = SystemClock().now() + self.fleet.settings.webhooks_debounce
        job = self.scheduler.get_job(f"client:{key}")
        if job is None or (job.next_run_time is not None and job.next_run_time <= due):
            return
        with suppress(JobLookupError):
            self.scheduler.modify_job(f"client:{key}", next_run_time=due)

    def judge_hooks(self) -> None:
        """Every client's webhooks' health from the store (one read); a client whose webhooks
        turned healthy is polled at ``webhooks.safety_poll``, one whose did not at its poll."""
        subscriber = self.fleet.subscriber
        if subscriber is None:
            return
        now = self.fleet.clock.now()
        judged = subscriber.judge(list(self.entries), self.fleet.store.subscriptions(), now)
        metrics = self.fleet.metrics
        for key, hooks in judged.items():
            entry = self.entries.get(key)
            if entry is None or entry.loaded.head is None:
                continue
            safety = self.fleet.settings.webhooks_safety_poll
            self.health.webhooks(key, hooks, safety if hooks.healthy else None)
            if metrics is not None:
                metrics.webhooks_state(key, hooks.mode.value)
            self._reschedule(entry, hooks.healthy)

    def _reschedule(self, entry: ClientEntry, healthy: bool) -> None:
        head = entry.loaded.head
        if head is None:
            return
        seconds = self._interval(entry, healthy)
        key = entry.key
        if self._every.get(key) == seconds or self.scheduler.get_job(f"client:{key}") is None:
            return
        self._every[key] = seconds
        self.log.info(
            "polling_changed",
            client=key,
            every=seconds,
            webhooks="healthy" if healthy else "not healthy",
        )
        with suppress(JobLookupError):
            self.scheduler.reschedule_job(
                f"client:{key}", trigger="interval", seconds=seconds, jitter=min(30.0, seconds / 10)
            )

    def _interval(self, entry: ClientEntry, healthy: bool) -> float:
        assert entry.loaded.head is not None
        poll = entry.loaded.head.poll.timedelta()
        if healthy:
            poll = max(poll, self.fleet.settings.webhooks_safety_poll)
        return poll.total_seconds()

    def _mine(self, key: str) -> bool:
        """Whether this replica runs the client now (always, without leases)."""
        ownership = self.fleet.ownership
        return ownership is None or ownership.may_start(key)

    @property
    def running_jobs(self) -> list[str]:
        """The ids of the jobs running now ("client:KEY" for a cycle)."""
        with self._idle:
            return sorted(self._busy)

    def _add(self, entry: ClientEntry) -> None:
        """Schedule one client; a fault in doing so switches that client off, not the others."""
        self.entries[entry.key] = entry
        try:
            self._schedule(entry)
        except Exception as exc:
            self.log.error("client_schedule_failed", client=entry.key, error=repr(exc))
            off = disabled(entry, exc)
            self.entries[entry.key] = off
            self.health.watch(off)

    def _schedule(self, entry: ClientEntry) -> None:
        self.health.watch(entry)
        if entry.engine is None or entry.loaded.head is None:
            self.log.error(
                "client_invalid", client=entry.key, errors=[str(e) for e in entry.errors[:10]]
            )
            return
        hooks = self.fleet.subscriber.health(entry.key) if self.fleet.subscriber else None
        seconds = self._interval(entry, hooks is not None and hooks.healthy)
        self._every[entry.key] = seconds
        self.scheduler.add_job(
            self._cycle, "interval", seconds=seconds, args=[entry.key], id=f"client:{entry.key}",
            jitter=min(30.0, seconds / 10), replace_existing=True, next_run_time=SystemClock().now(),
        )  # fmt: skip

    def _cycle(self, key: str) -> None:
        entry = self.entries.get(key)
        if entry is None or self.stopped.is_set() or not self._mine(key):
            return  # another replica holds this client's lease: it runs the cycles
        with self._running(f"client:{key}"):
            # Asked again once marked running: a lease round that found it not running in
            # between may be handing the lease back (Ownership._hand_back).
            if not self._mine(key):
                return
            with self._idle:
                woken = self._dirty.pop(key, None)
            started = self.fleet.clock.now()
            self.health.cycle_started(key, started)
            try:
                report = self.fleet.cycle(entry, keep_tasks=False)
            except Exception as exc:  # the store failed: record it, the next cycle tries again
                self.log.error("cycle_crashed", client=key, error=str(exc))
                report = CycleReport(key, entry.name, started, False)
                report.add_error(ErrorKind.CYCLE, f"the cycle crashed: {exc}")
                report.counts[Count.CLIENT_FAILED] = 1
            finished = self.fleet.clock.now()
            self.health.cycle_finished(report, finished)
            if woken is not None and self.fleet.metrics is not None:
                self.fleet.metrics.webhook_reaction_seconds((finished - woken).total_seconds())
        with self._idle:
            again = key in self._dirty  # deliveries came while it ran: once more, soon
        if again:
            self._soon(key)
        if self.on_cycle is not None:
            self.on_cycle(key)

    def reload(self) -> None:
        """Pick up changed rule files. Never raises: a file that cannot be read or checked is
        that client's error, and the next reload tries again."""
        try:
            fresh, changes = reload_clients(self.rules_dir, self.entries)
        except Exception as exc:  # a fault outside any one file: keep what runs
            self.log.error("rules_reload_failed", error=repr(exc))
            return
        for change in changes:
            self.log.info("rules_reloaded", change=change)
        for key in set(self.entries) - set(fresh):
            if self.scheduler.get_job(f"client:{key}") is not None:
                self.scheduler.remove_job(f"client:{key}")
            self.health.forget(key)
            self._every.pop(key, None)
            with self._idle:
                self._dirty.pop(key, None)
            if self.fleet.metrics is not None:
                self.fleet.metrics.forget_client(key)
            if self.fleet.subscriber is not None and self._mine(key):
                self.fleet.unsubscribe_client(key)
        for key, entry in fresh.items():
            if self.entries.get(key) is not entry:
                self._add(entry)
                fresh[key] = self.entries[key]
        self.entries = dict(fresh)

    def readiness(self) -> Readiness:
        """The service's checks and each client's health, for ``/readyz``; with leases, each
        client's holder, and this replica's lease rounds as a check."""
        checks = {"settings": "ok", "store": "ok", "scheduler": "ok"}
        if self.stopped.is_set():  # the store is being closed: do not open it again
            checks["store"] = "not checked while stopping"
        else:
            try:
                self.fleet.store.ping()
            except Exception as exc:  # StoreError, with the URL's password masked
                checks["store"] = str(exc)
        if self.stopped.is_set():
            checks["scheduler"] = "stopping"
        elif not self.scheduler.running:
            checks["scheduler"] = "not running"
        next_runs: dict[str, datetime | None] = {}
        if self.scheduler.running:
            for job in self.scheduler.get_jobs():
                if job.id.startswith("client:"):
                    next_runs[job.id.removeprefix("client:")] = job.next_run_time
        now = self.fleet.clock.now()
        states = self.health.states(next_runs)
        replica: ReplicaState | None = None
        if self.fleet.ownership is not None:
            replica, leases = lease_picture(
                self.fleet.ownership, list(self.entries), now, read=checks["store"] == "ok"
            )
            states = [replace(s, lease=leases.get(s.key, LeaseState("unknown"))) for s in states]
        return readiness(now, checks, states, self.fleet.settings.ready_polls, replica=replica)

    def stop(self, *, wait: bool = True, grace: float | None = None) -> bool:
        """Stop scheduling and ask running cycles to end at their next safe point.

        With ``wait``, wait for them (at most ``grace`` seconds, when given) and close the
        adapters; returns False when some were still running at the deadline, and leaves the
        adapters open for them.
        """
        self.stopped.set()
        self.fleet.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if wait and not self._wait_idle(grace):
            self.log.error("shutdown_grace_exceeded", grace=grace, running=self.running_jobs)
            self._hand_back(everything=False)
            return False
        self._hand_back(everything=True)
        self.fleet.close()
        self.log.info("service_stopped")
        return True

    def _hand_back(self, *, everything: bool) -> None:
        """Stop the lease rounds and hand the leases back, so the other replicas take these
        clients at their next round instead of after the leases expire. A client whose cycle is
        still running (``everything`` False) keeps its lease to expiry: a write in flight may
        still land."""
        ownership = self.fleet.ownership
        if ownership is None:
            return
        if self.keeper is not None:
            self.keeper.stop()
        try:
            ownership.leave(
                keep=() if everything else [c for c in ownership.held() if self._client_busy(c)]
            )
        except Exception as exc:  # the database is gone: the leases expire by themselves
            self.log.error("leases_not_handed_back", error=str(exc))
        else:
            self.log.info("leases_handed_back")

    def _wait_idle(self, grace: float | None) -> bool:
        deadline = None if grace is None else time.monotonic() + grace
        with self._idle:
            while self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True
