"""Benchmark: a fleet of clients cycled by the service against a sandbox with network latency.

50 clients, each with 10 watched projects of 200 tasks (2,000 tasks per client), served by the
sandbox in a separate process (bench/world.py) with 50 ms added to every request; half the
clients (the odd ones) have rule files that match nothing, so they never delegate. The fleet
cycles ``Settings.worker_concurrency`` clients at once unless ``--workers`` says otherwise.

Cycles, each a line of the table (wall time, requests, the CPU time of the service's process,
the store's transactions per client, the sandbox's CPU time):

- a dry run with whole reads, by a fleet of its own (nothing written, nothing recorded);
- the first cycle (whole reads, the first delegations), a settle cycle (the service's own writes
  read back), an idle cycle; then an idle cycle of the delegating clients alone and one of the
  clients matching nothing alone; a cycle after 1% of the tasks changed; and an idle cycle at
  each ``--idle-at`` latency.

Then each figure beside its goal:

1. fetch to decision: the dry run's CPU per task (from the HTTP answer to the rules' decision);
2. a write's CPU beyond its HTTP call: (the first cycle's CPU - the dry run's - each write
   request of the first cycle x the CPU of one bare call of its kind) / the write requests. A
   bare call: the project's Asana client (``AsanaClient.assign``, ``add_tag``, ``comment``)
   on the tasks of a spare workspace no rule file watches, one call at a time, its token without
   latency or rate limits (the latency is a sleep in the sandbox: no CPU of the service);
3. an idle request: the idle cycle's CPU / its requests; and the same for the delegating
   clients and the clients matching nothing, with their ratio;
4. the store's transactions (``begin`` events on its engine) per idle client-cycle;
5. the idle cycle's wall time at each latency, and the peak RSS of the service's process.

    make bench                      # or: .venv/bin/python bench/cycle.py --clients 10
    .venv/bin/python bench/cycle.py --clients 500 --tasks 20 --idle-at 200
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from delegator.asana import AsanaClient, Limits
from delegator.bootstrap import Fleet
from delegator.clients import ClientEntry, load_clients
from delegator.collector import tune_for_cycles
from delegator.logs import configure
from delegator.settings import Settings
from delegator.store import SqlStore
from world import LATENCY, RULES, serve

PROJECTS = 10
TASKS_PER_PROJECT = 200
BARE_CALLS = 60  # bare writes timed per kind
NOTHING = "(nevermatched)"

# Goals: (figure, at most)
# The incremental read's overlap (AsanaClient's sync_overlap, 5 s) and a little more.
SYNC_OVERLAP = 6.0
FETCH_US = 25.0
WRITE_MS = 1.0
IDLE_REQUEST_MS = 0.8
IDLE_RATIO = 1.2
TRANSACTIONS = 3.0
IDLE_WALL_S = 60.0
RSS_MB = 300.0


def rule_file(c: int, workspace: str, watch: str, *, delegating: bool) -> str:
    """Client ``c``'s file; one that is not ``delegating`` has rules that match no task."""
    text = RULES.format(c=c, workspace=workspace, watch=watch)
    if delegating:
        return text
    for was, now in (
        ("(invoices?|receipts?|expenses?)", NOTHING),
        ("(book|flights?|hotel)", NOTHING),
        ("{ assignee: owner } ] }", f'{{ assignee: owner }}, {{ name: {{ matches: "{NOTHING}" }} }} ] }}'),
    ):  # fmt: skip
        assert was in text, was
        text = text.replace(was, now)
    return text


class Transactions:
    """The store's transactions, counted on its engine."""

    def __init__(self, store: SqlStore) -> None:
        self.count = 0
        self._lock = threading.Lock()
        sa.event.listen(store._engine, "begin", self._begin)

    def _begin(self, _connection: Any) -> None:
        with self._lock:
            self.count += 1


@dataclass
class Sandbox:
    pipe: Connection

    def ask(self, command: str, argument: Any = None) -> Any:
        self.pipe.send((command, argument))
        return self.pipe.recv()


@dataclass
class Result:
    wall: float
    requests: int
    tasks: int
    actions: int
    cpu: float
    transactions: int
    clients: int
    writes: Counter[str]

    def per_request_ms(self) -> float:
        return self.cpu * 1000 / max(1, self.requests)


def measure_bare(sandbox: Sandbox, base_url: str, spare: int, workspace: str, token: str,
                 calls: int) -> dict[str, float]:  # fmt: skip
    """CPU seconds of one bare write request, by its ``"METHOD /endpoint"``: the project's Asana
    client, one call at a time, on the spare workspace's tasks, a first call of each kind
    untimed."""
    tasks, assistant = sandbox.ask("spare", spare)
    limits = Limits(requests_per_minute=1_000_000, burst=1_000_000, max_reads=1000,
                    max_writes=1000)  # fmt: skip
    client = AsanaClient(token, base_url=base_url, limits=limits, workspace_gid=workspace)
    tag = client.create_tag(workspace, "bench-bare")["gid"]
    client.me_gid  # noqa: B018  (the user's gid, read once, as a runtime has it)
    kinds: dict[str, Callable[[str], Any]] = {
        "assign": lambda gid: client.assign(gid, assistant),
        "add_tag": lambda gid: client.add_tag(gid, tag),
        "comment": lambda gid: client.comment(gid, f"Bare comment on {gid}"),
    }
    need = 1 + calls
    if len(tasks) < need:
        raise SystemExit(f"the spare workspace has {len(tasks)} tasks, {need} needed")
    costs: dict[str, float] = {}
    for call in kinds.values():
        call(tasks[0])
        sandbox.ask("mark")
        cpu = time.process_time()
        for gid in tasks[1:need]:
            call(gid)
        cpu = time.process_time() - cpu
        for key, count in sandbox.ask("writes").items():
            costs[key] = cpu / count
    client.close()
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=TASKS_PER_PROJECT,
                        help="tasks per project (10 projects per client)")  # fmt: skip
    parser.add_argument("--latency", type=float, default=LATENCY * 1000,
                        help="milliseconds added to every request")  # fmt: skip
    parser.add_argument("--idle-at", type=float, nargs="*", default=[], metavar="MS",
                        help="idle cycles at these latencies too (milliseconds)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=None,
                        help="clients cycled at once (default: Settings.worker_concurrency)")  # fmt: skip
    args = parser.parse_args()
    configure("json", "error")
    clients, spare = args.clients, args.clients  # the spare workspace: the one after the clients
    context = multiprocessing.get_context("fork")
    mine, theirs = context.Pipe()
    server = context.Process(
        target=serve, args=(clients, PROJECTS, args.tasks, args.latency / 1000, theirs, 1)
    )
    started = time.perf_counter()
    server.start()
    sandbox = Sandbox(mine)
    base_url, spaces = mine.recv()
    print(f"sandbox: {clients} workspaces x {PROJECTS} projects x {args.tasks} tasks "
          f"(+1 spare), {args.latency:.0f} ms per request, ready in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    bare = measure_bare(sandbox, base_url, spare, *spaces[spare], calls=BARE_CALLS)
    with tempfile.TemporaryDirectory() as tmp:
        rules_dir = Path(tmp) / "rules"
        rules_dir.mkdir()
        watch = "\n".join(
            f"  - project: {{ name: Project {p:03d} }}" for p in range(1, PROJECTS + 1)
        )
        environ = {}
        for c in range(clients):
            workspace, token = spaces[c]
            text = rule_file(c, workspace, watch, delegating=c % 2 == 0)
            (rules_dir / f"client-{c:03d}.yaml").write_text(text)
            environ[f"BENCH_TOKEN_{c}"] = token
        settings = Settings(rules_dir=rules_dir, database_url=f"sqlite:///{tmp}/state.db",
                            asana_base_url=base_url)  # fmt: skip
        workers = args.workers if args.workers is not None else settings.worker_concurrency
        print(f"workers: {workers} clients cycled at once"
              + (" (Settings.worker_concurrency)" if args.workers is None else " (--workers)")
              + f"; clients matching nothing: {clients // 2} (the odd ones)")  # fmt: skip
        store = SqlStore(settings.database_url)
        store.migrate()
        transactions = Transactions(store)
        entries = load_clients(rules_dir)
        bad = [e.key for e in entries if e.errors]
        if bad:
            print(f"invalid rule files: {bad}: {entries[0].errors[:3]}", file=sys.stderr)
            return 1
        delegating = [e for e in entries if int(e.key.rsplit("-", 1)[1]) % 2 == 0]
        nothing = [e for e in entries if e not in delegating]
        print(f"{'cycle':<28}{'wall s':>7}{'requests':>9}{'/source':>8}{'tasks':>8}"
              f"{'writes':>7}{'CPU s':>8}{'ms/task':>8}{'ms/req':>7}{'tx/client':>10}"
              f"{'sandbox CPU s':>14}{'failed':>7}")  # fmt: skip

        def run(label: str, fleet: Fleet, chosen: list[ClientEntry], *, dry_run: bool = False,
                full: bool = False) -> Result:  # fmt: skip
            sandbox_cpu = sandbox.ask("mark")
            began = transactions.count
            cpu = time.process_time()
            wall = time.perf_counter()
            reports = fleet.cycle_all(chosen, dry_run=dry_run, full=full, workers=args.workers,
                                      keep_tasks=False)  # fmt: skip
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            began = transactions.count - began
            requests, sandbox_now = sandbox.ask("count")
            writes = sandbox.ask("writes")
            tasks = sum(r.counts["tasks_seen"] for r in reports)
            actions = sum(r.counts["actions_done"] for r in reports)
            failed = sum(1 for r in reports if r.errors)
            per_task = f"{cpu * 1000 / tasks:.3f}" if tasks >= 1000 else "-"
            sources = len(chosen) * PROJECTS
            result = Result(wall, requests, tasks, actions, cpu, began, len(chosen), writes)
            print(f"{label:<28}{wall:>7.1f}{requests:>9}{requests / sources:>8.2f}{tasks:>8}"
                  f"{sum(writes.values()):>7}{cpu:>8.2f}{per_task:>8}"
                  f"{result.per_request_ms():>7.2f}{began / len(chosen):>10.1f}"
                  f"{sandbox_now - sandbox_cpu:>14.2f}{failed:>7}")  # fmt: skip
            if failed:
                print("  errors: " + "; ".join(e for r in reports for e in r.errors)[:500])
            return result

        tune_for_cycles()  # as `delegator run` does once started
        dry_fleet = Fleet(settings, store, environ=environ)
        dry = run("dry run (whole reads)", dry_fleet, entries, dry_run=True, full=True)
        dry_fleet.close()
        fleet = Fleet(settings, store, environ=environ)
        first = run("first (whole reads)", fleet, entries)
        # An incremental read asks for the changes since the start of the one before less an
        # overlap (5 s, for Asana's clock): the settle cycle, past it, reads the first cycle's
        # writes back and the idle cycle nothing, as in service, where cycles are a poll apart.
        time.sleep(SYNC_OVERLAP)
        run("settle (own writes)", fleet, entries)
        idle = run("idle", fleet, entries)
        idle_delegating = run("idle, delegating clients", fleet, delegating)
        idle_nothing = run("idle, matching nothing", fleet, nothing)
        sandbox.ask("touch", clients * PROJECTS * args.tasks // 100)
        run("after 1% changed", fleet, entries)
        idle_walls = [(args.latency, idle.wall)]
        if args.idle_at:
            time.sleep(SYNC_OVERLAP)
            run("settle (the changes)", fleet, entries)
        for ms in args.idle_at:
            sandbox.ask("latency", ms / 1000)
            idle_walls.append((ms, run(f"idle at {ms:.0f} ms", fleet, entries).wall))
        fleet.close()
    mine.send(("stop", None))
    server.join(timeout=30)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    fetch_us = dry.cpu * 1e6 / max(1, dry.tasks)
    write_requests = sum(first.writes.values())
    mean_bare = sum(bare.values()) / len(bare)
    bare_cpu = sum(n * bare.get(key, mean_bare) for key, n in first.writes.items())
    write_ms = (first.cpu - dry.cpu - bare_cpu) * 1000 / max(1, write_requests)
    ratio = idle_delegating.per_request_ms() / max(1e-9, idle_nothing.per_request_ms())
    print("bare write requests (CPU ms each): " + ", ".join(
        f"{key} {cpu * 1000:.2f}" for key, cpu in sorted(bare.items())))  # fmt: skip
    print("the first cycle's write requests: " + ", ".join(
        f"{key} {n}" for key, n in sorted(first.writes.items())) +
        f" ({first.actions} actions done; dry run {dry.tasks} tasks, first {first.tasks})")  # fmt: skip
    print(f"{'figure':<58}{'value':>12}{'goal':>12}  result")

    def figure(name: str, value: float, unit: str, goal: float, digits: int = 2) -> None:
        met = "met" if value <= goal else "not met"
        print(f"{name:<58}{f'{value:.{digits}f} {unit}':>12}{f'<= {goal:g} {unit}':>12}  {met}")

    figure("fetch to decision: CPU per task (dry run)", fetch_us, "us", FETCH_US, 1)
    figure("a write's CPU beyond its HTTP call", write_ms, "ms", WRITE_MS)
    figure("an idle request: CPU per request", idle.per_request_ms(), "ms", IDLE_REQUEST_MS)
    print(f"{'  idle request, clients with delegations':<58}"
          f"{f'{idle_delegating.per_request_ms():.2f} ms':>12}"
          f"  ({first.actions} actions done by {len(delegating)} clients)")  # fmt: skip
    print(f"{'  idle request, clients matching nothing':<58}"
          f"{f'{idle_nothing.per_request_ms():.2f} ms':>12}")  # fmt: skip
    figure("  ratio, with delegations / matching nothing", ratio, "x", IDLE_RATIO)
    figure("store transactions per idle client-cycle", idle.transactions / clients, "", TRANSACTIONS, 1)  # fmt: skip
    for ms, wall in idle_walls:
        figure(f"idle cycle of {clients} clients, {ms:.0f} ms per request: wall", wall, "s",
               IDLE_WALL_S, 1)  # fmt: skip
    figure("peak RSS of the service's process", peak, "MB", RSS_MB, 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
