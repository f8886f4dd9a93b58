"""The world's Python API (how tests and the demo act as people) and its thread safety."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
import requests

from delegator.sandbox import (
    UNCHANGED,
    ApiError,
    ManualClock,
    SandboxServer,
    World,
    load_world,
    world_path,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def world() -> World:
    return load_world(world_path(), clock=ManualClock(NOW))


def test_one_person_in_two_workspaces_is_one_user() -> None:
    world = World(clock=ManualClock(NOW))
    first = world.add_workspace("One")
    second = world.add_workspace("Two")
    ada = world.add_user(first, "Ada", "ada@x.example", tokens=["t1"])
    again = world.add_user(second, "Ada L.", "ADA@x.example", tokens=["t2"])
    assert again is ada
    assert ada.workspaces == [first, second]
    assert ada.tokens == ["t1", "t2"]
    bob = world.add_user(first, "Bob", "bob@x.example")
    with pytest.raises(ValueError, match=r"token 't1' already belongs to ada@x\.example"):
        world.add_user(first, "Bob", "bob@x.example", tokens=["t1"])
    assert bob.tokens == []
    world.add_workspace("Three", gid="1")
    with pytest.raises(ValueError, match="gid 1 is already used"):
        world.add_workspace("Four", gid="1")


def test_look_ups_by_name_gid_and_email(world: World) -> None:
    anna = world.user("anna@northwind.example")
    assert world.user("Anna Rossi") is anna
    assert world.user("1100000000000101") is anna
    assert world.project("Operations").gid == "1100000000000201"
    assert world.section("Operations", "Waiting").gid == "1100000000000303"
    assert world.tag("urgent", world.workspace("Fischer Consulting")).gid == "1200000000000401"
    assert world.custom_field("priority").type == "enum"
    with pytest.raises(KeyError, match="no task 'Walk the dog'"):
        world.task("Walk the dog")
    with pytest.raises(KeyError, match="no section 'Later' in project 'Operations'"):
        world.section("Operations", "Later")
    task_list = world.user_task_list(anna, world.workspace("Northwind Studio"))
    assert world.user_task_list(anna, world.workspace("Northwind Studio")) is task_list


def test_update_task_changes_only_what_is_given(world: World) -> None:
    task = world.task("Hire a second senior designer")
    world.update_task(task, notes="Senior, remote-friendly", name=UNCHANGED)
    assert task.name == "Hire a second senior designer"
    assert task.notes == "Senior, remote-friendly"
    world.update_task(task, due_on=date(2027, 1, 15), start_on=date(2027, 1, 1))
    assert (task.due_on, task.start_on) == (date(2027, 1, 15), date(2027, 1, 1))
    assert [s.resource_subtype for s in task.stories] == [
        "notes_changed",
        "due_date_changed",
        "start_date_changed",
    ]
    world.update_task(task, due_on=None)
    assert task.stories[-1].text == "removed the due date"


def test_custom_fields_by_name_for_people(world: World) -> None:
    task = world.task("Reconcile expenses for October")
    world.update_task(task, custom_fields={"Priority": "high", "Estimated time": 60.0})
    priority, estimate = task.custom_fields()
    assert priority.display_value() == "High"
    assert estimate.raw == 60
    with pytest.raises(ApiError) as caught:
        world.update_task(task, custom_fields={"Priority": "Urgent"})
    assert caught.value.status == 400
    with pytest.raises(ApiError, match="Custom field with ID Budget is not on given object"):
        world.update_task(task, custom_fields={"Budget": 3})


def test_every_kind_of_custom_field() -> None:
    world = load_world(
        {
            "workspaces": [
                {
                    "name": "W",
                    "users": [{"name": "U", "email": "u@x.example"}],
                    "custom_fields": [
                        {
                            "name": "Channels",
                            "type": "multi_enum",
                            "options": ["Email", "Phone", "Chat"],
                        },
                        {"name": "Client", "type": "text"},
                        {"name": "Deadline", "type": "date"},
                        {"name": "Cost", "type": "number", "precision": 2},
                    ],
                    "projects": [
                        {
                            "name": "P",
                            "custom_fields": ["Channels", "Client", "Deadline", "Cost"],
                            "tasks": [{"name": "T"}],
                        }
                    ],
                }
            ]
        },
        clock=ManualClock(NOW),
    )
    task = world.task("T")
    world.update_task(
        task,
        custom_fields={
            "Channels": ["Email", "Chat"],
            "Client": "Bluebird",
            "Deadline": "2026-12-24",
            "Cost": "12.5",
        },
    )
    shown = {value.field.name: value.display_value() for value in task.custom_fields()}
    assert shown == {
        "Channels": "Email, Chat",
        "Client": "Bluebird",
        "Deadline": "2026-12-24",
        "Cost": "12.50",
    }
    deadline = next(v for v in task.custom_fields() if v.field.name == "Deadline")
    assert deadline.value("date_value") == {"date": "2026-12-24", "date_time": None}
    assert deadline.value("enum_value").__class__.__name__ == "_Missing"  # not an enum field


def test_sections_and_projects_as_a_person_moves_tasks(world: World) -> None:
    operations = world.project("Operations")
    inbox, doing = world.section(operations, "Inbox"), world.section(operations, "Doing")
    task = inbox.tasks[2]
    world.move_to_section(task, doing, insert_before=doing.tasks[1])
    assert doing.tasks[1] is task
    assert task not in inbox.tasks
    world.add_to_project(task, operations)  # already there: to the end of its section
    assert doing.tasks[-1] is task
    strategy = world.project("Strategy")
    world.add_to_project(task, strategy)
    assert task.projects == [operations, strategy]
    assert world.section(strategy, "Planned").tasks[-1] is task  # the end of the project
    assert world.remove_from_project(task, operations) is True
    assert world.remove_from_project(task, operations) is False
    assert task.projects == [strategy]


def test_a_status_update_needs_a_known_status_type(world: World) -> None:
    with pytest.raises(ApiError, match="status_type: Not a valid status type"):
        world.post_status_update(
            world.project("Operations"), by=world.user("Anna Rossi"), text="x", status_type="green"
        )


def test_concurrent_clients_see_a_consistent_world() -> None:
    with SandboxServer.demo() as sandbox:
        tasks = [task.gid for task in sandbox.world.project("Operations").tasks()[:6]]
        failures: list[str] = []

        def client(token: str, index: int) -> None:
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {token}"
                for round_ in range(10):
                    gid = tasks[(index + round_) % len(tasks)]
                    responses = (
                        http.put(
                            f"{sandbox.base_url}/tasks/{gid}",
                            json={"data": {"notes": f"{token} {round_}"}},
                            timeout=10,
                        ),
                        http.post(
                            f"{sandbox.base_url}/tasks/{gid}/stories",
                            json={"data": {"text": f"{token} says {round_}"}},
                            timeout=10,
                        ),
                    )
                    failures.extend(r.text for r in responses if not r.ok)

        tokens = [
            "sandbox-token-anna",
            "sandbox-token-giulia",
            "sandbox-token-marco",
            "sandbox-token-luca",
        ]
        threads = [threading.Thread(target=client, args=(t, i)) for i, t in enumerate(tokens)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert failures == []
        comments = [
            story
            for gid in tasks
            for story in sandbox.world.task(gid).stories
            if story.type == "comment"
        ]
        assert len(comments) == 40
        assert len({story.gid for story in comments}) == 40
        assert sandbox.requests.count() == 80
        assert sandbox.requests.count("POST", "/tasks/{task_gid}/stories", status=201) == 40
