"""Property: whatever Asana answers, only the project's own errors come out, and soon.

Arbitrary JSON (and some that is not JSON), arbitrary statuses and headers are fed through
`responses` to the client's pages, records, batches, directory look-ups and writes, and
to the backend the service sees. Each call either succeeds or raises an `AsanaError` (the
backend: a `BackendError`), never a TypeError, KeyError, AttributeError or ValueError, and it
ends: the answers run out into an empty page, retries are bounded, a repeated offset stops.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import responses
from asana_fakes import BASE, START
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delegator.asana import (
    AsanaClient,
    AsanaError,
    BudgetRegistry,
    Limits,
    RetryPolicy,
    Source,
    SyncPosition,
    writes,
)
from delegator.asana.backend import AsanaBackend
from delegator.asana.mapping import TASK_OPT_FIELDS
from delegator.clock import ManualClock
from delegator.core.context import Directory, Identity
from delegator.core.intents import Assign, Comment
from delegator.core.model import Task
from delegator.core.schema import WatchSource
from delegator.ports import BackendError, WatchedSource

SETTINGS = settings(
    # A few seconds for the file; each run draws new examples. More: DELEGATOR_PROPERTY_EXAMPLES.
    max_examples=int(os.environ.get("DELEGATOR_PROPERTY_EXAMPLES", "12")),
    deadline=3000,  # ms per example: "bounded time"
    database=None,  # no example database left in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)
END: tuple[int, dict[str, str], str] = (
    200,
    {"Content-Type": "application/json"},
    json.dumps({"data": [], "next_page": None}),
)
Answer = tuple[int, dict[str, str], str]

# ---------------------------------------------------------------- answers

#: Keys Asana uses, so that arbitrary objects often look nearly right.
KEYS = [
    "data",
    "gid",
    "name",
    "next_page",
    "offset",
    "sync",
    "has_more",
    "status_code",
    "body",
    "headers",
    "errors",
    "message",
    "workspaces",
    "custom_field",
    "enum_options",
    "resource",
    "parent",
    "resource_type",
    "modified_at",
    "created_at",
    "created_by",
    "text",
    "assignee",
    "memberships",
    "custom_fields",
    "tags",
    "projects",
    "completed",
    "due_on",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | st.sampled_from(["1", "42", "100", "task", "2026-11-27T09:00:00.000Z", "2026-11-27", ""])
)
keys = st.sampled_from(KEYS) | st.text(max_size=6)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=8,
)
gids = st.sampled_from(["1", "2", "100", "77"]) | scalars
records = st.fixed_dictionaries({"gid": gids}, optional=dict.fromkeys(KEYS[2:], json_values))
#: Pages that are nearly right: a list of records, a next_page that may or may not be one.
pages = st.fixed_dictionaries(
    {"data": st.lists(records, max_size=4) | json_values},
    optional={
        "next_page": st.none()
        | st.fixed_dictionaries({"offset": st.text(max_size=6) | scalars})
        | json_values
    },
)
single = st.fixed_dictionaries({"data": records | json_values})
batch_items = st.fixed_dictionaries(
    {},
    optional={
        "status_code": st.sampled_from([200, 201, 400, 403, 404, 429, 500]) | scalars,
        "body": single | pages | json_values,
        "headers": st.dictionaries(st.sampled_from(["Retry-After", "Location"]), scalars)
        | json_values,
    },
)
batches = st.fixed_dictionaries({"data": st.lists(batch_items, max_size=4) | json_values})
bodies = pages | single | batches | json_values | st.dictionaries(keys, json_values, max_size=4)
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    """One HTTP answer: mostly a 2xx of any body, sometimes an error status, or not JSON."""
    status = draw(st.sampled_from([200, 200, 200, 201, 400, 401, 402, 404, 412, 429, 500, 503]))
    headers = {"Content-Type": "application/json"}
    for name in draw(st.lists(st.sampled_from(["Retry-After", "Asana-Change", "Date"]))):
        headers[name] = draw(header_text | st.sampled_from(["1", "0", "name=x;affected=true"]))
    if draw(st.integers(0, 9)) == 0:
        headers["Content-Type"] = "text/html"
        return status, headers, draw(st.text(max_size=20))
    return status, headers, json.dumps(draw(bodies))


sequences = st.lists(answers(), min_size=1, max_size=5)


# ---------------------------------------------------------------- the client under test


@contextmanager
def asana(sequence: list[Answer]) -> Iterator[AsanaClient]:
    """A client whose every request gets the next answer of `sequence`, then empty pages."""
    queue = list(sequence)

    def answer(request: Any) -> Answer:
        return queue.pop(0) if queue else END

    clock = ManualClock(START)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        pattern = re.compile(re.escape(BASE) + ".*")
        for method in ("GET", "POST", "PUT"):
            api.add_callback(method, pattern, callback=answer)
        with AsanaClient(
            "0/property-token",
            base_url=BASE,
            retry=RetryPolicy(max_attempts=2, jitter=lambda ceiling: ceiling),
            limits=Limits(requests_per_minute=100_000),
            clock=clock,
            sleep=clock.sleep,
            budgets=BudgetRegistry(),
            workspace_gid="77",
        ) as client:
            yield client


def only_asana_errors(call: Callable[[AsanaClient], object], sequence: list[Answer]) -> None:
    with asana(sequence) as client:
        try:
            result = call(client)
            if isinstance(result, Iterator):
                list(result)
        except AsanaError:
            pass


def only_backend_errors(call: Callable[[AsanaBackend], object], sequence: list[Answer]) -> None:
    with asana(sequence) as client, suppress(BackendError):
        call(AsanaBackend(client, "77"))


# ---------------------------------------------------------------- properties: the client


@SETTINGS
@given(sequences, st.booleans())
def test_pages_of_tasks(sequence: list[Answer], read_before: bool) -> None:
    position = SyncPosition(Source.project("300"), START if read_before else None, START)
    only_asana_errors(lambda c: c.read_source(position, TASK_OPT_FIELDS), sequence)


@SETTINGS
@given(sequences)
def test_tag_search_and_my_tasks(sequence: list[Answer]) -> None:
    tag = SyncPosition(Source.tag("5"), START, START, search=True)
    mine = SyncPosition(Source.user_tasks("42", "77"))
    only_asana_errors(
        lambda c: (c.read_source(tag, ("name",)), c.read_source(mine, ("name",))), sequence
    )


@SETTINGS
@given(sequences)
def test_records_and_stories(sequence: list[Answer]) -> None:
    def call(client: AsanaClient) -> object:
        calls: list[Callable[[], object]] = [
            lambda: client.get_task("1", ("name",)),
            client.me,
            lambda: list(client.stories("1", ("text",))),
        ]
        for each in calls:
            with suppress(AsanaError):
                each()
        return None

    only_asana_errors(call, sequence)


@SETTINGS
@given(sequences)
def test_batches(sequence: list[Answer]) -> None:
    actions = [
        writes.get_task("1", ("name",)),
        writes.add_tag("1", "7"),
        writes.comment("1", "hello"),
        writes.assign("2", "42"),
    ]
    only_asana_errors(lambda c: c.batch(actions), sequence)


@SETTINGS
@given(sequences)
def test_directory_lookups(sequence: list[Answer]) -> None:
    def call(client: AsanaClient) -> object:
        lookups = client.lookups()
        calls: list[Callable[[], object]] = [
            lambda: lookups.user_by_email("77", "ana@example.com"),
            lambda: lookups.tag("77", "urgent"),
            lambda: lookups.ensure_tag("77", "delegated"),
            lambda: lookups.section("300", "Doing"),
            lambda: lookups.custom_field("Priority", project_gid="300"),
            lambda: lookups.custom_field("Stage", workspace_gid="77"),
        ]
        for each in calls:
            with suppress(AsanaError):
                each()
        return None

    only_asana_errors(call, sequence)


@SETTINGS
@given(sequences)
def test_writes_and_their_checks(sequence: list[Answer]) -> None:
    def call(client: AsanaClient) -> object:
        calls: list[Callable[[], object]] = [
            lambda: client.comment("1", "All yours"),
            lambda: client.assign("1", "42"),
            lambda: client.create_task("Chase", projects=["300"]),
            lambda: client.add_tag("1", "7"),
            lambda: client.post_status_update("300", "Fine", "on_track"),
        ]
        for each in calls:
            with suppress(AsanaError):
                each()
        return None

    only_asana_errors(call, sequence)


# ---------------------------------------------------------------- properties: the backend


@SETTINGS
@given(sequences)
def test_the_backend_reads(sequence: list[Answer]) -> None:
    source = WatchedSource("project Ops", "project:300")

    def call(backend: AsanaBackend) -> object:
        calls: list[Callable[[], object]] = [
            lambda: backend.read(source, None),
            lambda: backend.read_tasks(["1", "2", "3"]),
            lambda: backend.read_tasks(["1"]),
            lambda: backend.read_open(source),
            lambda: backend.me(),
            lambda: backend.person("ana@example.com"),
            lambda: backend.watched(WatchSource.model_validate({"tag": "x"}), Identity("1")),
            lambda: backend.find_comment("1", "hello"),
        ]
        for each in calls:
            with suppress(BackendError):
                each()
        return None

    only_backend_errors(call, sequence)


@SETTINGS
@given(sequences)
def test_the_backend_writes(sequence: list[Answer]) -> None:
    task = Task(gid="1", name="Pay rent")
    giulia = Identity("200", "giulia@example.com", "Giulia")

    def call(backend: AsanaBackend) -> object:
        calls: list[Callable[[], object]] = [
            lambda: backend.write(task, Comment("hi", rule="r"), text="hi"),
            lambda: backend.write(task, Assign(to="giulia"), assignee=giulia),
            lambda: backend.write(task, Assign(to="giulia"), directory=Directory()),
        ]
        for each in calls:
            with suppress(BackendError):
                each()
        return None

    only_backend_errors(call, sequence)
