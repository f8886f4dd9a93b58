"""What a token sees, read through the Asana client from the sandbox: the catalogue init uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from delegator.asana import catalogue
from delegator.asana.client import AsanaClient
from delegator.asana.errors import Unauthorized
from delegator.asana.http import Transport
from delegator.sandbox import SandboxServer

ANNA = "anna@northwind.example"


def transport_for(sandbox: SandboxServer, user: str) -> Iterator[Transport]:
    with AsanaClient(sandbox.token(user), base_url=sandbox.base_url) as client:
        yield client.transport


@pytest.fixture
def anna(sandbox: SandboxServer) -> Iterator[Transport]:
    yield from transport_for(sandbox, ANNA)


def test_the_workspaces_of_the_token_with_their_email_domains(anna: Transport) -> None:
    listing = catalogue.token_workspaces(anna)
    assert listing.items == (
        catalogue.WorkspaceInfo(
            "1100000000000001", "Northwind Studio", True, ("northwind.example",)
        ),
    )
    assert not listing.truncated


def test_a_workspace_as_its_owner_sees_it(anna: Transport, sandbox: SandboxServer) -> None:
    [workspace] = catalogue.token_workspaces(anna)
    seen = catalogue.read_catalogue(anna, workspace)
    assert seen.me == catalogue.Person("1100000000000101", "Anna Rossi", ANNA)
    assert [p.name for p in seen.projects] == ["Operations", "Client Admin", "Strategy"]
    assert all(p.sections == () for p in seen.projects)  # read for the chosen ones only
    assert [t.name for t in seen.tags] == ["urgent", "important", "keep"]
    priority = seen.fields.items[0]
    assert (priority.name, priority.kind) == ("Priority", "enum")
    assert [o.name for o in priority.options] == ["High", "Medium", "Low"]
    assert [p.email for p in seen.people] == [
        ANNA, "giulia@va-agency.example", "marco@va-agency.example", "luca@northwind.example",
    ]  # fmt: skip
    assert not (seen.projects.truncated)
    assert not (seen.people.truncated)
    assert not seen.fields_unavailable
    assert sandbox.requests.count("GET", "/projects/{project_gid}/sections") == 0


def test_sections_are_read_for_the_chosen_projects_only(
    anna: Transport, sandbox: SandboxServer
) -> None:
    [workspace] = catalogue.token_workspaces(anna)
    seen = catalogue.read_catalogue(anna, workspace)
    admin = next(p for p in seen.projects if p.name == "Client Admin")
    full, chosen = catalogue.with_sections(anna, seen, [admin])
    assert [s.name for s in chosen[0].sections] == ["To do", "Invoices", "Bookings"]
    assert next(p for p in full.projects if p.name == "Client Admin") == chosen[0]
    assert next(p for p in full.projects if p.name == "Operations").sections == ()
    assert sandbox.requests.count("GET", "/projects/{project_gid}/sections") == 1


def test_a_private_project_is_not_listed_to_others(sandbox: SandboxServer) -> None:
    for transport in transport_for(sandbox, "luca@northwind.example"):
        [workspace] = catalogue.token_workspaces(transport)
        seen = catalogue.read_catalogue(transport, workspace)
        assert "Strategy" not in [p.name for p in seen.projects]


def many_projects(count: int) -> dict[str, Any]:
    return {
        "workspaces": [
            {
                "name": "Big Co",
                "gid": "5000",
                "users": [
                    {"name": "Olga", "email": "olga@big.example", "token": "t-olga"},
                    *({"name": f"P{n}", "email": f"p{n}@big.example"} for n in range(150)),
                ],
                "projects": [
                    {"name": f"Project {n:03}", "owner": "olga@big.example"} for n in range(count)
                ],
            }
        ]
    }


@pytest.fixture
def big() -> Iterator[SandboxServer]:
    with SandboxServer.from_fixture(many_projects(250)) as server:
        yield server


def test_a_large_workspace_is_paged_through_up_to_the_cap(big: SandboxServer) -> None:
    for transport in transport_for(big, "olga@big.example"):
        [workspace] = catalogue.token_workspaces(transport)
        seen = catalogue.read_catalogue(transport, workspace)
        assert len(seen.projects) == 250
        assert not seen.projects.truncated
        assert [p.name for p in seen.projects][-1] == "Project 249"
        assert big.requests.count("GET", "/workspaces/{workspace_gid}/projects") == 3
        assert len(seen.people) == 151
        assert not seen.people.truncated
        big.requests.reset()
        capped = catalogue.read_catalogue(transport, workspace, cap=120, user=seen.me)
        assert len(capped.projects) == 120
        assert capped.projects.truncated
        assert len(capped.people) == 120
        assert capped.people.truncated
        # 121 read to know there are more: two pages, never the third
        assert big.requests.count("GET", "/workspaces/{workspace_gid}/projects") == 2
        assert big.requests.count("GET", "/users/me") == 0


def test_what_a_listing_left_out_is_found_by_name_or_gid(big: SandboxServer) -> None:
    for transport in transport_for(big, "olga@big.example"):
        [workspace] = catalogue.token_workspaces(transport)
        capped = catalogue.read_catalogue(transport, workspace, cap=10)
        assert "Project 200" not in [p.name for p in capped.projects]
        [found] = catalogue.find_project(transport, workspace.gid, "project 200")
        assert found.name == "Project 200"
        assert catalogue.find_project(transport, workspace.gid, found.gid) == (found,)
        assert catalogue.find_project(transport, workspace.gid, "Project 999") == ()
        person = catalogue.find_person(transport, workspace.gid, "P140@big.example")
        assert person is not None
        assert person.name == "P140"
        assert catalogue.find_person(transport, workspace.gid, "nobody@big.example") is None


def test_a_token_asana_refuses_is_an_error_not_an_empty_catalogue(sandbox: SandboxServer) -> None:
    client = AsanaClient("not-a-token", base_url=sandbox.base_url)
    with client, pytest.raises(Unauthorized):
        catalogue.token_workspaces(client.transport)


@pytest.mark.parametrize("status", [402, 403])
def test_custom_fields_asana_will_not_list_leave_the_rest(
    anna: Transport, sandbox: SandboxServer, status: int
) -> None:
    [workspace] = catalogue.token_workspaces(anna)
    me = catalogue.me(anna)
    sandbox.faults.fail_next(sandbox.token(ANNA), 1, status=status)  # the custom fields' page
    seen = catalogue.read_catalogue(anna, workspace, user=me)
    assert seen.fields_unavailable
    assert seen.fields.items == ()
    assert [p.name for p in seen.projects] == ["Operations", "Client Admin", "Strategy"]


def test_guests_are_read_where_asana_lists_memberships() -> None:
    base = "https://asana.test/api/1.0"
    url = f"{base}/workspaces/1/workspace_memberships"
    with responses.RequestsMock() as api, AsanaClient("0/t", base_url=base) as client:
        api.get(url, json={"data": [
            {"gid": "m1", "is_guest": True, "user": {"gid": "7"}},
            {"gid": "m2", "is_guest": False, "user": {"gid": "8"}},
            {"gid": "m3", "is_guest": True, "user": None},
        ], "next_page": None})  # fmt: skip
        assert catalogue.guests(client.transport, "1") == frozenset({"7"})
        api.get(url, status=403, json={"errors": [{"message": "Forbidden"}]})
        assert catalogue.guests(client.transport, "1") is None


def test_the_sandbox_has_no_memberships_so_no_guests_are_known(anna: Transport) -> None:
    [workspace] = catalogue.token_workspaces(anna)
    assert catalogue.read_catalogue(anna, workspace).guests is None
