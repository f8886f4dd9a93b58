"""The delegation cycle end to end: the service against the sandbox over loopback, a real store.

Time is pinned: the sandbox's world (its relative due dates, modified_at, rate windows) and the
service (its cycles, the client's budget and waits) share one manual clock, starting on a Tuesday
at 10:00 in Rome, when Giulia is working and Marco (from 14:00 in Lisbon) is not yet. Each cycle
starts a minute after the one before.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.cycles import Count
from delegator.sandbox import ManualClock, SandboxServer
from delegator.service import QUEUE_TAG, CycleReport
from delegator.settings import Settings
from delegator.store import SqlStore

EXAMPLES = Path("examples")
ANNA = "anna@northwind.example"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("small-agency.yaml", "solo-consultant.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


def make_fleet(sandbox: SandboxServer, store: SqlStore, rules_dir: Path, **tokens: str) -> Fleet:
    environ = {
        "ASANA_TOKEN_NORTHWIND": sandbox.token(ANNA),
        "ASANA_TOKEN_FISCHER": sandbox.token("lena@fischer-consulting.example"),
        **tokens,
    }
    settings = Settings(rules_dir=rules_dir, asana_base_url=sandbox.base_url)
    return Fleet(settings, store, environ=environ, clock=_clocks[sandbox])


_clocks: dict[SandboxServer, ManualClock] = {}


@pytest.fixture(autouse=True)
def _remember_clock(sandbox: SandboxServer, clock: ManualClock) -> Iterator[None]:
    _clocks[sandbox] = clock
    yield
    del _clocks[sandbox]


def cycle(fleet: Fleet, key: str = "small-agency", **options: bool) -> CycleReport:
    """One cycle of one client, a minute after the previous one."""
    _clocks_of(fleet).advance(minutes=1)
    entry = next(e for e in load_clients(fleet.settings.rules_dir) if e.key == key)
    return fleet.cycle(entry, **options)


def _clocks_of(fleet: Fleet) -> ManualClock:
    shared = fleet.clock
    assert isinstance(shared, ManualClock)
    return shared


def writes(sandbox: SandboxServer) -> list[str]:
    """The writes sent, a batch's own ones included (the batch itself is logged apart)."""
    return [
        f"{e.method} {e.path}"
        for e in sandbox.requests.entries()
        if e.method in ("POST", "PUT") and e.path != "/batch"
    ]


def comments_on(sandbox: SandboxServer, task_name: str) -> list[str]:
    task = sandbox.world.task(task_name)
    return [s.text for s in task.stories if s.resource_subtype == "comment_added"]


def test_tasks_are_delegated_by_rule_and_quadrant(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    report = cycle(fleet)
    assert report.errors == []
    invoice = sandbox.world.task("Send November receipts to the accountant")
    assert invoice.assignee is not None
    assert invoice.assignee.email == "giulia@va-agency.example"  # working now; Marco is not
    assert "delegated" in {t.name for t in invoice.tags}
    [comment] = comments_on(sandbox, "Send November receipts to the accountant")
    assert comment.startswith(f"Ciao {invoice.assignee.name.split()[0]}, questa la segui tu")
    strategy = sandbox.world.task("Q1 strategy offsite agenda")
    assert strategy.assignee is not None
    assert strategy.assignee.email == ANNA
    delegated = {d.task_gid for d in store.delegations("small-agency")}
    assert invoice.gid in delegated
    assert report.counts[Count.ACTIONS_DONE] >= 3


def test_a_second_cycle_writes_nothing(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    cycle(fleet)
    sandbox.requests.reset()
    second = cycle(fleet)
    assert writes(sandbox) == []
    assert second.counts[Count.ACTIONS_DONE] == 0
    third = cycle(fleet, full=True)
    assert third.counts[Count.ACTIONS_DONE] == 0
    assert writes(sandbox) == []


def test_an_idle_cycle_costs_one_request_per_watched_source(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    cycle(fleet)
    cycle(fleet)  # reads back its own writes once
    sandbox.requests.reset()
    report = cycle(fleet)
    assert report.requests == 3  # my tasks, Operations, Client Admin
    assert sum(sandbox.requests.counts().values()) == 3


def test_dry_run_writes_nothing(sandbox: SandboxServer, store: SqlStore, rules_dir: Path) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    report = cycle(fleet, dry_run=True)
    assert writes(sandbox) == []
    planned = [t for t in report.tasks if any(s.status == "planned" for s in t.steps)]
    assert planned, "the dry run planned nothing"
    assert store.actions(client="small-agency") == []


def test_a_person_taking_a_task_back_is_respected(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    cycle(fleet)
    world = sandbox.world
    task = world.task("Send November receipts to the accountant")
    anna = world.user(ANNA)
    world.assign(task, anna, by=anna)
    report = cycle(fleet)
    [override] = report.overrides
    assert override.reason == "taken back by Anna Rossi"
    assert [o.task_gid for o in store.overrides("small-agency")] == [task.gid]
    sandbox.requests.reset()
    cycle(fleet, full=True)
    assert all(task.gid not in w for w in writes(sandbox))
    assert world.task(task.gid).assignee is anna


def test_removing_the_service_tag_is_an_override(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    cycle(fleet)
    world = sandbox.world
    task = world.task("Send November receipts to the accountant")
    world.remove_tag(task, world.tag("delegated"), by=world.user(ANNA))
    report = cycle(fleet)
    assert [o.reason for o in report.overrides] == ["tag delegated removed"]
    cycle(fleet, full=True)
    assert "delegated" not in {t.name for t in world.task(task.gid).tags}


def assistants_with_room_for_one(rules_dir: Path) -> None:
    """The agency's assistants take one task each: the rest overflows into the queue."""
    path = rules_dir / "small-agency.yaml"
    text = (
        path.read_text()
        .replace("capacity: 25", "capacity: 1")
        .replace("capacity: 10", "capacity: 1")
    )
    path.write_text(text)


def test_capacity_is_honoured_and_overflow_is_queued(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    assistants_with_room_for_one(rules_dir)
    fleet = make_fleet(sandbox, store, rules_dir)
    report = cycle(fleet)
    load = store.assistant_load("small-agency")
    assert all(count <= 1 for count in load.values())
    queued = [t for t in report.tasks if any(s.status == "queued" for s in t.steps)]
    assert queued, "nothing was queued although capacity ran out"
    for item in queued:
        assert QUEUE_TAG in {t.name for t in sandbox.world.task(item.task.gid).tags}
    sandbox.requests.reset()
    again = cycle(fleet)
    assert (
        again.counts[Count.ACTIONS_DONE] == 0
    )  # still full: queued tasks wait, nothing re-written


def test_a_comment_is_posted_once_across_a_crash(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    world = sandbox.world
    task = world.task("Reconcile expenses for October")
    anna = world.user(ANNA)
    # A previous run wrote its intent, posted the comment, and died before completing the entry.
    text = "Hi Giulia, this one is yours now."
    action = store.begin_action(
        cycle_id=None, client="small-agency", task_gid=task.gid, task_name=task.name,
        rule="Invoices and receipts go to the assistants", kind="comment",
        detail={"text": text}, assistant="giulia", mode="active", at=START,
    )  # fmt: skip
    world.comment(task, text, by=anna)
    # ...and the crash: store.finish_action(action, ...) never ran.
    cycle(fleet)
    [recovered] = [
        a for a in store.actions(client="small-agency", task_gid=task.gid) if a.id == action
    ]
    assert (recovered.status, recovered.result) == ("done", "found after a restart")
    assert len(comments_on(sandbox, task.name)) == 1


def test_rate_limits_and_server_errors_lose_nothing_and_duplicate_nothing(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    token = sandbox.token(ANNA)
    sandbox.faults.rate_limit(token, 20)  # a 429 storm: a cycle needs more than that
    sandbox.faults.fail_next(token, 2)  # and a run of server errors
    fleet = make_fleet(sandbox, store, rules_dir)
    # Cycles go on under the storm: a cycle Asana stops (too many 429s in a row) ends, is
    # reported, and the next one carries on from the journal.
    for _ in range(6):
        cycle(fleet)
    assert max(clock.slept) >= 1  # it waited as Asana asked (Retry-After)
    sandbox.faults.clear()
    final = cycle(fleet, full=True)
    assert final.counts[Count.ACTIONS_DONE] == 0, "work was left undone: an action was lost"
    delegated = {d.task_gid for d in store.delegations("small-agency")}
    assert len(delegated) == 13  # as many as without any fault, on this Tuesday
    for gid in delegated:
        task = sandbox.world.task(gid)
        assert task.assignee is not None
        assert task.assignee.email != ANNA
        assert len(comments_on(sandbox, task.name)) <= 1  # never twice


def test_a_revoked_token_stops_only_its_client(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    sandbox.faults.revoke(sandbox.token("lena@fischer-consulting.example"))
    fleet = make_fleet(sandbox, store, rules_dir)
    reports = {r.client: r for r in fleet.cycle_all(load_clients(rules_dir))}
    assert reports["solo-consultant"].counts[Count.CLIENT_FAILED] == 1
    assert (
        "401" in reports["solo-consultant"].errors[0]
        or "nauthori" in reports["solo-consultant"].errors[0]
    )
    assert sandbox.token("lena@fischer-consulting.example") not in " ".join(
        reports["solo-consultant"].errors
    )
    assert reports["small-agency"].counts[Count.ACTIONS_DONE] > 0


def test_an_invalid_rule_file_is_reported_while_the_others_run(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    (rules_dir / "broken.yaml").write_text("version: 1\nclient: {name: x}\n")
    fleet = make_fleet(sandbox, store, rules_dir)
    reports = {r.client: r for r in fleet.cycle_all(load_clients(rules_dir))}
    assert reports["broken"].counts[Count.CLIENT_FAILED] == 1
    assert "the rule file has errors" in reports["broken"].errors[0]
    assert reports["small-agency"].counts[Count.ACTIONS_DONE] > 0


def test_a_missing_token_names_the_variable(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    fleet.environ = {}
    report = cycle(fleet)
    assert report.errors == ["the environment variable ASANA_TOKEN_NORTHWIND is not set"]


def test_completed_delegations_free_the_assistant_at_the_next_reconcile(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    cycle(fleet, key="solo-consultant")
    before = store.assistant_load("solo-consultant")["sam"]
    world = sandbox.world
    [first, *_] = store.delegations("solo-consultant")
    world.complete(world.task(first.task_gid), by=world.user("sam@va-desk.example"))
    cycle(fleet, key="solo-consultant")  # incremental: the task left Lena's My Tasks
    report = cycle(fleet, key="solo-consultant", full=True)
    assert report.counts[Count.DELEGATIONS_CHECKED] == before
    assert store.assistant_load("solo-consultant")["sam"] == before - 1
    assert first.task_gid not in {d.task_gid for d in store.delegations("solo-consultant")}


def test_tasks_held_back_by_a_limit_are_taken_in_the_next_cycles(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    path = rules_dir / "small-agency.yaml"
    path.write_text(path.read_text().replace("    limit: 20\n", "    limit: 2\n"))
    fleet = make_fleet(sandbox, store, rules_dir)
    first = cycle(fleet)
    assert first.counts[Count.HELD_BACK] > 0
    rule = "Invoices and receipts go to the assistants"
    taken = [len([d for d in store.delegations("small-agency") if d.rule == rule])]
    for _ in range(3):
        cycle(fleet)
        taken.append(len([d for d in store.delegations("small-agency") if d.rule == rule]))
    assert taken == [2, 4, 4, 4]  # two per cycle until the four matching tasks are done


def test_a_deleted_delegation_frees_its_assistant_once_and_is_never_counted_done(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    cycle(fleet, key="solo-consultant")
    before = store.assistant_load("solo-consultant")["sam"]
    world = sandbox.world
    [first, *_] = store.delegations("solo-consultant")
    world.delete_task(world.task(first.task_gid), by=world.user("lena@fischer-consulting.example"))
    cycle(fleet, key="solo-consultant")
    report = cycle(fleet, key="solo-consultant", full=True)
    assert report.errors == []
    assert report.counts[Count.DELEGATIONS_DELETED] == 1
    assert store.assistant_load("solo-consultant")["sam"] == before - 1
    [closed] = [d for d in store.delegations("solo-consultant", status=None)
                if d.task_gid == first.task_gid]  # fmt: skip
    assert closed.status == "deleted"
    again = cycle(fleet, key="solo-consultant", full=True)
    assert again.counts[Count.DELEGATIONS_DELETED] == 0  # reported once
    [release] = store.actions(client="solo-consultant", task_gid=first.task_gid, kinds=("release",))
    assert "deleted" in (release.result or "")
    # The summary lists it as a problem, not as done.
    entry = next(e for e in load_clients(rules_dir) if e.key == "solo-consultant")
    summaries = fleet.summaries()
    summary = summaries.summary(entry, summaries.preview_period(entry, None))
    assert first.task_gid not in {d.gid for d in summary.done}
    assert any(first.task_name in p.text and p.what == "task" for p in summary.problems)


def test_a_delegation_the_token_can_no_longer_see_is_closed_as_no_access(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    fleet = make_fleet(sandbox, store, rules_dir)
    cycle(fleet, key="solo-consultant")
    world = sandbox.world
    [first, *_] = store.delegations("solo-consultant")
    task = world.task(first.task_gid)
    lena = world.user("lena@fischer-consulting.example")
    hidden = world.add_project(
        task.workspace, "Sam's own", public=False, owner=world.user("sam@va-desk.example")
    )
    for membership in list(task.memberships):
        world.remove_from_project(task, membership.project)
    world.add_to_project(task, hidden)
    task.created_by = None
    task.followers = [f for f in task.followers if f is not lena]
    cycle(fleet, key="solo-consultant")
    report = cycle(fleet, key="solo-consultant", full=True)
    assert report.counts[Count.DELEGATIONS_NO_ACCESS] == 1
    [closed] = [d for d in store.delegations("solo-consultant", status=None)
                if d.task_gid == first.task_gid]  # fmt: skip
    assert closed.status == "no_access"


def test_a_queued_task_that_is_deleted_leaves_the_queue_with_its_reason(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    assistants_with_room_for_one(rules_dir)
    fleet = make_fleet(sandbox, store, rules_dir)
    report = cycle(fleet)
    queued = [t.task.gid for t in report.tasks if any(s.status == "queued" for s in t.steps)]
    assert queued
    world = sandbox.world
    gone = world.task(queued[0])
    world.delete_task(gone, by=world.user(ANNA))
    after = cycle(fleet)
    assert after.counts[Count.QUEUE_DROPPED] == 1
    assert not [e for e in after.errors if queued[0] in e]
    [dropped, *_] = store.actions(client="small-agency", task_gid=queued[0], kinds=("queue",))
    assert dropped.status == "skipped"
    assert "deleted" in (dropped.result or "")
    later = cycle(fleet)
    assert later.errors == []
    assert later.counts[Count.QUEUE_DROPPED] == 0


def test_a_task_the_service_created_is_never_delegated(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    world = sandbox.world
    anna = world.user(ANNA)
    # A digest posted as a task in a watched project, named like work the rules delegate.
    operations = world.project("Operations")
    posted = world.create_task(
        operations.workspace,
        "Send the receipts digest to the accountant",
        by=anna,
        assignee=anna,
        memberships=[(operations, None)],
    )
    now = _clocks[sandbox].now()
    send = store.claim_send(
        client="small-agency", kind="summary", recipient="", destination="asana_task:Operations",
        period=now, period_start=now, at=now,
    )  # fmt: skip
    assert send is not None
    store.finish_send(send, "sent", now, receipt=posted.gid)
    fleet = make_fleet(sandbox, store, rules_dir)
    report = cycle(fleet, full=True)
    assert report.counts[Count.OWN_TASKS_SKIPPED] >= 1  # seen in My Tasks and in the project
    assert world.task(posted.gid).assignee is anna
    assert posted.gid not in {d.task_gid for d in store.delegations("small-agency")}


def test_a_rotated_token_file_is_read_again_after_a_401_without_a_restart(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "northwind-token"
    old = sandbox.token(ANNA)
    secret.write_text(old + "\n")
    path = rules_dir / "small-agency.yaml"
    path.write_text(
        path.read_text().replace("{ env: ASANA_TOKEN_NORTHWIND }", f"{{ file: {secret} }}")
    )
    fleet = make_fleet(sandbox, store, rules_dir)
    assert cycle(fleet).errors == []
    world = sandbox.world
    anna = world.user(ANNA)
    world.add_user(anna.workspaces[0], anna.name, ANNA, tokens=["rotated-northwind-token"])
    sandbox.faults.revoke(old)
    secret.write_text("rotated-northwind-token\n")
    report = cycle(fleet)
    assert report.result == "ok", report.errors
    refused = [e for e in sandbox.requests.entries() if e.status == 401]
    assert len(refused) == 1  # one 401, then the new secret from the file


def test_a_secret_pulled_into_a_comment_by_a_template_is_redacted_before_it_is_posted(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path
) -> None:
    from delegator.redact import register_secret

    secret = "xoxb-1234567890-template-leak"
    register_secret(secret)
    path = rules_dir / "solo-consultant.yaml"
    path.write_text(
        path.read_text().replace(
            "could you book this? {{ task.permalink_url }}",
            "could you book this? {{ task.notes }}",
        )
    )
    world = sandbox.world
    lena = world.user("lena@fischer-consulting.example")
    task = next(t for t in world.all_tasks() if t.name == "Book a venue for the Kessler kick-off")
    world.update_task(task, notes=f"the venue's API key is {secret}", by=lena)
    fleet = make_fleet(sandbox, store, rules_dir)
    cycle(fleet, key="solo-consultant")
    [comment] = comments_on(sandbox, task.gid)
    assert secret not in comment
    assert "[redacted]" in comment
