"""The follow-up of delegated tasks end to end: the service against the sandbox over loopback,
with the clock moved: reminders at the assistant's working hours, escalation once, reassignment
after a second miss, "not for me" bounces, and the clock stopped by a completion.

The clock starts on Tuesday 2026-12-01 at 10:00 in Rome. The invoice rule of the agency example
gives "Send November receipts to the accountant" to Giulia (Mon-Fri 09:00-17:00, Rome) at the
first cycle, 10:01.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.core.expectations import Step
from delegator.cycles import Count
from delegator.sandbox import ManualClock, SandboxServer
from delegator.service import CycleReport
from delegator.settings import Settings
from delegator.store import SqlStore
from examplefiles import in_english

EXAMPLES = Path("examples")
ANNA = "anna@northwind.example"
GIULIA = "giulia@va-agency.example"
MARCO = "marco@va-agency.example"
RECEIPTS = "Send November receipts to the accountant"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome
INVOICE_RULE = "Invoices and receipts go to the assistants"


def rules_with(folder: Path, expect: str, *, extra_head: str = "") -> Path:
    """The agency example with ``expect`` (YAML lines, indented for a rule) on its invoice rule."""
    folder.mkdir(exist_ok=True)
    # In English: the comments are asserted as an English client reads them.
    text = in_english((EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8"))
    anchor = "    limit: 20\n    minutes: 15\n"
    assert anchor in text, "the invoice rule of the example changed: update this test"
    text = text.replace(anchor, anchor + expect)
    if extra_head:
        text = text.replace("\nrules:\n", f"\n{extra_head}\nrules:\n", 1)
    (folder / "small-agency.yaml").write_text(text, encoding="utf-8")
    return folder


def make_fleet(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> Fleet:
    environ = {"ASANA_TOKEN_NORTHWIND": sandbox.token(ANNA)}
    settings = Settings(rules_dir=rules_dir, asana_base_url=sandbox.base_url)
    return Fleet(settings, store, environ=environ, clock=clock)


def cycle_at(fleet: Fleet, clock: ManualClock, local: str, **options: bool) -> CycleReport:
    """One cycle of the agency at a local time in Rome, e.g. "2026-12-02 09:05"."""
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Europe/Rome"))
    now = clock.now()
    if moment > now:
        clock.advance(moment - now)
    entry = next(e for e in load_clients(fleet.settings.rules_dir) if e.key == "small-agency")
    report = fleet.cycle(entry, **options)
    return report


def delegated(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock, expect: str
) -> Fleet:
    """A fleet of the agency with ``expect`` on its invoice rule (its rule files in
    ``rules_dir``), after its first cycle at 10:01 on Tuesday."""
    fleet = make_fleet(sandbox, store, rules_with(rules_dir, expect), clock)
    cycle_at(fleet, clock, "2026-12-01 10:01")
    return fleet


def comments_on(sandbox: SandboxServer, name: str) -> list[str]:
    task = sandbox.world.task(name)
    return [s.text for s in task.stories if s.resource_subtype == "comment_added"]


def said(sandbox: SandboxServer, name: str, words: str) -> list[str]:
    return [c for c in comments_on(sandbox, name) if words in c]


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return tmp_path / "rules"


# ----------------------------------------------------------------------------- reminders


def test_a_reminder_waits_for_the_assistants_next_working_hour(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    # acknowledged within 8 working hours of 10:01 Tuesday: Wednesday is a holiday for this
    # client, so the deadline is Thursday 10:01 and the reminder is due from Tuesday 16:01, but
    # Giulia works 09:00-17:00: not at 18:00, not on the holiday, not before 09:00 Thursday.
    expect = "    expect:\n      acknowledged_within: 8h\n      remind_before: 2h\n"
    folder = rules_with(rules_dir, expect)
    text = (folder / "small-agency.yaml").read_text(encoding="utf-8")
    (folder / "small-agency.yaml").write_text(
        text.replace("holidays: [2026-12-08,", "holidays: [2026-12-02, 2026-12-08,"), "utf-8"
    )
    fleet = make_fleet(sandbox, store, folder, clock)
    first = cycle_at(fleet, clock, "2026-12-01 10:01")
    assert first.errors == []
    task = sandbox.world.task(RECEIPTS)
    assert task.assignee is not None
    assert task.assignee.email == GIULIA
    for moment in ("2026-12-01 15:00", "2026-12-01 18:00", "2026-12-02 10:00", "2026-12-03 08:30"):
        report = cycle_at(fleet, clock, moment)
        assert report.errors == [], moment
        assert said(sandbox, RECEIPTS, "Reminder") == [], f"reminded at {moment}"
    report = cycle_at(fleet, clock, "2026-12-03 09:05")
    assert report.counts[Count.REMINDERS] >= 1
    [reminder] = said(sandbox, RECEIPTS, "Reminder")
    assert "acknowledged" in reminder
    assert "Thu 03 Dec 10:01" in reminder
    story = next(s for s in task.stories if s.text == reminder)
    giulia = sandbox.world.user(GIULIA)
    assert giulia.gid in (story.html_text or ""), "the reminder does not mention Giulia"
    # once
    cycle_at(fleet, clock, "2026-12-03 09:30")
    assert len(said(sandbox, RECEIPTS, "Reminder")) == 1
    rows = store.followups("small-agency", task_gids=[task.gid], steps=[Step.REMINDER])
    assert [(r.stage, r.status) for r in rows] == [("acknowledged", "done")]


def test_an_acknowledgement_stops_the_reminder(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    fleet = delegated(
        sandbox, store, rules_dir, clock, "    expect:\n      acknowledged_within: 4h\n"
    )
    task = sandbox.world.task(RECEIPTS)
    sandbox.world.comment(task, "On it!", by=sandbox.world.user(GIULIA))
    report = cycle_at(fleet, clock, "2026-12-01 13:30")  # the reminder would be due at 13:01
    assert report.errors == []
    cycle_at(fleet, clock, "2026-12-01 15:00")  # and past the deadline: nothing either
    assert said(sandbox, RECEIPTS, "Reminder") == []
    assert said(sandbox, RECEIPTS, "has not") == []
    [met] = store.followups("small-agency", task_gids=[task.gid], steps=[Step.MET])
    assert met.stage == "acknowledged"
    assert store.followups("small-agency", task_gids=[task.gid], steps=[Step.REMINDER]) == []


# ----------------------------------------------------------------------------- escalation


def test_a_missed_expectation_escalates_once_to_the_owner(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    fleet = delegated(
        sandbox, store, rules_dir, clock, "    expect:\n      acknowledged_within: 4h\n"
    )
    cycle_at(fleet, clock, "2026-12-01 13:30")
    assert len(said(sandbox, RECEIPTS, "Reminder")) == 1
    report = cycle_at(fleet, clock, "2026-12-01 14:05")
    assert report.errors == []
    assert report.counts[Count.ESCALATIONS] >= 1
    task = sandbox.world.task(RECEIPTS)
    [escalation] = said(sandbox, RECEIPTS, "has not acknowledged")
    assert "Giulia Bianchi has not acknowledged this task" in escalation
    anna = sandbox.world.user(ANNA)
    assert anna in task.followers
    assert "late" in {t.name for t in task.tags}
    # again, and after a restart (a new fleet: nothing in memory): nothing more
    cycle_at(fleet, clock, "2026-12-01 15:00")
    restarted = make_fleet(sandbox, store, rules_dir, clock)
    cycle_at(restarted, clock, "2026-12-01 16:00", full=True)
    assert len(said(sandbox, RECEIPTS, "has not acknowledged")) == 1
    history = [a.kind for a in store.actions(client="small-agency", task_gid=task.gid)]
    assert history.count("escalate") == 1
    assert history.count("remind") == 1


def test_an_escalation_does_what_the_rule_says_and_the_summary_tells_it(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    expect = (
        "    expect:\n      acknowledged_within: 2h\n      started_within: 4h\n"
        "      escalate_to: marco\n      escalate: [comment, summary]\n"
    )
    fleet = delegated(sandbox, store, rules_dir, clock, expect)
    cycle_at(fleet, clock, "2026-12-01 12:05")
    task = sandbox.world.task(RECEIPTS)
    marco = sandbox.world.user(MARCO)
    [escalation] = said(sandbox, RECEIPTS, "has not acknowledged")
    story = next(s for s in task.stories if s.text == escalation)
    assert marco.gid in (story.html_text or ""), "the escalation does not mention Marco"
    assert "Escalated to you as the task's owner" not in escalation
    assert marco not in task.followers
    assert "late" not in {t.name for t in task.tags}
    clock.advance(minutes=1)
    entry = next(e for e in load_clients(rules_dir) if e.key == "small-agency")
    summaries = fleet.summaries()
    summary = summaries.render_summary(entry, summaries.preview_period(entry, timedelta(days=1)))
    assert "Missed expectations" in summary.markdown
    assert RECEIPTS in summary.markdown.split("Missed expectations", 1)[1]


def test_an_escalation_left_out_of_the_summary_is_not_in_it(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    expect = "    expect:\n      acknowledged_within: 2h\n      escalate: [comment, tag]\n"
    fleet = delegated(sandbox, store, rules_dir, clock, expect)
    cycle_at(fleet, clock, "2026-12-01 12:05")
    assert said(sandbox, RECEIPTS, "has not acknowledged")
    assert "late" in {t.name for t in sandbox.world.task(RECEIPTS).tags}
    clock.advance(minutes=1)
    entry = next(e for e in load_clients(rules_dir) if e.key == "small-agency")
    summaries = fleet.summaries()
    summary = summaries.render_summary(entry, summaries.preview_period(entry, timedelta(days=1)))
    assert "Missed expectations" not in summary.markdown


def test_two_replicas_escalate_once(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    folder = rules_with(rules_dir, "    expect:\n      acknowledged_within: 4h\n")
    first = make_fleet(sandbox, store, folder, clock)
    cycle_at(first, clock, "2026-12-01 10:01")
    clock.advance(timedelta(hours=5))
    second = make_fleet(sandbox, store, folder, clock)
    entry = next(e for e in load_clients(folder) if e.key == "small-agency")
    barrier = threading.Barrier(4)
    reports: list[CycleReport] = []

    def run(fleet: Fleet) -> None:
        barrier.wait()
        reports.append(fleet.cycle(entry, full=True))

    threads = [threading.Thread(target=run, args=(f,)) for f in (first, second, first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == 4
    assert len(said(sandbox, RECEIPTS, "has not acknowledged")) == 1
    task = sandbox.world.task(RECEIPTS)
    rows = store.followups("small-agency", task_gids=[task.gid], steps=[Step.ESCALATION])
    assert [(r.stage, r.status) for r in rows] == [("acknowledged", "done")]


def test_an_escalation_cut_short_is_carried_on_without_a_second_comment(
    sandbox: SandboxServer,
    store: SqlStore,
    rules_dir: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet = delegated(
        sandbox, store, rules_dir, clock, "    expect:\n      acknowledged_within: 4h\n"
    )
    cycle_at(fleet, clock, "2026-12-01 13:30")
    task = sandbox.world.task(RECEIPTS)
    # The comment is posted, then Asana fails on the tag (500, every attempt): the escalation
    # stays claimed and pending.
    world = sandbox.world
    add_tag = world.add_tag

    def failing(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("Asana is having a bad day")

    monkeypatch.setattr(world, "add_tag", failing)
    broken = cycle_at(fleet, clock, "2026-12-01 14:05")
    assert broken.counts[Count.FOLLOWUPS_FAILED] >= 1
    assert any("follow-up" in e for e in broken.errors)
    assert len(said(sandbox, RECEIPTS, "has not acknowledged")) == 1
    [pending] = store.followups("small-agency", task_gids=[task.gid], steps=[Step.ESCALATION])
    assert pending.status == "pending"
    monkeypatch.setattr(world, "add_tag", add_tag)
    report = cycle_at(fleet, clock, "2026-12-01 14:10")
    assert report.errors == []
    assert len(said(sandbox, RECEIPTS, "has not acknowledged")) == 1
    [done] = store.followups("small-agency", task_gids=[task.gid], steps=[Step.ESCALATION])
    assert done.status == "done"
    [story] = [s for s in task.stories if "has not acknowledged" in s.text]
    assert done.story_gid == story.gid
    assert "late" in {t.name for t in task.tags}


def test_a_lost_answer_to_an_escalation_comment_posts_it_once(
    sandbox: SandboxServer,
    store: SqlStore,
    rules_dir: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet = delegated(
        sandbox, store, rules_dir, clock, "    expect:\n      acknowledged_within: 4h\n"
    )
    task = sandbox.world.task(RECEIPTS)
    world = sandbox.world
    post = world.comment

    def comment_then_fail(*args: object, **kwargs: object) -> object:
        post(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("the answer is lost after the comment was posted")

    monkeypatch.setattr(world, "comment", comment_then_fail)
    report = cycle_at(fleet, clock, "2026-12-01 14:05")
    assert report.errors == []
    assert len(said(sandbox, RECEIPTS, "has not acknowledged")) == 1
    [done] = store.followups("small-agency", task_gids=[task.gid], steps=[Step.ESCALATION])
    assert done.status == "done"


def test_a_completed_task_stops_the_clock(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    fleet = delegated(sandbox, store, rules_dir, clock, "    expect:\n      done_within: 4h\n")
    task = sandbox.world.task(RECEIPTS)
    sandbox.world.complete(task, by=sandbox.world.user(GIULIA))
    for moment in ("2026-12-01 13:30", "2026-12-01 14:30", "2026-12-02 10:00"):
        cycle_at(fleet, clock, moment, full=True)
    assert said(sandbox, RECEIPTS, "Reminder") == []
    assert said(sandbox, RECEIPTS, "has not") == []
    assert store.delegations("small-agency", status="done")


def test_taken_back_stops_the_clock(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    fleet = delegated(
        sandbox, store, rules_dir, clock, "    expect:\n      acknowledged_within: 4h\n"
    )
    task = sandbox.world.task(RECEIPTS)
    anna = sandbox.world.user(ANNA)
    sandbox.world.assign(task, anna, by=anna)
    for moment in ("2026-12-01 13:30", "2026-12-01 14:30"):
        cycle_at(fleet, clock, moment)
    assert said(sandbox, RECEIPTS, "Reminder") == []
    assert said(sandbox, RECEIPTS, "has not") == []


# ----------------------------------------------------------------------------- reassignment


def test_a_second_miss_reassigns_within_the_pool(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    expect = (
        "    expect:\n      acknowledged_within: 2h\n      started_within: 4h\n"
        "      reassign: true\n"
    )
    fleet = delegated(sandbox, store, rules_dir, clock, expect)
    task = sandbox.world.task(RECEIPTS)
    first_miss = cycle_at(fleet, clock, "2026-12-01 12:05")
    assert first_miss.errors == []
    assert store.delegations("small-agency", task_gids=[task.gid])[0].assistant == "giulia"
    second = cycle_at(fleet, clock, "2026-12-01 14:05")
    assert second.errors == []
    steps = [(r.stage, r.step.value) for r in store.followups("small-agency", task_gids=[task.gid])
             if r.step is not Step.MET]  # fmt: skip
    assert steps == [
        ("acknowledged", "escalation"), ("started", "escalation"), ("started", "reassign"),
    ]  # fmt: skip
    assert task.assignee is not None
    assert task.assignee.email == MARCO
    [note] = said(sandbox, RECEIPTS, "Reassigned to you")
    assert "Giulia Bianchi missed two expectations" in note
    [open_] = store.delegations("small-agency", task_gids=[task.gid])
    assert open_.assistant == "marco"
    assert open_.status == "open"
    assert [d.status for d in store.delegations("small-agency", None, [task.gid])] == [
        "reassigned",
        "open",
    ]
    # Marco's clock starts over: nothing is due for him at once, and Giulia's misses are not his.
    third = cycle_at(fleet, clock, "2026-12-01 14:10")
    assert third.counts[Count.ESCALATIONS] == 0
    assert third.counts[Count.REASSIGNED] == 0


# ----------------------------------------------------------------------------- bounces


def test_a_bounce_by_tag_returns_the_task_and_the_rule_leaves_it_alone(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    fleet = delegated(sandbox, store, rules_dir, clock, "")
    world = sandbox.world
    task = world.task(RECEIPTS)
    giulia = world.user(GIULIA)
    # The example's assistants bounce with the tag "non-per-me" (its bounce: settings).
    world.add_tag(task, world.tag("non-per-me") if _has_tag(sandbox, "non-per-me")
                  else world.create_tag(task.workspace, "non-per-me"), by=giulia)  # fmt: skip
    report = cycle_at(fleet, clock, "2026-12-01 10:30")
    assert report.errors == []
    assert report.counts[Count.BOUNCES] == 1
    assert report.counts[Count.OVERRIDES] == 0
    assert task.assignee is not None
    assert task.assignee.email == ANNA
    assert "delegated" not in {t.name for t in task.tags}
    [note] = said(sandbox, RECEIPTS, "not for them")
    assert "Giulia Bianchi says this task is not for them. It is back with you" in note
    [override] = store.overrides("small-agency")
    assert override.task_gid == task.gid
    assert override.reason == "bounced by Giulia Bianchi"
    [closed] = store.delegations("small-agency", None, [task.gid])
    assert closed.status == "bounced"
    sandbox.requests.reset()
    cycle_at(fleet, clock, "2026-12-01 10:35", full=True)
    cycle_at(fleet, clock, "2026-12-01 10:40")
    posted = [
        f"{e.method} {e.path}"
        for e in sandbox.requests.entries()
        if e.method in ("POST", "PUT", "DELETE") and e.path != "/batch"  # a batch: its reads
    ]
    assert posted == [], "the rule took the bounced task again"
    assert task.assignee is not None
    assert task.assignee.email == ANNA


def test_a_bounce_by_comment_carries_the_reason_and_can_go_to_the_next_assistant(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    fleet = delegated(sandbox, store, rules_dir, clock, "    on_bounce: next_assistant\n")
    world = sandbox.world
    task = world.task(RECEIPTS)
    # The example's command is Italian: "non fa per me", case and accents ignored.
    clock.advance(minutes=5)
    world.comment(task, "Non fa per me: the accountant wants it from Anna directly",
                  by=world.user(GIULIA))  # fmt: skip
    report = cycle_at(fleet, clock, "2026-12-01 15:00", full=True)  # Marco works from 14:00 UTC+0
    assert report.errors == []
    assert report.counts[Count.BOUNCES] == 1
    assert task.assignee is not None
    assert task.assignee.email == MARCO
    [note] = said(sandbox, RECEIPTS, "passed this task on")
    assert "the accountant wants it from Anna directly" in note
    [bounce] = store.followups("small-agency", steps=[Step.BOUNCE])
    assert bounce.detail["reason"] == "the accountant wants it from Anna directly"
    assert bounce.status == "done"
    assert bounce.detail["to"] == "marco"
    [open_] = store.delegations("small-agency", task_gids=[task.gid])
    assert open_.assistant == "marco"
    assert store.overrides("small-agency") == []
    # Marco bounces it too: nobody else in the pool, so it goes back to Anna.
    clock.advance(minutes=5)
    world.comment(task, "non fa per me neanche", by=world.user(MARCO))
    again = cycle_at(fleet, clock, "2026-12-01 15:30", full=True)
    assert again.counts[Count.BOUNCES] == 1
    assert task.assignee is not None
    assert task.assignee.email == ANNA
    assert len(store.overrides("small-agency")) == 1


def test_a_bounce_by_comment_is_seen_at_the_next_cycle_and_an_idle_one_reads_nothing(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    """A comment moves its task's modified_at (Asana's spec for tasks): a task in a watched
    project is read at the next cycle, and its activity with it, not an hour later."""
    fleet = delegated(sandbox, store, rules_dir, clock, "")
    back = cycle_at(fleet, clock, "2026-12-01 10:03")  # its own writes read back
    assert back.counts[Count.TASKS_SEEN] > 0
    assert back.counts[Count.ACTIVITY_READS] == 0, "the service's own writes taken for news"
    sandbox.requests.reset()
    idle = cycle_at(fleet, clock, "2026-12-01 10:05")
    assert idle.counts[Count.ACTIVITY_READS] == 0
    assert idle.requests == 3  # one per watched source
    world = sandbox.world
    task = world.task(RECEIPTS)
    world.comment(task, "Non fa per me: serve la firma del titolare", by=world.user(GIULIA))
    report = cycle_at(fleet, clock, "2026-12-01 10:10")  # an incremental read
    assert report.counts[Count.ACTIVITY_READS] == 1
    assert report.counts[Count.BOUNCES] == 1
    assert task.assignee is not None
    assert task.assignee.email == ANNA


def _has_tag(sandbox: SandboxServer, name: str) -> bool:
    try:
        sandbox.world.tag(name)
    except Exception:
        return False
    return True


@pytest.fixture(autouse=True)
def _no_leftover(tmp_path: Path) -> Iterator[None]:
    yield
    shutil.rmtree(tmp_path / "rules", ignore_errors=True)
