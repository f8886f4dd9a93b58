"""Organizations with guests, private projects (403), deleted tasks (404), premium features (402)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from delegator.sandbox import FixtureError, ManualClock, SandboxServer, load_world

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OWNER = "token-olga"
GUEST = "token-vera"
MEMBER = "token-max"
FREE = "token-fred"
HELP = (
    "For more information on API status codes and how to handle them, "
    "read the docs on errors: https://developers.asana.com/docs/errors"
)


def fixture() -> dict[str, Any]:
    return {
        "workspaces": [
            {
                "name": "Client Org",
                "gid": "100",
                "is_organization": True,
                "users": [
                    {"name": "Olga", "email": "olga@client.example", "token": OWNER},
                    {"name": "Max", "email": "max@client.example", "token": MEMBER},
                ],
                "guests": [{"name": "Vera", "email": "vera@va.example", "token": GUEST}],
                "tags": ["urgent"],
                "custom_fields": [{"name": "Priority", "type": "enum", "options": ["High"]}],
                "projects": [
                    {
                        "name": "Shared",
                        "gid": "110",
                        "owner": "olga@client.example",
                        "members": ["vera@va.example"],
                        "sections": [{"name": "Inbox", "gid": "111"}],
                        "custom_fields": ["Priority"],
                        "tasks": [
                            {"name": "Shared task", "gid": "1001", "tags": ["urgent"]},
                            {
                                "name": "Parent",
                                "gid": "1002",
                                "subtasks": [{"name": "Child", "gid": "1003"}],
                            },
                        ],
                    },
                    {
                        "name": "Board",
                        "gid": "120",
                        "owner": "olga@client.example",
                        "private": True,
                        "sections": [{"name": "Ideas", "gid": "121"}],
                        "tasks": [
                            {"name": "Secret", "gid": "2001", "tags": ["urgent"]},
                            {"name": "Given to Vera", "gid": "2002", "assignee": "vera@va.example"},
                        ],
                    },
                    {"name": "Open", "gid": "130", "tasks": [{"name": "Public", "gid": "3001"}]},
                ],
                "tasks": [{"name": "Olga's own", "gid": "4001", "assignee": "olga@client.example"}],
            },
            {
                "name": "Free Co",
                "gid": "500",
                "plan": "free",
                "users": [{"name": "Fred", "email": "fred@free.example", "token": FREE}],
                "custom_fields": [{"name": "Size", "type": "number"}],
                "projects": [
                    {
                        "name": "Jobs",
                        "gid": "510",
                        "custom_fields": ["Size"],
                        "tasks": [{"name": "Job", "gid": "5001"}],
                    }
                ],
            },
        ]
    }


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer.from_fixture(fixture(), clock=ManualClock(START)) as server:
        yield server


class Api:
    def __init__(self, sandbox: SandboxServer) -> None:
        self.base = sandbox.base_url
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return self.http.request(method, self.base + path, headers=headers, timeout=5, **kwargs)

    def names(self, path: str, token: str, **params: str) -> list[str]:
        response = self.call("GET", path, token, params=params)
        assert response.status_code == 200, response.text
        return [record["name"] for record in response.json()["data"]]


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[Api]:
    made = Api(sandbox)
    yield made
    made.http.close()


def message(response: requests.Response) -> str:
    return str(response.json()["errors"][0]["message"])


# ---------------------------------------------------------------------- organizations and guests
def test_the_workspace_is_an_organization(api: Api) -> None:
    data = api.call("GET", "/workspaces/100", OWNER).json()["data"]
    assert data["is_organization"] is True


def test_a_private_project_is_forbidden_to_those_not_its_members(api: Api) -> None:
    refused = api.call("GET", "/projects/120", MEMBER)
    assert refused.status_code == 403
    assert refused.json() == {
        "errors": [{"message": "project: You do not have access to this object: 120", "help": HELP}]
    }
    assert api.call("GET", "/projects/120/tasks", MEMBER).status_code == 403
    assert api.call("GET", "/sections/121", MEMBER).status_code == 403
    assert api.call("GET", "/projects/120", OWNER).status_code == 200
    assert api.names("/workspaces/100/projects", MEMBER) == ["Shared", "Open"]
    assert api.names("/workspaces/100/projects", OWNER) == ["Shared", "Board", "Open"]


def test_a_task_only_in_a_private_project_is_forbidden(api: Api) -> None:
    refused = api.call("GET", "/tasks/2001", MEMBER)
    assert refused.status_code == 403
    assert message(refused) == "task: You do not have access to this object: 2001"
    assert api.call("PUT", "/tasks/2001", MEMBER, json={"data": {"name": "x"}}).status_code == 403
    assert api.call("GET", "/tasks/2001/stories", MEMBER).status_code == 403
    # A tag's list leaves out what the caller cannot see.
    tasks = api.names(f"/tags/{tag_gid(api)}/tasks", MEMBER)
    assert tasks == ["Shared task"]
    assert api.names(f"/tags/{tag_gid(api)}/tasks", OWNER) == ["Shared task", "Secret"]


def tag_gid(api: Api) -> str:
    tags = api.call("GET", "/workspaces/100/tags", OWNER).json()["data"]
    return str(tags[0]["gid"])


def test_a_guest_sees_the_projects_they_are_in_and_the_tasks_given_to_them(api: Api) -> None:
    assert api.names("/workspaces/100/projects", GUEST) == ["Shared"]
    assert api.call("GET", "/projects/130", GUEST).status_code == 403  # public, but not for guests
    assert api.call("GET", "/tasks/3001", GUEST).status_code == 403
    assert api.call("GET", "/tasks/4001", GUEST).status_code == 403  # in no project
    assert api.call("GET", "/tasks/1003", GUEST).status_code == 200  # subtask of a shared task
    assert api.call("GET", "/tasks/2002", GUEST).status_code == 200  # assigned to her
    assert api.call("GET", "/tasks/2001", GUEST).status_code == 403
    mine = api.names("/tasks", GUEST, assignee="me", workspace="100")
    assert mine == ["Given to Vera"]


def test_a_follower_guest_sees_the_task(api: Api, sandbox: SandboxServer) -> None:
    world = sandbox.world
    world.add_followers(world.task("Public"), [world.user("vera@va.example")])
    assert api.call("GET", "/tasks/3001", GUEST).status_code == 200


def test_guests_belong_to_organizations_only() -> None:
    data = fixture()
    data["workspaces"][1]["guests"] = [{"name": "G", "email": "g@x.example"}]
    with pytest.raises(FixtureError, match=r"workspaces\[1\]\.guests\[0\]: only an organization"):
        load_world(data)


def test_a_plan_is_free_or_paid() -> None:
    data = fixture()
    data["workspaces"][1]["plan"] = "gold"
    with pytest.raises(FixtureError, match=r"workspaces\[1\]\.plan: one of free, paid"):
        load_world(data)


# ---------------------------------------------------------------------- deleted tasks
NOT_FOUND = {"errors": [{"message": "task: Unknown object: 1001", "help": HELP}]}


def test_a_deleted_task_answers_404_everywhere(api: Api, sandbox: SandboxServer) -> None:
    deleted = api.call("DELETE", "/tasks/1001", OWNER)
    assert (deleted.status_code, deleted.json()) == (200, {"data": {}})
    for method, path, body in (
        ("GET", "/tasks/1001", None),
        ("PUT", "/tasks/1001", {"data": {"name": "back"}}),
        ("POST", "/tasks/1001/stories", {"data": {"text": "hello?"}}),
        ("DELETE", "/tasks/1001", None),
    ):
        answer = api.call(method, path, OWNER, json=body)
        assert (answer.status_code, answer.json()) == (404, NOT_FOUND), (method, path)
    assert api.names("/projects/110/tasks", OWNER) == ["Parent"]
    assert sandbox.world.is_deleted("1001")


def test_a_deleted_task_answers_404_in_a_batch(api: Api, sandbox: SandboxServer) -> None:
    sandbox.world.delete_task(sandbox.world.task("Shared task"))
    actions = [
        {"relative_path": "/tasks/1001", "method": "get"},
        {"relative_path": "/tasks/1001", "method": "put", "data": {"name": "x"}},
        {"relative_path": "/tasks/1002", "method": "get"},
    ]
    results = api.call("POST", "/batch", OWNER, json={"data": {"actions": actions}}).json()["data"]
    assert [r["status_code"] for r in results] == [404, 404, 200]
    assert results[0]["body"] == NOT_FOUND


def test_deleting_a_task_deletes_its_subtasks_and_leaves_an_event(sandbox: SandboxServer) -> None:
    world = sandbox.world
    parent = world.task("Parent")
    assert world.delete_task(parent, by=world.user("Olga")) is True
    assert world.delete_task(parent) is False
    assert world.is_deleted("1003")
    with pytest.raises(KeyError):
        world.task("Child")
    (event,) = [e for e in world.events.all() if e.action == "deleted" and e.resource is parent]
    assert "110" in event.streams


# ---------------------------------------------------------------------- premium features
def test_writing_custom_fields_in_a_free_workspace_is_402(api: Api) -> None:
    field = api.call("GET", "/workspaces/500/custom_fields", FREE).json()["data"][0]["gid"]
    refused = api.call("PUT", "/tasks/5001", FREE, json={"data": {"custom_fields": {field: 3}}})
    assert refused.status_code == 402
    assert refused.json() == {
        "errors": [
            {
                "message": "Custom fields is a premium feature, not available for free "
                "workspaces: workspace 500 is on the free plan",
                "help": HELP,
            }
        ]
    }
    created = api.call(
        "POST", "/tasks", FREE, json={"data": {"name": "n", "projects": ["510"],
                                               "custom_fields": {field: 1}}}
    )  # fmt: skip
    assert created.status_code == 402
    assert api.call("PUT", "/tasks/5001", FREE, json={"data": {"name": "ok"}}).status_code == 200


def test_search_in_a_free_workspace_is_402(api: Api) -> None:
    refused = api.call("GET", "/workspaces/500/tasks/search", FREE)
    assert refused.status_code == 402
    assert "not available for free workspaces" in message(refused)
    assert api.call("GET", "/workspaces/100/tasks/search", OWNER).status_code == 200
