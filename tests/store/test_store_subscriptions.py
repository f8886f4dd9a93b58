"""Webhook subscriptions in the store: a row per webhook, saved and removed by the client's lease
holder (a fenced store refuses them once the lease moved on), its handshake secret kept by the
first receiver to get it, the signals of every replica's receiver folded into it, and the dirty
marks that make a client due taken exactly once, however many replicas take at the same time.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from storekit import ROME, T0

from delegator.ports import (
    LeaseLost,
    ReplicaIdentity,
    Signal,
    Subscription,
    SubscriptionState,
)
from delegator.store import SqlStore, schema
from delegator.store.database import WRITE_OPTION

SECOND = timedelta(seconds=1)
ALPHA = ReplicaIdentity("alpha#1", "alpha", "alpha.example", 4242, T0)
BETA = ReplicaIdentity("beta#1", "beta", "beta.example", 4243, T0)


def pending(key: str = "k-acme-1", client: str = "acme", at: datetime = T0) -> Subscription:
    return Subscription(
        key=key,
        client=client,
        resource=f"project-of-{key}",
        state=SubscriptionState.PENDING,
        created_at=at,
    )


FULL = Subscription(
    key="k-acme-full",
    client="acme",
    resource="1200",
    state=SubscriptionState.FAILED,
    created_at=T0.astimezone(ROME),  # any zone in, UTC out
    webhook="9001",
    sealed_secret="sealed:v1:abc",
    last_signal_at=T0 + 5 * SECOND,
    last_event_at=T0 + 4 * SECOND,
    failures=3,
    retry_at=(T0 + timedelta(minutes=10)).astimezone(ROME),
    problem="Asana answered 403: not allowed",
    dirty_at=T0 + 4 * SECOND,
)


@contextmanager
def raw(store: SqlStore) -> Iterator[Connection]:
    """A write transaction straight on the store's engine, past the store's own methods."""
    with store._engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


def rows(store: SqlStore) -> list[tuple[str, ...]]:
    with store._engine.connect() as connection:
        return sorted(
            tuple(repr(value) for value in row)
            for row in connection.execute(sa.select(schema.subscriptions))
        )


def dirty(store: SqlStore) -> dict[str, datetime | None]:
    return {s.key: s.dirty_at for s in store.subscriptions()}


# ----------------------------------------------------------------------------- saving and reading


def test_a_subscription_round_trips_with_every_field_and_is_replaced_as_a_whole(
    store: SqlStore,
) -> None:
    assert store.subscriptions() == []
    assert store.subscription(FULL.key) is None

    store.save_subscription(FULL)

    found = store.subscription(FULL.key)
    assert found == FULL
    assert found is not None
    assert found.created_at.utcoffset() == timedelta(0)
    assert found.retry_at is not None
    assert found.retry_at.utcoffset() == timedelta(0)
    assert store.subscriptions() == [FULL]

    active = replace(
        FULL,
        client="globex",
        resource="1300",
        state=SubscriptionState.ACTIVE,
        created_at=T0 + SECOND,
        webhook="9002",
        sealed_secret="sealed:v1:def",
        last_signal_at=T0 + 9 * SECOND,
        last_event_at=None,
        failures=0,
        retry_at=None,
        problem=None,
        dirty_at=None,
    )
    store.save_subscription(active)  # the same key: every column replaced

    assert store.subscription(FULL.key) == active
    assert store.subscriptions() == [active]
    assert store.subscriptions("acme") == []
    assert store.subscriptions("globex") == [active]


def test_subscriptions_are_listed_oldest_first_and_per_client(store: SqlStore) -> None:
    newest = pending("k3", "acme", T0 + 2 * SECOND)
    oldest = pending("k2", "acme", T0)
    other = pending("k1", "globex", T0 + SECOND)
    for subscription in (newest, other, oldest):
        store.save_subscription(subscription)

    assert store.subscriptions() == [oldest, other, newest]
    assert store.subscriptions("acme") == [oldest, newest]
    assert store.subscriptions("globex") == [other]
    assert store.subscriptions("initech") == []


def test_removing_a_subscription_leaves_the_others(store: SqlStore) -> None:
    store.save_subscription(pending("k1"))
    store.save_subscription(pending("k2", at=T0 + SECOND))

    store.remove_subscription("k1")
    store.remove_subscription("k1")  # gone already: nothing to do
    store.remove_subscription("never-saved")

    assert store.subscription("k1") is None
    assert [s.key for s in store.subscriptions()] == ["k2"]


def test_naive_times_are_refused(store: SqlStore) -> None:
    naive = datetime(2025, 3, 3, 9, 0)
    store.save_subscription(pending("k1"))
    before = rows(store)

    with pytest.raises(ValueError, match="naive datetime"):
        store.save_subscription(pending("k2", at=naive))
    with pytest.raises(ValueError, match="naive datetime"):
        store.accept_secret("k1", "sealed", naive, since=T0)
    with pytest.raises(ValueError, match="naive datetime"):
        store.accept_secret("k1", "sealed", T0, since=naive)
    with pytest.raises(ValueError, match="naive datetime"):
        store.record_signals([Signal("k1", T0, 1), Signal("k1", naive, 1)])

    assert rows(store) == before


# ----------------------------------------------------------------------------- the fenced store


def test_a_fenced_store_saves_and_removes_only_while_it_holds_the_lease(store: SqlStore) -> None:
    (mine,) = store.acquire_leases(ALPHA, ["acme"], period=60, at=T0)
    alpha = store.fenced(mine.fence)
    alpha.save_subscription(pending("k1"))  # while ALPHA's lease is current
    alpha.save_subscription(pending("k2"))
    alpha.remove_subscription("k2")
    with raw(store) as connection:  # the lease runs out; BETA takes it
        connection.execute(schema.leases.update().values(expires=0.0))
    (theirs,) = store.acquire_leases(BETA, ["acme"], period=60, at=T0)
    before = rows(store)

    with pytest.raises(LeaseLost):
        alpha.save_subscription(replace(pending("k1"), state=SubscriptionState.FAILED))
    with pytest.raises(LeaseLost):
        alpha.save_subscription(pending("k3"))
    with pytest.raises(LeaseLost):
        alpha.remove_subscription("k1")
    assert rows(store) == before

    # What any replica's receiver and cycle do is not the lease holder's: never refused.
    assert alpha.accept_secret("k1", "sealed:alpha", T0 + SECOND, since=T0)
    alpha.record_signals([Signal("k1", T0 + 2 * SECOND, 1)])
    assert alpha.take_dirty(["acme"]) == {"acme": T0 + 2 * SECOND}
    found = store.subscription("k1")
    assert found is not None
    assert (found.sealed_secret, found.last_event_at, found.dirty_at) == (
        "sealed:alpha",
        T0 + 2 * SECOND,
        None,
    )
    assert isinstance(alpha.subscriptions(), list)  # reads whatever the fence

    beta = store.fenced(theirs.fence)
    beta.remove_subscription("k1")  # the new holder's writes go through
    assert store.subscriptions() == []


# ----------------------------------------------------------------------------- the handshake


def test_the_first_handshake_wins(store: SqlStore) -> None:
    store.save_subscription(pending("k1", at=T0))

    assert store.accept_secret("k1", "sealed:first", T0 + SECOND, since=T0)
    assert not store.accept_secret("k1", "sealed:second", T0 + 2 * SECOND, since=T0)

    found = store.subscription("k1")
    assert found is not None
    assert found.sealed_secret == "sealed:first"
    assert found.last_signal_at == T0 + SECOND
    assert found.state is SubscriptionState.PENDING  # the lease holder makes it ACTIVE
    assert (found.last_event_at, found.dirty_at) == (None, None)


def test_a_handshake_is_refused_unless_the_row_awaits_one(store: SqlStore) -> None:
    store.save_subscription(replace(pending("active"), state=SubscriptionState.ACTIVE))
    store.save_subscription(replace(pending("failed"), state=SubscriptionState.FAILED))
    store.save_subscription(pending("old", at=T0 - SECOND))
    store.save_subscription(pending("exactly", at=T0))
    before = rows(store)

    for key in ("active", "failed", "old", "unknown"):
        assert not store.accept_secret(key, "sealed", T0 + SECOND, since=T0), key
    assert rows(store) == before

    assert store.accept_secret("exactly", "sealed", T0 + SECOND, since=T0)  # since includes it


def test_receivers_racing_with_one_handshake_keep_one_secret(store: SqlStore) -> None:
    store.save_subscription(pending("k1"))
    start = threading.Barrier(4)
    won: list[str] = []
    failures: list[BaseException] = []

    def receive(secret: str) -> None:
        try:
            start.wait(timeout=10)
            if store.accept_secret("k1", secret, T0 + SECOND, since=T0):
                won.append(secret)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=receive, args=(f"sealed:{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(won) == 1
    found = store.subscription("k1")
    assert found is not None
    assert found.sealed_secret == won[0]


# ----------------------------------------------------------------------------- signals


def test_signals_are_folded_into_the_latest_times_and_the_first_dirty_mark(
    store: SqlStore,
) -> None:
    store.save_subscription(pending("k1"))
    store.save_subscription(pending("k2"))

    store.record_signals(
        [
            Signal("k1", T0 + 5 * SECOND, 2),  # the latest delivery
            Signal("k1", T0 + 3 * SECOND, 1),  # out of order: the earliest delivery marks it
            Signal("k1", T0 + 9 * SECOND, 0),  # a heartbeat: the latest signal, no event
            Signal("k1", T0 + 4 * SECOND, 1),  # neither first nor last of anything
            Signal("unknown", T0 + 4 * SECOND, 1),  # ignored
            Signal("k2", (T0 + 7 * SECOND).astimezone(ROME), 1),
        ]
    )

    one, two = store.subscription("k1"), store.subscription("k2")
    assert one is not None
    assert two is not None
    assert (one.last_signal_at, one.last_event_at, one.dirty_at) == (
        T0 + 9 * SECOND,
        T0 + 5 * SECOND,
        T0 + 3 * SECOND,
    )
    assert (two.last_signal_at, two.last_event_at, two.dirty_at) == (
        T0 + 7 * SECOND,
        T0 + 7 * SECOND,
        T0 + 7 * SECOND,
    )
    assert store.subscription("unknown") is None

    # Later calls: times only move forward; a mark already set stays.
    store.record_signals([Signal("k1", T0 + SECOND, 1), Signal("k2", T0 + 8 * SECOND, 3)])
    store.record_signals([Signal("k2", T0 + 2 * SECOND, 0)])

    one, two = store.subscription("k1"), store.subscription("k2")
    assert one is not None
    assert two is not None
    assert (one.last_signal_at, one.last_event_at, one.dirty_at) == (
        T0 + 9 * SECOND,
        T0 + 5 * SECOND,
        T0 + 3 * SECOND,
    )
    assert (two.last_signal_at, two.last_event_at, two.dirty_at) == (
        T0 + 8 * SECOND,
        T0 + 8 * SECOND,
        T0 + 7 * SECOND,
    )


def test_a_heartbeat_moves_the_last_signal_only(store: SqlStore) -> None:
    store.save_subscription(pending("k1"))

    store.record_signals([Signal("k1", T0 + SECOND, 0), Signal("k1", T0 + 2 * SECOND, 0)])

    found = store.subscription("k1")
    assert found is not None
    assert (found.last_signal_at, found.last_event_at, found.dirty_at) == (
        T0 + 2 * SECOND,
        None,
        None,
    )
    store.record_signals([])  # nothing to record
    assert store.subscription("k1") == found


def test_signals_for_unknown_keys_change_nothing(store: SqlStore) -> None:
    store.save_subscription(pending("k1"))
    before = rows(store)

    store.record_signals([Signal("gone", T0, 1), Signal("never", T0 + SECOND, 0)])

    assert rows(store) == before
    assert store.subscription("gone") is None


# ----------------------------------------------------------------------------- dirty marks


def test_take_dirty_gives_each_clients_earliest_mark_and_clears_them(store: SqlStore) -> None:
    for key, client in [("a1", "acme"), ("a2", "acme"), ("g1", "globex"), ("i1", "initech")]:
        store.save_subscription(pending(key, client))
    store.save_subscription(pending("quiet", "acme"))
    store.record_signals(
        [
            Signal("a1", T0 + 5 * SECOND, 1),
            Signal("a2", T0 + 2 * SECOND, 1),
            Signal("g1", T0 + 7 * SECOND, 4),
            Signal("i1", T0 + SECOND, 1),
            Signal("quiet", T0, 0),  # a heartbeat marks nothing
        ]
    )

    assert store.take_dirty(["acme", "globex", "umbrella"]) == {
        "acme": T0 + 2 * SECOND,
        "globex": T0 + 7 * SECOND,
    }
    assert store.take_dirty(["acme", "globex", "umbrella"]) == {}
    assert dirty(store) == {  # the client not asked for keeps its mark
        "a1": None,
        "a2": None,
        "g1": None,
        "i1": T0 + SECOND,
        "quiet": None,
    }
    assert store.take_dirty([]) == {}

    store.record_signals([Signal("a1", T0 + 9 * SECOND, 1)])  # a delivery after the take
    assert store.take_dirty(["acme", "initech"]) == {
        "acme": T0 + 9 * SECOND,
        "initech": T0 + SECOND,
    }
    assert set(dirty(store).values()) == {None}


def test_concurrent_takes_never_return_a_mark_twice_nor_lose_one(
    store: SqlStore, database_url: str
) -> None:
    """Two replicas take the marks while two receivers record deliveries. Each receiver is the
    only writer of its keys and records them in time order, so right after recording it can
    tell when its signal set the mark (the row shows its time): every mark seen set must be
    taken by someone, once; no mark is taken twice; every mark taken was a delivery's time."""
    clients = [f"client{n}" for n in range(4)]
    for client in clients:
        store.save_subscription(pending(f"key-{client}", client))
    rounds = 120
    recorded: dict[str, list[datetime]] = defaultdict(list)
    seen_set: dict[str, set[datetime]] = defaultdict(set)
    taken: dict[str, list[datetime]] = defaultdict(list)
    lock = threading.Lock()
    failures: list[BaseException] = []
    start = threading.Barrier(4)
    recording = threading.Event()
    done = [0]

    def receiver(mine: list[str]) -> None:
        try:
            with SqlStore(database_url) as replica:
                start.wait(timeout=10)
                for n in range(rounds):
                    for client in mine:
                        at = T0 + timedelta(milliseconds=n)
                        replica.record_signals([Signal(f"key-{client}", at, 1)])
                        with lock:
                            recorded[client].append(at)
                        found = replica.subscription(f"key-{client}")
                        if found is not None and found.dirty_at == at:
                            with lock:
                                seen_set[client].add(at)
        except BaseException as exc:
            failures.append(exc)
        finally:
            with lock:
                done[0] += 1
                if done[0] == 2:
                    recording.set()

    def taker() -> None:
        try:
            with SqlStore(database_url) as replica:
                start.wait(timeout=10)
                while not recording.is_set():
                    for client, mark in replica.take_dirty(clients).items():
                        with lock:
                            taken[client].append(mark)
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=receiver, args=(clients[:2],)),
        threading.Thread(target=receiver, args=(clients[2:],)),
        threading.Thread(target=taker),
        threading.Thread(target=taker),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    for client, mark in store.take_dirty(clients).items():  # what was left after the last take
        taken[client].append(mark)

    assert set(dirty(store).values()) == {None}
    for client in clients:
        assert len(recorded[client]) == rounds
        assert len(taken[client]) == len(set(taken[client])), f"{client}: a mark taken twice"
        assert set(taken[client]) <= set(recorded[client]), client
        lost = seen_set[client] - set(taken[client])
        assert not lost, f"{client}: marks set but never taken: {sorted(lost)}"
        assert seen_set[client], client  # the check had marks to check
    assert sum(len(marks) for marks in taken.values()) > len(clients)  # the takers took some
