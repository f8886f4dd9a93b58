"""Seed fixtures: relative dates, errors that say where, the demo world, synthetic worlds."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from delegator.sandbox import (
    FixtureError,
    ManualClock,
    SandboxServer,
    load_world,
    synthetic_fixture,
    touch_tasks,
    world_path,
)
from delegator.sandbox.fixtures import resolve_date, resolve_instant

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)


def small(**task: Any) -> dict[str, Any]:
    """A one-workspace fixture with one project and the given task."""
    return {
        "workspaces": [
            {
                "name": "Acme",
                "gid": "100",
                "users": [{"name": "Ada", "email": "ada@acme.example", "token": "t-ada"}],
                "tags": ["urgent"],
                "custom_fields": [
                    {"name": "Priority", "type": "enum", "options": ["High", "Low"]},
                    {"name": "Due by", "type": "date"},
                ],
                "projects": [
                    {
                        "name": "Ops",
                        "sections": ["Inbox", "Done"],
                        "custom_fields": ["Priority", "Due by"],
                        "tasks": [{"name": "A task", **task}],
                    }
                ],
            }
        ]
    }


# ---------------------------------------------------------------------- relative dates
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", TODAY),
        ("today+2", date(2026, 11, 29)),
        ("today - 3", date(2026, 11, 24)),
        ("today+10d", date(2026, 12, 7)),
        ("2026-12-01", date(2026, 12, 1)),
        (date(2026, 1, 2), date(2026, 1, 2)),
        (None, None),
    ],
)
def test_relative_dates(text: Any, expected: date | None) -> None:
    assert resolve_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("now-3h", NOW - timedelta(hours=3)),
        ("now+30m", NOW + timedelta(minutes=30)),
        ("now-2d", NOW - timedelta(days=2)),
        ("today+1 17:00", datetime(2026, 11, 28, 17, 0, tzinfo=UTC)),
        ("today-2T08:15:30Z", datetime(2026, 11, 25, 8, 15, 30, tzinfo=UTC)),
        ("2026-12-01T10:00:00+01:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_relative_instants(text: str, expected: datetime) -> None:
    assert resolve_instant(text, TODAY, NOW) == expected


@pytest.mark.parametrize("text", ["tomorrow", "today+x", "2026-13-01"])
def test_unreadable_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected a date"):
        resolve_date(text, TODAY)


# ---------------------------------------------------------------------- loading
def test_a_fixture_resolves_dates_against_the_clock_and_today() -> None:
    world = load_world(
        small(
            due_on="today+2",
            due_at=None,
            completed_at="today-1 16:00",
            custom_fields={"Priority": "High", "Due by": "today+5"},
            comments=[{"by": "ada@acme.example", "text": "hi", "at": "now-1h"}],
        ),
        clock=ManualClock(NOW),
        today=date(2026, 1, 10),
    )
    task = world.task("A task")
    assert task.due_on == date(2026, 1, 12)
    assert task.completed is True
    assert task.completed_at == datetime(2026, 1, 9, 16, 0, tzinfo=UTC)
    assert task.created_at == NOW - timedelta(days=7)
    assert task.modified_at == NOW - timedelta(hours=1)  # the latest thing that happened to it
    assert task.stories[0].text == "hi"
    assert task.stories[0].created_by is world.user("Ada")
    assert task.custom_values[world.custom_field("Due by").gid] == date(2026, 1, 15)
    assert world.section("Ops", "Inbox").tasks == [task]  # no section: the project's first one
    assert world.events.all() == []  # seeding writes history, not events


def test_the_default_section_is_the_first_and_explicit_gids_are_kept() -> None:
    world = load_world(small(gid="555", section="Done"), clock=ManualClock(NOW))
    assert world.task("555").name == "A task"
    assert world.section("Ops", "Done").tasks[0].gid == "555"
    assert world.workspace("100").name == "Acme"
    assert world.user_for_token("t-ada") is world.user("ada@acme.example")


def test_yaml_and_json_files_load_alike(tmp_path: Path) -> None:
    as_json = tmp_path / "world.json"
    as_json.write_text(json.dumps(small(due_on="2026-12-01")), encoding="utf-8")
    as_yaml = tmp_path / "world.yaml"
    as_yaml.write_text(
        "workspaces:\n"
        "  - name: Acme\n"
        "    users: [{name: Ada, email: ada@acme.example, token: t-ada}]\n"
        "    tasks:\n"
        "      - {name: A task, assignee: Ada, due_on: 2026-12-01}\n",
        encoding="utf-8",
    )
    from_json = load_world(as_json).task("A task")
    from_yaml = load_world(as_yaml).task("A task")
    assert from_json.due_on == from_yaml.due_on == date(2026, 12, 1)
    assert from_yaml.assignee is not None
    assert from_yaml.assignee.name == "Ada"


@pytest.mark.parametrize(
    ("task", "where", "problem"),
    [
        (
            {"assignee": "bob@acme.example"},
            "workspaces[0].projects[0].tasks[0].assignee",
            "no user 'bob@acme.example'",
        ),
        (
            {"section": "Later"},
            "workspaces[0].projects[0].tasks[0].section",
            "no section 'Later' in project 'Ops'",
        ),
        ({"due_on": "soon"}, "workspaces[0].projects[0].tasks[0].due_on", "expected a date"),
        ({"tags": ["later"]}, "workspaces[0].projects[0].tasks[0].tags[0]", "no tag 'later'"),
        (
            {"asignee": "ada@acme.example"},
            "workspaces[0].projects[0].tasks[0].asignee",
            "unknown key for a task",
        ),
        ({"gid": "abc"}, "workspaces[0].projects[0].tasks[0].gid", "a gid is a string of digits"),
        (
            {"custom_fields": {"Priority": "Urgent"}},
            "workspaces[0].projects[0].tasks[0]",
            "is not one of its enum option gids",
        ),
        (
            {"subtasks": [{"notes": "no name"}]},
            "workspaces[0].projects[0].tasks[0].subtasks[0].name",
            "required",
        ),
    ],
)
def test_fixture_mistakes_say_where_and_what(
    task: dict[str, Any], where: str, problem: str
) -> None:
    with pytest.raises(FixtureError) as caught:
        load_world(small(**task))
    assert caught.value.where == where
    assert problem in caught.value.problem


def test_files_that_are_not_fixtures(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("workspaces: [\n", encoding="utf-8")
    with pytest.raises(FixtureError, match="not valid YAML"):
        load_world(broken)
    with pytest.raises(FixtureError, match="cannot read the fixture"):
        load_world(tmp_path / "missing.yaml")
    with pytest.raises(FixtureError, match="non-empty 'workspaces' list"):
        load_world({"workspaces": []})
    with pytest.raises(FixtureError, match="unknown top-level keys: users"):
        load_world({"workspaces": [{"name": "A"}], "users": []})


# ---------------------------------------------------------------------- the demo world
def test_the_demo_world_has_the_names_the_example_rules_use() -> None:
    world = load_world(world_path(), clock=ManualClock(NOW))
    northwind, fischer = world.workspaces
    assert (northwind.gid, northwind.name) == ("1100000000000001", "Northwind Studio")
    assert (fischer.gid, fischer.name) == ("1200000000000001", "Fischer Consulting")
    people = {(u.name, u.email, u.gid, tuple(u.tokens), u.role) for u in world.users()}
    assert people == {
        (
            "Anna Rossi",
            "anna@northwind.example",
            "1100000000000101",
            ("sandbox-token-anna",),
            "client",
        ),
        (
            "Giulia Bianchi",
            "giulia@va-agency.example",
            "1100000000000102",
            ("sandbox-token-giulia",),
            "assistant",
        ),
        (
            "Marco Verdi",
            "marco@va-agency.example",
            "1100000000000103",
            ("sandbox-token-marco",),
            "assistant",
        ),
        (
            "Luca Neri",
            "luca@northwind.example",
            "1100000000000104",
            ("sandbox-token-luca",),
            "employee",
        ),
        (
            "Lena Fischer",
            "lena@fischer-consulting.example",
            "1200000000000101",
            ("sandbox-token-lena",),
            "client",
        ),
        (
            "Sam Okoro",
            "sam@va-desk.example",
            "1200000000000102",
            ("sandbox-token-sam",),
            "assistant",
        ),
    }
    sections = {p.name: [s.name for s in p.sections] for p in northwind.projects}
    assert sections == {
        "Operations": ["Inbox", "Doing", "Waiting", "Done"],
        "Client Admin": ["To do", "Invoices", "Bookings"],
        "Strategy": ["Ideas", "Planned"],
    }
    assert [t.name for t in northwind.tags] == ["urgent", "important", "keep"]
    assert [t.name for t in fischer.tags] == ["urgent", "important", "keep"]
    priority, estimate = northwind.custom_fields
    assert (priority.name, priority.type, [o.name for o in priority.enum_options]) == (
        "Priority",
        "enum",
        ["High", "Medium", "Low"],
    )
    assert (estimate.name, estimate.type) == ("Estimated time", "number")
    with_fields = [p.name for p in northwind.projects if p.custom_field_settings]
    assert with_fields == ["Operations", "Client Admin"]
    assert [(p.name, [s.name for s in p.sections]) for p in fischer.projects] == [
        ("Clients", ["Active", "Done"])
    ]


def test_the_demo_world_has_the_kinds_of_tasks_the_demo_needs() -> None:
    world = load_world(world_path(), clock=ManualClock(NOW))
    anna, giulia, luca, lena = (
        world.user(n) for n in ("Anna Rossi", "Giulia Bianchi", "Luca Neri", "Lena Fischer")
    )
    northwind = [t for t in world.all_tasks() if t.workspace.name == "Northwind Studio"]
    fischer = [t for t in world.all_tasks() if t.workspace.name == "Fischer Consulting"]
    assert 52 <= len(northwind) <= 60  # 38 current tasks and 19 of the past months (suggest)
    assert 14 <= len(fischer) <= 18
    for name in (
        "Pay invoice #2041 from Hetzner",
        "Send invoice to Bluebird Cafe",
        "Send November receipts to the accountant",
        "Reconcile expenses for October",
        "Q1 strategy offsite agenda",
        "Pricing model for 2027",
        "Call with Bluebird Cafe about the rebrand",
        "Book a restaurant for the team dinner",
    ):
        world.task(name)
    pricing = world.task("Pricing model for 2027")
    assert "important" in [t.name for t in pricing.tags]
    assert pricing.custom_fields()[0].display_value() == "High"
    overdue = [t for t in northwind if t.due_on and t.due_on < TODAY and not t.completed]
    due_soon = [t for t in northwind if t.due_on and TODAY < t.due_on <= TODAY + timedelta(days=2)]
    assert len(overdue) >= 3
    assert len(due_soon) >= 3
    assert any(t.due_on is None for t in northwind)
    assert sum(t.completed for t in northwind) >= 2
    assert [t.name for t in northwind if "keep" in [g.name for g in t.tags]] == [
        "Buy a birthday present for Luca"
    ]
    assert [t.name for t in northwind if t.parent] == ["Collect dietary requirements from the team"]
    assignees = [t.assignee for t in northwind]
    assert assignees.count(anna) > len(northwind) / 2
    assert luca in assignees
    assert giulia in assignees
    lenas = [t for t in fischer if t.assignee is lena]
    assert len(lenas) > len(fischer) / 2
    assert sum(not t.projects for t in lenas) >= 8  # her My Tasks only


# ---------------------------------------------------------------------- synthetic worlds
def test_a_synthetic_world_has_n_projects_of_m_tasks_and_is_reproducible() -> None:
    fixture = synthetic_fixture(projects=4, tasks_per_project=30, assistants=3, seed=5)
    assert fixture == synthetic_fixture(projects=4, tasks_per_project=30, assistants=3, seed=5)
    assert fixture != synthetic_fixture(projects=4, tasks_per_project=30, assistants=3, seed=6)
    world = load_world(fixture, clock=ManualClock(NOW))
    (workspace,) = world.workspaces
    assert [p.name for p in workspace.projects] == [f"Project {n:03d}" for n in range(1, 5)]
    assert [len(p.tasks()) for p in workspace.projects] == [30, 30, 30, 30]
    assert sorted(world.tokens) == [
        "synthetic-token-assistant-1",
        "synthetic-token-assistant-2",
        "synthetic-token-assistant-3",
        "synthetic-token-owner",
    ]
    owner = world.user("owner@synthetic.example")
    assert sum(t.assignee is owner for t in world.all_tasks()) > 60


def test_touch_tasks_changes_that_many_open_tasks(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    world = load_world(synthetic_fixture(projects=2, tasks_per_project=20), clock=clock)
    clock.advance(minutes=1)
    touched = touch_tasks(world, 7, seed=1)
    assert len({t.gid for t in touched}) == 7
    changed = [t for t in world.all_tasks() if t.modified_at == NOW + timedelta(minutes=1)]
    assert sorted(t.gid for t in changed) == sorted(t.gid for t in touched)
    assert all(not t.completed for t in touched)


def test_a_large_synthetic_world_is_served_in_pages_only() -> None:
    with SandboxServer.from_fixture(
        synthetic_fixture(projects=1, tasks_per_project=1001)
    ) as sandbox:
        url = f"{sandbox.base_url}/projects/{sandbox.world.project('Project 001').gid}/tasks"
        with requests.Session() as http:
            http.headers["Authorization"] = "Bearer synthetic-token-owner"
            unpaginated = http.get(url, timeout=5)
            pages: list[Any] = [http.get(url, params={"limit": 100}, timeout=5).json()]
            while pages[-1]["next_page"] is not None:
                pages.append(http.get(pages[-1]["next_page"]["uri"], timeout=5).json())
    assert unpaginated.status_code == 400
    assert unpaginated.json()["errors"][0]["message"].startswith("The result is too large.")
    assert [len(page["data"]) for page in pages] == [100] * 10 + [1]
    assert len({task["gid"] for page in pages for task in page["data"]}) == 1001
