"""Outcomes carried to the end: whatever cuts a rule's outcome short, the final Asana state is a
clean run's, nothing is written twice and no override is recorded for a change the service failed
to make itself.

Each test runs the same client against a fresh sandbox twice: once cleanly, once with a fault
at one write (a kill before or after Asana applied it, a refused token, a write that keeps
failing, an answer lost after Asana applied it), then lets the service recover over a few
cycles, and compares the two worlds task by task. A kill is a `BaseException` raised from the
task backend: nothing in the service catches it, as nothing survives a SIGKILL; the next
cycles run on a new runtime, as after a restart.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from delegator.bootstrap import Fleet
from delegator.clients import ClientEntry, load_clients
from delegator.core.intents import AddTag, Assign, Comment, Intent
from delegator.core.model import Task
from delegator.cycles import Count
from delegator.ports import BackendError, Delegation, TaskBackend, TokenRefused
from delegator.sandbox import Faults, ManualClock, SandboxServer
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.store.errors import StoreError

EXAMPLES = Path("examples")
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome
CLIENT = "solo-consultant"
TOKENS = {
    "ASANA_TOKEN_NORTHWIND": "anna@northwind.example",
    "ASANA_TOKEN_FISCHER": "lena@fischer-consulting.example",
}


class Killed(BaseException):
    """The process dies here: no handler runs, nothing is journaled after it."""


@dataclass
class Run:
    sandbox: SandboxServer
    store: SqlStore
    clock: ManualClock
    rules: Path

    def fleet(self) -> Fleet:
        environ = {var: self.sandbox.token(user) for var, user in TOKENS.items()}
        settings = Settings(rules_dir=self.rules, asana_base_url=self.sandbox.base_url)
        return Fleet(settings, self.store, environ=environ, clock=self.clock)

    def entry(self) -> ClientEntry:
        return next(e for e in load_clients(self.rules) if e.key == CLIENT)

    def cycle(self, fleet: Fleet, *, full: bool = False) -> Any:
        self.clock.advance(minutes=1)
        return fleet.cycle(self.entry(), full=full)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Callable[[], Run]]:
    """Fresh worlds: a demo sandbox, the example rule files and a store of its own (SQLite: the
    journal's semantics are the store's, tested on both engines in tests/store)."""
    opened: list[tuple[SandboxServer, SqlStore]] = []

    def make() -> Run:
        clock = ManualClock(START)
        sandbox = SandboxServer.demo(clock=clock, faults=Faults(monotonic=clock.monotonic))
        sandbox.start()
        folder = tmp_path / f"rules{len(opened)}"
        folder.mkdir()
        for name in ("small-agency.yaml", "solo-consultant.yaml"):
            shutil.copy(EXAMPLES / name, folder / name)
        store = SqlStore(f"sqlite:///{folder}/state.db")
        store.migrate()
        opened.append((sandbox, store))
        return Run(sandbox, store, clock, folder)

    yield make
    for sandbox, store in opened:
        store.close()
        sandbox.stop()


def world_state(sandbox: SandboxServer) -> dict[str, tuple[Any, ...]]:
    """What a person sees of every task: assignee, tags, followers, places, due date, comments."""
    state: dict[str, tuple[Any, ...]] = {}
    for task in sandbox.world.all_tasks():
        comments = tuple(s.text for s in task.stories if s.resource_subtype == "comment_added")
        state[task.gid] = (
            task.assignee.email if task.assignee else None,
            tuple(sorted(t.name for t in task.tags)),
            tuple(sorted(u.email for u in task.followers)),
            tuple(
                sorted(
                    (m.project.name, m.section.name if m.section else "") for m in task.memberships
                )
            ),
            task.due_on,
            task.completed,
            comments,
        )
    return state


class FaultyBackend:
    """The real backend, with a fault at the n-th write (counting from 1)."""

    def __init__(
        self,
        inner: TaskBackend,
        at: int,
        fault: Callable[[TaskBackend, Task, Intent, dict[str, Any]], Any],
    ) -> None:
        self.inner = inner
        self.at = at
        self.fault = fault
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, task: Task, intent: Intent, **options: Any) -> str | None:
        self.writes += 1
        if self.writes == self.at:
            return self.fault(self.inner, task, intent, options)
        return self.inner.write(task, intent, **options)


def kill_before(inner: TaskBackend, task: Task, intent: Intent, options: dict[str, Any]) -> Any:
    raise Killed


def kill_after(inner: TaskBackend, task: Task, intent: Intent, options: dict[str, Any]) -> Any:
    inner.write(task, intent, **options)
    raise Killed


def refused_token(inner: TaskBackend, task: Task, intent: Intent, options: dict[str, Any]) -> Any:
    raise TokenRefused("the token was refused: 401 Unauthorized")


def lost_answer(inner: TaskBackend, task: Task, intent: Intent, options: dict[str, Any]) -> Any:
    inner.write(task, intent, **options)  # Asana applied it; the answer was a 500
    raise BackendError(f"{intent.kind}: 500 Internal Server Error")


def clean_state(make: Callable[[], Run]) -> tuple[dict[str, tuple[Any, ...]], int]:
    """The world after a clean run, and how many writes the first cycle made."""
    clean = make()
    fleet = clean.fleet()
    counter = FaultyBackend(fleet.runtime(clean.entry()).backend, at=0, fault=kill_before)
    fleet.runtime(clean.entry()).backend = counter  # type: ignore[assignment]
    clean.cycle(fleet)
    writes = counter.writes
    for full in (False, True, False):
        clean.cycle(fleet, full=full)
    return world_state(clean.sandbox), writes


def recover(faulty: Run) -> None:
    """A restart: a new runtime over the same store and Asana, a few cycles and a whole read."""
    fleet = faulty.fleet()
    for full in (False, False, True, False):
        report = faulty.cycle(fleet, full=full)
    assert report.result == "ok", report.errors


@pytest.mark.slow
@pytest.mark.parametrize("fault", [kill_before, kill_after], ids=["before", "after"])
def test_a_kill_at_any_write_of_an_outcome_ends_as_a_clean_run(
    run: Callable[[], Run], fault: Callable[..., Any]
) -> None:
    expected, writes = clean_state(run)
    assert writes >= 5
    for at in range(1, writes + 1):
        faulty = run()
        fleet = faulty.fleet()
        runtime = fleet.runtime(faulty.entry())
        runtime.backend = FaultyBackend(runtime.backend, at, fault)  # type: ignore[assignment]
        with pytest.raises(Killed):
            faulty.cycle(fleet)
        recover(faulty)
        assert world_state(faulty.sandbox) == expected, f"killed {fault.__name__} write {at}"
        assert faulty.store.overrides(CLIENT) == [], f"false override after write {at}"


@pytest.mark.parametrize("fault", [refused_token, lost_answer], ids=["401", "500-after-apply"])
def test_a_refused_token_or_a_lost_answer_mid_outcome_ends_as_a_clean_run(
    run: Callable[[], Run], fault: Callable[..., Any]
) -> None:
    expected, writes = clean_state(run)
    for at in (2, writes // 2, writes):
        faulty = run()
        fleet = faulty.fleet()
        runtime = fleet.runtime(faulty.entry())
        runtime.backend = FaultyBackend(runtime.backend, at, fault)  # type: ignore[assignment]
        first = faulty.cycle(fleet)
        assert first.result in ("failed", "partial"), first.result
        runtime.backend = runtime.backend.inner  # type: ignore[attr-defined]
        recover(faulty)
        assert world_state(faulty.sandbox) == expected, f"{fault.__name__} at write {at}"
        assert faulty.store.overrides(CLIENT) == []


KINDS = {AddTag: "tag", Comment: "comment", Assign: "assign"}


class FailingKind:
    """Every write of one kind fails (a persistent 502) until healed."""

    def __init__(self, inner: TaskBackend, kind: type) -> None:
        self.inner = inner
        self.kind = kind
        self.healed = False
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, task: Task, intent: Intent, **options: Any) -> str | None:
        if isinstance(intent, self.kind) and not self.healed:
            self.failed += 1
            raise BackendError(f"POST {intent.kind}: 502 Bad Gateway")
        return self.inner.write(task, intent, **options)


@pytest.mark.parametrize("kind", [AddTag, Comment, Assign], ids=["tag", "comment", "assign"])
def test_a_write_that_keeps_failing_is_retried_each_cycle_and_never_an_override(
    run: Callable[[], Run], kind: type
) -> None:
    expected, _ = clean_state(run)
    faulty = run()
    fleet = faulty.fleet()
    runtime = fleet.runtime(faulty.entry())
    failing = FailingKind(runtime.backend, kind)
    runtime.backend = failing  # type: ignore[assignment]
    first = faulty.cycle(fleet)
    assert first.result == "partial"
    assert first.counts[Count.ACTIONS_FAILED] == failing.failed > 0
    assert first.counts.failed_by_kind()[KINDS[kind]] == failing.failed
    failed_before = failing.failed
    second = faulty.cycle(fleet)  # an incremental read: the failed writes are retried anyway
    assert failing.failed > failed_before, "the failed writes were not retried next cycle"
    assert second.result == "partial"
    assert faulty.store.overrides(CLIENT) == []
    failing.healed = True
    for full in (False, True, False):
        report = faulty.cycle(fleet, full=full)
    assert report.result == "ok", report.errors
    assert world_state(faulty.sandbox) == expected
    assert faulty.store.overrides(CLIENT) == []


def test_a_person_taking_the_task_mid_outcome_is_one_override_and_the_rest_is_not_done(
    run: Callable[[], Run],
) -> None:
    faulty = run()
    fleet = faulty.fleet()
    runtime = fleet.runtime(faulty.entry())
    failing = FailingKind(runtime.backend, Comment)
    runtime.backend = failing  # type: ignore[assignment]
    faulty.cycle(fleet)
    [delegation, *_] = faulty.store.delegations(CLIENT)
    world = faulty.sandbox.world
    lena = world.user("lena@fischer-consulting.example")
    world.assign(world.task(delegation.task_gid), lena, by=lena)  # she takes it back
    failing.healed = True
    faulty.cycle(fleet)
    faulty.cycle(fleet, full=True)
    overrides = [o for o in faulty.store.overrides(CLIENT) if o.task_gid == delegation.task_gid]
    assert len(overrides) == 1
    comments = [
        s for s in world.task(delegation.task_gid).stories if s.resource_subtype == "comment_added"
    ]
    assert comments == []  # the comment for the assistant is not posted on her task


class FailingStore:
    """The real store, whose writes fail from the n-th on (the database went away) until healed."""

    WRITES = (
        "begin_action", "finish_action", "finish_actions", "forget_actions", "record_delegation",
        "save_round_robin",
    )  # fmt: skip

    def __init__(self, inner: SqlStore, at: int) -> None:
        self.inner = inner
        self.at = at
        self.calls = 0
        self.healed = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in self.WRITES:
            return method

        def write(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls >= self.at and not self.healed:
                raise StoreError("the database is not reachable: connection refused")
            return method(*args, **kwargs)

        return write


def test_a_store_outage_mid_outcome_ends_as_a_clean_run(run: Callable[[], Run]) -> None:
    expected, _ = clean_state(run)
    for at in (2, 5, 9, 14):
        faulty = run()
        failing = FailingStore(faulty.store, at)
        fleet = faulty.fleet()
        fleet.store = failing  # type: ignore[assignment]
        with pytest.raises(StoreError):
            faulty.cycle(fleet)
        failing.healed = True
        recover(faulty)
        assert world_state(faulty.sandbox) == expected, f"store down from write {at}"
        assert faulty.store.overrides(CLIENT) == []


def test_an_outcome_not_handed_over_yet_ends_when_its_rule_goes_to_shadow_mode(
    run: Callable[[], Run],
) -> None:
    faulty = run()
    fleet = faulty.fleet()
    runtime = fleet.runtime(faulty.entry())
    failing = FailingKind(runtime.backend, Assign)
    runtime.backend = failing  # type: ignore[assignment]
    faulty.cycle(fleet)
    travel = [
        a
        for a in faulty.store.pending_actions(CLIENT)
        if a.kind == "rule" and a.rule == "Travel to Sam"
    ]
    assert travel, "no travel outcome was left waiting for its assignment"
    path = faulty.rules / "solo-consultant.yaml"
    path.write_text(
        path.read_text().replace(
            "  - name: Travel to Sam\n", "  - name: Travel to Sam\n    mode: shadow\n"
        )
    )
    fleet = faulty.fleet()  # the changed file, as the running service picks it up
    faulty.cycle(fleet)
    world = faulty.sandbox.world
    for outcome in travel:
        [ended] = faulty.store.actions(client=CLIENT, task_gid=outcome.task_gid, kinds=("rule",))
        assert ended.status == "skipped"
        assert "shadow" in (ended.result or "")
        assert world.task(outcome.task_gid).assignee.email == "lena@fischer-consulting.example"


class Transactions:
    """The store's transactions and statements, counted on its engine."""

    def __init__(self, store: SqlStore) -> None:
        self.commits = 0
        self.statements: list[str] = []
        engine = store._engine
        sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(engine, "before_cursor_execute", self._execute)

    def _commit(self, connection: Any) -> None:
        self.commits += 1
        self.statements.append("COMMIT")

    def _execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def reset(self) -> None:
        self.commits = 0
        self.statements.clear()


def test_an_idle_cycle_is_two_store_transactions_whatever_the_client_has_done(
    run: Callable[[], Run],
) -> None:
    """Its start with what it needs before reading Asana, its end: however many delegations and
    journal entries the client has, an idle cycle reads none of them."""
    faulty = run()
    fleet = faulty.fleet()
    counted = Transactions(faulty.store)
    faulty.cycle(fleet)  # the first cycle delegates
    assert faulty.store.delegations(CLIENT), "the example client delegates nothing"
    faulty.cycle(fleet)  # its own writes, read back

    def idle() -> list[str]:
        counted.reset()
        report = faulty.cycle(fleet)
        assert report.counts[Count.TASKS_SEEN] == 0, "not an idle cycle"
        assert counted.commits == 2, counted.statements
        return [s for s in counted.statements if s != "COMMIT"]

    before = idle()
    assert not [s for s in before if "delegations" in s]
    # A client with a long history: a thousand more delegations and journal entries.
    for n in range(1000):
        gid, at = f"77{n:06d}", START
        faulty.store.record_delegation(Delegation(CLIENT, gid, "old", "r", "sam", "1", at))
        faulty.store.begin_action(
            cycle_id=None, client=CLIENT, task_gid=gid, task_name="old", rule="r",
            kind="assign", detail={}, assistant="sam", mode="active", at=at, status="done",
        )  # fmt: skip
    assert idle() == before


def test_each_outcome_is_journaled_in_one_transaction_before_its_writes_and_one_after(
    run: Callable[[], Run],
) -> None:
    faulty = run()
    fleet = faulty.fleet()
    counted = Transactions(faulty.store)
    fleet.runtime(faulty.entry())  # names and people read before counting
    counted.reset()
    report = faulty.cycle(fleet)
    commits, shown = counted.commits, "\n".join(s[:60] for s in counted.statements)
    outcomes = len(faulty.store.actions(CLIENT, kinds=("rule",)))
    assert outcomes >= 3
    assert report.counts[Count.ACTIONS_DONE] > outcomes
    # the start with what is read before Asana, the tasks it posted itself among those seen, the
    # open delegations (a whole read) and those of the tasks seen, what the rules remember, the
    # follow-up's open delegations with their ledger before and after its look, the end; two per
    # outcome
    assert commits == 8 + 2 * outcomes, shown


class LostSettlement(FailingStore):
    """The store fails at an outcome's settlement, after Asana applied its writes."""

    WRITES = ("finish_actions",)


@pytest.mark.parametrize("at", [1, 2, 3])
def test_a_settlement_lost_after_the_writes_ends_as_a_clean_run_with_no_comment_twice(
    run: Callable[[], Run], at: int
) -> None:
    expected, _ = clean_state(run)
    faulty = run()
    failing = LostSettlement(faulty.store, at)
    fleet = faulty.fleet()
    fleet.store = failing  # type: ignore[assignment]
    with pytest.raises(StoreError):
        faulty.cycle(fleet)
    assert faulty.store.pending_actions(CLIENT), "nothing was left pending"
    failing.healed = True
    recover(faulty)
    assert world_state(faulty.sandbox) == expected, f"settlement {at} lost"
    assert faulty.store.overrides(CLIENT) == []
    assert faulty.store.pending_actions(CLIENT) == []


def test_a_shadow_rule_journals_its_plan_once_per_task_and_version_of_the_rule(
    run: Callable[[], Run],
) -> None:
    faulty = run()
    fleet = faulty.fleet()
    client = "small-agency"

    def cycle() -> Any:
        faulty.clock.advance(minutes=1)
        return fleet.cycle(next(e for e in load_clients(faulty.rules) if e.key == client),
                           full=True)  # fmt: skip

    def planned() -> list[tuple[str, str]]:
        shadows = [a for a in faulty.store.actions(client) if a.mode == "shadow"]
        return sorted((a.task_gid, a.kind) for a in shadows)

    first = cycle()
    once = planned()
    assert once, "the example's shadow rule planned nothing"
    assert first.counts[Count.SHADOW] == len(once)
    for _ in range(3):  # whole reads again: the same plans, not journaled again
        again = cycle()
        assert again.counts[Count.SHADOW] == len(once)  # still reported each time
    assert planned() == once
    # The client edits the rule: a new version, whose plans are journaled once more.
    path = faulty.rules / f"{client}.yaml"
    text = path.read_text()
    path.write_text(text.replace("Trying it out in shadow mode", "Still trying it out"))
    fleet = faulty.fleet()
    cycle()
    cycle()
    assert planned() == sorted(once + once)
