"""The exact requests every write sends, and creates that are never made twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import responses
from asana_fakes import BASE, body, me_response, path, query

from delegator.asana import AsanaClient, Outcome, ServerError, TransportError, writes
from delegator.clock import ManualClock

# ---------------------------------------------------------------- request shapes

TASK_ANSWER = {"data": {"gid": "1", "modified_at": "2026-11-27T09:00:00.000Z"}}

WRITES: list[tuple[str, Callable[[AsanaClient], Any], str, str, dict[str, str], Any]] = [
    (
        "assign",
        lambda c: c.assign("1", "42"),
        "PUT",
        "/tasks/1",
        {"opt_fields": "modified_at"},
        {"data": {"assignee": "42"}},
    ),
    (
        "unassign",
        lambda c: c.assign("1", None),
        "PUT",
        "/tasks/1",
        {"opt_fields": "modified_at"},
        {"data": {"assignee": None}},
    ),
    (
        "due",
        lambda c: c.set_due_on("1", date(2026, 12, 4)),
        "PUT",
        "/tasks/1",
        {"opt_fields": "modified_at"},
        {"data": {"due_on": "2026-12-04"}},
    ),
    (
        "no due",
        lambda c: c.set_due_on("1", None),
        "PUT",
        "/tasks/1",
        {"opt_fields": "modified_at"},
        {"data": {"due_on": None}},
    ),
    (
        "custom fields",
        lambda c: c.set_custom_fields(
            "1",
            {
                "11": "opt-high",
                "12": 3.5,
                "13": ["opt-a", "opt-b"],
                "14": date(2026, 12, 1),
                "15": None,
            },
        ),
        "PUT",
        "/tasks/1",
        {"opt_fields": "modified_at"},
        {
            "data": {
                "custom_fields": {
                    "11": "opt-high",
                    "12": 3.5,
                    "13": ["opt-a", "opt-b"],
                    "14": "2026-12-01",
                    "15": None,
                }
            }
        },
    ),
    (
        "update",
        lambda c: c.update_task("1", {"completed": True}),
        "PUT",
        "/tasks/1",
        {"opt_fields": "modified_at"},
        {"data": {"completed": True}},
    ),
    (
        "addTag",
        lambda c: c.add_tag("1", "7"),
        "POST",
        "/tasks/1/addTag",
        {},
        {"data": {"tag": "7"}},
    ),
    (
        "removeTag",
        lambda c: c.remove_tag("1", "7"),
        "POST",
        "/tasks/1/removeTag",
        {},
        {"data": {"tag": "7"}},
    ),
    (
        "addFollowers",
        lambda c: c.add_followers("1", ["42", "ana@example.com"]),
        "POST",
        "/tasks/1/addFollowers",
        {"opt_fields": "modified_at"},
        {"data": {"followers": ["42", "ana@example.com"]}},
    ),
    (
        "addTask",
        lambda c: c.move_to_section("1", "5"),
        "POST",
        "/sections/5/addTask",
        {},
        {"data": {"task": "1"}},
    ),
    (
        "addTask before",
        lambda c: c.move_to_section("1", "5", insert_before="2"),
        "POST",
        "/sections/5/addTask",
        {},
        {"data": {"task": "1", "insert_before": "2"}},
    ),
    (
        "addProject",
        lambda c: c.add_project("1", "9"),
        "POST",
        "/tasks/1/addProject",
        {},
        {"data": {"project": "9"}},
    ),
    (
        "addProject in section",
        lambda c: c.add_project("1", "9", section_gid="5"),
        "POST",
        "/tasks/1/addProject",
        {},
        {"data": {"project": "9", "section": "5"}},
    ),
    (
        "comment",
        lambda c: c.comment("1", "Over to you, Ana."),
        "POST",
        "/tasks/1/stories",
        {"opt_fields": "created_at"},
        {"data": {"text": "Over to you, Ana."}},
    ),
    (
        "pinned comment",
        lambda c: c.comment("1", "Read me", pinned=True),
        "POST",
        "/tasks/1/stories",
        {"opt_fields": "created_at"},
        {"data": {"text": "Read me", "is_pinned": True}},
    ),
    (
        "create tag",
        lambda c: c.create_tag("77", "waiting-on-client"),
        "POST",
        "/workspaces/77/tags",
        {"opt_fields": "name"},
        {"data": {"name": "waiting-on-client"}},
    ),
    (
        "create task",
        lambda c: c.create_task(
            "Chase invoice 42",
            projects=["9"],
            assignee="42",
            notes="From rule 3",
            due_on=date(2026, 12, 1),
            tags=["7"],
        ),
        "POST",
        "/tasks",
        {"opt_fields": "name,permalink_url"},
        {
            "data": {
                "name": "Chase invoice 42",
                "projects": ["9"],
                "assignee": "42",
                "notes": "From rule 3",
                "due_on": "2026-12-01",
                "tags": ["7"],
            }
        },
    ),
    (
        "status update",
        lambda c: c.post_status_update("9", "All delegated.", "on_track", title="Weekly digest"),
        "POST",
        "/status_updates",
        {"opt_fields": "created_at"},
        {
            "data": {
                "parent": "9",
                "text": "All delegated.",
                "status_type": "on_track",
                "title": "Weekly digest",
            }
        },
    ),
]


@pytest.mark.parametrize(
    ("method", "url", "params", "payload", "call"),
    [(m, u, p, b, c) for _, c, m, u, p, b in WRITES],
    ids=[name for name, *_ in WRITES],
)
def test_request_shape(
    client: AsanaClient,
    api: responses.RequestsMock,
    method: str,
    url: str,
    params: dict[str, str],
    payload: Any,
    call: Callable[[AsanaClient], Any],
) -> None:
    status = (
        201
        if method == "POST"
        and url in {"/tasks/1/stories", "/workspaces/77/tags", "/tasks", "/status_updates"}
        else 200
    )
    answer = {"data": {"gid": "900"}} if status == 201 else TASK_ANSWER
    api.add(method, f"{BASE}{url}", status=status, json=answer)

    call(client)

    assert len(api.calls) == 1
    sent = api.calls[0]
    assert sent.request.method == method
    assert path(sent) == url
    assert query(sent) == params
    assert body(sent) == payload


def test_writes_return_what_asana_answers(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.post(
        f"{BASE}/tasks/1/stories", status=201, json={"data": {"gid": "555", "created_at": "x"}}
    )
    api.post(f"{BASE}/status_updates", status=201, json={"data": {"gid": "666"}})
    api.post(f"{BASE}/tasks/1/addTag", json={"data": {}})
    api.put(f"{BASE}/tasks/1", json=TASK_ANSWER)

    assert client.comment("1", "hi") == "555"
    assert client.post_status_update("9", "ok", "on_track") == "666"
    assert client.add_tag("1", "7") is None
    assert client.assign("1", "42") == TASK_ANSWER["data"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: writes.comment("1", "   "), "a comment needs text"),
        (lambda: writes.status_update("9", "x", "fine"), "status_type 'fine'"),
        (lambda: writes.move_to_section("1", "5", insert_before="2", insert_after="3"), "not both"),
        (lambda: writes.add_followers("1", "42"), "non-empty sequence"),
        (lambda: writes.create_task("x"), "projects or in a workspace"),
        (lambda: writes.update_task("1", {}), "at least one field"),
        (lambda: writes.add_tag("", "7"), "must not be empty"),
    ],
)
def test_malformed_writes_are_refused_before_sending(
    build: Callable[[], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("parent_type", "status_type"),
    [
        ("project", "achieved"),
        ("project", "partial"),
        ("project", "missed"),
        ("portfolio", "achieved"),
        ("goal", "on_hold"),
        ("goal", "complete"),
    ],
)
def test_a_status_type_the_parent_cannot_take_is_refused_before_sending(
    client: AsanaClient, api: responses.RequestsMock, parent_type: str, status_type: str
) -> None:
    with pytest.raises(ValueError, match=f"not valid for a {parent_type} status update"):
        client.post_status_update(
            "9",
            "All delegated.",
            status_type,
            parent_type=parent_type,  # type: ignore[arg-type]
        )

    assert len(api.calls) == 0


@pytest.mark.parametrize(
    ("parent_type", "status_type"),
    [
        ("project", "on_hold"),
        ("project", "complete"),
        ("portfolio", "dropped"),
        ("goal", "achieved"),
        ("goal", "partial"),
        ("goal", "missed"),
    ],
)
def test_a_status_type_the_parent_takes_is_sent(
    parent_type: writes.ParentType, status_type: str
) -> None:
    action = writes.status_update("9", "All delegated.", status_type, parent_type=parent_type)

    assert action.data == {"parent": "9", "status_type": status_type, "text": "All delegated."}


def test_a_status_update_always_carries_text() -> None:
    with pytest.raises(ValueError, match="a status update needs text"):
        writes.status_update("9", "  ", "on_track")


def test_gids_are_escaped_in_paths() -> None:
    assert writes.add_tag("1/../../users", "7").path == "/tasks/1%2F..%2F..%2Fusers/addTag"


def test_a_datetime_custom_field_is_sent_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    value = datetime(2026, 12, 1, 11, 30, tzinfo=paris)

    action = writes.set_custom_fields("1", {"14": value})

    assert action.data == {"custom_fields": {"14": "2026-12-01T10:30:00.000Z"}}


# ---------------------------------------------------------------- never twice

STORIES = f"{BASE}/tasks/1/stories"
TEXT = "Over to you, Ana: please send the invoice."


def story(
    gid: str, text: str, author: str, created_at: str, subtype: str = "comment_added"
) -> dict[str, Any]:
    return {
        "gid": gid,
        "text": text,
        "created_by": {"gid": author, "resource_type": "user"},
        "created_at": created_at,
        "resource_subtype": subtype,
    }


def test_a_comment_that_timed_out_but_was_posted_is_not_posted_again(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    api.post(STORIES, body=requests.ReadTimeout("read timed out"))
    me_response(api, gid="100")
    api.get(
        STORIES,
        json={
            "data": [
                story("s1", TEXT, "100", "2026-11-20T09:00:00.000Z"),  # same text, last week
                story("s2", TEXT, "200", "2026-11-27T09:00:00.500Z"),  # same text, someone else
                story("s3", "assigned to Ana", "100", "2026-11-27T09:00:00.200Z", "assigned"),
                story("s4", TEXT, "100", "2026-11-27T09:00:00.300Z"),  # ours, just now
            ],
            "next_page": None,
        },
    )

    assert client.comment("1", TEXT) == "s4"

    assert [(call.request.method, path(call)) for call in api.calls] == [
        ("POST", "/tasks/1/stories"),
        ("GET", "/users/me"),
        ("GET", "/tasks/1/stories"),
    ]
    assert query(api.calls[2]) == {
        "limit": "100",
        "opt_fields": "created_at,created_by,resource_subtype,text",
    }
    assert clock.slept == [1.0]


def test_a_comment_lost_to_a_5xx_is_posted_again_once_the_check_shows_it_absent(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(STORIES, status=502)
    me_response(api, gid="100")
    api.get(
        STORIES,
        json={
            "data": [story("s1", "something else", "100", "2026-11-27T09:00:00.100Z")],
            "next_page": None,
        },
    )
    api.post(STORIES, status=201, json={"data": {"gid": "s9"}})

    assert client.comment("1", TEXT) == "s9"

    assert [call.request.method for call in api.calls] == ["POST", "GET", "GET", "POST"]
    assert body(api.calls[0]) == body(api.calls[3]) == {"data": {"text": TEXT}}


def test_a_comment_check_reads_every_page_of_stories(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(STORIES, status=500)
    me_response(api, gid="100")
    api.get(
        STORIES,
        json={
            "data": [story("s1", "old", "100", "2026-11-01T00:00:00.000Z")],
            "next_page": {"offset": "p2"},
        },
    )
    api.get(
        STORIES,
        json={"data": [story("s2", TEXT, "100", "2026-11-27T09:00:00.000Z")], "next_page": None},
    )

    assert client.comment("1", TEXT) == "s2"

    assert query(api.calls[3])["offset"] == "p2"


def test_a_comment_that_keeps_failing_is_checked_before_every_resend(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    me_response(api, gid="100")
    for _ in range(4):
        api.post(STORIES, status=503)
    for _ in range(3):
        api.get(STORIES, json={"data": [], "next_page": None})

    with pytest.raises(ServerError) as caught:
        client.comment("1", TEXT)

    assert caught.value.outcome is Outcome.SKIP
    methods = [call.request.method + " " + path(call) for call in api.calls]
    assert methods.count("POST /tasks/1/stories") == 4
    assert methods.count("GET /tasks/1/stories") == 3
    assert methods[:4] == [
        "POST /tasks/1/stories",
        "GET /users/me",
        "GET /tasks/1/stories",
        "POST /tasks/1/stories",
    ]


def test_a_status_update_that_may_have_been_posted_is_looked_for_first(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/status_updates", body=requests.ConnectionError("Connection reset by peer"))
    me_response(api, gid="100")
    api.get(
        f"{BASE}/status_updates",
        json={
            "data": [
                {
                    "gid": "su1",
                    "text": "All delegated.",
                    "created_by": {"gid": "100"},
                    "created_at": "2026-11-27T09:00:01.000Z",
                }
            ],
            "next_page": None,
        },
    )

    assert client.post_status_update("9", "All delegated.", "on_track") == "su1"

    check = api.calls[2]
    assert path(check) == "/status_updates"
    assert query(check) == {
        "parent": "9",
        "created_since": "2026-11-27T08:59:00.000Z",  # the attempt's start minus the skew margin
        "limit": "100",
        "opt_fields": "created_at,created_by,text",
    }


def test_a_task_that_may_have_been_created_is_looked_for_in_its_project(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks", status=500)
    me_response(api, gid="100")
    api.get(f"{BASE}/tasks", json={"data": [], "next_page": None})
    api.post(f"{BASE}/tasks", status=201, json={"data": {"gid": "t2", "name": "Chase invoice"}})

    assert client.create_task("Chase invoice", projects=["9"])["gid"] == "t2"

    assert query(api.calls[2]) == {
        "project": "9",
        "modified_since": "2026-11-27T08:59:00.000Z",
        "limit": "100",
        "opt_fields": "name,created_at,created_by",
    }


def test_a_tag_that_may_have_been_created_is_found_by_name_in_any_case(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/workspaces/77/tags", body=requests.ReadTimeout("read timed out"))
    api.get(
        f"{BASE}/workspaces/77/tags",
        json={"data": [{"gid": "t7", "name": "Waiting-On-Client"}], "next_page": None},
    )

    assert client.create_tag("77", "waiting-on-client") == {
        "gid": "t7",
        "name": "Waiting-On-Client",
    }
    assert len(api.calls) == 2  # no /users/me: a tag is wanted whoever made it


def test_the_check_failing_reports_the_checks_error(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(STORIES, body=requests.ReadTimeout("read timed out"))
    me_response(api)
    for _ in range(4):
        api.get(STORIES, body=requests.ConnectionError("down"))

    with pytest.raises(TransportError) as caught:
        client.comment("1", TEXT)

    assert caught.value.method == "GET"
    assert caught.value.outcome is Outcome.FATAL
