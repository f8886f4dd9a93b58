"""Per-cycle look-ups: each list read once, names matched in any case."""

from __future__ import annotations

import responses
from asana_fakes import BASE, body, me_response, path, query

from delegator.asana import AsanaClient, CustomFieldDef, EnumOption


def listing(*records: dict[str, object]) -> dict[str, object]:
    return {"data": list(records), "next_page": None}


ANA = {
    "gid": "42",
    "name": "Ana",
    "email": "Ana@Example.com",
    "workspaces": [{"gid": "77", "name": "Acme"}],
}


def test_a_person_is_looked_up_alone_by_email_and_then_known_by_gid(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    # GET /users/{user_gid}: "the string 'me', an email, or the gid of a user" (Asana's spec).
    api.get(f"{BASE}/users/ana@example.com", json={"data": ANA})
    lookups = client.lookups()

    assert lookups.user_by_email("77", "ana@example.com ") == ANA
    assert lookups.user_by_email("77", "ANA@example.com") == ANA
    assert lookups.user_by_gid("77", "42") == ANA

    assert len(api.calls) == 1
    assert path(api.calls[0]) == "/users/ana@example.com"
    assert query(api.calls[0]) == {"opt_fields": "name,email,workspaces"}


def test_people_stay_known_across_cycles(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.get(f"{BASE}/users/42", json={"data": ANA})

    assert client.lookups().user_by_gid("77", "42") == ANA
    assert client.lookups().user_by_gid("77", "42") == ANA
    assert client.lookups().user_by_email("77", "ana@example.com") == ANA

    assert len(api.calls) == 1


def test_a_404_means_no_such_user_and_is_asked_again_next_cycle(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    gone = {"errors": [{"message": "user: Unknown object: nobody@example.com"}]}
    api.get(f"{BASE}/users/nobody@example.com", status=404, json=gone)
    api.get(f"{BASE}/users/nobody@example.com", status=404, json=gone)
    lookups = client.lookups()

    assert lookups.user_by_email("77", "nobody@example.com") is None
    assert lookups.user_by_email("77", "nobody@example.com") is None  # remembered this cycle
    assert client.lookups().user_by_email("77", "nobody@example.com") is None

    assert len(api.calls) == 2


def test_a_user_of_another_workspace_is_not_one_of_its_people(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/users/43", json={"data": {**ANA, "gid": "43", "workspaces": [{"gid": "1"}]}})

    assert client.lookups().user_by_gid("77", "43") is None


def test_no_directory_is_listed(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.get(f"{BASE}/users/42", json={"data": ANA})

    client.lookups().user_by_gid("77", "42")

    assert all(path(call) != "/users" for call in api.calls)


def test_a_new_cycle_reads_again(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.get(f"{BASE}/workspaces/77/tags", json=listing({"gid": "7", "name": "urgent"}))
    api.get(f"{BASE}/workspaces/77/tags", json=listing({"gid": "7", "name": "Urgent!"}))

    assert client.lookups().tag("77", "URGENT") == {"gid": "7", "name": "urgent"}
    assert client.lookups().tag("77", "urgent") is None

    assert len(api.calls) == 2


def test_tags_prefer_the_exact_case(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.get(
        f"{BASE}/workspaces/77/tags",
        json=listing({"gid": "1", "name": "VA"}, {"gid": "2", "name": "va"}),
    )
    lookups = client.lookups()

    assert lookups.tag("77", "va")["gid"] == "2"  # type: ignore[index]
    assert lookups.tag("77", "Va")["gid"] == "1"  # type: ignore[index]
    assert query(api.calls[0]) == {"limit": "100", "opt_fields": "name"}


def test_ensure_tag_creates_a_missing_tag_once(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/workspaces/77/tags", json=listing({"gid": "1", "name": "urgent"}))
    api.post(
        f"{BASE}/workspaces/77/tags", status=201, json={"data": {"gid": "9", "name": "delegated"}}
    )
    lookups = client.lookups()

    assert lookups.ensure_tag("77", "urgent") == "1"
    assert lookups.ensure_tag("77", "delegated") == "9"
    assert lookups.ensure_tag("77", "Delegated") == "9"

    assert [call.request.method for call in api.calls] == ["GET", "POST"]
    assert body(api.calls[1]) == {"data": {"name": "delegated"}}


def test_projects_and_sections_by_name(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.get(f"{BASE}/workspaces/77/projects", json=listing({"gid": "9", "name": "Client Work"}))
    api.get(
        f"{BASE}/projects/9/sections",
        json=listing({"gid": "5", "name": "Delegated"}, {"gid": "6", "name": "Done"}),
    )
    lookups = client.lookups()

    project = lookups.project("77", "client work")
    assert project == {"gid": "9", "name": "Client Work"}
    assert lookups.section("9", "delegated") == {"gid": "5", "name": "Delegated"}
    assert lookups.section("9", "done")["gid"] == "6"  # type: ignore[index]
    assert lookups.section("9", "Backlog") is None

    assert [path(call) for call in api.calls] == ["/workspaces/77/projects", "/projects/9/sections"]
    assert query(api.calls[0]) == {"archived": "false", "limit": "100", "opt_fields": "name"}


def test_custom_fields_of_a_project_with_enum_options(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(
        f"{BASE}/projects/9/custom_field_settings",
        json=listing(
            {
                "gid": "cfs1",
                "custom_field": {
                    "gid": "11",
                    "name": "Priority",
                    "resource_subtype": "enum",
                    "enum_options": [
                        {"gid": "o1", "name": "High", "enabled": False},
                        {"gid": "o2", "name": "high", "enabled": True},
                        {"gid": "o3", "name": "Low", "enabled": True},
                    ],
                },
            },
            {
                "gid": "cfs2",
                "custom_field": {"gid": "12", "name": "Hours", "resource_subtype": "number"},
            },
        ),
    )
    lookups = client.lookups()

    priority = lookups.custom_field("priority", project_gid="9")
    hours = lookups.custom_field("Hours", project_gid="9")

    assert priority is not None
    assert hours is not None
    assert (priority.gid, priority.type) == ("11", "enum")
    assert priority.option("HIGH") == EnumOption("o2", "high", True)  # enabled wins
    assert priority.option("low") == EnumOption("o3", "Low", True)
    assert priority.option("Medium") is None
    assert hours == CustomFieldDef("12", "Hours", "number", ())
    assert lookups.custom_field("Budget", project_gid="9") is None
    assert len(api.calls) == 1
    assert query(api.calls[0])["opt_fields"] == (
        "custom_field.name,custom_field.resource_subtype,custom_field.type,"
        "custom_field.enum_options.name,custom_field.enum_options.enabled"
    )


def test_custom_fields_of_a_workspace(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.get(
        f"{BASE}/workspaces/77/custom_fields",
        json=listing(
            {
                "gid": "13",
                "name": "Stage",
                "type": "enum",
                "enum_options": [{"gid": "o9", "name": "Waiting"}],
            }
        ),
    )

    stage = client.lookups().custom_field("stage", workspace_gid="77")

    assert stage == CustomFieldDef("13", "Stage", "enum", (EnumOption("o9", "Waiting", True),))


def test_the_token_user_comes_from_the_client(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    me_response(api, gid="100")

    assert client.lookups().me()["gid"] == "100"
    assert client.lookups().me()["name"] == "Delegator Bot"
    assert len(api.calls) == 1


def test_an_idle_cycle_looks_nothing_up(client: AsanaClient, api: responses.RequestsMock) -> None:
    client.lookups()

    assert len(api.calls) == 0
