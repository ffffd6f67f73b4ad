"""What structure readers produce and share: definition spans and line splitting (no imports of our own)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A definition found by a structure reader (1-based, inclusive), with nested definitions."""

    start: int
    end: int
    kind: str
    name: str
    children: tuple["Span", ...] = ()

    @property
    def size(self) -> int:
        return self.end - self.start + 1


def split_lines(text: str) -> list[str]:
    """The file's lines with their endings; only "\\n" ends a line."""
    if not text:
        return []
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out
