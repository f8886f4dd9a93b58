"""`delegator demo`: the service doing its job against the built-in Asana sandbox.

Starts the sandbox with the demo world, runs the example clients' rules for a few cycles and
shows what was delegated to whom and why, what was left alone and why, that a second cycle does
nothing twice, and that a person taking a task back is respected. No account, no token.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from delegator.asana.history import MAX_TASKS
from delegator.bootstrap import Fleet, open_store, start_hooks, start_status_page
from delegator.cli._common import Subparsers
from delegator.cli.suggest import (
    DEFAULT_SINCE,
    cost_line,
    history_source,
    service_delegated,
    since_delta,
)
from delegator.cli.undo import run_undo_with
from delegator.clients import ClientEntry, load_clients
from delegator.clock import ManualClock, SystemClock
from delegator.core.expectations import Clock, WorkTime
from delegator.core.expectations import clock as clock_of
from delegator.core.rulemining import suggest
from delegator.core.schema import Rule
from delegator.cycles import Count
from delegator.followups_view import work_time
from delegator.logs import configure
from delegator.ports import BackendError, Delegation, LinkKind, LinkRecord
from delegator.sandbox import SandboxServer
from delegator.sandboxed import EXAMPLE_RULES, sandboxed
from delegator.scheduler import Service
from delegator.service import ClientError, CycleReport, StepStatus, TaskReport
from delegator.settings import Settings
from delegator.statuspage.access import Grant, Role, new_link_id, sign_link
from delegator.store import SqlStore

# The webhooks scene: a task one of the example rules delegates, created by its owner.
DEMO_PROJECT = "Operations"
DEMO_OWNER = "anna@northwind.example"
DEMO_WORKSPACE = "Northwind Studio"
DEMO_TASK = "Invoice 2026-142 for the print shop"


def register(subparsers: Subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="watch delegator work on a sandboxed Asana (no account needed)",
        description=(
            "Start the built-in Asana sandbox with a realistic client, run the example rules "
            "against it for a few cycles, and show every decision. Exits by itself."
        ),
    )
    demo.add_argument(
        "--rules", default=str(EXAMPLE_RULES), metavar="DIR", help="the rule files to run"
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="at the end, leave the status page up (its address and links printed) until Ctrl-C",
    )
    demo.set_defaults(handler=run_demo)


def _banner(text: str) -> None:
    print()
    print(f"== {text} ".ljust(78, "="))


def _delegated_line(item: TaskReport) -> str:
    decision = item.decision
    rule = decision.outcomes[0].rule if decision.outcomes else "?"
    who = item.choice.assistant or item.choice.user if item.choice else None
    head = f'  "{decision.task.name}" [{decision.quadrant}]'
    lines = [f"{head} -> {who}" if who else head, f'      rule: "{rule}"']
    if item.choice is not None:
        lines.append(f"      why this assistant: {item.choice.reason}")
    done = [s.description for s in item.steps if s.status == StepStatus.DONE and s.kind != "assign"]
    if done:
        lines.append("      also: " + "; ".join(done))
    failed = [f"{s.description} ({s.note})" for s in item.steps if s.status == StepStatus.FAILED]
    if failed:
        lines.append("      failed: " + "; ".join(failed))
    return "\n".join(lines)


def _why_left_alone(item: TaskReport) -> str:
    decision = item.decision
    if decision.skipped:
        return decision.skipped
    if decision.outcomes and not decision.intents:
        return f'already as rule "{decision.rule}" wants it'
    if decision.quadrant in ("do", "schedule"):
        return f"quadrant {decision.quadrant}: the owner's own work"
    return "no rule applies"


def show_first_cycle(report: CycleReport) -> None:
    _banner(f"{report.name}: first cycle")
    delegated = [
        t
        for t in report.tasks
        if any(s.kind == "assign" and s.status == StepStatus.DONE for s in t.steps)
    ]
    shadow = [t for t in report.tasks if any(o.shadow for o in t.decision.outcomes) and t.steps]
    queued = [t for t in report.tasks if any(s.status == StepStatus.QUEUED for s in t.steps)]
    other = [
        t for t in report.tasks
        if t.steps and t not in delegated and t not in shadow and t not in queued
    ]  # fmt: skip
    quiet = [t for t in report.tasks if not t.steps]
    print(f"Read {report.counts[Count.TASKS_SEEN]} tasks with {report.requests} API requests.")
    print(f"\nDelegated ({len(delegated)}):")
    for item in delegated:
        print(_delegated_line(item))
    if other:
        print(f"\nChanged without a new assignee ({len(other)}):")
        for item in other:
            steps = "; ".join(s.description for s in item.steps)
            print(f'  "{item.task.name}": {steps} (rule "{item.decision.rule}")')
    if queued:
        print(f"\nWaiting for a free assistant ({len(queued)}):")
        for item in queued:
            print(f'  "{item.task.name}": ' + "; ".join(s.description for s in item.steps))
    if shadow:
        print(f"\nShadow rules: would have acted on {len(shadow)} tasks (nothing written):")
        for item in shadow:
            print(f'  "{item.task.name}": rule "{item.decision.rule}"')
    print(f"\nLeft alone ({len(quiet)}):")
    grouped: dict[str, list[str]] = defaultdict(list)
    for item in quiet:
        grouped[_why_left_alone(item)].append(item.task.name)
    for why, names in sorted(grouped.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(f'"{n}"' for n in names[:4]) + (
            f" and {len(names) - 4} more" if len(names) > 4 else ""
        )
        print(f"  {why}: {shown}")
    for error in report.errors:
        print(f"  ! {error}")


def run_demo(args: argparse.Namespace) -> int:
    configure("console", "warning")
    rules_dir = Path(args.rules)
    with sandboxed(rules_dir) as env:
        print(f"Asana sandbox running at {env.sandbox.base_url} with the demo world.")
        entries = load_clients(rules_dir)
        for entry in entries:
            status = "ok" if not entry.errors else f"{len(entry.errors)} errors"
            print(f"  client {entry.name} ({entry.path}): {status}")
        fleet = Fleet(env.settings, open_store(env.settings), environ=env.environ)
        try:
            first = [fleet.cycle(e, explain=True) for e in entries]
            for report in first:
                show_first_cycle(report)

            _banner("Second cycle: nothing is done twice")
            second = [fleet.cycle(e) for e in entries]
            for report in second:
                sources = (
                    len(fleet.runtimes[report.client].sources)
                    if report.client in fleet.runtimes
                    else 0
                )
                print(
                    f"  {report.name}: {report.counts[Count.TASKS_SEEN]} changed tasks read, "
                    f"{report.counts[Count.ACTIONS_DONE]} writes, {report.requests} API requests "
                    f"({sources} watched sources)"
                )

            taken = _take_one_back(env.sandbox, first)
            if taken is not None:
                name, client_key, person = taken
                _banner("A person takes a task back")
                print(f'  {person} assigns "{name}" back to themselves in Asana.')
                entry = next(e for e in entries if e.key == client_key)
                third = fleet.cycle(entry)
                for override in third.overrides:
                    print(f'  Noticed: "{override.task_name}": {override.reason}.')
                again = fleet.cycle(entry, full=True)
                touched = [t for t in again.tasks if t.task.name == name and t.steps]
                print(
                    "  Next cycles leave it alone: "
                    + (
                        "it was touched again!"
                        if touched
                        else "no write on it, the person's choice stands."
                    )
                )
            later = show_followup(env.sandbox, fleet, entries, env.environ)
            show_summaries(env.sandbox, later or fleet, entries, first)
            show_suggestion(fleet, entries)
            show_webhooks(env.sandbox, env.settings, env.environ, rules_dir)
            show_status_page(fleet, entries, serve=bool(getattr(args, "serve", False)))
            return 1 if any(r.counts[Count.CLIENT_FAILED] for r in first) else 0
        finally:
            fleet.close()


def show_followup(
    sandbox: SandboxServer,
    fleet: Fleet,
    entries: list[ClientEntry],
    environ: Mapping[str, str],
) -> Fleet | None:
    """Hours later on the service's clock: a reminder at the assistant's working hours, an
    escalation to the owner when the expectation is missed, an assistant's "not for me", and an
    undo. The fleet on that later clock, for the summaries that follow (None: no scene)."""
    found = _expected_delegation(fleet, entries)
    if found is None:
        return None
    entry, delegation, clk, work = found
    head = entry.loaded.head
    assert head is not None
    zone = ZoneInfo(head.client.timezone)
    first = clk.deadlines[0]
    remind = work.next_working(first.remind_at) if first.remind_at is not None else None
    clock = ManualClock(datetime.now(UTC))
    later = Fleet(fleet.settings, fleet.store, environ=environ, clock=clock)
    world = sandbox.world
    task = world.task(delegation.task_gid)
    name = task.assignee.name if task.assignee is not None else delegation.assistant
    _banner('The follow-up: reminders, escalation, "not for me", undo')
    print(f'  "{delegation.task_name}" was given to {name} by rule "{delegation.rule}", which '
          f"expects it {first.describe()}.")  # fmt: skip
    if remind is not None and remind > clock.now():
        clock.set(remind + timedelta(minutes=1))
        before = _comments(task)
        later.cycle(entry)
        _said(task, before, f"{_at(clock.now(), zone)}, a reminder to {name}")
    clock.set(max(first.due, clock.now()) + timedelta(minutes=1))
    before = _comments(task)
    later.cycle(entry)
    _said(task, before, f"{_at(clock.now(), zone)}, missed: escalated to the owner")
    extra = [t.name for t in task.tags if t.name == "late"]
    if extra:
        print(f"      and tagged {extra[0]}, the owner following the task")
    bounced = _bounce_one(sandbox, later, entry, delegation.task_gid, clock)
    if bounced is not None:
        person, task_name, reason, before = bounced
        print(f'  {person} comments "{reason}" on "{task_name}".')
        _said(world.task(task_name), before, "  The next cycle gives it back")
        print("      recorded as an override: the rule leaves it alone from now on")
    _undo_one(later, fleet, entry)
    clock.advance(minutes=1)  # the summaries below end now: what happened above is in them
    return later


def _expected_delegation(
    fleet: Fleet, entries: list[ClientEntry]
) -> tuple[ClientEntry, Delegation, Clock, WorkTime] | None:
    """The first open delegation whose rule expects something, with its clock."""
    for entry in entries:
        head = entry.loaded.head
        if head is None:
            continue
        rules = {r.name: r for r in head_rules(entry)}
        for delegation in fleet.store.delegations(entry.key):
            rule = rules.get(delegation.rule)
            if rule is None or rule.expect is None:
                continue
            work = work_time(head, delegation.assistant)
            clk = clock_of(rule.expect, delegation.delegated_at, work, delegation.due_on)
            if clk.deadlines:
                return entry, delegation, clk, work
    return None


def head_rules(entry: ClientEntry) -> list[Rule]:
    return [r.rule for r in entry.loaded.rules]


def _at(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %H:%M")


def _comments(task: Any) -> int:
    """How many comments the task has: those after it are the ones a cycle posted."""
    return sum(1 for s in task.stories if s.resource_subtype == "comment_added")


def _said(task: Any, before: int, lead: str) -> None:
    """The first comment posted on the task after its first ``before``, as posted (mention
    dropped), in the client's language."""
    posted = [s.text for s in task.stories if s.resource_subtype == "comment_added"]
    text = posted[before] if len(posted) > before else None
    if text is None:
        print(f"{lead}: nothing posted (see `delegator history`)")
        return
    shown = text.split(" ", 1)[1] if text.startswith("https://") else text
    print(f"  {lead}:\n      {shown}")


def _bounce_one(
    sandbox: SandboxServer, fleet: Fleet, entry: ClientEntry, skip: str, clock: ManualClock
) -> tuple[str, str, str, int] | None:
    """An assistant says "not for me" about one of their tasks, with the file's command: who,
    the task, the comment, and how many comments the task had with it."""
    head = entry.loaded.head
    assert head is not None
    command = head.bounce.command
    if not command:
        return None
    world = sandbox.world
    for delegation in fleet.store.delegations(entry.key):
        if delegation.task_gid == skip:
            continue
        task = world.task(delegation.task_gid)
        if task.assignee is None or task.assignee.gid != delegation.assignee_gid:
            continue
        reason = f"{command[:1].upper()}{command[1:]}: serve la firma del titolare"
        person = task.assignee
        world.comment(task, reason, by=person)
        before = _comments(task)
        clock.advance(minutes=2)
        fleet.cycle(entry, full=True)  # a comment command is looked for at whole reads
        return person.name, task.name, reason, before
    return None


def _undo_one(later: Fleet, fleet: Fleet, entry: ClientEntry) -> None:
    """The client takes back what a rule did to one task: `delegator undo --task GID`."""
    actions = later.store.actions(client=entry.key, kinds=("comment",))
    open_ = {d.task_gid for d in later.store.delegations(entry.key)}
    target = next((a for a in actions if a.status == "done" and a.task_gid in open_), None)
    if target is None:
        return
    print(f'  The client runs `delegator undo --task {target.task_gid}` for "{target.task_name}":')
    args = argparse.Namespace(
        task=target.task_gid, client=None, rule=None, cycle=None, since=None, dry_run=False,
        allow_again=False, json=False, no_color=True, color=False,
    )  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        run_undo_with(args, fleet.settings, fleet, [entry])
    for line in shown.getvalue().splitlines():
        print(f"      {line}")


def show_status_page(fleet: Fleet, entries: list[ClientEntry], *, serve: bool) -> None:
    """The status page over this run's store, on loopback: its address, an operator token and
    one link per client and per assistant; up until Ctrl-C with ``serve``."""
    _banner("The status page")
    settings = replace(
        fleet.settings, status_secret=secrets.token_urlsafe(32),
        status_operator_token=secrets.token_urlsafe(16), status_host="127.0.0.1", status_port=0,
    )  # fmt: skip
    store = fleet.store
    assert isinstance(store, SqlStore)
    secret = settings.status_secret
    assert secret is not None
    server = start_status_page(settings, store, lambda: entries, SystemClock().now)
    try:
        base = server.url.rstrip("/")
        print(f"  {base}/  (operator token: {settings.status_operator_token})")
        now = datetime.now(UTC)
        for entry in entries:
            head = entry.loaded.head
            if head is None:
                continue
            grants = [Grant(Role.CLIENT, entry.key, None, new_link_id(), now,
                            now + timedelta(days=1))]  # fmt: skip
            grants += [
                Grant(Role.ASSISTANT, entry.key, key, new_link_id(), now, now + timedelta(days=1))
                for key in head.assistants
            ]
            for grant in grants:
                kind: LinkKind = "client" if grant.role is Role.CLIENT else "assistant"
                store.record_link(LinkRecord(grant.link_id, kind, grant.client, grant.assistant,
                                             grant.issued_at, grant.expires_at, note="demo"))  # fmt: skip
                prefix = "/c/" if grant.role is Role.CLIENT else "/a/"
                who = entry.name if grant.assistant is None else f"{grant.assistant} ({entry.key})"
                print(f"  {who}: {base}{prefix}{sign_link(grant, secret)}")
        if not serve:
            print("  (up for this run only: `delegator demo --serve` leaves it up until Ctrl-C)")
            return
        print("  Up until Ctrl-C.")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print()
    finally:
        server.stop()


def show_webhooks(
    sandbox: SandboxServer, settings: Settings, environ: Mapping[str, str], rules_dir: Path
) -> None:
    """The service running with webhooks: a task created in Asana is delegated within seconds
    (the sandbox delivers to the receiver on loopback), timed."""
    _banner("Webhooks: a new task is delegated within seconds")
    hooked = replace(
        settings,
        webhooks_seal_key=secrets.token_urlsafe(32),
        webhooks_host="127.0.0.1",
        webhooks_port=0,
        http_port=0,
    )
    store = open_store(hooked)
    fleet = Fleet(hooked, store, environ=environ)
    service = Service(fleet, rules_dir)
    hooks = start_hooks(hooked, store, service.wake, loopback=True)
    fleet.subscriber = hooks.subscriber
    try:
        service.start()
        world = sandbox.world
        project = world.project(DEMO_PROJECT)
        if not _wait(lambda: any(h.resource is project for h in sandbox.webhooks.all()), 20):
            print("  The webhook was not set up in time; the poll would still find the task.")
            return
        print(
            f"  {len(sandbox.webhooks.all())} webhooks subscribed (one per watched project); "
            f"the receiver listens at {hooks.server.url}."
        )
        owner = world.user(DEMO_OWNER)
        started = time.monotonic()
        task = world.create_task(
            world.workspace_of(project) or world.workspace(DEMO_WORKSPACE),
            DEMO_TASK, by=owner, assignee=owner, memberships=[(project, None)],
        )  # fmt: skip
        print(f'  {owner.name} creates "{DEMO_TASK}" in {DEMO_PROJECT}.')
        if _wait(lambda: task.assignee is not None and task.assignee is not owner, 30):
            seconds = time.monotonic() - started
            who = task.assignee.name if task.assignee is not None else "?"
            poll = next((str(e.loaded.head.poll) for e in service.entries.values()
                         if e.loaded.head is not None), "its poll")  # fmt: skip
            print(
                f"  Delegated to {who} {seconds:.1f} s later (the webhook's delivery woke the "
                f"cycle after a {settings.webhooks_debounce.total_seconds():g} s debounce; "
                f"polling alone would have waited up to {poll})."
            )
        else:
            print("  Not delegated within 30 s: see `delegator status` for the webhooks.")
    finally:
        service.stop(grace=10)
        hooks.stop()


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _take_one_back(
    sandbox: SandboxServer, reports: list[CycleReport]
) -> tuple[str, str, str] | None:
    """The owner of the first client takes back its first delegated task, as a person would."""
    for report in reports:
        for item in report.tasks:
            if any(s.kind == "assign" and s.status == StepStatus.DONE for s in item.steps):
                world = sandbox.world
                task = world.task(item.task.gid)
                owner = (
                    world.user("anna@northwind.example")
                    if report.client == "small-agency"
                    else None
                )
                if owner is None:
                    continue
                world.assign(task, owner, by=owner)
                return item.task.name, report.client, owner.name
    return None


def show_suggestion(fleet: Fleet, entries: list[ClientEntry], client: str = "small-agency") -> None:
    """`delegator suggest` for Northwind: the first rule its past hand-offs suggest, scored."""
    entry = next((e for e in entries if e.key == client and e.loaded.head is not None), None)
    if entry is None:
        return
    head = entry.loaded.head
    assert head is not None
    _banner(f"{entry.name}: rules suggested from the owner's own history")
    since = datetime.now(UTC) - since_delta(DEFAULT_SINCE)
    try:
        history = history_source(fleet, entry).read_history(
            head.client.owner,
            {key: a.user for key, a in head.assistants.items()},
            since,
            max_tasks=MAX_TASKS,
            exclude=service_delegated(fleet.store, entry.key),
        )
        mined = suggest(
            entry.path.read_text(encoding="utf-8"), str(entry.path), history.examples,
            now=history.read_at, directory=history.directory,
        )  # fmt: skip
    except (ClientError, BackendError) as exc:
        print(f"  could not read the history: {exc}")
        return
    print(
        f"  The last six months: {mined.delegated} tasks handed off by hand, "
        f"{mined.kept} kept by the owner."
    )
    if not mined.suggestions:
        print("  No rule to suggest.")
        return
    # The narration is English; the rule's name and score are in the client's language.
    first = mined.suggestions[0]
    print(f'  "{first.name}" (mode: shadow)')
    print(f"    {first.score.said(head.client.voice)}")
    print(f"    {cost_line(history)}; all of it: delegator suggest --client {entry.key}")


def show_summaries(
    sandbox: SandboxServer, fleet: Fleet, entries: list[ClientEntry], reports: list[CycleReport]
) -> None:
    """An assistant finishes a task; then the first client's summary, as it is posted to Asana,
    and an assistant's digest."""
    entry = next((e for e in entries if e.loaded.head and e.loaded.head.summary), None)
    if entry is None:
        return
    report = next(r for r in reports if r.client == entry.key)
    finished = _finish_one(sandbox, fleet, report)
    if finished is not None:
        _banner("An assistant finishes a task")
        name, person = finished
        print(f'  {person} marks "{name}" complete in Asana.')
        fleet.cycle(entry)
        if isinstance(fleet.clock, ManualClock):
            fleet.clock.advance(minutes=1)  # the summary's period ends after that cycle
    summaries = fleet.summaries()
    period = summaries.preview_period(entry, timedelta(days=7))
    _banner(f"{entry.name}: the client's summary")
    rendered = summaries.render_summary(entry, period)
    print(f"# {rendered.title}\n")
    print(rendered.markdown.rstrip())
    outcomes = summaries.send_now(entry, period, kinds=("asana_status",))
    for outcome in outcomes:
        if outcome.status == "sent":
            update = sandbox.world.find(outcome.detail)
            where = getattr(getattr(update, "parent", None), "name", "the project")
            status = getattr(update, "status_type", "")
            print(f"\n  Posted to Asana as a status update on {where} ({status}).")
        else:
            print(f"\n  ! the status update was not posted: {outcome.detail}")
    head = entry.loaded.head
    assert head is not None
    loads = fleet.store.assistant_load(entry.key)
    busiest = max(head.assistants, key=lambda key: loads.get(key, 0), default=None)
    if busiest is not None:
        digest = summaries.render_digest(entry, busiest, period)
        _banner("An assistant's digest")
        print(f"# {digest.title}\n")
        print(digest.markdown.rstrip())


def _finish_one(
    sandbox: SandboxServer, fleet: Fleet, report: CycleReport
) -> tuple[str, str] | None:
    """The assistant of the first task still delegated (not taken back) completes it."""
    world = sandbox.world
    still = {d.task_gid: d for d in fleet.store.delegations(report.client, status="open")}
    for item in report.tasks:
        delegation = still.get(item.task.gid)
        task = world.task(item.task.gid)
        if delegation is None or task.assignee is None:
            continue
        if task.assignee.gid != delegation.assignee_gid:
            continue
        world.complete(task, by=task.assignee)
        return item.task.name, task.assignee.name
    return None
