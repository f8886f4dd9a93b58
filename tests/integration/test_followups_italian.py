"""The follow-up of an Italian client end to end, against the sandbox over loopback: the reminder,
the escalation and the bounce written in Italian, each posted once, also when Asana answers 500
after posting the comment or fails on the write after it (the comment found again by its end,
whatever the mention became), with an assistant's name full of specials.

The agency example with ``client.language: it``; the clock of tests/integration/test_followups.py
(Tuesday 2026-12-01, the invoice rule gives the receipts task to Giulia at 10:01 in Rome).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_followups import (
    GIULIA,
    INVOICE_RULE,
    RECEIPTS,
    START,
    comments_on,
    cycle_at,
    make_fleet,
    rules_with,
    said,
)

from delegator.bootstrap import Fleet
from delegator.core.expectations import Step
from delegator.cycles import Count
from delegator.sandbox import ManualClock, SandboxServer
from delegator.store import SqlStore

__all__ = ["START"]  # the clock's start, read by the integration conftest

HOSTILE_NAME = "Giulia <b>Bianchi</b> & «già» {{ task.name }} *sì*"
PROFILE = "https://app.asana.com/0/profile/"


def italian(
    rules_dir: Path, expect: str, *, name: str | None = None, keep_command: bool = True
) -> Path:
    """The agency example in Italian with ``expect`` on its invoice rule; ``name``: Giulia's
    name; without ``keep_command`` the file writes no bounce command (the language's default)."""
    folder = rules_with(rules_dir, expect)
    path = folder / "small-agency.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "  timezone: Europe/Rome\n"
    assert anchor in text, "the example's client changed: update this test"
    text = text.replace("\n  language: en\n", "\n  language: it\n", 1)
    if "\n  language:" not in text:
        text = text.replace(anchor, anchor + "  language: it\n", 1)
    if name is not None:
        text = text.replace("name: Giulia Bianchi", f"name: {_quoted(name)}", 1)
    if not keep_command:
        text = text.replace("  command: non fa per me\n", "", 1)
    path.write_text(text, encoding="utf-8")
    return folder


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def delegated(sandbox: SandboxServer, store: SqlStore, folder: Path, clock: ManualClock) -> Fleet:
    fleet = make_fleet(sandbox, store, folder, clock)
    first = cycle_at(fleet, clock, "2026-12-01 10:01")
    assert first.errors == []
    task = sandbox.world.task(RECEIPTS)
    assert task.assignee is not None
    assert task.assignee.email == GIULIA
    return fleet


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return tmp_path / "rules"


REMINDER = (
    "Promemoria: questa attività va presa in carico (basta un commento o un mi piace) entro "
    f"mar 1 dic 14:01 (regola «{INVOICE_RULE}»: presa in carico entro 4 ore). Se non fa per te, "
    "rispondi «non fa per me: <motivo>»."
)


def test_the_italian_reminder_is_posted_once_in_italian(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    folder = italian(rules_dir, "    expect:\n      acknowledged_within: 4h\n")
    fleet = delegated(sandbox, store, folder, clock)
    report = cycle_at(fleet, clock, "2026-12-01 13:30")
    assert report.errors == []
    assert report.counts[Count.REMINDERS] >= 1
    giulia = sandbox.world.user(GIULIA)
    assert said(sandbox, RECEIPTS, "Promemoria") == [f"{PROFILE}{giulia.gid} {REMINDER}"]
    assert said(sandbox, RECEIPTS, "Reminder") == []
    cycle_at(fleet, clock, "2026-12-01 13:45", full=True)
    assert len(said(sandbox, RECEIPTS, "Promemoria")) == 1


def test_an_italian_reminder_answered_500_after_it_was_posted_is_posted_once(
    sandbox: SandboxServer,
    store: SqlStore,
    rules_dir: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = italian(rules_dir, "    expect:\n      acknowledged_within: 4h\n")
    fleet = delegated(sandbox, store, folder, clock)
    world = sandbox.world
    post = world.comment

    def comment_then_fail(*args: object, **kwargs: object) -> object:
        post(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("the answer is lost after the comment was posted")

    monkeypatch.setattr(world, "comment", comment_then_fail)
    cycle_at(fleet, clock, "2026-12-01 13:30")
    monkeypatch.setattr(world, "comment", post)
    for moment in ("2026-12-01 13:35", "2026-12-01 13:40"):
        cycle_at(fleet, clock, moment, full=True)
    assert [c.split(" ", 1)[1] for c in said(sandbox, RECEIPTS, "Promemoria")] == [REMINDER]
    task = world.task(RECEIPTS)
    [row] = store.followups("small-agency", task_gids=[task.gid], steps=[Step.REMINDER])
    assert row.status == "done"
    [story] = [s for s in task.stories if "Promemoria" in s.text]
    assert row.story_gid == story.gid


def test_an_italian_escalation_cut_short_by_a_500_is_carried_on_with_one_comment(
    sandbox: SandboxServer,
    store: SqlStore,
    rules_dir: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = italian(rules_dir, "    expect:\n      acknowledged_within: 4h\n", name=HOSTILE_NAME)
    fleet = delegated(sandbox, store, folder, clock)
    cycle_at(fleet, clock, "2026-12-01 13:30")
    world = sandbox.world
    task = world.task(RECEIPTS)
    add_tag = world.add_tag

    def failing(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("Asana is having a bad day")

    monkeypatch.setattr(world, "add_tag", failing)
    broken = cycle_at(fleet, clock, "2026-12-01 14:05")
    assert broken.counts[Count.FOLLOWUPS_FAILED] >= 1
    words = "non ha ancora preso in carico questa attività"
    assert len(said(sandbox, RECEIPTS, words)) == 1
    [pending] = store.followups("small-agency", task_gids=[task.gid], steps=[Step.ESCALATION])
    assert pending.status == "pending"
    monkeypatch.setattr(world, "add_tag", add_tag)
    report = cycle_at(fleet, clock, "2026-12-01 14:10")
    assert report.errors == []
    [escalation] = said(sandbox, RECEIPTS, words)
    anna = world.user("anna@northwind.example")
    assert escalation == (
        f"{PROFILE}{anna.gid} {HOSTILE_NAME} {words}: era attesa entro mar 1 dic 14:01 "
        f"(regola «{INVOICE_RULE}»: presa in carico entro 4 ore). La segnaliamo a te come "
        "responsabile dell'attività."
    )
    [done] = store.followups("small-agency", task_gids=[task.gid], steps=[Step.ESCALATION])
    assert done.status == "done"
    [story] = [s for s in task.stories if words in s.text]
    assert done.story_gid == story.gid
    assert "&lt;b&gt;" in (story.html_text or ""), "the name is not escaped in the rich text"
    assert "late" in {t.name for t in task.tags}
    assert not [c for c in comments_on(sandbox, RECEIPTS) if "has not" in c]


def test_an_italian_client_without_a_command_bounces_on_non_fa_per_me(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    folder = italian(rules_dir, "", keep_command=False)
    fleet = delegated(sandbox, store, folder, clock)
    world = sandbox.world
    task = world.task(RECEIPTS)
    clock.advance(minutes=5)
    world.comment(task, "Non fa per me: è del commercialista", by=world.user(GIULIA))
    report = cycle_at(fleet, clock, "2026-12-01 10:30", full=True)
    assert report.errors == []
    assert report.counts[Count.BOUNCES] == 1
    [back] = said(sandbox, RECEIPTS, "ha restituito")
    assert back.endswith(
        "Giulia Bianchi ha restituito questa attività: è del commercialista. Torna a te e la "
        f"regola «{INVOICE_RULE}» non se ne occuperà più."
    )
    assert task.assignee is not None
    assert task.assignee.email == "anna@northwind.example"
