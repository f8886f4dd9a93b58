"""Validation as a client meets it: every error at once, located, with did-you-mean."""

from __future__ import annotations

from corekit import client_text, parse

from delegator.core.rulefile import parse_client_file

FIVE_MISTAKES = """\
version: 1
client:
  name: Acme Studio
  workspace: "1201234567890"
  token: { env: ASANA_TOKEN_ACME }
  timezone: Europe/Rom
watch: [my_tasks]
poll: 2 minutez
assistants:
  giulia: { user: giulia@va-agency.example, skills: [admin] }
  marco: { user: "1200000000042", skills: [inbox] }
rules:
  - name: Admin chores
    when:
      all:
        - nmae: { contains: invoice }
        - name: { matches: "(?i)\\\\b(invoice|receipt" }
    then:
      - assign: { pool: [giulia, marko] }
"""


def messages(text: str) -> list[str]:
    return [str(e) for e in parse_client_file(text, "rules/acme.yaml").errors]


def test_five_mistakes_give_five_located_errors_sorted_by_line() -> None:
    assert messages(FIVE_MISTAKES) == [
        "rules/acme.yaml:6:13: client.timezone: unknown time zone 'Europe/Rom' "
        "(did you mean 'Europe/Rome'?)",
        "rules/acme.yaml:8:7: poll: invalid duration '2 minutez': unknown unit 'minutez' "
        "(use m, h, d, w or business days)",
        "rules/acme.yaml:16:11: rules[0].when.all[0].nmae: unknown condition 'nmae' "
        "(did you mean 'name'?)",
        "rules/acme.yaml:17:28: rules[0].when.all[1].name.matches: invalid regex: "
        "missing ), unterminated subpattern at position 6",
        "rules/acme.yaml:19:34: rules[0].then[0].assign.pool[1]: unknown assistant 'marko' "
        "(did you mean 'marco'?) (assistants: giulia, marco)",
    ]


def test_a_file_with_one_bad_rule_keeps_the_others() -> None:
    loaded = parse(
        """\
        - name: Good
          when: { tag: invoice }
          then: [ { tag: delegated } ]
        - name: Bad
          when: { tga: invoice }
          then: [ { tag: delegated } ]
        - name: Also good
          when: { tag: receipt }
          then: [ { assign: giulia } ]
        """
    )
    assert loaded.usable
    assert [r.rule.name for r in loaded.rules] == ["Good", "Also good"]
    assert [r.index for r in loaded.rules] == [0, 2]
    assert loaded.left_out == ((1, "Bad"),)
    [error] = loaded.errors
    assert error.key_path == "rules[1].when.tga"
    assert "unknown condition 'tga' (did you mean 'tag'?)" in error.message


def test_text_that_is_not_yaml_yields_one_clear_error() -> None:
    loaded = parse_client_file("version: 1\nclient: [\n", "broken.yaml")
    assert not loaded.usable
    [error] = loaded.errors
    assert str(error).startswith("broken.yaml:3:1: not valid YAML:")


def test_an_empty_file_and_a_list_are_reported() -> None:
    assert messages("") == ["rules/acme.yaml:1:1: the file is empty"]
    assert messages("- a\n") == ["rules/acme.yaml:1:1: a client file is a mapping of keys"]


def test_missing_keys_are_named_at_their_parent() -> None:
    text = (
        "version: 1\nclient:\n  name: A\n  workspace: '1'\n  token: {env: T}\nwatch: [my_tasks]\n"
    )
    assert messages(text) == [
        "rules/acme.yaml:2:1: client.timezone: missing required key 'timezone'"
    ]


def test_unknown_keys_suggest_the_closest_or_list_the_valid_ones() -> None:
    text = client_text("[]").replace("watch:", "wacth:")
    errors = messages(text)
    assert any("wacth: unknown top-level key 'wacth' (did you mean 'watch'?)" in e for e in errors)
    text = client_text(
        """\
        - name: x
          when: { tag: a }
          then: [ { tag: b } ]
          zzz: 1
        """
    )
    [error] = messages(text)
    assert "unknown rule setting 'zzz' (expected one of: name, description, when, then" in error


def test_unknown_action_and_assistant_setting() -> None:
    text = client_text(
        """\
        - name: x
          when: { tag: a }
          then: [ { asign: giulia } ]
        """
    ).replace("skills: [admin, booking] }", "skils: [admin, booking] }")
    errors = messages(text)
    assert any("assistants.giulia.skils: unknown assistant setting 'skils'" in e for e in errors)
    assert any(
        "rules[0].then[0].asign: unknown action 'asign' (did you mean 'assign'?)" in e
        for e in errors
    )


def test_duplicate_rule_names_duplicate_keys_and_templates_are_each_at_their_line() -> None:
    text = client_text(
        """\
        - name: Same
          when: { tag: a }
          then:
            - comment: "Hi {{ asignee.first_name }}"
        - name: same
          when: { tag: a }
          when: { tag: b }
          then: [ { tag: b } ]
        - name: Broken template
          when: { tag: a }
          then: [ { comment: "{% if %}" } ]
        """
    )
    errors = messages(text)
    lines = [int(e.split(":")[1]) for e in errors]
    assert lines == sorted(lines)
    assert any(
        "rules[0].then[0].comment: template uses unknown variable 'asignee' (did you mean 'assignee'?)"
        in e
        for e in errors
    )
    assert any("rules[1].name: duplicate rule name 'same' (also rules[0])" in e for e in errors)
    assert any("duplicate key 'when'" in e for e in errors)
    assert any("rules[2].then[0].comment: template error:" in e for e in errors)


def test_people_pools_and_skills_are_checked_against_the_assistants() -> None:
    text = client_text(
        """\
        - name: x
          when: { assignee: [owner, giula] }
          then:
            - assign: { pool: [giulia, marco], skill: admn }
            - assign: ana
            - follow: [owner, marcco]
        """
    )
    errors = messages(text)
    assert any(
        "when.assignee[1]: unknown assistant 'giula' (did you mean 'giulia'?)" in e for e in errors
    )
    assert any(
        "then[0].assign.skill: no assistant in the pool has the skill 'admn' (did you mean 'admin'?)"
        in e
        for e in errors
    )
    assert any("then[1].assign: unknown assistant 'ana'" in e for e in errors)
    assert any(
        "then[2].follow[1]: unknown assistant 'marcco' (did you mean 'marco'?)" in e for e in errors
    )


def test_bad_values_each_get_a_plain_message() -> None:
    text = client_text(
        """\
        - name: x
          when:
            all:
              - quadrant: delgate
              - due: { within: soon }
              - custom_field: { name: Priority }
              - name: { contains: a, equals: b }
              - { tag: a, name: { contains: b } }
          then: [ { tag: b } ]
          limit: 0
          mode: activ
        """
    )
    errors = messages(text)
    assert any(
        "quadrant: 'delgate' is not allowed: expected one of do, schedule, delegate, eliminate (did you mean 'delegate'?)"
        in e
        for e in errors
    )
    assert any("due.within: invalid duration 'soon'" in e for e in errors)
    assert any("custom_field: write what to compare" in e for e in errors)
    assert any("name: write only one of contains, equals" in e for e in errors)
    assert any("a condition has exactly one key, this one has name, tag" in e for e in errors)
    assert any("limit: must be at least 1, got the number 0" in e for e in errors)
    assert any("mode: 'activ' is not allowed" in e for e in errors)


def test_backtracking_features_are_refused_with_the_reason() -> None:
    text = client_text(
        """\
        - name: x
          when: { name: { matches: "(a)\\\\1" } }
          then: [ { tag: b } ]
        """
    )
    [error] = messages(text)
    assert "backreferences and lookaround are not supported" in error


def test_a_token_written_inline_is_refused_and_never_echoed() -> None:
    secret = "2/1200000000000/1209999999999:abcdef0123456789"
    text = client_text("[]").replace("token: { env: ASANA_TOKEN_NORTHWIND }", f"token: {secret!r}")
    errors = messages(text)
    assert any("client.token: never write a token in a rule file" in e for e in errors)
    assert all(secret not in e for e in errors)
    text = client_text("[]").replace("{ env: ASANA_TOKEN_NORTHWIND }", "{ env: 12, file: 3 }")
    assert all("12" not in e.split(":", 3)[-1] for e in messages(text) if "token" in e)


def test_the_matrix_cannot_use_quadrants() -> None:
    head = client_text("[]").replace("watch:", "matrix:\n  urgent: { quadrant: do }\nwatch:")
    [error] = messages(head)
    assert "9:11: matrix.urgent: the matrix defines the quadrants" in error


def test_the_examples_validate() -> None:
    from pathlib import Path

    for path in sorted(Path("examples").glob("*.yaml")):
        if path.name.endswith(".test.yaml"):
            continue
        loaded = parse_client_file(path.read_text(), str(path))
        assert loaded.errors == (), [str(e) for e in loaded.errors]


def test_a_matrix_that_cannot_be_computed_makes_the_file_unusable() -> None:
    head = client_text("[]").replace("watch:", "matrix:\n  urgent: { quadrant: do }\nwatch:")
    assert not parse_client_file(head, "a.yaml").usable


def test_poll_has_a_floor_and_empty_lists_are_refused() -> None:
    text = client_text(
        """\
        - name: x
          when: { any: [] }
          then: [ { tag: [] } ]
        """
    ).replace("watch: [my_tasks]", "watch: [my_tasks]\npoll: 10s")
    errors = messages(text)
    assert any("poll: invalid duration '10s'" in e or "poll every 1m or more" in e for e in errors)
    assert any("rules[0].when.any: must not be empty" in e for e in errors)
    assert any("rules[0].then[0].tag: must not be empty" in e for e in errors)
