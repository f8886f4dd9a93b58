"""Pagination, incremental and whole reads of sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses
from asana_fakes import BASE, START, path, query

from delegator.asana import (
    AsanaClient,
    Source,
    SourceKind,
    SyncPosition,
)
from delegator.asana.reads import asana_time
from delegator.clock import ManualClock

FIELDS = ("name", "assignee.name", "due_on")
DATE_HEADER = {"Date": "Fri, 27 Nov 2026 09:00:00 GMT"}  # Asana's clock == START


def tasks(*gids: str, **extra: object) -> list[dict[str, object]]:
    return [{"gid": gid, "name": f"Task {gid}", **extra} for gid in gids]


def page(data: list[dict[str, object]], offset: str | None = None) -> dict[str, object]:
    next_page = None if offset is None else {"offset": offset, "path": "/x", "uri": "https://x"}
    return {"data": data, "next_page": next_page}


# ---------------------------------------------------------------- pagination


def test_a_collection_is_read_lazily_across_pages(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    url = f"{BASE}/projects/9/tasks"
    api.get(url, json=page(tasks("1", "2"), offset="eyJ0eXAi"))
    api.get(url, json=page(tasks("3"), offset="eyJ0eXBi"))
    api.get(url, json=page([]))

    iterator = client.tasks(Source.project("9"), FIELDS)
    assert len(api.calls) == 0  # nothing asked until iterated
    first = next(iterator)
    assert first["gid"] == "1"
    assert len(api.calls) == 1
    rest = [task["gid"] for task in iterator]

    assert rest == ["2", "3"]
    assert [query(call) for call in api.calls] == [
        {"limit": "100", "opt_fields": "name,assignee.name,due_on", "completed_since": "now"},
        {
            "limit": "100",
            "opt_fields": "name,assignee.name,due_on",
            "completed_since": "now",
            "offset": "eyJ0eXAi",
        },
        {
            "limit": "100",
            "opt_fields": "name,assignee.name,due_on",
            "completed_since": "now",
            "offset": "eyJ0eXBi",
        },
    ]


def test_stopping_early_costs_only_the_pages_read(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/projects/9/tasks", json=page(tasks("1", "2"), offset="more"))

    iterator = client.tasks(Source.project("9"), FIELDS)
    assert [next(iterator)["gid"], next(iterator)["gid"]] == ["1", "2"]

    assert len(api.calls) == 1


# ---------------------------------------------------------------- whole reads, per kind


@pytest.mark.parametrize(
    ("source", "url", "params"),
    [
        (Source.project("9"), "/projects/9/tasks", {"completed_since": "now"}),
        (Source.section("5"), "/sections/5/tasks", {"completed_since": "now"}),
    ],
)
def test_whole_read_of_a_project_or_section(
    client: AsanaClient,
    api: responses.RequestsMock,
    source: Source,
    url: str,
    params: dict[str, str],
) -> None:
    api.get(f"{BASE}{url}", json=page(tasks("1")))

    assert [task["gid"] for task in client.tasks(source, ["name"])] == ["1"]

    assert path(api.calls[0]) == url
    assert query(api.calls[0]) == {**params, "limit": "100", "opt_fields": "name"}


def test_whole_read_of_a_users_tasks_goes_through_the_user_task_list_once(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/users/42/user_task_list", json={"data": {"gid": "880", "name": "My Tasks"}})
    api.get(f"{BASE}/user_task_lists/880/tasks", json=page(tasks("1")))
    api.get(f"{BASE}/user_task_lists/880/tasks", json=page(tasks("1", "2")))
    source = Source.user_tasks("42", "77")

    assert len(list(client.tasks(source, ["name"]))) == 1
    assert len(list(client.tasks(source, ["name"]))) == 2

    assert [path(call) for call in api.calls] == [
        "/users/42/user_task_list",
        "/user_task_lists/880/tasks",
        "/user_task_lists/880/tasks",
    ]
    assert query(api.calls[0]) == {"workspace": "77", "opt_fields": "name"}
    assert query(api.calls[1]) == {"completed_since": "now", "limit": "100", "opt_fields": "name"}


def test_whole_read_of_a_tag_drops_completed_tasks_here(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(
        f"{BASE}/tags/3/tasks",
        json=page([{"gid": "1", "completed": False}, {"gid": "2", "completed": True}]),
    )

    assert [task["gid"] for task in client.tasks(Source.tag("3"), ["name"])] == ["1"]

    assert query(api.calls[0]) == {"limit": "100", "opt_fields": "name,completed"}


def test_whole_read_with_completed_tasks(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.get(f"{BASE}/projects/9/tasks", json=page(tasks("1")))

    list(client.tasks(Source.project("9"), ["name"], include_completed=True))

    assert query(api.calls[0]) == {"limit": "100", "opt_fields": "name"}


# ---------------------------------------------------------------- incremental reads, per kind

SINCE = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("source", "filters"),
    [
        (Source.project("9"), {"project": "9"}),
        (Source.section("5"), {"section": "5"}),
        (Source.user_tasks("42", "77"), {"assignee": "42", "workspace": "77"}),
    ],
)
def test_changed_tasks_use_modified_since(
    client: AsanaClient, api: responses.RequestsMock, source: Source, filters: dict[str, str]
) -> None:
    api.get(f"{BASE}/tasks", json=page(tasks("1")))

    changed = list(client.changed_tasks(source, SINCE, FIELDS))

    assert [task["gid"] for task in changed] == ["1"]
    assert path(api.calls[0]) == "/tasks"
    assert query(api.calls[0]) == {
        **filters,
        "modified_since": "2026-11-27T08:30:00.000Z",
        "limit": "100",
        "opt_fields": "name,assignee.name,due_on",
    }


def test_changed_tasks_of_a_tag_are_filtered_here(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(
        f"{BASE}/tags/3/tasks",
        json=page(
            [
                {"gid": "old", "modified_at": "2026-11-27T08:29:59.999Z"},
                {"gid": "new", "modified_at": "2026-11-27T08:30:00.000Z"},
            ]
        ),
    )

    changed = list(client.changed_tasks(Source.tag("3"), SINCE, ["name"]))

    assert [task["gid"] for task in changed] == ["new"]
    assert query(api.calls[0])["opt_fields"] == "name,modified_at"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        asana_time(datetime(2026, 11, 27, 9, 0))


# ---------------------------------------------------------------- a cycle's read of a source


def test_first_read_of_a_source_is_whole_and_sets_the_high_water_from_asanas_clock(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    clock.advance(3600)  # our clock is an hour ahead of Asana's: Asana's wins
    api.get(f"{BASE}/projects/9/tasks", json=page(tasks("1"), offset="o"), headers=DATE_HEADER)
    api.get(
        f"{BASE}/projects/9/tasks",
        json=page(tasks("2")),
        headers={"Date": "Fri, 27 Nov 2026 09:00:02 GMT"},
    )

    read = client.read_source(SyncPosition(Source.project("9")), FIELDS)

    assert read.full is True
    assert read.requests == 2
    assert [task["gid"] for task in read.tasks] == ["1", "2"]
    assert read.position == SyncPosition(
        Source.project("9"),
        high_water=START - timedelta(seconds=5),  # the first page's Date, minus the overlap
        last_full_read=START,
    )


def test_an_idle_cycle_costs_one_request_per_source(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    sources = [Source.project("9"), Source.section("5"), Source.user_tasks("42", "77")]
    positions = [SyncPosition(s, high_water=START, last_full_read=START) for s in sources]
    clock.advance(60)
    for _ in sources:
        api.get(f"{BASE}/tasks", json=page([]))

    reads = [client.read_source(position, FIELDS) for position in positions]

    assert len(api.calls) == 3
    assert [r.requests for r in reads] == [1, 1, 1]
    assert all(not r.full and r.tasks == [] for r in reads)
    # No Date header: our clock, minus the overlap; the last whole read is kept.
    assert reads[0].position.high_water == START + timedelta(seconds=55)
    assert reads[0].position.last_full_read == START


def test_a_cycle_with_changes_reads_them_from_the_stored_high_water(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    position = SyncPosition(Source.project("9"), high_water=SINCE, last_full_read=SINCE)
    clock.advance(120)
    api.get(f"{BASE}/tasks", json=page(tasks("1", "2", "3")))

    read = client.read_source(position, FIELDS)

    assert [task["gid"] for task in read.tasks] == ["1", "2", "3"]
    assert query(api.calls[0])["modified_since"] == "2026-11-27T08:30:00.000Z"


def test_the_high_water_never_goes_back(client: AsanaClient, api: responses.RequestsMock) -> None:
    ahead = START + timedelta(minutes=10)  # stored from an Asana clock ahead of ours
    position = SyncPosition(Source.project("9"), high_water=ahead, last_full_read=START)
    api.get(f"{BASE}/tasks", json=page([]))

    read = client.read_source(position, FIELDS)

    assert read.position.high_water == ahead


def test_the_periodic_reconcile_reads_the_whole_source(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    position = SyncPosition(Source.section("5"), high_water=START, last_full_read=START)
    clock.advance(3600)  # reconcile_every defaults to an hour
    api.get(f"{BASE}/sections/5/tasks", json=page(tasks("1")))

    read = client.read_source(position, FIELDS)

    assert read.full is True
    assert read.position.last_full_read == START + timedelta(hours=1)


def test_a_forced_whole_read(client: AsanaClient, api: responses.RequestsMock) -> None:
    position = SyncPosition(Source.project("9"), high_water=START, last_full_read=START)
    api.get(f"{BASE}/projects/9/tasks", json=page([]))

    assert client.read_source(position, FIELDS, full=True).full is True


def test_source_keys_round_trip() -> None:
    for source in [Source.project("9"), Source.tag("3"), Source.user_tasks("42", "77")]:
        assert Source.from_key(source.key) == source
    assert Source.user_tasks("42", "77").key == "user_tasks:42@77"
    assert Source.from_key("section:5").kind is SourceKind.SECTION
    with pytest.raises(ValueError, match="workspace_gid"):
        Source(SourceKind.USER_TASKS, "42")
