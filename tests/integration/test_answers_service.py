"""Wrong-shape answers end to end: the service against the sandbox over loopback, a real store.

The sandbox answers a client's task-list reads with garbage (``faults.garbage``): ``data`` null,
an empty object, list-shaped, missing, a truncated JSON body or a proxy's HTML page, all with a
200. The cycle must report an error for the source, keep the source's stored sync position, and
the next clean cycle must find (and delegate) the task that changed meanwhile.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.cycles import Count
from delegator.sandbox import ManualClock, SandboxServer
from delegator.sandbox.faults import GARBAGE_KINDS
from delegator.service import CycleReport
from delegator.settings import Settings
from delegator.store import SqlStore

EXAMPLES = Path("examples")
ANNA = "anna@northwind.example"
CLIENT = "small-agency"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome
NEW_TASK = "File the December receipts"


@pytest.fixture
def fleet(sandbox: SandboxServer, store: SqlStore, clock: ManualClock, tmp_path: Path) -> Fleet:
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(EXAMPLES / "small-agency.yaml", folder / "small-agency.yaml")
    environ = {"ASANA_TOKEN_NORTHWIND": sandbox.token(ANNA)}
    settings = Settings(rules_dir=folder, asana_base_url=sandbox.base_url)
    return Fleet(settings, store, environ=environ, clock=clock)


def cycle(fleet: Fleet, clock: ManualClock) -> CycleReport:
    clock.advance(minutes=1)
    entry = next(e for e in load_clients(fleet.settings.rules_dir) if e.key == CLIENT)
    return fleet.cycle(entry)


@pytest.mark.parametrize("kind", GARBAGE_KINDS)
def test_a_wrong_shape_read_is_an_error_the_position_stays_and_the_next_cycle_finds_the_task(
    sandbox: SandboxServer, store: SqlStore, fleet: Fleet, clock: ManualClock, kind: str
) -> None:
    world = sandbox.world
    operations = world.project("Operations")
    source = f"project:{operations.gid}"
    first = cycle(fleet, clock)
    assert first.errors == []
    before = store.sync_position(CLIENT, source)
    assert before is not None
    assert before.high_water is not None

    # A task that the rules delegate appears, then Operations' incremental read is garbled
    # on every attempt (the client retries a wrong-shape answer as it would a 5xx).
    anna = world.user(ANNA)
    task = world.create_task(
        operations.workspace,
        NEW_TASK,
        by=anna,
        memberships=[(operations, None)],
        due_on=(START + timedelta(days=1)).date(),
    )
    token = sandbox.token(ANNA)
    sandbox.faults.garbage(token, kind, count=None, endpoint="/tasks", method="GET")
    garbled = cycle(fleet, clock)
    sandbox.faults.clear(token)

    assert any("GET /tasks: unexpected answer (200)" in error for error in garbled.errors), (
        garbled.errors
    )
    assert (
        garbled.counts[Count.TASKS_SEEN] == 0
    )  # every source read /tasks: none was taken as empty
    assert store.sync_position(CLIENT, source) == before  # the position did not move
    assert world.task(task.gid).assignee is None  # nothing was done on a read that failed

    clean = cycle(fleet, clock)

    assert clean.errors == []
    assignee = world.task(task.gid).assignee
    assert assignee is not None
    assert assignee.email == "giulia@va-agency.example"
    after = store.sync_position(CLIENT, source)
    assert after is not None
    assert after.high_water is not None
    assert after.high_water > before.high_water


def test_garbage_can_be_asked_for_one_endpoint_and_a_count(sandbox: SandboxServer) -> None:
    token = sandbox.token(ANNA)
    headers = sandbox.auth(ANNA)
    sandbox.faults.garbage(token, "html", count=1, endpoint="/users/{user_gid}")
    tasks = requests.get(f"{sandbox.base_url}/tasks/nothing", headers=headers, timeout=5)
    assert tasks.headers["Content-Type"].startswith("application/json")  # not that endpoint
    page = requests.get(f"{sandbox.base_url}/users/me", headers=headers, timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.text.startswith("<!DOCTYPE html>")
    again = requests.get(f"{sandbox.base_url}/users/me", headers=headers, timeout=5)
    assert again.json()["data"]["email"] == ANNA  # the count is used up
    with pytest.raises(ValueError, match="unknown garbage kind"):
        sandbox.faults.garbage(token, "spaghetti")
