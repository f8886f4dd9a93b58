"""What the service knows about its clients, gathered once for every view of it: `delegator
status` at a terminal and the status page. It reads the rule files and the store, never the
running service, and never changes the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from delegator.clients import ClientEntry
from delegator.health import (
    ClientHealth,
    assess,
    entry_state,
    state_from_records,
    store_checks,
    stored_lease,
)
from delegator.ports import LeaseRecord, ReplicaRecord, Subscription
from delegator.store import SqlStore, StoreError
from delegator.subscriptions import Wanted, hooks_health

HISTORY = 50  # stored cycles read per client: enough to find the last good one after a bad spell
LEASES_SINCE = 4  # the schema version that brought the leases and the replicas' heartbeats
WEBHOOKS_SINCE = 5  # the schema version that brought the webhook subscriptions


@dataclass(frozen=True, slots=True)
class Load:
    assistant: str
    name: str
    open_tasks: int
    capacity: int


@dataclass(frozen=True, slots=True)
class ClientStatus:
    health: ClientHealth
    assistants: list[Load]


@dataclass(frozen=True, slots=True)
class Gathered:
    database: str  # "ok" or what is wrong
    clients: list[ClientStatus]
    replicas: list[ReplicaRecord] | None = None  # None: not known (no database, or before leases)


@dataclass(frozen=True, slots=True)
class Judge:
    ready_polls: int
    failed_writes: int
    min_free: int
    safety_poll: timedelta = timedelta(hours=1)
    heartbeat_timeout: timedelta = timedelta(hours=9)


def gather_status(
    store: SqlStore | None,
    entries: list[ClientEntry],
    now: datetime,
    judge: Judge,
    warnings: list[str] | None = None,
) -> Gathered:
    """The database's state ("ok" or what is wrong), each client's status, the replicas."""
    database, empty, leasing, hooked = "ok", True, False, False
    if store is not None:
        try:
            health = store.health()
        except StoreError as exc:
            database = str(exc)
        else:
            empty = health.version == 0
            leasing = LEASES_SINCE <= health.version <= health.known
            hooked = WEBHOOKS_SINCE <= health.version <= health.known
            checks, warned = store_checks(health, judge.min_free)
            problems = [text for text in checks.values() if text != "ok"]
            if problems:
                database = "; ".join(problems)
            if warnings is not None:
                warnings.extend(warned)
            if health.version > health.known:
                empty = True  # its tables may not be what this build reads
    leases: dict[str, LeaseRecord] | None = None
    replicas: list[ReplicaRecord] | None = None
    if store is not None and leasing:
        try:
            leases = {record.client: record for record in store.leases()}
            replicas = store.replicas()
        except StoreError as exc:
            database = str(exc)
    subscriptions: dict[str, list[Subscription]] = {}
    if store is not None and hooked:
        try:
            for row in store.subscriptions():
                subscriptions.setdefault(row.client, []).append(row)
        except StoreError as exc:
            database = str(exc)
    found: list[ClientStatus] = []
    for entry in entries:
        state = entry_state(entry)
        if leases is not None:
            state = replace(state, lease=stored_lease(leases.get(entry.key)))
        rows = subscriptions.get(entry.key)
        if rows:  # the resources subscribed stand for those wanted: status resolves no source
            wanted = Wanted(tuple(dict.fromkeys(r.resource for r in rows)), ())
            hooks = hooks_health(wanted, rows, now, judge.heartbeat_timeout)
            state = replace(
                state, hooks=hooks, polling=judge.safety_poll if hooks.healthy else None
            )
        loads: dict[str, int] = {}
        if store is not None and not empty:
            try:
                with store.together():  # one connection for the client's two reads
                    state = state_from_records(state, store.cycles(entry.key, limit=HISTORY))
                    loads = store.assistant_load(entry.key)
            except StoreError as exc:
                database = str(exc)
        health_now = assess(state, now, judge.ready_polls, judge.failed_writes)
        found.append(ClientStatus(health_now, loads_of(entry, loads)))
    return Gathered(database, found, replicas)


def replica_warnings(replicas: Sequence[ReplicaRecord]) -> list[str]:
    """Live replicas sharing one id: sharing goes by id, so they count as one (they compete for
    one share, and a predecessor check on one host may take one for the other's)."""
    by_id: dict[str, list[ReplicaRecord]] = {}
    for replica in replicas:
        if replica.live:
            by_id.setdefault(replica.id, []).append(replica)
    return [
        f"{len(same)} live replicas share the id {name} ("
        + ", ".join(f"{r.host} pid {r.pid}" for r in same)
        + "): they count as one when sharing the clients; give each its own replica.id "
        "(DELEGATOR_REPLICA_ID)"
        for name, same in sorted(by_id.items())
        if len(same) > 1
    ]


def loads_of(entry: ClientEntry, loads: dict[str, int]) -> list[Load]:
    head = entry.loaded.head
    if head is None:
        return []
    return [
        Load(key, a.name or a.user, loads.get(key, 0), a.capacity)
        for key, a in head.assistants.items()
    ]
