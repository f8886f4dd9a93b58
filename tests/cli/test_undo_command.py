"""`delegator undo` end to end on the demo world: a cycle taken back, a person's later change
kept, nothing written twice, and the tasks left alone afterwards unless --allow-again."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from delegator.bootstrap import open_store
from delegator.cli import main
from delegator.cli._common import read_settings
from delegator.sandbox import SandboxServer
from delegator.sandbox.records import Task

CLIENT = "small-agency"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
ANNA = "anna@northwind.example"
# A rule that follows the owner acts on it: Anna stops following it first, so the cycle adds her.
FOLLOWED = "Pay invoice #2048 from Shutterstock"
REASSIGNED = "Reconcile expenses for October"  # Luca takes it over after the cycle


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


ASSISTANTS = {"giulia@va-agency.example", "marco@va-agency.example"}


def shown(task: Task) -> dict[str, Any]:
    """What undo must restore on a task, as the sandbox holds it. The assistants as followers
    aside: Asana makes an assignee a follower, and the journal does not say whether they
    followed before."""
    return {
        "assignee": task.assignee.email if task.assignee else None,
        "tags": sorted(t.name for t in task.tags),
        "followers": sorted(u.email for u in task.followers if u.email not in ASSISTANTS),
        "sections": sorted((m.project.name, m.section.name) for m in task.memberships),
        "due_on": task.due_on,
        "due_at": task.due_at,
        "comments": sorted(s.text for s in task.stories if s.type == "comment"),
    }


def writes_since(server: SandboxServer, start: int) -> list[str]:
    """The writes sent after the ``start``-th request, those inside a batch included (a batch
    itself is a POST that may only read)."""
    return [
        r.key
        for r in server.requests.entries(include_batched=True)[start:]
        if r.method in WRITES and r.endpoint != "/batch"
    ]


@pytest.fixture
def world(examples_on_sandbox: SandboxServer) -> SandboxServer:
    server = examples_on_sandbox
    server.world.remove_followers(server.world.task(FOLLOWED), [server.world.user(ANNA)])
    return server


def cycle_of(capsys: pytest.CaptureFixture[str]) -> tuple[int, set[str]]:
    """The small agency's last cycle, and the tasks it wrote to."""
    code, out, _ = run(capsys, "history", "--json", "--client", CLIENT)
    assert code == 0
    actions = [
        a for a in json.loads(out)["actions"] if a["status"] == "done" and a["mode"] == "active"
    ]
    cycle = max(a["cycle_id"] for a in actions)
    return cycle, {a["task_gid"] for a in actions if a["cycle_id"] == cycle and a["kind"] != "rule"}


def once(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "once", "--client", CLIENT)
    assert code == 0, err


def test_a_dry_run_prints_the_plan_and_writes_nothing(
    world: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    once(capsys)
    cycle, touched = cycle_of(capsys)
    start = len(world.requests.entries(include_batched=True))
    code, out, err = run(capsys, "undo", "--cycle", str(cycle), "--dry-run")
    assert code == 0, err
    assert writes_since(world, start) == []
    assert "dry run: nothing written" in out
    assert "would assign back to Anna Rossi" in out
    assert "would remove follower Anna Rossi" in out
    assert "Europe/Rome" in out  # times in the client's zone
    assert "would take back" in out
    assert len(touched) > 3


def test_undo_takes_the_cycle_back_and_leaves_a_persons_change(
    world: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {t.gid: shown(t) for t in world.world.all_tasks()}
    once(capsys)
    cycle, touched = cycle_of(capsys)
    reassigned = world.world.task(REASSIGNED)
    assert reassigned.gid in touched
    world.world.assign(reassigned, world.world.user("luca@northwind.example"))
    assert any(shown(world.world.task(gid)) != before[gid] for gid in touched)

    code, out, err = run(capsys, "undo", "--cycle", str(cycle))
    assert code == 0, err
    assert "Traceback" not in err
    for gid in touched - {reassigned.gid}:
        assert shown(world.world.task(gid)) == before[gid], world.world.task(gid).name
    kept = shown(world.world.task(reassigned.gid))
    assert kept["assignee"] == "luca@northwind.example"  # Luca keeps it
    assert kept["tags"] == before[reassigned.gid]["tags"]  # the rule's other writes went back
    assert kept["comments"] == before[reassigned.gid]["comments"]
    assert "reassigned to Luca" in out
    followed = world.world.task(FOLLOWED)
    assert ANNA not in shown(followed)["followers"]

    start = len(world.requests.entries(include_batched=True))
    code, out, err = run(capsys, "undo", "--cycle", str(cycle), "--json")
    assert code == 0, err
    assert writes_since(world, start) == []  # the second run changes nothing
    document = json.loads(out)
    assert document["counts"]["reverted"] == 0
    assert {t["gid"] for t in document["tasks"] if t["reverts"]} == set()


def test_the_next_cycle_leaves_undone_tasks_alone(
    world: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    once(capsys)
    cycle, touched = cycle_of(capsys)
    assert run(capsys, "undo", "--cycle", str(cycle))[0] == 0
    after_undo = {gid: shown(world.world.task(gid)) for gid in touched}
    once(capsys)
    assert {gid: shown(world.world.task(gid)) for gid in touched} == after_undo
    out = run(capsys, "history", "--json", "--client", CLIENT)[1]
    overrides = json.loads(out)["overrides"]
    assert {o["task_gid"] for o in overrides} == touched
    assert {o["reason"] for o in overrides} == {"taken back by delegator undo"}


def test_allow_again_records_no_override(
    world: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    once(capsys)
    cycle, _ = cycle_of(capsys)
    code, out, _ = run(capsys, "undo", "--cycle", str(cycle), "--allow-again", "--json")
    assert code == 0
    assert json.loads(out)["overrides"] == []
    once(capsys)  # the tasks given back are not taken for a person's overrides either
    code, out, _ = run(capsys, "history", "--json", "--client", CLIENT)
    assert json.loads(out)["overrides"] == []
    undone = [a for a in json.loads(out)["actions"] if a["kind"] == "undo"]
    assert undone
    assert {a["status"] for a in undone} == {"done"}  # never pending: no reconcile picks it up


def test_bad_command_lines_exit_2_and_a_refused_token_is_one_line(
    world: SandboxServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["undo"])
    assert exited.value.code == 2
    code, _, err = run(capsys, "undo", "--rule", "Inbox chores")
    assert code == 2
    assert "--since" in err
    code, _, err = run(capsys, "undo", "--cycle", "1", "--client", "nobody")
    assert code == 2
    assert "no client 'nobody'" in err
    once(capsys)
    cycle, _ = cycle_of(capsys)
    monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", "not-a-token")
    code, out, err = run(capsys, "undo", "--cycle", str(cycle))
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert "not-a-token" not in err + out


def test_a_comment_asana_will_not_delete_is_withdrawn_by_another(
    world: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    once(capsys)
    task = world.world.task(FOLLOWED)
    [posted] = [s for s in task.stories if s.type == "comment" and "la segui tu" in s.text]
    posted.created_by = world.world.user("luca@northwind.example")  # not the token's to delete
    code, out, err = run(capsys, "undo", "--task", task.gid, "--json")
    assert code == 0, err
    comments = [s.text for s in task.stories if s.type == "comment"]
    assert posted.text in comments
    assert any("disregard the earlier automatic comment" in text for text in comments)
    [revert] = [r for t in json.loads(out)["tasks"] for r in t["reverts"]
                if r["change"]["kind"] == "correct_comment"]  # fmt: skip
    assert revert["status"] == "done"
    assert revert["story_gid"]


def test_several_clients_matching_need_client(
    world: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "once")[0] == 0
    code, _, err = run(capsys, "undo", "--rule", "Travel and bookings", "--since", "1d")
    assert code == 0, err  # only the small agency has that rule
    store = open_store(read_settings(None, os.environ))
    try:
        store.begin_action(
            cycle_id=None, client="solo-consultant", task_gid="1900000000000050",
            task_name="Book a venue", rule="Travel and bookings", kind="tag",
            detail={"name": "delegated"}, assistant=None, mode="active",
            at=datetime.now(UTC), status="done",
        )  # fmt: skip
    finally:
        store.close()
    code, _, err = run(capsys, "undo", "--rule", "Travel and bookings", "--since", "1d")
    assert code == 2
    assert "small-agency, solo-consultant" in err
    assert "--client" in err


def test_a_task_deleted_since_is_left_and_said(
    world: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    once(capsys)
    task = world.world.task(REASSIGNED)
    world.world.delete_task(task)
    code, out, err = run(capsys, "undo", "--task", task.gid)
    assert code == 0, err
    assert "the task is deleted or cannot be seen" in out
    assert "took back 0" in out


@pytest.mark.parametrize("fault", ["500 after apply", "500", "token refused midway"])
def test_faults_during_undo_end_as_a_clean_undo_with_nothing_twice(
    world: SandboxServer, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    """Once the undo has begun writing: its next writes answered 500 after they were carried
    out (the client retries; a comment's DELETE then finds it gone), plain 500s, or the token
    refused for the rest of the run. Undo run again until nothing is left: the tasks end as a
    clean undo leaves them, and no comment is "withdrawn" that was in fact deleted."""
    before = {t.gid: shown(t) for t in world.world.all_tasks()}
    once(capsys)
    cycle, touched = cycle_of(capsys)
    token = world.token(ANNA)
    start = len(world.requests.entries(include_batched=True))
    armed: list[str] = []

    def arm(entry: Any) -> None:
        """The faults begin at the undo's first write (a refused token), or right after its
        first reassignment, so that the next request, a comment's DELETE, meets them."""
        if armed or entry.method not in WRITES or entry.endpoint == "/batch":
            return
        if fault == "token refused midway":
            armed.append(entry.key)
            world.faults.fail_next(token, 1_000, status=401)
        elif entry.method == "PUT":
            armed.append(entry.key)
            world.faults.fail_next(token, 1, after_apply=fault == "500 after apply")

    world.requests.subscribe(arm)
    code, first, err = run(capsys, "undo", "--cycle", str(cycle))
    assert armed, "the faults never met a write"
    if fault == "token refused midway":
        assert code == 1, err  # said, and the run stopped at the refusal
        refused = [w for w in writes_since(world, start) if w != armed[0]]
        assert len(refused) <= 1, refused  # not one doomed request per revert
        assert "not tried: the token was refused" in first
    assert "Traceback" not in err
    world.faults.clear(token)
    for _ in range(3):  # run again as a person would, until nothing is left to take back
        code, out, err = run(capsys, "undo", "--cycle", str(cycle), "--json")
        assert "Traceback" not in err
        if code == 0 and json.loads(out)["counts"]["reverted"] == 0:
            break
    assert code == 0, err
    for gid in touched:
        assert shown(world.world.task(gid)) == before[gid], world.world.task(gid).name
    corrections = [
        w for w in writes_since(world, start) if w.startswith("POST") and w.endswith("/stories")
    ]
    assert corrections == []  # a comment deleted on a retry is taken back, never "withdrawn"
