"""Readiness: whether the service is doing its job, for each client and as a whole.

A client is healthy while its last successful cycle finished within ``ready_polls`` of its poll
intervals, or while it is still starting (no cycle finished yet, within that same window). A
successful cycle is one that served the client: some tasks or sources may have failed ("errors"),
but not the client as a whole ("failed") and not cut short by a stop ("interrupted").

The service is ready when its settings are loaded, the store answers, the scheduler runs and is
not stopping, and at least one client with a usable rule file is healthy (or there is none).
One client's revoked token or broken rule file shows in the body, with its reason, but does not
make the whole service unready: restarting the container would not mend it, and would stop the
other clients' work. When every client fails, something they share is broken (the network, Asana,
the database), and the orchestrator should know.

The same assessment serves ``/readyz`` (from what the running service saw) and ``delegator
status`` (from the store, whether or not the service runs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from delegator.clients import ClientEntry
from delegator.ports import CycleRecord
from delegator.service import CycleReport, CycleResult, cycle_result

ClientStatus = Literal["ok", "degraded", "starting", "failing", "stale", "invalid", "never_run"]


@dataclass(frozen=True, slots=True)
class ClientState:
    """What is known of one client's cycles."""

    key: str
    name: str
    poll: timedelta | None  # None: the rule file cannot be used
    problem: str | None = None  # why the client cannot run at all (its rule file)
    watched_since: datetime | None = None  # when this process began serving it (None: unknown)
    running_since: datetime | None = None  # a cycle in progress
    last_cycle_at: datetime | None = None  # when the last finished cycle started
    last_finished_at: datetime | None = None
    last_result: CycleResult | None = None
    last_errors: tuple[str, ...] = ()
    last_counts: Mapping[str, int] = field(default_factory=dict)
    last_success_at: datetime | None = None  # when the last successful cycle finished
    next_cycle_at: datetime | None = None
    queued: int | None = None  # tasks waiting for a free assistant, at the last good cycle


@dataclass(frozen=True, slots=True)
class ClientHealth:
    state: ClientState
    status: ClientStatus
    healthy: bool
    reason: str  # for people: why this status

    @property
    def key(self) -> str:
        return self.state.key


def span(delta: timedelta) -> str:
    """A length of time for people, rounded down: 45s, 12m, 5h, 3d."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 2 * 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def assess(state: ClientState, now: datetime, ready_polls: int) -> ClientHealth:
    """One client's health at ``now`` (see the module's docstring for the rules)."""
    if state.poll is None:
        return ClientHealth(state, "invalid", False, state.problem or "the rule file has errors")
    window = state.poll * ready_polls
    errors = "; ".join(state.last_errors[:3])
    if state.last_success_at is not None and now - state.last_success_at <= window:
        if state.last_result in ("ok", None):
            return ClientHealth(state, "ok", True, "the last cycle went well")
        return ClientHealth(state, "degraded", True, f"last cycle {state.last_result}: {errors}")
    starting = state.watched_since is not None and now - state.watched_since <= window
    if starting and state.last_result in (None, "interrupted"):
        return ClientHealth(state, "starting", True, "waiting for its first cycle")
    if state.last_result == "failed":
        return ClientHealth(state, "failing", False, errors or "the last cycle failed")
    if state.last_success_at is not None:
        since = span(now - state.last_success_at)
        every = span(state.poll)
        return ClientHealth(
            state, "stale", False, f"no successful cycle for {since} (one is due every {every})"
        )
    if state.last_result is not None:
        return ClientHealth(state, "failing", False, errors or f"last cycle {state.last_result}")
    return ClientHealth(state, "never_run", False, "no cycle recorded yet")


@dataclass(frozen=True, slots=True)
class Readiness:
    """The readiness picture: the service's own checks and each client's health."""

    checked_at: datetime
    checks: Mapping[str, str]  # check -> "ok" or what is wrong
    clients: Sequence[ClientHealth]

    @property
    def ready(self) -> bool:
        if any(value != "ok" for value in self.checks.values()):
            return False
        usable = [c for c in self.clients if c.status != "invalid"]
        return not usable or any(c.healthy for c in usable)

    def as_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "checked_at": self.checked_at.isoformat(),
            "checks": dict(self.checks),
            "clients": [client_json(c) for c in self.clients],
        }


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def client_json(health: ClientHealth) -> dict[str, Any]:
    state = health.state
    return {
        "client": state.key,
        "name": state.name,
        "status": health.status,
        "healthy": health.healthy,
        "reason": health.reason,
        "poll_seconds": state.poll.total_seconds() if state.poll is not None else None,
        "running_since": _when(state.running_since),
        "last_cycle_at": _when(state.last_cycle_at),
        "last_finished_at": _when(state.last_finished_at),
        "last_result": state.last_result,
        "last_errors": list(state.last_errors),
        "last_success_at": _when(state.last_success_at),
        "next_cycle_at": _when(state.next_cycle_at),
        "queued": state.queued,
    }


def entry_state(entry: ClientEntry) -> ClientState:
    """A client file as the assessment sees it: its poll interval, or why it cannot run."""
    head = entry.loaded.head
    if entry.engine is None or head is None:
        problem = "; ".join(str(e) for e in entry.errors[:3]) or "the rule file has errors"
        return ClientState(entry.key, entry.name, None, problem=problem)
    return ClientState(entry.key, entry.name, head.poll.timedelta())


def state_from_records(state: ClientState, records: Iterable[CycleRecord]) -> ClientState:
    """Fill a client's state from its stored cycles (newest first), for ``delegator status``."""
    running: datetime | None = None
    last: CycleRecord | None = None
    success: CycleRecord | None = None
    for record in records:
        if record.dry_run:
            continue
        if record.finished_at is None:
            if last is None and running is None:
                running = record.started_at
            continue
        if last is None:
            last = record
        if cycle_result(record.counts, record.errors) in ("ok", "errors"):
            success = record
            break
    if last is None:
        return replace(state, running_since=running)
    due = (last.started_at + state.poll) if state.poll is not None else None
    return replace(
        state,
        running_since=running,
        last_cycle_at=last.started_at,
        last_finished_at=last.finished_at,
        last_result=cycle_result(last.counts, last.errors),
        last_errors=tuple(last.errors),
        last_counts=dict(last.counts),
        last_success_at=success.finished_at if success is not None else None,
        next_cycle_at=due,
        queued=int(success.counts.get("queued", 0)) if success is not None else None,
    )


class Tracker:
    """What the running service saw of its clients' cycles; thread-safe, fed by the scheduler."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, ClientState] = {}

    def watch(self, entry: ClientEntry) -> None:
        """A client file was loaded (or changed): keep what its cycles showed so far."""
        fresh = entry_state(entry)
        with self._lock:
            known = self._states.get(entry.key)
            if known is None:
                self._states[entry.key] = replace(fresh, watched_since=self.clock())
            else:
                self._states[entry.key] = replace(
                    known, name=fresh.name, poll=fresh.poll, problem=fresh.problem
                )

    def forget(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)

    def cycle_started(self, key: str, at: datetime) -> None:
        with self._lock:
            if key in self._states:
                self._states[key] = replace(self._states[key], running_since=at)

    def cycle_finished(self, report: CycleReport, finished_at: datetime) -> None:
        result = report.result
        with self._lock:
            state = self._states.get(report.client)
            if state is None:
                return
            changes: dict[str, Any] = {
                "running_since": None,
                "last_cycle_at": report.started_at,
                "last_finished_at": finished_at,
                "last_result": result,
                "last_errors": tuple(report.errors),
                "last_counts": dict(report.counts),
            }
            if result in ("ok", "errors"):
                changes["last_success_at"] = finished_at
                changes["queued"] = report.counts["queued"]
            self._states[report.client] = replace(state, **changes)

    def states(self, next_runs: Mapping[str, datetime | None] | None = None) -> list[ClientState]:
        """Every watched client, in key order, with its next run when the scheduler knows it."""
        with self._lock:
            states = [self._states[key] for key in sorted(self._states)]
        runs = next_runs or {}
        return [replace(s, next_cycle_at=runs.get(s.key, s.next_cycle_at)) for s in states]


def readiness(
    now: datetime, checks: Mapping[str, str], states: Iterable[ClientState], ready_polls: int
) -> Readiness:
    return Readiness(now, dict(checks), [assess(s, now, ready_polls) for s in states])
