"""Errors the sandbox answers, in Asana's body format, and who may see what."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from delegator.sandbox import SandboxServer

HELP = (
    "For more information on API status codes and how to handle them, "
    "read the docs on errors: https://developers.asana.com/docs/errors"
)
NORTHWIND = "1100000000000001"
FISCHER = "1200000000000001"
CLIENTS = "1200000000000201"
OPERATIONS = "1100000000000201"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    # Read-only tests share one server.
    with SandboxServer.demo() as server:
        yield server


@pytest.fixture
def anna(sandbox: SandboxServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(sandbox.auth("anna@northwind.example"))
        yield session


def test_no_token_is_401_in_asanas_format(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.base_url}/users/me", timeout=5)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.json() == {"errors": [{"message": "Not Authorized", "help": HELP}]}


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Basic c2FuZGJveA==", "Bearer "])
def test_an_unknown_token_or_scheme_is_401(sandbox: SandboxServer, header: str) -> None:
    response = requests.get(
        f"{sandbox.base_url}/users/me", headers={"Authorization": header}, timeout=5
    )
    assert response.status_code == 401


def test_an_unknown_route_is_404(anna: requests.Session, sandbox: SandboxServer) -> None:
    for url in (f"{sandbox.base_url}/nothing/here", f"{sandbox.url}/api/2.0/users/me"):
        response = anna.get(url, timeout=5)
        assert response.status_code == 404
        assert response.json() == {
            "errors": [{"message": "No matching route for request", "help": HELP}]
        }
    wrong_method = anna.delete(f"{sandbox.base_url}/users/me", timeout=5)
    assert wrong_method.status_code == 404


def test_an_unknown_gid_is_404_and_a_malformed_one_400(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    missing = anna.get(f"{sandbox.base_url}/tasks/1100000099999999", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["message"] == "task: Unknown object: 1100000099999999"
    malformed = anna.get(f"{sandbox.base_url}/projects/operations/tasks", timeout=5)
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["message"] == "project: Not a valid GID: operations"
    wrong_kind = anna.get(f"{sandbox.base_url}/tasks/{OPERATIONS}", timeout=5)
    assert wrong_kind.status_code == 404


def test_invalid_json_is_400(anna: requests.Session, sandbox: SandboxServer) -> None:
    task = sandbox.world.task("Order new business cards for Luca")
    response = anna.put(
        f"{sandbox.base_url}/tasks/{task.gid}",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Could not parse request data, invalid JSON"


@pytest.mark.parametrize(
    "path",
    [
        f"/workspaces/{FISCHER}/projects",
        f"/workspaces/{FISCHER}/users",
        f"/projects/{CLIENTS}/tasks",
        f"/projects/{CLIENTS}",
        "/users/1200000000000101",
        "/tags/1200000000000401/tasks",
    ],
)
def test_another_workspaces_records_are_403(
    anna: requests.Session, sandbox: SandboxServer, path: str
) -> None:
    response = anna.get(f"{sandbox.base_url}{path}", timeout=5)
    assert response.status_code == 403
    assert "You do not have access" in response.json()["errors"][0]["message"]


def test_another_workspaces_tasks_cannot_be_read_or_changed(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    lenas = sandbox.world.task("Submit the October expense report")
    assert anna.get(f"{sandbox.base_url}/tasks/{lenas.gid}", timeout=5).status_code == 403
    put = anna.put(
        f"{sandbox.base_url}/tasks/{lenas.gid}", json={"data": {"name": "mine now"}}, timeout=5
    )
    assert put.status_code == 403
    assert lenas.name == "Submit the October expense report"
    listing = anna.get(
        f"{sandbox.base_url}/tasks", params={"assignee": "me", "workspace": FISCHER}, timeout=5
    )
    assert listing.status_code == 403


def test_listing_without_a_workspace_shows_only_ones_own(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    projects = anna.get(f"{sandbox.base_url}/projects", timeout=5).json()["data"]
    assert [p["name"] for p in projects] == ["Operations", "Client Admin", "Strategy"]
    users = anna.get(f"{sandbox.base_url}/users", timeout=5).json()["data"]
    assert len(users) == 4
