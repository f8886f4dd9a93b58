"""The preflight against Asana's answers the sandbox does not give (`responses`): a 402 on custom
fields, a 404 on a project, a project of another workspace, 429s and garbled answers past the
retries, a token file; and, for any tag name a person writes, one finding at its place."""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delegator.core.findings import FindingCode, Severity
from delegator.preflight import check_online
from delegator.settings import Settings

BASE = "https://app.asana.com/api/1.0"
WORKSPACE = "1100000000000001"
TOKEN = "1/1100000000000101:0123456789abcdef0123456789abcdef"
ENVIRON = {"ASANA_TOKEN": TOKEN}
ME = {
    "gid": "1100000000000101",
    "name": "Anna Rossi",
    "email": "anna@northwind.example",
    "workspaces": [{"gid": WORKSPACE, "name": "Northwind Studio"}],
}

HEAD = f"""\
version: 1
client:
  name: Northwind Studio
  workspace: "{WORKSPACE}"
  token: {{ env: ASANA_TOKEN }}
  timezone: Europe/Rome
"""


@pytest.fixture
def asana() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def answer_me(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, f"{BASE}/users/me", json={"data": ME})


def page(*records: dict[str, Any]) -> dict[str, Any]:
    return {"data": list(records), "next_page": None}


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "client.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def test_custom_fields_refused_with_402_are_a_plan_feature(
    asana: responses.RequestsMock, tmp_path: Path
) -> None:
    answer_me(asana)
    asana.add(
        responses.GET,
        f"{BASE}/workspaces/{WORKSPACE}/custom_fields",
        status=402,
        json={"errors": [{"message": "Custom fields are a premium feature"}]},
    )
    path = write(
        tmp_path,
        "watch: [my_tasks]\n"
        "rules:\n"
        "  - name: Low priority\n"
        "    when: { custom_field: { name: Priority, equals: Low } }\n"
        "    then: [{ set: { custom_field: Estimate, value: 5 } }]\n",
    )

    findings = check_online(path, Settings(), ENVIRON)

    assert [(f.line, f.column, f.code, f.severity) for f in findings] == [
        (10, 35, FindingCode.PLAN_FEATURE, Severity.ERROR),
        (11, 35, FindingCode.PLAN_FEATURE, Severity.ERROR),
    ]
    assert all("custom fields are a premium feature" in f.message for f in findings)
    assert len(asana.calls) == 2  # /users/me, and the fields' 402 once


def test_a_project_gid_answered_404_is_no_access(
    asana: responses.RequestsMock, tmp_path: Path
) -> None:
    answer_me(asana)
    asana.add(
        responses.GET,
        f"{BASE}/projects/1100000000000299",
        status=404,
        json={"errors": [{"message": "project: Unknown object: 1100000000000299"}]},
    )
    path = write(tmp_path, 'watch:\n  - project: "1100000000000299"\n')

    [finding] = check_online(path, Settings(), ENVIRON)

    assert (finding.code, finding.severity) == (FindingCode.NO_ACCESS, Severity.ERROR)
    assert (finding.line, finding.column) == (8, 14)
    assert "404 Not Found" in finding.message


def test_a_project_of_another_workspace_is_unknown_here(
    asana: responses.RequestsMock, tmp_path: Path
) -> None:
    answer_me(asana)
    asana.add(
        responses.GET,
        f"{BASE}/projects/1200000000000201",
        json={
            "data": {
                "gid": "1200000000000201",
                "name": "Clients",
                "workspace": {"gid": "1200000000000001"},
                "archived": False,
            }
        },
    )
    path = write(tmp_path, "watch:\n  - project: { gid: 1200000000000201 }\n")

    [finding] = check_online(path, Settings(), ENVIRON)

    assert finding.code is FindingCode.UNKNOWN_PROJECT
    assert (finding.line, finding.column) == (8, 21)
    assert "is in workspace 1200000000000001" in finding.message


def test_a_list_refused_with_403_is_no_access_and_the_check_goes_on(
    asana: responses.RequestsMock, tmp_path: Path
) -> None:
    answer_me(asana)
    asana.add(
        responses.GET,
        f"{BASE}/workspaces/{WORKSPACE}/tags",
        status=403,
        json={"errors": [{"message": "Forbidden"}]},
    )
    asana.add(
        responses.GET,
        f"{BASE}/workspaces/{WORKSPACE}/projects",
        json=page({"gid": "1100000000000201", "name": "Operations"}),
    )
    path = write(tmp_path, "watch:\n  - tag: waiting\n  - project: Operatons\n")

    findings = check_online(path, Settings(), ENVIRON)

    assert [(f.line, f.column, f.code) for f in findings] == [
        (8, 10, FindingCode.NO_ACCESS),
        (9, 14, FindingCode.UNKNOWN_PROJECT),
    ]
    assert "403 Forbidden" in findings[0].message


def test_rate_limited_past_the_retries_is_unreachable(
    asana: responses.RequestsMock, tmp_path: Path
) -> None:
    asana.add(
        responses.GET,
        f"{BASE}/users/me",
        status=429,
        headers={"Retry-After": "0"},
        json={"errors": [{"message": "You've made too many requests"}]},
    )
    path = write(tmp_path, "watch: [my_tasks]\n")

    [finding] = check_online(path, Settings(), ENVIRON)

    assert (finding.code, finding.severity) == (FindingCode.UNREACHABLE, Severity.ERROR)
    assert "429" in finding.message
    assert len(asana.calls) == 3  # PREFLIGHT_RETRY: two 429s tolerated, the third ends it


def test_a_garbled_answer_is_unreachable_not_an_unknown_workspace(
    asana: responses.RequestsMock, tmp_path: Path
) -> None:
    asana.add(responses.GET, f"{BASE}/users/me", json={"data": None})
    path = write(tmp_path, "watch: [my_tasks]\n")

    [finding] = check_online(path, Settings(), ENVIRON)

    assert finding.code is FindingCode.UNREACHABLE
    assert TOKEN not in str(finding)


def test_an_unreadable_token_file_names_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "missing-token"
    path = tmp_path / "client.yaml"
    path.write_text(
        HEAD.replace("{ env: ASANA_TOKEN }", f"{{ file: {secret} }}") + "watch: [my_tasks]\n",
        encoding="utf-8",
    )

    [finding] = check_online(path, Settings(), {})

    assert (finding.code, finding.severity) == (FindingCode.TOKEN_REFUSED, Severity.ERROR)
    assert finding.key_path == "client.token.file"
    assert str(secret) in finding.message


NAME_CHARS = string.ascii_letters + string.digits + " -_.éß"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(NAME_CHARS, min_size=1, max_size=30)
    .map(str.strip)
    .filter(lambda n: n and not n.isdigit() and n.casefold() != "urgent"),
)
def test_any_missing_tag_is_one_warning_at_its_place(tmp_path: Path, name: str) -> None:
    path = tmp_path / "client.yaml"
    path.write_text(
        HEAD + "watch: [my_tasks]\n"
        "rules:\n"
        "  - name: Tagged\n"
        f'    when: {{ tag: "{name}" }}\n'
        "    then: [{ assign: anna@northwind.example }]\n",
        encoding="utf-8",
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        answer_me(mock)
        mock.add(
            responses.GET,
            f"{BASE}/workspaces/{WORKSPACE}/tags",
            json=page({"gid": "1100000000000401", "name": "urgent"}),
        )
        findings = check_online(path, Settings(), ENVIRON)

    [finding] = findings
    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_TAG, Severity.WARNING)
    assert (finding.line, finding.column) == (10, 18)
    assert finding.key_path == "rules[0].when.tag"
    assert TOKEN not in str(finding)
