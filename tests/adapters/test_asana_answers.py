"""Asana's answers distrusted: a 200 of the wrong shape is an `UnexpectedAnswer`, never "nothing".

Each test feeds the client (or the backend the service sees) a successful answer whose body is
not what the endpoint returns, and checks that it is an error naming the endpoint and what was
wrong, retried like a 5xx: not "0 tasks", not "no such user", not a TypeError.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import responses
from asana_fakes import BASE, START, me_response

from delegator.asana import (
    AsanaClient,
    Outcome,
    ServerError,
    Source,
    SyncPosition,
    UnexpectedAnswer,
    writes,
)
from delegator.asana.backend import AsanaBackend
from delegator.clock import ManualClock
from delegator.core.context import Directory, Identity
from delegator.core.intents import Assign, Comment
from delegator.core.model import Task
from delegator.core.schema import WatchSource
from delegator.ports import BackendError, WatchedSource

WORKSPACE = "77"
TASKS = f"{BASE}/projects/300/tasks"
ATTEMPTS = 4  # the default policy's attempts for a 5xx

#: Wrong-shape answers to a task list, each with what the error must say.
WRONG_PAGES: list[tuple[str, Any, str]] = [
    ("null data", {"data": None, "next_page": None}, "data is null, expected a list"),
    ("empty object", {"data": {}}, "data is an object, expected a list"),
    ("string data", {"data": ""}, "data is a string, expected a list"),
    ("list of lists", {"data": [[{"gid": "1"}]]}, r"data\[0\] is a list, expected an object"),
    ("no data", {"next_page": None}, "the answer has no data"),
    ("record without gid", {"data": [{"name": "x"}]}, r"data\[0\] has no gid"),
    ("numeric gid", {"data": [{"gid": 12}]}, r"data\[0\] has a gid that is a number"),
    ("next_page a string", {"data": [], "next_page": "x"}, "next_page is a string"),
    ("next_page no offset", {"data": [], "next_page": {}}, "next_page.offset is null"),
    ("a list", [], "the answer is a list, not a JSON object"),
]


@pytest.fixture
def backend(client: AsanaClient) -> AsanaBackend:
    return AsanaBackend(client, WORKSPACE)


def _position(read_before: bool) -> SyncPosition:
    if not read_before:
        return SyncPosition(Source.project("300"))
    return SyncPosition(Source.project("300"), START - timedelta(minutes=5), START)


# ---------------------------------------------------------------- 1. task lists


@pytest.mark.parametrize(
    ("name", "answer", "message"), WRONG_PAGES, ids=[w[0] for w in WRONG_PAGES]
)
def test_a_wrong_shape_task_list_is_an_error_naming_the_endpoint_not_no_tasks(
    client: AsanaClient, api: responses.RequestsMock, name: str, answer: Any, message: str
) -> None:
    # Before: each of these read as "0 tasks" and the position moved on.
    for _ in range(ATTEMPTS):
        api.get(TASKS, json=answer)

    with pytest.raises(UnexpectedAnswer, match=message) as caught:
        client.read_source(_position(read_before=False), ("name",))

    error = caught.value
    assert str(error).startswith("GET /projects/300/tasks: unexpected answer (200): ")
    assert isinstance(error, ServerError)
    assert error.outcome is Outcome.SKIP  # retried as a 5xx, then given up for this read
    assert len(api.calls) == ATTEMPTS


def test_an_incremental_read_of_a_wrong_shape_answer_raises_and_returns_no_position(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    for _ in range(ATTEMPTS):
        api.get(f"{BASE}/tasks", json={"data": None})

    with pytest.raises(UnexpectedAnswer, match="GET /tasks: "):
        client.read_source(_position(read_before=True), ("name",))


def test_a_wrong_shape_answer_followed_by_a_good_one_is_read_whole(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    api.get(TASKS, json={"data": None})
    api.get(TASKS, json={"data": [{"gid": "1", "name": "Pay rent"}], "next_page": None})

    read = client.read_source(_position(read_before=False), ("name",))

    assert [task["gid"] for task in read.tasks] == ["1"]
    assert clock.slept == [1.0]  # the backoff of a 5xx


def test_the_backend_reports_a_wrong_shape_read_as_a_source_error(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(TASKS, json={"data": [], "next_page": None})
    source = WatchedSource("project Ops", "project:300")
    read = backend.read(source, None)
    assert read.tasks == []  # an empty list is an answer: no tasks

    for _ in range(ATTEMPTS):
        api.get(TASKS, json={"data": {"gid": "1"}})
    with pytest.raises(BackendError, match="GET /projects/300/tasks: unexpected answer") as failed:
        backend.read(source, read.position, whole=True)
    assert not failed.value.fatal  # the service records it for the source and goes on


def test_an_offset_given_twice_is_an_error_not_an_endless_walk(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    for _ in range(2):
        api.get(TASKS, json={"data": [{"gid": "1"}], "next_page": {"offset": "same"}})

    with pytest.raises(UnexpectedAnswer, match="repeats an earlier page"):
        list(client.tasks(Source.project("300"), ("name",)))
    assert len(api.calls) == 2


def test_a_full_search_page_whose_last_task_has_no_time_is_an_error(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    page = [{"gid": str(n), "modified_at": "2026-11-27T08:59:00.000Z"} for n in range(99)]
    page.append({"gid": "99", "modified_at": "yesterday"})
    api.get(f"{BASE}/workspaces/{WORKSPACE}/tasks/search", json={"data": page})
    position = SyncPosition(Source.tag("5"), START - timedelta(minutes=5), START, search=True)
    client.workspace_gid = WORKSPACE

    with pytest.raises(UnexpectedAnswer, match=r"data\[99\].modified_at is not a time"):
        client.read_source(position, ("name",))


# ---------------------------------------------------------------- 2. directory reads


def test_a_garbled_user_is_an_unexpected_answer_not_no_such_user(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    # Before: "no user ... in the workspace", blaming the rules.
    for _ in range(ATTEMPTS):
        api.get(f"{BASE}/users/giulia@example.com", json={"data": None})

    with pytest.raises(BackendError, match=r"GET /users/giulia@example.com: unexpected answer"):
        backend.person("giulia@example.com")


def test_a_user_whose_workspaces_are_garbled_is_an_unexpected_answer(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    for _ in range(ATTEMPTS):
        api.get(f"{BASE}/users/200", json={"data": {"gid": "200", "workspaces": "77"}})

    with pytest.raises(UnexpectedAnswer, match=r"data\.workspaces is a string, expected a list"):
        client.lookups().user_by_gid(WORKSPACE, "200")


def test_a_user_of_another_workspace_is_still_not_one_of_its_people(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/users/200", json={"data": {"gid": "200", "workspaces": [{"gid": "1"}]}})

    assert client.lookups().user_by_gid(WORKSPACE, "200") is None


DIRECTORY: list[tuple[str, str, Any]] = [
    ("tags", f"{BASE}/workspaces/{WORKSPACE}/tags", lambda lk: lk.tag(WORKSPACE, "waiting")),
    (
        "projects",
        f"{BASE}/workspaces/{WORKSPACE}/projects",
        lambda lk: lk.project(WORKSPACE, "Ops"),
    ),
    ("sections", f"{BASE}/projects/300/sections", lambda lk: lk.section("300", "Doing")),
    (
        "custom fields",
        f"{BASE}/workspaces/{WORKSPACE}/custom_fields",
        lambda lk: lk.custom_field("Priority", workspace_gid=WORKSPACE),
    ),
    (
        "custom field settings",
        f"{BASE}/projects/300/custom_field_settings",
        lambda lk: lk.custom_field("Priority", project_gid="300"),
    ),
    ("users", f"{BASE}/users", lambda lk: lk.users(WORKSPACE)),
]

GARBLED_LISTS: list[tuple[str, Any, str]] = [
    ("null", {"data": None}, "data is null"),
    ("no data", {}, "the answer has no data"),
    ("strings", {"data": ["waiting"]}, r"data\[0\] is a string"),
    ("unnamed", {"data": [{"gid": "1"}]}, r"data\[0\]\.(custom_field|name)"),
]


@pytest.mark.parametrize(("kind", "url", "look"), DIRECTORY, ids=[d[0] for d in DIRECTORY])
@pytest.mark.parametrize(
    ("garbage", "answer", "message"), GARBLED_LISTS, ids=[g[0] for g in GARBLED_LISTS]
)
def test_a_garbled_directory_list_is_an_unexpected_answer_not_a_missing_name(
    client: AsanaClient,
    api: responses.RequestsMock,
    kind: str,
    url: str,
    look: Any,
    garbage: str,
    answer: Any,
    message: str,
) -> None:
    # Before: None ("no tag called ... in the workspace") or an empty list.
    for _ in range(ATTEMPTS):
        api.get(url, json=answer)

    with pytest.raises(UnexpectedAnswer, match=message) as caught:
        look(client.lookups())
    assert caught.value.path == url.removeprefix(BASE)


def test_a_garbled_tag_list_reaches_the_service_as_a_backend_error_not_not_in_workspace(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    for _ in range(ATTEMPTS):
        api.get(f"{BASE}/workspaces/{WORKSPACE}/tags", json={"data": None})
    watch = WatchSource.model_validate({"tag": "waiting"})

    with pytest.raises(BackendError, match="/workspaces/77/tags: unexpected answer") as failed:
        backend.watched(watch, Identity(gid="1"))
    assert type(failed.value) is BackendError  # not NotInWorkspace: the rules are not to blame


# ---------------------------------------------------------------- 3. write answers


@pytest.mark.parametrize("answer", [{"data": None}, {"data": "ok"}, {"data": []}, {}])
def test_a_wrong_shape_answer_to_an_assignment_is_an_unexpected_answer(
    client: AsanaClient, api: responses.RequestsMock, answer: Any
) -> None:
    # Before: dict(None) / dict("ok") raised TypeError / ValueError out of the client.
    for _ in range(ATTEMPTS):
        api.put(f"{BASE}/tasks/1", json=answer)

    with pytest.raises(UnexpectedAnswer, match="PUT /tasks/1: unexpected answer") as caught:
        client.assign("1", "42")
    assert caught.value.outcome is Outcome.SKIP


def test_a_wrong_shape_answer_to_a_comment_is_checked_for_not_a_traceback(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    # Before: None["gid"] raised TypeError. Now: the comment may exist, so it is looked for.
    me_response(api, gid="100")
    api.post(f"{BASE}/tasks/1/stories", status=201, json={"data": None})
    api.get(
        f"{BASE}/tasks/1/stories",
        json={
            "data": [
                {
                    "gid": "555",
                    "text": "All yours",
                    "resource_subtype": "comment_added",
                    "created_by": {"gid": "100"},
                    "created_at": "2026-11-27T09:00:00.500Z",
                }
            ],
            "next_page": None,
        },
    )

    assert client.comment("1", "All yours") == "555"
    assert [call.request.method for call in api.calls].count("POST") == 1


def test_a_wrong_shape_comment_answer_reaches_the_service_as_a_backend_error(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    me_response(api, gid="100")
    for _ in range(ATTEMPTS):  # each ambiguous answer: looked for (not there), sent again
        api.post(f"{BASE}/tasks/1/stories", status=201, json={"data": "posted"})
    for _ in range(ATTEMPTS - 1):
        api.get(f"{BASE}/tasks/1/stories", json={"data": [], "next_page": None})
    task = Task(gid="1", name="Pay rent")

    with pytest.raises(BackendError, match="POST /tasks/1/stories: unexpected answer"):
        backend.write(task, Comment("hello", rule="r"), text="hello", directory=Directory())


def test_a_wrong_shape_assignment_reaches_the_service_as_a_backend_error(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    for _ in range(ATTEMPTS):
        api.put(f"{BASE}/tasks/1", json={"data": "assigned"})
    task = Task(gid="1", name="Pay rent")

    with pytest.raises(BackendError, match="PUT /tasks/1: unexpected answer"):
        backend.write(task, Assign(to="giulia"), assignee=Identity("200", "g@example.com", "G"))


def test_an_empty_answer_to_add_tag_is_fine_but_a_null_one_is_not(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks/1/addTag", json={"data": {}})
    client.add_tag("1", "7")

    for _ in range(ATTEMPTS):
        api.post(f"{BASE}/tasks/2/addTag", json={"data": None})
    with pytest.raises(UnexpectedAnswer, match="data is null, expected an object"):
        client.add_tag("2", "7")


def test_the_token_user_must_be_a_record(client: AsanaClient, api: responses.RequestsMock) -> None:
    for _ in range(ATTEMPTS):
        api.get(f"{BASE}/users/me", json={"data": {"name": "Bot"}})

    with pytest.raises(UnexpectedAnswer, match=r"GET /users/me: .*data has no gid"):
        client.me()


# ---------------------------------------------------------------- batch


BATCH = f"{BASE}/batch"

WRONG_BATCHES: list[tuple[str, Any, str]] = [
    ("null", {"data": None}, "data is null, expected a list of 2 results"),
    ("short", {"data": [{"status_code": 200, "body": {"data": {}}}]}, "1 results for 2 actions"),
    (
        "no status",
        {"data": [{"body": {"data": {}}}, {"status_code": 200, "body": {"data": {}}}]},
        r"data\[0\].status_code is null",
    ),
    (
        "status a string",
        {"data": [{"status_code": "200", "body": {}}, {"status_code": 200, "body": {}}]},
        r"data\[0\].status_code is a string",
    ),
    (
        "body a list",
        {"data": [{"status_code": 200, "body": []}, {"status_code": 200, "body": {}}]},
        r"data\[0\].body is a list",
    ),
]


@pytest.mark.parametrize(
    ("name", "answer", "message"), WRONG_BATCHES, ids=[w[0] for w in WRONG_BATCHES]
)
def test_a_wrong_shape_batch_is_an_unexpected_answer(
    client: AsanaClient, api: responses.RequestsMock, name: str, answer: Any, message: str
) -> None:
    for _ in range(ATTEMPTS):
        api.post(BATCH, json=answer)

    with pytest.raises(UnexpectedAnswer, match=message):
        client.batch([writes.add_tag("1", "7"), writes.add_tag("2", "7")])


def test_a_batch_success_of_the_wrong_shape_is_that_actions_error(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(
        BATCH,
        json={
            "data": [
                {"status_code": 200, "body": {"data": {"gid": "1", "name": "Fine"}}},
                {"status_code": 200, "body": {"data": None}},
                {"status_code": 200, "body": {}},
            ]
        },
    )

    results = client.batch([writes.get_task(gid, ("name",)) for gid in ("1", "2", "3")])

    assert [r.ok for r in results] == [True, False, False]
    assert isinstance(results[1].error, UnexpectedAnswer)
    assert str(results[1].error) == (
        "GET /tasks/2: unexpected answer (200): data is null, expected an object with a gid"
    )
    assert "the answer has no data" in str(results[2].error)
    assert len(api.calls) == 1


def test_the_backend_reports_a_wrong_shape_batch_result_as_that_tasks_error(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(
        BATCH,
        json={
            "data": [
                {"status_code": 200, "body": {"data": {"gid": "1", "name": "Fine"}}},
                {"status_code": 200, "body": {"data": []}},
            ]
        },
    )

    first, second = backend.read_tasks(["1", "2"])

    assert first.task is not None
    assert second.task is None
    assert second.gone is None
    assert "unexpected answer" in (second.error or "")


def test_json_nested_beyond_what_python_parses_is_an_unexpected_answer(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    for _ in range(ATTEMPTS):
        api.get(f"{BASE}/tasks/1", body="[" * 100_000, content_type="application/json")

    with pytest.raises(UnexpectedAnswer, match="not JSON"):
        client.get_task("1", ("name",))
