"""Per-file indexing failures and settings problems as LSP diagnostics."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from ..config import ConfigProblem
from ..indexer import ChunkFailure

SOURCE = "acolyte"


def _uri(path: Path) -> str:
    return from_fs_path(str(path)) or path.as_uri()


class DiagnosticsBook:
    """Publishes diagnostics and remembers which files have some, so they can be cleared."""

    def __init__(self, ls: LanguageServer) -> None:
        self._ls = ls
        self._with_diagnostics: set[str] = set()

    def file_failed(self, path: Path, failures: Iterable[ChunkFailure]) -> None:
        diagnostics = [
            types.Diagnostic(
                range=types.Range(
                    start=types.Position(line=f.start_line - 1, character=0),
                    end=types.Position(line=f.end_line, character=0),
                ),
                message=f"Not indexed: {f.message}",
                severity=types.DiagnosticSeverity.Warning,
                source=SOURCE,
                code=f.error_type,
            )
            for f in failures
        ]
        self._publish(_uri(path), diagnostics)

    def file_clean(self, path: Path) -> None:
        uri = _uri(path)
        if uri in self._with_diagnostics:
            self._publish(uri, [])

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
                    message=f"{problem.key}: {problem.message}" if problem.key else problem.message,
                    severity=types.DiagnosticSeverity.Error,
                    source=SOURCE,
                    code="config",
                )
            )
        uri = _uri(config_path)
        if diagnostics or uri in self._with_diagnostics:
            self._publish(uri, diagnostics)

    def _publish(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        if diagnostics:
            self._with_diagnostics.add(uri)
        else:
            self._with_diagnostics.discard(uri)
        self._ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        )
