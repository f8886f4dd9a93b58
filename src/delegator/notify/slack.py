"""Markdown to Slack's mrkdwn, the dialect of its incoming webhooks.

Slack differs from Markdown where it matters for a summary: bold is ``*x*``, italics ``_x_``,
links ``<url|label>``, there are no headings or list markup, and ``&``, ``<`` and ``>`` must be
escaped or Slack reads them as its own control sequences (a stray ``<!channel>`` would ping
everyone). So the text is parsed (``markdown.py``) and written out again, escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from delegator.notify.markdown import (
    Block,
    Break,
    Code,
    CodeBlock,
    Emphasis,
    Heading,
    Inline,
    Link,
    ListBlock,
    Paragraph,
    Quote,
    Strong,
    Text,
    is_safe_url,
    parse,
    plain,
)

BULLETS: Final = ("•", "◦", "▪")
INDENT: Final = "    "


def escape(text: str) -> str:
    """Slack's three control characters, escaped as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """The Markdown of a summary as Slack mrkdwn."""
    out: list[str] = []
    previous: Block | None = None
    for block in parse(markdown):
        if previous is not None:
            out.append("\n" if isinstance(previous, Heading) else "\n\n")
        out.append(_block(block))
        previous = block
    return "".join(out)


def message_text(title: str, markdown: str) -> str:
    """A whole webhook message: the title in bold on its own line, then the body."""
    body = to_mrkdwn(markdown)
    heading = f"*{escape(' '.join(title.split()))}*"
    return f"{heading}\n{body}" if body else heading


def _inline(nodes: Sequence[Inline]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(escape(node.text))
        elif isinstance(node, Break):
            parts.append("\n")
        elif isinstance(node, Code):
            parts.append("`" + escape(node.text.replace("`", "'")) + "`")
        elif isinstance(node, Strong):
            parts.append(f"*{_inline(node.children)}*")
        elif isinstance(node, Emphasis):
            parts.append(f"_{_inline(node.children)}_")
        elif isinstance(node, Link):
            parts.append(_link(node))
    return "".join(parts)


def plain_mrkdwn(nodes: Sequence[Inline]) -> str:
    """Inline nodes as escaped text without emphasis: a heading is bold as a whole."""
    return escape(" ".join(plain(nodes).split()))


def _link(node: Link) -> str:
    label = " ".join(plain(node.children).split())
    if not is_safe_url(node.url):
        return escape(label)
    url = escape(node.url).replace("|", "%7C")
    if label == node.url:
        return f"<{url}>"
    safe_label = escape(label).replace("|", "¦")
    return f"<{url}|{safe_label}>"


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"*{plain_mrkdwn(block.content)}*"
    if isinstance(block, Paragraph):
        return _inline(block.content)
    if isinstance(block, ListBlock):
        return "\n".join(_list(block, 0))
    if isinstance(block, Quote):
        inner = "\n\n".join(_block(child) for child in block.blocks)
        return "\n".join(f">{' ' if line else ''}{line}" for line in inner.split("\n"))
    if isinstance(block, CodeBlock):
        return f"```\n{escape(block.text)}\n```"
    return "――――――――――"


def _list(block: ListBlock, depth: int) -> list[str]:
    lines: list[str] = []
    for offset, item in enumerate(block.items):
        marker = f"{block.start + offset}." if block.ordered else BULLETS[depth % len(BULLETS)]
        lines.append(f"{INDENT * depth}{marker} {_inline(item.content)}")
        for child in item.children:
            lines.extend(_list(child, depth + 1))
    return lines
