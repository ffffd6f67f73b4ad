"""What the server publishes as diagnostics, without a client."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from acolyte_lsp.settings import ConfigProblem
from acolyte_lsp.indexer.events import ChunkFailure
from acolyte_lsp.server.diagnostics import DiagnosticsBook


class RecordingServer:
    def __init__(self) -> None:
        self.published: list[types.PublishDiagnosticsParams] = []

    def text_document_publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None:
        self.published.append(params)


def _book() -> tuple[DiagnosticsBook, RecordingServer]:
    server = RecordingServer()
    return DiagnosticsBook(server), server  # type: ignore[arg-type]


def test_failure_range_covers_the_chunk_lines(tmp_path: Path) -> None:
    book, server = _book()
    book.file_failed(tmp_path / "a.py", [ChunkFailure(9, 18, "bad", "rejected")])
    [published] = server.published
    [diagnostic] = published.diagnostics
    assert (diagnostic.range.start.line, diagnostic.range.end.line) == (8, 18)
    assert (diagnostic.source, diagnostic.code) == ("acolyte", "rejected")


def test_clean_file_without_diagnostics_publishes_nothing(tmp_path: Path) -> None:
    book, server = _book()
    book.file_clean(tmp_path / "a.py")
    assert server.published == []


def test_clean_file_clears_its_failures(tmp_path: Path) -> None:
    book, server = _book()
    book.file_failed(tmp_path / "a.py", [ChunkFailure(1, 2, "bad", "rejected")])
    book.file_clean(tmp_path / "a.py")
    assert list(server.published[-1].diagnostics) == []


def test_indexing_a_file_cleanly_keeps_its_settings_problems(tmp_path: Path) -> None:
    book, server = _book()
    path = tmp_path / ".acolyte"
    book.config_problems(path, [ConfigProblem(str(path), "search.x", "unknown key", 2, 3)])
    book.file_failed(path, [ChunkFailure(1, 2, "bad", "rejected")])
    book.file_clean(path)
    [remaining] = server.published[-1].diagnostics
    assert remaining.code == "config"
    assert remaining.range.start == types.Position(line=1, character=2)
