"""Writing to the sandbox over loopback: every change the service makes, and what it leaves behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests

from delegator.sandbox import ManualClock, SandboxServer, Task

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NORTHWIND = "1100000000000001"
ANNA = "1100000000000101"
GIULIA = "1100000000000102"
LUCA = "1100000000000104"
LENA = "1200000000000101"
OPERATIONS = "1100000000000201"
CLIENT_ADMIN = "1100000000000202"
STRATEGY = "1100000000000203"
INBOX, DOING, WAITING = "1100000000000301", "1100000000000302", "1100000000000303"
URGENT, KEEP = "1100000000000401", "1100000000000403"
PRIORITY, ESTIMATE = "1100000000000501", "1100000000000502"
HIGH, LOW = "1100000000000511", "1100000000000513"


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


def call(
    session: requests.Session,
    sandbox: SandboxServer,
    method: str,
    path: str,
    data: Any = None,
    *,
    expect: int = 200,
    **params: Any,
) -> Any:
    response = session.request(
        method,
        f"{sandbox.base_url}{path}",
        params=params,
        json={"data": data} if data is not None else None,
        timeout=5,
    )
    assert response.status_code == expect, response.text
    return response.json()


def first_error(body: Any) -> str:
    message: str = body["errors"][0]["message"]
    return message


@pytest.fixture
def task(sandbox: SandboxServer) -> Task:
    return sandbox.world.task("Send November receipts to the accountant")


# ---------------------------------------------------------------------- assigning
def test_assigning_by_gid_changes_assignee_modified_at_followers_and_writes_a_story(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock, task: Task
) -> None:
    clock.advance(minutes=10)
    body = call(anna, sandbox, "PUT", f"/tasks/{task.gid}", {"assignee": GIULIA})
    assert body["data"]["assignee"] == {
        "gid": GIULIA,
        "name": "Giulia Bianchi",
        "resource_type": "user",
    }
    assert body["data"]["modified_at"] == "2026-11-27T09:10:00.000Z"
    assert [f["name"] for f in body["data"]["followers"]] == ["Anna Rossi", "Giulia Bianchi"]
    stories = call(anna, sandbox, "GET", f"/tasks/{task.gid}/stories")["data"]
    assert stories[-1] == {
        "gid": stories[-1]["gid"],
        "created_at": "2026-11-27T09:10:00.000Z",
        "created_by": {"gid": ANNA, "name": "Anna Rossi", "resource_type": "user"},
        "resource_subtype": "assigned",
        "resource_type": "story",
        "text": "assigned to Giulia Bianchi",
        "type": "system",
    }


def test_assigning_by_email_and_me_and_unassigning(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    by_email = call(
        anna, sandbox, "PUT", f"/tasks/{task.gid}", {"assignee": "luca@northwind.example"}
    )
    assert by_email["data"]["assignee"]["gid"] == LUCA
    me = call(
        anna, sandbox, "PUT", f"/tasks/{task.gid}", {"assignee": "me"}, opt_fields="assignee.name"
    )
    assert me["data"] == {"gid": task.gid, "assignee": {"gid": ANNA, "name": "Anna Rossi"}}
    nobody = call(
        anna, sandbox, "PUT", f"/tasks/{task.gid}", {"assignee": None}, opt_fields="assignee"
    )
    assert nobody["data"] == {"gid": task.gid, "assignee": None}
    texts = [s.text for s in task.stories]
    assert texts[-3:] == [
        "assigned to Luca Neri",
        "assigned to Anna Rossi",
        "unassigned from Anna Rossi",
    ]


def test_assigning_to_the_same_person_changes_nothing(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock, task: Task
) -> None:
    before = task.modified_at
    clock.advance(minutes=1)
    call(anna, sandbox, "PUT", f"/tasks/{task.gid}", {"assignee": ANNA})
    assert task.modified_at == before
    assert task.stories == []


def test_assigning_someone_outside_the_workspace_is_refused(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    body = call(anna, sandbox, "PUT", f"/tasks/{task.gid}", {"assignee": LENA}, expect=400)
    assert first_error(body) == f"assignee: User {LENA} is not a member of workspace {NORTHWIND}"
    unknown = call(
        anna, sandbox, "PUT", f"/tasks/{task.gid}", {"assignee": "nobody@x.example"}, expect=400
    )
    assert first_error(unknown) == "assignee: Unknown user: nobody@x.example"
    assert task.assignee is not None
    assert task.assignee.gid == ANNA


# ---------------------------------------------------------------------- other task fields
def test_updating_due_date_name_notes_and_completion(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock, task: Task
) -> None:
    clock.advance(hours=1)
    body = call(
        anna,
        sandbox,
        "PUT",
        f"/tasks/{task.gid}",
        {
            "due_on": "2026-12-03",
            "name": "Send receipts",
            "notes": "All of them",
            "completed": True,
        },
        opt_fields="name,notes,due_on,completed,completed_at",
    )
    assert body["data"] == {
        "gid": task.gid,
        "name": "Send receipts",
        "notes": "All of them",
        "due_on": "2026-12-03",
        "completed": True,
        "completed_at": "2026-11-27T10:00:00.000Z",
    }
    assert [s.resource_subtype for s in task.stories] == [
        "name_changed",
        "notes_changed",
        "due_date_changed",
        "marked_complete",
    ]
    assert task.stories[2].text == "changed the due date to Dec 3"
    reopened = call(
        anna, sandbox, "PUT", f"/tasks/{task.gid}", {"completed": False}, opt_fields="completed_at"
    )
    assert reopened["data"]["completed_at"] is None


def test_due_at_sets_the_day_too(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    body = call(
        anna,
        sandbox,
        "PUT",
        f"/tasks/{task.gid}",
        {"due_at": "2026-12-01T17:00:00.000Z"},
        opt_fields="due_on,due_at",
    )
    assert body["data"] == {
        "gid": task.gid,
        "due_on": "2026-12-01",
        "due_at": "2026-12-01T17:00:00.000Z",
    }
    both = call(
        anna,
        sandbox,
        "PUT",
        f"/tasks/{task.gid}",
        {"due_on": "2026-12-01", "due_at": "2026-12-01T17:00:00Z"},
        expect=400,
    )
    assert first_error(both) == "due_on: You may only provide one of due_on or due_at"


def test_setting_custom_fields_by_gid(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    body = call(
        anna,
        sandbox,
        "PUT",
        f"/tasks/{task.gid}",
        {"custom_fields": {PRIORITY: HIGH, ESTIMATE: "25"}},
        opt_fields="custom_fields.display_value,custom_fields.enum_value.name,custom_fields.number_value",
    )
    assert body["data"]["custom_fields"] == [
        {"gid": PRIORITY, "display_value": "High", "enum_value": {"gid": HIGH, "name": "High"}},
        {"gid": ESTIMATE, "display_value": "25", "number_value": 25},
    ]
    assert [s.text for s in task.stories] == [
        'changed Priority to "High"',
        'changed Estimated time to "25"',
    ]
    cleared = call(
        anna,
        sandbox,
        "PUT",
        f"/tasks/{task.gid}",
        {"custom_fields": {PRIORITY: None}},
        opt_fields="custom_fields.enum_value",
    )
    assert cleared["data"]["custom_fields"][0] == {"gid": PRIORITY, "enum_value": None}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({PRIORITY: "High"}, "is not one of its enum option gids"),
        ({PRIORITY: "1100000000000999"}, "is not one of its enum option gids"),
        ({ESTIMATE: "a lot"}, "expected a number"),
        ({"1100000000000777": "x"}, "Custom field with ID 1100000000000777 is not on given object"),
    ],
)
def test_invalid_custom_field_values_are_refused_and_change_nothing(
    anna: requests.Session, sandbox: SandboxServer, task: Task, fields: dict[str, str], message: str
) -> None:
    body = call(
        anna,
        sandbox,
        "PUT",
        f"/tasks/{task.gid}",
        {"custom_fields": fields, "name": "X"},
        expect=400,
    )
    assert message in first_error(body)
    assert task.name == "Send November receipts to the accountant"


def test_fields_that_put_cannot_change_are_refused(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    body = call(anna, sandbox, "PUT", f"/tasks/{task.gid}", {"tags": [URGENT]}, expect=400)
    assert (
        first_error(body) == "tags: Cannot be written on an existing task; use addTag / removeTag"
    )
    unknown = call(anna, sandbox, "PUT", f"/tasks/{task.gid}", {"colour": "red"}, expect=400)
    assert first_error(unknown) == "colour: Not a writable property of a task"
    no_data = anna.put(f"{sandbox.base_url}/tasks/{task.gid}", json={"name": "x"}, timeout=5)
    assert no_data.status_code == 400
    assert first_error(no_data.json()).startswith("data: Missing input")


# ---------------------------------------------------------------------- creating tasks
def test_creating_a_task_in_a_section_with_an_assignee(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock
) -> None:
    response = anna.post(
        f"{sandbox.base_url}/tasks",
        json={
            "data": {
                "name": "Book a taxi to the airport",
                "memberships": [{"project": CLIENT_ADMIN, "section": "1100000000000313"}],
                "assignee": "giulia@va-agency.example",
                "due_on": "2026-12-09",
                "tags": [URGENT],
                "custom_fields": {PRIORITY: LOW},
            }
        },
        timeout=5,
    )
    assert response.status_code == 201
    created = response.json()["data"]
    assert response.headers["Location"] == f"{sandbox.base_url}/tasks/{created['gid']}"
    assert created["name"] == "Book a taxi to the airport"
    assert created["assignee"]["gid"] == GIULIA
    assert created["workspace"]["gid"] == NORTHWIND
    assert created["memberships"][0]["section"]["name"] == "Bookings"
    assert created["created_at"] == created["modified_at"] == "2026-11-27T09:00:00.000Z"
    assert created["custom_fields"][0]["enum_value"]["name"] == "Low"
    task = sandbox.world.task(created["gid"])
    assert task.created_by is not None
    assert task.created_by.gid == ANNA
    assert sandbox.world.section(CLIENT_ADMIN, "Bookings").tasks[-1] is task
    assert [s.text for s in task.stories] == ["assigned to Giulia Bianchi"]


def test_creating_a_task_needs_a_place(anna: requests.Session, sandbox: SandboxServer) -> None:
    body = call(anna, sandbox, "POST", "/tasks", {"name": "Floating"}, expect=400)
    assert first_error(body).startswith("workspace: Missing input")
    in_workspace = call(
        anna,
        sandbox,
        "POST",
        "/tasks",
        {"name": "Mine", "workspace": NORTHWIND, "assignee": "me"},
        expect=201,
    )
    assert in_workspace["data"]["projects"] == []
    by_projects = call(
        anna, sandbox, "POST", "/tasks", {"name": "Idea", "projects": [STRATEGY]}, expect=201
    )
    assert by_projects["data"]["memberships"][0]["section"]["name"] == "Ideas"  # the first one
    subtask = call(
        anna,
        sandbox,
        "POST",
        "/tasks",
        {"name": "Step", "parent": by_projects["data"]["gid"]},
        expect=201,
    )
    assert subtask["data"]["parent"]["gid"] == by_projects["data"]["gid"]


# ---------------------------------------------------------------------- tags and followers
@pytest.mark.contract_refusals_expected  # the spec refuses it: see delegator/sandbox/strict.py
def test_add_and_remove_a_tag(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock, task: Task
) -> None:
    clock.advance(minutes=2)
    assert call(anna, sandbox, "POST", f"/tasks/{task.gid}/addTag", {"tag": KEEP}) == {"data": {}}
    assert [t.name for t in task.tags] == ["urgent", "keep"]
    assert task.modified_at == datetime(2026, 11, 27, 9, 2, tzinfo=UTC)
    again = call(anna, sandbox, "POST", f"/tasks/{task.gid}/addTag", {"tag": KEEP})
    assert again == {"data": {}}
    assert [t.name for t in task.tags] == ["urgent", "keep"]
    call(anna, sandbox, "POST", f"/tasks/{task.gid}/removeTag", {"tag": URGENT})
    assert [t.name for t in task.tags] == ["keep"]
    missing = call(anna, sandbox, "POST", f"/tasks/{task.gid}/addTag", {}, expect=400)
    assert first_error(missing) == "tag: Missing input"
    foreign = call(
        anna, sandbox, "POST", f"/tasks/{task.gid}/addTag", {"tag": "1200000000000401"}, expect=403
    )
    assert "do not have access" in first_error(foreign)


def test_create_a_tag_in_a_workspace_both_ways(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    created = call(
        anna,
        sandbox,
        "POST",
        f"/workspaces/{NORTHWIND}/tags",
        {"name": "delegated", "color": "light-blue"},
        expect=201,
    )
    assert created["data"]["name"] == "delegated"
    assert created["data"]["workspace"]["gid"] == NORTHWIND
    assert created["data"]["color"] == "light-blue"
    other = call(
        anna,
        sandbox,
        "POST",
        "/tags",
        {"name": "waiting-on-client", "workspace": NORTHWIND},
        expect=201,
    )
    tags = call(anna, sandbox, "GET", "/tags", workspace=NORTHWIND)["data"]
    assert [t["name"] for t in tags][-2:] == ["delegated", "waiting-on-client"]
    assert other["data"]["gid"] == tags[-1]["gid"]
    nameless = call(anna, sandbox, "POST", "/tags", {"workspace": NORTHWIND}, expect=400)
    assert first_error(nameless) == "name: Missing input"


def test_add_and_remove_followers(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    body = call(
        anna,
        sandbox,
        "POST",
        f"/tasks/{task.gid}/addFollowers",
        {"followers": ["marco@va-agency.example", LUCA]},
        opt_fields="followers.name",
    )
    assert [f["name"] for f in body["data"]["followers"]] == [
        "Anna Rossi",
        "Marco Verdi",
        "Luca Neri",
    ]
    body = call(
        anna,
        sandbox,
        "POST",
        f"/tasks/{task.gid}/removeFollowers",
        {"followers": [LUCA]},
        opt_fields="followers.name",
    )
    assert [f["name"] for f in body["data"]["followers"]] == ["Anna Rossi", "Marco Verdi"]


# ---------------------------------------------------------------------- projects and sections
def test_move_a_task_to_a_section_puts_it_on_top(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    assert call(anna, sandbox, "POST", f"/sections/{WAITING}/addTask", {"task": task.gid}) == {
        "data": {}
    }
    waiting = call(anna, sandbox, "GET", f"/sections/{WAITING}/tasks")["data"]
    assert waiting[0]["gid"] == task.gid
    inbox = [t["gid"] for t in call(anna, sandbox, "GET", f"/sections/{INBOX}/tasks")["data"]]
    assert task.gid not in inbox
    story = task.stories[-1]
    assert story.resource_subtype == "section_changed"
    assert story.text == 'moved this Task from "Inbox" to "Waiting" in Operations'


def test_insert_after_a_task_in_a_section(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    doing = sandbox.world.section(OPERATIONS, "Doing")
    anchor = doing.tasks[0]
    call(
        anna,
        sandbox,
        "POST",
        f"/sections/{DOING}/addTask",
        {"task": task.gid, "insert_after": anchor.gid},
    )
    assert doing.tasks[:2] == [anchor, task]


def test_add_to_and_remove_from_a_project(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    call(
        anna,
        sandbox,
        "POST",
        f"/tasks/{task.gid}/addProject",
        {"project": CLIENT_ADMIN, "section": "1100000000000311"},
    )
    body = call(
        anna,
        sandbox,
        "GET",
        f"/tasks/{task.gid}",
        opt_fields="projects.name,memberships.section.name",
    )
    assert body["data"]["projects"] == [
        {"gid": OPERATIONS, "name": "Operations"},
        {"gid": CLIENT_ADMIN, "name": "Client Admin"},
    ]
    assert body["data"]["memberships"][1] == {
        "section": {"gid": "1100000000000311", "name": "To do"}
    }
    assert sandbox.world.section(CLIENT_ADMIN, "To do").tasks[-1] is task
    call(anna, sandbox, "POST", f"/tasks/{task.gid}/removeProject", {"project": OPERATIONS})
    assert [p.name for p in task.projects] == ["Client Admin"]
    wrong = call(
        anna,
        sandbox,
        "POST",
        f"/tasks/{task.gid}/addProject",
        {"project": CLIENT_ADMIN, "section": INBOX},
        expect=400,
    )
    assert first_error(wrong) == f"section: Section {INBOX} is not in project {CLIENT_ADMIN}"


# ---------------------------------------------------------------------- comments
def test_a_comment_is_authored_by_the_tokens_user(
    sandbox: SandboxServer, clock: ManualClock, task: Task
) -> None:
    clock.advance(minutes=3)
    with requests.Session() as giulia:
        giulia.headers.update(sandbox.auth("giulia@va-agency.example"))
        response = giulia.post(
            f"{sandbox.base_url}/tasks/{task.gid}/stories",
            json={"data": {"text": "On it: sending them this afternoon."}},
            timeout=5,
        )
        assert response.status_code == 201
        story = response.json()["data"]
        listed = call(
            giulia,
            sandbox,
            "GET",
            f"/tasks/{task.gid}/stories",
            opt_fields="text,type,created_by.name",
        )
    assert story["type"] == "comment"
    assert story["resource_subtype"] == "comment_added"
    assert story["text"] == "On it: sending them this afternoon."
    assert story["created_by"] == {"gid": GIULIA, "name": "Giulia Bianchi", "resource_type": "user"}
    assert story["created_at"] == "2026-11-27T09:03:00.000Z"
    assert story["target"]["gid"] == task.gid
    assert listed["data"] == [
        {
            "gid": story["gid"],
            "text": "On it: sending them this afternoon.",
            "type": "comment",
            "created_by": {"gid": GIULIA, "name": "Giulia Bianchi"},
        }
    ]
    assert task.modified_at == datetime(2026, 11, 27, 9, 3, tzinfo=UTC)
    assert GIULIA in [f.gid for f in task.followers]


def test_html_comments_and_invalid_comments(
    anna: requests.Session, sandbox: SandboxServer, task: Task
) -> None:
    body = call(
        anna,
        sandbox,
        "POST",
        f"/tasks/{task.gid}/stories",
        {"html_text": "<body>Sent <strong>today</strong></body>"},
        expect=201,
    )
    assert body["data"]["text"] == "Sent today"
    assert body["data"]["html_text"] == "<body>Sent <strong>today</strong></body>"
    both = call(
        anna,
        sandbox,
        "POST",
        f"/tasks/{task.gid}/stories",
        {"text": "a", "html_text": "<body>b</body>"},
        expect=400,
    )
    assert first_error(both) == "text: You may only provide one of text or html_text"
    empty = call(anna, sandbox, "POST", f"/tasks/{task.gid}/stories", {}, expect=400)
    assert first_error(empty) == "text: Missing input"


# ---------------------------------------------------------------------- status updates
def test_status_updates_are_stored_and_listed_newest_first(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock
) -> None:
    clock.advance(minutes=1)
    created = call(
        anna,
        sandbox,
        "POST",
        "/status_updates",
        {
            "parent": OPERATIONS,
            "status_type": "at_risk",
            "title": "Delegation this week",
            "text": "3 tasks delegated.",
        },
        expect=201,
    )["data"]
    assert created["resource_type"] == "status_update"
    assert created["resource_subtype"] == "project_status_update"
    assert created["text"] == "3 tasks delegated."
    assert created["status_type"] == "at_risk"
    assert created["author"]["gid"] == ANNA
    assert created["parent"] == {
        "gid": OPERATIONS,
        "name": "Operations",
        "resource_type": "project",
    }
    listed = call(anna, sandbox, "GET", "/status_updates", parent=OPERATIONS)["data"]
    assert [u["title"] for u in listed] == ["Delegation this week", "Operations, last week"]
    assert listed[0] == {
        "gid": created["gid"],
        "resource_type": "status_update",
        "resource_subtype": "project_status_update",
        "title": "Delegation this week",
    }
    recent = call(
        anna,
        sandbox,
        "GET",
        "/status_updates",
        parent=OPERATIONS,
        created_since="2026-11-27T00:00:00Z",
    )
    assert [u["gid"] for u in recent["data"]] == [created["gid"]]
    project = call(
        anna, sandbox, "GET", f"/projects/{OPERATIONS}", opt_fields="current_status_update.title"
    )
    assert project["data"]["current_status_update"]["title"] == "Delegation this week"


@pytest.mark.contract_refusals_expected  # the spec refuses it: see delegator/sandbox/strict.py
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"parent": OPERATIONS, "status_type": "fine", "text": "x"},
            "status_type: Not one of on_track, at_risk,",
        ),
        ({"parent": OPERATIONS, "status_type": "on_track"}, "text: Missing input"),
        ({"status_type": "on_track", "text": "x"}, "parent: Missing input"),
    ],
)
def test_invalid_status_updates_are_refused(
    anna: requests.Session, sandbox: SandboxServer, data: dict[str, str], message: str
) -> None:
    body = call(anna, sandbox, "POST", "/status_updates", data, expect=400)
    assert first_error(body).startswith(message)
    assert len(sandbox.world.project("Operations").status_updates) == 1


@pytest.mark.contract_refusals_expected  # the spec refuses it: see delegator/sandbox/strict.py
def test_listing_status_updates_needs_a_parent(
    anna: requests.Session, sandbox: SandboxServer
) -> None:
    body = call(anna, sandbox, "GET", "/status_updates", expect=400)
    assert first_error(body) == "parent: Missing input"


# ---------------------------------------------------------------------- the world as a person changes it
def test_a_person_reassigning_in_python_is_seen_by_clients(
    anna: requests.Session, sandbox: SandboxServer, clock: ManualClock, task: Task
) -> None:
    world = sandbox.world
    clock.advance(minutes=7)
    world.assign(task, world.user("Luca Neri"), by=world.user("Anna Rossi"))
    world.update_task(
        task,
        due_on=date(2026, 12, 2),
        custom_fields={"Priority": "Low"},
        by=world.user("Anna Rossi"),
    )
    body = call(
        anna,
        sandbox,
        "GET",
        f"/tasks/{task.gid}",
        opt_fields="assignee.name,due_on,custom_fields.display_value,modified_at",
    )
    assert body["data"]["assignee"] == {"gid": LUCA, "name": "Luca Neri"}
    assert body["data"]["due_on"] == "2026-12-02"
    assert body["data"]["custom_fields"][0]["display_value"] == "Low"
    assert body["data"]["modified_at"] == "2026-11-27T09:07:00.000Z"
