"""The Batch API: up to 10 actions, answered one by one, each counted against the rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from delegator.sandbox import SandboxServer

TOKEN = "sandbox-token-anna"
GIULIA = "1100000000000102"
URGENT = "1100000000000401"
OPERATIONS = "1100000000000201"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer.demo() as server:
        yield server


@pytest.fixture
def anna(sandbox: SandboxServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(sandbox.auth("anna@northwind.example"))
        yield session


def batch(
    session: requests.Session, sandbox: SandboxServer, actions: list[Any]
) -> requests.Response:
    return session.post(f"{sandbox.base_url}/batch", json={"data": {"actions": actions}}, timeout=5)


def test_each_action_is_answered_in_order(anna: requests.Session, sandbox: SandboxServer) -> None:
    world = sandbox.world
    receipts = world.task("Send November receipts to the accountant")
    cards = world.task("Order new business cards for Luca")
    response = batch(
        anna,
        sandbox,
        [
            {
                "relative_path": f"/tasks/{receipts.gid}",
                "method": "put",
                "data": {"assignee": GIULIA},
                "options": {"fields": ["assignee.name"]},
            },
            {
                "relative_path": f"/tasks/{cards.gid}/addTag",
                "method": "post",
                "data": {"tag": URGENT},
            },
            {
                "relative_path": f"/tasks/{cards.gid}/stories",
                "method": "post",
                "data": {"text": "Giulia, can you order these?"},
            },
            {
                "relative_path": f"/projects/{OPERATIONS}/tasks",
                "method": "get",
                "data": {"completed_since": "now"},
                "options": {"limit": 2, "fields": ["name"]},
            },
            {"relative_path": "/tasks/1100000099999999", "method": "get"},
        ],
    )
    assert response.status_code == 200
    results = response.json()["data"]
    assert [r["status_code"] for r in results] == [200, 200, 201, 200, 404]
    assert results[0]["body"] == {
        "data": {"gid": receipts.gid, "assignee": {"gid": GIULIA, "name": "Giulia Bianchi"}}
    }
    assert results[1]["body"] == {"data": {}}
    assert results[2]["body"]["data"]["text"] == "Giulia, can you order these?"
    assert len(results[3]["body"]["data"]) == 2
    assert set(results[3]["body"]["data"][0]) == {"gid", "name"}
    assert results[3]["body"]["next_page"]["offset"]
    assert results[4]["body"]["errors"][0]["message"] == "task: Unknown object: 1100000099999999"
    assert receipts.assignee is not None
    assert receipts.assignee.gid == GIULIA
    assert [t.name for t in cards.tags] == ["urgent"]


def test_an_action_that_cannot_run_is_answered_400_alone(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    response = batch(
        anna,
        sandbox,
        [
            {"relative_path": "/users/me", "method": "fetch"},
            {"relative_path": "/batch", "method": "post", "data": {"actions": []}},
            {"relative_path": "/users/me", "method": "get", "options": {"fields": ["email"]}},
        ],
    )
    assert response.status_code == 200
    results = response.json()["data"]
    assert [r["status_code"] for r in results] == [400, 400, 200]
    assert results[1]["body"]["errors"][0]["message"] == (
        "relative_path: A batch cannot contain another batch"
    )
    assert results[2]["body"]["data"] == {
        "gid": "1100000000000101",
        "email": "anna@northwind.example",
    }


@pytest.mark.parametrize("count", [0, 11])
def test_an_empty_batch_or_more_than_ten_actions_is_400(
    anna: requests.Session, sandbox: SandboxServer, count: int
) -> None:
    response = batch(anna, sandbox, [{"relative_path": "/users/me", "method": "get"}] * count)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("actions: ")
    assert sandbox.requests.count(include_batched=True) == 1


def test_ten_actions_are_allowed_and_count_ten_units(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    response = batch(anna, sandbox, [{"relative_path": "/users/me", "method": "get"}] * 10)
    assert response.status_code == 200
    assert len(response.json()["data"]) == 10
    assert sandbox.requests.count("POST", "/batch") == 1
    assert sandbox.requests.count("GET", "/users/{user_gid}", include_batched=True) == 10
    assert sandbox.requests.quota_units(TOKEN) == 10


def test_a_batch_that_does_not_fit_the_rate_limit_is_refused_whole(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    sandbox.faults.rate_limit(TOKEN, 5)
    cards = sandbox.world.task("Order new business cards for Luca")
    actions = [
        {"relative_path": f"/tasks/{cards.gid}/addTag", "method": "post", "data": {"tag": URGENT}}
    ]
    actions += [{"relative_path": "/users/me", "method": "get"}] * 5
    response = batch(anna, sandbox, actions)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert cards.tags == []
    assert batch(anna, sandbox, actions[:5]).status_code == 200
    assert anna.get(f"{sandbox.base_url}/users/me", timeout=5).status_code == 429
