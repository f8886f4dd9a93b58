"""APScheduler wiring: one job per client at its poll interval, and a watcher for rule files.

Jobs run with ``max_instances=1`` and ``coalesce``: a slow cycle is never run twice at once and
missed runs collapse into one. Jitter spreads clients with the same interval. The rules folder
is re-read every few seconds: added, changed and removed files are picked up without a restart,
and an invalid new version leaves the last valid one running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from delegator.bootstrap import Fleet, system_clock
from delegator.clients import ClientEntry, load_clients, reload_clients
from delegator.logs import get_logger

RELOAD_SECONDS = 5


class Service:
    """The long-running service: schedules every client's cycles until stopped."""

    def __init__(
        self,
        fleet: Fleet,
        rules_dir: Path,
        *,
        workers: int = 4,
        reload_seconds: float = RELOAD_SECONDS,
        on_cycle: Callable[[str], None] | None = None,
    ) -> None:
        self.fleet = fleet
        self.rules_dir = rules_dir
        self.reload_seconds = reload_seconds
        self.on_cycle = on_cycle
        self.entries: dict[str, ClientEntry] = {}
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone="UTC",
        )
        self.stopped = threading.Event()
        self.log = get_logger()

    def start(self) -> None:
        for entry in load_clients(self.rules_dir):
            self.entries[entry.key] = entry
            self._schedule(entry)
        self.scheduler.add_job(
            self.reload, "interval", seconds=self.reload_seconds, id="reload-rules"
        )
        self.scheduler.start()
        self.log.info("service_started", clients=sorted(self.entries))

    def _schedule(self, entry: ClientEntry) -> None:
        if entry.engine is None or entry.loaded.head is None:
            self.log.error(
                "client_invalid", client=entry.key, errors=[str(e) for e in entry.errors[:10]]
            )
            return
        seconds = entry.loaded.head.poll.timedelta().total_seconds()
        self.scheduler.add_job(
            self._cycle, "interval", seconds=seconds, args=[entry.key], id=f"client:{entry.key}",
            jitter=min(30.0, seconds / 10), replace_existing=True, next_run_time=system_clock(),
        )  # fmt: skip

    def _cycle(self, key: str) -> None:
        entry = self.entries.get(key)
        if entry is None or self.stopped.is_set():
            return
        self.fleet.cycle(entry, keep_tasks=False)
        if self.on_cycle is not None:
            self.on_cycle(key)

    def reload(self) -> None:
        fresh, changes = reload_clients(self.rules_dir, self.entries)
        for change in changes:
            self.log.info("rules_reloaded", change=change)
        for key in set(self.entries) - set(fresh):
            if self.scheduler.get_job(f"client:{key}") is not None:
                self.scheduler.remove_job(f"client:{key}")
        for key, entry in fresh.items():
            if self.entries.get(key) is not entry:
                self.entries[key] = entry
                self._schedule(entry)
        self.entries = dict(fresh)

    def stop(self, *, wait: bool = True) -> None:
        """Stop scheduling; let running cycles finish (``wait``) and close the adapters."""
        self.stopped.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        self.fleet.close()
        self.log.info("service_stopped")
