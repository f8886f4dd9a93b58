"""Replicas of `delegator run` sharing clients by leases, as real processes: one PostgreSQL, one
sandbox (served by the test over loopback), kills, pauses and stops at any moment; afterwards the
sandbox's world and request log show every delegation done exactly once, nothing written twice,
and no client left unserved for longer than a lease allows.

Each process uses its own token for each client (the same Asana user), so the request log tells
which process sent what. The helpers (the world, the rule files, the processes, the lease watch)
are in fleetkit.py.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import fleetkit as fk
import pytest

from delegator.core.sharing import owner, share
from delegator.cycles import Count
from delegator.ports import LeaseRecord
from delegator.sandbox import ALL_TOKENS, LoggedRequest, SandboxServer
from delegator.store import SqlStore

pytestmark = pytest.mark.slow

ON_POSTGRESQL = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)]
)


@pytest.fixture
def processes() -> Iterator[list[fk.Process]]:
    """The processes a test started; any still running at its end are killed (by their pid)."""
    started: list[fk.Process] = []
    yield started
    for running in started:
        if running.running():
            running.process.kill()
            running.process.wait(10)


@dataclass
class Fleet:
    """What a test needs to start processes against one sandbox and one database."""

    sandbox: SandboxServer
    tmp_path: Path
    rules: Path
    database_url: str
    served: list[fk.Client]
    processes: list[fk.Process]
    settings: dict[str, str] = field(default_factory=dict)
    count: int = 0  # processes started: the next one's number, hence its tokens

    def start(self, replica: str | None, *args: str, rules: Path | None = None) -> fk.Process:
        number = self.count
        self.count += 1
        env = fk.environment(
            self.sandbox, self.tmp_path, rules or self.rules, self.database_url, self.served,
            number, replica, **self.settings,
        )  # fmt: skip
        name = f"p{number}-{replica or 'default'}-{args[0] if args else 'run'}"
        process = fk.Process(self.tmp_path, name, env, *(args or ("run",)), number=number)
        self.processes.append(process)
        return process

    def lease_records(self) -> list[LeaseRecord]:
        with SqlStore(self.database_url) as store:
            return store.leases()

    def leases(self) -> dict[str, str | None]:
        """Each client's live holder (the replica id), None when free or expired."""
        return {x.client: (x.replica if x.live else None) for x in self.lease_records()}

    def pending(self) -> bool:
        """Whether an action of any client is journaled and not done."""
        with SqlStore(self.database_url) as store:
            return any(store.pending_actions(c.key) for c in self.served)


def make_sandbox(
    served: list[fk.Client], tasks: int, sleep: Callable[[float], None] = time.sleep
) -> SandboxServer:
    server = SandboxServer.from_fixture(fk.world_fixture(served, tasks), sleep=sleep)
    server.faults.no_limits(ALL_TOKENS)  # the processes' own budgets pace them; not under test
    return server


def started(process: fk.Process) -> bool:
    if not process.running():
        raise AssertionError(
            f"{process.name} exited {process.process.returncode}:\n{process.tail()}"
        )
    return bool(process.events("service_started"))


def expected(sandbox: SandboxServer, client: fk.Client) -> set[str]:
    """The tasks the client's rule delegates: its owner's open paperwork in the seeded world."""
    workspace = sandbox.world.workspace(client.workspace)
    owner_user = sandbox.world.user(client.owner)
    return {
        task.gid
        for task in sandbox.world.all_tasks()
        if task.workspace is workspace
        and task.created_by is None
        and task.assignee is owner_user
        and not task.completed
        and fk.PAPERWORK.search(task.name)
    }


def delegated(sandbox: SandboxServer, client: fk.Client, gids: set[str]) -> set[str]:
    """Those of ``gids`` that are with an assistant, tagged and commented in Asana."""
    assistants = {sandbox.world.user(email).gid for email in client.assistants}
    owner_user = sandbox.world.user(client.owner)
    done = set()
    for gid in gids:
        task = sandbox.world.task(gid)
        comments = [
            s for s in task.stories
            if s.resource_subtype == "comment_added" and s.created_by is owner_user
        ]  # fmt: skip
        if (
            task.assignee is not None
            and task.assignee.gid in assistants
            and "delegated" in {t.name for t in task.tags}
            and comments
        ):
            done.add(gid)
    return done


def digest_tasks(sandbox: SandboxServer, client: fk.Client) -> set[str]:
    """The tasks the service made in the client's project Digests."""
    digests = sandbox.world.project("Digests", sandbox.world.workspace(client.workspace))
    return {
        t.gid for t in sandbox.world.all_tasks() if any(m.project is digests for m in t.memberships)
    }


# Writes that change nothing the second time: an assignment to the same person, a tag the task
# has. A step journaled but not yet done when its process was killed is sent again by the next
# holder (service.py, _reconcile_pending and _resume_outcomes), as after any crash.
IDEMPOTENT = ("PUT /tasks/{task_gid}", "POST /tasks/{task_gid}/addTag")


def assert_nothing_twice(sandbox: SandboxServer, processes: list[fk.Process]) -> int:
    """No write made twice to one task, but an idempotent one whose first sender was killed
    (or paused) before the second was sent: never by two running holders. How many."""
    by_number = {p.number: p for p in processes}
    resent = 0
    for (gid, kind), sent in fk.repeated(fk.writes(sandbox)).items():
        senders = [fk.process_of(e) for e in sent]
        assert kind in IDEMPOTENT, f"{kind} made {len(sent)}x to task {gid} by processes {senders}"
        assert len(sent) == 2, f"{kind} made {len(sent)}x to task {gid} by processes {senders}"
        first, second = senders
        assert first is not None
        assert second is not None
        assert first != second, f"{kind} made twice to {gid} by process {first}"
        gone = by_number[first].killed_at or by_number[first].paused_at
        assert gone is not None, f"{kind} made to {gid} by {first} and {second}, both running"
        assert gone < sent[1].at, f"{kind} made to {gid} by {first}, then {second} as {first} ran"
        resent += 1
    return resent


def assert_done_exactly_once(
    sandbox: SandboxServer, database_url: str, served: list[fk.Client], wanted: dict[str, set[str]]
) -> Counter[str]:
    """Every delegation the rule calls for is in Asana and the store, each of its writes made
    once (re-sends of idempotent ones are judged by ``assert_nothing_twice``); no other task was
    written to; no override, nothing pending. The writes, by kind."""
    writes = fk.writes(sandbox)
    by_kind: Counter[str] = Counter()
    with SqlStore(database_url) as store:
        for client in served:
            mine = fk.of_client(writes, client)
            good = [e for e in mine if e.status < 300]
            by_kind.update(e.key for e in good)
            gids = wanted[client.key]
            assert delegated(sandbox, client, gids) == gids, client.key
            written = Counter(
                (gid, e.key) for e in good if (gid := fk.task_of(e)) is not None
            )  # fmt: skip
            for gid in gids:
                for kind in (
                    "PUT /tasks/{task_gid}",
                    "POST /tasks/{task_gid}/addTag",
                    "POST /tasks/{task_gid}/stories",
                ):
                    made = written[(gid, kind)]
                    assert made == 1 or (made == 2 and kind in IDEMPOTENT), (client.key, gid, kind)
                task = sandbox.world.task(gid)
                assert [t.name for t in task.tags] == ["delegated"], (client.key, gid)
            others = {gid for gid, _ in written} - gids
            assert others <= digest_tasks(sandbox, client), f"{client.key}: written, not wanted"
            created_tags = [e for e in good if e.endpoint == "/workspaces/{workspace_gid}/tags"]
            assert len(created_tags) == 1, f"{client.key}: the tag was created {len(created_tags)}x"
            assert store.overrides(client.key) == [], f"{client.key}: a false override"
            assert store.pending_actions(client.key) == []
            open_delegations = {d.task_gid for d in store.delegations(client.key)}
            assert open_delegations == gids, client.key
    return by_kind


# ---------------------------------------------------------------------------------------------
# 3. One service per SQLite file


def test_a_second_run_on_one_sqlite_file_exits_2_and_a_restart_after_sigkill_starts_at_once(
    tmp_path: Path, processes: list[fk.Process]
) -> None:
    served = fk.clients(1)
    with make_sandbox(served, 8) as sandbox:
        fleet = Fleet(
            sandbox, tmp_path, fk.write_rules(tmp_path / "rules", served),
            f"sqlite:///{tmp_path / 'state.db'}", served, processes,
            # A long lease: a restart that waited for the killed one's lease would show.
            {"replica_lease": "40s"},
        )  # fmt: skip
        first = fleet.start("first")
        fk.wait_for(lambda: started(first) and first.events("cycle_finished"), "a first cycle")

        second = fleet.start("second")
        began = time.monotonic()
        assert second.wait(30) == 2, second.text()
        assert time.monotonic() - began < 15  # at once, not after a lease
        said = second.text()
        assert (
            f"another delegator service (pid {first.pid} on {socket.gethostname()}) is running on "
            f"the SQLite database {tmp_path / 'state.db'}"
        ) in said, said
        assert "keep the state in PostgreSQL" in said
        assert served[0].token(second.number) not in {e.token for e in sandbox.requests}

        # The first runs on: its lease is renewed by its rounds.
        [before] = fleet.lease_records()
        assert before.expires_at is not None
        fk.wait_for(
            lambda: fleet.lease_records()[0].expires_at != before.expires_at,
            "the first replica's next renewal",
            seconds=25,
        )
        assert first.running()
        assert fleet.leases() == {served[0].key: "first"}

        first.kill()
        killed = time.monotonic()
        third = fleet.start("third")  # the kernel let go of the lock: it starts
        fk.wait_for(lambda: started(third), "the third to start", seconds=30)
        fk.wait_for(lambda: fleet.leases() == {served[0].key: "third"}, "the third's lease")
        assert time.monotonic() - killed < 30  # not after the first's 40 s lease
        [replaced] = third.events("replica_replaced")
        assert replaced["previous"].startswith("first#")

        # Killed too: nothing runs on the file, so `once` runs the client now rather than report
        # the dead service as its holder until its lease runs out.
        third.kill()
        once = fleet.start("once", "once")
        assert once.wait(60) == 0, once.text()
        assert "not run" not in once.text()
        [replaced] = once.events("replica_replaced")
        assert replaced["previous"].startswith("third#")
        assert fleet.leases() == {served[0].key: None}  # handed back at its end


# ---------------------------------------------------------------------------------------------
# 4. SIGTERM hands the leases back


def two_ids(clients: list[str]) -> tuple[str, str]:
    """Two replica ids between which rendezvous hashing gives each some of the clients."""
    for n in range(100):
        a, b = f"alpha{n}", f"beta{n}"
        if share(clients, [a, b], a) and share(clients, [a, b], b):
            return a, b
    raise AssertionError("no pair of ids shares the clients")


@ON_POSTGRESQL
def test_sigterm_hands_the_leases_back_and_the_other_replica_serves_them_within_a_round(
    tmp_path: Path, database_url: str, processes: list[fk.Process]
) -> None:
    served = fk.clients(4)
    keys = [c.key for c in served]
    lease = 24.0
    every = lease / 4
    alpha, beta = two_ids(keys)
    with make_sandbox(served, 8) as sandbox:
        fleet = Fleet(
            sandbox, tmp_path, fk.write_rules(tmp_path / "rules", served), database_url, served,
            processes, {"replica_lease": f"{lease:g}s"},
        )  # fmt: skip
        first = fleet.start(alpha)
        fk.wait_for(lambda: started(first), "alpha to start")
        second = fleet.start(beta)
        shares = {key: owner(key, [alpha, beta]) for key in keys}
        fk.wait_for(lambda: fleet.leases() == shares, "each replica to hold its share", 4 * every)
        fk.wait_for(
            lambda: (
                {e["client"] for e in second.events("cycle_finished")}
                == {k for k, v in shares.items() if v == beta}
            ),
            "beta's cycles of its share",
            seconds=4 * every,
        )
        handed = sorted(k for k, v in shares.items() if v == beta)

        stopped_at = datetime.now(UTC)
        second.signal(signal.SIGTERM)
        began = time.monotonic()
        fk.wait_for(
            lambda: fleet.leases() == dict.fromkeys(keys, alpha),
            "alpha to hold every client",
            seconds=lease + every + 5,
        )
        took = time.monotonic() - began
        assert second.wait(30) == 0, second.tail()
        assert "leases_handed_back" in [e["event"] for e in second.events()]
        # Handed back, not expired: taken at alpha's next round, far sooner than the lease.
        assert took <= every + 2.5, f"{took:.1f}s to take over (round {every}s, lease {lease}s)"
        taken = [e for e in first.events("lease_acquired") if e["client"] in handed]
        assert len(taken) >= len(handed)
        assert not [e for e in first.events("lease_taken_over") if e["client"] in handed]

        # ... and runs them at once, not at its next poll a minute later.
        def cycles_since_stop() -> set[str]:
            return {
                e["client"]
                for e in first.events("cycle_finished")
                if e["client"] in handed and e["timestamp"] > stopped_at.isoformat()
            }

        fk.wait_for(
            lambda: cycles_since_stop() == set(handed),
            "alpha's cycles of the clients handed back",
            seconds=every + 10,
        )
        first.signal(signal.SIGTERM)
        assert first.wait(30) == 0, first.tail()


# ---------------------------------------------------------------------------------------------
# 5. `delegator once` beside a replica


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_once_leaves_a_client_a_replica_holds_to_it_and_says_so(
    tmp_path: Path, database_url: str, processes: list[fk.Process]
) -> None:
    served = fk.clients(2)
    held, free = served
    with make_sandbox(served, 40) as sandbox:
        sandbox.faults.latency(ALL_TOKENS, 0.1)  # the replica's first cycle takes seconds
        wanted = expected(sandbox, held)
        only_held = fk.write_rules(tmp_path / "service-rules", [held])
        fleet = Fleet(
            sandbox, tmp_path, fk.write_rules(tmp_path / "rules", served), database_url, served,
            processes,
        )  # fmt: skip
        replica = fleet.start("keeper", rules=only_held)
        token = held.token(replica.number)
        fk.wait_for(
            lambda: len([e for e in fk.writes(sandbox) if e.token == token]) >= 3,
            "the replica's cycle under way",
        )
        once = fleet.start("once", "once")
        assert once.wait(120) == 1, once.text()
        ran = once.text()
        # Its report lines, wherever they are among what it wrote (logs: warnings only).
        [report] = ("\n" + ran).split(f"\n{held.key}: ")[1:]
        assert report.startswith("0 tasks read, 0 matched a rule, 0 writes done"), ran
        assert (
            "! not run: replica keeper holds the client's lease (until " in report.splitlines()[1]
        ), ran
        assert "renewed while it runs): it serves this client" in report, ran
        once_token = held.token(once.number)
        assert [e for e in sandbox.requests.entries(include_batched=True)
                if e.token == once_token] == []  # fmt: skip
        # The free client was run by once, and handed back at its end.
        assert [e for e in fk.writes(sandbox) if e.token == free.token(once.number)]
        assert fleet.leases()[free.key] is None
        assert replica.running()
        with SqlStore(database_url) as store:
            assert store.cycles(held.key, limit=50)  # the replica's
            assert all(
                c.counts[Count.CLIENT_FAILED] == 0 for c in store.cycles(held.key, limit=50)
            ), "once recorded a failed cycle of a client it did not run"
        fk.wait_for(
            lambda: delegated(sandbox, held, wanted) == wanted,
            "the replica's cycle to finish",
            seconds=90,
        )
        replica.signal(signal.SIGTERM)
        assert replica.wait(30) == 0, replica.tail()
        assert fk.duplicates(fk.writes(sandbox)) == {}


# ---------------------------------------------------------------------------------------------
# 2. A replica paused past its lease mid-cycle


@ON_POSTGRESQL
def test_a_replica_paused_past_its_lease_mid_cycle_writes_nothing_for_the_client_after_it_resumes(
    tmp_path: Path, database_url: str, processes: list[fk.Process]
) -> None:
    served = fk.clients(2)
    moved, kept = served  # the client taken over, and the one the paused replica gets back
    paused_id, taker_id = next(
        (a, b)
        for a, b in ((f"paused{n}", f"taker{n}") for n in range(200))
        if owner(moved.key, [a, b]) == b and owner(kept.key, [a, b]) == a
    )
    holding = threading.Event()

    def sleep(seconds: float) -> None:  # the sandbox's latency; a long one is the held request
        if seconds >= 1:
            holding.set()
        time.sleep(seconds)

    with make_sandbox(served, 40, sleep) as sandbox:
        sandbox.faults.latency(ALL_TOKENS, 0.05)
        wanted = {c.key: expected(sandbox, c) for c in served}
        fleet = Fleet(
            sandbox, tmp_path, fk.write_rules(tmp_path / "rules", served), database_url, served,
            processes,
        )  # fmt: skip
        paused = fleet.start(paused_id)
        token = moved.token(paused.number)
        sandbox.faults.latency(token, 0.2)  # its cycle of the client takes many seconds
        written: list[str] = []

        def hold_after_three_writes(entry: LoggedRequest) -> None:
            if entry.token == token and entry.method != "GET":
                written.append(entry.path)
                if len(written) == 3:  # the next request is carried out, then held 2 s
                    sandbox.faults.latency(token, 2.0)

        sandbox.requests.subscribe(hold_after_three_writes)
        fk.wait_for(holding.is_set, "a request of the paused replica's cycle held in flight")
        paused.signal(signal.SIGSTOP)
        stopped = time.monotonic()
        sandbox.faults.latency(token, 0.05)

        taker = fleet.start(taker_id)
        fk.wait_for(
            lambda: fleet.leases()[moved.key] == taker_id,
            "the other replica to take the client over",
            seconds=fk.LEASE + 4 * fk.ROUND + 15,
        )
        assert time.monotonic() - stopped >= fk.LEASE - fk.ROUND  # past the paused one's lease
        taker_token = moved.token(taker.number)
        fk.wait_for(
            lambda: len([e for e in fk.writes(sandbox) if e.token == taker_token]) >= 3,
            "the taker writing for the client",
        )
        resumed_at = datetime.now(UTC)
        paused.signal(signal.SIGCONT)
        fk.wait_for(
            lambda: [e for e in paused.events("lease_lost") if e["client"] == moved.key],
            "the resumed replica to find its lease lost",
        )
        fk.wait_for(
            lambda: all(delegated(sandbox, c, wanted[c.key]) == wanted[c.key] for c in served),
            "every delegation done",
            seconds=90,
        )
        fk.wait_for(
            lambda: not fleet.pending(),
            "nothing pending",
        )
        for process in (paused, taker):
            process.signal(signal.SIGTERM)
        for process in (paused, taker):
            assert process.wait(30) == 0, process.tail()

    # Not one write for the client from the paused replica once it resumed.
    late = [e for e in fk.writes(sandbox) if e.token == token and e.at > resumed_at]
    assert late == [], [e.key for e in late]
    assert len(written) >= 4  # it did write before the pause, the held one included
    # Its cycle stopped on the lost lease: whichever it met first, the store refusing its write
    # or its own guard (after its lease round, or by its clock).
    [lost] = [e for e in paused.events("cycle_lease_lost") if e["client"] == moved.key]
    assert any(
        reason in lost["reason"]
        for reason in (
            f"is no longer current: it is held by replica {taker_id}; the write was refused",
            "this replica no longer holds the client's lease",
            "less than the 3s a write may take",
        )
    ), lost
    # Its cycle was closed by the taker as interrupted, and stays so: the paused replica's own
    # end of it (and any other store write of it) was refused.
    with SqlStore(database_url) as store:
        closed = [
            c
            for c in store.cycles(moved.key, limit=100)
            if any(f"replica {paused_id} lost this client's lease" in e for e in c.errors)
        ]
    assert len(closed) == 1, [c.errors for c in store.cycles(moved.key, limit=100)]
    [cycle] = closed
    assert cycle.finished_at is not None
    assert cycle.counts[Count.INTERRUPTED] == 1
    assert any(f"replica {taker_id} took the client over" in e for e in cycle.errors)
    # At most the write in flight at the pause sent again, if idempotent, by the taker.
    assert assert_nothing_twice(sandbox, processes) <= 1
    assert_done_exactly_once(sandbox, database_url, served, wanted)


# ---------------------------------------------------------------------------------------------
# 1. A storm of kills and restarts


@dataclass(frozen=True, slots=True)
class Figures:
    kills: int
    same_id_restarts: int
    writes: int
    resent: int
    cut_cycles: int
    worst_gap: float
    worst_after_kill: float


def assert_summaries_sent_at_most_once(
    sandbox: SandboxServer, database_url: str, served: list[fk.Client]
) -> Counter[str]:
    """Each status update and digest task in Asana is one claimed period of the store's: the
    receipts of the sends are distinct and there, and nothing else was posted but what a kill
    may have cut short after posting (a pending send). The number of each."""
    posted: Counter[str] = Counter()
    with SqlStore(database_url) as store:
        for client in served:
            workspace = sandbox.world.workspace(client.workspace)
            work = sandbox.world.project("Work", workspace)
            made = {
                "summary": {u.gid for u in work.status_updates},
                "digest": digest_tasks(sandbox, client),
            }
            for kind, objects in made.items():
                sends = [s for s in store.sends(client.key) if s.kind == kind]
                receipts = [s.receipt for s in sends if s.status == "sent"]
                assert len(receipts) == len(set(receipts)), (client.key, kind, receipts)
                assert set(receipts) <= objects, (client.key, kind)
                cut = [s for s in sends if s.status == "pending"]
                assert len(objects) <= len(receipts) + len(cut), (client.key, kind, sends)
                posted[kind] += len(objects)
    return posted


def postmortem(
    tmp_path: Path,
    sandbox: SandboxServer,
    watch: fk.LeaseWatch,
    processes: list[fk.Process],
    began: float,
) -> None:
    """The writes, the lease samples and the processes' lives, in files beside their logs."""
    fk.dump(fk.writes(sandbox), tmp_path / "writes.jsonl")
    watch.dump(tmp_path / "leases.jsonl", began)
    (tmp_path / "processes.txt").write_text(
        "".join(
            f"{p.number} {p.replica} pid {p.pid} from {p.started - began:.2f} to "
            f"{(p.ended or 0) - began:.2f}\n"
            for p in processes
        )
    )


def add_tasks(sandbox: SandboxServer, client: fk.Client, n: int) -> set[str]:
    """Three new tasks of the owner's, as a person adds them; the two the rule delegates."""
    world = sandbox.world
    workspace = world.workspace(client.workspace)
    work = world.project("Work", workspace)
    owner_user = world.user(client.owner)
    made = set()
    for name in (f"Pay invoice #{n} from Adobe", f"Call the printer {n}", f"File receipts {n}"):
        task = world.create_task(
            workspace, name, by=owner_user, assignee=owner_user,
            memberships=[(work, world.section(work, "Inbox"))],
        )  # fmt: skip
        if fk.PAPERWORK.search(name):
            made.add(task.gid)
    return made


@ON_POSTGRESQL
def test_a_storm_of_kills_and_restarts_does_every_delegation_once_and_leaves_no_client_unserved(
    tmp_path: Path, database_url: str, processes: list[fk.Process]
) -> None:
    served = fk.clients(6)
    rng = random.Random(1204)
    storm = 75.0
    with make_sandbox(served, 70) as sandbox:
        sandbox.faults.latency(ALL_TOKENS, 0.15)  # a client's first cycle takes tens of seconds
        wanted = {c.key: expected(sandbox, c) for c in served}
        fleet = Fleet(
            sandbox, tmp_path, fk.write_rules(tmp_path / "rules", served, summaries=True),
            database_url, served, processes,
        )  # fmt: skip
        slots = [fleet.start(f"r{slot}") for slot in range(3)]
        for process in slots:
            fk.wait_for(partial(started, process), f"{process.name} to start")
        watch = fk.LeaseWatch(database_url).start()
        try:
            fk.wait_for(
                lambda: len(fleet.leases()) == len(served) and all(fleet.leases().values()),
                "every client held",
            )
            began = time.monotonic()
            kills: list[float] = []
            same = 0
            while time.monotonic() - began < storm:
                time.sleep(rng.uniform(3, 8))
                serving = [n for n, p in enumerate(slots) if started(p)]
                if not serving:  # all still starting (a loaded machine): no kill this time
                    continue
                slot = rng.choice(serving)
                victim = slots[slot]
                victim.kill()
                assert victim.ended is not None
                kills.append(victim.ended)
                if rng.random() < 0.5:
                    replica = victim.replica
                    same += 1
                else:
                    replica = f"r{slot}-{fleet.count}"
                slots[slot] = fleet.start(replica)
                if time.monotonic() - began < storm - 30:  # the owner adds work meanwhile
                    client = rng.choice(served)
                    wanted[client.key] |= add_tasks(sandbox, client, rng.randrange(1000, 9999))
            try:
                fk.wait_for(
                    lambda: (
                        all(delegated(sandbox, c, wanted[c.key]) == wanted[c.key] for c in served)
                        and not fleet.pending()
                    ),
                    "every delegation done after the storm",
                    seconds=120,
                )
            except AssertionError:
                undone = {c.key: len(wanted[c.key] - delegated(sandbox, c, wanted[c.key]))
                          for c in served}  # fmt: skip
                raise AssertionError(
                    f"not done 120 s after the storm: {undone}; the leases: {fleet.leases()}"
                ) from None
            settled = time.monotonic()
        finally:
            watch.stop()
            postmortem(tmp_path, sandbox, watch, processes, began)
        for process in slots:  # a process killed by SIGTERM before its handler is set exits -15
            fk.wait_for(partial(started, process), f"{process.name} to start")
            process.signal(signal.SIGTERM)
        for process in slots:
            assert process.wait(40) == 0, process.tail()
    postmortem(tmp_path, sandbox, watch, processes, began)

    # No client went unserved longer than a lease and a round after the latest kill.
    lives = {p.pid: p for p in processes}

    def alive(pid: int, at: float) -> bool:
        process = lives.get(pid)
        return process is not None and process.started <= at < (process.ended or float("inf"))

    def after_kill(gap: fk.Gap) -> float:
        latest = max((k for k in kills if k <= gap.end), default=gap.start)
        return gap.end - max(gap.start, latest)

    gaps = fk.unserved(watch.samples, wanted, alive, began, settled)
    with SqlStore(database_url) as store:
        cut = sum(
            1
            for c in served
            for cycle in store.cycles(c.key, limit=1000)
            if cycle.counts[Count.INTERRUPTED]
        )
    resent = assert_nothing_twice(sandbox, processes)
    by_kind = assert_done_exactly_once(sandbox, database_url, served, wanted)
    posted = assert_summaries_sent_at_most_once(sandbox, database_url, served)
    figures = Figures(
        kills=len(kills),
        same_id_restarts=same,
        writes=sum(by_kind.values()),
        resent=resent,
        cut_cycles=cut,
        worst_gap=max((g.seconds for g in gaps), default=0.0),
        worst_after_kill=max((after_kill(g) for g in gaps), default=0.0),
    )
    (tmp_path / "figures.json").write_text(
        json.dumps(
            {**asdict(figures), "writes_by_kind": by_kind, "summaries": posted,
             "seconds": round(settled - began, 1),
             "gaps": [(g.client, round(g.start - began, 1), round(g.seconds, 1)) for g in gaps]},
            indent=1,
        )
    )  # fmt: skip
    bound = fk.LEASE + fk.ROUND + 1.5  # + sampling and a start's round trip
    slow = [(g.client, round(g.start - began, 1), round(g.seconds, 1)) for g in gaps
            if after_kill(g) > bound]  # fmt: skip
    assert slow == [], f"clients unserved for longer than {bound}s after the latest kill: {slow}"
    assert len(watch.samples) > storm  # sampled throughout (every 0.5 s)
    assert figures.kills >= 8
    assert figures.cut_cycles >= 1  # kills did land mid-cycle
