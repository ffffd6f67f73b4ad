"""Cut a file into chunks that follow its structure, with exact 1-based line ranges.

A structure reader (Python's `ast`, tree-sitter for C-family languages,
headings for Markdown) yields `Span`s for definitions. `assemble` turns them
into chunks that cover every line of the file at least once:

- the lines between definitions become MODULE chunks (blank ones join a neighbour);
- a class too big for one chunk becomes its header plus one chunk per method;
- anything longer than `max_lines` is split into overlapping windows;
- neighbours shorter than `min_lines` are merged while they fit `max_lines`.

Files without a reader, or that do not parse, are cut into line windows.
Lines end at "\\n" (a "\\r\\n" pair stays one line), as editors count them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from .spans import Span, split_lines
from .structure_markdown import markdown_spans
from .structure_python import python_spans
from .structure_treesitter import SUPPORTED, treesitter_spans

LANGUAGE_BY_SUFFIX: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".lua": "lua",
    ".sh": "shell",
    ".md": "markdown",
    ".markdown": "markdown",
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


@dataclass(frozen=True)
class ChunkingOptions:
    """Size budget in lines."""

    max_lines: int = 60
    overlap: int = 10
    min_lines: int = 8


def language_of(rel_path: str) -> str:
    """The language name for a path, from its suffix ("text" when unknown)."""
    return LANGUAGE_BY_SUFFIX.get(PurePosixPath(rel_path).suffix.lower(), "text")


def chunk_lines(text: str, window: int = 60, overlap: int = 10) -> list[Chunk]:
    """Split `text` into windows of `window` lines overlapping by `overlap` lines."""
    if window < 1:
        raise ValueError("window must be at least 1 line")
    lines = split_lines(text)
    if not lines:
        return []
    return [_chunk(lines, s) for s in _windows(Span(1, len(lines), "WINDOW", ""), window, overlap)]


def chunk_file(rel_path: str, text: str, options: ChunkingOptions = ChunkingOptions()) -> list[Chunk]:
    """Chunks of one file, following its structure where a reader for its language exists."""
    lines = split_lines(text)
    if not lines:
        return []
    spans = _structure(rel_path, text)
    if spans is None:
        return chunk_lines(text, options.max_lines, options.overlap)
    return [_chunk(lines, s) for s in assemble(len(lines), spans, options, lines)]


def _structure(rel_path: str, text: str) -> list[Span] | None:
    language = language_of(rel_path)
    if language == "python":
        return python_spans(text)
    if language == "markdown":
        readme = PurePosixPath(rel_path).name.lower().startswith("readme")
        return markdown_spans(text, "README" if readme else "SECTION")
    grammar = "tsx" if PurePosixPath(rel_path).suffix.lower() == ".tsx" else language
    if grammar in SUPPORTED:
        return treesitter_spans(grammar, text)
    return None


def assemble(line_count: int, spans: Sequence[Span], options: ChunkingOptions, lines: Sequence[str] = ()) -> list[Span]:
    """Chunk spans covering lines 1..`line_count`, following `spans` (see the module docstring)."""
    segments = _fold_blanks(_cover(1, line_count, spans, options, "MODULE", lines))
    sized: list[Span] = []
    for segment in segments:
        sized.extend(_windows(segment, options.max_lines, options.overlap))
    return _merge_small(sized, options)


def _cover(first: int, last: int, spans: Sequence[Span], options: ChunkingOptions, gap_kind: str, lines: Sequence[str], gap_name: str = "") -> list[Span]:
    """Segments from `first` to `last`: the spans (expanded) and the gaps between them."""
    out: list[Span] = []
    cursor = first
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        start, end = max(span.start, cursor), min(span.end, last)
        if end < start:
            continue  # nested in, or overlapping, what is already covered
        if start > cursor:
            out.extend(_gap(cursor, start - 1, gap_kind, gap_name, lines))
        out.extend(_expand(replace(span, start=start, end=end), options, lines))
        cursor = end + 1
    if cursor <= last:
        out.extend(_gap(cursor, last, gap_kind, gap_name, lines))
    return out


def _gap(start: int, end: int, kind: str, name: str, lines: Sequence[str]) -> list[Span]:
    # Blank-only gaps still need a home (every line belongs to a chunk);
    # `_fold_blanks` gives them to a neighbour.
    blank = bool(lines) and all(not lines[i - 1].strip() for i in range(start, end + 1))
    return [Span(start, end, "BLANK" if blank else kind, name)]


def _expand(span: Span, options: ChunkingOptions, lines: Sequence[str]) -> list[Span]:
    """A definition as one segment, or a big container as its header plus its members."""
    if span.size <= options.max_lines or not span.children:
        return [replace(span, children=())]
    children = [replace(c, name=f"{span.name}.{c.name}" if span.name else c.name) for c in span.children]
    first_child = min(c.start for c in children)
    header_end = max(span.start, first_child - 1)
    header = Span(span.start, header_end, span.kind, span.name)
    rest = _cover(header_end + 1, span.end, children, options, span.kind, lines, span.name)
    return [header, *rest]


def _windows(span: Span, window: int, overlap: int) -> list[Span]:
    """`span` itself if it fits `window`, else overlapping windows that end exactly at its end."""
    if span.size <= window:
        return [span]
    step = window - max(0, min(overlap, window - 1))
    bounds = []
    start = span.start
    while True:
        end = min(start + window - 1, span.end)
        bounds.append((start, end))
        if end == span.end:
            break
        start += step
    if not span.name:
        return [Span(a, b, span.kind, f"lines {a}-{b}") for a, b in bounds]
    return [Span(a, b, span.kind, f"{span.name} [part {n}/{len(bounds)}]") for n, (a, b) in enumerate(bounds, 1)]


def _fold_blanks(segments: list[Span]) -> list[Span]:
    """Give blank-only gaps to the segment before them (or after, at the top of a file)."""
    out: list[Span] = []
    for seg in segments:
        if out and seg.kind == "BLANK":
            out[-1] = replace(out[-1], end=seg.end)
        elif out and out[-1].kind == "BLANK":
            out[-1] = replace(seg, start=out[-1].start)
        else:
            out.append(seg)
    if len(out) == 1 and out[0].kind == "BLANK":
        out[0] = replace(out[0], kind="MODULE")
    return out


def _merge_small(segments: list[Span], options: ChunkingOptions) -> list[Span]:
    """Merge adjacent segments while one of them is shorter than `min_lines` and both fit `max_lines`."""
    out: list[Span] = []
    for seg in segments:
        if (
            out
            and (seg.size < options.min_lines or out[-1].size < options.min_lines)
            and out[-1].end + 1 == seg.start
            and seg.end - out[-1].start + 1 <= options.max_lines
        ):
            prev = out.pop()
            kind = prev.kind if prev.kind == seg.kind else "MODULE"
            names = [n for n in (prev.name, seg.name) if n]
            out.append(Span(prev.start, seg.end, kind, _join_names(names)))
            continue
        out.append(seg)
    return out


def _join_names(names: list[str], limit: int = 200) -> str:
    joined = ", ".join(names)
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def _chunk(lines: Sequence[str], span: Span) -> Chunk:
    name = span.name or f"lines {span.start}-{span.end}"
    return Chunk(span.start, span.end, span.kind, name, "".join(lines[span.start - 1 : span.end]))
