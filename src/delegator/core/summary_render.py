"""Summaries and digests as text: a title, Markdown (Slack, email) and Asana rich text.

The default texts are Jinja2 templates like the ones a client may write in the rule file, so an
override can do everything a default does: the same variables, the same helpers, the same sandbox
(``core.templates``). Task names are the client's text, never markup: every value a template
prints is escaped for its format (Markdown escapes, HTML entities), and the helpers that make
links return text already safe for that format.

The defaults are written in every language of ``core.language``: a summary (or digest) is
rendered in its voice (``summary.voice``), the default of each part the client did not override
in that language, and every helper (``day``, ``duration``, ``plural``, ``status``, ``more``...)
speaks it: its words, dates and numbers.

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

from delegator.core.language import ENGLISH, Language, Phrases, Voice
from delegator.core.schema import MessageTemplates
from delegator.core.suggest import did_you_mean
from delegator.core.summary import AssistantDigest, ClientSummary, StatusType, stage_text
from delegator.core.templates import Template, TemplateError, compile_template, sandbox

Kind = Literal["summary", "digest"]
Part = Literal["title", "markdown", "asana"]
PARTS: tuple[Part, ...] = ("title", "markdown", "asana")
SHOWN_PER_SECTION = 10  # longer lists end with "and N more"
TITLE_LENGTH = 150

# Tags Asana accepts in html_text (stories and status updates); only <a> takes attributes.
RICH_TEXT_TAGS = frozenset({"body", "strong", "em", "u", "s", "code", "ol", "ul", "li", "a"})
_LINK_ATTRIBUTES = re.compile(r"^(href|data-asana-[a-z-]+)$")

# The words the helpers write, in every language.
WORDS = Phrases(
    {
        "on_track": {Language.EN: "On track", Language.IT: "In linea"},
        "at_risk": {Language.EN: "At risk", Language.IT: "A rischio"},
        "off_track": {Language.EN: "Off track", Language.IT: "Fuori strada"},
        "due": {Language.EN: "due {day}", Language.IT: "scadenza {day}"},
        "more": {Language.EN: "and {count} more", Language.IT: "e altre {count}"},
    }
)
_STATUS_TYPES = frozenset({"on_track", "at_risk", "off_track"})


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message in every format a destination needs."""

    title: str  # one line: email subject, status update and task title
    markdown: str  # Slack and email
    html: str  # Asana rich text: <body>...</body>
    status_type: StatusType | None  # for an Asana status update; None for a digest
    template_errors: tuple[str, ...] = ()  # client templates that failed: defaults were used
    empty: bool = False  # nothing to report: a digest with nothing new or due, a quiet summary
    language: Language = Language.EN  # of its default texts, and of what a destination adds


# ----------------------------------------------------------------------------- escaping


class MarkdownText(str):
    """Text already safe in Markdown (a link a helper made): printed as it is."""

    __slots__ = ()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~|])")
_SPACES = re.compile(r"\s+")
# Characters XML (so Asana's rich text) cannot hold, nor any reader show: control characters,
# lone surrogates and the two non-characters.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def one_line(text: str) -> str:
    """Client text on one line: a newline in a task name must not start a list item, and a
    control character must not make the rich text invalid."""
    return _SPACES.sub(" ", _UNSHOWABLE.sub("", text))


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


def _details(item: Any, *, assistant: bool, client: bool, voice: Voice) -> list[str]:
    parts = []
    if assistant and getattr(item, "assistant_name", None):
        parts.append(one_line(str(item.assistant_name)))
    if client and getattr(item, "client", None):
        parts.append(one_line(str(item.client)))
    due = getattr(item, "due_on", None)
    if isinstance(due, date):
        parts.append(voice.say(WORDS, "due", day=voice.day(due)))
    return parts


def _task(fmt: Format, voice: Voice) -> Callable[..., str]:
    link = _link(fmt)

    def task(item: Any, assistant: bool = True, client: bool = False) -> str:
        """A task as one line: its link, then who has it, the client and the due date."""
        details = _details(item, assistant=assistant, client=client, voice=voice)
        if fmt == "markdown":
            return MarkdownText(" · ".join([link(item), *map(escape_markdown, details)]))
        if fmt == "html":
            return Markup(" · ").join([link(item), *details])
        return " · ".join([link(item), *details])

    return task


def _shown(items: Sequence[Any]) -> Sequence[Any]:
    return items[:SHOWN_PER_SECTION]


def _number(voice: Voice, value: Any) -> str:
    return voice.number(value) if isinstance(value, int | float) else str(value)


def _helpers(fmt: Format, voice: Voice = ENGLISH) -> dict[str, Any]:
    """The helpers a template calls, writing in the voice's words, dates and numbers."""

    def more(items: Sequence[Any]) -> str:
        hidden = len(items) - SHOWN_PER_SECTION
        return voice.say(WORDS, "more", count=voice.number(hidden)) if hidden > 0 else ""

    def counts(counts: Sequence[Any]) -> str:
        return ", ".join(f"{c.name} {_number(voice, c.count)}" for c in counts)

    def status(status_type: str) -> str:
        return voice.say(WORDS, status_type) if status_type in _STATUS_TYPES else status_type

    def day(day: date | None) -> str:
        return voice.day(day) if isinstance(day, date) else ""

    def duration(minutes: int) -> str:
        return voice.duration(int(minutes))

    def plural(count: int, noun: str, other: str | None = None) -> str:
        """ "3 tasks" (English nouns take an s), or with both forms "3 giorni"."""
        if other is None:
            other = f"{noun}s"
        return voice.count(int(count), str(noun), str(other))

    def stage(name: str) -> str:
        return stage_text(str(name), voice.language)

    def number(value: Any) -> str:
        return _number(voice, value)

    return {
        "link": _link(fmt),
        "task": _task(fmt, voice),
        "shown": _shown,
        "more": more,
        "limit": SHOWN_PER_SECTION,
        "counts": counts,
        "status": status,
        "day": day,
        "duration": duration,
        "plural": plural,
        "stage": stage,
        "number": number,
    }


_HELPER_DOCS: dict[str, str] = {
    "link": "link(t): a task's name linking to it (its permalink_url), escaped for the format",
    "task": "task(t, assistant=true, client=false): link, assistant, client and due date on one "
    "line",
    "shown": f"shown(items): the first {SHOWN_PER_SECTION} items of a list",
    "more": 'more(items): "and N more" when a list is longer than shown(), else nothing',
    "limit": f"how many items shown() keeps ({SHOWN_PER_SECTION})",
    "counts": 'counts(summary.by_assistant): "Giulia Bianchi 3, Marco Verdi 2"',
    "status": 'status(summary.status_type): "On track", "At risk" or "Off track" ("In linea", '
    '"A rischio", "Fuori strada")',
    "day": 'day(date): "Fri 27 Nov" ("ven 27 nov"), in the client\'s locale',
    "duration": 'duration(minutes): "3 h 20 min"',
    "plural": 'plural(n, "task"): "1 task", "3 tasks"; with both forms, plural(n, "giorno", '
    '"giorni"): "1 giorno", "3 giorni"',
    "stage": 'stage(t.stage): a stage done to a task, "acknowledged" ("presa in carico")',
    "number": 'number(n): "1,234" ("1.234"), in the client\'s locale',
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


def _render_part(
    source: str, kind: Kind, part: Part, subject: object, voice: Voice = ENGLISH
) -> str:
    fmt = _PART_FORMAT[part]
    context = {_SUBJECTS[kind][0]: subject, **_helpers(fmt, voice)}
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
    voice: Voice,
) -> Rendered:
    texts: dict[Part, str] = {}
    errors: list[str] = []
    defaults = DEFAULTS_IN[voice.language][kind]
    for part in PARTS:
        override = getattr(templates, part, None) if templates is not None else None
        if override is not None:
            try:
                texts[part] = _render_part(override, kind, part, subject, voice)
                continue
            except Exception as exc:  # any failure of client text falls back to the default
                # For the service's log (the operator's), in English.
                errors.append(
                    f"the {kind}'s {part} template failed ({_reason(exc)}); the default was used"
                )
        texts[part] = _render_part(defaults[part], kind, part, subject, voice)
    return Rendered(
        texts["title"], texts["markdown"], texts["asana"], status, tuple(errors), empty,
        voice.language,
    )  # fmt: skip


def _reason(exc: Exception) -> str:
    if isinstance(exc, TemplateError):
        return f"{exc} at template line {exc.line}"
    return one_line(str(exc)) or type(exc).__name__


def render_summary(summary: ClientSummary, templates: MessageTemplates | None = None) -> Rendered:
    """A client summary as title, Markdown and Asana rich text, with its status type; in the
    summary's voice."""
    return _render("summary", summary, templates, summary.status_type, summary.quiet, summary.voice)


def render_digest(digest: AssistantDigest, templates: MessageTemplates | None = None) -> Rendered:
    """An assistant's digest as title, Markdown and Asana rich text; in the digest's voice."""
    return _render("digest", digest, templates, None, digest.empty, digest.voice)


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
- {{ task(t) }} · not {{ t.stage }} in time (rule "{{ t.rule }}"){{ (", escalated to the owner" if t.to == "owner" else ", escalated to " ~ t.to) if t.to }}
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
<ul>{% for t in shown(summary.missed) %}<li>{{ task(t) }} · not {{ t.stage }} in time (rule "{{ t.rule }}"){{ (", escalated to the owner" if t.to == "owner" else ", escalated to " ~ t.to) if t.to }}</li>{% endfor %}{% if more(summary.missed) %}<li>{{ more(summary.missed) }}</li>{% endif %}</ul>
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

# ----------------------------------------------------------------------------- in Italian
# As an Italian office writes them, not word for word: the same sections, the same helpers.

SUMMARY_MARKDOWN_IT = """\
**{{ summary.client }}: {{ summary.period_text }}**

{{ status(summary.status_type) }}: {{ summary.status_reason }}.

**Attività delegate: {{ number(summary.delegated|length) }}**{{ " (" ~ counts(summary.by_assistant) ~ ")" if summary.by_assistant }}
{% for c in summary.by_rule %}
- {{ c.name }}: {{ number(c.count) }}
{% endfor %}

**Completate: {{ number(summary.done|length) }}** · ancora aperte: {{ number(summary.still_open|length) }} · in ritardo: {{ number(summary.overdue|length) }}
{% if summary.overdue %}

**In ritardo ({{ number(summary.overdue|length) }})**
{% for t in shown(summary.overdue) %}
- {{ task(t) }}
{% endfor %}
{% if more(summary.overdue) %}
- {{ more(summary.overdue) }}
{% endif %}
{% endif %}
{% if summary.due_soon %}

**In scadenza entro {{ plural(summary.due_soon_days, "giorno", "giorni") }} ({{ number(summary.due_soon|length) }})**
{% for t in shown(summary.due_soon) %}
- {{ task(t) }}
{% endfor %}
{% if more(summary.due_soon) %}
- {{ more(summary.due_soon) }}
{% endif %}
{% endif %}
{% if summary.done %}

**Completate nel periodo ({{ number(summary.done|length) }})**
{% for t in shown(summary.done) %}
- {{ task(t) }}
{% endfor %}
{% if more(summary.done) %}
- {{ more(summary.done) }}
{% endif %}
{% endif %}
{% if summary.queued or summary.shadow %}

**In attesa**
{% if summary.queued %}
In coda, nessun assistente libero ({{ number(summary.queued|length) }}):
{% for t in shown(summary.queued) %}
- {{ task(t) }} · {{ t.reason }}
{% endfor %}
{% if more(summary.queued) %}
- {{ more(summary.queued) }}
{% endif %}
{% endif %}
{% for s in summary.shadow %}

La regola in prova "{{ s.rule }}" avrebbe agito su {{ plural(s.count, "attività", "attività") }}: vuoi attivarla?
{% for t in shown(s.tasks) %}
- {{ task(t) }}
{% endfor %}
{% if more(s.tasks) %}
- {{ more(s.tasks) }}
{% endif %}
{% endfor %}
{% endif %}
{% if summary.taken_back %}

**Riprese dal titolare ({{ number(summary.taken_back|length) }})**
{% for t in shown(summary.taken_back) %}
- {{ task(t) }} · {{ t.reason }} (regola "{{ t.rule }}")
{% endfor %}
{% if more(summary.taken_back) %}
- {{ more(summary.taken_back) }}
{% endif %}
{% endif %}
{% if summary.missed %}

**Scadenze mancate ({{ number(summary.missed|length) }})**
{% for t in shown(summary.missed) %}
- {{ task(t) }} · non {{ stage(t.stage) }} in tempo (regola "{{ t.rule }}"){{ (", segnalata al titolare" if t.to == "owner" else ", segnalata a " ~ t.to) if t.to }}
{% endfor %}
{% if more(summary.missed) %}
- {{ more(summary.missed) }}
{% endif %}
{% endif %}
{% if summary.reassigned %}

**Riassegnate dopo una seconda scadenza mancata ({{ number(summary.reassigned|length) }})**
{% for t in shown(summary.reassigned) %}
- {{ task(t) }}{{ " → " ~ t.to if t.to }} (regola "{{ t.rule }}")
{% endfor %}
{% if more(summary.reassigned) %}
- {{ more(summary.reassigned) }}
{% endif %}
{% endif %}
{% if summary.bounced %}

**Respinte: "non è per me"**
{% for b in summary.bounced %}
- Regola "{{ b.rule }}", {{ plural(b.count, "attività respinta", "attività respinte") }}: {% for t in shown(b.tasks) %}"{{ link(t) }}"{{ " (" ~ t.reason ~ ")" if t.reason }}{{ ", " if not loop.last }}{% endfor %}{{ ", " ~ more(b.tasks) if more(b.tasks) }}; da rivedere?
{% endfor %}
{% endif %}
{% if summary.reminders %}

**Solleciti inviati:** {{ number(summary.reminders) }}
{% endif %}
{% if summary.problems %}

**Problemi ({{ number(summary.problems|length) }})**
{% for p in shown(summary.problems) %}
- {{ p.text }}
{% endfor %}
{% if more(summary.problems) %}
- {{ more(summary.problems) }}
{% endif %}
{% endif %}

**Tempo restituito:** {{ summary.time_given_back.text }}{{ " (" ~ summary.time_given_back.source ~ ")" if summary.time_given_back.source }}

{% if summary.matrix %}
**Matrice di Covey, attività aperte:** da fare {{ number(summary.matrix.do) }} · da pianificare {{ number(summary.matrix.schedule) }} · da delegare {{ number(summary.matrix.delegate) }} · da eliminare {{ number(summary.matrix.eliminate) }}; il titolare ne tiene ancora {{ number(summary.matrix.held_by_owner) }} da fare o pianificare
{% else %}
**Matrice di Covey:** non disponibile (impossibile leggere le attività)
{% endif %}
{% if summary.assistants %}

**Assistenti:** {% for a in summary.assistants %}{{ a.name }} {{ number(a.open) }}/{{ number(a.capacity) }}{{ ", " if not loop.last }}{% endfor %}

{% endif %}
"""

SUMMARY_ASANA_IT = """\
<body><strong>{{ summary.client }}: {{ summary.period_text }}</strong>
{{ status(summary.status_type) }}: {{ summary.status_reason }}.

<strong>Attività delegate: {{ number(summary.delegated|length) }}</strong>{{ " (" ~ counts(summary.by_assistant) ~ ")" if summary.by_assistant }}
{% if summary.by_rule %}
<ul>{% for c in summary.by_rule %}<li>{{ c.name }}: {{ number(c.count) }}</li>{% endfor %}</ul>
{% endif %}

<strong>Completate: {{ number(summary.done|length) }}</strong> · ancora aperte: {{ number(summary.still_open|length) }} · in ritardo: {{ number(summary.overdue|length) }}
{% if summary.overdue %}

<strong>In ritardo ({{ number(summary.overdue|length) }})</strong>
<ul>{% for t in shown(summary.overdue) %}<li>{{ task(t) }}</li>{% endfor %}{% if more(summary.overdue) %}<li>{{ more(summary.overdue) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.due_soon %}

<strong>In scadenza entro {{ plural(summary.due_soon_days, "giorno", "giorni") }} ({{ number(summary.due_soon|length) }})</strong>
<ul>{% for t in shown(summary.due_soon) %}<li>{{ task(t) }}</li>{% endfor %}{% if more(summary.due_soon) %}<li>{{ more(summary.due_soon) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.done %}

<strong>Completate nel periodo ({{ number(summary.done|length) }})</strong>
<ul>{% for t in shown(summary.done) %}<li>{{ task(t) }}</li>{% endfor %}{% if more(summary.done) %}<li>{{ more(summary.done) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.queued or summary.shadow %}

<strong>In attesa</strong>
{% if summary.queued %}
In coda, nessun assistente libero ({{ number(summary.queued|length) }}):
<ul>{% for t in shown(summary.queued) %}<li>{{ task(t) }} · {{ t.reason }}</li>{% endfor %}{% if more(summary.queued) %}<li>{{ more(summary.queued) }}</li>{% endif %}</ul>
{% endif %}
{% for s in summary.shadow %}
La regola in prova "{{ s.rule }}" avrebbe agito su {{ plural(s.count, "attività", "attività") }}: vuoi attivarla?
<ul>{% for t in shown(s.tasks) %}<li>{{ task(t) }}</li>{% endfor %}{% if more(s.tasks) %}<li>{{ more(s.tasks) }}</li>{% endif %}</ul>
{% endfor %}
{% endif %}
{% if summary.taken_back %}

<strong>Riprese dal titolare ({{ number(summary.taken_back|length) }})</strong>
<ul>{% for t in shown(summary.taken_back) %}<li>{{ task(t) }} · {{ t.reason }} (regola "{{ t.rule }}")</li>{% endfor %}{% if more(summary.taken_back) %}<li>{{ more(summary.taken_back) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.missed %}

<strong>Scadenze mancate ({{ number(summary.missed|length) }})</strong>
<ul>{% for t in shown(summary.missed) %}<li>{{ task(t) }} · non {{ stage(t.stage) }} in tempo (regola "{{ t.rule }}"){{ (", segnalata al titolare" if t.to == "owner" else ", segnalata a " ~ t.to) if t.to }}</li>{% endfor %}{% if more(summary.missed) %}<li>{{ more(summary.missed) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.reassigned %}

<strong>Riassegnate dopo una seconda scadenza mancata ({{ number(summary.reassigned|length) }})</strong>
<ul>{% for t in shown(summary.reassigned) %}<li>{{ task(t) }}{{ " → " ~ t.to if t.to }} (regola "{{ t.rule }}")</li>{% endfor %}{% if more(summary.reassigned) %}<li>{{ more(summary.reassigned) }}</li>{% endif %}</ul>
{% endif %}
{% if summary.bounced %}

<strong>Respinte: "non è per me"</strong>
<ul>{% for b in summary.bounced %}<li>Regola "{{ b.rule }}", {{ plural(b.count, "attività respinta", "attività respinte") }}: {% for t in shown(b.tasks) %}"{{ link(t) }}"{{ " (" ~ t.reason ~ ")" if t.reason }}{{ ", " if not loop.last }}{% endfor %}{{ ", " ~ more(b.tasks) if more(b.tasks) }}; da rivedere?</li>{% endfor %}</ul>
{% endif %}
{% if summary.reminders %}

<strong>Solleciti inviati:</strong> {{ number(summary.reminders) }}
{% endif %}
{% if summary.problems %}

<strong>Problemi ({{ number(summary.problems|length) }})</strong>
<ul>{% for p in shown(summary.problems) %}<li>{{ p.text }}</li>{% endfor %}{% if more(summary.problems) %}<li>{{ more(summary.problems) }}</li>{% endif %}</ul>
{% endif %}

<strong>Tempo restituito:</strong> {{ summary.time_given_back.text }}{{ " (" ~ summary.time_given_back.source ~ ")" if summary.time_given_back.source }}
{% if summary.matrix %}
<strong>Matrice di Covey, attività aperte:</strong> da fare {{ number(summary.matrix.do) }} · da pianificare {{ number(summary.matrix.schedule) }} · da delegare {{ number(summary.matrix.delegate) }} · da eliminare {{ number(summary.matrix.eliminate) }}; il titolare ne tiene ancora {{ number(summary.matrix.held_by_owner) }} da fare o pianificare
{% else %}
<strong>Matrice di Covey:</strong> non disponibile (impossibile leggere le attività)
{% endif %}
{% if summary.assistants %}
<strong>Assistenti:</strong> {% for a in summary.assistants %}{{ a.name }} {{ number(a.open) }}/{{ number(a.capacity) }}{{ ", " if not loop.last }}{% endfor %}

{% endif %}
</body>"""

DIGEST_MARKDOWN_IT = """\
**{{ digest.name }}: le tue attività, {{ day(digest.today) }}**

Attività aperte: {{ number(digest.load) }} su una capacità di {{ number(digest.capacity) }}{{ " (oltre la capacità)" if digest.over_capacity }}.
{% if digest.empty %}

Niente di nuovo, niente in scadenza oggi, niente in ritardo.
{% endif %}
{% if digest.about_to_be_late %}

**Quasi in ritardo ({{ number(digest.about_to_be_late|length) }})**
{% for t in shown(digest.about_to_be_late) %}
- {{ task(t, client=digest.clients|length > 1) }} · {{ t.what }} entro {{ t.by }}
{% endfor %}
{% if more(digest.about_to_be_late) %}
- {{ more(digest.about_to_be_late) }}
{% endif %}
{% endif %}
{% if digest.new %}

**Nuove per te ({{ number(digest.new|length) }})**
{% for t in shown(digest.new) %}
- {{ task(t, client=digest.clients|length > 1) }}
  {{ t.rule }}{{ (": " ~ t.reason) if t.reason else "" }}
{% endfor %}
{% if more(digest.new) %}
- {{ more(digest.new) }}
{% endif %}
{% endif %}
{% if digest.due_today %}

**In scadenza oggi ({{ number(digest.due_today|length) }})**
{% for t in shown(digest.due_today) %}
- {{ task(t, client=digest.clients|length > 1) }}
{% endfor %}
{% if more(digest.due_today) %}
- {{ more(digest.due_today) }}
{% endif %}
{% endif %}
{% if digest.overdue %}

**In ritardo ({{ number(digest.overdue|length) }})**
{% for t in shown(digest.overdue) %}
- {{ task(t, client=digest.clients|length > 1) }}
{% endfor %}
{% if more(digest.overdue) %}
- {{ more(digest.overdue) }}
{% endif %}
{% endif %}
"""

DIGEST_ASANA_IT = """\
<body><strong>{{ digest.name }}: le tue attività, {{ day(digest.today) }}</strong>
Attività aperte: {{ number(digest.load) }} su una capacità di {{ number(digest.capacity) }}{{ " (oltre la capacità)" if digest.over_capacity }}.
{% if digest.empty %}
Niente di nuovo, niente in scadenza oggi, niente in ritardo.
{% endif %}
{% if digest.about_to_be_late %}

<strong>Quasi in ritardo ({{ number(digest.about_to_be_late|length) }})</strong>
<ul>{% for t in shown(digest.about_to_be_late) %}<li>{{ task(t, client=digest.clients|length > 1) }} · {{ t.what }} entro {{ t.by }}</li>{% endfor %}{% if more(digest.about_to_be_late) %}<li>{{ more(digest.about_to_be_late) }}</li>{% endif %}</ul>
{% endif %}
{% if digest.new %}

<strong>Nuove per te ({{ number(digest.new|length) }})</strong>
<ul>{% for t in shown(digest.new) %}<li>{{ task(t, client=digest.clients|length > 1) }}: <em>{{ t.rule }}</em>{% if t.reason %}: {{ t.reason }}{% endif %}</li>{% endfor %}{% if more(digest.new) %}<li>{{ more(digest.new) }}</li>{% endif %}</ul>
{% endif %}
{% if digest.due_today %}

<strong>In scadenza oggi ({{ number(digest.due_today|length) }})</strong>
<ul>{% for t in shown(digest.due_today) %}<li>{{ task(t, client=digest.clients|length > 1) }}</li>{% endfor %}{% if more(digest.due_today) %}<li>{{ more(digest.due_today) }}</li>{% endif %}</ul>
{% endif %}
{% if digest.overdue %}

<strong>In ritardo ({{ number(digest.overdue|length) }})</strong>
<ul>{% for t in shown(digest.overdue) %}<li>{{ task(t, client=digest.clients|length > 1) }}</li>{% endfor %}{% if more(digest.overdue) %}<li>{{ more(digest.overdue) }}</li>{% endif %}</ul>
{% endif %}
</body>"""

# The default of each part in each language: the titles are the computed headlines, already
# in the voice.
DEFAULTS_IN: Mapping[Language, Mapping[Kind, Mapping[Part, str]]] = {
    Language.EN: DEFAULTS,
    Language.IT: {
        "summary": {
            "title": SUMMARY_TITLE,
            "markdown": SUMMARY_MARKDOWN_IT,
            "asana": SUMMARY_ASANA_IT,
        },
        "digest": {"title": DIGEST_TITLE, "markdown": DIGEST_MARKDOWN_IT, "asana": DIGEST_ASANA_IT},
    },
}
