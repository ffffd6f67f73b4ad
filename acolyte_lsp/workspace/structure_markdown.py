"""Sections of Markdown, by ATX headings (`#`, `##`, …) outside fenced code."""

from __future__ import annotations

import re

from .spans import Span, split_lines

_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def markdown_spans(text: str, kind: str = "SECTION") -> list[Span]:
    """One span per heading, running to the line before the next heading."""
    lines = split_lines(text)
    headings: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(lines, 1):
        stripped = line.rstrip("\n")
        opener = _FENCE.match(stripped)
        if opener:
            marker = opener.group(1)
            fence = None if fence == marker else (fence or marker)
            continue
        if fence is None:
            match = _HEADING.match(stripped)
            if match:
                headings.append((number, match.group(2)))
    spans = []
    for i, (start, title) in enumerate(headings):
        end = headings[i + 1][0] - 1 if i + 1 < len(headings) else len(lines)
        spans.append(Span(start, end, kind, title))
    return spans
