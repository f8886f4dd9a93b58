"""Lease rounds as the service sees them: a lease on its way back to another replica
(``Ownership``'s hand-back), what a cycle starting at that moment is told, a client whose
hand-back is called off because it is this replica's share again; and the clients a round takes,
run at once. Against a real store, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from delegator.bootstrap import Fleet
from delegator.clients import ClientEntry
from delegator.clock import ManualClock
from delegator.core.sharing import share
from delegator.leases import Keeper, LeaseTimes, Ownership, identity
from delegator.scheduler import Service
from delegator.settings import Settings
from delegator.store import SqlStore

CLIENTS = [f"client-{n}" for n in range(12)]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def replica(store: SqlStore, name: str) -> Ownership:
    times = LeaseTimes(timedelta(seconds=60), timedelta(seconds=10))
    return Ownership(store, identity(name, T0), times, clock=ManualClock(T0))


def test_a_client_kept_for_its_running_cycle_and_then_this_replicas_again_runs_here_again(
    store: SqlStore,
) -> None:
    """Before: the client stayed "on its way out" for good: held and renewed by this replica,
    which never ran it again, and never handed back, so no other replica ran it either."""
    a, b = replica(store, "web-a"), replica(store, "web-b")
    a.round(CLIENTS)
    b.round(CLIENTS)  # joins: b's share is a's to hand back
    client = sorted(share(CLIENTS, ["web-a", "web-b"], "web-b"))[0]
    a.round(CLIENTS, busy=lambda c: c == client)  # its cycle runs: kept until it ends
    assert not a.may_start(client)
    b.leave()  # b goes away before that cycle ends: the client is a's share again
    a.round(CLIENTS)
    assert client in a.held()
    assert a.may_start(client)
    a.round(CLIENTS)
    assert a.may_start(client)


def test_a_cycle_asking_while_its_client_is_being_handed_back_is_told_not_to_start(
    store: SqlStore,
) -> None:
    """The scheduler marks a cycle running, then asks ``may_start``; the lease round asks
    whether a cycle runs, then hands the lease back. A cycle that is not running yet when the
    round asks must be refused when it asks: otherwise it runs on a lease being handed back,
    and its write can still be in flight when the next holder starts."""
    a, b = replica(store, "web-a"), replica(store, "web-b")
    a.round(CLIENTS)
    b.round(CLIENTS)
    theirs = share(CLIENTS, ["web-a", "web-b"], "web-b")
    told: dict[str, bool] = {}

    def busy(client: str) -> bool:  # a cycle of the client asks at this very moment
        told[client] = a.may_start(client)
        return False

    a.round(CLIENTS, busy=busy)
    assert set(told) == theirs
    assert not any(told.values()), told
    assert not set(a.held()) & theirs


def test_the_scheduler_asks_again_once_the_cycle_is_marked_running(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other half: a lease handed back between the scheduler's first look and the cycle
    being marked running. Before: the cycle ran."""
    ownership = replica(store, "web-a")
    service = Service(Fleet(Settings(rules_dir=tmp_path), store, ownership=ownership), tmp_path)
    service.entries = {"acme": cast(ClientEntry, object())}
    asked: list[bool] = []  # whether the cycle was marked running when may_start was asked

    def may_start(client: str) -> bool:  # handed back right after the first look
        asked.append(service._client_busy(client))
        return len(asked) == 1

    ran: list[object] = []
    monkeypatch.setattr(ownership, "may_start", may_start)
    monkeypatch.setattr(service.fleet, "cycle", lambda entry, **_: ran.append(entry))
    service._cycle("acme")
    assert asked == [False, True]
    assert ran == []


def test_a_round_tells_the_service_which_leases_it_took(store: SqlStore) -> None:
    a, b = replica(store, "web-a"), replica(store, "web-b")
    taken: list[list[str]] = []
    keeper = Keeper(b, lambda: CLIENTS, lambda _: False, acquired=taken.append)
    a.round(CLIENTS)
    keeper.tick()  # joins: a holds them all
    assert taken == []
    a.leave()
    keeper.tick()
    assert taken == [sorted(CLIENTS)]
    keeper.tick()  # renewed: not taken again
    assert taken == [sorted(CLIENTS)]


def test_the_service_runs_a_client_whose_lease_it_took_now_not_at_its_next_poll(
    store: SqlStore, tmp_path: Path
) -> None:
    """Before: a client taken over (from a replica killed or stopped) waited for its next poll,
    minutes away, though its lease was taken within seconds."""
    service = Service(Fleet(Settings(rules_dir=tmp_path), store), tmp_path)
    later = datetime.now(UTC) + timedelta(minutes=5)
    service.scheduler.add_job(
        lambda: None, "interval", minutes=5, id="client:acme", next_run_time=later
    )
    service.scheduler.start(paused=True)
    try:
        service._run_now(["acme", "gone"])  # a client whose file was removed meanwhile: no error
        job = service.scheduler.get_job("client:acme")
        assert job.next_run_time <= datetime.now(UTC)
    finally:
        service.scheduler.shutdown(wait=False)


def test_a_client_taken_over_is_served_with_what_it_is_now_not_what_this_replica_remembers(
    store: SqlStore, tmp_path: Path
) -> None:
    """A replica that ran a client before keeps its runtime (the workspace's tags, people,
    sources); another replica may have changed them since (created the "delegated" tag, say),
    and a tag list from before would have it created twice. Taking the lease back drops it."""
    fleet = Fleet(Settings(rules_dir=tmp_path), store)
    service = Service(fleet, tmp_path)
    remembered = object()
    fleet.runtimes["acme"] = remembered  # type: ignore[assignment]
    fleet.runtimes["other"] = remembered  # type: ignore[assignment]
    service._run_now(["acme"])
    assert "acme" not in fleet.runtimes
    assert fleet.runtimes["other"] is remembered
