"""Who runs which client: this replica's leases, kept in step with the others' in the database.

A replica runs a client's cycle only while it holds that client's lease (see ``store/leasing.py``
for the table and why a lease and not a lock). ``Ownership`` does the bookkeeping in rounds, from
a thread of its own so busy cycle workers never delay a renewal: each round is one transaction
(heartbeat, every held lease renewed, who else is live), and a second one only when a lease
changes hands. Clients are shared by rendezvous hashing over the live replicas
(``core/sharing.py``): a replica joining or leaving moves only its share.

Asana cannot check a fencing token, so the replica checks its own lease before each Asana write:
its hold counts from the moment it *sent* the renewal that granted it, by its monotonic clock,
which a paused process (SIGSTOP) does not stop; no write starts with less than ``margin`` left,
and the margin is the longest one write may take (``asana.request_deadline``). Its store writes
carry the fencing token (``LeaseStore.fenced``) and are refused once another replica holds it.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from delegator.clock import Clock
from delegator.core.sharing import share
from delegator.logs import get_logger
from delegator.ports import (
    Fence,
    LeaseLost,
    LeaseRound,
    LeaseStore,
    ReplicaIdentity,
    ReplicaRecord,
    StateStore,
)

# Rounds are this often at most, whatever the lease: a lease handed back (a replica stopping
# with SIGTERM) is taken by another within this long.
MAX_ROUND_SECONDS = 10.0


def default_replica_id() -> str:
    """hostname-pid: unique among processes of one machine, readable in `delegator status`."""
    return f"{socket.gethostname()}-{os.getpid()}"


def identity(replica_id: str | None, now: datetime) -> ReplicaIdentity:
    """This process, as the leases know it: the id an operator reads, and a random incarnation
    so a restarted process (the same hostname and pid 1 in a container) is a new holder."""
    name = replica_id or default_replica_id()
    return ReplicaIdentity(
        key=f"{name}#{secrets.token_hex(4)}",
        id=name,
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=now,
    )


@dataclass(frozen=True, slots=True)
class LeaseTimes:
    """How long a lease lasts unrenewed, how much of it a write needs, how often rounds run."""

    period: timedelta
    margin: timedelta

    @property
    def every(self) -> float:
        """Seconds between rounds: a quarter of the lease, so three rounds can fail before the
        margin is reached; at most ``MAX_ROUND_SECONDS``."""
        return min(self.period.total_seconds() / 4, MAX_ROUND_SECONDS)


@dataclass(frozen=True, slots=True)
class Held:
    """A lease this replica holds."""

    fence: Fence
    since: datetime  # when this replica took it
    valid_until: float  # by the monotonic clock: the renewal's send time plus the period


class LeaseObserver(Protocol):
    """What the metrics hear of the leases."""

    def leases_held(self, count: int) -> None: ...

    def lease_taken(self, over: bool) -> None: ...

    def lease_lost(self) -> None: ...


class Ownership:
    """This replica's leases. Thread-safe: rounds run on their own thread, cycles ask ``fence``
    and ``check`` from theirs.

    ``member``: a long-running replica, which takes part in sharing (a heartbeat, a share of the
    clients). A one-off command (`delegator once`) is not: it takes only the leases it ``claim``s
    and only when free, so it never runs a client a live replica runs.
    """

    def __init__(
        self,
        store: LeaseStore,
        me: ReplicaIdentity,
        times: LeaseTimes,
        *,
        clock: Clock,
        member: bool = True,
        observer: LeaseObserver | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.me = me
        self.times = times
        self.clock = clock
        self.member = member
        self.observer = observer
        self.monotonic = monotonic
        self.log = get_logger(replica=me.id)
        self._lock = threading.Lock()
        self._held: dict[str, Held] = {}
        self._leaving: set[str] = set()  # held, but another replica should run them now
        self.last_round: LeaseRound | None = None
        self.last_error: str | None = None
        # By this replica's clock, for /readyz: when the last round began, and when the last
        # one whose renewal went through did (the leases run out ``times.period`` after that).
        self.last_round_at: datetime | None = None
        self.last_renewed_at: datetime | None = None

    # ------------------------------------------------------------------ asked by cycles
    def fence(self, client: str) -> Fence | None:
        """The client's fence when this replica holds its lease with at least the margin left."""
        with self._lock:
            held = self._held.get(client)
        if held is None:
            return None
        if held.valid_until - self.monotonic() < self.times.margin.total_seconds():
            return None
        return held.fence

    def may_start(self, client: str) -> bool:
        """Whether a new cycle (or summary) of the client may start here now."""
        with self._lock:
            leaving = client in self._leaving
        return not leaving and self.fence(client) is not None

    def check(self, client: str) -> None:
        """Raise LeaseLost unless a write of ``client`` may start now (the guard before every
        Asana write and at each safe point of a cycle)."""
        with self._lock:
            held = self._held.get(client)
        if held is None:
            raise LeaseLost(client, "this replica no longer holds the client's lease")
        left = held.valid_until - self.monotonic()
        if left < self.times.margin.total_seconds():
            raise LeaseLost(
                client,
                f"this replica's lease has {max(0.0, left):.1f}s left, less than the "
                f"{self.times.margin.total_seconds():g}s a write may take; the cycle stops and "
                "whoever holds the lease next carries on",
            )

    def held(self) -> dict[str, Held]:
        with self._lock:
            return dict(self._held)

    def store_for(self, fence: Fence) -> StateStore:
        return self.store.fenced(fence)

    # ------------------------------------------------------------------ rounds
    def join(self, *, exclusive: bool = False) -> list[str]:
        """Start taking part: forget the replicas this process replaces, the ids of those.

        A predecessor is a replica with this one's id on this host whose process is gone (the
        same pid: a restarted container; or a pid that no longer runs): its leases are handed
        back at once instead of after they expire. ``exclusive`` (SQLite, whose file lock proves
        no other service runs): every other replica is gone.
        """
        gone: list[ReplicaRecord] = []
        for other in self.store.replicas():
            if other.key == self.me.key:
                continue
            if exclusive or _predecessor(other, self.me):
                gone.append(other)
        for other in gone:
            self.store.leave(
                ReplicaIdentity(other.key, other.id, other.host, other.pid, other.started_at)
            )
            self.log.warning(
                "replica_replaced",
                previous=other.key,
                reason="its process is gone" if not exclusive else "single-replica database",
            )
        return [other.id for other in gone]

    def round(
        self, clients: Collection[str], busy: Callable[[str], bool] = lambda _: False
    ) -> None:
        """One round: renew, then take this replica's share and hand back what is not."""
        sent = self.monotonic()
        began = self.last_round_at = self.clock.now()
        period = self.times.period.total_seconds()
        result = self.store.lease_round(self.me, period=period, member=self.member)
        self.last_round = result
        self.last_renewed_at = began
        renewed = {fence.client: fence for fence in result.held}
        lost: list[str] = []
        with self._lock:
            for client, held in list(self._held.items()):
                fence = renewed.get(client)
                if fence is None or fence.token != held.fence.token:
                    del self._held[client]
                    self._leaving.discard(client)
                    lost.append(client)
                else:
                    self._held[client] = Held(held.fence, held.since, sent + period)
            # Leases the database says are this process's that it did not know of: an acquire
            # that committed but whose answer was lost (a connection cut after the COMMIT).
            # Only this process holds its key, so they are adopted, then run or handed back.
            adopted = [fence for client, fence in renewed.items() if client not in self._held]
            for fence in adopted:
                self._held[fence.client] = Held(fence, self.clock.now(), sent + period)
            mine = set(self._held)
        for fence in adopted:  # the keeper sees a new fence: the client runs at once
            self.log.warning("lease_adopted", client=fence.client, fence=fence.token)
        for client in lost:
            self.log.warning("lease_lost", client=client)
            if self.observer is not None:
                self.observer.lease_lost()
        if self.member:
            wanted = share(clients, result.replicas, self.me.id)
            with self._lock:  # on its way out, but this replica's share again: it stays
                self._leaving -= wanted
            self._acquire(sorted(wanted - mine - result.others))
            self._hand_back(sorted(mine - wanted), busy)
        else:
            self._hand_back(sorted(mine - set(clients)), busy)
        if self.observer is not None:
            self.observer.leases_held(len(self.held()))
        self.last_error = None

    def claim(self, clients: Collection[str]) -> dict[str, Fence]:
        """Take the leases of ``clients`` that are free (a one-off command); those taken."""
        self._acquire(sorted(set(clients) - set(self.held())))
        return {client: held.fence for client, held in self.held().items() if client in clients}

    def _acquire(self, clients: list[str]) -> None:
        if not clients:
            return
        sent = self.monotonic()
        period = self.times.period.total_seconds()
        now = self.clock.now()
        taken = self.store.acquire_leases(self.me, clients, period=period, at=now)
        with self._lock:
            for lease in taken:
                self._held[lease.fence.client] = Held(lease.fence, now, sent + period)
                self._leaving.discard(lease.fence.client)
        for lease in taken:
            if lease.previous is not None:
                self.log.warning(
                    "lease_taken_over",
                    client=lease.fence.client,
                    previous=lease.previous,
                    fence=lease.fence.token,
                )
            else:
                # "fence", not "token": the log processors redact a field named token.
                self.log.info("lease_acquired", client=lease.fence.client, fence=lease.fence.token)
            if lease.interrupted:
                self.log.warning(
                    "abandoned_cycles_closed",
                    client=lease.fence.client,
                    cycles=lease.interrupted,
                    previous=lease.previous,
                    result="interrupted",
                )
            if self.observer is not None:
                self.observer.lease_taken(lease.previous is not None)

    def _hand_back(self, clients: list[str], busy: Callable[[str], bool]) -> None:
        """Hand back leases another replica should hold; one whose cycle runs is kept until it
        ends (no new cycle starts meanwhile).

        Each is marked leaving before ``busy`` is asked: a cycle marked running after that
        answer is refused by ``may_start`` (the scheduler asks it once running), so no cycle
        runs on a lease handed back."""
        with self._lock:
            self._leaving.update(clients)
        now_free = [client for client in clients if not busy(client)]
        if not now_free:
            return
        self.release(now_free)
        for client in now_free:
            self.log.info("lease_handed_back", client=client)

    def release(self, clients: Collection[str] | None = None) -> None:
        """Hand leases back now (all when ``clients`` is None)."""
        with self._lock:
            names = list(self._held) if clients is None else [c for c in clients if c in self._held]
            for client in names:
                del self._held[client]
                self._leaving.discard(client)
        if names:
            self.store.release_leases(self.me, names)

    def leave(self, keep: Collection[str] = ()) -> None:
        """Stop taking part: the heartbeat removed, every lease handed back but those of
        ``keep`` (a cycle still running: its lease runs out instead, while a write of it may
        still land)."""
        with self._lock:
            going = [c for c in self._held if c not in keep]
            for client in going:
                del self._held[client]
            self._leaving.clear()
        if self.member:
            self.store.leave(self.me, sorted(keep))
        elif going:
            self.store.release_leases(self.me, going)


def _predecessor(other: ReplicaRecord, me: ReplicaIdentity) -> bool:
    if other.id != me.id or other.host != me.host:
        return False
    if other.pid == me.pid:
        return True  # this very pid on this host: that process is gone
    try:
        os.kill(other.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it runs, under another user
    return False


class Keeper:
    """Runs ``Ownership`` rounds on a thread of its own until stopped."""

    def __init__(
        self,
        ownership: Ownership,
        clients: Callable[[], Collection[str]],
        busy: Callable[[str], bool],
        acquired: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.ownership = ownership
        self.clients = clients
        self.busy = busy
        # Told the clients a round took (a new fence each), so they can be run at once.
        self.acquired = acquired
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> None:
        self.tick()
        self._thread = threading.Thread(target=self._run, name="delegator-leases", daemon=True)
        self._thread.start()

    def tick(self) -> None:
        """One round; never raises (a database that does not answer: the leases run out, and
        with them the writes, until it answers again)."""
        before = {client: held.fence for client, held in self.ownership.held().items()}
        try:
            self.ownership.round(self.clients(), self.busy)
        except Exception as exc:
            self.ownership.last_error = str(exc)
            self.ownership.log.error("lease_round_failed", error=str(exc))
        self.rounds += 1
        taken = sorted(
            client
            for client, held in self.ownership.held().items()
            if before.get(client) != held.fence
        )
        if taken and self.acquired is not None:
            try:
                self.acquired(taken)
            except Exception as exc:  # the scheduler's: the clients run at their next poll
                self.ownership.log.error("leases_acquired_not_scheduled", error=repr(exc))

    def _run(self) -> None:
        every = self.ownership.times.every
        while not self._stop.wait(every):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
