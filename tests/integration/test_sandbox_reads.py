"""Reading from the sandbox over loopback: lists, pagination, opt_fields, incremental filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from delegator.sandbox import ManualClock, SandboxServer

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NORTHWIND = "1100000000000001"
FISCHER = "1200000000000001"
ANNA = "1100000000000101"
OPERATIONS = "1100000000000201"
CLIENT_ADMIN = "1100000000000202"
INBOX = "1100000000000301"
URGENT = "1100000000000401"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[SandboxServer]:
    with SandboxServer.demo(clock=clock) as server:
        yield server


@pytest.fixture
def anna(sandbox: SandboxServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(sandbox.auth("anna@northwind.example"))
        yield session


def get(session: requests.Session, sandbox: SandboxServer, path: str, **params: Any) -> Any:
    response = session.get(f"{sandbox.base_url}{path}", params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def names(body: Any) -> list[str]:
    return [item["name"] for item in body["data"]]


# ---------------------------------------------------------------------- users and workspaces
def test_users_me_is_the_tokens_user_in_full(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    body = get(anna, sandbox, "/users/me")
    assert body["data"] == {
        "gid": ANNA,
        "resource_type": "user",
        "name": "Anna Rossi",
        "email": "anna@northwind.example",
        "photo": None,
        "workspaces": [
            {"gid": NORTHWIND, "name": "Northwind Studio", "resource_type": "workspace"}
        ],
        "custom_fields": [],
    }


def test_the_date_header_is_the_worlds_time(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock
) -> None:
    clock.advance(minutes=90)
    response = anna.get(f"{sandbox.base_url}/users/me", timeout=5)
    assert response.headers["Date"] == "Fri, 27 Nov 2026 10:30:00 GMT"


def test_a_user_sees_only_the_workspaces_they_belong_to(sandbox: SandboxServer) -> None:
    with requests.Session() as lena:
        lena.headers.update(sandbox.auth("lena@fischer-consulting.example"))
        body = get(lena, sandbox, "/workspaces")
    assert body == {
        "data": [{"gid": FISCHER, "name": "Fischer Consulting", "resource_type": "workspace"}]
    }


def test_workspace_users_in_compact_form(anna: requests.Session, sandbox: SandboxServer) -> None:
    body = get(anna, sandbox, f"/workspaces/{NORTHWIND}/users")
    assert names(body) == ["Anna Rossi", "Giulia Bianchi", "Marco Verdi", "Luca Neri"]
    assert body["data"][1] == {
        "gid": "1100000000000102",
        "name": "Giulia Bianchi",
        "resource_type": "user",
    }
    by_query = get(anna, sandbox, "/users", workspace=NORTHWIND, opt_fields="email")
    assert [u["email"] for u in by_query["data"]] == [
        "anna@northwind.example",
        "giulia@va-agency.example",
        "marco@va-agency.example",
        "luca@northwind.example",
    ]


def test_a_user_by_gid(anna: requests.Session, sandbox: SandboxServer) -> None:
    body = get(anna, sandbox, "/users/1100000000000104", opt_fields="name,email")
    assert body == {
        "data": {"gid": "1100000000000104", "name": "Luca Neri", "email": "luca@northwind.example"}
    }


# ---------------------------------------------------------------------- projects, sections, tags, fields
def test_projects_sections_tags_and_custom_fields(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    assert names(get(anna, sandbox, f"/workspaces/{NORTHWIND}/projects")) == [
        "Operations",
        "Client Admin",
        "Strategy",
    ]
    assert names(get(anna, sandbox, "/projects", workspace=NORTHWIND, limit=2)) == [
        "Operations",
        "Client Admin",
    ]
    assert names(get(anna, sandbox, f"/projects/{OPERATIONS}/sections")) == [
        "Inbox",
        "Doing",
        "Waiting",
        "Done",
    ]
    assert names(get(anna, sandbox, f"/workspaces/{NORTHWIND}/tags")) == [
        "urgent",
        "important",
        "keep",
    ]
    assert names(get(anna, sandbox, "/tags", workspace=NORTHWIND)) == [
        "urgent",
        "important",
        "keep",
    ]
    fields = get(
        anna,
        sandbox,
        f"/workspaces/{NORTHWIND}/custom_fields",
        opt_fields="name,type,enum_options.name",
    )
    assert fields["data"][0] == {
        "gid": "1100000000000501",
        "name": "Priority",
        "type": "enum",
        "enum_options": [
            {"gid": "1100000000000511", "name": "High"},
            {"gid": "1100000000000512", "name": "Medium"},
            {"gid": "1100000000000513", "name": "Low"},
        ],
    }
    assert fields["data"][1]["type"] == "number"
    settings = get(
        anna,
        sandbox,
        f"/projects/{CLIENT_ADMIN}/custom_field_settings",
        opt_fields="custom_field.name,custom_field.resource_subtype",
    )
    assert [s["custom_field"] for s in settings["data"]] == [
        {"gid": "1100000000000501", "name": "Priority", "resource_subtype": "enum"},
        {"gid": "1100000000000502", "name": "Estimated time", "resource_subtype": "number"},
    ]


def test_a_project_in_full(anna: requests.Session, sandbox: SandboxServer) -> None:
    project = get(anna, sandbox, f"/projects/{OPERATIONS}")["data"]
    assert project["name"] == "Operations"
    assert project["owner"] == {"gid": ANNA, "name": "Anna Rossi", "resource_type": "user"}
    assert project["workspace"]["gid"] == NORTHWIND
    assert project["archived"] is False
    assert project["current_status_update"]["resource_type"] == "status_update"


# ---------------------------------------------------------------------- pagination
def test_pages_follow_next_page_until_null(anna: requests.Session, sandbox: SandboxServer) -> None:
    everything = names(get(anna, sandbox, f"/projects/{OPERATIONS}/tasks"))
    assert len(everything) == 19  # 18 tasks of Operations + "Pricing model for 2027" multi-homed
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 5}
    pages = 0
    while True:
        body = get(anna, sandbox, f"/projects/{OPERATIONS}/tasks", **params)
        pages += 1
        seen.extend(names(body))
        if body["next_page"] is None:
            break
        next_page = body["next_page"]
        assert next_page["path"].startswith(f"/projects/{OPERATIONS}/tasks?")
        assert next_page["uri"] == f"{sandbox.base_url}{next_page['path']}"
        params = {"limit": 5, "offset": next_page["offset"]}
    assert pages == 4
    assert seen == everything


def test_following_next_page_uri_directly(anna: requests.Session, sandbox: SandboxServer) -> None:
    first = get(anna, sandbox, f"/projects/{OPERATIONS}/tasks", limit=10, opt_fields="name")
    second = anna.get(first["next_page"]["uri"], timeout=5).json()
    assert len(first["data"]) == 10
    assert len(second["data"]) == 9
    assert set(second["data"][0]) == {"gid", "name"}  # opt_fields carried into the next page
    assert second["next_page"] is None


def test_without_limit_everything_comes_back_without_next_page(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    body = get(anna, sandbox, f"/projects/{OPERATIONS}/sections")
    assert "next_page" not in body
    assert len(body["data"]) == 4


@pytest.mark.contract_refusals_expected  # the spec refuses it: see delegator/sandbox/strict.py
@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_limit_outside_1_to_100_is_refused(
    anna: requests.Session, sandbox: SandboxServer, limit: str
) -> None:
    response = anna.get(
        f"{sandbox.base_url}/projects/{OPERATIONS}/tasks", params={"limit": limit}, timeout=5
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("limit: ")


def test_an_offset_from_another_query_is_refused(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    offset = get(anna, sandbox, f"/projects/{OPERATIONS}/tasks", limit=2)["next_page"]["offset"]
    response = anna.get(
        f"{sandbox.base_url}/projects/{CLIENT_ADMIN}/tasks",
        params={"limit": 2, "offset": offset},
        timeout=5,
    )
    assert response.status_code == 400
    assert "pagination token is invalid" in response.json()["errors"][0]["message"]
    garbage = anna.get(
        f"{sandbox.base_url}/projects/{OPERATIONS}/tasks",
        params={"limit": 2, "offset": "not-a-token"},
        timeout=5,
    )
    assert garbage.status_code == 400


# ---------------------------------------------------------------------- opt_fields
def test_collections_are_compact_by_default(anna: requests.Session, sandbox: SandboxServer) -> None:
    body = get(anna, sandbox, f"/sections/{INBOX}/tasks", limit=1)
    assert body["data"] == [
        {
            "gid": body["data"][0]["gid"],
            "name": "Reply to newsletter sponsorship request from Typewolf",
            "resource_type": "task",
            "resource_subtype": "default_task",
        }
    ]


def test_a_single_task_is_full_with_compact_relations(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    gid = sandbox.world.task("Pay invoice #2041 from Hetzner").gid
    task = get(anna, sandbox, f"/tasks/{gid}")["data"]
    assert task["name"] == "Pay invoice #2041 from Hetzner"
    assert task["due_on"] == "2026-11-25"
    assert task["completed"] is False
    assert task["assignee"] == {"gid": ANNA, "name": "Anna Rossi", "resource_type": "user"}
    assert task["tags"] == [{"gid": URGENT, "name": "urgent", "resource_type": "tag"}]
    assert task["memberships"] == [
        {
            "project": {"gid": CLIENT_ADMIN, "name": "Client Admin", "resource_type": "project"},
            "section": {"gid": "1100000000000312", "name": "Invoices", "resource_type": "section"},
        }
    ]
    assert task["workspace"]["gid"] == NORTHWIND
    assert task["permalink_url"] == f"https://app.asana.com/0/{CLIENT_ADMIN}/{gid}"
    assert task["created_at"] == "2026-11-20T09:00:00.000Z"
    priority, estimate = task["custom_fields"]
    assert priority["name"] == "Priority"
    assert priority["enum_value"]["name"] == "High"
    assert priority["display_value"] == "High"
    assert estimate["number_value"] == 5
    assert estimate["display_value"] == "5"


def test_dotted_opt_fields_select_fields_of_related_records(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    fields = (
        "name,assignee.email,memberships.section.name,custom_fields.enum_value.name,"
        "custom_fields.number_value,tags.name,due_on,completed"
    )
    body = get(anna, sandbox, f"/sections/{INBOX}/tasks", opt_fields=fields, limit=4)
    receipts = body["data"][3]
    assert receipts == {
        "gid": receipts["gid"],
        "name": "Send November receipts to the accountant",
        "assignee": {"gid": ANNA, "email": "anna@northwind.example"},
        "memberships": [{"section": {"gid": INBOX, "name": "Inbox"}}],
        "custom_fields": [
            {
                "gid": "1100000000000501",
                "enum_value": {"gid": "1100000000000512", "name": "Medium"},
            },
            {"gid": "1100000000000502", "number_value": 15},
        ],
        "tags": [{"gid": URGENT, "name": "urgent"}],
        "due_on": "2026-11-29",
        "completed": False,
    }


def test_a_relation_named_alone_is_compact(anna: requests.Session, sandbox: SandboxServer) -> None:
    body = get(anna, sandbox, f"/sections/{INBOX}/tasks", opt_fields="assignee,due_at", limit=1)
    assert body["data"][0]["assignee"] == {
        "gid": ANNA,
        "name": "Anna Rossi",
        "resource_type": "user",
    }
    assert body["data"][0]["due_at"] is None


def test_opt_pretty_indents_the_json(anna: requests.Session, sandbox: SandboxServer) -> None:
    response = anna.get(f"{sandbox.base_url}/users/me", params={"opt_pretty": "true"}, timeout=5)
    assert response.text.startswith('{\n  "data": {\n')


# ---------------------------------------------------------------------- GET /tasks and its filters
def test_get_tasks_needs_a_container_or_assignee_and_workspace(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    for params in (
        {},
        {"assignee": "me"},
        {"workspace": NORTHWIND},
        {"project": OPERATIONS, "assignee": "me"},
    ):
        response = anna.get(f"{sandbox.base_url}/tasks", params=params, timeout=5)
        assert response.status_code == 400, params
        assert response.json()["errors"][0]["message"].startswith("Must specify exactly one of")


def test_get_tasks_by_project_section_and_tag(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    by_project = names(get(anna, sandbox, "/tasks", project=OPERATIONS))
    assert by_project == names(get(anna, sandbox, f"/projects/{OPERATIONS}/tasks"))
    by_section = names(get(anna, sandbox, "/tasks", section="1100000000000312"))
    assert by_section[0] == "Pay invoice #2041 from Hetzner"
    assert len(by_section) == 11  # 5 open invoices and 6 paid in the past months
    # GET /tasks has no tag parameter in Asana's spec (the strict sandbox refuses it).
    tagged = names(get(anna, sandbox, f"/tags/{URGENT}/tasks"))
    assert set(tagged) == {
        "Send November receipts to the accountant",
        "Book a meeting room for the Bluebird workshop",
        "Pay invoice #2041 from Hetzner",
        "Book a restaurant for the team dinner",
    }


def test_get_tasks_by_assignee_accepts_me_gid_and_email(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    mine = names(get(anna, sandbox, "/tasks", assignee="me", workspace=NORTHWIND))
    by_gid = names(get(anna, sandbox, "/tasks", assignee=ANNA, workspace=NORTHWIND))
    by_email = names(
        get(anna, sandbox, "/tasks", assignee="anna@northwind.example", workspace=NORTHWIND)
    )
    assert mine == by_gid == by_email
    assert len(mine) == 36  # and the 6 tasks she kept and completed in the past months
    lucas = names(
        get(anna, sandbox, "/tasks", assignee="luca@northwind.example", workspace=NORTHWIND)
    )
    assert "Collect dietary requirements from the team" in lucas  # subtasks are listed too


def test_completed_since_now_keeps_only_open_tasks(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    done = "1100000000000304"
    assert names(get(anna, sandbox, f"/sections/{done}/tasks")) == [
        "Set up the new printer",
        "Renew the domain northwind.studio",
    ]
    assert get(anna, sandbox, f"/sections/{done}/tasks", completed_since="now")["data"] == []
    all_ops = get(anna, sandbox, "/tasks", project=OPERATIONS)["data"]
    open_ops = get(anna, sandbox, "/tasks", project=OPERATIONS, completed_since="now")["data"]
    assert len(all_ops) - len(open_ops) == 2


def test_completed_since_an_instant_keeps_tasks_completed_after_it(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    done = "1100000000000304"
    # "Set up the new printer" was completed at today-2 16:30, the domain at today-1 11:00.
    body = get(anna, sandbox, f"/sections/{done}/tasks", completed_since="2026-11-26T00:00:00Z")
    assert names(body) == ["Renew the domain northwind.studio"]


def test_modified_since_returns_only_tasks_changed_after_it(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock
) -> None:
    since = "2026-11-27T09:00:00.000Z"
    assert get(anna, sandbox, "/tasks", project=OPERATIONS, modified_since=since)["data"] == []
    clock.advance(minutes=5)
    world = sandbox.world
    task = world.task("Unsubscribe from vendor mailing lists")
    world.assign(task, world.user("Giulia Bianchi"), by=world.user("Anna Rossi"))
    body = get(
        anna, sandbox, "/tasks", project=OPERATIONS, modified_since=since, opt_fields="modified_at"
    )
    assert body["data"] == [{"gid": task.gid, "modified_at": "2026-11-27T09:05:00.000Z"}]
    later = "2026-11-27T09:06:00Z"
    assert get(anna, sandbox, "/tasks", project=OPERATIONS, modified_since=later)["data"] == []


def test_modified_since_must_be_an_instant(anna: requests.Session, sandbox: SandboxServer) -> None:
    response = anna.get(
        f"{sandbox.base_url}/tasks",
        params={"project": OPERATIONS, "modified_since": "yesterday"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("modified_since: ")


def test_my_tasks_through_the_user_task_list(sandbox: SandboxServer) -> None:
    with requests.Session() as lena:
        lena.headers.update(sandbox.auth("lena@fischer-consulting.example"))
        task_list = get(lena, sandbox, "/users/me/user_task_list", workspace=FISCHER)["data"]
        assert task_list["resource_type"] == "user_task_list"
        assert task_list["name"] == "My Tasks"
        assert task_list["owner"]["gid"] == "1200000000000101"
        again = get(lena, sandbox, "/users/1200000000000101/user_task_list", workspace=FISCHER)
        assert again["data"]["gid"] == task_list["gid"]
        every = get(lena, sandbox, f"/user_task_lists/{task_list['gid']}/tasks")["data"]
        still_open = names(
            get(lena, sandbox, f"/user_task_lists/{task_list['gid']}/tasks", completed_since="now")
        )
    assert len(every) == 14
    assert len(still_open) == 13
    assert "Final report for Marlow Foods" not in still_open
    assert "Send invoice to Brightwater Energy for November" in still_open
    assert "Order printer toner" not in still_open  # Sam's, not Lena's


@pytest.mark.contract_refusals_expected  # the spec refuses it: see delegator/sandbox/strict.py
def test_user_task_list_needs_a_workspace(anna: requests.Session, sandbox: SandboxServer) -> None:
    response = anna.get(f"{sandbox.base_url}/users/me/user_task_list", timeout=5)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "workspace: Missing input"


def test_subtasks_of_a_task(anna: requests.Session, sandbox: SandboxServer) -> None:
    dinner = sandbox.world.task("Organise the end-of-year team dinner")
    body = get(anna, sandbox, f"/tasks/{dinner.gid}/subtasks", opt_fields="name,parent.name")
    assert body["data"] == [
        {
            "gid": dinner.subtasks[0].gid,
            "name": "Collect dietary requirements from the team",
            "parent": {"gid": dinner.gid, "name": "Organise the end-of-year team dinner"},
        }
    ]
