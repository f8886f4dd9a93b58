"""Client leases in the store: taking a free or expired lease with a fencing token, renewing and
handing back, replica heartbeats, the fenced store that refuses the writes of a holder whose
lease moved on, the cycles a lost holder left unfinished, replicas racing for the same clients,
and a property: random acquires, releases, expiries and fenced writes keep the invariants.

Times are the database's own; the few real waits are a fraction of a second. Expiry is otherwise
simulated by setting a lease's ``expires`` to 0 through the store's engine.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection
from storekit import T0, begin

from delegator.core.expectations import Step
from delegator.cycles import Count, CycleCounts, ErrorKind
from delegator.ports import (
    CycleRecord,
    Delegation,
    Fence,
    LeaseLost,
    LeaseRecord,
    Override,
    ReplicaIdentity,
    Subscription,
    SubscriptionState,
    SyncPosition,
    Taken,
)
from delegator.store import SqlStore, StoreError, schema
from delegator.store import leasing as leasing_module
from delegator.store.database import WRITE_OPTION

LONG = 60.0  # seconds: a lease that does not run out during a test
SHORT = 0.3  # seconds: one that does, after WAIT
WAIT = 0.45
SLACK = "webhook:env:SLACK_WEBHOOK_URL"


def replica(name: str, incarnation: str = "1") -> ReplicaIdentity:
    """A replica as ``delegator.leases.identity`` makes one: the key is id#incarnation."""
    return ReplicaIdentity(
        key=f"{name}#{incarnation}", id=name, host=f"{name}.example", pid=4242, started_at=T0
    )


ALPHA, BETA, GAMMA = replica("alpha"), replica("beta"), replica("gamma")


def acquire(
    store: SqlStore,
    me: ReplicaIdentity,
    *clients: str,
    period: float = LONG,
    at: datetime = T0,
) -> list[Taken]:
    return store.acquire_leases(me, list(clients), period=period, at=at)


def lease(store: SqlStore, client: str) -> LeaseRecord:
    (record,) = [record for record in store.leases() if record.client == client]
    return record


def holders(store: SqlStore) -> dict[str, str | None]:
    return {record.client: record.holder for record in store.leases()}


@contextmanager
def raw(store: SqlStore) -> Iterator[Connection]:
    """A write transaction straight on the store's engine, past the store's own methods."""
    with store._engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


def expire(store: SqlStore, *clients: str) -> None:
    """What time does to a lease nobody renews, without waiting: its holder stays."""
    table = schema.leases
    with raw(store) as connection:
        connection.execute(table.update().where(table.c.client.in_(clients)).values(expires=0.0))


def dump(store: SqlStore) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, comparable: what a refused write must leave as it was."""
    with store._engine.connect() as connection:
        return {
            table.name: sorted(
                tuple(repr(value) for value in row) for row in connection.execute(sa.select(table))
            )
            for table in schema.metadata.sorted_tables
        }


def cycle_row(store: SqlStore, cycle_id: int) -> Any:
    with store._engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT replica, fence, finished_at FROM cycles WHERE id = :id"),
            {"id": cycle_id},
        ).one()


def cycle(store: SqlStore, cycle_id: int) -> CycleRecord:
    (record,) = [record for record in store.cycles(limit=100) if record.id == cycle_id]
    return record


# ----------------------------------------------------------------------------- taking a lease


def test_a_free_lease_is_taken_with_token_1_and_over_only_after_it_expires(
    store: SqlStore,
) -> None:
    """No assertion here needs the machine to be quick: a lease that must stay live is taken
    for LONG; the ones that must run out are given SHORT, then waited for."""
    before = datetime.now(UTC)

    assert acquire(store, ALPHA, "acme") == [Taken(Fence("acme", ALPHA.key, 1), None)]
    assert acquire(store, BETA, "acme") == []  # live: not BETA's to take
    record = lease(store, "acme")
    assert (record.holder, record.replica, record.token, record.live) == (
        ALPHA.key,
        "alpha",
        1,
        True,
    )
    assert record.acquired_at is not None
    assert record.expires_at is not None
    assert abs((record.expires_at - record.acquired_at).total_seconds() - LONG) < 0.01
    assert abs((record.acquired_at - before).total_seconds()) < 5  # the database's clock
    acquire(store, GAMMA, "globex", period=SHORT)
    short = lease(store, "globex")
    assert short.acquired_at is not None
    assert short.expires_at is not None
    assert abs((short.expires_at - short.acquired_at).total_seconds() - SHORT) < 0.01
    store.lease_round(ALPHA, period=SHORT)  # ALPHA's renewed for SHORT only: it runs out too

    time.sleep(WAIT)

    assert not lease(store, "acme").live
    assert not lease(store, "globex").live
    assert acquire(store, BETA, "acme", "globex") == [
        Taken(Fence("acme", BETA.key, 2), "alpha"),
        Taken(Fence("globex", BETA.key, 2), "gamma"),
    ]
    assert acquire(store, ALPHA, "acme") == []  # BETA's now, and live
    record = lease(store, "acme")
    assert (record.holder, record.replica, record.token, record.live) == (BETA.key, "beta", 2, True)


def test_acquiring_takes_the_free_and_expired_leases_and_leaves_the_live_ones(
    store: SqlStore,
) -> None:
    acquire(store, ALPHA, "acme", "globex")
    acquire(store, GAMMA, "initech")
    expire(store, "globex")

    taken = acquire(store, BETA, "umbrella", "initech", "globex", "acme", "globex")

    assert taken == [  # by client; a client named twice counts once
        Taken(Fence("globex", BETA.key, 2), "alpha"),
        Taken(Fence("umbrella", BETA.key, 1), None),
    ]
    assert holders(store) == {
        "acme": ALPHA.key,
        "globex": BETA.key,
        "initech": GAMMA.key,
        "umbrella": BETA.key,
    }
    assert acquire(store, BETA) == []
    assert acquire(store, BETA, "globex") == []  # its own already: the token stays
    assert lease(store, "globex").token == 2
    restarted = replica("gamma", incarnation="2")  # the same id, restarted: another holder
    expire(store, "initech")
    assert acquire(store, restarted, "initech") == [
        Taken(Fence("initech", restarted.key, 2), "gamma")
    ]


# ----------------------------------------------------------------------------- rounds


def test_a_round_renews_only_its_own_leases(store: SqlStore) -> None:
    acquire(store, ALPHA, "acme", period=SHORT)
    acquire(store, GAMMA, "globex", period=SHORT)

    assert store.lease_round(ALPHA, period=LONG).held == (Fence("acme", ALPHA.key, 1),)

    time.sleep(WAIT)  # GAMMA's lease ran out; ALPHA's was renewed for LONG

    assert store.lease_round(ALPHA, period=LONG).others == frozenset()
    assert lease(store, "acme").live
    assert not lease(store, "globex").live
    assert acquire(store, BETA, "acme", "globex") == [Taken(Fence("globex", BETA.key, 2), "gamma")]
    assert store.lease_round(ALPHA, period=LONG).others == frozenset({"globex"})
    assert store.lease_round(BETA, period=LONG).others == frozenset({"acme"})


def test_a_round_lists_its_leases_sorted_and_the_others_held_live(store: SqlStore) -> None:
    acquire(store, ALPHA, "zeta", "acme")
    acquire(store, BETA, "globex")
    acquire(store, GAMMA, "initech")
    expire(store, "acme", "initech")

    mine = store.lease_round(ALPHA, period=LONG, member=False)

    assert mine.held == (Fence("acme", ALPHA.key, 1), Fence("zeta", ALPHA.key, 1))
    assert mine.others == frozenset({"globex"})  # GAMMA's lease ran out: not held live
    assert lease(store, "acme").live  # renewed, even by a round that is no heartbeat
    assert not lease(store, "initech").live
    assert acquire(store, BETA, "acme", "zeta") == []
    assert store.lease_round(BETA, period=LONG).others == frozenset({"acme", "zeta"})
    assert store.lease_round(GAMMA, period=LONG).held == (Fence("initech", GAMMA.key, 1),)
    assert store.lease_round(BETA, period=LONG).others == frozenset({"acme", "zeta", "initech"})


def test_a_round_is_a_heartbeat_only_for_a_member(store: SqlStore) -> None:
    assert store.lease_round(ALPHA, period=LONG).replicas == ("alpha",)
    assert store.lease_round(BETA, period=LONG, member=False).replicas == ("alpha",)
    assert [record.key for record in store.replicas()] == [ALPHA.key]

    assert store.lease_round(BETA, period=LONG).replicas == ("alpha", "beta")
    # a second incarnation of the same id is another row, the same id once
    restarted = replica("alpha", incarnation="2")
    assert store.lease_round(restarted, period=LONG).replicas == ("alpha", "beta")

    records = {record.key: record for record in store.replicas()}
    assert set(records) == {ALPHA.key, restarted.key, BETA.key}
    alpha = records[ALPHA.key]
    assert (alpha.id, alpha.host, alpha.pid, alpha.started_at, alpha.live) == (
        "alpha",
        "alpha.example",
        4242,
        T0,
        True,
    )
    assert abs((alpha.expires_at - alpha.seen_at).total_seconds() - LONG) < 0.01


def test_a_replica_whose_heartbeat_stopped_is_no_longer_live(store: SqlStore) -> None:
    store.lease_round(ALPHA, period=LONG)
    store.lease_round(GAMMA, period=LONG)

    assert store.lease_round(BETA, period=LONG).replicas == ("alpha", "beta", "gamma")
    store.lease_round(GAMMA, period=SHORT)  # its last heartbeat
    time.sleep(WAIT)

    assert store.lease_round(BETA, period=LONG).replicas == ("alpha", "beta")
    assert {record.id: record.live for record in store.replicas()} == {
        "alpha": True,
        "beta": True,
        "gamma": False,  # kept a while, for `delegator status`
    }
    assert store.lease_round(GAMMA, period=LONG).replicas == ("alpha", "beta", "gamma")


# ----------------------------------------------------------------------------- handing back


def test_a_lease_handed_back_is_taken_at_once_with_a_higher_token(store: SqlStore) -> None:
    acquire(store, ALPHA, "acme")

    store.release_leases(ALPHA, ["acme"])

    assert lease(store, "acme") == LeaseRecord(
        client="acme",
        holder=None,
        replica=None,
        token=1,  # kept: the next holder raises it
        acquired_at=None,
        expires_at=None,
        live=False,
    )
    assert acquire(store, BETA, "acme") == [Taken(Fence("acme", BETA.key, 2), None)]
    assert store.lease_round(ALPHA, period=LONG).held == ()


def test_releasing_some_leases_keeps_the_others(store: SqlStore) -> None:
    acquire(store, ALPHA, "acme", "globex", "initech")

    store.release_leases(ALPHA, ["acme"])
    store.release_leases(ALPHA, [])  # nothing
    store.release_leases(BETA, ["globex"])  # not BETA's to hand back
    store.release_leases(BETA)

    assert holders(store) == {"acme": None, "globex": ALPHA.key, "initech": ALPHA.key}
    assert acquire(store, BETA, "acme", "globex", "initech") == [
        Taken(Fence("acme", BETA.key, 2), None)
    ]

    store.release_leases(ALPHA)  # all of ALPHA's

    assert holders(store) == {"acme": BETA.key, "globex": None, "initech": None}
    assert acquire(store, GAMMA, "acme", "globex", "initech") == [
        Taken(Fence("globex", GAMMA.key, 2), None),
        Taken(Fence("initech", GAMMA.key, 2), None),
    ]


def test_leaving_removes_the_replica_and_frees_all_its_leases(store: SqlStore) -> None:
    store.lease_round(ALPHA, period=LONG)
    store.lease_round(BETA, period=LONG)
    store.lease_round(GAMMA, period=LONG)
    with raw(store) as connection:  # GAMMA went away long ago
        table = schema.replicas
        connection.execute(
            table.update().where(table.c.key == GAMMA.key).values(seen=1.0, expires=2.0)
        )
    acquire(store, ALPHA, "acme", "globex")
    acquire(store, BETA, "initech")

    store.leave(ALPHA)

    assert [record.key for record in store.replicas()] == [BETA.key]  # GAMMA's forgotten too
    assert holders(store) == {"acme": None, "globex": None, "initech": BETA.key}
    assert store.lease_round(BETA, period=LONG).replicas == ("beta",)
    assert acquire(store, BETA, "acme", "globex") == [
        Taken(Fence("acme", BETA.key, 2), None),
        Taken(Fence("globex", BETA.key, 2), None),
    ]


def test_leaving_may_keep_the_leases_of_cycles_still_running(store: SqlStore) -> None:
    store.lease_round(ALPHA, period=LONG)
    acquire(store, ALPHA, "acme", "globex", "initech")

    store.leave(ALPHA, keep=["acme", "initech"])

    assert store.replicas() == []
    assert holders(store) == {"acme": ALPHA.key, "globex": None, "initech": ALPHA.key}
    assert lease(store, "acme").live  # it runs out instead, while a write of it may still land
    assert acquire(store, BETA, "acme", "globex", "initech") == [
        Taken(Fence("globex", BETA.key, 2), None)
    ]


# ----------------------------------------------------------------------------- the fenced store


@dataclass
class Targets:
    """Rows the writes below change, made through the unfenced store."""

    cycle_id: int
    action_id: int
    send_id: int
    followup_id: int


def prepare(store: SqlStore) -> Targets:
    cycle_id = store.start_cycle("acme", T0, False)
    action_id = begin(store)
    send_id = store.claim_send(
        client="acme",
        kind="summary",
        recipient="",
        destination=SLACK,
        period=T0 - timedelta(days=1),
        period_start=T0 - timedelta(days=8),
        at=T0,
    )
    assert send_id is not None
    followup_id = claim_followup(store, Step.REMINDER)
    assert followup_id is not None
    return Targets(cycle_id, action_id, send_id, followup_id)


def claim_followup(store: SqlStore, step: Step) -> int | None:
    return store.claim_followup(
        client="acme",
        task_gid="1201",
        task_name="task 1201",
        rule="Invoices to Anna",
        assistant="anna",
        delegated_at=T0,
        stage="acknowledged",
        step=step,
        due_at=T0 + timedelta(hours=4),
        at=T0 + timedelta(hours=3),
    )


DELEGATION = Delegation(
    client="acme",
    task_gid="1201",
    task_name="task 1201",
    rule="Invoices to Anna",
    assistant="anna",
    assignee_gid="501",
    delegated_at=T0,
    due_on=date(2025, 3, 7),
)
Write = Callable[[SqlStore, Targets], object]
# Every write method of the StateStore.
WRITES: dict[str, Write] = {
    "start_cycle": lambda s, t: s.start_cycle("acme", T0, False),
    "finish_cycle": lambda s, t: s.finish_cycle(
        t.cycle_id, T0 + timedelta(minutes=1), CycleCounts({Count.TASKS_SEEN: 3})
    ),
    "close_abandoned_cycles": lambda s, t: s.close_abandoned_cycles(T0 + timedelta(days=1)),
    "save_sync_position": lambda s, t: s.save_sync_position(
        "acme", SyncPosition("project:1", high_water=T0, sync_token="abc")
    ),
    "begin_action": lambda s, t: begin(s, task="1301"),
    "finish_action": lambda s, t: s.finish_action(t.action_id, "done", T0, "assigned"),
    "record_delegation": lambda s, t: s.record_delegation(DELEGATION),
    "close_delegation": lambda s, t: s.close_delegation("acme", "1201", "done", T0),
    "record_override": lambda s, t: s.record_override(
        Override("acme", "1202", "task 1202", "Invoices to Anna", "assigned back", T0)
    ),
    "save_round_robin": lambda s, t: s.save_round_robin("acme", "pool", "anna"),
    "claim_send": lambda s, t: s.claim_send(
        client="acme",
        kind="summary",
        recipient="",
        destination=SLACK,
        period=T0,
        period_start=T0 - timedelta(days=7),
        at=T0,
    ),
    "lease_send": lambda s, t: s.lease_send(
        t.send_id, at=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2)
    ),
    "finish_send": lambda s, t: s.finish_send(t.send_id, "sent", T0, receipt="HTTP 200"),
    "save_subscription": lambda s, t: s.save_subscription(
        Subscription("key-1", "acme", "1201", SubscriptionState.PENDING, T0)
    ),
    "remove_subscription": lambda s, t: s.remove_subscription("key-1"),
    "claim_followup": lambda s, t: claim_followup(s, Step.ESCALATION),
    "finish_followup": lambda s, t: s.finish_followup(
        t.followup_id, "done", T0 + timedelta(hours=3), story_gid="9001", detail={"text": "hi"}
    ),
}
# Every read: never refused, whatever the fence.
READS: dict[str, Callable[[SqlStore, Targets], object]] = {
    "ping": lambda s, t: s.ping(),
    "schema_version": lambda s, t: s.schema_version(),
    "health": lambda s, t: s.health().version,
    "cycles": lambda s, t: s.cycles(),
    "sync_position": lambda s, t: s.sync_position("acme", "project:1"),
    "pending_actions": lambda s, t: s.pending_actions("acme"),
    "actions": lambda s, t: s.actions(),
    "memories": lambda s, t: s.memories("acme", ["1201", "1202"]),
    "delegations": lambda s, t: s.delegations("acme", None),
    "overrides": lambda s, t: s.overrides("acme"),
    "assistant_load": lambda s, t: s.assistant_load("acme"),
    "round_robin": lambda s, t: s.round_robin("acme"),
    "sends": lambda s, t: s.sends(),
    "last_send": lambda s, t: s.last_send("acme", "summary", "", SLACK),
    "leases": lambda s, t: s.leases(),
    "replicas": lambda s, t: s.replicas(),
    "subscriptions": lambda s, t: s.subscriptions("acme"),
    "subscription": lambda s, t: s.subscription("key-1"),
    "followups": lambda s, t: s.followups("acme"),
}


def test_every_write_of_a_fenced_store_is_refused_once_another_holder_took_the_lease(
    store: SqlStore,
) -> None:
    targets = prepare(store)
    (mine,) = acquire(store, ALPHA, "acme")
    alpha = store.fenced(mine.fence)
    for write in WRITES.values():  # while ALPHA's lease is current
        write(alpha, targets)
    expire(store, "acme")
    (theirs,) = acquire(store, BETA, "acme")
    beta = store.fenced(theirs.fence)

    for name, write in WRITES.items():
        before = dump(store)
        with pytest.raises(LeaseLost) as refused:
            write(alpha, targets)
        assert not isinstance(refused.value, StoreError), name
        assert refused.value.client == "acme", name
        assert "token 1" in refused.value.detail, name
        assert "held by replica beta" in refused.value.detail, name
        assert dump(store) == before, f"{name}: a refused write changed the database"
        write(beta, targets)  # the new holder's writes go through
        write(store, targets)  # and an unfenced store's


def test_a_fenced_store_reads_whatever_its_fence(store: SqlStore) -> None:
    targets = prepare(store)
    (mine,) = acquire(store, ALPHA, "acme")
    WRITES["save_round_robin"](store.fenced(mine.fence), targets)
    expire(store, "acme")
    acquire(store, BETA, "acme")
    lost = store.fenced(mine.fence)
    never = store.fenced(Fence("never-leased", ALPHA.key, 1))

    for name, read in READS.items():
        assert read(lost, targets) == read(store, targets), name
        assert read(never, targets) == read(store, targets), name


def test_a_fenced_store_still_does_the_lease_bookkeeping(store: SqlStore) -> None:
    (mine,) = acquire(store, ALPHA, "acme")
    expire(store, "acme")
    acquire(store, BETA, "acme")
    lost = store.fenced(mine.fence)

    assert lost.lease_round(ALPHA, period=LONG).others == frozenset({"acme"})
    assert acquire(lost, ALPHA, "globex") == [Taken(Fence("globex", ALPHA.key, 1), None)]
    lost.release_leases(ALPHA, ["globex"])
    lost.leave(ALPHA)
    assert holders(store) == {"acme": BETA.key, "globex": None}


def test_a_fence_that_is_not_the_current_lease_is_refused(store: SqlStore) -> None:
    (first,) = acquire(store, ALPHA, "acme")
    store.release_leases(ALPHA, ["acme"])

    with pytest.raises(LeaseLost, match="held by nobody"):
        store.fenced(first.fence).start_cycle("acme", T0, False)

    (current,) = acquire(store, BETA, "acme")
    assert current.fence == Fence("acme", BETA.key, 2)
    before = dump(store)
    for stale in (
        first.fence,  # the previous holder's
        Fence("acme", BETA.key, 1),  # an older token
        Fence("acme", BETA.key, 3),  # a newer one
        Fence("acme", ALPHA.key, 2),  # another holder with the current token
        Fence("never-leased", BETA.key, 0),  # a client with no lease at all
    ):
        with pytest.raises(LeaseLost):
            store.fenced(stale).save_round_robin("acme", "pool", "anna")
        assert dump(store) == before, stale
    store.fenced(current.fence).save_round_robin("acme", "pool", "anna")
    assert store.round_robin("acme") == {"pool": "anna"}


def test_fencing_a_store_leaves_the_store_it_came_from_unfenced(store: SqlStore) -> None:
    (mine,) = acquire(store, ALPHA, "acme")
    alpha = store.fenced(mine.fence)
    expire(store, "acme")
    acquire(store, BETA, "acme")

    assert "fenced=acme#1" in repr(alpha)
    assert "fenced" not in repr(store)
    cycle_id = store.start_cycle("acme", T0, False)
    assert cycle_row(store, cycle_id)[:2] == (None, None)
    with pytest.raises(LeaseLost):
        alpha.start_cycle("acme", T0, False)


def test_a_takeover_never_lands_inside_a_fenced_write(
    store: SqlStore, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ALPHA's write has checked its (expired, not yet taken) lease and not committed yet:
    PostgreSQL's takeover skips the share-locked row, SQLite's waits for the write lock; either
    way the write is never one made after another replica took the client."""
    (mine,) = acquire(store, ALPHA, "acme")
    expire(store, "acme")
    inside, go = threading.Event(), threading.Event()
    real_check = leasing_module.check

    def slow_check(connection: Connection, fence: Fence) -> None:
        real_check(connection, fence)
        inside.set()
        assert go.wait(10)

    monkeypatch.setattr(leasing_module, "check", slow_check)
    failures: list[BaseException] = []
    taken: list[list[Taken]] = []

    def write() -> None:
        try:
            store.fenced(mine.fence).save_round_robin("acme", "pool", "anna")
        except BaseException as exc:
            failures.append(exc)

    def take() -> None:
        try:
            taken.append(acquire(store, BETA, "acme"))
        except BaseException as exc:
            failures.append(exc)

    writer = threading.Thread(target=write)
    taker = threading.Thread(target=take)
    try:
        writer.start()
        assert inside.wait(10)
        taker.start()
        if backend == "postgresql":
            taker.join(10)
            assert not taker.is_alive()
            assert taken == [[]]
        else:
            taker.join(0.3)
            assert taker.is_alive()
            assert taken == []
    finally:  # the threads end, and their connections go back, whatever happened
        go.set()
        writer.join(10)
        if taker.ident is not None:
            taker.join(10)
    assert failures == []
    assert store.round_robin("acme") == {"pool": "anna"}
    if backend == "postgresql":
        taken = [acquire(store, BETA, "acme")]
    assert taken == [[Taken(Fence("acme", BETA.key, 2), "alpha")]]
    monkeypatch.undo()
    with pytest.raises(LeaseLost):
        store.fenced(mine.fence).save_round_robin("acme", "pool", "bruno")


def test_a_holder_asking_for_its_own_expired_lease_does_not_hold_others_off_it(
    store: SqlStore, backend: str
) -> None:
    """ALPHA's lease ran out and ALPHA asks for it again (nothing to take: a renewal does that);
    BETA, asking at the same moment, takes it, as nobody is changing that row. (Before 32a59b6
    ALPHA's SELECT ... FOR UPDATE locked its own row, and PostgreSQL's BETA skipped it.)"""
    acquire(store, ALPHA, "acme")
    expire(store, "acme")
    inside, go = threading.Event(), threading.Event()
    asking: list[threading.Thread] = []

    def pause(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread() in asking and "ORDER BY leases.client" in statement:
            inside.set()
            go.wait(10)

    sa.event.listen(store._engine, "after_cursor_execute", pause)
    mine: list[list[Taken]] = []
    theirs: list[list[Taken]] = []
    holder = threading.Thread(target=lambda: mine.append(acquire(store, ALPHA, "acme")))
    taker = threading.Thread(target=lambda: theirs.append(acquire(store, BETA, "acme")))
    asking.append(holder)
    try:
        holder.start()
        assert inside.wait(10)
        taker.start()
        # SQLite: BETA waits for ALPHA's write lock; PostgreSQL: BETA answers without waiting
        taker.join(10 if backend == "postgresql" else 0.3)
    finally:
        go.set()
        holder.join(10)
        if taker.ident is not None:
            taker.join(10)
        sa.event.remove(store._engine, "after_cursor_execute", pause)

    assert mine == [[]]
    assert theirs == [[Taken(Fence("acme", BETA.key, 2), "alpha")]]


def test_a_replica_paused_inside_its_round_does_not_stall_anothers_acquire(
    store: SqlStore, backend: str
) -> None:
    """ALPHA stops (SIGSTOP, a long GC) between its renewal and its COMMIT, its lease having
    run out meanwhile: BETA skips the row ALPHA's transaction changes (SKIP LOCKED) and takes
    the rest at once, instead of waiting for ALPHA. (32a59b6 inserted a row for every wanted
    client, ON CONFLICT DO NOTHING: PostgreSQL's unique check waited for ALPHA; ef3b612.)"""
    if backend == "sqlite":
        pytest.skip("SQLite serialises every write: it serves one replica")
    acquire(store, ALPHA, "acme")
    expire(store, "acme")  # as BETA sees it: ALPHA's renewal has not committed
    inside, go = threading.Event(), threading.Event()
    paused: list[threading.Thread] = []
    pids: dict[str, int] = {}

    def note(_connection: Any, cursor: Any, *_: Any) -> None:
        pids[threading.current_thread().name] = cursor.connection.info.backend_pid

    def pause(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread() in paused and statement.startswith("UPDATE leases"):
            inside.set()  # ALPHA's renewal has run, its transaction is open
            go.wait(10)

    sa.event.listen(store._engine, "before_cursor_execute", note)
    sa.event.listen(store._engine, "after_cursor_execute", pause)
    theirs: list[list[Taken]] = []
    alpha = threading.Thread(target=lambda: store.lease_round(ALPHA, period=LONG), name="alpha")
    beta = threading.Thread(
        target=lambda: theirs.append(acquire(store, BETA, "acme", "globex")), name="beta"
    )
    paused.append(alpha)
    waited = False
    try:
        alpha.start()
        assert inside.wait(10)
        beta.start()
        deadline = time.monotonic() + 10
        with store._engine.connect() as connection:
            while beta.is_alive() and time.monotonic() < deadline and not waited:
                if "beta" in pids:  # is BETA's backend waiting for a lock?
                    waited = bool(
                        connection.execute(
                            sa.text(
                                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity "
                                "WHERE pid = :pid"
                            ),
                            {"pid": pids["beta"]},
                        ).scalar()
                    )
                beta.join(0.02)
    finally:
        go.set()
        alpha.join(10)
        if beta.ident is not None:
            beta.join(10)
        sa.event.remove(store._engine, "before_cursor_execute", note)
        sa.event.remove(store._engine, "after_cursor_execute", pause)

    assert not waited, "BETA waited for the transaction of the paused ALPHA"
    assert theirs == [[Taken(Fence("globex", BETA.key, 1), None)]]


# ----------------------------------------------------------------------------- cycles and leases


def test_a_cycle_started_through_a_fenced_store_records_its_replica_and_fence(
    store: SqlStore,
) -> None:
    acquire(store, ALPHA, "acme")
    expire(store, "acme")
    (taken,) = acquire(store, BETA, "acme")

    fenced_id = store.fenced(taken.fence).start_cycle("acme", T0, False)
    dry_id = store.start_cycle("acme", T0, True)

    assert cycle_row(store, fenced_id)[:2] == ("beta", 2)
    assert cycle_row(store, dry_id)[:2] == (None, None)


def test_a_replica_id_with_a_hash_is_recorded_whole(store: SqlStore) -> None:
    """The key is f"{id}#{incarnation}" and the id is free text (DELEGATOR_REPLICA_ID)."""
    web = ReplicaIdentity(key="web#2#3fa9c2", id="web#2", host="h", pid=1, started_at=T0)
    (taken,) = acquire(store, web, "acme")

    cycle_id = store.fenced(taken.fence).start_cycle("acme", T0, False)

    assert lease(store, "acme").replica == "web#2"
    assert cycle_row(store, cycle_id)[0] == "web#2"


def test_taking_a_lease_over_closes_the_cycles_its_previous_holder_left_running(
    store: SqlStore,
) -> None:
    (acme,) = acquire(store, ALPHA, "acme")
    (globex,) = acquire(store, ALPHA, "globex")
    alpha_acme = store.fenced(acme.fence)
    running = alpha_acme.start_cycle("acme", T0, False)
    alpha_acme.finish_action(begin(alpha_acme, cycle_id=running), "done", T0)
    finished = alpha_acme.start_cycle("acme", T0, False)
    alpha_acme.finish_cycle(finished, T0 + timedelta(seconds=5), CycleCounts({Count.MATCHED: 2}))
    other_client = store.fenced(globex.fence).start_cycle("globex", T0, False)
    unleased = store.start_cycle("acme", T0, False)  # no lease: close_abandoned_cycles' business
    expire(store, "acme", "globex")
    at = T0 + timedelta(minutes=5)

    assert acquire(store, BETA, "acme", at=at) == [
        Taken(Fence("acme", BETA.key, 2), "alpha", interrupted=1)
    ]

    closed = cycle(store, running)
    assert closed.finished_at == at
    assert closed.counts == CycleCounts({Count.INTERRUPTED: 1})
    assert len(closed.errors) == 1
    assert "replica alpha" in closed.errors[0]
    assert "replica beta" in closed.errors[0]
    assert closed.error_kind(0) == ErrorKind.CYCLE
    assert cycle(store, finished).finished_at == T0 + timedelta(seconds=5)
    assert cycle(store, finished).counts == CycleCounts({Count.MATCHED: 2})
    assert cycle(store, other_client).finished_at is None
    assert cycle(store, unleased).finished_at is None
    with pytest.raises(LeaseLost):  # ALPHA, waking up, cannot finish it after all
        alpha_acme.finish_cycle(running, T0 + timedelta(minutes=6), CycleCounts())
    assert cycle(store, running).finished_at == at


def test_a_takeover_closes_the_unfinished_cycles_of_every_earlier_holder(store: SqlStore) -> None:
    (first,) = acquire(store, ALPHA, "acme")
    alphas = store.fenced(first.fence).start_cycle("acme", T0, False)
    store.release_leases(ALPHA)  # handed back with a cycle unfinished

    (second,) = acquire(store, BETA, "acme", at=T0 + timedelta(minutes=1))

    assert (second.previous, second.interrupted) == (None, 1)
    assert cycle(store, alphas).finished_at == T0 + timedelta(minutes=1)
    betas = store.fenced(second.fence).start_cycle("acme", T0, False)
    store.release_leases(BETA, ["acme"])

    (third,) = acquire(store, ALPHA, "acme", at=T0 + timedelta(minutes=2))

    assert (third.fence.token, third.interrupted) == (3, 1)  # BETA's; ALPHA's was closed before

    closed = cycle(store, betas)
    assert closed.finished_at == T0 + timedelta(minutes=2)
    assert "replica beta" in closed.errors[-1]
    assert "replica alpha took the client over" in closed.errors[-1]
    assert cycle(store, alphas).finished_at == T0 + timedelta(minutes=1)  # closed once


def test_closing_abandoned_cycles_at_start_up_leaves_the_fenced_ones_alone(
    store: SqlStore,
) -> None:
    (taken,) = acquire(store, ALPHA, "acme")
    fenced_id = store.fenced(taken.fence).start_cycle("acme", T0, False)
    unfenced_id = store.start_cycle("acme", T0, False)
    with raw(store) as connection:  # both started by a process that is gone (another machine)
        connection.execute(
            schema.cycles.update().values(
                counts={"owner_host": 1, "owner_pid": 99999, "owner_start": 1}
            )
        )

    assert store.close_abandoned_cycles(T0 + timedelta(hours=1)) == 1

    assert cycle(store, unfenced_id).finished_at == T0 + timedelta(hours=1)
    assert cycle(store, fenced_id).finished_at is None
    assert cycle_row(store, fenced_id)[:2] == ("alpha", 1)


# ----------------------------------------------------------------------------- a race


def race(
    stores: list[SqlStore], racers: list[ReplicaIdentity], wanted: list[list[str]]
) -> list[list[Taken]]:
    """Each store acquires its racer's ``wanted`` clients from a thread of its own, all at once."""
    barrier = threading.Barrier(len(racers))
    results: list[list[Taken]] = [[] for _ in racers]
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(10)
            results[n] = acquire(stores[n], racers[n], *wanted[n])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    return results


def test_replicas_racing_for_the_same_clients_each_client_goes_to_one(
    store: SqlStore, database_url: str
) -> None:
    """Several stores on one database (separate connections) acquire the same clients at the
    same moment, round after round (new clients, handed back, expired): each client goes to
    exactly one, with the next token, and no token is handed out twice. As the service does, a
    replica asks only for the clients it does not hold."""
    clients = [f"client-{n}" for n in range(8)]
    racers = [replica(f"r{n}") for n in range(6)]
    stores = [SqlStore(database_url) for _ in racers]
    issued: set[tuple[str, int]] = set()
    tokens = dict.fromkeys(clients, 0)
    winners: dict[str, int] = {}
    try:
        for racing in stores:
            racing.ping()  # connected before the start
        for round_, how in enumerate(["new", "handed back", "expired", "handed back", "expired"]):
            if how == "handed back":
                for n, racing in enumerate(stores):
                    racing.release_leases(racers[n])
            elif how == "expired":
                expire(store, *clients)
            wanted = [  # in another order each: the store sorts them
                [c for c in clients[n % 3 :] + clients[: n % 3] if winners.get(c) != n]
                for n in range(len(racers))
            ]

            results = race(stores, racers, wanted)

            won = Counter(taken.fence.client for result in results for taken in result)
            assert won == dict.fromkeys(clients, 1), f"round {round_} ({how})"
            for n, result in enumerate(results):
                for taken in result:
                    client = taken.fence.client
                    assert taken.fence.holder == racers[n].key
                    assert taken.fence.token == tokens[client] + 1
                    assert (client, taken.fence.token) not in issued
                    issued.add((client, taken.fence.token))
                    before = racers[winners[client]].id if how == "expired" else None
                    assert taken.previous == before, f"round {round_} ({how})"
                    tokens[client], winners[client] = taken.fence.token, n
            assert holders(store) == {c: racers[winners[c]].key for c in clients}
            assert {record.client: record.token for record in store.leases()} == tokens
    finally:
        for racing in stores:
            racing.close()


# ----------------------------------------------------------------------------- a property

REPLICAS = [replica("alpha"), replica("beta"), replica("gamma")]
CLIENTS = ["acme", "globex", "initech"]


@dataclass(frozen=True)
class Acquire:
    replica: int
    clients: frozenset[str]


@dataclass(frozen=True)
class Release:
    replica: int
    clients: frozenset[str] | None  # None: all of them


@dataclass(frozen=True)
class Expire:
    clients: frozenset[str]


@dataclass(frozen=True)
class Round:
    replica: int
    member: bool


@dataclass(frozen=True)
class Leave:
    replica: int
    keep: frozenset[str]


@dataclass(frozen=True)
class FencedWrite:
    replica: int
    client: str
    token: int


@dataclass(frozen=True)
class CurrentWrite:
    """A write with the client's current (holder, token), whoever holds it."""

    client: str


@dataclass(frozen=True)
class NearWrite:
    """A write with the current holder and a token one off the current one."""

    client: str
    off: int


Op = Acquire | Release | Expire | Round | Leave | FencedWrite | CurrentWrite | NearWrite
_replica = st.integers(0, len(REPLICAS) - 1)
_clients = st.frozensets(st.sampled_from(CLIENTS), min_size=1)
OPS = st.one_of(
    st.builds(Acquire, _replica, _clients),
    st.builds(Release, _replica, st.none() | _clients),
    st.builds(Expire, _clients),
    st.builds(Round, _replica, st.booleans()),
    st.builds(Leave, _replica, st.frozensets(st.sampled_from(CLIENTS))),
    st.builds(FencedWrite, _replica, st.sampled_from(CLIENTS), st.integers(0, 4)),
    st.builds(CurrentWrite, st.sampled_from(CLIENTS)),
    st.builds(NearWrite, st.sampled_from(CLIENTS), st.sampled_from([-1, 1])),
)


@dataclass
class Slot:
    """The model of one client's lease."""

    exists: bool = False
    holder: int | None = None
    token: int = 0
    live: bool = False


@dataclass
class Model:
    slots: dict[str, Slot] = field(default_factory=lambda: {c: Slot() for c in CLIENTS})
    members: set[int] = field(default_factory=set)
    writes: int = 0

    def current(self, client: str) -> Fence | None:
        slot = self.slots[client]
        if slot.holder is None:
            return None
        return Fence(client, REPLICAS[slot.holder].key, slot.token)


def _step(store: SqlStore, model: Model, op: Op) -> None:
    if isinstance(op, Acquire):
        expected: list[Taken] = []
        for client in sorted(op.clients):
            slot = model.slots[client]
            slot.exists = True
            if slot.holder == op.replica or (slot.holder is not None and slot.live):
                continue
            previous = REPLICAS[slot.holder].id if slot.holder is not None else None
            slot.holder, slot.token, slot.live = op.replica, slot.token + 1, True
            expected.append(Taken(Fence(client, REPLICAS[op.replica].key, slot.token), previous))
        assert acquire(store, REPLICAS[op.replica], *op.clients) == expected
    elif isinstance(op, Release | Leave):
        chosen = op.clients if isinstance(op, Release) else None
        kept = op.keep if isinstance(op, Leave) else frozenset()
        for client in chosen if chosen is not None else CLIENTS:
            slot = model.slots[client]
            if slot.holder == op.replica and client not in kept:
                slot.holder, slot.live = None, False
        if isinstance(op, Leave):
            model.members.discard(op.replica)
            store.leave(REPLICAS[op.replica], keep=sorted(op.keep))
        else:
            store.release_leases(REPLICAS[op.replica], None if chosen is None else sorted(chosen))
    elif isinstance(op, Expire):
        for client in op.clients:
            model.slots[client].live = False
        expire(store, *op.clients)
    elif isinstance(op, Round):
        if op.member:
            model.members.add(op.replica)
        held = []
        for client in CLIENTS:
            slot = model.slots[client]
            if slot.holder == op.replica:
                slot.live = True
                held.append(Fence(client, REPLICAS[op.replica].key, slot.token))
        others = {
            c for c, s in model.slots.items() if s.holder not in (None, op.replica) and s.live
        }
        found = store.lease_round(REPLICAS[op.replica], period=LONG, member=op.member)
        assert found.held == tuple(held)
        assert found.others == others
        assert found.replicas == tuple(sorted(REPLICAS[m].id for m in model.members))
    else:
        current = model.current(op.client) or Fence(op.client, REPLICAS[0].key, 0)
        if isinstance(op, FencedWrite):
            fence = Fence(op.client, REPLICAS[op.replica].key, op.token)
        elif isinstance(op, NearWrite):
            fence = Fence(op.client, current.holder, current.token + op.off)
        else:
            fence = current
        model.writes += 1
        marker = f"write-{model.writes}"
        before = store.round_robin(op.client).get("pool")
        try:
            store.fenced(fence).save_round_robin(op.client, "pool", marker)
            succeeded = True
        except LeaseLost:
            succeeded = False
        assert succeeded == (fence == model.current(op.client)), (fence, model.current(op.client))
        assert store.round_robin(op.client).get("pool") == (marker if succeeded else before)


@settings(
    max_examples=25,
    deadline=None,  # each example is a few dozen transactions
    database=None,  # no example database left in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=1, max_size=14))
def test_random_lease_traffic_keeps_tokens_rising_and_fences_exact(
    store: SqlStore, ops: list[Op]
) -> None:
    with raw(store) as connection:  # a fresh start for each example, on the test's database
        for table in (schema.leases, schema.replicas, schema.round_robin):
            connection.execute(table.delete())
    model = Model()
    tokens = dict.fromkeys(CLIENTS, 0)

    for op in ops:
        _step(store, model, op)

        records = {record.client: record for record in store.leases()}
        assert set(records) == {c for c, s in model.slots.items() if s.exists}, op
        for client, record in records.items():
            slot = model.slots[client]
            assert record.token >= tokens[client], f"{client}'s token went down after {op}"
            tokens[client] = record.token
            holder = REPLICAS[slot.holder].key if slot.holder is not None else None
            assert (record.holder, record.token, record.live) == (holder, slot.token, slot.live), op
