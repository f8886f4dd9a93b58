"""Every request the Asana client sends, validated against Asana's OpenAPI spec.

The client runs against `responses` with plausible answers; each PreparedRequest it actually
sent (method, path, query, JSON body) is then checked with openapi-core, and its query names
against the operation's declared parameters (openapi-core ignores unknown ones). The actions
inside a /batch are checked too, as the requests they stand for. Skips when the spec is absent.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from openapi_core.testing import MockRequest

from delegator.asana import AsanaClient, BudgetRegistry, Source, SyncPosition, writes
from delegator.asana.writes import StatusUpdateCheck, StoryCheck, TagCheck, TaskCheck, find_existing

HOST = "https://app.asana.com"
PREFIX = "/api/1.0"
SINCE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

# What a rules engine typically asks of a task: all in GET /tasks' opt_fields enum.
TASK_FIELDS = (
    "name",
    "notes",
    "assignee",
    "assignee.name",
    "completed",
    "due_on",
    "due_at",
    "modified_at",
    "tags.name",
    "projects.name",
    "memberships.project.name",
    "memberships.section.name",
    "custom_fields.name",
    "custom_fields.enum_value.name",
    "custom_fields.number_value",
    "custom_fields.display_value",
    "permalink_url",
)

# The endpoints the client uses; a new one must be exercised below.
ENDPOINTS = {
    ("GET", "/users/{user_gid}"),
    ("GET", "/workspaces/{workspace_gid}/tasks/search"),
    ("GET", "/users/{user_gid}/user_task_list"),
    ("GET", "/user_task_lists/{user_task_list_gid}/tasks"),
    ("GET", "/tasks"),
    ("GET", "/tasks/{task_gid}"),
    ("GET", "/projects/{project_gid}/tasks"),
    ("GET", "/sections/{section_gid}/tasks"),
    ("GET", "/tags/{tag_gid}/tasks"),
    ("GET", "/tasks/{task_gid}/stories"),
    ("GET", "/status_updates"),
    ("GET", "/workspaces/{workspace_gid}/tags"),
    ("GET", "/workspaces/{workspace_gid}/projects"),
    ("GET", "/projects/{project_gid}/sections"),
    ("GET", "/projects/{project_gid}/custom_field_settings"),
    ("GET", "/workspaces/{workspace_gid}/custom_fields"),
    ("PUT", "/tasks/{task_gid}"),
    ("POST", "/tasks/{task_gid}/addTag"),
    ("POST", "/tasks/{task_gid}/removeTag"),
    ("POST", "/tasks/{task_gid}/addFollowers"),
    ("POST", "/tasks/{task_gid}/addProject"),
    ("POST", "/sections/{section_gid}/addTask"),
    ("POST", "/tasks/{task_gid}/stories"),
    ("POST", "/workspaces/{workspace_gid}/tags"),
    ("POST", "/tasks"),
    ("POST", "/status_updates"),
    ("POST", "/batch"),
    ("GET", "/sections/{section_gid}"),
    ("POST", "/webhooks"),
    ("GET", "/webhooks"),
    ("DELETE", "/webhooks/{webhook_gid}"),
}


# ---------------------------------------------------------------- a plausible Asana


def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    url = urlsplit(request.url or "")
    path = url.path.removeprefix(PREFIX)
    method = request.method or "GET"
    payload: dict[str, Any]
    status = 200
    if method == "GET" and path == "/projects/9/custom_field_settings":
        field = {
            "gid": "11",
            "name": "Priority",
            "resource_subtype": "enum",
            "enum_options": [{"gid": "o1", "name": "High"}],
        }
        payload = {"data": [{"gid": "cfs1", "custom_field": field}], "next_page": None}
    elif method == "GET" and re.fullmatch(
        r"/(users/(me|\d+|[^/]+@[^/]+)(/user_task_list)?|tasks/\d+)", path
    ):
        gid = "880" if path.endswith("user_task_list") else "100"
        payload = {"data": {"gid": gid, "name": "x", "workspaces": [{"gid": "77"}]}}
    elif method == "GET" and path == "/sections/5":
        payload = {"data": {"gid": "5", "project": {"gid": "9"}}}
    elif method == "GET" and path == "/webhooks":
        hook = {"gid": "1", "resource": {"gid": "9"}, "target": "https://h.test/k", "active": True}
        payload = {"data": [hook], "next_page": None}
    elif method == "GET":
        payload = {"data": [{"gid": "1", "name": "x"}], "next_page": None}
    elif method == "POST" and path == "/webhooks":
        status, payload = 201, {"data": {"gid": "950"}, "X-Hook-Secret": "s3cr3t"}
    elif path == "/batch":
        actions = json.loads(request.body or b"{}")["data"]["actions"]
        payload = {
            "data": [
                {"status_code": 200, "headers": {}, "body": {"data": {"gid": "1"}}} for _ in actions
            ]
        }
    elif method == "POST" and path in {
        "/tasks/1/stories",
        "/workspaces/77/tags",
        "/tasks",
        "/status_updates",
    }:
        status, payload = 201, {"data": {"gid": "900", "name": "x"}}
    else:
        payload = {"data": {"gid": "1"}}
    return status, {"Content-Type": "application/json"}, json.dumps(payload)


def exercise(client: AsanaClient) -> None:
    """Call everything the client can do, once per distinct request shape."""
    project, section, tag, user = (
        Source.project("9"),
        Source.section("5"),
        Source.tag("3"),
        Source.user_tasks("42", "77"),
    )
    client.me()
    for source in (project, section, tag, user):
        list(client.tasks(source, TASK_FIELDS))
        list(client.changed_tasks(source, SINCE, TASK_FIELDS))
        client.read_source(SyncPosition(source), TASK_FIELDS)
    list(client.tasks(project, TASK_FIELDS, include_completed=True))
    # A tag between whole reads: the search API.
    recent = datetime.now(UTC)
    client.read_source(SyncPosition(Source.tag("3", "77"), SINCE, recent), TASK_FIELDS)
    client.get_task("1", TASK_FIELDS)
    list(client.stories("1", ("created_at", "created_by", "resource_subtype", "text")))
    list(client.status_updates("9", ("created_at", "created_by", "text"), created_since=SINCE))

    lookups = client.lookups()
    lookups.user_by_email("77", "ana@example.com")
    lookups.tag("77", "urgent")
    lookups.ensure_tag("77", "delegated")
    lookups.project("77", "Client Work")
    lookups.section("9", "Delegated")
    lookups.custom_field("Priority", project_gid="9")
    lookups.custom_field("Stage", workspace_gid="77")
    lookups.section_project("5")

    target = "https://hooks.example.com/webhooks/asana/k3y"
    client.create_webhook("9", target, [{"resource_type": "task", "action": "changed"}])
    client.create_webhook("9", target)
    list(client.webhooks("77"))
    list(client.webhooks("77", resource="9"))
    client.delete_webhook("950")

    for check in (
        StoryCheck("1", "hello"),
        StatusUpdateCheck("9", "hello"),
        TaskCheck("hello", project_gid="9"),
        TaskCheck("hello", assignee="42", workspace_gid="77"),
        TagCheck("77", "urgent"),
    ):
        find_existing(client.transport, check, SINCE, me=lambda: "100")

    for action in ALL_WRITES:
        client.perform(action)
    client.batch(ALL_WRITES)


ALL_WRITES = [
    writes.assign("1", "42"),
    writes.assign("1", None),
    writes.set_due_on("1", date(2026, 12, 4)),
    writes.set_due_on("1", None),
    # Enum, text and date values only: the spec types custom_fields values as strings although its
    # own description (and Asana's API) also takes numbers and lists; the client sends those as is.
    writes.set_custom_fields("1", {"11": "o1", "12": "some text", "14": date(2026, 12, 1)}),
    writes.update_task("1", {"completed": True, "name": "Renamed"}),
    writes.add_tag("1", "7"),
    writes.remove_tag("1", "7"),
    writes.add_followers("1", ["42", "ana@example.com"]),
    writes.move_to_section("1", "5"),
    writes.move_to_section("1", "5", insert_after="2"),
    writes.add_project("1", "9"),
    writes.add_project("1", "9", section_gid="5"),
    writes.comment("1", "Over to you"),
    writes.comment("1", "Pinned note", pinned=True),
    writes.create_tag("77", "waiting-on-client", color="light-green"),
    writes.create_task(
        "Chase invoice",
        projects=["9"],
        assignee="42",
        notes="n",
        due_on=date(2026, 12, 1),
        tags=["7"],
        followers=["42"],
        custom_fields={"11": "o1"},
    ),
    writes.create_task("Loose task", workspace_gid="77"),
    writes.status_update("9", "All delegated.", "on_track", title="Weekly"),
    writes.get_task("1", TASK_FIELDS),
]


@pytest.fixture(scope="module")
def sent() -> Iterator[list[requests.PreparedRequest]]:
    client = AsanaClient("contract-token", budgets=BudgetRegistry(), sleep=lambda _: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        for method in ("GET", "POST", "PUT", "DELETE"):
            api.add_callback(method, re.compile(re.escape(HOST + PREFIX) + ".*"), callback=answer)
        exercise(client)
        yield [call.request for call in api.calls]


# ---------------------------------------------------------------- validation


def template_of(spec: Any, method: str, path: str) -> str | None:
    """The spec's path template for a concrete path, preferring literal segments."""
    candidates = []
    for template in (spec / "paths").str_keys():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in (spec / "paths" / template).str_keys():
            candidates.append(template)
    candidates.sort(key=lambda t: t.count("{"))
    return candidates[0] if candidates else None


def declared_query(spec: Any, template: str, method: str) -> set[str]:
    item = spec / "paths" / template
    names = set()
    for holder in (item, item / method.lower()):
        if "parameters" in holder.str_keys():
            names |= {p["name"] for p in holder / "parameters" if p["in"] == "query"}
    return names


#: Query parameters an operation's description names but its parameter list omits: search's
#: "Page sizes are limited to a maximum of 100 items, and can be specified by the `limit` query
#: parameter" (searchTasksForWorkspace).
DESCRIBED = {"/workspaces/{workspace_gid}/tasks/search": {"limit"}}


def problems_with(
    api: Any, method: str, path: str, query: dict[str, str], body: bytes | None
) -> list[str]:
    spec = api.spec
    template = template_of(spec, method, path)
    if template is None:
        return [f"{method} {path}: no such operation in the spec"]
    found = []
    unknown = set(query) - declared_query(spec, template, method) - DESCRIBED.get(template, set())
    if unknown:
        found.append(f"{method} {path}: query parameters not in the spec: {sorted(unknown)}")
    request = MockRequest(
        HOST,
        method.lower(),
        PREFIX + path,
        args=query,
        headers={"Authorization": "Bearer contract-token"},
        data=body,
    )
    with warnings.catch_warnings():
        # openapi-core does not model oauth2, and the spec uses allowEmptyValue: both harmless.
        warnings.filterwarnings("ignore", "Unsupported scheme type")
        warnings.filterwarnings("ignore", "Use of allowEmptyValue property is deprecated")
        try:
            api.validate_request(request)
        except Exception as error:
            cause = error.__cause__ or error
            found.append(f"{method} {path}?{query}: {type(error).__name__}: {cause}")
    return found


def test_every_request_the_client_sends_is_valid_for_asana(
    asana_openapi: Any, sent: list[requests.PreparedRequest]
) -> None:
    problems: list[str] = []
    for request in sent:
        url = urlsplit(request.url or "")
        assert url.scheme + "://" + url.netloc == HOST
        problems += problems_with(
            asana_openapi,
            request.method or "",
            url.path.removeprefix(PREFIX),
            dict(parse_qsl(url.query)),
            request.body if isinstance(request.body, bytes) else None,
        )

    assert problems == []


def test_every_batched_action_is_valid_for_asana(
    asana_openapi: Any, sent: list[requests.PreparedRequest]
) -> None:
    batches = [r for r in sent if urlsplit(r.url or "").path == PREFIX + "/batch"]
    actions = [a for r in batches for a in json.loads(r.body or b"{}")["data"]["actions"]]
    assert len(actions) == len(ALL_WRITES)

    problems: list[str] = []
    for action in actions:
        method = action["method"].upper()
        fields = action.get("options", {}).get("fields")
        query = {"opt_fields": ",".join(fields)} if fields else {}
        body = None
        if method == "GET":
            query.update(action.get("data", {}))
        else:
            body = json.dumps({"data": action["data"]}).encode()
        problems += problems_with(asana_openapi, method, action["relative_path"], query, body)

    assert problems == []


def test_every_endpoint_the_client_uses_was_exercised(
    asana_openapi: Any, sent: list[requests.PreparedRequest]
) -> None:
    seen = {
        (
            r.method or "",
            template_of(
                asana_openapi.spec, r.method or "", urlsplit(r.url or "").path.removeprefix(PREFIX)
            ),
        )
        for r in sent
    }

    assert seen == ENDPOINTS


def test_the_spec_rejects_what_asana_rejects(asana_openapi: Any) -> None:
    # The validation above can fail: a page larger than 100, an unknown field, addTag without a tag.
    assert problems_with(asana_openapi, "GET", "/tasks", {"project": "9", "limit": "500"}, None)
    assert problems_with(
        asana_openapi, "GET", "/tasks", {"project": "9", "opt_fields": "name,colour"}, None
    )
    assert problems_with(asana_openapi, "GET", "/tasks", {"project": "9", "tag": "3"}, None)
    assert problems_with(asana_openapi, "POST", "/tasks/1/addTag", {}, b'{"data": {}}')


# Fields the engine reads that Asana's spec does not list for GET /tasks (nested user fields
# Asana's API serves but the spec's enum omits). Any other unknown name is a typo.
OUTSIDE_SPEC_ENUM = {"assignee.email", "followers.email"}


def test_the_engines_task_fields_are_known_to_asana(asana_openapi: Any) -> None:
    from delegator.asana.mapping import TASK_OPT_FIELDS

    parameters = asana_openapi.spec / "paths" / "/tasks" / "get" / "parameters"
    opt_fields = next(p for p in parameters if p["name"] == "opt_fields")
    with (opt_fields / "schema" / "items" / "enum").open() as enum:
        allowed = set(enum)

    assert set(TASK_OPT_FIELDS) - allowed <= OUTSIDE_SPEC_ENUM
