"""The sandbox refuses what Asana's spec refuses, in Asana's 400 shape, unless told by name not to.

Each case is a request Asana would refuse, the message the sandbox answers with, and the name
of the check (``lenient=``) that lets it through. Every case runs twice: against the strict
sandbox (400, the message, a refusal in the request log) and against a sandbox lenient on that
one check (no contract refusal).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from delegator.sandbox import SandboxServer
from delegator.sandbox.strict import CHECKS, Strictness, rich_text_problems, watch

HELP = (
    "For more information on API status codes and how to handle them, "
    "read the docs on errors: https://developers.asana.com/docs/errors"
)
NORTHWIND = "1100000000000001"
OPERATIONS = "1100000000000201"
URGENT = "1100000000000401"
TASK = "Send November receipts to the accountant"

pytestmark = pytest.mark.contract_refusals_expected


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # {task} is the task's gid
    message: str
    check: str
    query: dict[str, str] = field(default_factory=dict)
    data: Any = None


STATUS = {"parent": OPERATIONS, "status_type": "on_track", "text": "All good"}
CASES = [
    Case(
        "unknown query parameter",
        "GET",
        "/tasks",
        "colour: Unknown parameter for this endpoint",
        "unknown_parameters",
        {"project": OPERATIONS, "colour": "red"},
    ),
    Case(
        "limit above 100",
        "GET",
        f"/projects/{OPERATIONS}/tasks",
        "limit: Must be between 1 and 100, got 101",
        "parameter_values",
        {"limit": "101"},
    ),
    Case(
        "limit below 1",
        "GET",
        "/tasks",
        "limit: Must be between 1 and 100, got 0",
        "parameter_values",
        {"project": OPERATIONS, "limit": "0"},
    ),
    Case(
        "limit not an integer",
        "GET",
        "/tasks",
        "limit: Not a valid integer: ten",
        "parameter_values",
        {"project": OPERATIONS, "limit": "ten"},
    ),
    Case(
        "boolean parameter not a boolean",
        "GET",
        "/projects",
        "archived: Not a boolean (true or false): no",
        "parameter_values",
        {"workspace": NORTHWIND, "archived": "no"},
    ),
    Case(
        "required query parameter missing",
        "GET",
        "/users/me/user_task_list",
        "workspace: Missing input",
        "parameter_values",
    ),
    Case(
        "unknown opt_fields value",
        "GET",
        "/tasks/{task}",
        "opt_fields: Unknown field: colour",
        "opt_fields",
        {"opt_fields": "name,colour"},
    ),
    Case(
        "unknown opt_fields value in a list",
        "GET",
        f"/projects/{OPERATIONS}/tasks",
        "opt_fields: Unknown field: assignee.shoe_size",
        "opt_fields",
        {"opt_fields": "name,assignee.shoe_size"},
    ),
    Case(
        "required body field missing",
        "POST",
        "/tasks/{task}/addTag",
        "tag: Missing input",
        "required_fields",
        data={},
    ),
    Case(
        "status update without text (html_text alone)",
        "POST",
        "/status_updates",
        "text: Missing input",
        "required_fields",
        data={"parent": OPERATIONS, "status_type": "on_track", "html_text": "<body>Hi</body>"},
    ),
    Case(
        "status update without status_type",
        "POST",
        "/status_updates",
        "status_type: Missing input",
        "required_fields",
        data={"parent": OPERATIONS, "text": "All good"},
    ),
    Case(
        "body value outside its enum",
        "POST",
        "/status_updates",
        "status_type: Not one of on_track, at_risk, off_track, on_hold, complete, achieved, "
        "partial, missed, dropped: 'great'",
        "field_values",
        data={**STATUS, "status_type": "great"},
    ),
    Case(
        "body value of the wrong type",
        "PUT",
        "/tasks/{task}",
        "completed: Not a boolean: 'yes'",
        "field_values",
        data={"completed": "yes"},
    ),
    Case(
        "null where the spec does not allow it",
        "PUT",
        "/tasks/{task}",
        "name: Cannot be null",
        "field_values",
        data={"name": None},
    ),
    Case(
        "array items of the wrong type",
        "POST",
        "/tasks/{task}/addFollowers",
        "followers: Every item must be a string",
        "field_values",
        data={"followers": [1100000000000102]},
    ),
    Case(
        "tag colour outside its enum",
        "POST",
        f"/workspaces/{NORTHWIND}/tags",
        "color: Not one of dark-pink, dark-green, dark-blue, dark-red, dark-teal, dark-brown, "
        "dark-orange, dark-purple, dark-warm-gray, light-pink, light-green, light-blue, "
        "light-red, light-teal, light-brown, light-orange, light-purple, light-warm-gray: 'green'",
        "field_values",
        data={"name": "later", "color": "green"},
    ),
    Case(
        "rich text with an unclosed tag",
        "POST",
        "/tasks/{task}/stories",
        "html_text: Not valid XML (mismatched tag: line 1, column 20): rich text is XML with a "
        "<body> root",
        "html_text",
        data={"html_text": "<body><strong>Paid</body>"},
    ),
    Case(
        "rich text with a script",
        "POST",
        "/tasks/{task}/stories",
        "html_text: Unsupported tag <script>",
        "html_text",
        data={"html_text": "<body>Hi<script>alert(1)</script></body>"},
    ),
    Case(
        "rich text with a tag Asana does not write (<b>)",
        "POST",
        "/tasks/{task}/stories",
        "html_text: Unsupported tag <b>",
        "html_text",
        data={"html_text": "<body><b>Pinned</b></body>"},
    ),
    Case(
        "rich text without a <body> root",
        "POST",
        "/status_updates",
        "html_text: The root element must be <body>, not <strong>",
        "html_text",
        data={**STATUS, "html_text": "<strong>All good</strong>"},
    ),
    Case(
        "rich text link with an unknown attribute",
        "POST",
        "/tasks/{task}/stories",
        "html_text: Unsupported attribute onclick on <a>",
        "html_text",
        data={"html_text": '<body><a href="https://x.example" onclick="go()">x</a></body>'},
    ),
    Case(
        "task notes in rich text that is not XML",
        "PUT",
        "/tasks/{task}",
        "html_notes: Not valid XML (no element found: line 1, column 23): rich text is XML with a "
        "<body> root",
        "html_text",
        data={"html_notes": "<body>Call <em>Bluebird"},
    ),
]


@pytest.fixture
def strict_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer.demo() as server:
        yield server


def send(sandbox: SandboxServer, case: Case) -> requests.Response:
    path = case.path.format(task=sandbox.world.task(TASK).gid)
    return requests.request(
        case.method,
        f"{sandbox.base_url}{path}",
        params=case.query,
        json={"data": case.data} if case.data is not None else None,
        headers=sandbox.auth("anna@northwind.example"),
        timeout=5,
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_strict_sandbox_refuses_as_asana_does(
    strict_sandbox: SandboxServer, case: Case
) -> None:
    response = send(strict_sandbox, case)

    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": case.message, "help": HELP}]}
    [refusal] = strict_sandbox.requests.refusals()
    assert refusal.messages == (case.message,)
    assert strict_sandbox.requests.last().status == 400


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_leniency_by_name_lets_it_through(case: Case) -> None:
    with SandboxServer.demo(lenient={case.check}) as sandbox:
        send(sandbox, case)

        # The endpoint's own checks may still answer 400 (limit, a missing tag): not the contract.
        assert sandbox.requests.refusals() == []


def test_every_problem_is_one_error(strict_sandbox: SandboxServer) -> None:
    response = send(
        strict_sandbox,
        Case(
            "two problems",
            "GET",
            "/tasks",
            "",
            "",
            {"project": OPERATIONS, "limit": "500", "opt_fields": "colour"},
        ),
    )

    assert response.status_code == 400
    assert [e["message"] for e in response.json()["errors"]] == [
        "limit: Must be between 1 and 100, got 500",
        "opt_fields: Unknown field: colour",
    ]


# ---------------------------------------------------------------- what is not refused


def _post(sandbox: SandboxServer, path: str, data: Any, **query: str) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}{path}",
        params=query,
        json={"data": data},
        headers=sandbox.auth("anna@northwind.example"),
        timeout=5,
    )


@pytest.mark.parametrize(
    "data",
    [
        {**STATUS, "html_text": "<body>All <strong>good</strong></body>"},
        STATUS,
        {**STATUS, "title": "Weekly", "colour": "ignored as Asana ignores it"},
    ],
    ids=["text and html_text", "text alone", "an unknown field"],
)
def test_a_status_update_needs_text_and_may_carry_html_text(
    strict_sandbox: SandboxServer, data: dict[str, Any]
) -> None:
    response = _post(strict_sandbox, "/status_updates", data)

    assert response.status_code == 201, response.text
    assert response.json()["data"]["text"] == "All good"
    assert strict_sandbox.requests.refusals() == []


def test_a_comment_takes_text_or_html_text_not_both(strict_sandbox: SandboxServer) -> None:
    task = strict_sandbox.world.task(TASK).gid
    both = _post(strict_sandbox, f"/tasks/{task}/stories", {"text": "a", "html_text": "<body/>"})
    rich = _post(
        strict_sandbox,
        f"/tasks/{task}/stories",
        {"html_text": '<body>See <a data-asana-gid="1100000000000101"/> <em>now</em></body>'},
    )

    assert both.status_code == 400
    assert both.json()["errors"][0]["message"] == (
        "text: You may only provide one of text or html_text"
    )
    assert rich.status_code == 201
    assert strict_sandbox.requests.refusals() == []


def test_batch_actions_are_checked_one_by_one(strict_sandbox: SandboxServer) -> None:
    task = strict_sandbox.world.task(TASK).gid
    response = _post(
        strict_sandbox,
        "/batch",
        {
            "actions": [
                {"relative_path": f"/tasks/{task}/addTag", "method": "post", "data": {}},
                {
                    "relative_path": f"/tasks/{task}/addTag",
                    "method": "post",
                    "data": {"tag": URGENT},
                },
                {
                    "relative_path": f"/projects/{OPERATIONS}/tasks",
                    "method": "get",
                    "options": {"limit": 500, "fields": ["name"]},
                },
            ]
        },
    )

    assert response.status_code == 200
    results = response.json()["data"]
    assert [r["status_code"] for r in results] == [400, 200, 400]
    assert results[0]["body"]["errors"][0]["message"] == "tag: Missing input"
    assert results[2]["body"]["errors"][0]["message"] == (
        "limit: Must be between 1 and 100, got 500"
    )
    assert [(r.endpoint, r.in_batch) for r in strict_sandbox.requests.refusals()] == [
        ("POST /tasks/{task_gid}/addTag", True),
        ("GET /projects/{project_gid}/tasks", True),
    ]


def test_the_official_sdks_limit_on_events_is_accepted(strict_sandbox: SandboxServer) -> None:
    response = requests.get(
        f"{strict_sandbox.base_url}/events",
        params={"resource": OPERATIONS, "limit": "100"},
        headers=strict_sandbox.auth("anna@northwind.example"),
        timeout=5,
    )

    assert response.status_code == 412
    assert strict_sandbox.requests.refusals() == []


def test_refusals_are_told_to_watchers(strict_sandbox: SandboxServer) -> None:
    with watch() as refused:
        send(strict_sandbox, CASES[0])

    assert [str(r) for r in refused] == ["GET /tasks: colour: Unknown parameter for this endpoint"]


def test_leniency_names_are_checked() -> None:
    assert {"html_text", "opt_fields", "unknown_parameters"} <= CHECKS
    with pytest.raises(ValueError, match="unknown leniency"):
        Strictness({"html"})


@pytest.mark.parametrize(
    "text",
    [
        "<body>Plain</body>",
        "<body/>",
        "<body><strong>a</strong><em>b</em><u>c</u><s>d</s><code>e</code></body>",
        "<body><ul><li>one</li></ul><ol><li>two</li></ol><blockquote>q</blockquote>"
        "<pre>p</pre></body>",
        "<body><h1>T</h1><h2>t</h2><hr/>"
        '<img data-gid="1" src="https://x.example/a.png" alt="a"/></body>',
        "<body><table><tr><td>1</td></tr></table></body>",
        '<body><a href="https://example.com">x</a> <a data-asana-gid="1"/></body>',
        "<body>Fish &amp; chips &lt;3</body>",
    ],
)
def test_asanas_rich_text_tags_pass(text: str) -> None:
    assert rich_text_problems(text) == []
