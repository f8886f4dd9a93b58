"""A small, safe reading of the Markdown that summary templates write, for the forms that are not
Markdown: HTML for email, Asana's rich text, and Slack's mrkdwn (``slack.py``).

Templates are client-written, so their text is never trusted: every character is escaped and only
the constructs below become markup; a link is a link only to http, https or mailto. A full
CommonMark library would be a runtime dependency for the dozen constructs a summary uses.

Blocks: ``#`` headings, paragraphs, ``-``/``*``/``+`` and ``1.`` lists (nested by indentation),
``>`` quotes, fenced code, ``---`` rules. Inline: `code`, **strong** / __strong__, *em* / _em_,
[text](url), <url>, bare http(s) URLs, backslash escapes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias
from urllib.parse import urlsplit

SAFE_SCHEMES: Final = frozenset({"http", "https", "mailto"})

# ---------------------------------------------------------------------- the tree


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Code:
    text: str


@dataclass(frozen=True, slots=True)
class Strong:
    children: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Emphasis:
    children: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Link:
    children: tuple[Inline, ...]
    url: str


@dataclass(frozen=True, slots=True)
class Break:
    """A line break inside a paragraph: summaries are written line by line."""


Inline: TypeAlias = Text | Code | Strong | Emphasis | Link | Break


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Paragraph:
    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class ListItem:
    content: tuple[Inline, ...]
    children: tuple[ListBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ListBlock:
    ordered: bool
    start: int
    items: tuple[ListItem, ...]


@dataclass(frozen=True, slots=True)
class Quote:
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class CodeBlock:
    text: str


@dataclass(frozen=True, slots=True)
class Rule:
    pass


Block: TypeAlias = Heading | Paragraph | ListBlock | Quote | CodeBlock | Rule


def is_safe_url(url: str) -> bool:
    """Whether a link may point there: http(s) with a host, or mailto. Never javascript:."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme.lower() not in SAFE_SCHEMES:
        return False
    return bool(parts.netloc) or parts.scheme.lower() == "mailto"


# ---------------------------------------------------------------------- inline

_INLINE = re.compile(
    r"""
    (?P<escape>\\[\\`*_{}\[\]()\#+\-.!<>|~])
    | (?P<code>(?P<ticks>`+)(?P<code_text>.+?)(?P=ticks))
    | (?P<link>\[(?P<link_text>[^\]\n]+)\]\((?P<link_url>(?:[^()\s]|\([^()\s]*\))+)\))
    | (?P<auto><(?P<auto_url>(?:https?://|mailto:)[^>\s]+)>)
    | (?P<bare>\bhttps?://[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'"])
    | (?P<strong>\*\*(?=\S)(?P<strong_text>.+?)(?<=\S)\*\*
                 | (?<![A-Za-z0-9_])__(?=\S)(?P<strong_under>.+?)(?<=\S)__(?![A-Za-z0-9_]))
    | (?P<em>\*(?=[^\s*])(?P<em_text>.+?)(?<=[^\s*])\*
             | (?<![A-Za-z0-9_])_(?=[^\s_])(?P<em_under>.+?)(?<=[^\s_])_(?![A-Za-z0-9_]))
    """,
    re.VERBOSE,
)


def parse_inline(text: str) -> tuple[Inline, ...]:
    """The inline nodes of one line (or of several, joined by ``\\n``: each becomes a Break)."""
    nodes: list[Inline] = []
    for number, line in enumerate(text.split("\n")):
        if number:
            nodes.append(Break())
        nodes.extend(_line(line))
    return _merged(nodes)


def _line(text: str) -> list[Inline]:
    nodes: list[Inline] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            nodes.append(Text(text[position : match.start()]))
        position = match.end()
        if match.group("escape") is not None:
            nodes.append(Text(match.group("escape")[1]))
        elif match.group("code") is not None:
            nodes.append(Code(match.group("code_text").strip() or match.group("code_text")))
        elif match.group("link") is not None:
            nodes.append(Link(tuple(_line(match.group("link_text"))), match.group("link_url")))
        elif match.group("auto") is not None:
            url = match.group("auto_url")
            nodes.append(Link((Text(url),), url))
        elif match.group("bare") is not None:
            url = match.group("bare")
            nodes.append(Link((Text(url),), url))
        elif match.group("strong") is not None:
            inner = match.group("strong_text") or match.group("strong_under")
            nodes.append(Strong(tuple(_line(inner))))
        else:
            inner = match.group("em_text") or match.group("em_under")
            nodes.append(Emphasis(tuple(_line(inner))))
    if position < len(text):
        nodes.append(Text(text[position:]))
    return nodes


def _merged(nodes: Sequence[Inline]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].text + node.text)
        elif not (isinstance(node, Text) and not node.text):
            out.append(node)
    return tuple(out)


def plain(nodes: Sequence[Inline]) -> str:
    """The words of inline nodes, without markup."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text | Code):
            parts.append(node.text)
        elif isinstance(node, Break):
            parts.append("\n")
        else:
            parts.append(plain(node.children))
    return "".join(parts)


# ---------------------------------------------------------------------- blocks

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_ITEM = re.compile(r"^(\s*)([-*+]|(\d{1,9})[.)])\s+(.*)$")


@dataclass(slots=True)
class _Entry:
    indent: int
    ordered: bool
    number: int
    text: str


def parse(markdown: str) -> tuple[Block, ...]:
    """The blocks of a Markdown text."""
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Paragraph(parse_inline("\n".join(line.strip() for line in paragraph))))
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            flush()
            code: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(fence.group(1)):
                code.append(lines[index])
                index += 1
            blocks.append(CodeBlock("\n".join(code)))
            index += 1
            continue
        if not line.strip():
            flush()
            index += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            blocks.append(Heading(len(heading.group(1)), parse_inline(heading.group(2))))
            index += 1
            continue
        if _RULE.match(line):
            flush()
            blocks.append(Rule())
            index += 1
            continue
        if _QUOTE.match(line):
            flush()
            quoted: list[str] = []
            while index < len(lines) and (found := _QUOTE.match(lines[index])):
                quoted.append(found.group(1))
                index += 1
            blocks.append(Quote(parse("\n".join(quoted))))
            continue
        if _ITEM.match(line):
            flush()
            entries, index = _list_entries(lines, index)
            position = 0
            while position < len(entries):
                block, position = _list(entries, position)
                blocks.append(block)
            continue
        paragraph.append(line)
        index += 1
    flush()
    return tuple(blocks)


def _list_entries(lines: Sequence[str], index: int) -> tuple[list[_Entry], int]:
    """The items of the list starting at ``lines[index]``, with their continuation lines."""
    entries: list[_Entry] = []
    while index < len(lines):
        line = lines[index]
        item = _ITEM.match(line)
        if item:
            number = item.group(3)
            entries.append(
                _Entry(len(item.group(1)), number is not None, int(number or 1), item.group(4))
            )
            index += 1
            continue
        if not line.strip():
            following = next((rest for rest in lines[index:] if rest.strip()), None)
            if following is not None and _ITEM.match(following):
                index += 1  # a blank line between items: the list goes on
                continue
            break
        if line.startswith((" ", "\t")) and not _FENCE.match(line):
            entries[-1].text += " " + line.strip()  # a continuation of the item above
            index += 1
            continue
        break
    return entries, index


def _list(entries: Sequence[_Entry], position: int) -> tuple[ListBlock, int]:
    first = entries[position]
    items: list[ListItem] = []
    while position < len(entries) and entries[position].indent >= first.indent:
        entry = entries[position]
        if entry.indent == first.indent and entry.ordered != first.ordered:
            break  # "1." after "-" (or the reverse) starts a list of its own
        position += 1
        children: list[ListBlock] = []
        while position < len(entries) and entries[position].indent > entry.indent:
            child, position = _list(entries, position)
            children.append(child)
        items.append(ListItem(parse_inline(entry.text), tuple(children)))
    return ListBlock(first.ordered, first.number, tuple(items)), position


# ---------------------------------------------------------------------- HTML and Asana rich text


_BR: Final = "<br>\n"


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _html_inline(nodes: Sequence[Inline], line_break: str) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(_escape(node.text))
        elif isinstance(node, Break):
            parts.append(line_break)
        elif isinstance(node, Code):
            parts.append(f"<code>{_escape(node.text)}</code>")
        elif isinstance(node, Strong):
            parts.append(f"<strong>{_html_inline(node.children, line_break)}</strong>")
        elif isinstance(node, Emphasis):
            parts.append(f"<em>{_html_inline(node.children, line_break)}</em>")
        else:
            label = _html_inline(node.children, line_break)
            if is_safe_url(node.url):
                parts.append(f'<a href="{html.escape(node.url, quote=True)}">{label}</a>')
            else:
                parts.append(label)
    return "".join(parts)


def to_html(markdown: str) -> str:
    """HTML for the body of an email: only the tags below, every text escaped."""
    return "\n".join(_html_block(block) for block in parse(markdown))


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{_html_inline(block.content, '<br>')}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_html_inline(block.content, _BR)}</p>"
    if isinstance(block, ListBlock):
        return _html_list(block, lambda content: _html_inline(content, "<br>"), "\n")
    if isinstance(block, Quote):
        inner = "\n".join(_html_block(child) for child in block.blocks)
        return f"<blockquote>\n{inner}\n</blockquote>"
    if isinstance(block, CodeBlock):
        return f"<pre><code>{_escape(block.text)}</code></pre>"
    return "<hr>"


def _html_list(
    block: ListBlock, inline: Callable[[tuple[Inline, ...]], str], separator: str
) -> str:
    tag = "ol" if block.ordered else "ul"
    start = f' start="{block.start}"' if block.ordered and block.start != 1 else ""
    items = []
    for item in block.items:
        nested = "".join(_html_list(child, inline, separator) for child in item.children)
        items.append(f"<li>{inline(item.content)}{nested}</li>")
    return f"<{tag}{start}>{separator}{separator.join(items)}{separator}</{tag}>"


def to_email_html(markdown: str, title: str) -> str:
    """A whole HTML document for the text/html part of an email."""
    return (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8">'
        f"<title>{_escape(title)}</title></head>\n"
        '<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; '
        'line-height: 1.4">\n'
        f"{to_html(markdown)}\n"
        "</body></html>\n"
    )


def to_asana_html(markdown: str) -> str:
    """Asana's rich text (``<body>...</body>``) with the tags Asana accepts: h1, h2, strong, em,
    code, a, ul, ol, li, blockquote, pre, hr. Asana keeps newlines, so text blocks end in one."""
    parts: list[str] = []
    for block in parse(markdown):
        if isinstance(block, Heading) and block.level <= 2:
            parts.append(f"<h{block.level}>{_html_inline(block.content, ' ')}</h{block.level}>")
        elif isinstance(block, Heading):
            parts.append(f"<strong>{_html_inline(block.content, ' ')}</strong>\n")
        elif isinstance(block, Paragraph):
            parts.append(_html_inline(block.content, "\n") + "\n")
        elif isinstance(block, ListBlock):
            parts.append(_html_list(block, lambda content: _html_inline(content, " "), ""))
        elif isinstance(block, Quote):
            inner = "".join(_html_inline(_as_inline(child), "\n") for child in block.blocks)
            parts.append(f"<blockquote>{inner.rstrip(chr(10))}</blockquote>")
        elif isinstance(block, CodeBlock):
            parts.append(f"<pre>{_escape(block.text)}</pre>")
        else:
            parts.append("<hr/>")
    return "<body>" + "".join(parts).rstrip("\n") + "</body>"


def _as_inline(block: Block) -> tuple[Inline, ...]:
    """A block flattened to one run of text (inside an Asana quote, which holds no blocks)."""
    if isinstance(block, Heading | Paragraph):
        return (*block.content, Break())
    if isinstance(block, ListBlock):
        flat: list[Inline] = []
        for item in block.items:
            flat.extend((Text("• "), *item.content, Break()))
            for child in item.children:
                flat.extend(_as_inline(child))
        return tuple(flat)
    if isinstance(block, Quote):
        return tuple(node for child in block.blocks for node in _as_inline(child))
    if isinstance(block, CodeBlock):
        return (Code(block.text), Break())
    return (Break(),)
