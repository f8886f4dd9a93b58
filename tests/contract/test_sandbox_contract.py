"""The sandbox against Asana's OpenAPI spec: every endpoint, its answers and the requests sent.

A requests hook checks each exchange with openapi-core, mapping the sandbox's URL onto Asana's
server (``https://app.asana.com/api/1.0``): the request (path, query with opt_fields, body) and
the response (status declared for the operation, body shape). Each action of a /batch is checked
as the request it stands for. 429 is declared by no operation in the spec, so a 429 is checked by
hand against the ErrorResponse shape and the Retry-After header. The test ends by checking that
every route the sandbox serves was exercised, so a new endpoint needs a line here.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from openapi_core.testing import MockRequest, MockResponse

from delegator.sandbox import SandboxServer
from delegator.sandbox.api import ROUTES

ASANA_HOST = "https://app.asana.com"
PREFIX = "/api/1.0"
NORTHWIND = "1100000000000001"
ANNA = "1100000000000101"
GIULIA = "1100000000000102"
OPERATIONS = "1100000000000201"
CLIENT_ADMIN = "1100000000000202"
INBOX, DOING = "1100000000000301", "1100000000000302"
URGENT, KEEP = "1100000000000401", "1100000000000403"
PRIORITY, ESTIMATE, HIGH = "1100000000000501", "1100000000000502", "1100000000000511"
# The fields the rules engine reads, minus assignee.email and followers.email, which GET /tasks'
# opt_fields enum in the spec does not list (the sandbox serves them all the same).
TASK_FIELDS = (
    "name,notes,resource_subtype,assignee.name,completed,completed_at,due_on,"
    "due_at,start_on,start_at,created_at,modified_at,tags.name,projects.name,"
    "memberships.project.name,memberships.section.name,followers.name,"
    "parent.name,permalink_url,workspace.name,custom_fields.name,custom_fields.resource_subtype,"
    "custom_fields.enum_value.name,custom_fields.multi_enum_values.name,"
    "custom_fields.number_value,custom_fields.text_value,custom_fields.date_value,"
    "custom_fields.display_value"
)


# Null where the spec says null, but in a way openapi-core cannot see: these properties are
# `allOf: [<Compact>, {nullable: true}]`, and openapi-core checks the null against the compact
# schema alone. For events, EventResponse's own description says `parent` is null for a change
# and `user` is null for a system event, while its schema declares neither nullable.
NULL_AS_THE_SPEC_DESCRIBES = {
    "assignee": "TaskResponse.assignee: allOf [UserCompact, {nullable: true}]",
    "parent": "TaskResponse.parent: allOf [TaskCompact, {nullable: true}]; EventResponse text",
    "completed_by": "TaskBase.completed_by: allOf [UserCompact, {nullable: true}]",
    "enum_value": "CustomFieldCompact.enum_value: allOf [EnumOption, {nullable: true}]",
    "user": "EventResponse text: system events have null as the user",
    "assigned_by": "TaskResponse.assigned_by: allOf [UserCompact, {nullable: true}]",
    "assignee_section": "TaskBase.assignee_section: allOf [SectionCompact, {nullable: true}]",
    "custom_type": "TaskBase.custom_type: allOf [CustomTypeCompact, {nullable: true}]",
    "custom_type_status_option": "TaskBase.custom_type_status_option: allOf [..., {nullable: true}]",
    "current_status": "ProjectBase.current_status: allOf [ProjectStatusResponse, {nullable: true}]",
    "created_by": "CustomFieldResponse.created_by: allOf [UserCompact, {nullable: true}]",
    **dict.fromkeys(
        [
            "last_success_at",
            "last_failure_at",
            "last_failure_content",
            "next_attempt_after",
            "failure_deletion_timestamp",
        ],
        "createWebhook's 201 example: last_success_at, last_failure_at, last_failure_content "
        "null on a webhook that has not delivered yet (the others alike before any failure)",
    ),
}
_NULL_COMPLAINTS = (
    "None for not nullable",
    "None is not of type 'object'",
    "None is not of type 'string'",
)


def _excused(leaf: Any) -> bool:
    path = list(leaf.absolute_path)
    return (
        leaf.instance is None
        and leaf.message in _NULL_COMPLAINTS
        and bool(path)
        and path[-1] in NULL_AS_THE_SPEC_DESCRIBES
    )


@dataclass
class Contract:
    """Checks each exchange against the spec; keeps what failed and which routes were seen."""

    openapi: Any
    failures: list[str] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)
    statuses: set[int] = field(default_factory=set)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        request = response.request
        url = urlsplit(request.url or "")
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        self.check(
            request.method or "GET",
            url.path,
            dict(parse_qsl(url.query, keep_blank_values=True)),
            body,
            response.status_code,
            response.content,
            dict(response.headers),
        )
        if url.path == f"{PREFIX}/batch" and response.status_code == 200:
            for action, result in zip(
                json.loads(body)["data"]["actions"], response.json()["data"], strict=True
            ):
                self.check_action(action, result)
        return response

    def check_action(self, action: dict[str, Any], result: dict[str, Any]) -> None:
        parts = urlsplit(action["relative_path"])
        method = action["method"].upper()
        query = dict(parse_qsl(parts.query))
        options = action.get("options", {})
        if "fields" in options:
            query["opt_fields"] = ",".join(options["fields"])
        query.update({k: str(options[k]) for k in ("limit", "offset") if k in options})
        data = action.get("data")
        if method == "GET":
            query.update({k: str(v) for k, v in (data or {}).items()})
            body = b""
        else:
            body = json.dumps({"data": data or {}}).encode()
        self.check(
            method,
            f"{PREFIX}{parts.path}",
            query,
            body,
            result["status_code"],
            json.dumps(result["body"]).encode(),
            {"Content-Type": "application/json"},
        )

    def check(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        status: int,
        content: bytes,
        headers: dict[str, str],
    ) -> None:
        template = ROUTES.template_of(path.removeprefix(PREFIX)) or path.removeprefix(PREFIX)
        self.seen.add((method, template))
        self.statuses.add(status)
        request = MockRequest(
            ASANA_HOST,
            method,
            path,
            args=query,
            headers={"Authorization": "Bearer sandbox-token", "Content-Type": "application/json"},
            data=body or None,
        )
        where = f"{method} {path}?{query} -> {status}"
        with warnings.catch_warnings():
            # openapi-core does not model oauth2, and the spec uses allowEmptyValue: both harmless.
            warnings.filterwarnings("ignore", "Unsupported scheme type")
            warnings.filterwarnings("ignore", "Use of allowEmptyValue property is deprecated")
            try:
                self.openapi.validate_request(request)
            except Exception as exc:  # openapi-core's errors share no base worth naming
                self.failures.append(f"request {where}: {exc!r} {_cause(exc)}")
            if status == 429:
                self.check_rate_limited(where, content, headers)
                return
            response = MockResponse(content, status_code=status, headers=headers)
            try:
                self.openapi.validate_response(request, response)
            except Exception as exc:
                leaves = _leaves(exc)
                if not leaves or not all(_excused(leaf) for leaf in leaves):
                    self.failures.append(
                        f"response {where}: {exc!r} {_cause(exc)}\n{content[:300]!r}"
                    )

    def check_rate_limited(self, where: str, content: bytes, headers: dict[str, str]) -> None:
        body = json.loads(content)
        errors = body.get("errors")
        shaped = (
            isinstance(errors, list)
            and errors
            and all(
                isinstance(e.get("message"), str) and isinstance(e.get("help"), str) for e in errors
            )
        )
        if not shaped or set(body) != {"errors"}:
            self.failures.append(f"429 body of {where} is not an ErrorResponse: {body}")
        if not headers.get("Retry-After", "").isdigit():
            self.failures.append(f"429 of {where} has no Retry-After in seconds: {headers}")


def _leaves(exc: BaseException) -> list[Any]:
    """The innermost schema errors behind an openapi-core exception (empty when there are none)."""
    while exc.__cause__ is not None and not getattr(exc, "schema_errors", None):
        exc = exc.__cause__
    found: list[Any] = []
    pending = list(getattr(exc, "schema_errors", None) or ())
    while pending:
        error = pending.pop()
        if error.context:
            pending.extend(error.context)
        else:
            found.append(error)
    return found


def _cause(exc: BaseException) -> str:
    causes = []
    while exc.__cause__ is not None:
        exc = exc.__cause__
        causes.append(repr(exc))
    details = getattr(exc, "schema_errors", None)
    if details:
        causes.extend(_describe(error) for error in details)
    return " <- ".join(causes)


def _describe(error: Any) -> str:
    """Where in the body and why: ``data.assignee: None for not nullable``."""
    leaves = [error]
    while leaves and leaves[0].context:
        leaves = list(leaves[0].context)
    return "; ".join(
        f"{'.'.join(map(str, leaf.absolute_path)) or '(body)'}: {leaf.message}" for leaf in leaves
    )


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer.demo() as server:
        yield server


@pytest.fixture
def contract(asana_openapi: Any) -> Contract:
    return Contract(asana_openapi)


@pytest.fixture
def session(sandbox: SandboxServer, contract: Contract) -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.headers.update(sandbox.auth("anna@northwind.example"))
        http.hooks["response"].append(contract.hook)
        yield http


class Client:
    def __init__(self, session: requests.Session, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    def get(self, path: str, **params: str) -> Any:
        return self.session.get(f"{self.base_url}{path}", params=params, timeout=5)

    def send(self, method: str, path: str, data: Any, **params: str) -> Any:
        return self.session.request(
            method, f"{self.base_url}{path}", params=params, json={"data": data}, timeout=5
        )


@contextmanager
def _echo_target() -> Iterator[str]:
    """A webhook target on loopback that completes the handshake (answers every POST 200)."""

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            if self.headers.get("X-Hook-Secret"):
                self.send_header("X-Hook-Secret", self.headers["X-Hook-Secret"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_every_endpoint_answers_as_the_spec_says(
    sandbox: SandboxServer, session: requests.Session, contract: Contract
) -> None:
    api = Client(session, sandbox.base_url)
    world = sandbox.world
    task = world.task("Send November receipts to the accountant").gid
    other = world.task("Order new business cards for Luca").gid
    dinner = world.task("Organise the end-of-year team dinner").gid

    # Directory
    for path, params in [
        ("/users/me", {}),
        (f"/users/{GIULIA}", {"opt_fields": "name,email,workspaces.name"}),
        ("/users", {"workspace": NORTHWIND, "limit": "2", "opt_fields": "email"}),
        ("/workspaces", {}),
        (f"/workspaces/{NORTHWIND}", {}),
        (f"/workspaces/{NORTHWIND}/users", {"opt_fields": "email"}),
        ("/projects", {"workspace": NORTHWIND, "archived": "false"}),
        (f"/workspaces/{NORTHWIND}/projects", {"limit": "2"}),
        (f"/projects/{OPERATIONS}", {}),
        (f"/projects/{OPERATIONS}/sections", {"opt_fields": "name"}),
        (f"/sections/{INBOX}", {}),
        (f"/projects/{OPERATIONS}/custom_field_settings", {}),
        (
            f"/projects/{OPERATIONS}/custom_field_settings",
            {"opt_fields": "custom_field.name,custom_field.enum_options.name,is_important"},
        ),
        (f"/workspaces/{NORTHWIND}/custom_fields", {}),
        (f"/custom_fields/{PRIORITY}", {}),
        ("/tags", {"workspace": NORTHWIND}),
        (f"/workspaces/{NORTHWIND}/tags", {"opt_fields": "name,color"}),
        (f"/tags/{URGENT}", {}),
    ]:
        assert api.get(path, **params).status_code == 200, path
    task_list = api.get("/users/me/user_task_list", workspace=NORTHWIND)
    assert task_list.status_code == 200
    task_list_gid = task_list.json()["data"]["gid"]
    assert api.get(f"/user_task_lists/{task_list_gid}").status_code == 200

    # Task lists, compact and with opt_fields, across pages
    for path, params in [
        ("/tasks", {"project": OPERATIONS, "limit": "5", "opt_fields": TASK_FIELDS}),
        # GET /tasks types completed_since as a date-time (its text also allows "now").
        ("/tasks", {"section": INBOX, "completed_since": "2026-01-01T00:00:00Z"}),
        (
            "/tasks",
            {"assignee": "me", "workspace": NORTHWIND, "modified_since": "2026-01-01T00:00:00Z"},
        ),
        (f"/projects/{OPERATIONS}/tasks", {"limit": "100", "opt_fields": TASK_FIELDS}),
        (f"/sections/{INBOX}/tasks", {"completed_since": "2026-01-01T00:00:00.000Z"}),
        (f"/tags/{URGENT}/tasks", {"opt_fields": "name,tags.name"}),
        (f"/user_task_lists/{task_list_gid}/tasks", {"completed_since": "now", "limit": "10"}),
        (f"/tasks/{task}", {}),
        (f"/tasks/{task}", {"opt_fields": TASK_FIELDS}),
        (f"/tasks/{dinner}/subtasks", {"opt_fields": "name,parent.name"}),
    ]:
        assert api.get(path, **params).status_code == 200, path
    page = api.get(f"/projects/{OPERATIONS}/tasks", limit="5").json()
    assert api.get(
        f"/projects/{OPERATIONS}/tasks", limit="5", offset=page["next_page"]["offset"]
    ).ok

    # Writes
    assert api.send("PUT", f"/tasks/{task}", {"assignee": GIULIA}).status_code == 200
    assert api.send("PUT", f"/tasks/{task}", {"assignee": None, "due_on": "2026-12-04"}).ok
    assert api.send(
        "PUT",
        f"/tasks/{task}",
        {"custom_fields": {PRIORITY: HIGH, ESTIMATE: "30"}, "completed": False},
        opt_fields="custom_fields.display_value",
    ).ok
    assert api.send("POST", f"/tasks/{task}/addTag", {"tag": KEEP}).ok
    assert api.send("POST", f"/tasks/{task}/removeTag", {"tag": KEEP}).ok
    assert api.send("POST", f"/tasks/{task}/addFollowers", {"followers": [GIULIA]}).ok
    assert api.send("POST", f"/tasks/{task}/removeFollowers", {"followers": [GIULIA]}).ok
    assert api.send("POST", f"/tasks/{task}/addProject", {"project": CLIENT_ADMIN}).ok
    assert api.send("POST", f"/tasks/{task}/removeProject", {"project": CLIENT_ADMIN}).ok
    assert api.send("POST", f"/sections/{DOING}/addTask", {"task": task}).ok
    assert api.send("POST", f"/sections/{DOING}/addTask", {"task": other, "insert_after": task}).ok
    created = api.send(
        "POST",
        "/tasks",
        {
            "name": "Book a taxi",
            "projects": [CLIENT_ADMIN],
            "assignee": "me",
            "due_on": "2026-12-09",
            "tags": [URGENT],
        },
    )
    assert created.status_code == 201
    assert (
        api.send("POST", "/tasks", {"name": "Personal", "workspace": NORTHWIND}).status_code == 201
    )
    assert (
        api.send(
            "POST", f"/workspaces/{NORTHWIND}/tags", {"name": "delegated", "color": "light-green"}
        ).status_code
        == 201
    )
    assert api.send("POST", "/tags", {"name": "waiting", "workspace": NORTHWIND}).status_code == 201
    comment = api.send("POST", f"/tasks/{task}/stories", {"text": "Over to you, Giulia"})
    assert comment.status_code == 201
    assert (
        api.send(
            "POST",
            f"/tasks/{task}/stories",
            {"html_text": "<body><strong>Pinned</strong></body>", "is_pinned": True},
        ).status_code
        == 201
    )
    assert api.get(f"/tasks/{task}/stories").ok  # includes the system stories written above
    assert api.get(
        f"/tasks/{task}/stories", opt_fields="text,type,created_by.name,resource_subtype"
    ).ok
    story = f"{sandbox.base_url}/stories/{comment.json()['data']['gid']}"
    assert api.session.delete(story).ok  # its author deletes the comment
    update = api.send(
        "POST",
        "/status_updates",
        {
            "parent": OPERATIONS,
            "status_type": "on_track",
            "title": "Delegation",
            "text": "2 tasks delegated",
        },
    )
    assert update.status_code == 201
    assert api.get("/status_updates", parent=OPERATIONS).ok
    assert api.get("/status_updates", parent=OPERATIONS, created_since="2026-01-01T00:00:00Z").ok
    assert api.get(f"/status_updates/{update.json()['data']['gid']}").ok

    # Batch
    batch = api.send(
        "POST",
        "/batch",
        {
            "actions": [
                {"relative_path": f"/tasks/{other}", "method": "put", "data": {"assignee": GIULIA}},
                {
                    "relative_path": f"/tasks/{other}/addTag",
                    "method": "post",
                    "data": {"tag": URGENT},
                },
                {
                    "relative_path": f"/tasks/{other}/stories",
                    "method": "post",
                    "data": {"text": "Yours"},
                },
                {
                    "relative_path": f"/projects/{OPERATIONS}/tasks",
                    "method": "get",
                    "options": {"limit": 2, "fields": ["name", "assignee.name"]},
                },
                {"relative_path": "/tasks/1100000099999999", "method": "get"},
            ]
        },
    )
    assert batch.status_code == 200

    # Events: 412 first, then a page of changes
    first = api.get("/events", resource=OPERATIONS)
    assert first.status_code == 412
    world.assign(world.task(other), world.user("Marco Verdi"), by=world.user("Anna Rossi"))
    assert api.get("/events", resource=OPERATIONS, sync=first.json()["sync"]).status_code == 200
    task_sync = api.get("/events", resource=task).json()["sync"]
    assert api.get("/events", resource=task, sync=task_sync).ok

    # Webhooks: the handshake against a loopback target that echoes X-Hook-Secret
    with _echo_target() as target:
        hook = api.send("POST", "/webhooks", {"resource": OPERATIONS, "target": target})
        assert hook.status_code == 201
        hook_gid = hook.json()["data"]["gid"]
        assert api.get("/webhooks", workspace=NORTHWIND, resource=OPERATIONS).ok
        assert api.get(f"/webhooks/{hook_gid}").ok
        assert api.send("PUT", f"/webhooks/{hook_gid}", {"filters": [{"resource_type": "task"}]}).ok
        assert api.session.delete(f"{sandbox.base_url}/webhooks/{hook_gid}").ok

    # Search, typeahead, delete
    search = f"/workspaces/{NORTHWIND}/tasks/search"
    assert api.get(search, **{"tags.any": URGENT, "opt_fields": "name,modified_at"}).ok
    assert api.get(search, completed="false", sort_by="modified_at", sort_ascending="true").ok
    assert api.get(f"/workspaces/{NORTHWIND}/typeahead", resource_type="user", query="giu").ok
    deleted = api.session.delete(f"{sandbox.base_url}/tasks/{created.json()['data']['gid']}")
    assert deleted.status_code == 200

    served = {(route.method, route.template) for route in ROUTES.routes} | {("POST", "/batch")}
    assert served - contract.seen == set()
    assert contract.failures == []


def test_errors_answer_as_the_spec_says(
    sandbox: SandboxServer, session: requests.Session, contract: Contract
) -> None:
    api = Client(session, sandbox.base_url)
    task = sandbox.world.task("Reconcile expenses for October").gid
    assert api.get("/tasks/1100000099999999").status_code == 404
    assert api.get("/projects/1200000000000201").status_code == 403
    assert api.get("/tasks", workspace=NORTHWIND).status_code == 400
    assert api.get(f"/projects/{OPERATIONS}/tasks", limit="50", offset="bogus").status_code == 400
    assert api.send("PUT", f"/tasks/{task}", {"assignee": "nobody@example.com"}).status_code == 400
    assert api.send("POST", f"/tasks/{task}/stories", {"text": ""}).status_code == 400
    assert api.get("/events", resource=OPERATIONS, sync="expired").status_code == 412
    with requests.Session() as anonymous:
        anonymous.hooks["response"].append(contract.hook)
        assert anonymous.get(f"{sandbox.base_url}/users/me", timeout=5).status_code == 401
    token = sandbox.token("anna@northwind.example")
    sandbox.faults.fail_next(token, 1)
    assert api.get("/users/me").status_code == 500
    sandbox.faults.rate_limit(token, 1)
    try:
        api.get("/workspaces")
        assert api.get("/workspaces").status_code == 429
    finally:
        sandbox.faults.clear()
    assert {400, 401, 403, 404, 412, 429, 500} <= contract.statuses
    assert contract.failures == []
