"""What an indexing run reports: roots, summaries and the events that drive LSP progress and the CLI bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..identity import workspace_id


@dataclass(frozen=True)
class WorkspaceRoot:
    """A folder being indexed and the stable id its chunks carry."""

    path: Path
    workspace_id: str

    @classmethod
    def at(cls, path: Path, shared_id: str | None = None) -> "WorkspaceRoot":
        """A root whose id is `shared_id` when set, else derived from its path."""
        resolved = path.resolve()
        return cls(resolved, shared_id or workspace_id(resolved))

    @classmethod
    def for_folders(cls, paths: Sequence[Path], shared_id: str | None = None) -> list["WorkspaceRoot"]:
        """Roots for workspace folders; with a shared id, each folder after the first adds its name."""
        if not shared_id:
            return [cls.at(p) for p in paths]
        return [cls.at(p, shared_id if i == 0 else f"{shared_id}/{p.name}") for i, p in enumerate(paths)]


@dataclass(frozen=True)
class ChunkFailure:
    """One chunk Weaviate did not store, with its 1-based line range."""

    start_line: int
    end_line: int
    message: str
    error_type: str


@dataclass(frozen=True)
class IndexSummary:
    """What one workspace run did."""

    files_total: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    files_skipped: int = 0
    files_removed: int = 0
    chunks: int = 0
    chunks_failed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0  # vectors Weaviate held for the same text and embedder: not embedded again
    seconds: float = 0.0
    cancelled: bool = False
    error: str | None = None

    def describe(self) -> str:
        """One line for progress `end` messages and the CLI."""
        text = (
            f"{self.files_indexed} indexed, {self.files_unchanged} unchanged, {self.files_failed} failed, "
            f"{self.files_skipped} skipped, {self.files_removed} removed of {self.files_total} files · "
            f"{self.chunks} chunks ({self.chunks_embedded} embedded, {self.chunks_reused} reused) · {self.seconds:.1f}s"
        )
        if self.cancelled:
            text = "Cancelled: " + text
        if self.error:
            text += f" · stopped: {self.error}"
        return text


@dataclass(frozen=True)
class IndexStarted:
    """A run over `root` began."""

    root: WorkspaceRoot


@dataclass(frozen=True)
class IndexProgress:
    """`total_files` is None while discovery is still walking the tree."""

    root: WorkspaceRoot
    files_done: int
    total_files: int | None
    chunks: int
    failed_files: int

    def describe(self) -> tuple[str, int | None]:
        """"i/N files · c chunks · f failed" and the percentage (None while N is unknown)."""
        tail = f"{self.chunks} chunks · {self.failed_files} failed"
        if self.total_files is None:
            return f"{self.files_done} files · {tail}", None
        percentage = 100 if self.total_files == 0 else min(100, self.files_done * 100 // self.total_files)
        return f"{self.files_done}/{self.total_files} files · {tail}", percentage


@dataclass(frozen=True)
class FileIndexed:
    """Every chunk of the file is stored."""

    root: WorkspaceRoot
    rel_path: str
    chunks: int


@dataclass(frozen=True)
class FileFailed:
    """Weaviate refused some of the file's chunks (its old chunks stay)."""

    root: WorkspaceRoot
    rel_path: str
    failures: tuple[ChunkFailure, ...]


@dataclass(frozen=True)
class FileNotIndexed:
    """The file is not indexed, for `reason`."""

    root: WorkspaceRoot
    rel_path: str
    reason: str
    warn: bool = False  # worth telling the user (a withheld secret), not routine (a binary file)


@dataclass(frozen=True)
class FileRemoved:
    """The file (or folder) is gone, and so are its chunks."""

    root: WorkspaceRoot
    rel_path: str


@dataclass(frozen=True)
class IndexFinished:
    """A run over `root` ended (cancelled, stopped or done: see the summary)."""

    root: WorkspaceRoot
    summary: IndexSummary


IndexEvent = IndexStarted | IndexProgress | FileIndexed | FileFailed | FileNotIndexed | FileRemoved | IndexFinished
EventSink = Callable[[IndexEvent], None]
# Where one run reports how far it is (its own progress), instead of the session-wide sink.
ProgressSink = Callable[[IndexProgress], None]
