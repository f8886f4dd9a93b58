"""The summary: and digest: blocks of a client file, and the rule's minutes, as check sees them."""

from __future__ import annotations

import json
import textwrap
from datetime import timedelta

import pytest
import yaml
from pydantic import ValidationError

from delegator.core.cron import Cron
from delegator.core.rulefile import ClientFile, parse_client_file
from delegator.core.schema import (
    DESTINATION_KINDS,
    Destination,
    DigestSettings,
    SummarySettings,
    json_schema,
)
from delegator.core.timeexpr import Duration

HEAD = """\
version: 1
client:
  name: Northwind Studio
  workspace: "1100000000000001"
  token: { env: ASANA_TOKEN_NORTHWIND }
  timezone: Europe/Rome
watch: [my_tasks]
assistants:
  giulia: { user: giulia@va-agency.example }
  sam: { user: "1200000000042" }
rules:
  - name: Invoices
    when: { name: { contains: invoice } }
    then: [ { assign: giulia } ]
"""
HEAD_LINES = HEAD.count("\n")
SECRET_URL = "https://hooks.slack.example/services/T000/B000/SECRETSECRET"


def load(blocks: str) -> ClientFile:
    return parse_client_file(HEAD + textwrap.dedent(blocks), "rules/northwind.yaml")


def errors(blocks: str) -> list[str]:
    """Errors as check prints them, with the line relative to the blocks (1 = first line)."""
    return [
        f"{e.line - HEAD_LINES}:{e.column}: {e.key_path}: {e.message}" for e in load(blocks).errors
    ]


# ----------------------------------------------------------------------------- valid blocks


def test_a_full_summary_and_digest() -> None:
    loaded = load(
        """\
        summary:
          schedule: "0 17 * * FRI"
          to:
            - asana_status: { project: Operations }
            - asana_comment: { task: "1209000000000001" }
            - asana_task: { project: "1100000000000201" }
            - webhook: { env: SLACK_WEBHOOK_URL }
            - webhook: { file: /run/secrets/slack }
            - email: { to: [anna@northwind.example, luca@northwind.example] }
          period: 7d
          due_soon: 1w
          time_field: Estimated hours
          template:
            title: "{{ summary.headline }}"
            markdown: "{% for t in shown(summary.overdue) %}{{ task(t) }}{% endfor %}"
            asana: "<strong>{{ summary.client }}</strong>"
        digest:
          schedule: "@daily"
          to: [ { email: team@va-agency.example }, { asana_task: Operations } ]
          send_empty: true
          template: { title: "{{ digest.headline }}" }
        """
    )
    assert loaded.errors == ()
    assert loaded.head is not None
    summary = loaded.head.summary
    assert summary is not None
    assert summary.cron == Cron.parse("0 17 * * FRI")
    assert [d.kind for d in summary.to] == [
        "asana_status", "asana_comment", "asana_task", "webhook", "webhook", "email",
    ]  # fmt: skip
    assert summary.to[0].argument.project.name == "Operations"  # type: ignore[union-attr]
    assert summary.to[2].asana_task is not None
    assert summary.to[2].asana_task.project.gid == "1100000000000201"
    assert summary.to[3].webhook is not None
    assert summary.to[3].webhook.env == "SLACK_WEBHOOK_URL"
    assert summary.to[4].webhook is not None
    assert summary.to[4].webhook.file == "/run/secrets/slack"
    assert summary.to[5].email is not None
    assert summary.to[5].email.to == ["anna@northwind.example", "luca@northwind.example"]
    assert not summary.to[5].email.to_assistant
    assert summary.period == Duration(7, "days")
    assert summary.due_soon_days == 7
    assert summary.time_field == "Estimated hours"
    assert summary.template is not None
    assert summary.template.asana is not None
    digest = loaded.head.digest
    assert digest is not None
    assert digest.send_empty
    assert digest.to[0].email is not None
    assert not digest.to[0].email.to_assistant
    assert digest.to[1].asana_task is not None
    assert digest.to[1].asana_task.project.name == "Operations"


def test_defaults_and_shorthands() -> None:
    loaded = load(
        """\
        summary:
          schedule: "0 17 * * fri"
          to: { email: anna@northwind.example }
        digest:
          schedule: "0 8 * * MON-FRI"
          to: { asana_comment: 1209000000000001 }
        """
    )
    assert loaded.errors == ()
    assert loaded.head is not None
    summary, digest = loaded.head.summary, loaded.head.digest
    assert summary is not None
    assert digest is not None
    assert summary.period is None
    assert summary.due_soon == Duration(3, "days")
    assert summary.due_soon_days == 3
    assert summary.time_field == "Estimated time"
    assert summary.template is None
    assert summary.to[0].email is not None
    assert summary.to[0].email.to == ["anna@northwind.example"]
    assert summary.cron.describe() == "every Friday at 17:00"
    assert digest.send_empty is False
    assert digest.to[0].asana_comment is not None
    assert digest.to[0].asana_comment.task == "1209000000000001"


def test_files_without_summary_or_digest_have_none() -> None:
    loaded = load("")
    assert loaded.errors == ()
    assert loaded.head is not None
    assert loaded.head.summary is None
    assert loaded.head.digest is None


def test_every_destination_kind_is_known() -> None:
    assert DESTINATION_KINDS == ("asana_status", "asana_comment", "asana_task", "webhook", "email")
    for kind, value in [
        ("asana_status", "Ops"),
        ("asana_comment", "12"),
        ("asana_task", "Ops"),
        ("webhook", {"env": "X"}),
        ("email", "a@b.example"),
    ]:
        destination = Destination.model_validate({kind: value})
        assert destination.kind == kind
        assert destination.argument is getattr(destination, kind)


def test_the_rules_minutes() -> None:
    loaded = parse_client_file(
        HEAD.replace(
            "then: [ { assign: giulia } ]", "then: [ { assign: giulia } ]\n    minutes: 15"
        ),
        "f",
    )
    assert loaded.errors == ()
    assert loaded.rules[0].rule.minutes == 15
    assert parse_client_file(HEAD, "f").rules[0].rule.minutes is None
    bad = parse_client_file(
        HEAD.replace(
            "then: [ { assign: giulia } ]", "then: [ { assign: giulia } ]\n    minutes: 0"
        ),
        "f",
    )
    assert [str(e) for e in bad.errors] == [
        "f:15:14: rules[0].minutes: must be at least 1, got the number 0"
    ]


# ----------------------------------------------------------------------------- mistakes


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        (
            'summary: { schedule: "0 17 * * FRY", to: { email: a@b.example } }',
            ["1:22: summary.schedule: day of week: 'FRY' is not a day (SUN-SAT or 0-7)"],
        ),
        (
            "summary: { schedule: 17, to: { email: a@b.example } }",
            ["1:22: summary.schedule: expected a cron schedule in quotes such as \"0 17 * * FRI\", got 17"],
        ),
        (
            'summary: { schedule: "@daily" }',
            ["1:1: summary.to: missing required key 'to'"],
        ),
        (
            'summary: { schedule: "@daily", to: [] }',
            ["1:36: summary.to: must not be empty"],
        ),
        (
            'summary: { schedule: "@daily", to: { slack: { env: X } } }',
            ["1:38: summary.to.slack: unknown key 'slack' (expected one of: asana_status, "
             "asana_comment, asana_task, webhook, email)"],
        ),
        (
            'summary: { schedule: "@daily", to: { emial: a@b.example } }',
            ["1:38: summary.to.emial: unknown key 'emial' (did you mean 'email'?)"],
        ),
        (
            'summary: { schedule: "@daily", to: [ { email: a@b.example, webhook: { env: X } } ] }',
            ["1:38: summary.to[0]: a destination has exactly one key, this one has webhook, email: "
             "write each destination as its own list item under to:"],
        ),
        (
            'summary: { schedule: "@daily", to: [ {} ] }',
            ["1:38: summary.to[0]: empty destination: write one of asana_status, asana_comment, "
             "asana_task, webhook, email"],
        ),
        (
            'summary: { schedule: "@daily", to: { email: anna } }',
            ["1:45: summary.to.email: 'anna' is not an email address (name@example.com)"],
        ),
        (
            'summary: { schedule: "@daily", to: { email: [assistant, a@b.example] } }',
            ["1:45: summary.to.email: write assistant alone: it means each assistant's address"],
        ),
        (
            'summary: { schedule: "@daily", to: { asana_comment: { task: Invoices } } }',
            ["1:61: summary.to.asana_comment.task: task must be the task's gid (digits, the last "
             "number in its URL), got 'Invoices'"],
        ),
        (
            'summary: { schedule: "@daily", to: { webhook: { env: X, file: /y } } }',
            ["1:47: summary.to.webhook: write only one of env, file"],
        ),
        (
            'summary: { schedule: "@daily", to: { email: a@b.example }, period: 2 business days }',
            ["1:68: summary.period: write the period in hours, days or weeks (got 2 business days)"],
        ),
        (
            'summary: { schedule: "@daily", to: { email: a@b.example }, due_soon: 12h }',
            ["1:70: summary.due_soon: write due_soon in days or weeks (got 12h)"],
        ),
        (
            'summary: { schedule: "@daily", to: { email: a@b.example }, template: {} }',
            ["1:70: summary.template: write title, markdown or asana"],
        ),
        (
            'summary: { schedule: "@daily", to: { email: a@b.example }, template: { body: x } }',
            ["1:72: summary.template.body: unknown key 'body' (expected one of: title, markdown, "
             "asana)"],
        ),
        (
            'summary: { schedule: "@daily", to: { email: assistant } }',
            ["1:45: summary.to.email: email: assistant sends each assistant their own digest: in "
             "summary:, write the client's addresses"],
        ),
        (
            'digest: { schedule: "@daily", to: [ { asana_status: Operations } ] }',
            ["1:53: digest.to[0].asana_status: a project status update is for the client's "
             "summary: send digests with asana_task, email or webhook"],
        ),
        (
            'digest: { schedule: "@daily", to: [ { email: assistant } ] }',
            ["1:46: digest.to[0].email: email: assistant needs each assistant's email as their "
             "user, and sam has none"],
        ),
        (
            "digest: { to: [ { email: assistant } ] }",
            ["1:1: digest.schedule: missing required key 'schedule'"],
        ),
        (
            "digest:",
            ["1:1: digest.schedule: missing required key 'schedule'",
             "1:1: digest.to: missing required key 'to'"],
        ),
    ],
)  # fmt: skip
def test_mistakes_are_located(blocks: str, expected: list[str]) -> None:
    assert errors(blocks) == expected


def test_template_mistakes_name_the_template_line() -> None:
    found = errors(
        """\
        summary:
          schedule: "@daily"
          to: { email: a@b.example }
          template:
            title: "{{ summary.headline }"
            markdown: |
              Hello
              {{ summary.overdeu }}
        digest:
          schedule: "@daily"
          to: { webhook: { env: VA } }
          template:
            asana: "{{ summary.client }}"
        """
    )
    assert found == [
        "5:12: summary.template.title: template error: unexpected '}' (template line 1)",
        "6:15: summary.template.markdown: template uses unknown field 'summary.overdeu' "
        "(did you mean 'overdue'?) (fields: " + found[1].split("(fields: ")[1],
        "13:12: digest.template.asana: template uses unknown variable 'summary' "
        "(available: " + found[2].split("(available: ")[1],
    ]
    assert "(template line 2)" in found[1]


# ----------------------------------------------------------------------------- resilience


def test_a_broken_summary_does_not_stop_the_delegation() -> None:
    loaded = load(
        """\
        summary: { schedule: "0 17 * * FRY", to: { email: a@b.example } }
        digest: { schedule: "@daily", to: { email: assistant } }
        """
    )
    assert loaded.usable
    assert not loaded.valid
    assert loaded.head is not None
    assert loaded.head.summary is None  # left out: it cannot be scheduled
    assert loaded.head.digest is not None  # kept: sent where it can be (giulia has an email)
    assert [r.rule.name for r in loaded.rules] == ["Invoices"]


def test_a_broken_template_falls_back_to_the_default_and_keeps_the_rest() -> None:
    loaded = load(
        """\
        summary:
          schedule: "@daily"
          to: { email: a@b.example }
          template:
            title: "{{ nosuch }}"
            markdown: "{{ summary.headline }}"
        digest:
          schedule: "@daily"
          to: { webhook: { env: VA } }
          template: { asana: "{% if %}" }
        """
    )
    assert loaded.head is not None
    assert loaded.head.summary is not None
    assert loaded.head.summary.template is not None
    assert loaded.head.summary.template.title is None
    assert loaded.head.summary.template.markdown == "{{ summary.headline }}"
    assert loaded.head.digest is not None
    assert loaded.head.digest.template is None
    assert len(loaded.errors) == 2


def test_a_broken_head_still_reports_summary_mistakes() -> None:
    loaded = parse_client_file(
        HEAD.replace("Europe/Rome", "Europe/Rom")
        + 'summary: { schedule: "0 25 * * *", to: { email: a@b.example } }\n',
        "f",
    )
    assert loaded.head is None
    assert [e.key_path for e in loaded.errors] == ["client.timezone", "summary.schedule"]


# ----------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    "blocks",
    [
        f'summary: {{ schedule: "@daily", to: {{ webhook: "{SECRET_URL}" }} }}',
        f'summary: {{ schedule: "@daily", to: {{ webhook: {{ env: "{SECRET_URL}" }} }} }}',
        f'summary: {{ schedule: "@daily", to: [ {{ webhook: {{ file: "{SECRET_URL}" }} }} ] }}',
        f'digest: {{ schedule: "@daily", to: {{ webhook: [ "{SECRET_URL}" ] }} }}',
        f'digest: {{ schedule: "@daily", to: {{ webhook: {{ url: "{SECRET_URL}" }} }} }}',
        f'digest: {{ schedule: "@daily", to: {{ webhook: {{ env: X }}, url: "{SECRET_URL}" }} }}',
    ],
)
def test_a_webhook_url_is_refused_and_never_repeated(blocks: str) -> None:
    found = load(blocks).errors
    assert found, "a webhook URL in the file must be an error"
    assert all("SECRET" not in str(e) for e in found), found
    with pytest.raises(ValidationError) as caught:
        SummarySettings.model_validate({"schedule": "@daily", "to": {"webhook": SECRET_URL}})
    assert "never write a webhook URL" in str(caught.value)


def test_the_webhook_message_says_what_to_write() -> None:
    [error] = errors(f'summary: {{ schedule: "@daily", to: {{ webhook: "{SECRET_URL}" }} }}')
    assert error == (
        "1:47: summary.to.webhook: never write a webhook URL in a rule file (anyone who reads it "
        "can post to the channel): use {env: VARIABLE} or {file: /run/secrets/NAME}"
    )


# ----------------------------------------------------------------------------- the JSON Schema


def test_the_json_schema_accepts_the_shorthands_and_refuses_a_url() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    document = yaml.safe_load(
        HEAD
        + textwrap.dedent(
            """\
            summary:
              schedule: "0 17 * * FRI"
              to: { asana_status: Operations }
              due_soon: 3d
            digest:
              schedule: "0 8 * * MON-FRI"
              to:
                - email: assistant
                - email: [a@b.example]
                - webhook: { env: VA }
                - asana_comment: 1209000000000001
              template: { markdown: "{{ digest.headline }}" }
            """
        )
    )
    data = json.loads(json.dumps(document))
    assert list(validator.iter_errors(data)) == []
    data["summary"]["to"] = {"webhook": SECRET_URL}
    assert list(validator.iter_errors(data)), "the schema accepts a webhook URL"
    data["summary"]["to"] = {"asana_status": "Ops", "email": "a@b.example"}
    assert list(validator.iter_errors(data)), "the schema accepts two keys in a destination"


def test_the_json_schema_shows_readable_defaults() -> None:
    summary = json_schema()["$defs"]["SummarySettings"]["properties"]
    assert summary["due_soon"]["default"] == "3d"
    assert summary["time_field"]["default"] == "Estimated time"


def test_models_validate_on_their_own() -> None:
    digest = DigestSettings.model_validate({"schedule": "@weekly", "to": {"email": "assistant"}})
    assert digest.cron == Cron.parse("@weekly")
    summary = SummarySettings.model_validate(
        {"schedule": "@daily", "to": [{"email": "a@b.example"}], "period": "36h"}
    )
    assert summary.period is not None
    assert summary.period.timedelta() == timedelta(hours=36)
