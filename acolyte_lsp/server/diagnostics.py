"""Per-file indexing failures and settings problems as LSP diagnostics."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from ..settings import ConfigProblem
from ..display import brief, printable
from ..indexer.events import ChunkFailure

SOURCE = "acolyte"


def _uri(path: Path) -> str:
    return from_fs_path(str(path)) or path.as_uri()


class DiagnosticsBook:
    """Publishes diagnostics per file, keeping indexing failures and settings problems apart.

    A file's published list is the union of both kinds, so indexing a file
    cleanly never hides a settings problem on it, and the other way round.
    """

    def __init__(self, ls: LanguageServer) -> None:
        self._ls = ls
        self._index: dict[str, list[types.Diagnostic]] = {}
        self._config: dict[str, list[types.Diagnostic]] = {}

    def file_failed(self, path: Path, failures: Iterable[ChunkFailure]) -> None:
        diagnostics = [
            types.Diagnostic(
                range=types.Range(
                    start=types.Position(line=f.start_line - 1, character=0),
                    end=types.Position(line=f.end_line, character=0),
                ),
                message=f"Not indexed: {brief(f.message)}",
                severity=types.DiagnosticSeverity.Warning,
                source=SOURCE,
                code=f.error_type,
            )
            for f in failures
        ]
        self._update(self._index, _uri(path), diagnostics)

    def file_clean(self, path: Path) -> None:
        self._update(self._index, _uri(path), [])

    def clear_under(self, path: Path) -> None:
        """Clear indexing diagnostics of a file, or of every file under a folder (deleted, renamed, removed)."""
        prefix = _uri(path).rstrip("/") + "/"
        for uri in [u for u in self._index if u == _uri(path) or u.startswith(prefix)]:
            self._update(self._index, uri, [])

    def config_problems(self, config_path: Path, problems: Iterable[ConfigProblem]) -> None:
        diagnostics = []
        for problem in problems:
            line = max((problem.line or 1) - 1, 0)
            column = max((problem.column or 1) - 1, 0)
            diagnostics.append(
                types.Diagnostic(
                    range=types.Range(
                        start=types.Position(line=line, character=column),
                        end=types.Position(line=line + 1, character=0),
                    ),
                    message=printable(f"{problem.key}: {problem.message}" if problem.key else problem.message),
                    severity=types.DiagnosticSeverity.Error,
                    source=SOURCE,
                    code="config",
                )
            )
        self._update(self._config, _uri(config_path), diagnostics)

    def _update(self, book: dict[str, list[types.Diagnostic]], uri: str, diagnostics: list[types.Diagnostic]) -> None:
        """Record one kind for `uri` and publish when something changed."""
        had = book.pop(uri, None)
        if diagnostics:
            book[uri] = diagnostics
        elif had is None:
            return  # nothing was shown, nothing to clear
        combined = self._index.get(uri, []) + self._config.get(uri, [])
        self._ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=combined))
