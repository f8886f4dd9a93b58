"""Benchmark: a fleet of clients cycled by the service against a sandbox with network latency.

50 clients, each with 10 watched projects of 200 tasks (2,000 tasks per client), served by the
sandbox in a separate process with 50 ms added to every request. Runs a first cycle (whole reads,
the first delegations), an idle cycle, and a cycle after 1% of the tasks changed, and prints for
each the wall time, the requests per client and per watched source, and the CPU time per task;
then the peak memory (RSS) of the service's process. Targets: an idle cycle at one request per
watched source, 50 clients cycled within a 60-second poll interval, under 150 MB RSS.

    make bench                      # or: .venv/bin/python bench/cycle.py --clients 10
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.logs import configure
from delegator.settings import Settings
from delegator.store import SqlStore

PROJECTS = 10
TASKS_PER_PROJECT = 200
LATENCY = 0.05

RULES = """\
version: 1
client:
  name: Bench client {c}
  workspace: "{workspace}"
  token: {{ env: BENCH_TOKEN_{c} }}
  timezone: Europe/Rome
  owner: owner@c{c}.synthetic.example
watch:
{watch}
poll: 1m
assistants:
  a1: {{ user: assistant1@c{c}.synthetic.example, capacity: 500, skills: [admin, booking] }}
  a2: {{ user: assistant2@c{c}.synthetic.example, capacity: 500, skills: [admin] }}
rules:
  - name: Money paperwork
    when:
      all:
        - project: Project 001
        - quadrant: [delegate, eliminate]
        - assignee: [owner, none]
        - name: {{ matches: "\\\\b(invoices?|receipts?|expenses?)\\\\b" }}
    then:
      - assign: {{ pool: [a1, a2], skill: admin }}
      - tag: delegated
      - comment: "Hi {{{{ assignee.first_name }}}}: {{{{ task.name }}}}"
  - name: Bookings
    when:
      all:
        - project: [Project 001, Project 002]
        - assignee: owner
        - name: {{ matches: "\\\\b(book|flights?|hotel)\\\\b" }}
    then: [ {{ assign: a1 }}, {{ tag: delegated }} ]
  - name: Inbox chores
    when: {{ all: [ {{ quadrant: eliminate }}, {{ section: Inbox }}, {{ assignee: owner }} ] }}
    then: [ {{ tag: inbox-chore }} ]
    mode: shadow
"""


def fixture(clients: int) -> dict[str, Any]:
    from delegator.sandbox import synthetic_fixture

    workspaces = []
    for c in range(clients):
        text = json.dumps(synthetic_fixture(PROJECTS, TASKS_PER_PROJECT, seed=c))
        text = text.replace("synthetic.example", f"c{c}.synthetic.example")
        text = text.replace("synthetic-token-", f"c{c}-synthetic-token-")
        workspace = json.loads(text)["workspaces"][0]
        workspace["name"] = f"Synthetic Co {c}"
        workspaces.append(workspace)
    return {"workspaces": workspaces}


def serve(clients: int, pipe: Connection) -> None:
    """The sandbox's process: a world of ``clients`` workspaces, answering commands."""
    from delegator.sandbox import ALL_TOKENS, SandboxServer, touch_tasks

    with SandboxServer.from_fixture(fixture(clients)) as sandbox:
        sandbox.faults.latency(ALL_TOKENS, LATENCY)
        world = sandbox.world
        spaces = {
            c: (
                world.workspace(f"Synthetic Co {c}").gid,
                sandbox.token(f"owner@c{c}.synthetic.example"),
            )
            for c in range(clients)
        }
        pipe.send(("ready", sandbox.base_url, spaces))
        while True:
            command, argument = pipe.recv()
            if command == "stop":
                break
            if command == "count":
                pipe.send(len(sandbox.requests.entries()))
            elif command == "reset":
                sandbox.requests.reset()
                pipe.send(True)
            elif command == "touch":
                touch_tasks(world, argument, seed=7)
                pipe.send(True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=12, help="clients cycled at once")
    args = parser.parse_args()
    configure("json", "error")
    mine, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=serve, args=(args.clients, theirs))
    started = time.perf_counter()
    server.start()
    _, base_url, spaces = mine.recv()
    print(f"sandbox: {args.clients} workspaces x {PROJECTS} projects x {TASKS_PER_PROJECT} tasks, "
          f"{LATENCY * 1000:.0f} ms per request, ready in {time.perf_counter() - started:.1f} s")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        rules_dir = Path(tmp) / "rules"
        rules_dir.mkdir()
        watch = "\n".join(
            f"  - project: {{ name: Project {p:03d} }}" for p in range(1, PROJECTS + 1)
        )
        environ = {}
        for c, (workspace, token) in spaces.items():
            (rules_dir / f"client-{c:02d}.yaml").write_text(
                RULES.format(c=c, workspace=workspace, watch=watch)
            )
            environ[f"BENCH_TOKEN_{c}"] = token
        settings = Settings(rules_dir=rules_dir, database_url=f"sqlite:///{tmp}/state.db",
                            asana_base_url=base_url)  # fmt: skip
        store = SqlStore(settings.database_url)
        store.migrate()
        fleet = Fleet(settings, store, environ=environ)
        entries = load_clients(rules_dir)
        bad = [e.key for e in entries if e.errors]
        if bad:
            print(f"invalid rule files: {bad}: {entries[0].errors[:3]}", file=sys.stderr)
            return 1
        sources = args.clients * PROJECTS
        print(f"{'cycle':<26}{'wall s':>8}{'requests':>10}{'per client':>12}{'per source':>12}"
              f"{'tasks':>8}{'writes':>8}{'CPU s':>8}{'ms/task':>9}{'failed':>8}")  # fmt: skip

        def run(label: str) -> float:
            mine.send(("reset", None))
            mine.recv()
            cpu = time.process_time()
            wall = time.perf_counter()
            reports = fleet.cycle_all(entries, workers=args.workers, keep_tasks=False)
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            mine.send(("count", None))
            requests = mine.recv()
            tasks = sum(r.counts["tasks_seen"] for r in reports)
            writes = sum(r.counts["actions_done"] for r in reports)
            failed = sum(1 for r in reports if r.errors)
            per_task = f"{cpu * 1000 / tasks:.3f}" if tasks >= 1000 else "-"
            print(f"{label:<26}{wall:>8.1f}{requests:>10}{requests / args.clients:>12.1f}"
                  f"{requests / sources:>12.2f}{tasks:>8}{writes:>8}{cpu:>8.2f}{per_task:>9}{failed:>8}")  # fmt: skip
            if failed:
                print("  errors: " + "; ".join(e for r in reports for e in r.errors)[:500])
            return wall

        run("first (whole reads)")
        run("settle (own writes)")
        idle = run("idle")
        changed = args.clients * PROJECTS * TASKS_PER_PROJECT // 100
        mine.send(("touch", changed))
        mine.recv()
        after = run("after 1% changed")
        fleet.close()
    mine.send(("stop", None))
    server.join(timeout=30)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"idle cycle: {idle:.1f} s for {args.clients} clients; after 1% changed: {after:.1f} s "
          f"(poll interval 60 s)")  # fmt: skip
    print(f"peak RSS of the service process: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
