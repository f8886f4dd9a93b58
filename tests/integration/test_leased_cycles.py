"""Cycles under a client's lease: a replica whose lease runs low, or is taken over, stops writing
at once, and the replica holding the lease next finishes the work: the final Asana state is a
clean run's, nothing is written twice, no false override.

Each case runs against a fresh sandbox, at every write of the client's first cycle in turn:
- the lease runs low (the replica was paused, or its renewals failed): its own guard stops the
  cycle before the next Asana write;
- the lease is taken over behind the replica's back (it has not renewed yet and believes it
  still holds it): the store refuses its next journal entry, which comes before every Asana
  write, so that write is never sent.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_outcomes import world_state  # what a person sees of every task

from delegator.bootstrap import Fleet
from delegator.clients import ClientEntry, load_clients
from delegator.cycles import Count
from delegator.leases import LeaseTimes, Ownership, identity
from delegator.sandbox import Faults, ManualClock, SandboxServer
from delegator.sandbox.requestlog import LoggedRequest
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.store import schema as tables

EXAMPLES = Path("examples")
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome
CLIENT = "solo-consultant"
TOKENS = {
    "ASANA_TOKEN_NORTHWIND": "anna@northwind.example",
    "ASANA_TOKEN_FISCHER": "lena@fischer-consulting.example",
}
WRITES = ("POST", "PUT", "DELETE")
TIMES = LeaseTimes(timedelta(seconds=120), timedelta(seconds=60))


class Mono:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Run:
    sandbox: SandboxServer
    store: SqlStore
    clock: ManualClock
    rules: Path

    def replica(self, name: str, mono: Mono | None = None) -> Ownership:
        return Ownership(self.store, identity(name, START), TIMES, clock=self.clock,
                         monotonic=mono or Mono())  # fmt: skip

    def fleet(self, ownership: Ownership) -> Fleet:
        environ = {var: self.sandbox.token(user) for var, user in TOKENS.items()}
        settings = Settings(rules_dir=self.rules, asana_base_url=self.sandbox.base_url)
        return Fleet(settings, self.store, environ=environ, clock=self.clock, ownership=ownership)

    def entry(self) -> ClientEntry:
        return next(e for e in load_clients(self.rules) if e.key == CLIENT)

    def cycle(self, fleet: Fleet, *, full: bool = False) -> Any:
        self.clock.advance(minutes=1)
        return fleet.cycle(self.entry(), full=full)

    def writes(self) -> list[LoggedRequest]:
        return [e for e in self.sandbox.requests.entries() if e.method in WRITES]

    def expire(self) -> None:
        """The lease's time and its holder's heartbeat run out by the database's clock (the
        holder stopped renewing both)."""
        with self.store._engine.begin() as connection:
            connection.execute(tables.leases.update().values(expires=0.0))
            connection.execute(tables.replicas.update().values(expires=0.0))


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Callable[[], Run]]:
    opened: list[tuple[SandboxServer, SqlStore]] = []

    def make() -> Run:
        clock = ManualClock(START)
        sandbox = SandboxServer.demo(clock=clock, faults=Faults(monotonic=clock.monotonic))
        sandbox.start()
        folder = tmp_path / f"rules{len(opened)}"
        folder.mkdir()
        shutil.copy(EXAMPLES / f"{CLIENT}.yaml", folder / f"{CLIENT}.yaml")
        store = SqlStore(f"sqlite:///{folder}/state.db")
        store.migrate()
        opened.append((sandbox, store))
        return Run(sandbox, store, clock, folder)

    yield make
    for sandbox, store in opened:
        store.close()
        sandbox.stop()


def settle(run: Run, fleet: Fleet) -> None:
    for full in (False, False, True, False):
        report = run.cycle(fleet, full=full)
        assert report.result == "ok", report.errors


def clean_state(make: Callable[[], Run]) -> tuple[dict[str, tuple[Any, ...]], int]:
    clean = make()
    ownership = clean.replica("web-a")
    ownership.round([CLIENT])
    fleet = clean.fleet(ownership)
    clean.cycle(fleet)
    writes = len(clean.writes())
    settle(clean, fleet)
    return world_state(clean.sandbox), writes


def take_over(run: Run) -> Fleet:
    """Another replica takes the client over, as it would once the first one's lease expired."""
    run.expire()
    other = run.replica("web-b")
    other.round([CLIENT])
    assert set(other.held()) == {CLIENT}
    return run.fleet(other)


@pytest.mark.slow
def test_a_lease_running_low_at_any_write_stops_the_cycle_before_that_write(
    run: Callable[[], Run],
) -> None:
    expected, writes = clean_state(run)
    assert writes >= 5
    for at in range(1, writes + 1):
        faulty = run()
        mono = Mono()
        paused = faulty.replica("web-a", mono)
        paused.round([CLIENT])
        fleet = faulty.fleet(paused)

        def pause_after(
            entry: LoggedRequest, at: int = at, run: Run = faulty, mono: Mono = mono
        ) -> None:
            # After the (at-1)-th write (before the first, at its first read), 59 s of the
            # lease are left: less than a write may take.
            if (entry.method in WRITES or at == 1) and len(run.writes()) == at - 1:
                mono.now = 5000.0 + 61

        faulty.sandbox.requests.subscribe(pause_after)
        report = faulty.cycle(fleet)
        assert report.result == "interrupted", f"write {at}: {report.errors}"
        assert "less than the 60s a write may take" in report.errors[-1]
        assert len(faulty.writes()) == at - 1, f"a write went out past the margin at {at}"
        settle(faulty, take_over(faulty))
        assert world_state(faulty.sandbox) == expected, f"lease ran low before write {at}"
        assert faulty.store.overrides(CLIENT) == [], f"false override, write {at}"


@pytest.mark.slow
def test_a_replica_whose_lease_was_taken_over_is_refused_its_next_write(
    run: Callable[[], Run],
) -> None:
    """The replica has not renewed since, so it believes it holds the lease: the store's fence
    refuses the journal entry that precedes each of its writes, so no new write begins (the one
    in flight, journaled before the takeover, finishes its requests: a tag created, then added),
    and the cycle the replica left unfinished is closed by the one that took over."""
    expected, writes = clean_state(run)
    for at in range(1, writes + 1):
        faulty = run()
        stale = faulty.replica("web-a")
        stale.round([CLIENT])
        fleet = faulty.fleet(stale)
        taken: list[Fleet] = []
        journaled: list[int] = []  # the newest journal entry when the lease was taken over

        def take_over_after(
            entry: LoggedRequest,
            at: int = at,
            run: Run = faulty,
            taken: list[Fleet] = taken,
            journaled: list[int] = journaled,
        ) -> None:
            if entry.method in WRITES and len(run.writes()) == at and not taken:
                journaled.append(max(a.id for a in run.store.actions(client=CLIENT)))
                taken.append(take_over(run))

        faulty.sandbox.requests.subscribe(take_over_after)
        report = faulty.cycle(fleet)
        assert stale.fence(CLIENT) is not None  # it still believes it holds the lease
        assert report.result == "interrupted", f"write {at}: {report.errors}"
        assert "held by replica web-b" in report.errors[-1]
        after = [a for a in faulty.store.actions(client=CLIENT) if a.id > journaled[0]]
        assert after == [], f"the stale replica journaled a write after write {at}: {after}"
        [cycle] = [c for c in faulty.store.cycles(CLIENT) if c.id == report.cycle_id]
        assert cycle.finished_at is not None
        assert cycle.counts[Count.INTERRUPTED] == 1
        assert "replica web-b took the client over" in cycle.errors[-1]
        settle(faulty, taken[0])
        assert world_state(faulty.sandbox) == expected, f"taken over after write {at}"
        assert faulty.store.overrides(CLIENT) == [], f"false override, write {at}"
        with faulty.store._engine.connect() as connection:
            row = connection.execute(
                sa.select(tables.cycles.c.replica, tables.cycles.c.fence).where(
                    tables.cycles.c.id == report.cycle_id
                )
            ).one()
        assert tuple(row) == ("web-a", 1)


def test_a_cycle_records_when_it_ended_not_when_it_began(run: Callable[[], Run]) -> None:
    """`delegator status` shows a cycle's end: the time it ended, by the fleet's clock."""
    clean = run()
    ownership = clean.replica("web-a")
    ownership.round([CLIENT])
    fleet = clean.fleet(ownership)

    def slow_asana(entry: LoggedRequest) -> None:
        clean.clock.advance(seconds=1)

    clean.sandbox.requests.subscribe(slow_asana)
    report = clean.cycle(fleet)
    [stored] = [c for c in clean.store.cycles(CLIENT) if c.id == report.cycle_id]
    assert stored.finished_at is not None
    assert (stored.finished_at - stored.started_at).total_seconds() >= report.requests >= 1
