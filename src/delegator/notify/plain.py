"""Plain text from the Markdown a summary is rendered in: for places that show no markup.

Asana requires a status update's ``text`` even when its ``html_text`` is sent (the spec's
StatusUpdateRequest), and shows it where rich text is not rendered. This reads the same safe
Markdown subset as ``markdown.py`` and writes its words: headings and paragraphs as lines, list
items with "- " or "1. " (nested ones indented), quotes with "> ", a link as "label (url)" when
its label is not the URL itself, rules as "---". No markup characters are added or kept.
"""

from __future__ import annotations

from collections.abc import Sequence

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
)


def to_plain(markdown: str) -> str:
    """The message's words, laid out in lines, without markup."""
    return "\n\n".join(_block(block) for block in parse(markdown)).strip()


def _inline(nodes: Sequence[Inline]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text | Code):
            parts.append(node.text)
        elif isinstance(node, Break):
            parts.append("\n")
        elif isinstance(node, Strong | Emphasis):
            parts.append(_inline(node.children))
        elif isinstance(node, Link):
            label = _inline(node.children)
            shown = label if label == node.url or not is_safe_url(node.url) else None
            parts.append(shown if shown is not None else f"{label} ({node.url})")
    return "".join(parts)


def _block(block: Block) -> str:
    if isinstance(block, Heading | Paragraph):
        return _inline(block.content)
    if isinstance(block, ListBlock):
        return "\n".join(_list(block, 0))
    if isinstance(block, Quote):
        inner = "\n\n".join(_block(child) for child in block.blocks)
        return "\n".join(f"> {line}".rstrip() for line in inner.split("\n"))
    if isinstance(block, CodeBlock):
        return block.text.rstrip("\n")
    return "---"


def _list(block: ListBlock, depth: int) -> list[str]:
    lines: list[str] = []
    indent = "  " * depth
    for number, item in enumerate(block.items, start=block.start):
        marker = f"{number}. " if block.ordered else "- "
        text = _inline(item.content).replace("\n", "\n" + indent + " " * len(marker))
        lines.append(f"{indent}{marker}{text}")
        for child in item.children:
            lines.extend(_list(child, depth + 1))
    return lines
