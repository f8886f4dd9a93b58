"""A rule's ``expect:`` and ``on_bounce``, and the file's ``bounce:``, as a client writes them:
valid ones load with their defaults, mistakes give one located, plain error each, and
``delegator check`` exits with it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from corekit import HEAD, client_text, parse
from pydantic import ValidationError

from delegator.cli import main
from delegator.core.rulefile import parse_client_file
from delegator.core.schema import BounceSettings, Expectation, Rule
from delegator.core.timeexpr import Duration


def messages(rules: str, head: str = HEAD) -> list[str]:
    return [str(e) for e in parse(rules, head).errors]


def with_bounce(bounce: str) -> str:
    """The test head with a ``bounce:`` block (YAML, unindented) before the rules."""
    return HEAD + "bounce:\n" + textwrap.indent(textwrap.dedent(bounce), "  ")


DELEGATING = """\
- name: Bookings
  when: { tag: booking }
  then:
    - assign: { pool: [giulia, marco], skill: booking }
    - due: { in: 3 business days }
"""


# ----------------------------------------------------------------------------- valid files


def test_every_key_of_expect_loads() -> None:
    loaded = parse(
        DELEGATING
        + """\
  expect:
    acknowledged_within: 2h
    started_within: 1d
    done_within: 2 business days
    started_when: { section: { project: Operations, name: Doing } }
    remind_before: 30m
    escalate_to: marco
    escalate: [comment, tag]
    escalation_tag: in-ritardo
    reassign: true
  on_bounce: next_assistant
"""
    )
    assert loaded.errors == ()
    [numbered] = loaded.rules
    expect = numbered.rule.expect
    assert expect is not None
    assert expect.acknowledged_within == Duration(2, "hours")
    assert expect.started_within == Duration(1, "days")
    assert expect.done_within == Duration(2, "business_days")
    assert expect.started_when is not None
    assert expect.remind_before == Duration(30, "minutes")
    assert (expect.escalate_to, expect.escalate, expect.escalation_tag, expect.reassign) == (
        "marco",
        ["comment", "tag"],
        "in-ritardo",
        True,
    )
    assert numbered.rule.on_bounce == "next_assistant"


def test_expect_defaults() -> None:
    loaded = parse(DELEGATING + "  expect: { acknowledged_within: 4h }\n")
    assert loaded.errors == ()
    expect = loaded.rules[0].rule.expect
    assert expect == Expectation.model_validate({"acknowledged_within": "4h"})
    assert expect is not None
    assert expect.started_within is None
    assert expect.done_within is None  # the due date the rule sets decides
    assert expect.remind_before == Duration(1, "hours")
    assert expect.escalate_to == "owner"
    assert expect.escalate == ["comment", "follow", "tag", "summary"]
    assert expect.escalation_tag == "late"
    assert expect.reassign is False
    assert loaded.rules[0].rule.on_bounce is None  # the file's bounce.to


def test_durations_of_different_kinds_are_not_compared() -> None:
    # Hours and days compare only with the assistant's hours: the file cannot tell.
    loaded = parse(DELEGATING + "  expect: { acknowledged_within: 20h, done_within: 1d }\n")
    assert loaded.errors == ()


def test_done_within_equal_to_the_due_date_or_without_one() -> None:
    assert messages(DELEGATING + "  expect: { done_within: 3 business days }\n") == []
    # A due in days and done_within in hours: not compared.
    assert messages(DELEGATING + "  expect: { done_within: 30h }\n") == []
    no_due = """\
    - name: Bookings
      when: { tag: booking }
      then: [ { assign: giulia } ]
      expect: { done_within: 2w }
    """
    assert messages(no_due) == []


def test_started_when_alone_is_a_stage_given() -> None:
    # started_when needs started_within, so the shape check names that, not "no stage".
    errors = messages(DELEGATING + "  expect: { started_when: { tag: started } }\n")
    assert errors == [
        "acme.yaml:18:13: rules[0].expect: started_when needs started_within: "
        "by when is it expected?"
    ]


def test_the_file_bounce_settings_load_with_their_defaults() -> None:
    loaded = parse(DELEGATING)
    assert loaded.head is not None
    bounce = loaded.head.bounce
    assert (bounce.tag, bounce.command, bounce.to) == ("not-delegable", "not for me", "owner")
    italian = parse(
        DELEGATING,
        with_bounce("tag: non-per-me\ncommand: non fa per me\nto: next_assistant\n"),
    )
    assert italian.errors == ()
    assert italian.head is not None
    assert (italian.head.bounce.tag, italian.head.bounce.command, italian.head.bounce.to) == (
        "non-per-me",
        "non fa per me",
        "next_assistant",
    )
    tag_only = parse(DELEGATING, with_bounce("command: null\n"))
    assert tag_only.errors == ()
    assert tag_only.head is not None
    assert tag_only.head.bounce.command is None


def test_on_bounce_alone_on_a_delegating_rule() -> None:
    assert messages(DELEGATING + "  on_bounce: owner\n") == []


# ----------------------------------------------------------------------------- mistakes


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(
            "  expect: {}\n",
            "acme.yaml:18:13: rules[0].expect: needs at least one of "
            "acknowledged_within, started_within, done_within",
            id="empty",
        ),
        pytest.param(
            "  expect: { remind_before: 2h, reassign: true }\n",
            "acme.yaml:18:13: rules[0].expect: needs at least one of "
            "acknowledged_within, started_within, done_within",
            id="no-stage",
        ),
        pytest.param(
            "  expect:\n    acknowledged_within: 2h\n    started_when: { tag: started }\n",
            "acme.yaml:19:7: rules[0].expect: started_when needs started_within: "
            "by when is it expected?",
            id="started-when-without-started-within",
        ),
        pytest.param(
            "  expect:\n    acknowledged_within: 4h\n    started_within: 2h\n",
            "acme.yaml:19:7: rules[0].expect: started_within (2h) is shorter than "
            "acknowledged_within (4h): a task is acknowledged before it is started",
            id="started-before-acknowledged",
        ),
        pytest.param(
            "  expect:\n    started_within: 2d\n    done_within: 1d\n",
            "acme.yaml:19:7: rules[0].expect: done_within (1d) is shorter than "
            "started_within (2d): a task is started before it is done",
            id="done-before-started",
        ),
        pytest.param(
            "  expect:\n    acknowledged_within: 1w\n    done_within: 4 business days\n",
            "acme.yaml:19:7: rules[0].expect: done_within (4 business days) is shorter than "
            "acknowledged_within (1w): a task is acknowledged before it is done",
            id="a-week-is-five-days",
        ),
        pytest.param(
            "  expect: { done_within: 3d, escalate: [comment, email] }\n",
            "acme.yaml:18:52: rules[0].expect.escalate[1]: 'email' is not allowed: "
            "expected one of comment, follow, tag, summary",
            id="unknown-escalate-step",
        ),
        pytest.param(
            "  expect: { done_within: 3d, escalate: [comment, tag, comment] }\n",
            "acme.yaml:18:13: rules[0].expect: escalate lists a step twice",
            id="duplicate-escalate-step",
        ),
        pytest.param(
            "  expect: { done_within: 3d, escalate: [] }\n",
            "acme.yaml:18:42: rules[0].expect.escalate: must not be empty",
            id="no-escalate-step",
        ),
        pytest.param(
            "  expect: { acknowledged_within: 2 hourz }\n",
            "acme.yaml:18:36: rules[0].expect.acknowledged_within: invalid duration "
            "'2 hourz': unknown unit 'hourz' (use m, h, d, w or business days)",
            id="bad-duration",
        ),
        pytest.param(
            "  expect: { acknowledged_within: 2 }\n",
            "acme.yaml:18:36: rules[0].expect.acknowledged_within: a duration needs a unit: "
            "write '2d', '2h' or '2m'",
            id="duration-without-unit",
        ),
        pytest.param(
            "  expect: { done_within: 3d, remind_before: soon }\n",
            "acme.yaml:18:47: rules[0].expect.remind_before: invalid duration 'soon': write a "
            "number and a unit, e.g. '30m', '2h', '3d', '1w' or '2 business days'",
            id="bad-remind-before",
        ),
        pytest.param(
            "  expect: { acknowledge_within: 2h }\n",
            "acme.yaml:18:15: rules[0].expect.acknowledge_within: unknown key "
            "'acknowledge_within' (did you mean 'acknowledged_within'?)",
            id="misspelt-key",
        ),
        pytest.param(
            "  on_bounce: back\n",
            "acme.yaml:18:16: rules[0].on_bounce: 'back' is not allowed: "
            "expected one of owner, next_assistant",
            id="bad-on-bounce",
        ),
    ],
)
def test_a_mistake_in_expect_is_located_and_plain(extra: str, expected: str) -> None:
    assert messages(DELEGATING + extra) == [expected]


@pytest.mark.parametrize(
    ("extra", "key"), [("expect: { done_within: 3d }", "expect"), ("on_bounce: owner", "on_bounce")]
)
def test_expect_and_on_bounce_need_a_rule_that_assigns(extra: str, key: str) -> None:
    rules = f"""\
    - name: Tag bookings
      when: {{ tag: booking }}
      then: [ {{ tag: booked }} ]
      {extra}
    """
    assert messages(rules) == [
        f"acme.yaml:13:5: rules[0]: {key}: applies to delegated tasks: the rule needs an assign:"
    ]


def test_done_within_later_than_the_due_the_rule_sets_is_refused_by_the_model() -> None:
    rule = {
        "name": "Bookings",
        "when": {"tag": "booking"},
        "then": [{"assign": "giulia"}, {"due": {"in": "2d"}}],
        "expect": {"done_within": "3d"},
    }
    with pytest.raises(ValidationError) as raised:
        Rule.model_validate(rule)
    assert (
        "expect: done_within (3d) is later than the due date the rule sets (due in 2d): the task "
        "would be overdue before the expectation is missed; make them agree, or drop "
        "done_within to use the due date"
    ) in str(raised.value)
    # A week is five working days, like 5 business days.
    rule["then"] = [{"assign": "giulia"}, {"due": {"in": "5 business days"}}]
    rule["expect"] = {"done_within": "1w"}
    assert Rule.model_validate(rule).expect is not None


# The rule file loader validates a rule that fails with a placeholder for its actions
# (core/rulefile.py, _validate_rule's "shell": then = [{tag: x}]); the rule-level check of
# expect/on_bounce then sees no assign: the real message is lost and a spurious one is added.
def test_done_within_later_than_the_due_the_rule_sets_is_located() -> None:
    rules = """\
    - name: Bookings
      when: { tag: booking }
      then:
        - assign: giulia
        - due: { in: 2d }
      expect: { done_within: 3d }
    """
    assert messages(rules) == [
        "acme.yaml:13:5: rules[0]: expect: done_within (3d) is later than the due date the rule "
        "sets (due in 2d): the task would be overdue before the expectation is missed; make "
        "them agree, or drop done_within to use the due date"
    ]


def test_another_mistake_in_a_rule_with_expect_adds_no_assign_error() -> None:
    rules = """\
    - name: Bookings
      when: { tga: booking }
      then: [ { assign: giulia } ]
      expect: { done_within: 3d }
    """
    assert messages(rules) == [
        "acme.yaml:14:13: rules[0].when.tga: unknown condition 'tga' (did you mean 'tag'?)"
    ]


@pytest.mark.parametrize(
    ("bounce", "expected"),
    [
        pytest.param(
            "tag: x\ncomand: y\n",
            "acme.yaml:14:3: bounce.comand: unknown key 'comand' (did you mean 'command'?)",
            id="misspelt-key",
        ),
        pytest.param(
            "to: somewhere\n",
            "acme.yaml:13:7: bounce.to: 'somewhere' is not allowed: "
            "expected one of owner, next_assistant",
            id="bad-to",
        ),
        pytest.param(
            "- not for me\n",
            "acme.yaml:13:3: bounce: expected a mapping (key: value), got a list",
            id="a-list",
        ),
    ],
)
def test_a_mistake_in_bounce_is_located_and_plain(bounce: str, expected: str) -> None:
    assert messages(DELEGATING, with_bounce(bounce)) == [expected]


# ----------------------------------------------------------------------------- delegator check

BROKEN = client_text(
    DELEGATING
    + """\
  expect:
    acknowledged_within: 4h
    started_within: 2h
"""
)


def test_check_exits_with_the_error_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    path = tmp_path / "acme.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert (
        f"{path}:19:7: rules[0].expect: started_within (2h) is shorter than "
        "acknowledged_within (4h): a task is acknowledged before it is started"
    ) in out
    assert ": ok:" not in out
    assert "1 error in 1 file" in err
    assert "Traceback" not in out + err
    # The loader says the same, at the same place.
    [error] = parse_client_file(BROKEN, str(path)).errors
    assert (error.line, error.column) == (19, 7)


def test_check_accepts_a_file_with_expect_and_bounce(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    path = tmp_path / "acme.yaml"
    text = client_text(
        DELEGATING + "  expect: { acknowledged_within: 2h, done_within: 3 business days }\n",
        with_bounce("command: non fa per me\nto: next_assistant\n"),
    )
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    out, _err = capsys.readouterr()
    assert f"{path}: ok: Northwind Studio" in out


def test_an_empty_bounce_command_is_refused() -> None:
    with pytest.raises(ValueError, match="an empty command would match every comment"):
        BounceSettings.model_validate({"command": "  "})
    assert BounceSettings.model_validate({"command": None}).command is None
