from __future__ import annotations

import re
import threading
from datetime import date

import pytest
from corekit import context, engine_for

from delegator.core.model import Task, UserRef
from delegator.core.regex import RegexError, compile_pattern
from delegator.core.templates import TemplateError, compile_template


def test_a_pathological_pattern_cannot_stall_evaluation() -> None:
    # (a+)+$ takes exponential time in a backtracking engine on "aaaa...!"; RE2 is linear.
    engine = engine_for(
        """\
        - name: Evil
          when: { name: { matches: "(a+)+$" } }
          then: [ { tag: x } ]
        """
    )
    evil = Task("1", name="a" * 50_000 + "!")
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(engine.decide(evil, context(engine))))
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "evaluation stalled on a pathological regex"
    [decision] = outcome
    assert decision.rule is None  # type: ignore[attr-defined]


def test_patterns_are_case_insensitive_unless_asked() -> None:
    assert compile_pattern("invoice", case_sensitive=False).holds("INVOICE")
    assert not compile_pattern("invoice", case_sensitive=True).holds("INVOICE")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(unclosed", re.escape("invalid regex: missing ), unterminated subpattern")),
        ("(?<=a)b", "lookaround are not supported"),
        (r"(a)\1", "backreferences"),
    ],
)
def test_unusable_patterns_say_why(pattern: str, message: str) -> None:
    with pytest.raises(RegexError, match=message):
        compile_pattern(pattern, case_sensitive=False)


def test_templates_render_in_a_sandbox() -> None:
    template = compile_template("Hi {{ assignee.first_name }}, due {{ task.due_on or 'never' }}")
    text = template.render({"assignee": {"first_name": "Giulia"}, "task": {"due_on": None}})
    assert text == "Hi Giulia, due never"
    # Client text is never code: internals are out of reach and render as nothing.
    unsafe = compile_template("[{{ task.__class__.__mro__ }}{{ task.__init__.__globals__ }}]")
    assert unsafe.render({"task": Task("1")}) == "[]"


def test_template_errors_name_the_line() -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template("line one\n{% if %}")
    assert caught.value.line == 2
    with pytest.raises(TemplateError, match="unknown variable 'tsk' \\(did you mean 'task'\\?\\)"):
        compile_template("{{ tsk.name }}")


def test_a_comment_intent_keeps_its_template_for_the_worker() -> None:
    engine = engine_for(
        """\
        - name: Hello
          when: { assignee: none }
          then: [ { comment: "Due {{ task.due_on }}" } ]
        """
    )
    [intent] = engine.decide(Task("1", due_on=date(2026, 12, 1)), context(engine)).intents
    assert intent.kind == "comment"
    assert compile_template(intent.template).render({"task": {"due_on": "2026-12-01"}}) == (  # type: ignore[union-attr]
        "Due 2026-12-01"
    )
    assert UserRef("1").first_name == "1"
