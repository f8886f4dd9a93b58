"""The request log: what clients asked, counted per endpoint and method, with quota units."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from delegator.sandbox import LoggedRequest, ManualClock, SandboxServer

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ANNA_TOKEN = "sandbox-token-anna"
OPERATIONS = "1100000000000201"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer.demo(clock=ManualClock(NOW)) as server:
        yield server


@pytest.fixture
def anna(sandbox: SandboxServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(sandbox.auth("anna@northwind.example"))
        yield session


def test_each_request_is_logged_with_who_what_and_the_answer(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    task = sandbox.world.task("Order new business cards for Luca")
    anna.get(
        f"{sandbox.base_url}/projects/{OPERATIONS}/tasks",
        params={"limit": 5, "opt_fields": "name"},
        timeout=5,
    )
    anna.put(f"{sandbox.base_url}/tasks/{task.gid}", json={"data": {"name": "Cards"}}, timeout=5)
    requests.get(f"{sandbox.base_url}/users/me", timeout=5)
    entries = sandbox.requests.entries()
    assert entries == [
        LoggedRequest(
            at=NOW,
            method="GET",
            path=f"/projects/{OPERATIONS}/tasks",
            endpoint="/projects/{project_gid}/tasks",
            query={"limit": "5", "opt_fields": "name"},
            body=None,
            token=ANNA_TOKEN,
            user_gid="1100000000000101",
            status=200,
            units=1,
        ),
        LoggedRequest(
            at=NOW,
            method="PUT",
            path=f"/tasks/{task.gid}",
            endpoint="/tasks/{task_gid}",
            query={},
            body={"data": {"name": "Cards"}},
            token=ANNA_TOKEN,
            user_gid="1100000000000101",
            status=200,
            units=1,
        ),
        LoggedRequest(
            at=NOW,
            method="GET",
            path="/users/me",
            endpoint="/users/{user_gid}",
            query={},
            body=None,
            token=None,
            user_gid=None,
            status=401,
            units=0,
        ),
    ]
    assert sandbox.requests.last().status == 401
    assert len(sandbox.requests) == 3


def test_counts_per_endpoint_and_method(anna: requests.Session, sandbox: SandboxServer) -> None:
    tasks = sandbox.world.project("Operations").tasks()[:3]
    for task in tasks:
        anna.get(f"{sandbox.base_url}/tasks/{task.gid}", timeout=5)
        anna.post(
            f"{sandbox.base_url}/tasks/{task.gid}/stories",
            json={"data": {"text": "ping"}},
            timeout=5,
        )
    anna.get(f"{sandbox.base_url}/nowhere", timeout=5)
    assert sandbox.requests.counts() == Counter(
        {
            "GET /tasks/{task_gid}": 3,
            "POST /tasks/{task_gid}/stories": 3,
            "GET /nowhere": 1,
        }
    )
    assert sandbox.requests.count("GET", "/tasks/{task_gid}") == 3
    assert sandbox.requests.count("post") == 3
    assert sandbox.requests.count(endpoint=f"/tasks/{tasks[0].gid}") == 1
    assert sandbox.requests.count(status=404) == 1
    assert sandbox.requests.count(token=ANNA_TOKEN) == 7
    assert sandbox.requests.quota_units(ANNA_TOKEN) == 7


def test_batch_actions_are_logged_apart_from_the_http_request(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    actions = [{"relative_path": "/users/me", "method": "get"}] * 3
    anna.post(f"{sandbox.base_url}/batch", json={"data": {"actions": actions}}, timeout=5)
    assert sandbox.requests.counts() == Counter({"POST /batch": 1})
    assert sandbox.requests.counts(include_batched=True) == Counter(
        {"POST /batch": 1, "GET /users/{user_gid}": 3}
    )
    batched = [e for e in sandbox.requests.entries(include_batched=True) if e.in_batch]
    assert [e.units for e in batched] == [1, 1, 1]
    assert sandbox.requests.quota_units() == 3


def test_reset_and_subscribers(anna: requests.Session, sandbox: SandboxServer) -> None:
    seen: list[str] = []
    sandbox.requests.subscribe(lambda entry: seen.append(entry.key))
    anna.get(f"{sandbox.base_url}/workspaces", timeout=5)
    assert seen == ["GET /workspaces"]
    sandbox.requests.reset()
    assert sandbox.requests.entries() == []
    with pytest.raises(LookupError):
        sandbox.requests.last()
