"""Rendering summaries and digests: golden defaults, escaping, overrides, the sandbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_summary import DELEGATIONS, at, delegation, digest_task, inputs

from delegator.core.schema import MessageTemplates
from delegator.core.summary import DigestInputs, Problem, WaitingTask, build_digest, build_summary
from delegator.core.summary_render import (
    DEFAULTS,
    RICH_TEXT_TAGS,
    check_rich_text,
    compile_message_template,
    escape_markdown,
    render_digest,
    render_summary,
    template_variables,
)
from delegator.core.templates import TemplateError

SUMMARY_MARKDOWN = """\
**Northwind Studio: 20-27 Nov 2026**

At risk: 2 tasks overdue, 1 task waiting for an assistant, 1 problem.

**Delegated: 5** (Giulia Bianchi 3, Marco Verdi 2)
- Invoices: 3
- Inbox: 1
- Travel: 1

**Done: 3** · still open: 6 · overdue: 2

**Overdue (2)**
- [Ancient invoice](https://app.asana.com/0/0/11) · Giulia Bianchi · due Thu 1 Oct
- [Pay invoice #2041](https://app.asana.com/0/0/1) · Giulia Bianchi · due Wed 25 Nov

**Due in the next 3 days (2)**
- [Book train to Milan](https://app.asana.com/0/0/2) · Giulia Bianchi · due Fri 27 Nov
- [Hotel in Rome](https://app.asana.com/0/0/8) · Giulia Bianchi · due Mon 30 Nov

**Done this period (3)**
- [File expenses](https://app.asana.com/0/0/4) · Giulia Bianchi
- [Reply to newsletter](https://app.asana.com/0/0/5) · Marco Verdi
- [Send receipts](https://app.asana.com/0/0/3) · Marco Verdi

**Waiting**
Queued, no assistant free (1):
- [Book flights](u20) · no assistant free

Shadow rule "Nudge" would have acted on 2 tasks: turn it on?
- [Agenda](u21)
- [Brief](u22)

Shadow rule "Old tasks" would have acted on 1 task: turn it on?
- [Quote](u23)

**Taken back (2)**
- [Client call notes](u30) · tag removed (rule "Inbox")
- [Expense report](u7) · reassigned to Anna (rule "Invoices")

**Problems (1)**
- rules\\[3\\] left out: unknown assistant 'gulia'

**Time given back:** about 1 h 15 min (from the "Estimated time" field for 1 task and rule \
defaults for 1 task; 1 task without an estimate)

**Covey matrix, open tasks:** do 1 · schedule 2 · delegate 1 · eliminate 1; the owner still \
holds 2 to do or schedule

**Assistants:** Giulia B 5/25, Marco Verdi 1/10"""

SUMMARY_HTML = """\
<body><strong>Northwind Studio: 20-27 Nov 2026</strong>
At risk: 2 tasks overdue, 1 task waiting for an assistant, 1 problem.

<strong>Delegated: 5</strong> (Giulia Bianchi 3, Marco Verdi 2)
<ul><li>Invoices: 3</li><li>Inbox: 1</li><li>Travel: 1</li></ul>

<strong>Done: 3</strong> · still open: 6 · overdue: 2

<strong>Overdue (2)</strong>
<ul><li><a href="https://app.asana.com/0/0/11">Ancient invoice</a> · Giulia Bianchi · due Thu 1 \
Oct</li><li><a href="https://app.asana.com/0/0/1">Pay invoice #2041</a> · Giulia Bianchi · due \
Wed 25 Nov</li></ul>

<strong>Due in the next 3 days (2)</strong>
<ul><li><a href="https://app.asana.com/0/0/2">Book train to Milan</a> · Giulia Bianchi · due Fri \
27 Nov</li><li><a href="https://app.asana.com/0/0/8">Hotel in Rome</a> · Giulia Bianchi · due \
Mon 30 Nov</li></ul>

<strong>Done this period (3)</strong>
<ul><li><a href="https://app.asana.com/0/0/4">File expenses</a> · Giulia Bianchi</li><li><a \
href="https://app.asana.com/0/0/5">Reply to newsletter</a> · Marco Verdi</li><li><a \
href="https://app.asana.com/0/0/3">Send receipts</a> · Marco Verdi</li></ul>

<strong>Waiting</strong>
Queued, no assistant free (1):
<ul><li><a href="u20">Book flights</a> · no assistant free</li></ul>
Shadow rule "Nudge" would have acted on 2 tasks: turn it on?
<ul><li><a href="u21">Agenda</a></li><li><a href="u22">Brief</a></li></ul>
Shadow rule "Old tasks" would have acted on 1 task: turn it on?
<ul><li><a href="u23">Quote</a></li></ul>

<strong>Taken back (2)</strong>
<ul><li><a href="u30">Client call notes</a> · tag removed (rule "Inbox")</li><li><a \
href="u7">Expense report</a> · reassigned to Anna (rule "Invoices")</li></ul>

<strong>Problems (1)</strong>
<ul><li>rules[3] left out: unknown assistant &#39;gulia&#39;</li></ul>

<strong>Time given back:</strong> about 1 h 15 min (from the &#34;Estimated time&#34; field for \
1 task and rule defaults for 1 task; 1 task without an estimate)
<strong>Covey matrix, open tasks:</strong> do 1 · schedule 2 · delegate 1 · eliminate 1; the \
owner still holds 2 to do or schedule
<strong>Assistants:</strong> Giulia B 5/25, Marco Verdi 1/10
</body>"""


def summary(**changes: object):  # type: ignore[no-untyped-def]
    return build_summary(inputs(**changes))


def digest(tasks: list[object] | None = None, **changes: object):  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 27, 22, 30, tzinfo=ZoneInfo("UTC"))
    if tasks is None:
        tasks = [
            digest_task("1", "New invoice", now - timedelta(hours=2), date(2026, 11, 28)),
            digest_task("2", "Old invoice", now - timedelta(days=3), date(2026, 11, 27)),
            digest_task("4", "Booking", now - timedelta(hours=1), None, client="Fischer"),
        ]
    base = DigestInputs(
        "giulia", "Giulia Bianchi", "Asia/Tokyo", now - timedelta(days=1), now, tasks, 5, 25
    )
    return build_digest(replace(base, **changes))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- golden defaults


def test_the_default_summary() -> None:
    rendered = render_summary(summary())
    assert rendered.title == (
        "Northwind Studio, 20-27 Nov 2026: 5 delegated, 3 done, 2 overdue, 1 waiting, "
        "2 taken back, 1 problem; about 1 h 15 min given back"
    )
    assert rendered.markdown == SUMMARY_MARKDOWN
    assert rendered.html == SUMMARY_HTML
    assert rendered.status_type == "at_risk"
    assert rendered.template_errors == ()
    check_rich_text(rendered.html)


def test_a_quiet_summary_says_so_briefly() -> None:
    quiet = summary(delegations=[], waiting=[], taken_back=[], problems=[], open_tasks=None,
                    assistants=[])  # fmt: skip
    rendered = render_summary(quiet)
    assert rendered.markdown == (
        "**Northwind Studio: 20-27 Nov 2026**\n\n"
        "On track: nothing overdue, nothing waiting, no problems.\n\n"
        "**Delegated: 0**\n\n"
        "**Done: 0** · still open: 0 · overdue: 0\n\n"
        "**Time given back:** not measured\n\n"
        "**Covey matrix:** not available (the tasks could not be read)"
    )
    assert rendered.status_type == "on_track"
    assert rendered.empty
    assert not render_summary(summary()).empty
    check_rich_text(rendered.html)


def test_the_default_digest() -> None:
    rendered = render_digest(digest())
    assert rendered.title == (
        "Giulia Bianchi, Sat 28 Nov: 2 new, 1 due today, 1 overdue, 5 of 25 open"
    )
    assert rendered.markdown == (
        "**Giulia Bianchi: your tasks on Sat 28 Nov**\n\n"
        "5 open, your capacity is 25.\n\n"
        "**New for you (2)**\n"
        "- [New invoice](u1) · Northwind Studio · due Sat 28 Nov\n"
        "  Invoices: money paperwork\n"
        "- [Booking](u4) · Fischer\n"
        "  Invoices: money paperwork\n\n"
        "**Due today (1)**\n"
        "- [New invoice](u1) · Northwind Studio · due Sat 28 Nov\n\n"
        "**Overdue (1)**\n"
        "- [Old invoice](u2) · Northwind Studio · due Fri 27 Nov"
    )
    assert rendered.html == (
        "<body><strong>Giulia Bianchi: your tasks on Sat 28 Nov</strong>\n"
        "5 open, your capacity is 25.\n\n"
        "<strong>New for you (2)</strong>\n"
        '<ul><li><a href="u1">New invoice</a> · Northwind Studio · due Sat 28 Nov: '
        "<em>Invoices</em>: money paperwork</li>"
        '<li><a href="u4">Booking</a> · Fischer: <em>Invoices</em>: money paperwork</li></ul>\n\n'
        "<strong>Due today (1)</strong>\n"
        '<ul><li><a href="u1">New invoice</a> · Northwind Studio · due Sat 28 Nov</li></ul>\n\n'
        "<strong>Overdue (1)</strong>\n"
        '<ul><li><a href="u2">Old invoice</a> · Northwind Studio · due Fri 27 Nov</li></ul>\n'
        "</body>"
    )
    assert rendered.status_type is None


def test_a_digest_for_one_client_does_not_repeat_its_name() -> None:
    now = datetime(2026, 11, 27, 8, tzinfo=ZoneInfo("Europe/Rome"))
    tasks = [digest_task("1", "New invoice", now - timedelta(hours=2), None)]
    rendered = render_digest(digest(tasks, now=now, timezone="Europe/Rome"))
    assert "- [New invoice](u1)\n" in rendered.markdown
    assert "Northwind" not in rendered.markdown


def test_an_empty_digest_and_an_assistant_over_capacity() -> None:
    rendered = render_digest(digest([], load=17, capacity=15))
    assert rendered.markdown == (
        "**Giulia Bianchi: your tasks on Sat 28 Nov**\n\n"
        "17 open, your capacity is 15 (over capacity).\n\n"
        "Nothing new, nothing due today, nothing overdue."
    )
    assert rendered.empty
    assert not render_digest(digest()).empty
    check_rich_text(rendered.html)


# ----------------------------------------------------------------------------- bounds and escaping


def test_long_lists_are_cut_with_a_count_of_the_rest() -> None:
    late = [
        delegation(f"{i:02d}", f"Late task {i:02d}", delegated=at(23), due=date(2026, 11, 1))
        for i in range(17)
    ]
    rendered = render_summary(summary(delegations=late))
    section = rendered.markdown.split("**Overdue (17)**\n")[1].split("\n\n")[0]
    lines = section.splitlines()
    assert len(lines) == 11
    assert lines[0].startswith("- [Late task 00]")
    assert lines[9].startswith("- [Late task 09]")
    assert lines[10] == "- and 7 more"
    assert "<li>and 7 more</li>" in rendered.html


def test_task_names_cannot_break_markdown_or_rich_text() -> None:
    nasty = delegation(
        "1", "<b>& *pay* [now](evil)\n- injected_item", delegated=at(23), due=date(2026, 11, 1)
    )
    rendered = render_summary(summary(delegations=[nasty], waiting=[], taken_back=[]))
    assert (
        "- [\\<b\\>& \\*pay\\* \\[now\\](evil) - injected\\_item](https://app.asana.com/0/0/1)"
        in rendered.markdown
    )
    assert "\n- injected" not in rendered.markdown
    assert (
        '<a href="https://app.asana.com/0/0/1">&lt;b&gt;&amp; *pay* [now](evil) - injected_item</a>'
        in rendered.html
    )
    check_rich_text(rendered.html)  # still one well-formed <body> Asana accepts


def test_urls_are_escaped_in_links() -> None:
    odd = replace(DELEGATIONS[0], url='https://x.example/a b)"<c>')
    rendered = render_summary(summary(delegations=[odd]))
    assert "(https://x.example/a%20b%29%22%3Cc%3E)" in rendered.markdown
    assert 'href="https://x.example/a b)&#34;&lt;c&gt;"' in rendered.html
    check_rich_text(rendered.html)


def test_problems_and_reasons_are_text_too() -> None:
    problem = Problem("cycle", "</li></ul><h1>boom</h1> & more")
    shadow = WaitingTask("9", "T", "u9", 'Rule "<x>"', "shadow", "why", at(25))
    rendered = render_summary(summary(problems=[problem], waiting=[shadow]))
    assert "&lt;/li&gt;&lt;/ul&gt;&lt;h1&gt;boom&lt;/h1&gt; &amp; more" in rendered.html
    assert 'Shadow rule "Rule &#34;&lt;x&gt;&#34;" would' in rendered.html
    check_rich_text(rendered.html)


def test_escape_markdown() -> None:
    assert escape_markdown("a_b *c* [d] `e` <f> ~g~ |h| \\i") == (
        "a\\_b \\*c\\* \\[d\\] \\`e\\` \\<f\\> \\~g\\~ \\|h\\| \\\\i"
    )


# ----------------------------------------------------------------------------- overrides


def test_overrides_replace_only_the_parts_they_name() -> None:
    templates = MessageTemplates(
        title="Week {{ summary.period_text }}: {{ summary.done|length }} done",
        markdown=(
            "{% for t in shown(summary.overdue) %}LATE {{ link(t) }} {{ t.assistant_name }}\n"
            "{% endfor %}Given back: {{ duration(summary.time_given_back.minutes) }}"
        ),
    )
    rendered = render_summary(summary(), templates)
    assert rendered.title == "Week 20-27 Nov 2026: 3 done"
    assert rendered.markdown == (
        "LATE [Ancient invoice](https://app.asana.com/0/0/11) Giulia Bianchi\n"
        "LATE [Pay invoice #2041](https://app.asana.com/0/0/1) Giulia Bianchi\n"
        "Given back: 1 h 15 min"
    )
    assert rendered.html == SUMMARY_HTML  # no asana override: the default
    assert rendered.template_errors == ()


def test_an_asana_override_is_escaped_and_wrapped_in_body() -> None:
    nasty = delegation("1", "<b>&", delegated=at(23), due=date(2026, 11, 1))
    templates = MessageTemplates(
        asana="<strong>{{ status(summary.status_type) }}</strong> "
        "{% for t in summary.overdue %}{{ link(t) }} {{ t.name }}{% endfor %}"
    )
    rendered = render_summary(summary(delegations=[nasty]), templates)
    assert rendered.html == (
        '<body><strong>At risk</strong> <a href="https://app.asana.com/0/0/1">&lt;b&gt;&amp;</a> '
        "&lt;b&gt;&amp;</body>"
    )


def test_digest_overrides() -> None:
    templates = MessageTemplates(
        title="{{ digest.name }}: {{ plural(digest.new|length, 'new task') }}",
        markdown="{% for t in digest.new %}* {{ task(t, client=true) }}\n{% endfor %}",
    )
    rendered = render_digest(digest(), templates)
    assert rendered.title == "Giulia Bianchi: 2 new tasks"
    assert rendered.markdown == (
        "* [New invoice](u1) · Northwind Studio · due Sat 28 Nov\n* [Booking](u4) · Fischer"
    )


def test_a_title_is_one_short_line() -> None:
    templates = MessageTemplates(title="Line one\nline two {{ 'x' * 300 }}")
    title = render_summary(summary(), templates).title
    assert "\n" not in title
    assert title.startswith("Line one line two xxx")
    assert len(title) == 150
    assert title.endswith("…")


@pytest.mark.parametrize(
    ("part", "source", "reason"),
    [
        ("markdown", "{% for x in summary.done|length %}{% endfor %}", "not iterable"),
        ("markdown", "{{ summary.client + 1 }}", "can only concatenate str"),
        ("title", "{{ nosuch }}", "unknown variable 'nosuch'"),
        ("asana", "<h1>{{ summary.client }}</h1>", "Asana does not accept <h1>"),
        ("asana", "<strong>{{ summary.client }}", "not well-formed"),
        ("asana", '<strong class="x">hi</strong>', "attribute class on <strong>"),
        ("asana", "<!DOCTYPE x><body/>", "declarations"),
    ],
)
def test_a_failing_override_falls_back_to_the_default_and_says_why(
    part: str, source: str, reason: str
) -> None:
    rendered = render_summary(summary(), MessageTemplates(**{part: source}))
    default = render_summary(summary())
    assert rendered == replace(default, template_errors=rendered.template_errors)
    [error] = rendered.template_errors
    assert error.startswith(f"the summary's {part} template failed (")
    assert reason in error
    assert error.endswith("); the default was used")


# ----------------------------------------------------------------------------- the sandbox


def test_templates_cannot_reach_python_internals() -> None:
    # Attribute escapes render as nothing; calling what they would return is refused.
    harmless = MessageTemplates(
        markdown="[{{ ''.__class__ }}{{ link.__globals__ }}{{ shown.__code__ }}]"
    )
    assert render_summary(summary(), harmless).markdown == "[]"
    refused = MessageTemplates(
        markdown="{{ ''.__class__.__mro__[1].__subclasses__() }}",
        title="{{ plural.__globals__['__builtins__']['open']('/etc/passwd').read() }}",
    )
    rendered = render_summary(summary(), refused)
    assert rendered.markdown == SUMMARY_MARKDOWN
    assert "root" not in rendered.title
    assert len(rendered.template_errors) == 2


def test_unsafe_fields_of_the_summary_are_refused_when_checked() -> None:
    with pytest.raises(TemplateError, match=r"unknown field 'summary\.__class__'"):
        compile_message_template("{{ summary.__class__ }}", "summary", "markdown")


def test_compile_names_the_line_and_suggests_fields() -> None:
    with pytest.raises(
        TemplateError, match=r"unknown field 'summary.overdeu' \(did you mean 'overdue'\?\)"
    ) as caught:
        compile_message_template("ok\n{{ summary.overdeu }}", "summary", "markdown")
    assert caught.value.line == 2
    with pytest.raises(TemplateError, match=r"unknown variable 'summary'.*available: digest"):
        compile_message_template("{{ summary.client }}", "digest", "title")
    with pytest.raises(TemplateError, match="No filter named 'nosuch'"):
        compile_message_template("{{ digest.name|nosuch }}", "digest", "asana")
    with pytest.raises(TemplateError, match="Unexpected end of template") as caught:
        compile_message_template("a\nb\n{% if digest.empty %}", "digest", "markdown")
    assert caught.value.line == 3


def test_the_defaults_compile_and_use_only_documented_names() -> None:
    for kind, parts in DEFAULTS.items():
        for part, source in parts.items():
            compile_message_template(source, kind, part)  # type: ignore[arg-type]
    names = template_variables("summary")
    assert {"summary", "link", "task", "shown", "more", "limit", "day", "duration"} <= set(names)
    assert "overdue" in names["summary"]
    assert "digest" in template_variables("digest")
    assert "summary" not in template_variables("digest")


@pytest.mark.parametrize(
    "html",
    [
        "<body>plain</body>",
        '<body><a href="https://x">x</a> <a data-asana-gid="1"/></body>',
        "<body>" + "".join(f"<{t}>x</{t}>" for t in sorted(RICH_TEXT_TAGS - {"body"})) + "</body>",
    ],
)
def test_rich_text_that_asana_accepts(html: str) -> None:
    check_rich_text(html)


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("plain", "not well-formed"),
        ("<p>x</p>", "must be one <body>"),
        ("<body><p>x</p></body>", "does not accept <p>"),
        ('<body><a onclick="x">x</a></body>', "attribute onclick on <a>"),
        ("<body>&nbsp;</body>", "not well-formed"),
    ],
)
def test_rich_text_that_asana_would_refuse(html: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_rich_text(html)


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 10**9 }}",
        "{{ [summary.client] * 10**9 }}",
        "{{ 10**9 * 'x' }}",
        "{{ ((10**64)**64)**64 }}",
        "{{ 2**100000 }}",
    ],
)
def test_a_template_cannot_exhaust_memory_or_time(source: str) -> None:
    rendered = render_summary(summary(), MessageTemplates(title=source))
    assert rendered.title == render_summary(summary()).title
    [error] = rendered.template_errors
    assert "too large" in error or "longer than 100000" in error


def test_small_arithmetic_still_works() -> None:
    templates = MessageTemplates(title="{{ '=' * 3 }} {{ 2 ** 10 }} {{ summary.done|length * 60 }}")
    assert render_summary(summary(), templates).title == "=== 1024 180"
