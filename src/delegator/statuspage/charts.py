"""Plots drawn on the server as SVG: a picture where it beats a table (delegations per week, load
per assistant). Written by hand, a few lines of markup, since a plotting library would bring a
hundred times the code for two bar charts; every label escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR = 22  # height of one bar, in user units
GAP = 8
LABEL = 250  # width kept for the labels (30 characters at 14px)
WIDTH = 700


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    limit: int | None = None  # a capacity drawn behind the bar


def bar_chart(bars: Sequence[Bar], title: str) -> Markup:
    """Horizontal bars, one per row, with their values written out (the picture is never the
    only place a number is)."""
    if not bars:
        return Markup("")
    top = max(max(b.value, b.limit or 0) for b in bars) or 1
    span = WIDTH - LABEL - 60
    height = len(bars) * (BAR + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="chart-title">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for i, bar in enumerate(bars):
        y = GAP + i * (BAR + GAP)
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + BAR * 0.7:.1f}" text-anchor="end" '
            f'font-size="14" fill="#1b1f24">{escape(_clip(bar.label))}</text>'
        )
        if bar.limit:
            width = span * bar.limit / top
            parts.append(
                f'<rect x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" '
                'fill="none" stroke="#57606a" stroke-dasharray="4 3"/>'
            )
        width = span * bar.value / top
        parts.append(
            f'<rect x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" fill="#0969da"/>'
        )
        shown = f"{bar.value}/{bar.limit}" if bar.limit else str(bar.value)
        parts.append(
            f'<text x="{LABEL + width + 6:.1f}" y="{y + BAR * 0.7:.1f}" font-size="14" '
            f'fill="#1b1f24">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is escaped


def _clip(text: str, size: int = 30) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
