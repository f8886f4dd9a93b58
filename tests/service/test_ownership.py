"""A replica's leases (``delegator.leases.Ownership``) against a real store, SQLite and
PostgreSQL: sharing, hand-back, the margin before a write, a lease lost, a predecessor replaced.

The replicas' local (monotonic) clocks are in the test's hands; the database's clock decides
expiry, so the few tests about expiry use short leases and real waits.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from delegator.clock import ManualClock
from delegator.core.sharing import share
from delegator.leases import Keeper, LeaseTimes, Ownership, identity
from delegator.ports import LeaseLost, ReplicaIdentity
from delegator.store import SqlStore

CLIENTS = [f"client-{n}" for n in range(12)]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Mono:
    """A monotonic clock a test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def replica(
    store: SqlStore,
    name: str,
    *,
    period: float = 60.0,
    margin: float = 10.0,
    mono: Mono | None = None,
    member: bool = True,
) -> Ownership:
    times = LeaseTimes(timedelta(seconds=period), timedelta(seconds=margin))
    return Ownership(
        store, identity(name, T0), times, clock=ManualClock(T0), member=member,
        monotonic=mono or Mono(),
    )  # fmt: skip


def test_two_replicas_share_the_clients_by_rendezvous_and_one_leaving_hands_over_at_once(
    store: SqlStore,
) -> None:
    a, b = replica(store, "web-a"), replica(store, "web-b")
    a.round(CLIENTS)  # alone: takes everything
    assert set(a.held()) == set(CLIENTS)
    b.round(CLIENTS)  # joins: a still holds them all, b takes nothing yet
    assert b.held() == {}
    a.round(CLIENTS)  # a sees b and hands back b's share
    b.round(CLIENTS)  # ... which b takes
    assert set(b.held()) == share(CLIENTS, ["web-a", "web-b"], "web-b") != set()
    assert set(a.held()) == set(CLIENTS) - set(b.held())
    a.leave()
    b.round(CLIENTS)
    assert set(b.held()) == set(CLIENTS)
    # Each lease changed hands once (a, then b): each token was raised once.
    assert {lease.client: lease.token for lease in store.leases()} == dict.fromkeys(CLIENTS, 2)


def test_a_client_whose_cycle_runs_is_handed_back_only_when_it_ends(store: SqlStore) -> None:
    a, b = replica(store, "web-a"), replica(store, "web-b")
    a.round(CLIENTS)
    b.round(CLIENTS)
    theirs = share(CLIENTS, ["web-a", "web-b"], "web-b")
    busy = sorted(theirs)[0]
    a.round(CLIENTS, busy=lambda client: client == busy)
    assert busy in a.held()
    assert not a.may_start(busy)  # no new cycle of it starts here
    assert a.fence(busy) is not None  # the running one goes on writing
    a.round(CLIENTS)
    assert busy not in a.held()


def test_no_write_starts_with_less_than_the_margin_left(store: SqlStore) -> None:
    mono = Mono()
    a = replica(store, "web-a", period=60, margin=10, mono=mono)
    a.round(["acme"])
    a.check("acme")
    mono.now += 49.9  # 10.1 s left
    a.check("acme")
    assert a.may_start("acme")
    mono.now += 0.2  # 9.9 s left
    with pytest.raises(LeaseLost, match="less than the 10s a write may take"):
        a.check("acme")
    assert a.fence("acme") is None
    assert not a.may_start("acme")
    a.round(["acme"])  # renewed: room again
    a.check("acme")


def test_the_hold_counts_from_when_the_renewal_was_sent(store: SqlStore) -> None:
    """A renewal that takes long to answer does not lengthen the hold by its delay."""
    mono = Mono()
    a = replica(store, "web-a", period=60, margin=10, mono=mono)
    real_round = store.lease_round

    def slow_round(me: ReplicaIdentity, *, period: float, member: bool = True):  # type: ignore[no-untyped-def]
        mono.now += 45  # the answer comes 45 s after the request went out
        return real_round(me, period=period, member=member)

    a.round(["acme"])
    store.lease_round = slow_round  # type: ignore[method-assign]
    try:
        a.round(["acme"])
    finally:
        del store.lease_round
    a.check("acme")  # sent at t, valid to t + 60, now t + 45: 15 s left
    mono.now += 6  # 9 s left: had the hold counted from the answer, 54 s would be left
    with pytest.raises(LeaseLost):
        a.check("acme")


def test_a_lease_taken_after_it_expired_is_lost_and_the_store_refuses_the_old_holder(
    store: SqlStore,
) -> None:
    a = replica(store, "web-a", period=0.5, margin=0.1)
    b = replica(store, "web-b", period=30, margin=5)
    a.round(["acme"])
    fence = a.fence("acme")
    assert fence is not None
    stale = a.store_for(fence)
    stale.save_round_robin("acme", "pool", "anna")  # fine while current
    time.sleep(0.7)  # a's lease expires by the database's clock (a was paused)
    b.round(["acme"])  # b is the only live replica now: takes it over
    assert set(b.held()) == {"acme"}
    with pytest.raises(LeaseLost, match="held by replica web-b"):
        stale.save_round_robin("acme", "pool", "bruno")
    assert store.round_robin("acme") == {"pool": "anna"}
    a.round(["acme"])  # a wakes up: its renewal finds the lease gone
    assert a.held() == {}
    with pytest.raises(LeaseLost, match="no longer holds"):
        a.check("acme")


def test_a_one_off_command_takes_only_free_leases_and_never_joins_the_sharing(
    store: SqlStore,
) -> None:
    service = replica(store, "web-a")
    service.round(["acme"])
    once = replica(store, "web-a", member=False)
    assert once.claim(["acme", "beta"]).keys() == {"beta"}
    once.round(["acme", "beta"])
    assert [r.id for r in store.replicas()] == ["web-a"]  # only the service's heartbeat
    service.round(["acme", "beta"])
    assert "beta" not in service.held()  # held live by the one-off command
    once.leave()
    service.round(["acme", "beta"])
    assert set(service.held()) == {"acme", "beta"}


def test_a_restarted_process_replaces_its_predecessor_at_once(store: SqlStore) -> None:
    """The same id on the same host with this very pid (a restarted container, pid 1): that
    process is gone, its leases are handed back when the new one joins."""
    old = replica(store, "web-a")
    old.round(CLIENTS)
    new = replica(store, "web-a")
    assert new.join() == ["web-a"]
    new.round(CLIENTS)
    assert set(new.held()) == set(CLIENTS)
    other = replica(store, "web-b")  # another id: never taken for a predecessor
    other.round(CLIENTS)
    assert replica(store, "web-c").join() == []


def test_on_sqlite_the_only_service_forgets_every_other_replica(store: SqlStore) -> None:
    gone = replica(store, "elsewhere")
    gone.round(CLIENTS)
    sole = replica(store, "web-a")
    assert sole.join(exclusive=True) == ["elsewhere"]
    sole.round(CLIENTS)
    assert set(sole.held()) == set(CLIENTS)


def test_the_keeper_survives_a_failing_round_and_says_why(store: SqlStore) -> None:
    a = replica(store, "web-a")
    keeper = Keeper(a, lambda: CLIENTS, lambda _: False)
    keeper.tick()
    assert set(a.held()) == set(CLIENTS)
    store.close()
    store.lease_round = lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("db down"))  # type: ignore[method-assign]
    keeper.tick()  # never raises
    assert a.last_error == "db down"
    del store.lease_round
    keeper.tick()
    assert a.last_error is None


def test_a_lease_taken_whose_answer_was_lost_is_adopted_at_the_next_round(
    store: SqlStore,
) -> None:
    """The acquire committed, its answer never came (a connection cut after the COMMIT): the
    lease is this process's by its key, so the next round adopts it instead of renewing it for
    ever without running the client."""
    a = replica(store, "web-a")
    a.round(["acme"])
    store.acquire_leases(a.me, ["beta"], period=60, at=T0)  # behind Ownership's back
    assert "beta" not in a.held()
    a.round(["acme", "beta"])
    assert set(a.held()) == {"acme", "beta"}
    assert a.may_start("beta")
