"""Large generated worlds for benchmarks: N projects of M tasks, reproducible from a seed.

``synthetic_fixture(20, 250)`` is a fixture mapping (so it can be saved, inspected or loaded like
any other) for one workspace, "Synthetic Co": an owner (token ``synthetic-token-owner``) who has
most tasks, assistants (``synthetic-token-assistant-1``...), tags urgent / important / keep, the
custom fields Priority (enum) and Estimated time (number) on every project, and tasks of the
kinds the demo has (invoices, bookings, inbox chores, strategy), with due dates spread from a week
ago to three weeks ahead, some without one, about a tenth completed.
"""

from __future__ import annotations

import random
from typing import Any, Final

from delegator.sandbox.records import Task, User
from delegator.sandbox.world import World

OWNER_TOKEN: Final = "synthetic-token-owner"  # noqa: S105 - a made-up token of a made-up world
_KINDS: Final = (
    ("Pay invoice #{n} from {vendor}", "urgent"),
    ("Send invoice to {client}", None),
    ("Book flights to {city} for the {client} meeting", None),
    ("Book a hotel in {city}", None),
    ("Reply to {client} about the schedule", None),
    ("Send {month} receipts to the accountant", "urgent"),
    ("Reconcile expenses for {month}", None),
    ("Unsubscribe from {vendor} newsletters", None),
    ("Call with {client} about the next phase", "important"),
    ("Strategy review: {client} account", "important"),
    ("File the {client} contract", None),
    ("Order supplies from {vendor}", None),
)
_VENDORS: Final = ("Hetzner", "Shutterstock", "Adobe", "Figma", "Notion", "Staples", "DHL")
_CLIENTS: Final = ("Bluebird Cafe", "Harbor Books", "Fenwick Gallery", "Pine & Co", "Kessler")
_CITIES: Final = ("Lisbon", "Hamburg", "Milan", "Vienna", "Lyon")
_MONTHS: Final = ("September", "October", "November")


def synthetic_fixture(
    projects: int = 20,
    tasks_per_project: int = 250,
    *,
    assistants: int = 2,
    seed: int = 0,
) -> dict[str, Any]:
    """A fixture for one workspace with ``projects`` x ``tasks_per_project`` tasks."""
    rng = random.Random(seed)
    owner_email = "owner@synthetic.example"
    users: list[dict[str, Any]] = [
        {"name": "Olivia Owner", "email": owner_email, "token": OWNER_TOKEN, "role": "client"}
    ]
    users.extend(
        {
            "name": f"Assistant {index}",
            "email": f"assistant{index}@synthetic.example",
            "token": f"synthetic-token-assistant-{index}",
            "role": "assistant",
        }
        for index in range(1, assistants + 1)
    )
    fixture_projects: list[dict[str, Any]] = []
    counter = 1000
    for p in range(1, projects + 1):
        tasks: list[dict[str, Any]] = []
        for _ in range(tasks_per_project):
            counter += 1
            template, tag = rng.choice(_KINDS)
            name = template.format(
                n=counter,
                vendor=rng.choice(_VENDORS),
                client=rng.choice(_CLIENTS),
                city=rng.choice(_CITIES),
                month=rng.choice(_MONTHS),
            )
            roll = rng.random()
            task: dict[str, Any] = {
                "name": name,
                "section": rng.choice(("Inbox", "Inbox", "Doing", "Waiting")),
                "assignee": (
                    owner_email
                    if roll < 0.8 or assistants == 0
                    else users[rng.randint(1, assistants)]["email"]
                    if roll < 0.9
                    else None
                ),
                "custom_fields": {
                    "Priority": rng.choice(("High", "Medium", "Low")),
                    "Estimated time": rng.choice((5, 10, 15, 30, 60, 120)),
                },
            }
            if rng.random() < 0.8:
                task["due_on"] = f"today{rng.randint(-7, 21):+d}"
            if tag is not None and rng.random() < 0.5:
                task["tags"] = [tag]
            if rng.random() < 0.1:
                task["completed"] = True
                task["section"] = "Done"
            tasks.append(task)
        fixture_projects.append(
            {
                "name": f"Project {p:03d}",
                "owner": owner_email,
                "sections": ["Inbox", "Doing", "Waiting", "Done"],
                "custom_fields": ["Priority", "Estimated time"],
                "tasks": tasks,
            }
        )
    return {
        "description": f"Synthetic world: {projects} projects x {tasks_per_project} tasks (seed {seed})",
        "workspaces": [
            {
                "name": "Synthetic Co",
                "users": users,
                "tags": ["urgent", "important", "keep"],
                "custom_fields": [
                    {"name": "Priority", "type": "enum", "options": ["High", "Medium", "Low"]},
                    {"name": "Estimated time", "type": "number"},
                ],
                "projects": fixture_projects,
            }
        ],
    }


def touch_tasks(world: World, count: int, *, seed: int = 0, by: User | None = None) -> list[Task]:
    """Change ``count`` distinct open tasks as a person would (notes, due date or name).

    For benchmarks of incremental reads: each changed task gets a new ``modified_at``.
    """
    rng = random.Random(seed)
    with world.lock:
        candidates = [task for task in world.all_tasks() if not task.completed]
        chosen = rng.sample(candidates, min(count, len(candidates)))
        for index, task in enumerate(chosen):
            match index % 3:
                case 0:
                    world.update_task(task, by=by, notes=f"{task.notes} (updated)".strip())
                case 1:
                    world.update_task(task, by=by, name=f"{task.name} (revised)")
                case _:
                    world.comment(
                        task, "Any news on this?", by=by or task.assignee or world.users()[0]
                    )
        return chosen
