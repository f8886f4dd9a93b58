"""Benchmark: clients shared by replicas through leases, on one PostgreSQL (issue 12).

500 clients (small worlds: 2 projects of 10 tasks each) served by the sandbox in a process of its
own, 50 ms added to every request, and cycled by 1, then 2, then 3 replicas: each replica a
process of its own with its own store, ``Fleet`` and ``Ownership`` (``service_ownership``), as
``delegator run`` builds them, its lease rounds on their own thread. One sandbox and one fresh
PostgreSQL schema serve the run, as one database serves a deployment that grows: the replicas of
each configuration start, take their shares (the leases the previous ones handed back at their
stop), warm up with one cycle of every client (the first configuration, before it, the whole
reads and first delegations), then run an idle cycle and, after 1% of the tasks changed, another
one; all replicas at once, each its held clients on ``--workers`` threads (the service's
scheduler has 4), a client held elsewhere skipped as the service skips it.

Printed per replica and cycle: the clients held, the wall time, the CPU time per client (the
replica's process, lease thread included), and the PostgreSQL statements per client-cycle,
counted on the store's engine (``before_cursor_execute``) and split into lease bookkeeping (lease
rounds, acquire, release), fence checks (the ``SELECT ... FOR SHARE`` opening every fenced write
transaction) and the rest of the cycle. Lease bookkeeping runs by time, not per cycle: its figure
is a steady round's statements times the rounds in one poll interval (60 s, the rule files'
``poll``), over the clients held. Round trips are more than statements: each transaction also
sends BEGIN and COMMIT, and each connection checkout the pool's pre-ping; the line under each
replica counts those too. Then the clients the replicas would serve within one poll interval
(clients held x interval / the replica's wall time, summed) against one replica's. Figures, not
assertions: the replicas, the sandbox and PostgreSQL share this machine's cores (and so does
whatever else runs on it): each cycle's line says how busy they were, and with what. At the
default 50 ms per request the cycles of 500 clients keep 2 cores busy, so more replicas on the
same 2 cores cannot cycle them faster; ``--latency 0.3`` has them wait on "Asana" instead, as a
replica on a machine of its own would (about 12 minutes).

Needs PostgreSQL: DELEGATOR_BENCH_DATABASE_URL or DELEGATOR_TEST_DATABASE_URL (skipped without).

    make bench-replicas                    # or: .venv/bin/python bench/replicas.py --quick
    .venv/bin/python bench/replicas.py --latency 0.3
    .venv/bin/python bench/replicas.py --clients 200 --replicas 1 3 --statements 15
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from delegator.bootstrap import Fleet, lease_times, service_ownership
from delegator.clients import ClientEntry, load_clients
from delegator.core.sharing import share
from delegator.leases import Keeper
from delegator.logs import configure
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.store.database import parse_url
from world import LATENCY, RULES, serve  # bench/world.py: the sandbox's process, its rule file

URL_VARIABLES = ("DELEGATOR_BENCH_DATABASE_URL", "DELEGATOR_TEST_DATABASE_URL")
POLL_SECONDS = 60.0  # the rule files' poll: 1m
LEASE_CALLS = ("lease_round", "acquire_leases", "release_leases", "leave")


# ---------------------------------------------------------------------- a replica's process
class Traffic:
    """A store's PostgreSQL traffic, counted by (origin, kind).

    Origin: the lease call it belongs to (``LEASE_CALLS``), else "cycle". Kind: "statement", or
    "fence" for a fence check (the only ``FOR SHARE`` the store sends), and the round trips that
    are not statements: "begin" and "commit" (psycopg sends each as a command of its own) and
    "ping" (the pool's pre-ping on checking out a connection it has used before)."""

    def __init__(self, store: SqlStore) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.shapes: Counter[str] = Counter()  # the cycles' statements, by their first words
        self._lock = threading.Lock()
        self._local = threading.local()
        engine = store._engine
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "begin", lambda _c: self._add("begin"))
        sa.event.listen(engine, "commit", lambda _c: self._add("commit"))
        sa.event.listen(engine, "rollback", lambda _c: self._add("commit"))  # a ROLLBACK: the same
        sa.event.listen(engine.pool, "connect", lambda _d, record: self._fresh.add(id(record)))
        sa.event.listen(engine.pool, "checkout", lambda _d, record, _p: self._checkout(record))
        self._fresh: set[int] = set()
        for name in LEASE_CALLS:  # the Ownership calls these on this very store object
            setattr(store, name, self._within(name, getattr(store, name)))

    def _within(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self._local.origin = name
            try:
                return call(*args, **kwargs)
            finally:
                self._local.origin = None

        return counted

    def _add(self, kind: str) -> None:
        origin = getattr(self._local, "origin", None) or "cycle"
        with self._lock:
            self.counts[origin, kind] += 1

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self._add("fence" if "FOR SHARE" in statement else "statement")
        if getattr(self._local, "origin", None) is None:
            shape = " ".join(statement.split())
            with self._lock:
                self.shapes[shape[:110]] += 1

    def _checkout(self, record: Any) -> None:
        # The pool pre-pings every connection it checks out but one just opened.
        if id(record) in self._fresh:
            self._fresh.discard(id(record))
        else:
            self._add("ping")

    def snapshot(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self.counts)

    def shaped(self) -> Counter[str]:
        with self._lock:
            return Counter(self.shapes)


@dataclass(frozen=True)
class ReplicaPlan:
    index: int
    url: str
    rules_dir: Path
    base_url: str
    environ: dict[str, str]


def replica(plan: ReplicaPlan, pipe: Connection) -> None:
    """One replica: its own store, fleet and leases, cycling its held clients on command."""
    configure("json", "error")
    settings = Settings(rules_dir=plan.rules_dir, database_url=plan.url,
                        asana_base_url=plan.base_url, replica_id=f"r{plan.index}")  # fmt: skip
    store = SqlStore(settings.database_url)  # the coordinator migrated it
    traffic = Traffic(store)
    ownership = service_ownership(settings, store)
    ownership.join()
    fleet = Fleet(settings, store, environ=plan.environ, ownership=ownership)
    entries = {e.key: e for e in load_clients(plan.rules_dir)}
    running: set[str] = set()
    guard = threading.Lock()
    errors: list[str] = []  # the first error of each failed cycle

    def busy(key: str) -> bool:
        with guard:
            return key in running

    keeper = Keeper(ownership, lambda: list(entries), busy)

    def one(entry: ClientEntry) -> bool:
        """One client's job, as the service's scheduler runs it: skipped unless held here."""
        if not ownership.may_start(entry.key):
            return False
        with guard:
            running.add(entry.key)
        try:
            report = fleet.cycle(entry, keep_tasks=False)
        finally:
            with guard:
                running.discard(entry.key)
        if report.errors:
            errors.extend(report.errors[:1])
        return True

    pipe.send(len(entries))
    while True:
        command, argument = pipe.recv()
        if command == "stop":
            keeper.stop()
            ownership.leave()
            fleet.close()
            pipe.send(True)
            return
        if command == "round":  # one lease round, now (the coordinator's, before the keeper)
            before = traffic.snapshot()
            keeper.tick()
            result = ownership.last_round
            wanted = share(entries, result.replicas, ownership.me.id) if result else set()
            pipe.send({"held": len(ownership.held()), "wanted": len(wanted),
                       "error": ownership.last_error,
                       "traffic": dict(traffic.snapshot() - before)})  # fmt: skip
        elif command == "keep":  # from now on, rounds on their own thread as in the service
            keeper.start()
            pipe.send(True)
        elif command == "cycle":
            errors.clear()
            rounds = keeper.rounds
            before, shapes = traffic.snapshot(), traffic.shaped()
            cpu = time.process_time()
            wall = time.perf_counter()
            with ThreadPoolExecutor(max_workers=argument) as pool:
                ran = sum(pool.map(one, entries.values()))
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            pipe.send({"id": ownership.me.id, "held": len(ownership.held()), "ran": ran,
                       "wall": wall, "cpu": cpu, "rounds": keeper.rounds - rounds,
                       "traffic": dict(traffic.snapshot() - before), "errors": list(errors),
                       "shapes": dict(traffic.shaped() - shapes)})  # fmt: skip


# ---------------------------------------------------------------------- the coordinator
def database_url() -> str | None:
    for name in URL_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


@contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    """A PostgreSQL schema made for this run, migrated, dropped after it."""
    schema = f"bench_replicas_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(parse_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = parse_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        rendered = url.render_as_string(hide_password=False)
        with SqlStore(rendered) as store:
            store.migrate()
        yield rendered
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def cpu_busy() -> tuple[float, float]:
    """The machine's CPU seconds (busy, all), from /proc/stat; zeros where there is none."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def per(value: float, count: float) -> float:
    return value / count if count else 0.0


def pg_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL server process on this machine, by pid (none when the
    server is elsewhere or its processes cannot be read)."""
    ticks, seconds = os.sysconf("SC_CLK_TCK"), {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, _, rest = text.partition(") ")
        if name.endswith("(postgres"):
            fields = rest.split()
            seconds[int(stat.parent.name)] = (float(fields[11]) + float(fields[12])) / ticks
    return seconds


def pg_cpu_since(before: dict[int, float]) -> float:
    """PostgreSQL's CPU seconds since ``before`` (a backend that ended meanwhile: not counted)."""
    return sum(now - before.get(pid, 0.0) for pid, now in pg_cpu().items())


@dataclass
class Outcome:
    """One configuration's measured cycles, each replica's answer by cycle label."""

    replicas: int
    cycles: dict[str, list[dict[str, Any]]]
    round_statements: dict[str, int]  # a steady lease round's statements, by replica id
    round_trips: dict[str, int]
    machine: dict[str, tuple[float, float]]  # by cycle label: cores busy, others' share of them


@dataclass
class World:
    """What every configuration shares: the sandbox, the database schema, the rule files."""

    url: str
    rules_dir: Path
    base_url: str
    environ: dict[str, str]
    sandbox: Connection
    clients: int
    tasks: int  # in the whole world

    def ask(self, command: str, argument: Any = None) -> Any:
        self.sandbox.send((command, argument))
        return self.sandbox.recv()


@contextmanager
def world(base: str, args: argparse.Namespace) -> Iterator[World]:
    """The sandbox's process, a fresh schema and the clients' rule files, for one run."""
    context = multiprocessing.get_context("fork")
    with fresh_schema(base) as url, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        mine, theirs = context.Pipe()
        sandbox = context.Process(target=serve, args=(args.clients, args.projects, args.tasks,
                                                      args.latency, theirs))  # fmt: skip
        sandbox.start()
        try:
            base_url, spaces = mine.recv()
            rules_dir = Path(tmp) / "rules"
            rules_dir.mkdir()
            watch = "\n".join(
                f"  - project: {{ name: Project {p:03d} }}" for p in range(1, args.projects + 1)
            )
            environ = {}
            for c, (workspace, token) in spaces.items():
                (rules_dir / f"client-{c:03d}.yaml").write_text(
                    RULES.format(c=c, workspace=workspace, watch=watch)
                )
                environ[f"BENCH_TOKEN_{c}"] = token
            print(f"sandbox ready in {time.perf_counter() - started:.1f} s")
            yield World(url, rules_dir, base_url, environ, mine, args.clients,
                        args.clients * args.projects * args.tasks)  # fmt: skip
        finally:
            mine.send(("stop", None))
            sandbox.join(timeout=60)


def run(place: World, replicas: int, args: argparse.Namespace, *, first: bool) -> Outcome:
    """One configuration: ``replicas`` processes take their shares and cycle them."""
    context = multiprocessing.get_context("fork")
    prefix = f"replicas={replicas}"
    started = time.perf_counter()
    pipes: list[Connection] = []
    processes = []
    for index in range(1, replicas + 1):
        ours, its = context.Pipe()
        plan = ReplicaPlan(index, place.url, place.rules_dir, place.base_url, place.environ)
        process = context.Process(target=replica, args=(plan, its), name=f"replica-r{index}")
        process.start()
        pipes.append(ours)
        processes.append(process)
    for pipe in pipes:
        pipe.recv()
    print(f"{prefix}: {replicas} replica process(es) ready in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip

    def ask(command: str, argument: Any = None) -> list[Any]:
        for pipe in pipes:  # all at once, then every answer
            pipe.send((command, argument))
        return [pipe.recv() for pipe in pipes]

    # The shares: one round at a time, replica after replica, until each holds its own. The
    # first to join takes every free lease, then hands the others' shares back.
    taken: Counter[str] = Counter()  # statements by lease call
    number, converging = 0, time.perf_counter()
    while number < 8:
        number += 1
        answers = []
        for pipe in pipes:
            pipe.send(("round", None))
            answers.append(pipe.recv())
        for answer in answers:
            for (origin, kind), n in answer["traffic"].items():
                taken[origin] += n if kind == "statement" else 0
        if (
            all(a["held"] == a["wanted"] for a in answers)
            and sum(a["held"] for a in answers) == place.clients
        ):
            break
    held = [a["held"] for a in answers]
    moved = taken["acquire_leases"] + taken["release_leases"]
    converging = time.perf_counter() - converging
    print(f"{prefix}: shares {held} after {number} round(s) of each replica ({converging:.1f} s): "
          f"{taken['lease_round']} statements in rounds, {taken['acquire_leases']} acquiring and "
          f"{taken['release_leases']} handing back leases ({per(moved, place.clients):.2f} per "
          f"client)")  # fmt: skip
    round_statements, round_trips = {}, {}  # a steady round's, by replica id
    for index, pipe in enumerate(pipes, start=1):
        pipe.send(("round", None))
        traffic: Counter[str] = Counter()
        for (_, kind), n in pipe.recv()["traffic"].items():
            traffic[kind] += n
        round_statements[f"r{index}"] = traffic["statement"]
        round_trips[f"r{index}"] = sum(traffic.values())
    ask("keep")
    cycles: dict[str, list[dict[str, Any]]] = {}
    machine: dict[str, tuple[float, float]] = {}

    def cycle(label: str, workers: int, show: bool) -> None:
        sandbox_cpu = place.ask("mark")
        before, postgres = cpu_busy(), pg_cpu()
        wall = time.perf_counter()
        answers = ask("cycle", workers)
        wall = time.perf_counter() - wall
        busy, total = (a - b for a, b in zip(cpu_busy(), before, strict=True))
        postgres_cpu = pg_cpu_since(postgres)
        requests, sandbox_now = place.ask("count")
        sandbox_cpu = sandbox_now - sandbox_cpu
        cycles[label] = answers
        ran = sum(a["ran"] for a in answers)
        replica_cpu = sum(a["cpu"] for a in answers)
        others = busy - replica_cpu - sandbox_cpu - postgres_cpu
        machine[label] = (per(busy, wall), per(others, busy))
        failed = sum(len(a["errors"]) for a in answers)
        print(f"{prefix} {label}: {ran} client-cycles in {wall:.1f} s on {workers} workers per "
              f"replica, {per(requests, ran):.1f} Asana requests per client; machine: "
              f"{per(busy, wall):.1f} of {per(total, wall):.0f} cores busy (CPU s: replicas "
              f"{replica_cpu:.1f}, sandbox {sandbox_cpu:.1f}, PostgreSQL {postgres_cpu:.1f}, other "
              f"processes {others:.1f})"
              + (f"; {failed} failed" if failed else ""))  # fmt: skip
        for answer in answers if failed else ():
            for error in answer["errors"][:3]:
                print(f"    {answer['id']}: {error[:300]}")
        if show:
            for answer in answers:
                report(prefix, label, answer, round_statements[answer["id"]],
                       round_trips[answer["id"]], args.lease_every)  # fmt: skip
                if args.statements:
                    shapes = Counter(answer["shapes"])
                    for shape, n in shapes.most_common(args.statements):
                        print(f"      {per(n, answer['ran']):5.2f}  {shape}")

    if first:
        cycle("first (whole reads)", args.warmup_workers, show=False)
    cycle("warm-up (settle)", args.warmup_workers, show=False)
    cycle("idle", args.workers, show=True)
    place.ask("touch", place.tasks // 100)
    cycle("1% changed", args.workers, show=True)
    ask("stop")
    for process in processes:
        process.join(timeout=60)
    return Outcome(replicas, cycles, round_statements, round_trips, machine)


def lease_per_client_cycle(round_cost: int, held: int, every: float) -> float:
    """A replica's lease bookkeeping per client-cycle: its rounds in one poll interval (each
    client cycles once in it) times a round's cost, over the clients it holds."""
    return per(POLL_SECONDS / every * round_cost, held)


def report(prefix: str, label: str, answer: dict[str, Any], round_statements: int,
           round_trips: int, every: float) -> None:  # fmt: skip
    traffic: Counter[tuple[str, str]] = Counter(answer["traffic"])
    ran, held = answer["ran"], answer["held"]
    cycle = Counter({kind: n for (origin, kind), n in traffic.items() if origin == "cycle"})
    fence, other = per(cycle["fence"], ran), per(cycle["statement"], ran)
    lease = lease_per_client_cycle(round_statements, held, every)
    lease_trips = lease_per_client_cycle(round_trips, held, every)
    transactions = per(cycle["begin"], ran)
    trips = per(sum(cycle.values()), ran) + lease_trips
    print(f"{prefix} replica={answer['id']} clients={held} {label}: wall {answer['wall']:.1f} s "
          f"for {ran} client-cycles, cpu/client {per(answer['cpu'] * 1000, ran):.1f} ms, "
          f"pg statements/client-cycle: lease {lease:.2f}, fence {fence:.1f}, other {other:.1f}")  # fmt: skip
    print(f"    round trips/client-cycle {trips:.1f}: statements {fence + other + lease:.1f}, "
          f"BEGIN+COMMIT {per(cycle['begin'] + cycle['commit'], ran):.1f} "
          f"({transactions:.1f} transactions), pool pre-pings {per(cycle['ping'], ran):.1f}, "
          f"lease {lease_trips:.2f} (a round: {round_statements} statements, {round_trips} "
          f"round trips, {POLL_SECONDS / every:g} rounds per {POLL_SECONDS:g} s poll interval; "
          f"{answer['rounds']} ran during this cycle)")  # fmt: skip


def capacity(answers: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """Clients the replicas would serve within one poll interval at the pace they cycled: with
    the shares as hashed (more clients, each share grown alike: the slowest replica bounds it),
    and were the shares even (each replica's pace, summed)."""
    slowest = max(a["wall"] for a in answers)
    hashed = per(sum(a["ran"] for a in answers) * POLL_SECONDS, slowest)
    return hashed, sum(per(a["ran"] * POLL_SECONDS, a["wall"]) for a in answers)


def cpu_per_client(answers: Sequence[dict[str, Any]]) -> float:
    return per(sum(a["cpu"] for a in answers), sum(a["ran"] for a in answers))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--projects", type=int, default=2, help="watched projects per client")
    parser.add_argument("--tasks", type=int, default=10, help="tasks per project")
    parser.add_argument("--workers", type=int, default=4,
                        help="clients each replica cycles at once (the service's scheduler: 4)")  # fmt: skip
    parser.add_argument("--warmup-workers", type=int, default=12,
                        help="the same for the two warm-up cycles, which are not measured")  # fmt: skip
    parser.add_argument("--latency", type=float, default=LATENCY,
                        help="seconds the sandbox adds to every request")  # fmt: skip
    parser.add_argument("--statements", type=int, default=0, metavar="N",
                        help="also print the N most frequent statements of each measured cycle")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 40 clients over 1 and 2 replicas")  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.clients, args.replicas = 40, [1, 2]
    base = database_url()
    if base is None:
        print(f"bench/replicas.py: skipped: no PostgreSQL to share (set {URL_VARIABLES[0]} or "
              f"{URL_VARIABLES[1]}, e.g. postgresql+psycopg://user:password@127.0.0.1/db)")  # fmt: skip
        return 0
    configure("json", "error")
    settings = Settings()
    args.lease_every = lease_times(settings).every
    print(f"{args.clients} clients x {args.projects} projects x {args.tasks} tasks, "
          f"{args.latency * 1000:.0f} ms per request; replicas {args.replicas} on {os.cpu_count()} "
          f"cores; lease {settings.replica_lease.total_seconds():g} s, a round every "
          f"{args.lease_every:g} s; PostgreSQL {parse_url(base).render_as_string()}")  # fmt: skip
    with world(base, args) as place:
        outcomes = [run(place, n, args, first=i == 0) for i, n in enumerate(args.replicas)]
    print(f"summary: clients served within one {POLL_SECONDS:g} s poll interval at the pace "
          f"of these cycles, the shares as hashed (the slowest replica bounds them) [were the "
          f"shares even]:")  # fmt: skip
    first = outcomes[0]
    for label in ("idle", "1% changed"):
        one = capacity(first.cycles[label])[1] / first.replicas
        parts = []
        for outcome in outcomes:
            hashed, even = capacity(outcome.cycles[label])
            parts.append(f"{outcome.replicas} replica(s) ~{hashed:,.0f} = {per(hashed, one):.2f}x "
                         f"one [{per(even, one):.2f}x]")  # fmt: skip
        print(f"  {label}: " + "; ".join(parts))
    for label in ("idle", "1% changed"):
        costs = [f"{cpu_per_client(o.cycles[label]) * 1000:.1f}" for o in outcomes]
        busy = [f"{o.machine[label][0]:.1f} ({o.machine[label][1]:.0%})" for o in outcomes]
        print(f"  {label}: CPU per client-cycle in the replicas {' / '.join(costs)} ms; the "
              f"machine's cores busy {' / '.join(busy)} (of them, processes outside this "
              f"benchmark)")  # fmt: skip
    worst = max(
        lease_per_client_cycle(o.round_trips[a["id"]], a["held"], args.lease_every)
        for o in outcomes
        for a in o.cycles["idle"]
    )
    trips = max(max(o.round_trips.values()) for o in outcomes)
    print(f"  lease bookkeeping: at most {worst:.2f} PostgreSQL round trips per client-cycle "
          f"(goal: at most 1); a replica's rounds cost {trips} round trips each, "
          f"{trips * POLL_SECONDS / args.lease_every:g} per poll interval whatever it holds: at "
          f"most one per client-cycle from {trips * POLL_SECONDS / args.lease_every:g} clients "
          f"per replica")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
