"""The Batch API: splitting, per-action results and errors, budget units, safe retries."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses
from asana_fakes import BASE, body, me_response, path

from delegator.asana import (
    AsanaClient,
    Forbidden,
    NotFound,
    ServerError,
    Unauthorized,
    writes,
)
from delegator.clock import ManualClock

BATCH = f"{BASE}/batch"


def ok(count: int, status: int = 200) -> dict[str, Any]:
    return {
        "data": [
            {"status_code": status, "headers": {}, "body": {"data": {"gid": str(9000 + n)}}}
            for n in range(count)
        ]
    }


def test_actions_are_split_into_batches_of_ten(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    actions = [writes.add_tag(str(n), "7") for n in range(23)]
    for count in (10, 10, 3):
        api.post(BATCH, json=ok(count))

    results = client.batch(actions)

    assert [len(body(call)["data"]["actions"]) for call in api.calls] == [10, 10, 3]
    assert [result.action for result in results] == actions
    assert all(result.ok and result.status == 200 for result in results)
    assert body(api.calls[2])["data"]["actions"][0] == {
        "relative_path": "/tasks/20/addTag",
        "method": "post",
        "data": {"tag": "7"},
    }


def test_batch_entries_carry_data_and_fields(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(BATCH, json=ok(3))

    client.batch(
        [
            writes.assign("1", "42"),
            writes.comment("2", "Over to you"),
            writes.get_task("3", ["name", "due_on"]),
        ]
    )

    assert body(api.calls[0]) == {
        "data": {
            "actions": [
                {
                    "relative_path": "/tasks/1",
                    "method": "put",
                    "data": {"assignee": "42"},
                    "options": {"fields": ["modified_at"]},
                },
                {
                    "relative_path": "/tasks/2/stories",
                    "method": "post",
                    "data": {"text": "Over to you"},
                    "options": {"fields": ["created_at"]},
                },
                {
                    "relative_path": "/tasks/3",
                    "method": "get",
                    "options": {"fields": ["name", "due_on"]},
                },
            ]
        }
    }
    assert path(api.calls[0]) == "/batch"


def test_each_action_costs_one_unit_of_its_kind(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(BATCH, json=ok(10))
    api.post(BATCH, json=ok(2))

    client.batch([writes.add_tag(str(n), "7") for n in range(12)])

    assert client.budget.units_spent == 12
    assert client.requests_sent == 2


def test_failed_actions_get_mapped_errors_and_the_rest_succeed(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(
        BATCH,
        json={
            "data": [
                {"status_code": 200, "headers": {}, "body": {"data": {"gid": "1"}}},
                {
                    "status_code": 404,
                    "headers": {},
                    "body": {"errors": [{"message": "task: Unknown object: 2"}]},
                },
                {"status_code": 403, "headers": {}, "body": {"errors": [{"message": "Forbidden"}]}},
                {
                    "status_code": 201,
                    "headers": {"location": "/stories/55"},
                    "body": {"data": {"gid": "55"}},
                },
                {
                    "status_code": 500,
                    "headers": {},
                    "body": {"errors": [{"message": "Server Error", "phrase": "6 sad squid"}]},
                },
            ]
        },
    )
    actions = [
        writes.assign("1", "42"),
        writes.add_tag("2", "7"),
        writes.add_tag("3", "7"),
        writes.comment("4", "hello"),
        writes.remove_tag("5", "7"),
    ]

    results = client.batch(actions)

    assert [r.status for r in results] == [200, 404, 403, 201, 500]
    assert [r.ok for r in results] == [True, False, False, True, False]
    assert results[0].data == {"gid": "1"}
    assert results[3].data == {"gid": "55"}
    assert isinstance(results[1].error, NotFound)
    assert results[1].error.messages == ("task: Unknown object: 2",)
    assert results[1].error.path == "/tasks/2/addTag"
    assert isinstance(results[2].error, Forbidden)
    assert isinstance(results[4].error, ServerError)
    assert len(api.calls) == 1  # per-action failures are reported, not retried blindly


def test_a_whole_batch_429_is_retried_after_retry_after(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    api.post(BATCH, status=429, headers={"Retry-After": "9"})
    api.post(BATCH, json=ok(2))

    results = client.batch([writes.comment("1", "a"), writes.comment("2", "b")])

    assert [r.ok for r in results] == [True, True]
    assert clock.slept == [9.0]
    assert len(api.calls) == 2
    assert client.budget.units_spent == 4  # a rejected batch still counts


def test_an_idempotent_batch_is_retried_after_a_5xx(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    api.post(BATCH, status=503)
    api.post(BATCH, json=ok(2))

    results = client.batch([writes.add_tag("1", "7"), writes.assign("2", "42")])

    assert all(r.ok for r in results)
    assert clock.slept == [1.0]


def test_after_an_ambiguous_failure_only_missing_creates_are_sent_again(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    posted = {
        "gid": "s1",
        "text": "first",
        "created_by": {"gid": "100"},
        "created_at": "2026-11-27T09:00:00.100Z",
    }
    api.post(BATCH, body=requests.ReadTimeout("read timed out"))
    me_response(api, gid="100")
    api.get(f"{BASE}/tasks/1/stories", json={"data": [posted], "next_page": None})
    api.get(f"{BASE}/tasks/2/stories", json={"data": [], "next_page": None})
    api.post(
        BATCH,
        json={
            "data": [
                {"status_code": 200, "headers": {}, "body": {"data": {}}},
                {"status_code": 201, "headers": {}, "body": {"data": {"gid": "s2"}}},
            ]
        },
    )
    actions = [
        writes.comment("1", "first"),
        writes.add_tag("1", "7"),
        writes.comment("2", "second"),
    ]

    results = client.batch(actions)

    assert [r.status for r in results] == [201, 200, 201]
    assert results[0].recovered is True
    assert results[0].data["gid"] == "s1"
    assert results[2].data == {"gid": "s2"}
    resent = body(api.calls[-1])["data"]["actions"]
    assert [a["relative_path"] for a in resent] == ["/tasks/1/addTag", "/tasks/2/stories"]
    assert clock.slept == [1.0]


def test_after_an_ambiguous_failure_an_uncheckable_create_is_reported_not_resent(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(BATCH, status=500)
    api.post(BATCH, json=ok(1))

    results = client.batch(
        [writes.create_task("Loose task", workspace_gid="77"), writes.add_tag("1", "7")]
    )

    assert isinstance(results[0].error, ServerError)
    assert results[0].status == 0
    assert results[1].ok
    assert [a["relative_path"] for a in body(api.calls[1])["data"]["actions"]] == [
        "/tasks/1/addTag"
    ]


def test_a_whole_batch_error_is_raised(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.post(BATCH, status=401, json={"errors": [{"message": "Not Authorized"}]})

    with pytest.raises(Unauthorized):
        client.batch([writes.add_tag("1", "7")])


def test_a_batch_answer_with_the_wrong_number_of_results_is_a_server_error(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(BATCH, json=ok(1))

    with pytest.raises(ServerError, match="1 results for 2 actions"):
        client.batch([writes.add_tag("1", "7"), writes.add_tag("2", "7")])


def test_an_empty_list_sends_nothing(client: AsanaClient, api: responses.RequestsMock) -> None:
    assert client.batch([]) == []
    assert len(api.calls) == 0
