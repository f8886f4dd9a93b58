"""Stopping gracefully: a cycle ends at a safe point when the service stops, loses nothing and
writes nothing twice; the service waits for running jobs within a grace period, and no longer."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from delegator.bootstrap import Fleet
from delegator.clients import ClientEntry, load_clients
from delegator.cycles import Count
from delegator.sandbox import ManualClock, SandboxServer
from delegator.sandbox.requestlog import LoggedRequest
from delegator.scheduler import Service
from delegator.settings import Settings
from delegator.store import SqlStore

EXAMPLES = Path("examples")
ANNA = "anna@northwind.example"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome: Giulia is working


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.01)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(EXAMPLES / "small-agency.yaml", folder / "small-agency.yaml")
    return folder


class World:
    """A sandbox, a store and a fleet on one pinned clock."""

    def __init__(self, rules: Path, store: SqlStore) -> None:
        self.clock = ManualClock(START)
        self.sandbox = SandboxServer.demo(clock=self.clock).start()
        environ = {"ASANA_TOKEN_NORTHWIND": self.sandbox.token(ANNA)}
        settings = Settings(rules_dir=rules, asana_base_url=self.sandbox.base_url)
        self.fleet = Fleet(settings, store, environ=environ, clock=self.clock)
        [self.entry] = load_clients(rules)
        self.store = store

    def cycle(self) -> str:
        self.clock.advance(minutes=1)
        return self.fleet.cycle(self.entry, keep_tasks=False).result

    def comments(self) -> dict[str, tuple[str, str]]:
        """story gid -> (task, text) of every comment the service's token wrote."""
        anna = self.sandbox.world.user(ANNA)
        return {
            story.gid: (task.gid, story.text)
            for task in self.sandbox.world.all_tasks()
            for story in task.stories
            if story.resource_subtype == "comment_added"
            and story.created_by is anna
            and story.created_at >= START  # not the world's own history
        }

    def assignees(self) -> dict[str, str]:
        return {
            t.gid: t.assignee.gid for t in self.sandbox.world.all_tasks() if t.assignee is not None
        }


@pytest.fixture
def world(rules: Path, store: SqlStore) -> Iterator[World]:
    made = World(rules, store)
    yield made
    made.sandbox.stop()


@pytest.fixture
def reference(rules: Path, tmp_path: Path) -> set[str]:
    """The tasks one uninterrupted cycle delegates, in a world of their own."""
    with SqlStore(f"sqlite:///{tmp_path / 'reference.db'}") as store:
        store.migrate()
        other = World(rules, store)
        try:
            assert other.cycle() == "ok"
            return {d.task_gid for d in store.delegations("small-agency")}
        finally:
            other.sandbox.stop()


def test_a_stopping_service_ends_the_cycle_between_tasks_and_the_next_one_finishes_the_work(
    world: World, reference: set[str]
) -> None:
    writes: list[LoggedRequest] = []

    def stop_after_five_writes(entry: LoggedRequest) -> None:
        if entry.method in ("POST", "PUT"):
            writes.append(entry)
            if len(writes) == 5:
                world.fleet.stopping.set()

    world.sandbox.requests.subscribe(stop_after_five_writes)
    with capture_logs() as logs:
        assert world.cycle() == "interrupted"
    [cycle] = world.store.cycles("small-agency")
    assert cycle.counts[Count.INTERRUPTED] == 1
    assert cycle.errors == ("interrupted: the service is stopping; the rest is done next cycle",)
    assert "cycle_interrupted" in [line["event"] for line in logs]
    # The task in hand was finished: nothing is left pending in the journal, and only part of
    # the work was done.
    assert world.store.pending_actions("small-agency") == []
    partial = {d.task_gid for d in world.store.delegations("small-agency")}
    assert partial < reference
    assert 5 <= len(writes) < 15
    # The read positions were not saved, so the next cycle sees the same tasks again.
    assert all(
        world.store.sync_position("small-agency", source.key) is None
        for source in world.fleet.runtimes["small-agency"].sources
    )

    world.fleet.stopping.clear()
    assert world.cycle() == "ok"
    delegated = world.store.delegations("small-agency")
    assert {d.task_gid for d in delegated} == reference
    assignees = world.assignees()
    assert all(assignees[d.task_gid] == d.assignee_gid for d in delegated)
    comments = world.comments()
    assert max(Counter(comments.values()).values()) == 1  # no comment written twice
    done = {
        a.story_gid
        for a in world.store.actions(client="small-agency", kinds=("comment",))
        if a.status == "done"
    }
    assert done == set(comments)


def test_a_dry_run_is_never_interrupted(world: World) -> None:
    world.fleet.stopping.set()
    report = world.fleet.cycle(world.entry, dry_run=True, full=True)
    assert report.result == "ok"
    assert report.counts[Count.PLANNED] > 0


# ---------------------------------------------------------------------- the service's grace
@pytest.fixture
def service(rules: Path, store: SqlStore) -> Iterator[Service]:
    made = Service(Fleet(Settings(rules_dir=rules), store, environ={}), rules)
    yield made
    made.stop(wait=False)


def test_stop_waits_for_a_running_job_and_starts_no_new_one(service: Service) -> None:
    release, calls = threading.Event(), []

    def job() -> None:
        calls.append(1)
        release.wait(10)

    service.add_periodic_job("test:job", job, 3600, first_run=datetime.now(UTC))
    service.start()
    wait_for(lambda: service.running_jobs == ["test:job"], "the job runs")
    result: list[bool] = []
    stopper = threading.Thread(target=lambda: result.append(service.stop(grace=30)))
    stopper.start()
    wait_for(service.stopped.is_set, "stop begins")
    assert result == []  # still waiting for the job
    assert not service.scheduler.running
    release.set()
    stopper.join(10)
    assert result == [True]
    assert calls == [1]
    assert service.running_jobs == []


def test_stop_gives_up_after_the_grace_period_and_says_so(service: Service) -> None:
    release = threading.Event()
    service.add_periodic_job("test:stuck", lambda: release.wait(10) and None, 3600,
                             first_run=datetime.now(UTC))  # fmt: skip
    service.start()
    wait_for(lambda: service.running_jobs == ["test:stuck"], "the job runs")
    try:
        with capture_logs() as logs:
            assert service.stop(grace=0.05) is False
        [line] = [x for x in logs if x["event"] == "shutdown_grace_exceeded"]
        assert line["running"] == ["test:stuck"]
        assert "service_stopped" not in [x["event"] for x in logs]
    finally:
        release.set()


def test_a_job_due_after_the_stop_does_not_run(service: Service) -> None:
    calls: list[int] = []
    service.add_periodic_job("test:late", lambda: calls.append(1), 3600)
    service.start()
    [job] = [j for j in service.scheduler.get_jobs() if j.id == "test:late"]
    func = job.func
    service.stop()
    func()
    service._cycle("small-agency")
    assert calls == []


def test_a_cycle_that_crashes_on_the_store_is_recorded_as_failed(
    rules: Path, tmp_path: Path
) -> None:
    url = "postgresql+psycopg://delegator:pw-not-shown@127.0.0.1:9/nowhere?connect_timeout=2"
    service = Service(Fleet(Settings(rules_dir=rules), SqlStore(url), environ={}), rules)
    [entry] = load_clients(rules)
    service.entries[entry.key] = entry
    service.health.watch(entry)
    with capture_logs() as logs:
        service._cycle(entry.key)
    [crash] = [x for x in logs if x["event"] == "cycle_crashed"]
    assert "pw-not-shown" not in str(crash)
    [state] = service.health.states()
    assert state.last_result == "failed"
    assert state.last_errors[0].startswith("the cycle crashed: the database at postgresql")
    assert isinstance(entry, ClientEntry)
