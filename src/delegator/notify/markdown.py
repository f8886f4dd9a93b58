"""The Markdown that summary templates write, read by markdown-it-py (CommonMark, raw HTML off,
bare http(s) URLs linked) into a small tree, and written out in the forms that are not Markdown:
HTML for email and Asana's rich text here, Slack's mrkdwn in ``slack.py``, plain text in
``plain.py``.

Templates are client-written, so their text is never trusted: every character is escaped and only
the constructs of the tree become markup; a link is a link only to http, https or mailto (any
other keeps its label as text).

Blocks: headings, paragraphs, bullet and ordered lists (nested), quotes, code blocks, rules.
Inline: code, strong, emphasis, links (inline, autolinks, bare URLs), line breaks. A line break
inside a paragraph stays a break: summaries are written line by line.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

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


# ---------------------------------------------------------------------- reading


class _Reader(MarkdownIt):
    """CommonMark without raw HTML (``<b>`` is text), with bare http(s) and mailto: URLs linked
    (no scheme-less guesses such as ``example.com``).

    Every link is kept in the tree whatever its scheme: the renderings call ``is_safe_url``, so
    an unsafe link shows its label as text instead of its Markdown source."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False, "linkify": True})
        self.enable("linkify")
        assert self.linkify is not None, "markdown-it-py[linkify] is installed with the package"
        self.linkify.set({"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})

    def validateLink(self, url: str) -> bool:  # noqa: N802 - markdown-it's name
        return True


_LOCAL: Final = threading.local()


def _reader() -> _Reader:
    """This thread's reader: linkify-it keeps the state of its last match on the instance, so
    summaries rendered by concurrent cycles each read with their own."""
    reader = getattr(_LOCAL, "reader", None)
    if reader is None:
        reader = _LOCAL.reader = _Reader()
    assert isinstance(reader, _Reader)
    return reader


def parse(markdown: str) -> tuple[Block, ...]:
    """The blocks of a Markdown text."""
    blocks, _ = _blocks(_reader().parse(markdown), 0, None)
    return tuple(blocks)


def parse_inline(text: str) -> tuple[Inline, ...]:
    """The inline nodes of one line (or of several, joined by ``\\n``: each becomes a Break)."""
    nodes: list[Inline] = []
    for token in _reader().parseInline(text):
        nodes.extend(_inline(token.children or []))
    return _merged(nodes)


def _blocks(tokens: Sequence[Token], index: int, close: str | None) -> tuple[list[Block], int]:
    """The blocks from ``tokens[index]`` up to the ``close`` token (or the end), and the index
    after it. Each opening token's content is read by a call of its own, so a ``close`` met here
    is this level's."""
    blocks: list[Block] = []
    while index < len(tokens):
        token = tokens[index]
        if token.type == close:
            return blocks, index + 1
        if token.type in ("heading_open", "paragraph_open"):
            content = _inline(tokens[index + 1].children or [])
            if token.type == "heading_open":
                blocks.append(Heading(int(token.tag[1:]), content))
            else:
                blocks.append(Paragraph(content))
            index += 3  # open, inline, close
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            listed, index = _list(tokens, index)
            blocks.append(listed)
        elif token.type == "blockquote_open":
            quoted, index = _blocks(tokens, index + 1, "blockquote_close")
            blocks.append(Quote(tuple(quoted)))
        elif token.type in ("fence", "code_block"):
            blocks.append(CodeBlock(token.content.removesuffix("\n")))
            index += 1
        elif token.type == "hr":
            blocks.append(Rule())
            index += 1
        else:  # html_block cannot occur with raw HTML off; anything else is skipped
            index += 1
    return blocks, index


def _list(tokens: Sequence[Token], index: int) -> tuple[ListBlock, int]:
    opening = tokens[index]
    ordered = opening.type == "ordered_list_open"
    start = int(opening.attrGet("start") or 1) if ordered else 1
    close = opening.type.replace("_open", "_close")
    items: list[ListItem] = []
    index += 1
    while index < len(tokens) and tokens[index].type != close:
        inner, index = _blocks(tokens, index + 1, "list_item_close")
        items.append(_item(inner))
    return ListBlock(ordered, start, tuple(items)), index + 1


def _item(blocks: Sequence[Block]) -> ListItem:
    """A list item: its text on one line (lines of a paragraph joined by spaces, paragraphs by
    breaks), its nested lists as children; a quote or code inside is flattened into the text."""
    content: list[Inline] = []
    children: list[ListBlock] = []
    for block in blocks:
        if isinstance(block, ListBlock):
            children.append(block)
            continue
        if content:
            content.append(Break())
        if isinstance(block, Heading | Paragraph):
            content.extend(Text(" ") if isinstance(node, Break) else node for node in block.content)
        else:
            content.extend(_as_inline(block)[:-1])
    return ListItem(_merged(content), tuple(children))


_CLOSE: Final = {"strong_open": "strong_close", "em_open": "em_close", "link_open": "link_close"}


def _inline(tokens: Sequence[Token]) -> tuple[Inline, ...]:
    nodes, _ = _inline_run(tokens, 0, None)
    return _merged(nodes)


def _inline_run(tokens: Sequence[Token], index: int, close: str | None) -> tuple[list[Inline], int]:
    nodes: list[Inline] = []
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.type == close:
            break
        if token.type in _CLOSE:
            inner, index = _inline_run(tokens, index, _CLOSE[token.type])
            children = _merged(inner)
            if token.type == "strong_open":
                nodes.append(Strong(children))
            elif token.type == "em_open":
                nodes.append(Emphasis(children))
            else:
                nodes.append(Link(children, str(token.attrGet("href") or "")))
        elif token.type == "image":  # no pictures in a summary: a link to it, named by its alt
            alt = _inline(token.children or []) or (Text(token.content),)
            nodes.append(Link(alt, str(token.attrGet("src") or "")))
        elif token.type == "code_inline":
            nodes.append(Code(token.content))
        elif token.type in ("softbreak", "hardbreak"):
            nodes.append(Break())
        elif token.content:  # text, text_special, and html_inline (which raw HTML off rules out)
            nodes.append(Text(token.content))
    return nodes, index


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
