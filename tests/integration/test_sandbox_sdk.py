"""Asana's official Python SDK (v5) against the sandbox: a client nobody here wrote has to work.

API-NOTES section 1 lists the SDK's quirks this follows: opt_fields as a comma-separated string,
a fresh opts dict for every call (the SDK mutates it), ``full_payload=True`` for /events and
/batch. Each ApiClient starts a ThreadPool that its ``__del__`` would join at garbage collection;
the fixture closes the pool and the urllib3 connections itself so nothing leaks into other tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import asana
import pytest
from asana.rest import ApiException

from delegator.sandbox import SandboxServer

OPERATIONS = "1100000000000201"
GIULIA = "1100000000000102"
URGENT = "1100000000000401"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer.demo() as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[Any]:
    configuration = asana.Configuration()
    configuration.host = sandbox.base_url
    configuration.access_token = sandbox.token("anna@northwind.example")
    api_client = asana.ApiClient(configuration)
    try:
        yield api_client
    finally:
        api_client.pool.close()
        api_client.pool.join()
        del api_client.pool  # so that ApiClient.__del__ has no pool left to join
        api_client.rest_client.pool_manager.clear()


def test_listing_a_projects_tasks_follows_every_page(client: Any, sandbox: SandboxServer) -> None:
    tasks = asana.TasksApi(client).get_tasks_for_project(
        OPERATIONS, {"limit": 5, "opt_fields": "name,assignee.email,memberships.section.name"}
    )
    listed = list(tasks)
    expected = [task.name for task in sandbox.world.project("Operations").tasks()]
    assert [task["name"] for task in listed] == expected
    assert len(listed) == 19
    assert listed[0]["assignee"]["email"] == "anna@northwind.example"
    assert listed[0]["memberships"][0]["section"]["name"] == "Inbox"
    pages = [e for e in sandbox.requests.entries() if e.endpoint == "/projects/{project_gid}/tasks"]
    assert len(pages) == 4
    assert [e.query.get("offset") is None for e in pages] == [True, False, False, False]
    assert {e.query["limit"] for e in pages} == {"5"}


def test_get_tasks_with_modified_since_and_completed_since(
    client: Any, sandbox: SandboxServer
) -> None:
    open_ones = asana.TasksApi(client).get_tasks(
        {"project": OPERATIONS, "completed_since": "now", "limit": 100, "opt_fields": "completed"}
    )
    assert {task["completed"] for task in open_ones} == {False}
    assert sandbox.requests.last().query["completed_since"] == "now"


def test_updating_an_assignee(client: Any, sandbox: SandboxServer) -> None:
    task = sandbox.world.task("Send November receipts to the accountant")
    updated = asana.TasksApi(client).update_task(
        {"data": {"assignee": GIULIA}}, task.gid, {"opt_fields": "assignee.name"}
    )
    assert updated == {"gid": task.gid, "assignee": {"gid": GIULIA, "name": "Giulia Bianchi"}}
    assert task.assignee is sandbox.world.user("Giulia Bianchi")
    assert task.stories[-1].text == "assigned to Giulia Bianchi"


def test_adding_a_tag_and_posting_a_comment(client: Any, sandbox: SandboxServer) -> None:
    task = sandbox.world.task("Order new business cards for Luca")
    assert asana.TasksApi(client).add_tag_for_task({"data": {"tag": URGENT}}, task.gid) == {}
    story = asana.StoriesApi(client).create_story_for_task(
        {"data": {"text": "Giulia will order these."}}, task.gid, {}
    )
    assert story["text"] == "Giulia will order these."
    assert story["created_by"]["name"] == "Anna Rossi"
    assert [tag.name for tag in task.tags] == ["urgent"]
    assert [s.resource_subtype for s in task.stories] == ["added_to_tag", "comment_added"]


def test_the_me_user_and_an_error(client: Any) -> None:
    me = asana.UsersApi(client).get_user("me", {"opt_fields": "email"})
    assert me == {"gid": "1100000000000101", "email": "anna@northwind.example"}
    with pytest.raises(ApiException) as caught:
        asana.TasksApi(client).get_task("1100000099999999", {})
    assert caught.value.status == 404
    assert json.loads(caught.value.body)["errors"][0]["message"] == (
        "task: Unknown object: 1100000099999999"
    )


def test_a_server_error_on_a_read_is_retried_by_the_sdk(
    client: Any, sandbox: SandboxServer
) -> None:
    sandbox.faults.fail_next(sandbox.token("anna@northwind.example"), 1)
    me = asana.UsersApi(client).get_user("me", {"opt_fields": "name"})
    assert me["name"] == "Anna Rossi"
    assert [e.status for e in sandbox.requests.entries()] == [500, 200]


def test_events_with_full_payload(client: Any, sandbox: SandboxServer) -> None:
    events_api = asana.EventsApi(client)
    with pytest.raises(ApiException) as caught:
        events_api.get_events(OPERATIONS, {}, full_payload=True)
    assert caught.value.status == 412
    sync = json.loads(caught.value.body)["sync"]
    world = sandbox.world
    world.assign(world.task("Unsubscribe from vendor mailing lists"), world.user("Marco Verdi"))
    page = events_api.get_events(OPERATIONS, {"sync": sync}, full_payload=True)
    assert [e["action"] for e in page["data"]] == ["changed", "added"]
    assert page["has_more"] is False
    assert page["sync"] != sync


def test_batch_with_full_payload(client: Any, sandbox: SandboxServer) -> None:
    task = sandbox.world.task("Order new business cards for Luca")
    result = asana.BatchAPIApi(client).create_batch_request(
        {
            "data": {
                "actions": [
                    {
                        "relative_path": f"/tasks/{task.gid}",
                        "method": "get",
                        "options": {"fields": ["name"]},
                    },
                    {
                        "relative_path": f"/tasks/{task.gid}/addTag",
                        "method": "post",
                        "data": {"tag": URGENT},
                    },
                ]
            }
        },
        {},
        full_payload=True,
    )
    assert [action["status_code"] for action in result["data"]] == [200, 200]
    assert result["data"][0]["body"]["data"]["name"] == "Order new business cards for Luca"
    assert [tag.name for tag in task.tags] == ["urgent"]
