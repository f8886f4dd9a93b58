"""Comment templates are checked and compiled once per text, however many comments they write."""

from __future__ import annotations

import itertools
from typing import Any

import jinja2
import pytest

from delegator.core import templates
from delegator.core.templates import TemplateError, compile_template, sandbox

_fresh = itertools.count()


def fresh(text: str) -> str:
    """A template text no other test has cached."""
    return f"{text} {{# {next(_fresh)} #}}"


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every Jinja2 code generation (``Environment.compile``) and parse of a template text."""
    calls: list[Any] = []
    compile_, parse = jinja2.Environment.compile, jinja2.Environment.parse

    def counting_compile(self: jinja2.Environment, source: Any, *args: Any, **kw: Any) -> Any:
        calls.append(("compile", source if isinstance(source, str) else "tree"))
        return compile_(self, source, *args, **kw)

    def counting_parse(self: jinja2.Environment, source: str, *args: Any, **kw: Any) -> Any:
        calls.append(("parse", source))
        return parse(self, source, *args, **kw)

    monkeypatch.setattr(jinja2.Environment, "compile", counting_compile)
    monkeypatch.setattr(jinja2.Environment, "parse", counting_parse)
    return calls


@pytest.mark.parametrize(
    "text",
    [
        "Over to you, {{ assignee.first_name }}: {{ task.name }}",  # plain: checked by parsing
        "{% if task.due_on %}Due {{ task.due_on }}{% else %}No date{% endif %} {{ rule | upper }}",
    ],
)
def test_the_same_template_compiles_once(compiled: list[Any], text: str) -> None:
    source = fresh(text)
    context = {"assignee": {"first_name": "Giulia"}, "task": {"name": "Pay", "due_on": None},
               "rule": "invoices"}  # fmt: skip
    first = compile_template(source)
    rendered = {compile_template(source).render(context) for _ in range(5)}
    assert len(rendered) == 1
    assert [kind for kind, _ in compiled].count("compile") == 1
    assert [kind for kind, _ in compiled].count("parse") == 1  # to check it
    assert all(kind == "compile" or text == source for kind, text in compiled)
    assert compile_template(source) is first


def test_the_cache_keeps_apart_what_a_check_depends_on() -> None:
    source = fresh("{{ subject.name }}")
    with pytest.raises(TemplateError, match="unknown variable 'subject'"):
        compile_template(source)
    assert compile_template(source, ("subject",)).render({"subject": {"name": "x"}}) == "x"
    with pytest.raises(TemplateError, match="unknown variable 'subject'"):  # failures are not kept
        compile_template(source)
    # Another environment: the same text, escaped by the other's rules.
    html = compile_template(fresh("{{ task.name }}"), environment=sandbox(autoescape=True))
    plain = compile_template(html.source)
    assert html.render({"task": {"name": "<b>"}}).startswith("&lt;b&gt;")
    assert plain.render({"task": {"name": "<b>"}}).startswith("<b>")


def test_errors_are_reported_every_time_at_their_line() -> None:
    for _ in range(2):
        with pytest.raises(TemplateError) as caught:
            compile_template("line one\n{{ task.name | no_such_filter }}")
        assert caught.value.line == 2


def test_the_cache_is_bounded() -> None:
    assert templates._checked.cache_info().maxsize == templates.CACHED_TEMPLATES
    assert templates._loaded.cache_info().maxsize == templates.CACHED_TEMPLATES
