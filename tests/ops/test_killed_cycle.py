"""A `delegator run` killed mid-cycle (SIGKILL: no chance to record anything) leaves its cycle
unfinished; the next start takes the client's lease over, closes the cycle as interrupted, and
`delegator status` says so."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_run_process import (
    AGENCY,
    REPO,
    Delegator,
    Held,
    environment,
    held,  # noqa: F401 - fixtures
    processes,  # noqa: F401
    rules,  # noqa: F401
    sandbox,  # noqa: F401
    wait_for,
)

from delegator.cycles import Count
from delegator.sandbox import ALL_TOKENS, SandboxServer
from delegator.store import SqlStore

pytestmark = pytest.mark.slow


def status(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "delegator", "status"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_cycle_killed_mid_way_is_closed_as_interrupted_at_the_next_start(
    sandbox: SandboxServer,  # noqa: F811
    held: Held,  # noqa: F811
    tmp_path: Path,
    rules: Path,  # noqa: F811
    processes: list[Delegator],  # noqa: F811
) -> None:
    """Before: the killed cycle stayed unfinished for ever: `status` showed it running."""
    database_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = environment(sandbox, tmp_path, rules, database_url)
    sandbox.faults.latency(ALL_TOKENS, 60)  # every cycle's first call is held: killed mid-way
    run = Delegator(tmp_path, "run", env, "run")
    processes.append(run)
    wait_for(held.holding.is_set, "a request held in flight")
    run.signal(signal.SIGKILL)
    assert run.wait(10) == -signal.SIGKILL
    with SqlStore(database_url) as store:
        unfinished = [c for c in store.cycles(AGENCY) if c.finished_at is None]
    assert unfinished  # nothing could record its end
    before = status(env)
    assert "running     since" in before.stdout, before.stdout

    held.holding.clear()
    again = Delegator(tmp_path, "again", env, "run")  # its own cycles are held again
    processes.append(again)
    wait_for(lambda: "abandoned_cycles_closed" in again.event_names(), "the takeover's closing")
    with SqlStore(database_url) as store:
        by_id = {c.id: c for c in store.cycles(AGENCY, limit=50)}
    closed = by_id[unfinished[0].id]
    assert closed.finished_at is not None
    assert closed.counts[Count.INTERRUPTED] == 1
    assert "lost this client's lease before finishing the cycle (killed" in closed.errors[-1]
    after = status(env)
    assert "Traceback" not in after.stderr
    assert ", interrupted: " in after.stdout, after.stdout
    assert "lost this client's lease before finishing the cycle" in after.stdout
    sandbox.faults.latency(ALL_TOKENS, 0)
    held.released.set()
    again.signal(signal.SIGTERM)
    assert again.wait(30) in (0, 1), again.text()
