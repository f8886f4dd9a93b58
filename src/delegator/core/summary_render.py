"""Summaries and digests as text: a title, Markdown (Slack, email) and Asana rich text.

The default texts are Jinja2 templates like the ones a client may write in the rule file, so an
override can do everything a default does: the same variables, the same helpers, the same sandbox
(``core.templates``). Task names are the client's text, never markup: every value a template
prints is escaped for its format (Markdown escapes, HTML entities), and the helpers that make
links return text already safe for that format.

A client's template that fails while rendering (a loop over a number, a refused attribute, rich
text Asana would reject) does not lose the message: that part falls back to the default and the
reason is returned in ``Rendered.template_errors`` for the caller to report. A default that fails
is a bug and raises.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from urllib.parse import quote

import jinja2
from jinja2 import nodes
from markupsafe import Markup, escape

from delegator.core.schema import MessageTemplates
from delegator.core.suggest import did_you_mean
from delegator.core.summary import (
    AssistantDigest,
    ClientSummary,
    StatusType,
    day_text,
    duration_text,
    plural,
)
from delegator.core.templates import Template, TemplateError, compile_template, sandbox

Kind = Literal["summary", "digest"]
Part = Literal["title", "markdown", "asana"]
PARTS: tuple[Part, ...] = ("title", "markdown", "asana")
SHOWN_PER_SECTION = 10  # longer lists end with "and N more"
TITLE_LENGTH = 150

# Tags Asana accepts in html_text (stories and status updates); only <a> takes attributes.
RICH_TEXT_TAGS = frozenset({"body", "strong", "em", "u", "s", "code", "ol", "ul", "li", "a"})
_LINK_ATTRIBUTES = re.compile(r"^(href|data-asana-[a-z-]+)$")

_STATUS_WORDS: dict[str, str] = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message in every format a destination needs."""

    title: str  # one line: email subject, status update and task title
    markdown: str  # Slack and email
    html: str  # Asana rich text: <body>...</body>
    status_type: StatusType | None  # for an Asana status update; None for a digest
    template_errors: tuple[str, ...] = ()  # client templates that failed: defaults were used
    empty: bool = False  # nothing to report: a digest with nothing new or due, a quiet summary


# ----------------------------------------------------------------------------- escaping


class MarkdownText(str):
    """Text already safe in Markdown (a link a helper made): printed as it is."""

    __slots__ = ()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~|])")
_SPACES = re.compile(r"\s+")


def one_line(text: str) -> str:
    """Client text on one line: a newline in a task name must not start a list item."""
    return _SPACES.sub(" ", text)


def escape_markdown(text: str) -> str:
    """Text that Markdown shows as written: ``Pay *now* [x]`` stays literal."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))


def _markdown_url(url: str) -> str:
    return quote(url, safe=":/?#&=%+@!$,;~*'")


def _markdown_out(value: Any) -> Any:
    if isinstance(value, MarkdownText):
        return value
    if isinstance(value, str):
        return escape_markdown(value)
    return value


def _html_out(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return one_line(value)
    return value


def _plain_out(value: Any) -> Any:
    return one_line(value) if isinstance(value, str) else value


Format = Literal["plain", "markdown", "html"]
_ENVIRONMENTS = {
    "plain": sandbox(finalize=_plain_out),
    "markdown": sandbox(finalize=_markdown_out),
    "html": sandbox(autoescape=True, finalize=_html_out),
}
_PART_FORMAT: dict[Part, Format] = {"title": "plain", "markdown": "markdown", "asana": "html"}


# ----------------------------------------------------------------------------- helpers


def _link(fmt: Format) -> Callable[[Any], str]:
    def link(item: Any) -> str:
        name = one_line(str(getattr(item, "name", item))).strip()
        url = str(getattr(item, "url", "") or "")
        if fmt == "markdown":
            if not url:
                return MarkdownText(escape_markdown(name))
            return MarkdownText(f"[{escape_markdown(name)}]({_markdown_url(url)})")
        if fmt == "html":
            if not url:
                return escape(name)
            return Markup('<a href="{}">{}</a>').format(url, name)
        return name

    return link


def _details(item: Any, *, assistant: bool, client: bool) -> list[str]:
    parts = []
    if assistant and getattr(item, "assistant_name", None):
        parts.append(str(item.assistant_name))
    if client and getattr(item, "client", None):
        parts.append(str(item.client))
    due = getattr(item, "due_on", None)
    if isinstance(due, date):
        parts.append(f"due {day_text(due)}")
    return parts


def _task(fmt: Format) -> Callable[..., str]:
    link = _link(fmt)

    def task(item: Any, assistant: bool = True, client: bool = False) -> str:
        """A task as one line: its link, then who has it, the client and the due date."""
        details = _details(item, assistant=assistant, client=client)
        if fmt == "markdown":
            return MarkdownText(" · ".join([link(item), *map(escape_markdown, details)]))
        if fmt == "html":
            return Markup(" · ").join([link(item), *details])
        return " · ".join([link(item), *details])

    return task


def _shown(items: Sequence[Any]) -> Sequence[Any]:
    return items[:SHOWN_PER_SECTION]


def _more(items: Sequence[Any]) -> str:
    hidden = len(items) - SHOWN_PER_SECTION
    return f"and {hidden} more" if hidden > 0 else ""


def _counts(counts: Sequence[Any]) -> str:
    return ", ".join(f"{c.name} {c.count}" for c in counts)


def _status(status_type: str) -> str:
    return _STATUS_WORDS.get(status_type, status_type)


def _day(day: date | None) -> str:
    return day_text(day) if isinstance(day, date) else ""


def _duration(minutes: int) -> str:
    return duration_text(int(minutes))


def _helpers(fmt: Format) -> dict[str, Any]:
    return {
        "link": _link(fmt),
        "task": _task(fmt),
        "shown": _shown,
        "more": _more,
        "limit": SHOWN_PER_SECTION,
        "counts": _counts,
        "status": _status,
        "day": _day,
        "duration": _duration,
        "plural": plural,
    }


_HELPER_DOCS: dict[str, str] = {
    "link": "link(t): a task's name linking to it (its permalink_url), escaped for the format",
    "task": "task(t, assistant=true, client=false): link, assistant, client and due date on one "
    "line",
    "shown": f"shown(items): the first {SHOWN_PER_SECTION} items of a list",
    "more": 'more(items): "and N more" when a list is longer than shown(), else nothing',
    "limit": f"how many items shown() keeps ({SHOWN_PER_SECTION})",
    "counts": 'counts(summary.by_assistant): "Giulia Bianchi 3, Marco Verdi 2"',
    "status": 'status(summary.status_type): "On track", "At risk" or "Off track"',
    "day": 'day(date): "Fri 27 Nov"',
    "duration": 'duration(minutes): "3 h 20 min"',
    "plural": 'plural(n, "task"): "1 task", "3 tasks"',
}


def _fields(cls: type) -> tuple[str, ...]:
    names = [f.name for f in dataclasses.fields(cls)]
    names += [n for n, v in vars(cls).items() if isinstance(v, property)]
    return tuple(names)


_SUBJECTS: dict[Kind, tuple[str, type, str]] = {
    "summary": ("summary", ClientSummary, "the client summary: sections, counts and status"),
    "digest": (
        "digest",
        AssistantDigest,
        "the assistant's digest: new, due today, overdue, about to be late",
    ),
}


def template_variables(kind: Kind = "summary") -> Mapping[str, str]:
    """The names a summary (or digest) template may use, each with what it is."""
    name, cls, what = _SUBJECTS[kind]
    return {name: f"{what}; fields: {', '.join(_fields(cls))}", **_HELPER_DOCS}


# ----------------------------------------------------------------------------- templates


def compile_message_template(source: str, kind: Kind, part: Part) -> Template:
    """Check a summary or digest template; TemplateError names the template line."""
    variables = template_variables(kind)
    template = compile_template(
        source, tuple(variables), environment=_ENVIRONMENTS[_PART_FORMAT[part]]
    )
    subject, cls, _ = _SUBJECTS[kind]
    fields = _fields(cls)
    tree = _ENVIRONMENTS["plain"].parse(source)
    for node in tree.find_all(nodes.Getattr):
        if (
            isinstance(node.node, nodes.Name)
            and node.node.name == subject
            and (node.attr not in fields)
        ):
            raise TemplateError(
                f"template uses unknown field '{subject}.{node.attr}'"
                f"{did_you_mean(node.attr, fields)} (fields: {', '.join(fields)})",
                node.lineno,
            )
    return template


@functools.lru_cache(maxsize=128)
def _compiled(source: str, kind: Kind, part: Part) -> jinja2.Template:
    """A checked template, compiled once: the defaults and a client's overrides are reused."""
    compile_message_template(source, kind, part)
    return _ENVIRONMENTS[_PART_FORMAT[part]].from_string(source)


def _render_part(source: str, kind: Kind, part: Part, subject: object) -> str:
    fmt = _PART_FORMAT[part]
    context = {_SUBJECTS[kind][0]: subject, **_helpers(fmt)}
    text = _compiled(source, kind, part).render(**context).strip()
    if part == "title":
        return _clip(one_line(text).strip())
    text = "\n".join(line.rstrip() for line in text.splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if part == "asana":
        if not text.startswith("<body>"):
            text = f"<body>{text}</body>"
        check_rich_text(text)
    return text


def _clip(title: str) -> str:
    return title if len(title) <= TITLE_LENGTH else title[: TITLE_LENGTH - 1].rstrip() + "…"


def check_rich_text(html: str) -> None:
    """Refuse what Asana would reject with a 400: invalid XML, other tags, stray attributes."""
    if "<!" in html or "<?" in html:
        raise ValueError("rich text cannot contain <! or <? declarations")
    try:
        # Client text, but no DOCTYPE or entity declaration can reach the parser (refused above).
        root = ElementTree.fromstring(html)  # noqa: S314
    except ElementTree.ParseError as exc:
        raise ValueError(f"rich text is not well-formed XML ({exc})") from None
    if root.tag != "body":
        raise ValueError("rich text must be one <body>...</body>")
    for element in root.iter():
        if element.tag not in RICH_TEXT_TAGS:
            allowed = ", ".join(f"<{t}>" for t in sorted(RICH_TEXT_TAGS))
            raise ValueError(f"Asana does not accept <{element.tag}> (only {allowed})")
        for attribute in element.attrib:
            if element.tag != "a" or not _LINK_ATTRIBUTES.match(attribute):
                raise ValueError(
                    f"Asana does not accept the attribute {attribute} on <{element.tag}>"
                )


def _render(
    kind: Kind,
    subject: object,
    templates: MessageTemplates | None,
    status: StatusType | None,
    empty: bool,
) -> Rendered:
    texts: dict[Part, str] = {}
    errors: list[str] = []
    for part in PARTS:
        override = getattr(templates, part, None) if templates is not None else None
        if override is not None:
            try:
                texts[part] = _render_part(override, kind, part, subject)
                continue
            except Exception as exc:  # any failure of client text falls back to the default
                errors.append(
                    f"the {kind}'s {part} template failed ({_reason(exc)}); the default was used"
                )
        texts[part] = _render_part(DEFAULTS[kind][part], kind, part, subject)
    return Rendered(texts["title"], texts["markdown"], texts["asana"], status, tuple(errors), empty)


def _reason(exc: Exception) -> str:
    if isinstance(exc, TemplateError):
        return f"{exc} at template line {exc.line}"
    return one_line(str(exc)) or type(exc).__name__


def render_summary(summary: ClientSummary, templates: MessageTemplates | None = None) -> Rendered:
    """A client summary as title, Markdown and Asana rich text, with its status type."""
    return _render("summary", summary, templates, summary.status_type, summary.quiet)


def render_digest(digest: AssistantDigest, templates: MessageTemplates | None = None) -> Rendered:
    """An assistant's digest as title, Markdown and Asana rich text."""
    return _render("digest", digest, templates, None, digest.empty)


# ----------------------------------------------------------------------------- the defaults

SUMMARY_TITLE = "{{ summary.headline }}"

SUMMARY_MARKDOWN = """\
**{{ summary.client }}: {{ summary.period_text }}**

{{ status(summary.status_type) }}: {{ summary.status_reason }}.

**Delegated: {{ summary.delegated|length }}**{{ " (" ~ counts(summary.by_assistant) ~ ")" if summary.by_assistant }}
{% for c in summary.by_rule %}
- {{ c.name }}: {{ c.count }}
{% endfor %}

**Done: {{ summary.done|length }}** · still open: {{ summary.still_open|length }} · overdue: {{ summary.overdue|length }}
{% if summary.overdue %}

**Overdue ({{ summary.overdue|length }})**
{% for t in shown(summary.overdue) %}
- {{ task(t) }}
{% endfor %}
{% if more(summary.overdue) %}
- {{ more(summary.overdue) }}
{% endif %}
{% endif %}
{% if summary.due_soon %}

**Due in the next {{ plural(summary.due_soon_days, "day") }} ({{ summary.due_soon|length }})**
{% for t in shown(summary.due_soon) %}
- {{ task(t) }}
{% endfor %}
{% if more(summary.due_soon) %}
- {{ more(summary.due_soon) }}
{% endif %}
{% endif %}
{% if summary.done %}

**Done this period ({{ summary.done|length }})**
{% for t in shown(summary.done) %}
- {{ task(t) }}
{% endfor %}
{% if more(summary.done) %}
- {{ more(summary.done) }}
{% endif %}
{% endif %}
{% if summary.queued or summary.shadow %}

**Waiting**
{% if summary.queued %}
Queued, no assistant free ({{ summary.queued|length }}):
{% for t in shown(summary.queued) %}
- {{ task(t) }} · {{ t.reason }}
{% endfor %}
{% if more(summary.queued) %}
- {{ more(summary.queued) }}
{% endif %}
{% endif %}
{% for s in summary.shadow %}

Shadow rule "{{ s.rule }}" would have acted on {{ plural(s.count, "task") }}: turn it on?
{% for t in shown(s.tasks) %}
- {{ task(t) }}
{% endfor %}
{% if more(s.tasks) %}
- {{ more(s.tasks) }}
{% endif %}
{% endfor %}
{% endif %}
{% if summary.taken_back %}

**Taken back ({{ summary.taken_back|length }})**
{% for t in shown(summary.taken_back) %}
- {{ task(t) }} · {{ t.reason }} (rule "{{ t.rule }}")
{% endfor %}
{% if more(summary.taken_back) %}
- {{ more(summary.taken_back) }}
{% endif %}
{% endif %}
{% if summary.missed %}

**Missed expectations ({{ summary.missed|length }})**
{% for t in shown(summary.missed) %}
- {{ task(t) }} · not {{ t.stage }} in time (rule "{{ t.rule }}"){{ ", escalated to " ~ t.to if t.to }}
{% endfor %}
{% if more(summary.missed) %}
- {{ more(summary.missed) }}
{% endif %}
{% endif %}
{% if summary.reassigned %}

**Reassigned after a second miss ({{ summary.reassigned|length }})**
{% for t in shown(summary.reassigned) %}
- {{ task(t) }}{{ " → " ~ t.to if t.to }} (rule "{{ t.rule }}")
{% endfor %}
{% if more(summary.reassigned) %}
- {{ more(summary.reassigned) }}
{% endif %}
{% endif %}
{% if summary.bounced %}

**Bounced: "not for me"**
{% for b in summary.bounced %}
- {{ plural(b.count, "task") }} from rule "{{ b.rule }}" bounced: {% for t in shown(b.tasks) %}"{{ link(t) }}"{{ " (" ~ t.reason ~ ")" if t.reason }}{{ ", " if not loop.last }}{% endfor %}{{ ", " ~ more(b.tasks) if more(b.tasks) }}; refine the rule?
{% endfor %}
{% endif %}
{% if summary.reminders %}

**Reminders sent:** {{ summary.reminders }}
{% endif %}
{% if summary.problems %}

**Problems ({{ summary.problems|length }})**
{% for p in shown(summary.problems) %}
- {{ p.text }}
{% endfor %}
{% if more(summary.problems) %}
- {{ more(summary.problems) }}
{% endif %}
{% endif %}

**Time given back:** {{ summary.time_given_back.text }}{{ " (" ~ summary.time_given_back.source ~ ")" if summary.time_given_back.source }}

{% if summary.matrix %}
**Covey matrix, open tasks:** do {{ summary.matrix.do }} · schedule {{ summary.matrix.schedule }} · delegate {{ summary.matrix.delegate }} · eliminate {{ summary.matrix.eliminate }}; the owner still holds {{ summary.matrix.held_by_owner }} to do or schedule
{% else %}
**Covey matrix:** not available (the tasks could not be read)
{% endif %}
{% if summary.assistants %}

**Assistants:** {% for a in summary.assistants %}{{ a.name }} {{ a.open }}/{{ a.capacity }}{{ ", " if not loop.last }}{% endfor %}

{% endif %}
"""

SUMMARY_ASANA = """\
<body><strong>{{ summary.client }}: {{ summary.period_text }}</strong>
{{ status(summary.status_type) }}: {{ summary.status_reason }}.

<strong>Delegated: {{ summary.delegated|length }}</strong>{{ " (" ~ counts(summary.by_assistant) ~ ")" if summary.by_assistant }}
{% if summary.by_rule %}
<ul>{% for c in summary.by_rule %}<li>{{ c.name }}: {{ c.count }}</li>{% endfor %}</ul>
{% endif %}

<strong>Done: {{ summary.done|length }}</strong> · still open: {{ summary.still_open|length }} · overdue: {{ summary.overdue|length }}
{% if summary.overdue %}

<strong>Overdue ({{ summary.overdue|length }})</strong>
<ul>{% for t in shown(summary.overdue) %}<li>{{ task(t) }}</li>{% endfor %}{% if more(summary.overdue) %}<li>{{ more(summary.overdue) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.due_soon %}

<strong>Due in the next {{ plural(summary.due_soon_days, "day") }} ({{ summary.due_soon|length }})</strong>
<ul>{% for t in shown(summary.due_soon) %}<li>{{ task(t) }}</li>{% endfor %}{% if more(summary.due_soon) %}<li>{{ more(summary.due_soon) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.done %}

<strong>Done this period ({{ summary.done|length }})</strong>
<ul>{% for t in shown(summary.done) %}<li>{{ task(t) }}</li>{% endfor %}{% if more(summary.done) %}<li>{{ more(summary.done) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.queued or summary.shadow %}

<strong>Waiting</strong>
{% if summary.queued %}
Queued, no assistant free ({{ summary.queued|length }}):
<ul>{% for t in shown(summary.queued) %}<li>{{ task(t) }} · {{ t.reason }}</li>{% endfor %}{% if more(summary.queued) %}<li>{{ more(summary.queued) }}</li>{% endif %}</ul>
{% endif %}
{% for s in summary.shadow %}
Shadow rule "{{ s.rule }}" would have acted on {{ plural(s.count, "task") }}: turn it on?
<ul>{% for t in shown(s.tasks) %}<li>{{ task(t) }}</li>{% endfor %}{% if more(s.tasks) %}<li>{{ more(s.tasks) }}</li>{% endif %}</ul>
{% endfor %}
{% endif %}
{% if summary.taken_back %}

<strong>Taken back ({{ summary.taken_back|length }})</strong>
<ul>{% for t in shown(summary.taken_back) %}<li>{{ task(t) }} · {{ t.reason }} (rule "{{ t.rule }}")</li>{% endfor %}{% if more(summary.taken_back) %}<li>{{ more(summary.taken_back) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.missed %}

<strong>Missed expectations ({{ summary.missed|length }})</strong>
<ul>{% for t in shown(summary.missed) %}<li>{{ task(t) }} · not {{ t.stage }} in time (rule "{{ t.rule }}"){{ ", escalated to " ~ t.to if t.to }}</li>{% endfor %}{% if more(summary.missed) %}<li>{{ more(summary.missed) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.reassigned %}

<strong>Reassigned after a second miss ({{ summary.reassigned|length }})</strong>
<ul>{% for t in shown(summary.reassigned) %}<li>{{ task(t) }}{{ " → " ~ t.to if t.to }} (rule "{{ t.rule }}")</li>{% endfor %}{% if more(summary.reassigned) %}<li>{{ more(summary.reassigned) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.bounced %}

<strong>Bounced: "not for me"</strong>
<ul>{% for b in summary.bounced %}<li>{{ plural(b.count, "task") }} from rule "{{ b.rule }}" bounced: {% for t in shown(b.tasks) %}"{{ link(t) }}"{{ " (" ~ t.reason ~ ")" if t.reason }}{{ ", " if not loop.last }}{% endfor %}{{ ", " ~ more(b.tasks) if more(b.tasks) }}; refine the rule?</li>{% endfor %}</ul>
{% endif %}
{% if summary.reminders %}

<strong>Reminders sent:</strong> {{ summary.reminders }}
{% endif %}
{% if summary.problems %}

<strong>Problems ({{ summary.problems|length }})</strong>
<ul>{% for p in shown(summary.problems) %}<li>{{ p.text }}</li>{% endfor %}{% if more(summary.problems) %}<li>{{ more(summary.problems) }}</li>{% endif %}</ul>
{% endif %}

<strong>Time given back:</strong> {{ summary.time_given_back.text }}{{ " (" ~ summary.time_given_back.source ~ ")" if summary.time_given_back.source }}
{% if summary.matrix %}
<strong>Covey matrix, open tasks:</strong> do {{ summary.matrix.do }} · schedule {{ summary.matrix.schedule }} · delegate {{ summary.matrix.delegate }} · eliminate {{ summary.matrix.eliminate }}; the owner still holds {{ summary.matrix.held_by_owner }} to do or schedule
{% else %}
<strong>Covey matrix:</strong> not available (the tasks could not be read)
{% endif %}
{% if summary.assistants %}
<strong>Assistants:</strong> {% for a in summary.assistants %}{{ a.name }} {{ a.open }}/{{ a.capacity }}{{ ", " if not loop.last }}{% endfor %}

{% endif %}
</body>"""

DIGEST_TITLE = "{{ digest.headline }}"

DIGEST_MARKDOWN = """\
**{{ digest.name }}: your tasks on {{ day(digest.today) }}**

{{ digest.load }} open, your capacity is {{ digest.capacity }}{{ " (over capacity)" if digest.over_capacity }}.
{% if digest.empty %}

Nothing new, nothing due today, nothing overdue.
{% endif %}
{% if digest.about_to_be_late %}

**About to be late ({{ digest.about_to_be_late|length }})**
{% for t in shown(digest.about_to_be_late) %}
- {{ task(t, client=digest.clients|length > 1) }} · {{ t.what }} by {{ t.by }}
{% endfor %}
{% if more(digest.about_to_be_late) %}
- {{ more(digest.about_to_be_late) }}
{% endif %}
{% endif %}
{% if digest.new %}

**New for you ({{ digest.new|length }})**
{% for t in shown(digest.new) %}
- {{ task(t, client=digest.clients|length > 1) }}
  {{ t.rule }}{{ (": " ~ t.reason) if t.reason else "" }}
{% endfor %}
{% if more(digest.new) %}
- {{ more(digest.new) }}
{% endif %}
{% endif %}
{% if digest.due_today %}

**Due today ({{ digest.due_today|length }})**
{% for t in shown(digest.due_today) %}
- {{ task(t, client=digest.clients|length > 1) }}
{% endfor %}
{% if more(digest.due_today) %}
- {{ more(digest.due_today) }}
{% endif %}
{% endif %}
{% if digest.overdue %}

**Overdue ({{ digest.overdue|length }})**
{% for t in shown(digest.overdue) %}
- {{ task(t, client=digest.clients|length > 1) }}
{% endfor %}
{% if more(digest.overdue) %}
- {{ more(digest.overdue) }}
{% endif %}
{% endif %}
"""

DIGEST_ASANA = """\
<body><strong>{{ digest.name }}: your tasks on {{ day(digest.today) }}</strong>
{{ digest.load }} open, your capacity is {{ digest.capacity }}{{ " (over capacity)" if digest.over_capacity }}.
{% if digest.empty %}
Nothing new, nothing due today, nothing overdue.
{% endif %}
{% if digest.about_to_be_late %}

<strong>About to be late ({{ digest.about_to_be_late|length }})</strong>
<ul>{% for t in shown(digest.about_to_be_late) %}<li>{{ task(t, client=digest.clients|length > 1) }} · {{ t.what }} by {{ t.by }}</li>{% endfor %}{% if more(digest.about_to_be_late) %}<li>{{ more(digest.about_to_be_late) }}</li>{% endif %}</ul>
{% endif %}
{% if digest.new %}

<strong>New for you ({{ digest.new|length }})</strong>
<ul>{% for t in shown(digest.new) %}<li>{{ task(t, client=digest.clients|length > 1) }}: <em>{{ t.rule }}</em>{% if t.reason %}: {{ t.reason }}{% endif %}</li>{% endfor %}{% if more(digest.new) %}<li>{{ more(digest.new) }}</li>{% endif %}</ul>
{% endif %}
{% if digest.due_today %}

<strong>Due today ({{ digest.due_today|length }})</strong>
<ul>{% for t in shown(digest.due_today) %}<li>{{ task(t, client=digest.clients|length > 1) }}</li>{% endfor %}{% if more(digest.due_today) %}<li>{{ more(digest.due_today) }}</li>{% endif %}</ul>
{% endif %}
{% if digest.overdue %}

<strong>Overdue ({{ digest.overdue|length }})</strong>
<ul>{% for t in shown(digest.overdue) %}<li>{{ task(t, client=digest.clients|length > 1) }}</li>{% endfor %}{% if more(digest.overdue) %}<li>{{ more(digest.overdue) }}</li>{% endif %}</ul>
{% endif %}
</body>"""

DEFAULTS: dict[Kind, dict[Part, str]] = {
    "summary": {"title": SUMMARY_TITLE, "markdown": SUMMARY_MARKDOWN, "asana": SUMMARY_ASANA},
    "digest": {"title": DIGEST_TITLE, "markdown": DIGEST_MARKDOWN, "asana": DIGEST_ASANA},
}
