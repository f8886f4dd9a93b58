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

A client whose last cycle failed to write ``failed_writes`` changes or more (the
``health.failed_writes`` setting, default 1; 0 turns the check off) is failing, whatever the
rest of the cycle did: changes the rules asked for did not happen. Fewer failed writes than that
make it degraded (healthy, with the reason).

The store is checked too (``store_checks``): a schema version newer than this build knows, a
database that cannot be written (a read-only file system, file or server) and too little room
left (below ``health.min_free_space``, default 100 MiB: unhealthy; below five times that, a
warning) make ``delegator status`` and ``/readyz`` unhealthy with the reason.

Replicas share the clients by leases (``leases.py``): a replica is judged only on the clients
it holds. A client whose lease another live replica holds is ``elsewhere``: served there, it
counts as fine here, whatever this replica last saw of it. A client this replica has just taken
over is ``starting`` until its first cycle here (within the same window). A replica whose lease
rounds have not gone through for longer than a lease lasts (``replica.lease``: the database does
not answer) is unready: its leases have run out, and the other replicas take its clients.

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
from delegator.cycles import Count, CycleCounts
from delegator.leases import Ownership
from delegator.ports import CycleRecord, LeaseRecord
from delegator.service import CycleReport, CycleResult, cycle_result
from delegator.store.sqlstore import StoreHealth
from delegator.subscriptions import ClientHooks

#: A client with this many failed writes in its last cycle is failing (0: never, for that).
DEFAULT_FAILED_WRITES = 1
#: Less room than this for the database: unhealthy; less than five times this: a warning.
DEFAULT_MIN_FREE_BYTES = 100 * 1024 * 1024
WARN_FACTOR = 5


def failed_writes_threshold(settings: object) -> int:
    """``health.failed_writes`` when the settings have it, else the default."""
    return int(getattr(settings, "health_failed_writes", DEFAULT_FAILED_WRITES))


def min_free_bytes(settings: object) -> int:
    """``health.min_free_space`` (bytes) when the settings have it, else the default."""
    return int(getattr(settings, "health_min_free_space", DEFAULT_MIN_FREE_BYTES))


def succeeded(result: str | None) -> bool:
    """Whether a cycle served its client: all but failed and interrupted (a cycle with failed
    writes did serve it; how many failed is judged apart)."""
    return result is not None and result not in ("failed", "interrupted")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"  # pragma: no cover


def store_checks(health: StoreHealth, min_free: int) -> tuple[dict[str, str], list[str]]:
    """The store's checks ("ok" or what is wrong) and warnings, from its health."""
    checks = {"schema": "ok", "writable": "ok", "disk": "ok"}
    warnings: list[str] = []
    if health.version > health.known:
        checks["schema"] = (
            f"the database has schema version {health.version}; this delegator knows up to "
            f"{health.known}: a newer delegator has upgraded it (upgrade this one)"
        )
    if health.read_only is not None:
        checks["writable"] = f"the database cannot be written: {health.read_only}"
    free = health.free_bytes
    if free is not None and min_free > 0:
        if free < min_free:
            checks["disk"] = (
                f"{_size(free)} left for the database in {health.where} (below "
                f"{_size(min_free)}): writes will fail"
            )
        elif free < min_free * WARN_FACTOR:
            warnings.append(f"{_size(free)} left for the database in {health.where}")
    return checks, warnings


ClientStatus = Literal[
    "ok", "degraded", "starting", "failing", "stale", "invalid", "never_run", "elsewhere"
]

# Who holds a client's lease. Seen by a replica (/readyz): "here", "elsewhere" (another holder,
# not expired), "expired" (its holder stopped renewing it; nobody has taken it over yet), "free"
# (never held, or handed back), "unknown" (the database did not answer). Seen from outside
# (`delegator status`, which holds no lease): "held" instead of "here" and "elsewhere".
LeaseHeld = Literal["here", "elsewhere", "held", "expired", "free", "unknown"]


@dataclass(frozen=True, slots=True)
class LeaseState:
    """A client's lease as /readyz and `delegator status` show it."""

    state: LeaseHeld
    replica: str | None = None  # the holder's replica id (None: free, or not known)
    since: datetime | None = None  # when that holder took it
    expires: datetime | None = None  # when it runs out unless renewed
    token: int | None = None  # its fencing token, raised each time it changes hands


def stored_lease(record: LeaseRecord | None, *, me: str | None = None) -> LeaseState:
    """A client's lease as the store has it (None: never leased). ``me``: the key of the replica
    asking; None when asked from outside (`delegator status`)."""
    if record is None:
        return LeaseState("free")
    if record.holder is None:
        return LeaseState("free", token=record.token)
    state: LeaseHeld
    if not record.live:
        state = "expired"
    elif me is None:
        state = "held"
    else:
        state = "here" if record.holder == me else "elsewhere"
    return LeaseState(state, record.replica, record.acquired_at, record.expires_at, record.token)


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """The replica answering /readyz: its id, the live replicas, its lease rounds."""

    id: str
    started_at: datetime
    lease: timedelta  # how long a lease lasts unrenewed (replica.lease)
    live: tuple[str, ...] = ()  # the live replicas' ids at its last good round
    leases_held: int = 0
    last_round_at: datetime | None = None  # when its last round began
    last_renewed_at: datetime | None = None  # when its last round that went through began
    last_error: str | None = None  # why its last round failed (None: it went through)


def lease_rounds_check(replica: ReplicaState, now: datetime) -> tuple[str, list[str]]:
    """The "leases" check ("ok" or what is wrong) and warnings, from the replica's rounds.

    Rounds that have not gone through for longer than a lease lasts mean this replica's leases
    have run out (its cycles stop before writing, others take its clients): not ready. A failed
    round within that time is a warning: the leases still hold.
    """
    if replica.last_round_at is None:
        return "no lease round yet: this replica does not know which clients it holds", []
    good = replica.last_renewed_at or replica.started_at
    silent = now - good
    error = f": {replica.last_error}" if replica.last_error else ""
    if silent > replica.lease:
        what = (
            "the lease rounds have failed"
            if replica.last_error
            else "no lease round has gone through"
        )
        return (
            f"{what} for {span(silent)}, longer than a lease lasts ({span(replica.lease)}): this "
            f"replica's leases have run out and other replicas take its clients{error}"
        ), []
    if replica.last_error:
        left = span(replica.lease - silent)
        return "ok", [f"the last lease round failed; the leases last {left} more unrenewed{error}"]
    return "ok", []


def lease_picture(
    ownership: Ownership, clients: Iterable[str], now: datetime, *, read: bool = True
) -> tuple[ReplicaState, dict[str, LeaseState]]:
    """This replica and each client's lease, for /readyz. Held "here" by this replica's own
    reckoning (a hold whose time ran out by its clock is not: "expired"); the others as the store
    has them (``read``: the store answers), else as the last round saw them."""
    records: dict[str, LeaseRecord] | None = None
    if read:
        try:
            records = {record.client: record for record in ownership.store.leases()}
        except Exception:  # StoreError: the store's check says why; what is known is shown
            records = None
    me = ownership.me
    clock = ownership.monotonic()
    held = {c: h for c, h in ownership.held().items() if h.valid_until > clock}
    last = ownership.last_round
    leases: dict[str, LeaseState] = {}
    for key in clients:
        hold = held.get(key)
        record = records.get(key) if records is not None else None
        if hold is not None:
            if record is not None and record.holder == me.key and record.live:
                expires = record.expires_at  # by the database's clock, which decides
            else:
                expires = now + timedelta(seconds=hold.valid_until - clock)
            leases[key] = LeaseState("here", me.id, hold.since, expires, hold.fence.token)
        elif records is not None:
            lease = stored_lease(record, me=me.key)
            if lease.state == "here":  # the store still has it; by this replica's clock, no
                lease = replace(lease, state="expired")
            leases[key] = lease
        elif last is not None and key in last.others:
            leases[key] = LeaseState("elsewhere")
        else:
            leases[key] = LeaseState("unknown")
    replica = ReplicaState(
        id=me.id,
        started_at=me.started_at,
        lease=ownership.times.period,
        live=last.replicas if last is not None else (),
        leases_held=len(held),
        last_round_at=ownership.last_round_at,
        last_renewed_at=ownership.last_renewed_at,
        last_error=ownership.last_error,
    )
    return replica, leases


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
    last_counts: CycleCounts = field(default_factory=CycleCounts)
    last_success_at: datetime | None = None  # when the last successful cycle finished
    next_cycle_at: datetime | None = None
    queued: int | None = None  # tasks waiting for a free assistant, at the last good cycle
    lease: LeaseState | None = None  # who holds its lease (None: no leases, e.g. a test)
    # Its webhooks (None: webhooks are off), and how often it is read while they stand so
    # (``webhooks.safety_poll`` while healthy; None: at ``poll``).
    hooks: ClientHooks | None = None
    polling: timedelta | None = None

    @property
    def every(self) -> timedelta | None:
        """How often a cycle is due: the safety poll while its webhooks are healthy."""
        return self.polling or self.poll


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


def failed_writes(counts: CycleCounts) -> tuple[int, str]:
    """How many writes failed in a cycle, and per kind ("tag 2, assign 1")."""
    failed = counts[Count.ACTIONS_FAILED]
    kinds = sorted(counts.failed_by_kind().items())
    return failed, ", ".join(f"{kind} {count}" for kind, count in kinds)


def assess(
    state: ClientState,
    now: datetime,
    ready_polls: int,
    failed_writes_at: int = DEFAULT_FAILED_WRITES,
) -> ClientHealth:
    """One client's health at ``now`` (see the module's docstring for the rules)."""
    if state.poll is None:
        return ClientHealth(state, "invalid", False, state.problem or "the rule file has errors")
    lease = state.lease
    if lease is not None and lease.state == "elsewhere":
        holder = f"replica {lease.replica}" if lease.replica else "another replica"
        held = f" (for {span(now - lease.since)})" if lease.since is not None else ""
        return ClientHealth(
            state, "elsewhere", True, f"{holder} holds its lease{held} and runs its cycles"
        )
    every = state.every or state.poll
    window = every * ready_polls
    fresh = state.last_success_at is not None and now - state.last_success_at <= window
    if (
        lease is not None
        and lease.state == "here"
        and lease.since is not None
        and now - lease.since <= window
        and (state.last_cycle_at is None or state.last_cycle_at < lease.since)
        and not fresh
    ):
        return ClientHealth(
            state,
            "starting",
            True,
            f"this replica took its lease {span(now - lease.since)} ago: waiting for its "
            "first cycle here",
        )
    errors = "; ".join(state.last_errors[:3])
    failed, kinds = failed_writes(state.last_counts)
    if failed_writes_at > 0 and failed >= failed_writes_at:
        tried = failed + state.last_counts[Count.ACTIONS_DONE]
        by_kind = f" ({kinds})" if kinds else ""
        return ClientHealth(
            state,
            "failing",
            False,
            f"{failed} of {tried} changes to tasks failed in the last cycle{by_kind}"
            + (f": {errors}" if errors else ""),
        )
    if fresh:
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
        return ClientHealth(
            state,
            "stale",
            False,
            f"no successful cycle for {since} (one is due every {span(every)})",
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
    warnings: Sequence[str] = ()  # not wrong yet, soon (little disk space left)
    replica: ReplicaState | None = None  # the replica answering, when the service keeps leases

    @property
    def ready(self) -> bool:
        """Every check ok, and a client it serves healthy (or none to serve): clients whose
        rule file cannot be used and clients another replica serves are not judged here."""
        if any(value != "ok" for value in self.checks.values()):
            return False
        usable = [c for c in self.clients if c.status not in ("invalid", "elsewhere")]
        return not usable or any(c.healthy for c in usable)

    def as_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "checked_at": self.checked_at.isoformat(),
            "checks": dict(self.checks),
            "warnings": list(self.warnings),
            "replica": replica_json(self.replica) if self.replica is not None else None,
            "clients": [client_json(c) for c in self.clients],
        }


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def replica_json(replica: ReplicaState) -> dict[str, Any]:
    return {
        "id": replica.id,
        "started_at": _when(replica.started_at),
        "live_replicas": list(replica.live),
        "leases_held": replica.leases_held,
        "lease_seconds": replica.lease.total_seconds(),
        "last_round_at": _when(replica.last_round_at),
        "last_good_round_at": _when(replica.last_renewed_at),
        "last_round_error": replica.last_error,
    }


def lease_json(lease: LeaseState | None) -> dict[str, Any] | None:
    if lease is None:
        return None
    return {
        "state": lease.state,
        "replica": lease.replica,
        "since": _when(lease.since),
        "expires": _when(lease.expires),
        "token": lease.token,
    }


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
        "last_failed_writes": state.last_counts[Count.ACTIONS_FAILED],
        "last_success_at": _when(state.last_success_at),
        "next_cycle_at": _when(state.next_cycle_at),
        "queued": state.queued,
        "lease": lease_json(state.lease),
        "webhooks": hooks_json(state.hooks, state.polling),
    }


def hooks_json(hooks: ClientHooks | None, polling: timedelta | None) -> dict[str, Any] | None:
    if hooks is None:
        return None
    return {
        "mode": hooks.mode.value,
        "reason": hooks.reason,
        "active": hooks.active,
        "wanted": hooks.wanted,
        "last_signal_at": _when(hooks.last_signal_at),
        "last_event_at": _when(hooks.last_event_at),
        "polling_seconds": polling.total_seconds() if polling is not None else None,
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
        if succeeded(cycle_result(record.counts, record.errors)):
            success = record
            break
    if last is None:
        return replace(state, running_since=running)
    due = (last.started_at + state.every) if state.every is not None else None
    return replace(
        state,
        running_since=running,
        last_cycle_at=last.started_at,
        last_finished_at=last.finished_at,
        last_result=cycle_result(last.counts, last.errors),
        last_errors=tuple(last.errors),
        last_counts=last.counts,
        last_success_at=success.finished_at if success is not None else None,
        next_cycle_at=due,
        queued=success.counts[Count.QUEUED] if success is not None else None,
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

    def webhooks(self, key: str, hooks: ClientHooks, polling: timedelta | None) -> None:
        """How a client's webhooks stand, and how often it is read because of it."""
        with self._lock:
            if key in self._states:
                self._states[key] = replace(self._states[key], hooks=hooks, polling=polling)

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
                "last_counts": CycleCounts.from_mapping(report.counts.to_mapping()),
            }
            if succeeded(result):
                changes["last_success_at"] = finished_at
                changes["queued"] = report.counts[Count.QUEUED]
            self._states[report.client] = replace(state, **changes)

    def states(self, next_runs: Mapping[str, datetime | None] | None = None) -> list[ClientState]:
        """Every watched client, in key order, with its next run when the scheduler knows it."""
        with self._lock:
            states = [self._states[key] for key in sorted(self._states)]
        runs = next_runs or {}
        return [replace(s, next_cycle_at=runs.get(s.key, s.next_cycle_at)) for s in states]


def readiness(
    now: datetime,
    checks: Mapping[str, str],
    states: Iterable[ClientState],
    ready_polls: int,
    failed_writes_at: int = DEFAULT_FAILED_WRITES,
    *,
    replica: ReplicaState | None = None,
) -> Readiness:
    """The picture at ``now``; with ``replica``, its lease rounds are a check ("leases")."""
    found = dict(checks)
    warnings: list[str] = []
    if replica is not None:
        found["leases"], warnings = lease_rounds_check(replica, now)
    clients = [assess(s, now, ready_polls, failed_writes_at) for s in states]
    return Readiness(now, found, clients, tuple(warnings), replica)


def with_store_checks(
    picture: Readiness,
    health: StoreHealth | str | None,
    *,
    ready_polls: int,
    failed_writes_at: int,
    min_free: int,
) -> Readiness:
    """``picture`` with the store's checks added (``health`` is the store's health, or why it
    could not be read; None: no more checks) and each client judged again with the settings' threshold."""
    checks = dict(picture.checks)
    warnings = list(picture.warnings)
    if isinstance(health, str):
        if checks.get("store", "ok") == "ok":
            checks["store"] = health
    elif health is not None:
        found, warned = store_checks(health, min_free)
        checks.update(found)
        warnings.extend(warned)
    clients = [
        assess(c.state, picture.checked_at, ready_polls, failed_writes_at) for c in picture.clients
    ]
    return Readiness(picture.checked_at, checks, clients, tuple(warnings), picture.replica)
