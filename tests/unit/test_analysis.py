"""The rules' static analysis (core/analysis.py): each warning where it belongs, none where a
rule file is fine, and never a warning the engine would contradict on a real task."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from corekit import DIRECTORY, NOW, client_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiled_rules import NOW_SHIFTS, conditions, engine_of, tasks
from test_docs import BASE_FILE, EXAMPLES, YAML_BLOCKS, shapes_of
from test_fuzz_rulefiles import EXAMPLE, structures, yaml_soup

from delegator.core.analysis import analyse
from delegator.core.conditions import compile_condition
from delegator.core.engine import Engine
from delegator.core.findings import Finding, FindingCode, Severity
from delegator.core.model import Task
from delegator.core.rulefile import parse_client_file, walk_conditions
from delegator.core.yamlpos import YamlSyntaxError, format_path, load

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def findings(rules: str, head: str | None = None) -> tuple[Finding, ...]:
    text = client_text(rules) if head is None else client_text(rules, head)
    return findings_of(text)


def findings_of(text: str) -> tuple[Finding, ...]:
    loaded = parse_client_file(text, "acme.yaml")
    assert loaded.errors == (), [str(e) for e in loaded.errors]
    return analyse(loaded, load(text))


def one(found: tuple[Finding, ...], code: FindingCode) -> Finding:
    assert [f.code for f in found] == [code], [str(f) for f in found]
    assert found[0].severity is Severity.WARNING
    return found[0]


# ----------------------------------------------------------------------------- each kind


def test_a_narrower_rule_below_a_broader_one_is_shadowed() -> None:
    found = findings("""\
        - name: Money paperwork
          when: { name: { contains: inv } }
          then: [ { assign: giulia } ]
        - name: Invoices
          when: { all: [ { name: { contains: invoice } }, { tag: finance } ] }
          then: [ { assign: marco } ]
        """)
    finding = one(found, FindingCode.SHADOWED)
    assert (finding.line, finding.column, finding.key_path) == (16, 5, "rules[1]")
    assert 'rules[1] "Invoices"' in finding.message
    assert 'rules[0] "Money paperwork"' in finding.message


def test_a_rule_with_a_limit_still_shadows_the_rules_below() -> None:
    """Past its limit a rule's tasks wait for the next cycle; no later rule takes them."""
    found = findings("""\
        - name: Money paperwork
          when: { name: { contains: inv } }
          then: [ { tag: money } ]
          limit: 5
        - name: Invoices
          when: { name: { contains: invoice } }
          then: [ { tag: invoice } ]
        """)
    finding = one(found, FindingCode.SHADOWED)
    assert 'rules[0] "Money paperwork"' in finding.message


def test_shadowing_sees_tags_projects_sections_quadrants_and_windows() -> None:
    found = findings("""\
        - name: Broad
          when:
            any:
              - { tag: [admin, finance] }
              - { section: Inbox }
              - { quadrant: [delegate, eliminate] }
              - { due: { within: 1w } }
          then: [ { assign: giulia } ]
        - name: Tagged
          when: { tag: { all: [finance, paid] } }
          then: [ { assign: marco } ]
        - name: In the inbox of Operations
          when: { section: { project: Operations, name: inbox } }
          then: [ { assign: marco } ]
        - name: Delegate
          when: { quadrant: delegate }
          then: [ { assign: marco } ]
        - name: Due soon
          when: { due: { within: 3d } }
          then: [ { assign: marco } ]
        """)
    assert [(f.code, f.key_path) for f in found] == [
        (FindingCode.SHADOWED, f"rules[{i}]") for i in (1, 2, 3, 4)
    ]


def test_a_condition_that_can_never_hold_is_a_contradiction() -> None:
    found = findings("""\
        - name: Two titles
          when:
            all:
              - name: { equals: Weekly report }
              - name: { equals: Monthly report }
          then: [ { tag: x } ]
        """)
    finding = one(found, FindingCode.CONTRADICTION)
    assert (finding.line, finding.column, finding.key_path) == (15, 7, "rules[0].when")
    assert 'rules[0] "Two titles"' in finding.message
    assert "Weekly report" in finding.message
    assert "Monthly report" in finding.message


@pytest.mark.parametrize(
    "when",
    [
        "[ { tag: a }, { not: { tag: a } } ]",
        "{ custom_field: { name: Hours, gt: 5, lt: 3 } }",
        "[ { quadrant: do }, { quadrant: delegate } ]",
        "[ { assignee: giulia }, { assignee: marco } ]",
        "[ { assignee: none }, { assignee: owner } ]",
        "[ { completed: true }, { overdue: true } ]",
        "{ due: { after: 2026-12-01, before: 2026-12-02 } }",
        "[ { due: { none: true } }, { due: { within: 3d } } ]",
        "{ created: { older_than: 2w, newer_than: 3d } }",
        "[ { name: { starts_with: Re } }, { name: { starts_with: Fwd } } ]",
        "{ not: { any: [ { tag: a }, { not: { tag: a } } ] } }",
    ],
)
def test_contradictions_of_single_valued_things(when: str) -> None:
    found = findings(f"- name: Never\n  when: {when}\n  then: [ {{ tag: x }} ]\n")
    assert FindingCode.CONTRADICTION in [f.code for f in found], when


def test_actions_that_undo_each_other_in_one_rule() -> None:
    found = findings("""\
        - name: Confused
          when: { tag: inbox }
          then:
            - tag: Delegated
            - untag: [delegated, inbox]
        """)
    finding = one(found, FindingCode.UNDOES)
    assert (finding.line, finding.column, finding.key_path) == (17, 9, "rules[0].then[1]")
    assert 'rules[0] "Confused"' in finding.message
    assert "delegated" in finding.message.casefold()


def test_a_rule_with_continue_undone_by_the_rule_its_tasks_always_reach() -> None:
    found = findings("""\
        - name: Mark finance
          when: { tag: finance }
          then: [ { tag: review } ]
          continue: true
        - name: Clean up
          when: { any: [ { tag: finance }, { tag: money } ] }
          then: [ { untag: review } ]
        """)
    finding = one(found, FindingCode.UNDOES)
    assert (finding.line, finding.column, finding.key_path) == (19, 13, "rules[1].then[0]")
    assert 'rules[1] "Clean up"' in finding.message
    assert 'rules[0] "Mark finance"' in finding.message


def test_two_rules_that_share_a_task_and_assign_it_differently_overlap() -> None:
    found = findings("""\
        - name: Bookings
          when: { name: { contains: book } }
          then: [ { assign: giulia } ]
        - name: Invoices
          when: { name: { contains: invoice } }
          then: [ { assign: marco } ]
        """)
    finding = one(found, FindingCode.OVERLAP)
    assert (finding.line, finding.column, finding.key_path) == (16, 5, "rules[1]")
    assert 'rules[1] "Invoices"' in finding.message
    assert 'rules[0] "Bookings"' in finding.message
    assert 'a task named "invoice book"' in finding.message


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        ('{ name: { matches: ".*" } }', "rules[0].when"),
        ("[ { tag: x }, { notes: { matches: '^' } } ]", "rules[0].when[1]"),
        ("{ any: [ { tag: a }, { not: { tag: a } } ] }", "rules[0].when"),
        ("[ { tag: x }, { assignee: [any, none] } ]", "rules[0].when[1]"),
        ("[ { tag: x }, { not: [ { tag: a }, { not: { tag: a } } ] } ]", "rules[0].when[1]"),
        ("[ { tag: x }, { any: [ { tag: y }, { name: { matches: 'x*' } } ] } ]",
         "rules[0].when[1].any[1]"),
    ],
)  # fmt: skip
def test_a_condition_that_holds_for_every_task_is_always_true(when: str, shown: str) -> None:
    found = findings(f"- name: Everything\n  when: {when}\n  then: [ {{ tag: x }} ]\n")
    finding = one(found, FindingCode.ALWAYS_TRUE)
    assert finding.key_path == shown, finding
    assert 'rules[0] "Everything"' in finding.message


def test_always_true_points_at_the_condition() -> None:
    finding = one(
        findings("- name: Everything\n  when: [ { tag: x }, { name: { matches: '.*' } } ]\n"
                 "  then: [ { tag: y } ]\n"),
        FindingCode.ALWAYS_TRUE,
    )  # fmt: skip
    assert (finding.line, finding.column, finding.key_path) == (14, 25, "rules[0].when[1]")
    assert '".*"' in finding.message


MATRIX = """\
matrix:
  urgent: { all: [ { tag: urgent }, { not: { tag: urgent } } ] }
"""


def test_a_matrix_without_delegate_tasks_when_a_rule_wants_them() -> None:
    head = client_text("").split("rules:")[0]
    head = head.replace("watch:", MATRIX + "watch:")
    found = findings(
        "- name: To the assistants\n  when: { quadrant: [delegate] }\n  then: [ { assign: giulia } ]\n",
        head,
    )
    finding = [f for f in found if f.code is FindingCode.NOTHING_DELEGABLE]
    assert len(finding) == 1, found
    assert (finding[0].line, finding[0].column, finding[0].key_path) == (9, 3, "matrix")
    assert 'rules[0] "To the assistants"' in finding[0].message
    assert "urgent condition can never hold" in finding[0].message


def test_an_important_condition_that_always_holds_leaves_nothing_to_delegate() -> None:
    head = (
        client_text("")
        .split("rules:")[0]
        .replace(
            "watch:", "matrix:\n  important: { any: [ { tag: x }, { not: { tag: x } } ] }\nwatch:"
        )
    )
    found = findings(
        "- name: Delegate\n  when: { not: { not: { quadrant: delegate } } }\n  then: [ { tag: d } ]\n",
        head,
    )
    codes = [f.code for f in found]
    assert FindingCode.NOTHING_DELEGABLE in codes
    assert "important condition holds for every task" in str(found)


# ----------------------------------------------------------------------------- near misses


@pytest.mark.parametrize(
    "rules",
    [
        # the broader rule has continue: true: the narrower one still acts
        """\
        - name: Broad
          when: { name: { contains: inv } }
          then: [ { tag: money } ]
          continue: true
        - name: Narrow
          when: { name: { contains: invoice } }
          then: [ { assign: marco } ]
        """,
        # shadow mode never takes a task
        """\
        - name: Broad
          when: { name: { contains: inv } }
          then: [ { tag: money } ]
          mode: shadow
        - name: Narrow
          when: { name: { contains: invoice } }
          then: [ { assign: marco } ]
        """,
        # another project: a task can be in both, but neither rule covers the other
        """\
        - name: Ops
          when: { project: Operations }
          then: [ { tag: ops } ]
        - name: Admin
          when: { project: Client Admin }
          then: [ { tag: admin } ]
        """,
        # a section of one project is not the section of another
        """\
        - name: Ops inbox
          when: { section: { project: Operations, name: Inbox } }
          then: [ { tag: ops } ]
        - name: Any inbox
          when: { section: Inbox }
          then: [ { tag: inbox } ]
        """,
        # tags are many: a task can have both
        """\
        - name: Both tags
          when: [ { tag: finance }, { tag: travel } ]
          then: [ { tag: x } ]
        """,
        # the earlier rule does not look at completed tasks, the later one does
        """\
        - name: Open
          when: { tag: finance }
          then: [ { tag: seen } ]
        - name: Also done
          when: { all: [ { tag: finance }, { any: [ { completed: true }, { completed: false } ] } ] }
          then: [ { tag: seen-too } ]
        """,
        # the specific rule first, then the general one: as it should be
        """\
        - name: Invoices
          when: { name: { contains: invoice } }
          then: [ { assign: marco } ]
        - name: Money
          when: { name: { contains: inv } }
          then: [ { assign: giulia } ]
        """,
        # the same assistant, or rules that act on different things
        """\
        - name: Bookings
          when: { name: { contains: book } }
          then: [ { assign: giulia }, { tag: travel } ]
        - name: Invoices
          when: { name: { contains: invoice } }
          then: [ { assign: { pool: [giulia, marco] } }, { tag: money } ]
        """,
        # a gid may be Giulia's; 1 and "1" set the same value
        """\
        - name: Bookings
          when: { name: { contains: book } }
          then: [ { assign: giulia }, { set: { custom_field: Hours, value: 1 } } ]
        - name: Invoices
          when: { name: { contains: invoice } }
          then: [ { assign: "1200000000042" }, { set: { custom_field: hours, value: "1" } } ]
        """,
        # rules that cannot share a task
        """\
        - name: Giulia's
          when: [ { assignee: giulia }, { name: { contains: book } } ]
          then: [ { untag: x } ]
        - name: Marco's
          when: [ { assignee: marco }, { name: { contains: book } } ]
          then: [ { tag: x } ]
        """,
        # one value and two ranges of a number are fine; assignee any is not everything
        """\
        - name: Hours
          when: [ { custom_field: { name: Hours, gte: 3, lte: 3 } }, { assignee: any } ]
          then: [ { tag: x } ]
        - name: Options
          when: [ { custom_field: { name: Channels, equals: Web } },
                  { custom_field: { name: Channels, equals: Print } } ]
          then: [ { tag: y } ]
        """,
        # a chain whose second rule is not always reached
        """\
        - name: Mark finance
          when: { tag: finance }
          then: [ { tag: review } ]
          continue: true
        - name: Clean up money
          when: { tag: money }
          then: [ { untag: review } ]
        """,
        # the first rule can never match (a pattern the analysis cannot read says so): the
        # example task built from the two rules fails the engine's own check
        """\
        - name: Bookings
          when: [ { name: { contains: book } }, { not: { name: { matches: "b.ok" } } } ]
          then: [ { assign: giulia } ]
        - name: Invoices
          when: { name: { contains: invoice } }
          then: [ { assign: marco } ]
        """,
        # clock durations a little apart are not ordered across a clock change
        """\
        - name: Recent
          when: { modified: { older_than: 90m, newer_than: 60m } }
          then: [ { tag: x } ]
        """,
    ],
)
def test_near_misses_do_not_warn(rules: str) -> None:
    found = findings(rules)
    assert found == (), [str(f) for f in found]


# ----------------------------------------------------------------------------- real files


@pytest.mark.parametrize(
    "path", sorted(p for p in EXAMPLES.glob("*.yaml") if not p.name.endswith(".test.yaml")),
    ids=lambda p: p.name,
)  # fmt: skip
def test_the_example_files_give_no_warning(path: Any) -> None:
    found = findings_of(path.read_text(encoding="utf-8"))
    assert found == (), [str(f) for f in found]


def _doc_files() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for block in YAML_BLOCKS:
        if block.broken:
            continue
        data = yaml.safe_load(block.text)
        shapes = shapes_of(data)
        text = None
        if shapes == ("file",):
            text = block.text
        elif shapes == ("rule",):
            text = yaml.safe_dump({**BASE_FILE, "rules": [data]})
        elif "condition" in shapes:
            rule = {"name": "docs", "when": data, "then": [{"tag": "docs"}]}
            text = yaml.safe_dump({**BASE_FILE, "rules": [rule]})
        if text is not None and parse_client_file(text, block.where).valid:
            out.append((block.where, text))
    return out


DOC_FILES = _doc_files()


def test_the_docs_have_files_rules_and_conditions_to_analyse() -> None:
    assert len(DOC_FILES) > 30


@pytest.mark.parametrize(("where", "text"), DOC_FILES, ids=[w for w, _ in DOC_FILES])
def test_the_rule_examples_in_the_docs_give_no_warning(where: str, text: str) -> None:
    found = findings_of(text)
    assert found == (), [str(f) for f in found]


# ----------------------------------------------------------------------------- docs/analysis.md


ANALYSIS_DOC = EXAMPLES.parent / "docs" / "analysis.md"
_SECTION = re.compile(r"^## .*\(`(?P<code>[a-z-]+)`\)", re.MULTILINE)


def _doc_examples() -> list[tuple[str, str, str]]:
    """(code, fence, rules): each ```yaml block of a section, with the code it illustrates."""
    text = ANALYSIS_DOC.read_text(encoding="utf-8")
    out: list[tuple[str, str, str]] = []
    sections = list(_SECTION.finditer(text))
    for n, section in enumerate(sections):
        end = sections[n + 1].start() if n + 1 < len(sections) else len(text)
        blocks = re.finditer(r"```yaml( fixed)?\n(.*?)```", text[section.end() : end], re.S)
        out.extend((section["code"], "fixed" if b[1] else "warns", b[2]) for b in blocks)
    return out


DOC_EXAMPLES = _doc_examples()


def test_the_analysis_doc_shows_every_warning_and_its_fix() -> None:
    codes = {
        FindingCode.SHADOWED, FindingCode.CONTRADICTION, FindingCode.OVERLAP,
        FindingCode.UNDOES, FindingCode.ALWAYS_TRUE, FindingCode.NOTHING_DELEGABLE,
    }  # fmt: skip
    assert {(c, k) for c, k, _ in DOC_EXAMPLES} == {
        (str(c), k) for c in codes for k in ("warns", "fixed")
    }


@pytest.mark.parametrize(("code", "kind", "text"), DOC_EXAMPLES)
def test_each_example_in_the_analysis_doc_warns_as_it_says(code: str, kind: str, text: str) -> None:
    data = yaml.safe_load(text)
    file = {**BASE_FILE, **data}
    found = findings_of(yaml.safe_dump(file, sort_keys=False))
    if kind == "warns":
        assert [str(f.code) for f in found] == [code], [str(f) for f in found]
    else:
        assert found == (), [str(f) for f in found]


# ----------------------------------------------------------------------------- soundness


def _rule(name: str, when: Any, tag: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "when": when, "then": [{"tag": tag}], **extra}


def _engine_and_findings(rules: list[dict[str, Any]], matrix: dict[str, Any] | None = None
                         ) -> tuple[Engine, tuple[Finding, ...], str]:  # fmt: skip
    engine = engine_of(rules, matrix)
    text = client_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    if matrix:
        text = text.replace(
            "watch:", yaml.safe_dump({"matrix": matrix}, allow_unicode=True) + "watch:", 1
        )
    loaded = parse_client_file(text, "generated.yaml")
    return engine, analyse(loaded, load(text)), text


def _rule_of(finding: Finding) -> int:
    found = re.match(r"rules\[(\d+)\]", finding.key_path)
    assert found is not None, finding
    return int(found[1])


@pytest.mark.slow
@PROPERTY
@given(
    conditions(),
    conditions(),
    conditions(),
    st.booleans(),
    st.lists(tasks(), min_size=12, max_size=12),
    NOW_SHIFTS,
)
def test_a_warning_is_never_contradicted_by_a_task(
    first: Any, second: Any, third: Any, chained: bool, cases: list[Task], hours: int
) -> None:
    """Shadowed: the later rule never acts. Contradiction: the rule never matches. Always true:
    the condition holds. Undoes: every task the first rule acts on reaches the second."""
    rules = [
        _rule("First", first, "x", **({"continue": True} if chained else {})),
        _rule("Second", second, "y"),
        {"name": "Third", "when": third, "then": [{"untag": "x"}]},
    ]
    engine, found, _ = _engine_and_findings(rules)
    ctx = engine.context(NOW + timedelta(hours=hours), DIRECTORY)
    for task in cases:
        decision = engine.decide(task, ctx)
        acting = {o.rule for o in decision.outcomes}
        ctx.quadrant = decision.quadrant
        for finding in found:
            index = _rule_of(finding)
            rule = engine.rules[index]
            match finding.code:
                case FindingCode.SHADOWED:
                    assert rule.name not in acting, (finding, task)
                case FindingCode.CONTRADICTION:
                    assert not rule.when.test(task, ctx), (finding, task)
                case FindingCode.ALWAYS_TRUE:
                    for node, path in walk_conditions(rule.rule.when, ("rules", index, "when")):
                        if format_path(path) == finding.key_path:
                            check = compile_condition(node, path)
                            assert check.test(task, ctx), (finding, task)
                case FindingCode.UNDOES:
                    if "First" in acting and index == 2:
                        assert "Third" in acting, (finding, task)
                case FindingCode.OVERLAP:
                    pass  # proved by a task checked with the same conditions
                case _:
                    raise AssertionError(finding)


@pytest.mark.slow
@PROPERTY
@given(
    conditions(quadrant=False),
    conditions(quadrant=False),
    st.lists(tasks(), min_size=12, max_size=12),
    NOW_SHIFTS,
)
def test_nothing_delegable_means_no_task_is_delegate(
    urgent: Any, important: Any, cases: list[Task], hours: int
) -> None:
    rules = [_rule("Delegate", {"quadrant": "delegate"}, "x")]
    engine, found, _ = _engine_and_findings(rules, {"urgent": urgent, "important": important})
    if FindingCode.NOTHING_DELEGABLE not in [f.code for f in found]:
        return
    ctx = engine.context(NOW + timedelta(hours=hours), DIRECTORY)
    for task in cases:
        assert engine.decide(task, ctx).quadrant != "delegate", task


@pytest.mark.slow
@PROPERTY
@given(conditions(), st.lists(tasks(), min_size=12, max_size=12), NOW_SHIFTS)
def test_a_condition_and_its_negation_are_never_both_always_true(
    condition: Any, cases: list[Task], hours: int
) -> None:
    """A condition with an always-true finding holds for every task (and then its negation is
    a contradiction); checked through the rule's own `when`."""
    rules = [_rule("Cond", condition, "x"), _rule("Neg", {"not": condition}, "y")]
    engine, found, _ = _engine_and_findings(rules)
    whole = {f.code for f in found if f.key_path in ("rules[0].when", "rules[1].when")}
    ctx = engine.context(NOW + timedelta(hours=hours), DIRECTORY)
    for task in cases:
        ctx.quadrant = engine.decide(task, ctx).quadrant
        if FindingCode.CONTRADICTION in whole:
            assert not all(r.when.test(task, ctx) for r in engine.rules)


# ----------------------------------------------------------------------------- robustness


def _analyse_any(text: str) -> None:
    loaded = parse_client_file(text, "fuzz.yaml")
    try:
        document = load(text)
    except YamlSyntaxError:
        return
    for finding in analyse(loaded, document):
        assert finding.line >= 1
        assert finding.column >= 1
        assert finding.message


FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


@FUZZ
@given(yaml_soup | st.text(max_size=200))
def test_analyse_never_raises_on_any_text(text: str) -> None:
    _analyse_any(text)


@FUZZ
@given(st.lists(conditions(), min_size=1, max_size=5), st.data())
def test_analyse_never_raises_on_rules_made_of_any_conditions(whens: list[Any], data: Any) -> None:
    rules = [
        {
            "name": f"r{i}",
            "when": when,
            "then": data.draw(
                st.lists(
                    st.sampled_from(
                        [{"tag": "x"}, {"untag": "x"}, {"assign": "giulia"}, {"assign": "marco"},
                         {"move": {"project": "Ops", "section": "A"}},
                         {"move": {"project": "Ops", "section": "B"}},
                         {"set": {"custom_field": "Status", "value": "Done"}},
                         {"set": {"custom_field": "Status", "value": None}},
                         {"due": {"in": "3d"}}, {"follow": "owner"}]
                    ),
                    min_size=1, max_size=3,
                )
            ),
            **data.draw(st.sampled_from([{}, {"continue": True}, {"mode": "shadow"}, {"limit": 2}])),
        }
        for i, when in enumerate(whens)
    ]  # fmt: skip
    _analyse_any(client_text(yaml.safe_dump(rules, allow_unicode=True)))


@FUZZ
@given(st.dictionaries(st.sampled_from(["rules", "matrix", "assistants"]), structures, max_size=2))
def test_analyse_never_raises_on_the_example_with_a_part_replaced(extra: dict[str, Any]) -> None:
    data = yaml.safe_load(EXAMPLE)
    data.update(extra)
    _analyse_any(yaml.safe_dump(data, allow_unicode=True))


@pytest.mark.slow
def test_ten_thousand_rules_are_analysed_in_seconds() -> None:
    words = ["invoice", "receipt", "booking", "hotel", "report", "meeting", "renewal", "call"]
    rules = [
        {
            "name": f"Rule {i}",
            "when": {"all": [
                {"name": {"contains": f"{words[i % 8]}-{i:05d}"}},
                {"tag": f"t{i % 50}"},
                {"assignee": ["owner", "none"]},
                {"quadrant": ["delegate", "eliminate"]},
            ]},
            "then": [{"assign": "giulia" if i % 2 else "marco"}, {"tag": "delegated"}],
        }
        for i in range(10_000)
    ]  # fmt: skip
    text = client_text(yaml.safe_dump(rules))
    loaded = parse_client_file(text, "big.yaml")
    assert len(loaded.rules) == 10_000
    found = analyse(loaded, load(text))
    # "invoice 1" is in "invoice 17", "invoice 1001"... but their tags differ: nothing to say
    assert [f for f in found if f.code is not FindingCode.OVERLAP] == []


# ----------------------------------------------------------------------------- soundness, close up

# Conditions from a small vocabulary, so that rules often imply or contradict each other, judged
# on every task of a grid built from the same vocabulary (and the days and people around NOW).
SMALL_WORDS = ["a", "ab", "b", "ba", "A B"]
SMALL_PATTERNS = ["^$", "a*", "^a", ".*", "b", "^", "x?$", r"\ba"]
SMALL_DATES = [str(NOW.date() + timedelta(days=n)) for n in (-1, 0, 1, 2)]
SMALL_SPANS = ["0d", "1d", "2d", "1w", "60m", "90m", "4h", "1 business day", "2 business days"]
small_text = st.one_of(
    st.builds(
        lambda op, w: {op: w},
        st.sampled_from(["contains", "equals", "starts_with", "ends_with"]),
        st.sampled_from(SMALL_WORDS)
        | st.lists(st.sampled_from(SMALL_WORDS), min_size=1, max_size=2),
    ),
    st.sampled_from(SMALL_PATTERNS).map(lambda p: {"matches": p}),
).flatmap(lambda m: st.sampled_from([m, {**m, "case_sensitive": True}]))
small_window = st.one_of(
    st.dictionaries(
        st.sampled_from(["within", "before", "after"]),
        st.sampled_from(SMALL_SPANS),
        min_size=1,
        max_size=2,
    ),
    st.dictionaries(st.sampled_from(["before", "after"]), st.sampled_from(SMALL_DATES), min_size=1),
    st.booleans().map(lambda b: {"none": b}),
)


HOURS_OPERATORS: list[dict[str, Any]] = [
    {"is_set": True}, {"is_set": False}, {"equals": 2}, {"in": [1, 2]}, {"not_in": [2]},
]  # fmt: skip


def _hours(operators: dict[str, Any]) -> dict[str, Any]:
    return {"custom_field": {"name": "Hours", **operators}}


SMALL_LEAVES = st.one_of(
    small_text.map(lambda m: {"name": m}),
    st.sampled_from(["x", "y", ["x", "y"], {"all": ["x", "y"]}, {"none": ["x"]}]).map(
        lambda t: {"tag": t}
    ),
    st.sampled_from(["owner", "none", "any", "giulia", "marco", "999", ["owner", "none"]]).map(
        lambda a: {"assignee": a}
    ),
    st.dictionaries(
        st.sampled_from(["gt", "gte", "lt", "lte"]), st.sampled_from([1, 2, 3]), min_size=1
    ).map(lambda ops: {"custom_field": {"name": "Hours", **ops}}),
    st.sampled_from(HOURS_OPERATORS).map(_hours),
    small_window.map(lambda w: {"due": w}),
    st.dictionaries(
        st.sampled_from(["older_than", "newer_than"]),
        st.sampled_from(["60m", "90m", "4h", "1d", "2d", "1 business day"]),
        min_size=1,
    ).map(lambda a: {"created": a}),
    st.sampled_from(["do", "delegate", ["do", "schedule"], ["delegate", "eliminate"]]).map(
        lambda q: {"quadrant": q}
    ),
    st.booleans().map(lambda b: {"overdue": b}),
    st.booleans().map(lambda b: {"completed": b}),
)  # fmt: skip
small_conditions = st.recursive(
    SMALL_LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda k, items: {k: items}, st.sampled_from(["all", "any"]),
                  st.lists(inner, min_size=1, max_size=3)),
        inner.map(lambda c: {"not": c}),
    ),
    max_leaves=4,
)  # fmt: skip


def _grid() -> list[Task]:
    from itertools import product

    from delegator.core.model import FieldValue, Ref, UserRef

    people = [
        None,
        UserRef("100", "Anna", "anna@northwind.example"),
        UserRef("102", "Giulia", "giulia@va-agency.example"),
        UserRef("999", "", ""),
    ]
    names = ["", "a", "ab", "ba", " a ", "b a", "A B", "x"]
    tags = [(), ("x",), ("y",), ("x", "y")]
    dues: list[tuple[Any, Any]] = (
        [(None, None)]
        + [(NOW.date() + timedelta(days=n), None) for n in (-2, -1, 0, 1, 2, 3, 8)]
        + [(None, NOW + timedelta(minutes=m)) for m in (-30, 45, 75, 120, 300)]
    )
    hours: list[tuple[FieldValue, ...]] = [()] + [
        (FieldValue("1", "Hours", "number", number=float(n)),) for n in (0.5, 1, 2, 2.5, 3, 4)
    ]
    created = [None] + [NOW - timedelta(minutes=m) for m in (30, 70, 100, 200, 60 * 30, 60 * 50)]
    out = []
    for n, (name, tag, (due_on, due_at), who, field, made, done) in enumerate(
        product(names, tags, dues, people, hours, created, (False, True))
    ):
        if n % 41:  # a part of the product, spread over it: every value, many combinations
            continue
        out.append(Task(gid=str(n), name=name, assignee=who, completed=done, due_on=due_on,
                        due_at=due_at, created_at=made,
                        tags=tuple(Ref(f"5{i}", t) for i, t in enumerate(tag)),
                        custom_fields=field))  # fmt: skip
    return out


GRID = _grid()


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_conditions, small_conditions, small_conditions, st.booleans())
def test_a_warning_is_never_contradicted_by_a_task_of_the_grid(
    first: Any, second: Any, third: Any, chained: bool
) -> None:
    """As above, with rules that often imply or contradict each other, on tasks around them."""
    rules = [
        _rule("First", first, "x", **({"continue": True} if chained else {})),
        _rule("Second", second, "y"),
        {"name": "Third", "when": third, "then": [{"untag": "x"}]},
    ]
    engine, found, _ = _engine_and_findings(rules)
    if not found:
        return
    ctx = engine.context(NOW, DIRECTORY)
    claims = []
    for finding in found:
        index = _rule_of(finding)
        check = engine.rules[index].when
        for node, path in walk_conditions(engine.rules[index].rule.when, ("rules", index, "when")):
            if format_path(path) == finding.key_path:
                check = compile_condition(node, path)
        claims.append((finding, engine.rules[index], check))
    for task in GRID:
        decision = engine.decide(task, ctx)
        acting = {o.rule for o in decision.outcomes}
        ctx.quadrant = decision.quadrant
        for finding, rule, check in claims:
            match finding.code:
                case FindingCode.SHADOWED:
                    assert rule.name not in acting, (finding, task)
                case FindingCode.CONTRADICTION:
                    assert not rule.when.test(task, ctx), (finding, task)
                case FindingCode.ALWAYS_TRUE:
                    assert check.test(task, ctx), (finding, task)
                case FindingCode.UNDOES:
                    if "First" in acting and rule.name == "Third":
                        assert "Third" in acting, (finding, task)
                case _:
                    pass


def test_clock_durations_less_than_a_clock_change_apart_are_not_ordered() -> None:
    """On the night the clocks go forward, "older than 80m and newer than 40m" holds for a task:
    now minus 80m falls in the skipped hour, and is read as a later instant than now minus 40m.
    """
    rules = "- name: Spring\n  when: { created: { older_than: 80m, newer_than: 40m } }\n"
    rules += "  then: [ { tag: x } ]\n"
    assert findings(rules) == ()
    engine = Engine(parse_client_file(client_text(rules), "acme.yaml"))
    now = datetime(2026, 3, 29, 3, 50, tzinfo=NOW.tzinfo)  # Rome: 02:00 became 03:00
    task = Task(gid="1", created_at=datetime(2026, 3, 29, 1, 20, tzinfo=UTC))
    assert engine.decide(task, engine.context(now, DIRECTORY)).rule == "Spring"


@pytest.mark.parametrize(
    "when", ["{ tag: admin }", "{ quadrant: [do, eliminate] }", "{ not: { quadrant: delegate } }"]
)
def test_a_matrix_without_delegate_tasks_is_fine_when_no_rule_wants_them(when: str) -> None:
    head = client_text("").split("rules:")[0].replace("watch:", MATRIX + "watch:")
    found = findings(f"- name: Chores\n  when: {when}\n  then: [ {{ assign: giulia }} ]\n", head)
    assert found == (), [str(f) for f in found]
