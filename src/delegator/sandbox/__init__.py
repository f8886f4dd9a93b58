"""A local, Asana-compatible HTTP server: the demo's default world and the tests' Asana.

It speaks Asana's REST API (``/api/1.0``, the ``data`` / ``next_page`` / ``errors`` envelopes,
``opt_fields``, pagination, ``modified_since``, ``completed_since``, stories, status updates,
``/batch``, ``/events`` with sync tokens, webhooks with their handshake and signed deliveries)
for everything delegator uses, over an in-memory world seeded from a YAML or JSON fixture, with
faults injectable per token. docs/sandbox.md has the endpoint list and the fixture format.

Python API::

    from delegator.sandbox import SandboxServer, ManualClock

    with SandboxServer.demo() as sandbox:  # or .from_fixture(path_or_mapping)
        sandbox.base_url  # "http://127.0.0.1:PORT/api/1.0"
        sandbox.token("anna@northwind.example")  # "sandbox-token-anna"
        sandbox.auth("anna@northwind.example")  # {"Authorization": "Bearer ..."}

        # The world, as people change it (stories, events and modified_at follow):
        world = sandbox.world
        task = world.task("Send invoice to Bluebird Cafe")  # by gid or name
        world.assign(task, world.user("luca@northwind.example"), by=world.user("Anna Rossi"))
        world.comment(task, "Done, sent by email", by=world.user("Luca Neri"))
        world.update_task(task, due_on=date(2026, 12, 1), custom_fields={"Priority": "Low"})
        world.add_tag(task, world.tag("urgent"))
        world.complete(task)
        world.post_status_update(
            world.project("Operations"), by=..., text=..., status_type="on_track"
        )

        # Faults, per token, at any time ("*" = every token without its own settings):
        sandbox.faults.rate_limit("sandbox-token-anna", 150)  # 429 + Retry-After beyond
        sandbox.faults.fail_next("sandbox-token-anna", 2)  # next 2 requests: 500
        sandbox.faults.fail_next(token, after_apply=True)  # done, yet answered 500
        sandbox.faults.error_rate(token, 0.1, seed=1)
        sandbox.faults.latency(token, 0.05)
        sandbox.faults.revoke(token)
        sandbox.faults.clear()

        # Webhooks (POST /webhooks does the handshake; deliveries are signed and batched):
        sandbox.webhooks.all()  # Webhook records, with their secrets
        sandbox.webhooks.deliveries()  # every POST to a target: body, signature, status
        sandbox.webhooks.flush()  # send what is queued now; .heartbeat() sends an empty one
        sandbox.webhooks.faults.lose(webhook_gid)  # duplicate, delay, reorder, bad_signature

        # What clients asked:
        sandbox.requests.count("GET", "/projects/{project_gid}/tasks")
        sandbox.requests.counts()  # Counter({"GET /tasks": 3, ...})
        sandbox.requests.quota_units(token)
        sandbox.requests.entries()
        sandbox.requests.reset()

    # Big worlds for benchmarks:
    SandboxServer.from_fixture(synthetic_fixture(projects=20, tasks_per_project=250))
    touch_tasks(world, 50)  # 50 tasks changed as a person would

Time: pass ``clock=ManualClock(datetime(..., tzinfo=UTC))`` to control ``modified_at``,
``created_at`` and sync-token expiry, and ``today=`` to pin the day fixtures' relative dates
count from.
"""

from delegator.sandbox.clock import ManualClock, format_instant, system_clock
from delegator.sandbox.errors import ApiError
from delegator.sandbox.faults import ALL_TOKENS, Faults
from delegator.sandbox.fixtures import FixtureError, load_world, read_fixture
from delegator.sandbox.records import (
    CustomField,
    EnumOption,
    Like,
    Project,
    Section,
    StatusUpdate,
    Story,
    Tag,
    Task,
    User,
    Workspace,
)
from delegator.sandbox.requestlog import LoggedRequest, RequestLog
from delegator.sandbox.server import DEMO_WORLD, SandboxServer, world_path
from delegator.sandbox.synthetic import synthetic_fixture, touch_tasks
from delegator.sandbox.world import UNCHANGED, World

__all__ = [
    "ALL_TOKENS",
    "DEMO_WORLD",
    "UNCHANGED",
    "ApiError",
    "CustomField",
    "EnumOption",
    "Faults",
    "FixtureError",
    "Like",
    "LoggedRequest",
    "ManualClock",
    "Project",
    "RequestLog",
    "SandboxServer",
    "Section",
    "StatusUpdate",
    "Story",
    "Tag",
    "Task",
    "User",
    "Workspace",
    "World",
    "format_instant",
    "load_world",
    "read_fixture",
    "synthetic_fixture",
    "system_clock",
    "touch_tasks",
    "world_path",
]
