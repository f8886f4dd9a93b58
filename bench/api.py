"""Benchmark: what the Asana client spends against a sandbox of 20 watched projects, 5,000 tasks.

Scenarios, one cycle each, run in order against the same sandbox and client:

  (a) first read: every project read whole
  (b) idle cycle: nothing changed
  (c) a cycle after 50 tasks changed (as people change them)
  (d) 100 needed writes (assign, add tag, move to section, set a custom field) sent one by one,
      then 100 more through /batch (look-ups for them are resolved first, in their own row)
  (e) the cycle after (d): the changed tasks are read, the same 200 intents are checked against
      them, and none is sent again because every change is already in place
  (f) a tag source ("urgent", about 440 tasks) in the paid workspace: its first (whole) read,
      then an idle cycle, which asks Asana's search API once (tags.any + modified_at.after)
  (g) the same tag in a copy of the world on the free plan: the whole read, the first idle
      cycle (search answers 402, once), and the idle cycles after it, which send nothing (the
      tag is read whole again at the reconcile interval only)

For each it prints the HTTP requests the sandbox logged, the quota units spent (a batch action
counts one), the seconds the client waited for its own budget, the wall time, and the minimum
the API allows: one request per watched source and per 100 tasks returned, and for writes one
unit per change actually needed (10 per request through /batch). The worker's cycles run a
minute or more apart, so a minute is let pass on the budget's clock before each scenario (no
real wait): a budget wait then means one cycle alone outran the quota. Figures, not assertions.

Then the CPU the client spends (``--cpu`` runs only this part), with the sandbox in a process of
its own so that the client's process CPU (every thread of it, the deadline's included) is the
client's alone, at no network latency:

  * an idle request: one incremental read of an unchanged project (``GET /tasks`` with
    `modified_since` and the task opt_fields, an empty page), per request, all told; goal: at
    most 0.8 ms;
  * a GET of a 100-task page (transport, JSON, the page's shape), per request;
  * per task: the JSON parse and page shape of a 100-task answer (`Transport._interpret` on the
    bytes), the mapping to the core's `Task` (`task_from_asana`, one `Shared` per page), and
    fetch to Task: a whole read of 20 projects through the backend (`AsanaBackend.read`:
    requests, JSON, mapping), everything the client does before the engine decides, per task
    returned. It is the client's share of fetch to decision, whose goal (at most 25 µs a task,
    the engine's decision included) is shown beside it; bench/cycle.py measures the whole.

Each figure is the median of several runs. ``--profile`` also prints cProfile's top functions
of the idle requests.
Run with ``make bench`` or ``.venv/bin/python bench/api.py`` (``--cpu`` for the CPU part only).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import multiprocessing
import pstats
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from delegator.asana import (
    AsanaClient,
    BudgetRegistry,
    Limits,
    Lookups,
    Source,
    SyncPosition,
    answers,
    pagination,
    writes,
)
from delegator.asana.backend import AsanaBackend
from delegator.asana.mapping import TASK_OPT_FIELDS, Shared, task_from_asana
from delegator.asana.writes import Action
from delegator.clock import SystemClock
from delegator.ports import WatchedSource
from delegator.sandbox import ALL_TOKENS, SandboxServer, synthetic_fixture, touch_tasks
from delegator.sandbox.synthetic import OWNER_TOKEN

PROJECTS = 20
TASKS_PER_PROJECT = 250
CHANGED = 50
WRITES = 100
ASSISTANT = "assistant1@synthetic.example"
CYCLE_INTERVAL = 60.0  # seconds between the worker's cycles, let pass on the budget's clock
TAG = "urgent"

Task = dict[str, Any]


@dataclass(frozen=True)
class Row:
    scenario: str
    requests: int
    units: int
    waited: float
    seconds: float
    min_requests: int
    min_units: int
    note: str = ""


class Meter:
    """Measures one scenario: sandbox log, budget and clock, before and after."""

    def __init__(self, sandbox: SandboxServer, client: AsanaClient, clock: CycleClock) -> None:
        self.sandbox = sandbox
        self.client = client
        self.clock = clock

    def run(self, scenario: str, work: Callable[[], tuple[int, int, str]]) -> Row:
        self.clock.let_pass(CYCLE_INTERVAL)
        self.sandbox.requests.reset()
        waited = self.client.budget.seconds_waited
        started = time.perf_counter()
        min_requests, min_units, note = work()
        seconds = time.perf_counter() - started
        return Row(
            scenario,
            len(self.sandbox.requests),
            self.sandbox.requests.quota_units(OWNER_TOKEN),
            self.client.budget.seconds_waited - waited,
            seconds,
            min_requests,
            min_units,
            note,
        )


class CycleClock(SystemClock):
    """The system clock, with a way to let the interval between cycles pass without waiting.

    The budget refills over monotonic time: moving it on by a minute between scenarios gives
    each cycle the quota it would have when cycles run a minute apart, as the worker runs them.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self.offset

    def let_pass(self, seconds: float) -> None:
        self.offset += seconds


def pages(count: int) -> int:
    """Requests a listing of `count` items needs at 100 a page (an empty one still costs 1)."""
    return max(1, math.ceil(count / 100))


# ---------------------------------------------------------------- intents and desired state


@dataclass(frozen=True)
class Intent:
    kind: str  # assign | tag | section | priority
    task_gid: str
    project_gid: str


@dataclass(frozen=True)
class Targets:
    """The gids the intents point at, resolved through the per-cycle look-ups."""

    assistant: str
    tag: str
    sections: dict[str, str]  # project gid -> "Doing"
    priority_field: str
    priority_high: str

    @classmethod
    def resolve(cls, lookups: Lookups, workspace: str, projects: Iterable[str]) -> Targets:
        assistant = lookups.user_by_email(workspace, ASSISTANT)
        tag = lookups.tag(workspace, "keep")
        field = lookups.custom_field("Priority", workspace_gid=workspace)
        assert assistant is not None
        assert tag is not None
        assert field is not None
        high = field.option("High")
        assert high is not None
        sections = {}
        for project in projects:
            doing = lookups.section(project, "Doing")
            assert doing is not None
            sections[project] = str(doing["gid"])
        return cls(str(assistant["gid"]), str(tag["gid"]), sections, field.gid, high.gid)


KINDS = ("assign", "tag", "section", "priority")


def in_place(intent: Intent, task: Task, targets: Targets) -> bool:
    """Whether the task already is as the intent wants it (then nothing is sent)."""
    if intent.kind == "assign":
        return (task.get("assignee") or {}).get("gid") == targets.assistant
    if intent.kind == "tag":
        return any(tag.get("gid") == targets.tag for tag in task.get("tags") or ())
    if intent.kind == "section":
        return any(
            (m.get("section") or {}).get("gid") == targets.sections[intent.project_gid]
            for m in task.get("memberships") or ()
        )
    return any(
        field.get("gid") == targets.priority_field
        and (field.get("enum_value") or {}).get("gid") == targets.priority_high
        for field in task.get("custom_fields") or ()
    )


def action_for(intent: Intent, targets: Targets) -> Action:
    if intent.kind == "assign":
        return writes.assign(intent.task_gid, targets.assistant)
    if intent.kind == "tag":
        return writes.add_tag(intent.task_gid, targets.tag)
    if intent.kind == "section":
        return writes.move_to_section(intent.task_gid, targets.sections[intent.project_gid])
    return writes.set_custom_fields(
        intent.task_gid, {targets.priority_field: targets.priority_high}
    )


def choose_intents(
    snapshot: dict[str, tuple[str, Task]], targets: Targets, count: int, skip: set[str]
) -> list[Intent]:
    """`count` intents that are needed, on distinct tasks, the four kinds in turn."""
    chosen: list[Intent] = []
    for gid, (project, task) in sorted(snapshot.items()):
        if len(chosen) == count:
            break
        if gid in skip:
            continue
        intent = Intent(KINDS[len(chosen) % len(KINDS)], gid, project)
        if not in_place(intent, task, targets):
            chosen.append(intent)
    return chosen


# ---------------------------------------------------------------- the run


def main() -> None:
    fixture = synthetic_fixture(projects=PROJECTS, tasks_per_project=TASKS_PER_PROJECT)
    with SandboxServer.from_fixture(fixture) as sandbox:
        workspace = sandbox.world.workspaces[0]
        project_gids = [project.gid for project in workspace.projects]
        clock = CycleClock()
        client = AsanaClient(
            OWNER_TOKEN,
            base_url=sandbox.base_url,
            budgets=BudgetRegistry(),
            clock=clock,
            limits=Limits.for_plan("paid"),
            workspace_gid=workspace.gid,
        )
        client.me()  # once per client, outside the scenarios
        meter = Meter(sandbox, client, clock)
        positions = [SyncPosition(Source.project(gid)) for gid in project_gids]
        snapshot: dict[str, tuple[str, Task]] = {}  # task gid -> (project gid, task)
        rows: list[Row] = []

        def cycle(changed: Iterable[str] | None = None) -> tuple[int, int, str]:
            """Read every source; the minimum is a page per 100 tasks that had to come back:
            all open ones on a whole read, else the ones `changed` since the last cycle."""
            nonlocal positions
            reads = [client.read_source(position, TASK_OPT_FIELDS) for position in positions]
            positions = [read.position for read in reads]
            for position, read in zip(positions, reads, strict=True):
                for task in read.tasks:
                    snapshot[str(task["gid"])] = (position.source.gid, task)
            if changed is None:
                minimum = sum(pages(len(read.tasks)) for read in reads)
            else:
                per_project = Counter(snapshot[gid][0] for gid in changed)
                minimum = sum(pages(per_project[gid]) for gid in project_gids)
            kind = "whole" if all(read.full for read in reads) else "incremental"
            return minimum, minimum, f"{kind}; {sum(len(r.tasks) for r in reads)} tasks returned"

        rows.append(meter.run("(a) first read, 20 projects", cycle))
        rows.append(meter.run("(b) idle cycle", lambda: cycle(changed=())))
        touched = [task.gid for task in touch_tasks(sandbox.world, CHANGED)]
        rows.append(
            meter.run(f"(c) cycle after {CHANGED} tasks changed", lambda: cycle(changed=touched))
        )

        lookups = client.lookups()
        targets_box: list[Targets] = []

        def resolve() -> tuple[int, int, str]:
            targets_box.append(Targets.resolve(lookups, workspace.gid, project_gids))
            minimum = 3 + len(project_gids)  # one user, tags, custom fields; sections per project
            return (
                minimum,
                minimum,
                "a user by email, tags, custom fields, sections of each project",
            )

        rows.append(meter.run("(d0) look-ups for the writes", resolve))
        targets = targets_box[0]
        one_by_one = choose_intents(snapshot, targets, WRITES, skip=set())
        batched = choose_intents(snapshot, targets, WRITES, skip={i.task_gid for i in one_by_one})

        def send_one_by_one() -> tuple[int, int, str]:
            for intent in one_by_one:
                client.perform(action_for(intent, targets))
            return len(one_by_one), len(one_by_one), f"{len(one_by_one)} changes needed"

        def send_batched() -> tuple[int, int, str]:
            results = client.batch([action_for(intent, targets) for intent in batched])
            failed = sum(1 for result in results if not result.ok)
            note = f"{len(batched)} changes needed, {failed} failed"
            return math.ceil(len(batched) / 10), len(batched), note

        rows.append(meter.run(f"(d1) {WRITES} writes, one by one", send_one_by_one))
        rows.append(meter.run(f"(d2) {WRITES} writes, through /batch", send_batched))

        def cycle_after_writes() -> tuple[int, int, str]:
            intents = one_by_one + batched
            minimum, _, note = cycle(changed=[intent.task_gid for intent in intents])
            needed = [i for i in intents if not in_place(i, snapshot[i.task_gid][1], targets)]
            if needed:
                client.batch([action_for(intent, targets) for intent in needed])
            return minimum, minimum, f"{note}; {len(needed)} of {len(intents)} intents sent again"

        rows.append(meter.run("(e) the cycle after the writes", cycle_after_writes))
    for label, plan in (("(f)", "paid"), ("(g)", "free")):
        rows.extend(tag_scenario(label, plan))
    print_table(rows)


def tag_scenario(label: str, plan: str) -> list[Row]:
    """A tag source in a fresh copy of the world on `plan`."""
    fixture = synthetic_fixture(projects=PROJECTS, tasks_per_project=TASKS_PER_PROJECT)
    fixture["workspaces"][0]["plan"] = plan
    with SandboxServer.from_fixture(fixture) as sandbox:
        workspace_gid = sandbox.world.workspaces[0].gid
        clock = CycleClock()
        client = AsanaClient(
            OWNER_TOKEN,
            base_url=sandbox.base_url,
            budgets=BudgetRegistry(),
            clock=clock,
            limits=Limits.for_plan(plan),
            workspace_gid=workspace_gid,
        )
        client.me()
        return tag_rows(sandbox, client, clock, workspace_gid, label, plan)


def tag_rows(
    sandbox: SandboxServer,
    client: AsanaClient,
    clock: CycleClock,
    workspace: str,
    label: str,
    plan: str,
) -> list[Row]:
    """A tag source's whole read, then idle cycles (two on the free plan: the 402, then none)."""
    meter = Meter(sandbox, client, clock)
    tag = client.lookups().tag(workspace, TAG)
    assert tag is not None
    position = SyncPosition(Source.tag(str(tag["gid"])))
    rows: list[Row] = []

    def cycle(minimum: int | None = None) -> tuple[int, int, str]:
        nonlocal position
        read = client.read_source(position, TASK_OPT_FIELDS)
        position = read.position
        least = pages(len(read.tasks)) if minimum is None else minimum
        kind = "whole" if read.full else "incremental"
        search = {None: "", True: ", searched", False: ", search 402: none until reconcile"}
        return least, least, f"{kind}; {len(read.tasks)} tasks returned{search[position.search]}"

    rows.append(meter.run(f"{label} tag {TAG!r}, {plan}: first read", cycle))
    rows.append(meter.run(f"{label} tag {TAG!r}, {plan}: idle cycle", lambda: cycle(1)))
    if plan == "free":
        rows.append(meter.run(f"{label} tag {TAG!r}, {plan}: next idle", lambda: cycle(0)))
    return rows


def print_table(rows: list[Row]) -> None:
    header = ("scenario", "requests", "min", "units", "min", "budget wait s", "wall s", "")
    lines = [
        (
            row.scenario,
            str(row.requests),
            str(row.min_requests),
            str(row.units),
            str(row.min_units),
            f"{row.waited:.2f}",
            f"{row.seconds:.2f}",
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    for index, line in enumerate([header, *lines]):
        cells = [
            cell.ljust(width) if column in (0, 7) else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


# ---------------------------------------------------------------- CPU per request and per task

IDLE_GOAL_MS = 0.8  # an idle request, all told
TASK_GOAL_US = 25.0  # fetch to decision, per task (the client's share is measured here)
IDLE_REQUESTS = 200
PAGE_REQUESTS = 40
PARSES = 40
RUNS = 5


def serve(pipe: Connection) -> None:
    """The sandbox's process for the CPU figures: the synthetic world, until told to stop."""
    fixture = synthetic_fixture(projects=PROJECTS, tasks_per_project=TASKS_PER_PROJECT)
    with SandboxServer.from_fixture(fixture) as sandbox:
        sandbox.faults.no_limits(ALL_TOKENS)  # hundreds of requests a second: CPU, no quota
        workspace = sandbox.world.workspaces[0]
        pipe.send((sandbox.base_url, workspace.gid, [p.gid for p in workspace.projects]))
        pipe.recv()


def cpu_main(*, profile: bool = False) -> None:
    mine, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=serve, args=(theirs,))
    server.start()
    try:
        base_url, workspace, projects = mine.recv()
        measure_cpu(base_url, workspace, projects, profile=profile)
    finally:
        mine.send("stop")
        server.join(timeout=30)


def cpu_of(work: Callable[[], int]) -> list[float]:
    """The process CPU seconds per unit `work` returns (the units it did), for each of RUNS."""
    figures = []
    for _ in range(RUNS):
        started = time.process_time()
        units = work()
        figures.append((time.process_time() - started) / units)
    return figures


def canned(content: bytes) -> requests.Response:
    """A 200 answer holding `content`, as `requests` hands it to the transport."""
    response = requests.Response()
    response.status_code = 200
    response._content = content
    response.headers = CaseInsensitiveDict(
        {"Content-Type": "application/json; charset=UTF-8", "Date": "Mon, 30 Nov 2026 09:00:00 GMT"}
    )
    return response


def measure_cpu(base_url: str, workspace: str, projects: list[str], *, profile: bool) -> None:
    clock = CycleClock()
    client = AsanaClient(
        OWNER_TOKEN,
        base_url=base_url,
        budgets=BudgetRegistry(),
        clock=clock,
        limits=Limits.for_plan("paid"),
        workspace_gid=workspace,
    )
    client.me()
    reads = [
        client.read_source(SyncPosition(Source.project(gid)), TASK_OPT_FIELDS) for gid in projects
    ]
    positions = [read.position for read in reads]
    records = [task for read in reads for task in read.tasks]

    def idle() -> int:
        sent = client.requests_sent
        for index in range(IDLE_REQUESTS):
            clock.let_pass(1.0)  # the budget never waits: CPU only
            read = client.read_source(positions[index % len(positions)], TASK_OPT_FIELDS)
            assert not read.tasks
            assert not read.full
        assert client.requests_sent - sent == IDLE_REQUESTS, "an idle read is one request"
        return IDLE_REQUESTS

    idle()  # warm: connections open, caches filled
    idle_ms = statistics.median(cpu_of(idle)) * 1000

    path = f"/projects/{projects[0]}/tasks"

    def first_page() -> answers.Page:
        clock.let_pass(1.0)
        response = next(
            pagination.pages(client.transport, path, {"completed_since": "now"}, TASK_OPT_FIELDS)
        )
        return pagination.page_of(response)

    assert len(first_page().records) == 100, "the first project has 100 open tasks or more"

    def page() -> int:
        for _ in range(PAGE_REQUESTS):
            first_page()
        return PAGE_REQUESTS

    page_ms = statistics.median(cpu_of(page)) * 1000

    raw = requests.get(
        base_url + path,
        params={"completed_since": "now", "limit": 100, "opt_fields": ",".join(TASK_OPT_FIELDS)},
        headers={"Authorization": f"Bearer {OWNER_TOKEN}"},
        timeout=30,
    ).content

    def parse() -> int:
        for _ in range(PARSES):
            parsed = client.transport._interpret("GET", path, canned(raw), answers.page).parsed
        return PARSES * len(parsed.records)

    parse_us = statistics.median(cpu_of(parse)) * 1e6

    def mapping() -> int:
        for start in range(0, len(records), 100):
            shared = Shared()
            for record in records[start : start + 100]:
                task_from_asana(record, shared)
        return len(records)

    mapping_us = statistics.median(cpu_of(mapping)) * 1e6

    backend = AsanaBackend(client, workspace)
    watched = [WatchedSource(f"project {gid}", f"project:{gid}") for gid in projects]

    def fetch_to_decision() -> int:
        tasks = 0
        for source in watched:
            clock.let_pass(60.0)
            tasks += len(backend.read(source, None, whole=True).tasks)
        return tasks

    decision_us = statistics.median(cpu_of(fetch_to_decision)) * 1e6

    def goal(value: float, limit: float, unit: str) -> str:
        return f"goal <= {limit:g} {unit}: {'met' if value <= limit else 'NOT met'}"

    print()
    print(f"CPU of the client (sandbox in its own process, no latency; median of {RUNS} runs)")
    rows = [
        ("idle request (GET /tasks?modified_since=, empty page)", f"{idle_ms:.3f} ms",
         goal(idle_ms, IDLE_GOAL_MS, "ms")),
        ("GET of a 100-task page (request, JSON, page shape)", f"{page_ms:.3f} ms", ""),
        ("per task: JSON parse and page shape", f"{parse_us:.1f} µs", ""),
        ("per task: mapping to the core's Task", f"{mapping_us:.1f} µs", ""),
        (f"per task: fetch to Task (whole read, {len(records)} tasks)", f"{decision_us:.1f} µs",
         "the client's share of fetch to decision, " + goal(decision_us, TASK_GOAL_US, "µs")),
    ]  # fmt: skip
    for label, value, note in rows:
        print(f"  {label:<62}{value:>11}  {note}".rstrip())
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(idle)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        print(f"\nprofile of {IDLE_REQUESTS} idle requests (top 25 by own time):")
        print(out.getvalue())
    client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="only the CPU figures")
    parser.add_argument("--profile", action="store_true", help="and a profile of idle requests")
    arguments = parser.parse_args()
    if not arguments.cpu:
        main()
    cpu_main(profile=arguments.profile)
