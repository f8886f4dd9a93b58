"""A tag source between whole reads: the search API (1 request when idle) on premium
workspaces; on free ones (402) nothing at all until the reconcile interval's whole read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import responses
from asana_fakes import BASE, START, TOKEN, query

from delegator.asana import AsanaClient, BudgetRegistry, Limits, RetryPolicy, Source, SyncPosition
from delegator.clock import ManualClock

FIELDS = ("name", "assignee.name")
SEARCH = f"{BASE}/workspaces/77/tasks/search"
DATE_HEADER = {"Date": "Fri, 27 Nov 2026 09:02:00 GMT"}  # START + 2 min
PAYMENT_REQUIRED = {
    "errors": [{"message": "Search is only available to premium users."}],
}


@pytest.fixture
def client(clock: ManualClock, policy: RetryPolicy) -> Iterator[AsanaClient]:
    with AsanaClient(
        TOKEN,
        base_url=BASE,
        retry=policy,
        limits=Limits.for_plan("paid"),
        clock=clock,
        sleep=clock.sleep,
        budgets=BudgetRegistry(),
        workspace_gid="77",
    ) as made:
        yield made


def read_once(start: SyncPosition | None = None) -> SyncPosition:
    return start or SyncPosition(Source.tag("3"), high_water=START, last_full_read=START)


def modified(gid: str, when: str) -> dict[str, object]:
    return {"gid": gid, "name": f"Task {gid}", "modified_at": when}


def test_an_idle_cycle_of_a_tag_source_costs_one_search_request(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    clock.advance(120)
    api.get(SEARCH, json={"data": []}, headers=DATE_HEADER)

    read = client.read_source(read_once(), FIELDS)

    assert (read.requests, read.tasks, read.full) == (1, [], False)
    assert len(api.calls) == 1
    assert query(api.calls[0]) == {
        "tags.any": "3",
        "modified_at.after": "2026-11-27T09:00:00.000Z",
        "sort_by": "modified_at",
        "sort_ascending": "true",
        "opt_fields": "name,assignee.name,modified_at",
        "limit": "100",
    }
    # Search is eventually consistent: the mark stays a minute behind Asana's clock.
    assert read.position.high_water == START + timedelta(minutes=1)
    assert read.position.search is True
    assert client.search_budget.units_spent == 1


def test_more_than_a_page_is_followed_by_advancing_modified_at_after(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    clock.advance(120)
    first = [modified(str(n), f"2026-11-27T09:00:{n // 10:02d}.{n:03d}Z") for n in range(100)]
    api.get(SEARCH, json={"data": first}, headers=DATE_HEADER)
    api.get(
        SEARCH,
        json={"data": [first[-1], modified("200", "2026-11-27T09:01:00.000Z")]},
    )

    read = client.read_source(read_once(), FIELDS)

    assert read.requests == 2
    assert len(read.tasks) == 101  # the task seen on both pages is kept once
    # 1 ms before the last task seen, so tasks changed in that same instant are not lost.
    assert query(api.calls[1])["modified_at.after"] == "2026-11-27T09:00:09.098Z"


def test_a_free_workspace_answers_402_once_then_idle_cycles_cost_nothing(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    clock.advance(60)
    api.get(SEARCH, status=402, json=PAYMENT_REQUIRED)

    first = client.read_source(read_once(), FIELDS)
    assert (first.requests, first.tasks, first.position.search) == (1, [], False)

    clock.advance(60)
    second = client.read_source(first.position, FIELDS)
    assert (second.requests, second.tasks, second.full) == (0, [], False)

    # Another tag of the same workspace, never searched: the client remembers the 402.
    other = SyncPosition(Source.tag("4"), high_water=START, last_full_read=START)
    assert client.read_source(other, FIELDS).requests == 0
    assert len(api.calls) == 1


def test_a_free_workspaces_tag_is_read_whole_at_the_reconcile_interval(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    position = SyncPosition(Source.tag("3"), high_water=START, last_full_read=START, search=False)
    clock.advance(3600)
    api.get(f"{BASE}/tags/3/tasks", json={"data": [{"gid": "1", "completed": False}]})

    read = client.read_source(position, FIELDS)

    assert read.full is True
    assert [task["gid"] for task in read.tasks] == ["1"]
    assert read.position.search is False  # still known free: the next idle cycle costs nothing


def test_a_tag_without_a_known_workspace_is_read_as_before(
    clock: ManualClock, api: responses.RequestsMock
) -> None:
    client = AsanaClient(
        TOKEN, base_url=BASE, clock=clock, sleep=clock.sleep, budgets=BudgetRegistry()
    )
    api.get(f"{BASE}/tags/3/tasks", json={"data": []})

    read = client.read_source(read_once(), FIELDS)

    assert read.requests == 1
    assert str(api.calls[0].request.url).startswith(f"{BASE}/tags/3/tasks")


def test_the_tags_own_workspace_wins_over_the_clients(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/workspaces/88/tasks/search", json={"data": []})
    position = SyncPosition(Source.tag("3", "88"), high_water=START, last_full_read=START)

    assert client.read_source(position, FIELDS).requests == 1
