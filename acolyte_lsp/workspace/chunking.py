"""Cut a file's text into chunks with exact 1-based line ranges."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

LANGUAGE_BY_SUFFIX: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".lua": "lua",
    ".sh": "shell",
    ".md": "markdown",
    ".rst": "restructuredtext",
    ".txt": "text",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".html": "html",
    ".css": "css",
    ".sql": "sql",
}


@dataclass(frozen=True)
class Chunk:
    """A piece of a file: lines `start_line`..`end_line` inclusive, 1-based."""

    start_line: int
    end_line: int
    kind: str
    name: str
    content: str


def language_of(rel_path: str) -> str:
    """The language name for a path, from its suffix ("text" when unknown)."""
    path = PurePosixPath(rel_path)
    if path.name == ".acolyte":
        return "yaml"
    return LANGUAGE_BY_SUFFIX.get(path.suffix.lower(), "text")


def chunk_lines(text: str, window: int = 60, overlap: int = 10) -> list[Chunk]:
    """Split `text` into windows of `window` lines that overlap by `overlap` lines.

    Every line belongs to at least one chunk; an empty file has no chunks.
    """
    if window < 1:
        raise ValueError("window must be at least 1 line")
    overlap = max(0, min(overlap, window - 1))
    lines = text.splitlines(keepends=True)
    if not lines:
        return []
    step = window - overlap
    chunks: list[Chunk] = []
    start = 0
    while True:
        end = min(start + window, len(lines))
        content = "".join(lines[start:end])
        chunks.append(Chunk(start + 1, end, "WINDOW", f"lines {start + 1}-{end}", content))
        if end == len(lines):
            return chunks
        start += step
