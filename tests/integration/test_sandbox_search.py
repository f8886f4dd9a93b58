"""Task search, typeahead, users by email or "me", and pagination offsets that expire."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from delegator.sandbox import ManualClock, SandboxServer

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ANNA = "sandbox-token-anna"
GIULIA = "sandbox-token-giulia"
NORTHWIND = "1100000000000001"
OPERATIONS = "1100000000000201"
URGENT = "1100000000000401"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[SandboxServer]:
    with SandboxServer.demo(clock=clock) as server:
        yield server


@pytest.fixture
def get(sandbox: SandboxServer) -> Iterator[Any]:
    http = requests.Session()

    def call(path: str, token: str = ANNA, **params: str) -> requests.Response:
        return http.get(
            sandbox.base_url + path,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )

    yield call
    http.close()


SEARCH = f"/workspaces/{NORTHWIND}/tasks/search"


def test_search_by_tag_newest_change_first_with_opt_fields(
    get: Any, sandbox: SandboxServer, clock: ManualClock
) -> None:
    world = sandbox.world
    tagged = {t.name for t in world.tasks_tagged(world.tag("urgent"))}
    clock.advance(minutes=5)
    touched = next(t for t in world.tasks_tagged(world.tag("urgent")) if not t.completed)
    world.comment(touched, "bump", by=world.user("Anna Rossi"))
    assert len(tagged) < 20  # one answer holds them all
    answer = get(SEARCH, **{"tags.any": URGENT, "opt_fields": "name,modified_at"})
    assert answer.status_code == 200
    body = answer.json()
    assert "next_page" not in body  # the search API has no pagination
    assert {r["name"] for r in body["data"]} == tagged
    assert body["data"][0]["name"] == touched.name
    stamps = [r["modified_at"] for r in body["data"]]
    assert stamps == sorted(stamps, reverse=True)
    assert set(body["data"][0]) == {"gid", "name", "modified_at"}


def test_search_filters_combine(get: Any, sandbox: SandboxServer, clock: ManualClock) -> None:
    world = sandbox.world
    since = clock()
    clock.advance(minutes=1)
    task = world.task("Send invoice to Bluebird Cafe")
    world.assign(task, world.user("Giulia Bianchi"), by=world.user("Anna Rossi"))
    found = get(
        SEARCH,
        **{
            "projects.any": OPERATIONS + ",1100000000000202",
            "assignee.any": "giulia@va-agency.example",
            "modified_at.after": since.isoformat(),
            "completed": "false",
        },
    ).json()["data"]
    assert [r["name"] for r in found] == [task.name]
    section = task.memberships[0].section.gid
    in_section = get(SEARCH, **{"sections.any": section}).json()["data"]
    assert task.gid in {r["gid"] for r in in_section}
    done = get(SEARCH, completed="true", sort_by="completed_at", sort_ascending="true").json()
    assert done["data"]
    assert all(world.task(r["gid"]).completed for r in done["data"])


def test_search_answers_20_at_most_without_a_limit(get: Any, sandbox: SandboxServer) -> None:
    assert len(sandbox.world.all_tasks()) > 20
    assert len(get(SEARCH).json()["data"]) == 20


def test_search_refuses_a_filter_it_does_not_model(get: Any) -> None:
    refused = get(SEARCH, **{"tags.all": URGENT})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"].startswith("tags.all: This search filter is not")


def test_search_leaves_out_what_the_caller_cannot_see(get: Any, sandbox: SandboxServer) -> None:
    strategy = {t.gid for t in sandbox.world.project("Strategy").tasks()}
    project = {"projects.any": sandbox.world.project("Strategy").gid}
    everything = {r["gid"] for r in get(SEARCH, **project).json()["data"]}
    as_guest = {r["gid"] for r in get(SEARCH, GIULIA, **project).json()["data"]}
    assert everything == strategy
    assert as_guest == {sandbox.world.task("Pricing model for 2027").gid}  # also in Operations


def test_typeahead_finds_people_one_by_one(get: Any) -> None:
    path = f"/workspaces/{NORTHWIND}/typeahead"
    found = get(path, resource_type="user", query="giu").json()["data"]
    assert found == [{"gid": "1100000000000102", "name": "Giulia Bianchi", "resource_type": "user"}]
    by_surname = get(path, resource_type="user", query="rossi", opt_fields="name").json()["data"]
    assert by_surname == [{"gid": "1100000000000101", "name": "Anna Rossi"}]
    by_email = get(path, resource_type="user", query="luca@north").json()["data"]
    assert [user["name"] for user in by_email] == ["Luca Neri"]
    assert len(get(path, resource_type="user", count="2").json()["data"]) == 2
    assert get(path, resource_type="project", query="strat", token=GIULIA).json()["data"] == []


def test_a_user_by_email_or_me(get: Any) -> None:
    by_email = get("/users/anna@northwind.example", GIULIA).json()["data"]
    assert (by_email["gid"], by_email["email"]) == ("1100000000000101", "anna@northwind.example")
    assert get("/users/me", GIULIA).json()["data"]["gid"] == "1100000000000102"


# ---------------------------------------------------------------------- offsets that expire
def first_page(get: Any) -> str:
    page = get(f"/projects/{OPERATIONS}/tasks", limit="2").json()
    return str(page["next_page"]["offset"])


def test_an_offset_expires_after_an_hour_of_the_worlds_clock(get: Any, clock: ManualClock) -> None:
    offset = first_page(get)
    clock.advance(minutes=59)
    assert get(f"/projects/{OPERATIONS}/tasks", limit="2", offset=offset).status_code == 200
    clock.advance(minutes=2)
    expired = get(f"/projects/{OPERATIONS}/tasks", limit="2", offset=offset)
    assert expired.status_code == 400
    assert expired.json()["errors"][0]["message"] == (
        "offset: Your pagination token has expired. Start again from the first page of this query."
    )


def test_offsets_expire_on_demand_and_their_lifetime_is_configurable(
    get: Any, sandbox: SandboxServer, clock: ManualClock
) -> None:
    offset = first_page(get)
    sandbox.world.expire_offsets()
    assert get(f"/projects/{OPERATIONS}/tasks", limit="2", offset=offset).status_code == 400
    sandbox.world.offsets.lifetime = timedelta(seconds=30)
    offset = first_page(get)
    clock.advance(seconds=31)
    assert get(f"/projects/{OPERATIONS}/tasks", limit="2", offset=offset).status_code == 400
    sandbox.world.offsets.lifetime = None  # never
    offset = first_page(get)
    clock.advance(days=30)
    assert get(f"/projects/{OPERATIONS}/tasks", limit="2", offset=offset).status_code == 200
