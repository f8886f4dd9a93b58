"""`delegator check --online` against the sandbox over loopback: a client file's names looked up
in the live workspace, each problem a finding at the name's line and column."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from delegator.core.findings import Finding, FindingCode, Severity
from delegator.preflight import check_online
from delegator.sandbox import ManualClock, SandboxServer
from delegator.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ANNA = "anna@northwind.example"

# Line numbers below are this text's; each test changes one line of it.
NORTHWIND = """\
version: 1
client:
  name: Northwind Studio
  workspace: "1100000000000001"
  token: { env: ASANA_TOKEN_NORTHWIND }
  timezone: Europe/Rome
  owner: anna@northwind.example
watch:
  - my_tasks
  - project: Operations
assistants:
  giulia: { user: giulia@va-agency.example, skills: [admin] }
rules:
  - name: Invoices
    when:
      all:
        - tag: urgent
        - custom_field: { name: Priority, in: [High] }
    then:
      - assign: giulia
      - follow: luca@northwind.example
"""


def example_tokens(sandbox: SandboxServer) -> dict[str, str]:
    """The example clients' token variables, pointed at their owners' sandbox tokens."""
    return {
        "ASANA_TOKEN_NORTHWIND": sandbox.token("anna@northwind.example"),
        "ASANA_TOKEN_FISCHER": sandbox.token("lena@fischer-consulting.example"),
    }


def settings_for(sandbox: SandboxServer) -> Settings:
    return dataclasses.replace(
        Settings(),
        asana_base_url=sandbox.base_url,
        asana_request_deadline=timedelta(seconds=2),
    )


def write(tmp_path: Path, text: str, name: str = "northwind.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def changed(old: str, new: str, text: str = NORTHWIND) -> str:
    assert old in text
    return text.replace(old, new, 1)


def check(
    sandbox: SandboxServer,
    path: Path,
    *,
    user: str = ANNA,
    environ: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> list[Finding]:
    env = dict(environ) if environ is not None else {"ASANA_TOKEN_NORTHWIND": sandbox.token(user)}
    return check_online(path, settings or settings_for(sandbox), env)


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [str(f) for f in findings]
    return findings[0]


def at(finding: Finding) -> tuple[int, int]:
    return finding.line, finding.column


# ----------------------------------------------------------------------------- correct files


def test_the_base_file_has_no_findings(sandbox: SandboxServer, tmp_path: Path) -> None:
    assert check(sandbox, write(tmp_path, NORTHWIND)) == []


def test_the_agency_example_has_no_findings_and_costs_eight_requests(
    sandbox: SandboxServer,
) -> None:
    environ = example_tokens(sandbox)
    before = len(sandbox.requests)

    findings = check_online(EXAMPLES / "small-agency.yaml", settings_for(sandbox), environ)

    assert findings == []
    sent = sandbox.requests.entries()[before:]
    assert sorted(entry.key for entry in sent) == sorted(
        [
            "GET /users/{user_gid}",  # the token's user, and whether it is in the workspace
            "GET /users/{user_gid}",  # giulia (the owner is the token's user: cached)
            "GET /users/{user_gid}",  # marco
            "GET /workspaces/{workspace_gid}/projects",
            "GET /projects/{project_gid}/sections",  # Client Admin
            "GET /projects/{project_gid}/sections",  # Operations
            "GET /workspaces/{workspace_gid}/tags",
            "GET /workspaces/{workspace_gid}/custom_fields",
        ]
    )
    assert all(entry.status == 200 for entry in sent)


def test_the_consultant_example_has_no_findings_once_its_tags_exist(
    sandbox: SandboxServer,
) -> None:
    world = sandbox.world
    fischer = world.workspace("1200000000000001")
    lena = world.user("lena@fischer-consulting.example")
    for name in ("Admin", "Keep-Travel"):  # names match ignoring case, as the service's
        world.create_tag(fischer, name, by=lena)
    environ = example_tokens(sandbox)

    assert check_online(EXAMPLES / "solo-consultant.yaml", settings_for(sandbox), environ) == []


def test_the_consultant_example_on_the_demo_world_warns_of_its_two_missing_tags(
    sandbox: SandboxServer,
) -> None:
    environ = example_tokens(sandbox)

    findings = check_online(EXAMPLES / "solo-consultant.yaml", settings_for(sandbox), environ)

    assert [(at(f), f.code, f.severity) for f in findings] == [
        ((48, 20), FindingCode.UNKNOWN_TAG, Severity.WARNING),  # - tag: admin
        ((62, 23), FindingCode.UNKNOWN_TAG, Severity.WARNING),  # not: { tag: keep-travel }
    ]


# ----------------------------------------------------------------------------- one per kind


def test_an_unknown_workspace(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed('workspace: "1100000000000001"', 'workspace: "1100000000000002"')

    finding = only(check(sandbox, write(tmp_path, text)))

    assert finding.code is FindingCode.UNKNOWN_WORKSPACE
    assert finding.severity is Severity.ERROR
    assert at(finding) == (4, 14)
    assert finding.key_path == "client.workspace"
    assert "did you mean '1100000000000001'?" in finding.message
    assert "Northwind Studio (1100000000000001)" in finding.message


def test_an_unknown_watched_project(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("  - project: Operations", "  - project: Operation")

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_PROJECT, Severity.ERROR)
    assert at(finding) == (10, 14)
    assert finding.key_path == "watch[1].project"
    assert "no project called 'Operation'" in finding.message
    assert "(did you mean 'Operations'?)" in finding.message


def test_an_unknown_section_of_a_watched_project(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("  - project: Operations", "  - section: { project: Operations, name: Inbx }")

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_SECTION, Severity.ERROR)
    assert at(finding) == (10, 43)
    assert finding.key_path == "watch[1].section.name"
    assert "(did you mean 'Inbox'?)" in finding.message


def test_an_unknown_tag_in_a_condition_is_a_warning(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("        - tag: urgent", "        - tag: urgnt")

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_TAG, Severity.WARNING)
    assert at(finding) == (17, 16)
    assert finding.key_path == "rules[0].when.all[0].tag"
    assert "(did you mean 'urgent'?)" in finding.message


def test_an_unknown_tag_source_is_an_error(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("  - project: Operations", "  - tag: urgnt")

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_TAG, Severity.ERROR)
    assert at(finding) == (10, 10)
    assert "(did you mean 'urgent'?)" in finding.message


def test_a_tag_the_rules_add_is_created_by_the_service_not_a_finding(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    text = changed("      - assign: giulia", "      - assign: giulia\n      - tag: delegated")

    assert check(sandbox, write(tmp_path, text)) == []


def test_an_unknown_custom_field(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("{ name: Priority, in: [High] }", "{ name: Priorty, in: [High] }")

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_FIELD, Severity.ERROR)
    assert at(finding) == (18, 33)
    assert finding.key_path == "rules[0].when.all[1].custom_field.name"
    assert "(did you mean 'Priority'?)" in finding.message


def test_an_unknown_option_of_a_custom_field(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("{ name: Priority, in: [High] }", "{ name: Priority, in: [Hihg] }")

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_OPTION, Severity.ERROR)
    assert at(finding) == (18, 48)
    assert finding.key_path == "rules[0].when.all[1].custom_field.in[0]"
    assert "(did you mean 'High'?)" in finding.message


def test_an_option_set_by_an_action(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed(
        "      - assign: giulia",
        "      - assign: giulia\n      - set: { custom_field: priority, value: Urgnt }",
    )

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_OPTION, Severity.ERROR)
    assert at(finding) == (21, 47)
    assert finding.key_path == "rules[0].then[1].set.value"
    assert "its options: High, Medium, Low" in finding.message


def test_an_unknown_owner(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("owner: anna@northwind.example", "owner: ana@northwind.example")

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_PERSON, Severity.ERROR)
    assert at(finding) == (7, 10)
    assert finding.key_path == "client.owner"
    assert "(did you mean 'anna@northwind.example'?)" in finding.message


def test_an_unknown_assistant(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("user: giulia@va-agency.example", "user: giula@va-agency.example")

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_PERSON, Severity.ERROR)
    assert at(finding) == (12, 19)
    assert finding.key_path == "assistants.giulia.user"
    assert "(did you mean 'giulia@va-agency.example'?)" in finding.message


def test_an_unknown_person_in_an_action(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("follow: luca@northwind.example", "follow: luka@northwind.example")

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_PERSON, Severity.ERROR)
    assert at(finding) == (21, 17)
    assert finding.key_path == "rules[0].then[1].follow"
    assert "(did you mean 'luca@northwind.example'?)" in finding.message


def test_a_person_of_another_workspace_is_not_one_of_this_ones(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    text = changed("      - assign: giulia", '      - assign: "1200000000000102"')  # Sam

    finding = only(check(sandbox, write(tmp_path, text)))

    assert finding.code is FindingCode.UNKNOWN_PERSON
    assert at(finding) == (20, 17)
    assert "no person with the user gid 1200000000000102" in finding.message


def test_each_person_is_looked_up_once(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed(
        "      - follow: luca@northwind.example",
        "      - follow: [luca@northwind.example, LUCA@northwind.example]",
    )
    before = len(sandbox.requests)

    assert check(sandbox, write(tmp_path, text)) == []
    lookups = [e for e in sandbox.requests.entries()[before:] if e.key == "GET /users/{user_gid}"]
    assert len(lookups) == 3  # me (= anna, the owner), giulia, luca


def test_every_place_of_a_wrong_name_is_reported(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed(
        "        - tag: urgent",
        "        - project: Operation\n        - section: { project: Operation, name: Inbox }",
    )

    findings = check(sandbox, write(tmp_path, text))

    assert [(at(f), f.code) for f in findings] == [
        ((17, 20), FindingCode.UNKNOWN_PROJECT),
        ((18, 31), FindingCode.UNKNOWN_PROJECT),
    ]


def test_a_summary_to_an_unknown_project(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = NORTHWIND + (
        'summary:\n  schedule: "0 17 * * FRI"\n  to:\n    - asana_status: { project: Operatons }\n'
    )

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_PROJECT, Severity.ERROR)
    assert at(finding) == (25, 32)
    assert finding.key_path == "summary.to[0].asana_status.project"
    assert "the project the summary posts to" in finding.message
    assert "(did you mean 'Operations'?)" in finding.message


def test_a_move_to_an_unknown_section(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed(
        "      - assign: giulia",
        "      - assign: giulia\n      - move: { project: Operations, section: Doin }",
    )

    finding = only(check(sandbox, write(tmp_path, text)))

    assert (finding.code, finding.severity) == (FindingCode.UNKNOWN_SECTION, Severity.ERROR)
    assert at(finding) == (21, 47)
    assert "(did you mean 'Doing'?)" in finding.message


# ----------------------------------------------------------------------------- access


def test_a_private_project_the_token_cannot_see_is_no_access(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    # Strategy is private to Anna; Luca is not a member.
    text = changed("  - project: Operations", '  - project: "1100000000000203"')

    finding = only(check(sandbox, write(tmp_path, text), user="luca@northwind.example"))

    assert (finding.code, finding.severity) == (FindingCode.NO_ACCESS, Severity.ERROR)
    assert at(finding) == (10, 14)
    assert finding.key_path == "watch[1].project"
    assert "403" in finding.message


def test_the_owner_sees_her_private_project(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("  - project: Operations", '  - project: "1100000000000203"')

    assert check(sandbox, write(tmp_path, text)) == []


def test_a_private_project_by_name_is_unknown_to_who_cannot_see_it(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    text = changed("  - project: Operations", "  - project: Strategy")

    finding = only(check(sandbox, write(tmp_path, text), user="luca@northwind.example"))

    assert finding.code is FindingCode.UNKNOWN_PROJECT
    assert "that the token's user can see" in finding.message


# ----------------------------------------------------------------------------- the token


def test_a_wrong_token_is_one_finding(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("owner: anna@northwind.example", "owner: nobody@northwind.example")
    token = "1/1100000000000101:0123456789abcdef0123456789abcdef"

    findings = check(sandbox, write(tmp_path, text), environ={"ASANA_TOKEN_NORTHWIND": token})

    finding = only(findings)
    assert (finding.code, finding.severity) == (FindingCode.TOKEN_REFUSED, Severity.ERROR)
    assert at(finding) == (5, 17)
    assert "ASANA_TOKEN_NORTHWIND" in finding.message
    assert token not in str(finding)


def test_a_missing_token_variable_names_it(sandbox: SandboxServer, tmp_path: Path) -> None:
    before = len(sandbox.requests)

    finding = only(check(sandbox, write(tmp_path, NORTHWIND), environ={}))

    assert finding.code is FindingCode.TOKEN_REFUSED
    assert at(finding) == (5, 17)
    assert "the environment variable ASANA_TOKEN_NORTHWIND is not set" in finding.message
    assert len(sandbox.requests) == before  # nothing sent


def test_no_finding_holds_the_token(sandbox: SandboxServer, tmp_path: Path) -> None:
    token = sandbox.token(ANNA)
    # Names that are the token itself: a finding quoting them would show the secret.
    text = changed("        - tag: urgent", f"        - tag: {token}")
    text = changed("owner: anna@northwind.example", f"owner: {token}@northwind.example", text)
    text = changed("  - project: Operations", f"  - project: {token}", text)

    findings = check(sandbox, write(tmp_path, text))

    assert {f.code for f in findings} == {
        FindingCode.UNKNOWN_TAG,
        FindingCode.UNKNOWN_PERSON,
        FindingCode.UNKNOWN_PROJECT,
    }
    for finding in findings:
        assert token not in str(finding)
        assert token not in repr(finding)
        assert token not in str(finding.as_json())


# ----------------------------------------------------------------------------- Asana away


def test_a_stopped_sandbox_is_one_unreachable_finding(tmp_path: Path) -> None:
    server = SandboxServer.demo()
    with server:
        settings = settings_for(server)
        environ = {"ASANA_TOKEN_NORTHWIND": server.token(ANNA)}
    path = write(tmp_path, NORTHWIND)

    finding = only(check_online(path, settings, environ))

    assert (finding.code, finding.severity) == (FindingCode.UNREACHABLE, Severity.ERROR)
    assert at(finding) == (3, 3)
    assert "connection to Asana failed" in finding.message


def test_asana_failing_past_the_retries_is_unreachable(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    token = sandbox.token(ANNA)
    sandbox.faults.fail_next(token, 10, status=503)

    finding = only(check(sandbox, write(tmp_path, NORTHWIND)))

    assert finding.code is FindingCode.UNREACHABLE
    assert "503" in finding.message


def test_a_file_without_a_usable_head_gives_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    text = changed("  timezone: Europe/Rome", "  timezone: Europe/Rom")
    before = len(sandbox.requests)

    assert check(sandbox, write(tmp_path, text)) == []
    assert check(sandbox, tmp_path / "missing.yaml") == []
    assert len(sandbox.requests) == before


# ----------------------------------------------------------------------------- the plan

FREE_WORLD: dict[str, Any] = {
    "workspaces": [
        {
            "name": "Corner Shop",
            "gid": "1300000000000001",
            "plan": "free",
            "users": [
                {
                    "name": "Ada Moss",
                    "email": "ada@corner.example",
                    "gid": "1300000000000101",
                    "token": "sandbox-token-ada",
                }
            ],
            "tags": [{"name": "for-the-va", "gid": "1300000000000401"}],
            "projects": [{"name": "Shop", "owner": "ada@corner.example", "sections": ["Inbox"]}],
        }
    ]
}

CORNER = """\
version: 1
client:
  name: Corner Shop
  workspace: "1300000000000001"
  token: { env: ASANA_TOKEN_CORNER }
  timezone: Europe/London
watch:
  - project: Shop
  - tag: for-the-va
"""


@pytest.fixture
def free_sandbox(clock: ManualClock) -> Iterator[SandboxServer]:
    with SandboxServer.from_fixture(FREE_WORLD, clock=clock) as server:
        yield server


def test_a_tag_source_on_a_free_workspace(free_sandbox: SandboxServer, tmp_path: Path) -> None:
    environ = {"ASANA_TOKEN_CORNER": free_sandbox.token("ada@corner.example")}

    findings = check(free_sandbox, write(tmp_path, CORNER), environ=environ)

    assert [(at(f), f.key_path, f.code, f.severity) for f in findings] == [
        ((3, 3), "client", FindingCode.PLAN_FEATURE, Severity.WARNING),  # plan: paid, by default
        ((9, 10), "watch[1].tag", FindingCode.PLAN_FEATURE, Severity.WARNING),
    ]
    assert "402" in findings[1].message
    assert "write plan: free" in findings[0].message
    searches = free_sandbox.requests.count(
        "GET", "/workspaces/{workspace_gid}/tasks/search", status=402
    )
    assert searches == 1


def test_plan_free_written_leaves_only_the_tag_source_warning(
    free_sandbox: SandboxServer, tmp_path: Path
) -> None:
    environ = {"ASANA_TOKEN_CORNER": free_sandbox.token("ada@corner.example")}
    text = changed("  timezone: Europe/London", "  timezone: Europe/London\n  plan: free", CORNER)

    findings = check(free_sandbox, write(tmp_path, text), environ=environ)

    assert [(f.key_path, f.code) for f in findings] == [("watch[1].tag", FindingCode.PLAN_FEATURE)]


def test_setting_a_field_on_a_free_workspace_is_a_plan_warning(
    free_sandbox: SandboxServer, tmp_path: Path
) -> None:
    environ = {"ASANA_TOKEN_CORNER": free_sandbox.token("ada@corner.example")}
    text = changed("  timezone: Europe/London", "  timezone: Europe/London\n  plan: free", CORNER)
    text = changed("  - tag: for-the-va\n", "", text) + (
        "rules:\n"
        "  - name: Stock\n"
        "    when: { name: { contains: stock } }\n"
        "    then: [{ set: { custom_field: Priority, value: High } }]\n"
    )

    findings = check(free_sandbox, write(tmp_path, text), environ=environ)

    assert [(at(f), f.code, f.severity) for f in findings] == [
        ((13, 19), FindingCode.PLAN_FEATURE, Severity.WARNING),
        ((13, 35), FindingCode.UNKNOWN_FIELD, Severity.ERROR),
    ]
    assert "402" in findings[0].message


def test_a_tag_source_on_a_paid_workspace_costs_one_search(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    text = changed("  - project: Operations", "  - tag: urgent")

    assert check(sandbox, write(tmp_path, text)) == []
    assert sandbox.requests.count("GET", "/workspaces/{workspace_gid}/tasks/search") == 1


def test_no_search_without_a_tag_source(sandbox: SandboxServer, tmp_path: Path) -> None:
    assert check(sandbox, write(tmp_path, NORTHWIND)) == []
    assert sandbox.requests.count("GET", "/workspaces/{workspace_gid}/tasks/search") == 0


# ----------------------------------------------------------------------------- OAuth tokens

OAUTH_TOKEN = "{ oauth: { refresh_token: { env: ASANA_REFRESH_NORTHWIND } } }"
REFRESH = "sandbox-refresh-anna-0123456789"


@pytest.fixture
def oauth_sandbox(sandbox: SandboxServer) -> SandboxServer:
    sandbox.world.set_oauth_app("agency-app", "agency-app-secret")
    sandbox.world.add_refresh_token(sandbox.world.user(ANNA), REFRESH)
    return sandbox


def oauth_settings(sandbox: SandboxServer) -> Settings:
    return dataclasses.replace(
        settings_for(sandbox),
        asana_oauth_client_id="agency-app",
        asana_oauth_client_secret="agency-app-secret",
    )


def test_an_oauth_token_is_exchanged_and_the_file_checked(
    oauth_sandbox: SandboxServer, tmp_path: Path
) -> None:
    text = changed("{ env: ASANA_TOKEN_NORTHWIND }", OAUTH_TOKEN)
    text = changed("  - project: Operations", "  - project: Operation", text)
    environ = {"ASANA_REFRESH_NORTHWIND": REFRESH}

    findings = check_online(write(tmp_path, text), oauth_settings(oauth_sandbox), environ)

    assert [(at(f), f.code) for f in findings] == [((10, 14), FindingCode.UNKNOWN_PROJECT)]


def test_a_revoked_oauth_token_is_one_finding(oauth_sandbox: SandboxServer, tmp_path: Path) -> None:
    oauth_sandbox.world.revoke_refresh_token(REFRESH)
    text = changed("{ env: ASANA_TOKEN_NORTHWIND }", OAUTH_TOKEN)
    environ = {"ASANA_REFRESH_NORTHWIND": REFRESH}

    findings = check_online(write(tmp_path, text), oauth_settings(oauth_sandbox), environ)

    finding = only(findings)
    assert (finding.code, finding.severity) == (FindingCode.TOKEN_REFUSED, Severity.ERROR)
    assert at(finding) == (5, 43)
    assert finding.key_path == "client.token.oauth.refresh_token.env"
    assert REFRESH not in str(finding)


def test_an_oauth_token_without_the_agency_app_names_the_settings(
    oauth_sandbox: SandboxServer, tmp_path: Path
) -> None:
    text = changed("{ env: ASANA_TOKEN_NORTHWIND }", OAUTH_TOKEN)
    environ = {"ASANA_REFRESH_NORTHWIND": REFRESH}

    finding = only(check_online(write(tmp_path, text), settings_for(oauth_sandbox), environ))

    assert finding.code is FindingCode.TOKEN_REFUSED
    assert "asana.oauth_client_id" in finding.message
