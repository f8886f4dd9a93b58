"""The owner's history through the Asana adapter: each person's tasks listed (bounded), the
assistants' stories read ten tasks to a ``POST /batch``, a hand-off by hand told by its
``assigned`` story (to the assistant, by the owner, within the period), and what it cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from asana_fakes import BASE, body, path, query

from delegator.asana import AsanaClient
from delegator.asana.history import (
    ASSIGNMENT_STORY_FIELDS,
    HISTORY_TASK_FIELDS,
    AsanaHistory,
    handed_off_at,
    worst_case,
)
from delegator.core.context import Identity
from delegator.ports import BackendError, TokenRefused

WORKSPACE = "77"
SINCE = datetime(2026, 6, 1, tzinfo=UTC)
OWNER, GIULIA, LUCA = "101", "102", "104"


def _at(days: float) -> str:
    moment = SINCE + timedelta(days=days)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _user(api: responses.RequestsMock, email: str, gid: str) -> None:
    api.get(
        f"{BASE}/users/{email}",
        json={"data": {"gid": gid, "name": email.split("@")[0], "email": email,
                       "workspaces": [{"gid": WORKSPACE, "name": "W"}]}},
    )  # fmt: skip


def _task(gid: str, name: str, *, done_days: float | None = None) -> dict[str, Any]:
    return {
        "gid": gid,
        "name": name,
        "completed": done_days is not None,
        "completed_at": None if done_days is None else _at(done_days),
        "projects": [],
        "memberships": [],
        "tags": [],
        "custom_fields": [],
    }


def _tasks(
    api: responses.RequestsMock, tasks: list[dict[str, Any]], offset: str | None = None
) -> None:
    api.get(
        f"{BASE}/tasks",
        json={"data": tasks, "next_page": {"offset": offset} if offset else None},
    )


def _assigned(gid: str, days: float, to: str, by: str | None) -> dict[str, Any]:
    return {
        "gid": gid,
        "created_at": _at(days),
        "created_by": None if by is None else {"gid": by, "name": "x"},
        "resource_subtype": "assigned",
        "assignee": {"gid": to, "name": "y"},
    }


def _stories(api: responses.RequestsMock, per_task: list[list[dict[str, Any]]]) -> None:
    api.post(
        f"{BASE}/batch",
        json={
            "data": [
                {"status_code": 200, "headers": {}, "body": {"data": s, "next_page": None}}
                for s in per_task
            ]
        },
    )


def read(client: AsanaClient, **kwargs: Any) -> Any:
    return AsanaHistory(client, WORKSPACE).read_history(
        "anna@northwind.example", {"giulia": "giulia@va.example"}, SINCE, **kwargs
    )


def test_hand_offs_by_the_owner_and_her_completed_tasks_are_read_at_a_known_cost(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    _user(api, "anna@northwind.example", OWNER)
    _user(api, "giulia@va.example", GIULIA)
    _tasks(api, [_task("1", "Strategy review", done_days=30), _task("2", "Open work")])
    _tasks(
        api,
        [
            _task("10", "Fattura Aruba", done_days=20),
            _task("11", "Given by Luca", done_days=20),
            _task("12", "Given long ago", done_days=20),
            _task("13", "Delegated by the service", done_days=20),
        ],
    )
    _stories(
        api,
        [
            [_assigned("s1", 10, GIULIA, OWNER)],
            [_assigned("s2", 10, GIULIA, LUCA)],
            [_assigned("s3", -10, GIULIA, OWNER)],
        ],
    )
    history = read(client, max_tasks=500, exclude={"13"})
    handed = [(e.task.name, e.assistant, e.at) for e in history.examples]
    assert handed == [
        ("Strategy review", None, SINCE + timedelta(days=30)),
        ("Fattura Aruba", "giulia", SINCE + timedelta(days=10)),
    ]
    assert history.directory.owner.gid == OWNER
    assert history.directory.assistants["giulia"].gid == GIULIA
    assert (history.tasks_read, history.requests, history.quota_units) == (6, 5, 7)
    assert history.truncated == ()
    owner_list, giulia_list = api.calls[2], api.calls[3]
    assert query(owner_list) == {
        "assignee": OWNER, "workspace": WORKSPACE, "completed_since": "2026-06-01T00:00:00.000Z",
        "limit": "100", "opt_fields": ",".join(HISTORY_TASK_FIELDS),
    }  # fmt: skip
    assert query(giulia_list)["assignee"] == GIULIA
    batch = body(api.calls[4])["data"]["actions"]
    assert [a["relative_path"] for a in batch] == [
        "/tasks/10/stories", "/tasks/11/stories", "/tasks/12/stories"
    ]  # fmt: skip
    assert batch[0]["options"] == {"fields": list(ASSIGNMENT_STORY_FIELDS), "limit": 100}


def test_each_person_is_read_up_to_the_bound_and_stories_ten_tasks_a_batch(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    _user(api, "anna@northwind.example", OWNER)
    _user(api, "giulia@va.example", GIULIA)
    _tasks(api, [_task("1", "a", done_days=1), _task("2", "b", done_days=1)])
    _tasks(api, [_task(str(100 + n), f"t{n}", done_days=1) for n in range(12)])
    _stories(api, [[_assigned(f"s{n}", 5, GIULIA, OWNER)] for n in range(10)])
    _stories(api, [[_assigned(f"s{n}", 5, GIULIA, OWNER)] for n in range(2)])
    history = read(client, max_tasks=12)
    assert history.truncated == ()
    assert [path(c) for c in api.calls].count("/batch") == 2
    assert (history.requests, history.quota_units) == (6, 2 + 3 + 12 - 1)
    assert len([e for e in history.examples if e.assistant]) == 12


def test_a_list_longer_than_the_bound_is_cut_and_said(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    _user(api, "anna@northwind.example", OWNER)
    _user(api, "giulia@va.example", GIULIA)
    _tasks(api, [_task("1", "a", done_days=1), _task("2", "b", done_days=1)], offset="more")
    _tasks(api, [])
    history = read(client, max_tasks=2)
    assert history.truncated == ("owner",)
    assert history.tasks_read == 2
    assert [path(c) for c in api.calls].count("/tasks") == 2  # the next page was never asked


def test_the_worst_case_is_documented_and_bounds_the_reads() -> None:
    assert worst_case(2, 500) == worst_case(2)
    bound = worst_case(2)
    assert (bound.requests, bound.quota_units) == (3 + 15 + 100, 3 + 15 + 1000)
    assert worst_case(1, 10) == type(bound)(2 + 2 + 1, 2 + 2 + 10)


def test_a_refused_token_is_the_ports_error(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/users/anna@northwind.example", status=401, json={"errors": [{"message": "x"}]})
    with pytest.raises(TokenRefused, match="token was refused"):
        read(client)


@pytest.mark.parametrize(
    ("stories", "expected"),
    [
        ([_assigned("1", 3, GIULIA, OWNER)], SINCE + timedelta(days=3)),
        ([_assigned("1", 3, GIULIA, OWNER), _assigned("2", 4, "103", OWNER)], None),
        (
            [_assigned("1", 3, "103", OWNER), _assigned("2", 4, GIULIA, OWNER)],
            SINCE + timedelta(days=4),
        ),
        ([_assigned("1", 3, GIULIA, None)], None),
        ([{"gid": "c", "created_at": _at(3), "resource_subtype": "comment_added"}], None),
        ([], None),
    ],
)
def test_a_hand_off_is_the_latest_assignment_to_the_assistant_by_the_owner(
    stories: list[dict[str, Any]], expected: datetime | None
) -> None:
    giulia, owner = Identity(GIULIA), Identity(OWNER)
    assert handed_off_at(stories, giulia, owner, SINCE) == expected


def test_a_429_on_one_story_read_slows_the_whole_token_down(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    """A rate limit met by one action of a batch is a rate limit for every reader of the
    token, as for the other readers of /batch answers (asana.batch.action_error)."""
    _user(api, "anna@northwind.example", OWNER)
    _user(api, "giulia@va.example", GIULIA)
    _tasks(api, [])
    _tasks(api, [_task("10", "Fattura Aruba", done_days=20)])
    limited = {"errors": [{"message": "You have made too many requests recently."}]}
    api.post(
        f"{BASE}/batch",
        json={"data": [{"status_code": 429, "headers": {"Retry-After": "30"}, "body": limited}]},
    )
    budget = client.transport.budget
    assert budget.rate_factor == 1.0
    with pytest.raises(BackendError):
        read(client)
    assert budget.rate_factor == 0.5
