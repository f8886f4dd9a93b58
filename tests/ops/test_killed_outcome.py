"""A `delegator run` killed with SIGKILL right after Asana applied an assignment: the next start
carries that outcome to the end (tag, comment, follow...) from the journal, writes nothing twice
and records no override. Real processes, a real kill, the sandbox as Asana."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from test_run_process import (
    AGENCY,
    ANNA,
    Delegator,
    environment,
    held,  # noqa: F401 - fixtures
    processes,  # noqa: F401
    rules,  # noqa: F401
    sandbox,  # noqa: F401
    wait_for,
)

from delegator.sandbox import ALL_TOKENS, SandboxServer
from delegator.sandbox.requestlog import LoggedRequest
from delegator.store import SqlStore

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kill_at", [1, 3])
def test_a_run_killed_right_after_an_assignment_finishes_the_outcome_after_a_restart(
    sandbox: SandboxServer,  # noqa: F811
    tmp_path: Path,
    rules: Path,  # noqa: F811
    processes: list[Delegator],  # noqa: F811
    kill_at: int,
) -> None:
    """Before: the outcome was planned again from the task's state, which the assignment had
    changed, so the task stayed assigned but never tagged or commented."""
    database_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = environment(sandbox, tmp_path, rules, database_url)
    anna = sandbox.token(ANNA)
    assigned: list[str] = []
    first = Delegator(tmp_path, "first", env, "run")
    processes.append(first)

    def kill_after_an_assignment(entry: LoggedRequest) -> None:
        if entry.token != anna or entry.method != "PUT" or entry.status != 200:
            return
        if not entry.path.startswith("/tasks/"):
            return
        assigned.append(entry.path.rsplit("/", 1)[-1])
        if len(assigned) == kill_at:
            os.kill(first.process.pid, signal.SIGKILL)  # Asana applied it; nothing recorded after

    sandbox.faults.latency(ALL_TOKENS, 0.05)  # slow enough that the kill lands mid-outcome
    sandbox.requests.subscribe(kill_after_an_assignment)
    assert first.wait(60) == -signal.SIGKILL
    killed = assigned[kill_at - 1]
    world = sandbox.world
    assert "delegated" not in {t.name for t in world.task(killed).tags}  # cut short
    sandbox.faults.latency(ALL_TOKENS, 0)

    again = Delegator(tmp_path, "again", env, "run")
    processes.append(again)
    wait_for(lambda: again.cycles(AGENCY) >= 1, "a good cycle of the agency", seconds=60)
    again.signal(signal.SIGTERM)
    assert again.wait(30) == 0, again.text()

    task = world.task(killed)
    assert "delegated" in {t.name for t in task.tags}
    with SqlStore(database_url) as store:
        assert store.overrides(AGENCY) == []
        assert [a for a in store.pending_actions(AGENCY) if a.kind == "rule"] == []
        delegations = {d.task_gid: d for d in store.delegations(AGENCY)}
    assert killed in delegations
    assert task.assignee is not None
    assert task.assignee.gid == world.user(task.assignee.gid).gid
    for delegation in delegations.values():
        comments = Counter(
            s.text for s in world.task(delegation.task_gid).stories
            if s.resource_subtype == "comment_added"
        )  # fmt: skip
        assert all(n == 1 for n in comments.values()), f"a comment twice on {delegation.task_gid}"
        assert "delegated" in {t.name for t in world.task(delegation.task_gid).tags}
