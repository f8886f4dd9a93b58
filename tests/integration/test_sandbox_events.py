"""The Events API: 412 with a fresh sync token, then the changes since, 100 at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from delegator.sandbox import ManualClock, SandboxServer

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OPERATIONS = "1100000000000201"
CLIENT_ADMIN = "1100000000000202"
ANNA = "1100000000000101"
GIULIA = "1100000000000102"
SYNC_INVALID = (
    "Sync token invalid or too old. If you are attempting to keep resources in sync, you must "
    "fetch the full dataset for this query now and use the new sync token for the next sync."
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[SandboxServer]:
    with SandboxServer.demo(clock=clock) as server:
        yield server


@pytest.fixture
def anna(sandbox: SandboxServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(sandbox.auth("anna@northwind.example"))
        yield session


def events(
    session: requests.Session, sandbox: SandboxServer, resource: str, sync: str | None = None
) -> requests.Response:
    params = {"resource": resource} | ({"sync": sync} if sync else {})
    return session.get(f"{sandbox.base_url}/events", params=params, timeout=5)


def first_sync(session: requests.Session, sandbox: SandboxServer, resource: str) -> str:
    response = events(session, sandbox, resource)
    assert response.status_code == 412
    sync: str = response.json()["sync"]
    return sync


def test_first_call_is_412_with_a_fresh_sync_token(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    response = events(anna, sandbox, OPERATIONS)
    assert response.status_code == 412
    body = response.json()
    assert body["errors"][0]["message"] == SYNC_INVALID
    assert len(body["sync"]) == 32
    quiet = events(anna, sandbox, OPERATIONS, body["sync"])
    assert quiet.status_code == 200
    assert quiet.json()["data"] == []
    assert quiet.json()["has_more"] is False


def test_changes_to_a_projects_tasks_arrive_on_its_stream(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock
) -> None:
    sync = first_sync(anna, sandbox, OPERATIONS)
    task = sandbox.world.task("Send November receipts to the accountant")
    clock.advance(minutes=1)
    put = anna.put(
        f"{sandbox.base_url}/tasks/{task.gid}", json={"data": {"assignee": GIULIA}}, timeout=5
    )
    assert put.status_code == 200
    body = events(anna, sandbox, OPERATIONS, sync).json()
    changed, story = body["data"]
    assert changed == {
        "user": {"gid": ANNA, "name": "Anna Rossi", "resource_type": "user"},
        "created_at": "2026-11-27T09:01:00.000Z",
        "type": "task",
        "action": "changed",
        "resource": {
            "gid": task.gid,
            "name": "Send November receipts to the accountant",
            "resource_type": "task",
            "resource_subtype": "default_task",
        },
        "parent": None,
        "change": {
            "field": "assignee",
            "action": "changed",
            "new_value": {"gid": GIULIA, "name": "Giulia Bianchi", "resource_type": "user"},
        },
    }
    assert story["type"] == "story"
    assert story["action"] == "added"
    assert story["resource"]["resource_subtype"] == "assigned"
    assert story["parent"]["gid"] == task.gid
    assert body["has_more"] is False
    # The next read from the new token is empty; re-reading the old one repeats the same events.
    assert events(anna, sandbox, OPERATIONS, body["sync"]).json()["data"] == []
    assert events(anna, sandbox, OPERATIONS, sync).json()["data"] == body["data"]


def test_a_task_stream_and_other_projects_streams(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    task = sandbox.world.task("Send November receipts to the accountant")
    task_sync = first_sync(anna, sandbox, task.gid)
    other_sync = first_sync(anna, sandbox, CLIENT_ADMIN)
    comment = anna.post(
        f"{sandbox.base_url}/tasks/{task.gid}/stories",
        json={"data": {"text": "Reminder sent"}},
        timeout=5,
    )
    assert comment.status_code == 201
    own = events(anna, sandbox, task.gid, task_sync).json()["data"]
    assert [(e["action"], e["resource"]["resource_type"]) for e in own] == [("added", "story")]
    assert own[0]["resource"]["gid"] == comment.json()["data"]["gid"]
    assert events(anna, sandbox, CLIENT_ADMIN, other_sync).json()["data"] == []


def test_section_moves_and_project_additions_are_events(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    sync = first_sync(anna, sandbox, CLIENT_ADMIN)
    task = sandbox.world.task("Send November receipts to the accountant")
    added = anna.post(
        f"{sandbox.base_url}/tasks/{task.gid}/addProject",
        json={"data": {"project": CLIENT_ADMIN}},
        timeout=5,
    )
    assert added.status_code == 200
    data = events(anna, sandbox, CLIENT_ADMIN, sync).json()["data"]
    assert data[0]["action"] == "added"
    assert data[0]["resource"]["gid"] == task.gid
    assert data[0]["parent"] == {
        "gid": CLIENT_ADMIN,
        "name": "Client Admin",
        "resource_type": "project",
    }


def test_more_than_100_events_come_in_pages(anna: requests.Session, sandbox: SandboxServer) -> None:
    sync = first_sync(anna, sandbox, OPERATIONS)
    world = sandbox.world
    task = world.task("Unsubscribe from vendor mailing lists")
    for number in range(130):  # each comment is one event on the project's stream
        world.comment(task, f"note {number}", by=world.user("Anna Rossi"))
    first = events(anna, sandbox, OPERATIONS, sync).json()
    assert len(first["data"]) == 100
    assert first["has_more"] is True
    second = events(anna, sandbox, OPERATIONS, first["sync"]).json()
    assert len(second["data"]) == 30
    assert second["has_more"] is False
    assert second["data"][-1]["resource"]["gid"] == task.stories[-1].gid


@pytest.mark.parametrize("sync", ["unknown-token", ""])
def test_an_unknown_token_is_412_with_a_new_one(
    anna: requests.Session, sandbox: SandboxServer, sync: str
) -> None:
    response = events(anna, sandbox, OPERATIONS, sync or None)
    assert response.status_code == 412
    assert events(anna, sandbox, OPERATIONS, response.json()["sync"]).status_code == 200


def test_a_token_expires_after_24_hours_or_when_forgotten(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock
) -> None:
    sync = first_sync(anna, sandbox, OPERATIONS)
    clock.advance(timedelta(hours=23))
    sync = events(anna, sandbox, OPERATIONS, sync).json()["sync"]
    clock.advance(timedelta(hours=24, seconds=1))
    assert events(anna, sandbox, OPERATIONS, sync).status_code == 412
    fresh = first_sync(anna, sandbox, OPERATIONS)
    sandbox.world.events.expire_tokens()
    assert events(anna, sandbox, OPERATIONS, fresh).status_code == 412


def test_a_token_is_for_one_resource(anna: requests.Session, sandbox: SandboxServer) -> None:
    sync = first_sync(anna, sandbox, OPERATIONS)
    assert events(anna, sandbox, CLIENT_ADMIN, sync).status_code == 412


@pytest.mark.contract_refusals_expected  # the spec refuses it: see delegator/sandbox/strict.py
def test_events_need_a_project_or_task_the_user_can_see(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    missing: Any = anna.get(f"{sandbox.base_url}/events", timeout=5)
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["message"] == "resource: Missing input"
    assert events(anna, sandbox, "1100000000000401").status_code == 400  # a tag
    assert events(anna, sandbox, "1200000000000201").status_code == 403  # Lena's project
