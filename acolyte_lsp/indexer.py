"""The indexing pipeline: plan → read → chunk → embed → insert → delete stale. No LSP here.

Weaviate holds the truth: a workspace run first asks it which files (and
content hashes) it has, then sends only files whose content differs, and
removes chunks of files that are gone or now ignored. A file's new chunks are
inserted before its old ones are deleted, so a re-indexed file never has a
moment without chunks; deterministic ids make re-sending harmless.

Per-file locks make a save and a workspace run that touch the same file take
turns: whichever runs last reads the file from disk last, so the index ends up
with what is on disk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from .config import Settings
from .embedding import Embedder
from .identity import chunk_uuid, workspace_id
from .store.batch_inserter import BatchResult, ErrorType
from .store.errors import StoreError, WeaviateUnavailableError
from .workspace.chunking import Chunk, ChunkingOptions, chunk_file, language_of
from .workspace.discovery import FileSkipped, SourceFile, discover_files, is_indexable, read_source

FILES_PER_GROUP = 32
_UNREACHABLE = {ErrorType.CONNECTION, ErrorType.TIMEOUT}


@dataclass(frozen=True)
class WorkspaceRoot:
    """A folder being indexed and the stable id its chunks carry."""

    path: Path
    workspace_id: str

    @classmethod
    def at(cls, path: Path) -> "WorkspaceRoot":
        resolved = path.resolve()
        return cls(resolved, workspace_id(resolved))


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
    seconds: float = 0.0
    cancelled: bool = False
    error: str | None = None

    def describe(self) -> str:
        """One line for progress `end` messages and the CLI."""
        text = (
            f"{self.files_indexed} indexed, {self.files_unchanged} unchanged, {self.files_failed} failed, "
            f"{self.files_skipped} skipped, {self.files_removed} removed of {self.files_total} files · "
            f"{self.chunks} chunks · {self.seconds:.1f}s"
        )
        if self.cancelled:
            text = "Cancelled: " + text
        if self.error:
            text += f" · stopped: {self.error}"
        return text


@dataclass(frozen=True)
class IndexStarted:
    root: WorkspaceRoot
    total_files: int


@dataclass(frozen=True)
class IndexProgress:
    root: WorkspaceRoot
    files_done: int
    total_files: int
    chunks: int
    failed_files: int


@dataclass(frozen=True)
class FileIndexed:
    root: WorkspaceRoot
    rel_path: str
    chunks: int


@dataclass(frozen=True)
class FileFailed:
    root: WorkspaceRoot
    rel_path: str
    failures: tuple[ChunkFailure, ...]


@dataclass(frozen=True)
class FileNotIndexed:
    root: WorkspaceRoot
    rel_path: str
    reason: str


@dataclass(frozen=True)
class FileRemoved:
    root: WorkspaceRoot
    rel_path: str


@dataclass(frozen=True)
class IndexFinished:
    root: WorkspaceRoot
    summary: IndexSummary


IndexEvent = IndexStarted | IndexProgress | FileIndexed | FileFailed | FileNotIndexed | FileRemoved | IndexFinished
EventSink = Callable[[IndexEvent], None]


class ChunkSink(Protocol):
    """What the indexer needs from the store (`store.chunk_store.ChunkStore` provides it)."""

    async def insert(
        self, objects: Sequence[dict[str, Any]], vectors: Sequence[Sequence[float]] | None, uuids: Sequence[str]
    ) -> BatchResult: ...

    async def delete_stale(self, workspace: str, file_path: str, keep_hash: str) -> int: ...

    async def delete_file(self, workspace: str, file_path: str) -> int: ...

    async def indexed_files(self, workspace: str) -> dict[str, set[str]]: ...


@dataclass(frozen=True)
class _Prepared:
    source: SourceFile
    file_hash: str
    chunks: list[Chunk]
    objects: list[dict[str, Any]]
    vectors: list[list[float]] | None
    uuids: list[str]


@dataclass(frozen=True)
class _Unchanged:
    source: SourceFile


@dataclass
class _RunCounts:
    indexed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    removed: int = 0
    chunks: int = 0
    chunks_failed: int = 0
    done: int = 0


@dataclass
class _FileLocks:
    locks: dict[tuple[Path, str], asyncio.Lock] = field(default_factory=dict)

    @asynccontextmanager
    async def hold(self, root: Path, rel_paths: Sequence[str]) -> AsyncIterator[None]:
        # Sorted acquisition: two holders of several locks can never deadlock.
        keys = sorted({(root, p) for p in rel_paths})
        acquired: list[asyncio.Lock] = []
        try:
            for key in keys:
                lock = self.locks.setdefault(key, asyncio.Lock())
                await lock.acquire()
                acquired.append(lock)
            yield
        finally:
            for lock in acquired:
                lock.release()


class IndexingService:
    """Indexes workspaces and single files into a `ChunkSink`, reporting through events."""

    def __init__(self, settings: Settings, store: ChunkSink, embedder: Embedder, on_event: EventSink) -> None:
        self.settings = settings
        self._store = store
        self._embedder = embedder
        self._emit = on_event
        self._file_locks = _FileLocks()
        self._workspace_run = asyncio.Lock()  # never two workspace runs at once

    async def index_workspace(
        self, root: WorkspaceRoot, *, force: bool = False, cancel: asyncio.Event | None = None
    ) -> IndexSummary:
        """Bring Weaviate in line with the files under `root`; `force` re-sends unchanged files too."""
        async with self._workspace_run:
            return await self._index_workspace(root, force, cancel or asyncio.Event())

    async def _index_workspace(self, root: WorkspaceRoot, force: bool, cancel: asyncio.Event) -> IndexSummary:
        started = time.perf_counter()
        counts = _RunCounts()
        files: list[SourceFile] = []
        error: str | None = None
        try:
            files = await asyncio.to_thread(
                lambda: list(discover_files(root.path, self.settings.indexing.exclude, self.settings.indexing.include))
            )
            indexed = await self._store.indexed_files(root.workspace_id)
            self._emit(IndexStarted(root, len(files)))
            for start in range(0, len(files), FILES_PER_GROUP):
                if cancel.is_set():
                    break
                group = files[start : start + FILES_PER_GROUP]
                await self._index_group(root, group, indexed, force, counts)
                self._emit(IndexProgress(root, counts.done, len(files), counts.chunks, counts.failed))
            if not cancel.is_set():
                present = {f.rel_path for f in files}
                for rel_path in sorted(set(indexed) - present):
                    async with self._file_locks.hold(root.path, [rel_path]):
                        await self._store.delete_file(root.workspace_id, rel_path)
                    counts.removed += 1
                    self._emit(FileRemoved(root, rel_path))
        except StoreError as err:
            error = str(err)
        summary = IndexSummary(
            files_total=len(files),
            files_indexed=counts.indexed,
            files_unchanged=counts.unchanged,
            files_failed=counts.failed,
            files_skipped=counts.skipped,
            files_removed=counts.removed,
            chunks=counts.chunks,
            chunks_failed=counts.chunks_failed,
            seconds=time.perf_counter() - started,
            cancelled=cancel.is_set(),
            error=error,
        )
        self._emit(IndexFinished(root, summary))
        return summary

    async def index_file(self, root: WorkspaceRoot, rel_path: str) -> None:
        """Re-index one file after a save (or drop its chunks when it is gone)."""
        source = SourceFile(root.path / rel_path, rel_path)
        async with self._file_locks.hold(root.path, [rel_path]):
            if not source.path.exists():
                await self._store.delete_file(root.workspace_id, rel_path)
                self._emit(FileRemoved(root, rel_path))
                return
            if not is_indexable(root.path, rel_path, self.settings.indexing.exclude, self.settings.indexing.include):
                return
            await self._index_locked(root, [source], None, True, _RunCounts())

    async def remove_file(self, root: WorkspaceRoot, rel_path: str) -> None:
        """Drop every chunk of a file that was deleted or moved away."""
        async with self._file_locks.hold(root.path, [rel_path]):
            await self._store.delete_file(root.workspace_id, rel_path)
        self._emit(FileRemoved(root, rel_path))

    async def _index_group(
        self,
        root: WorkspaceRoot,
        group: list[SourceFile],
        indexed: dict[str, set[str]],
        force: bool,
        counts: _RunCounts,
    ) -> None:
        async with self._file_locks.hold(root.path, [f.rel_path for f in group]):
            await self._index_locked(root, group, indexed, force, counts)

    async def _index_locked(
        self,
        root: WorkspaceRoot,
        group: list[SourceFile],
        indexed: dict[str, set[str]] | None,
        force: bool,
        counts: _RunCounts,
    ) -> None:
        prepared = await asyncio.to_thread(self._prepare, root, group, indexed, force)
        to_send: list[_Prepared] = []
        for item in prepared:
            if isinstance(item, FileSkipped):
                counts.skipped += 1
                counts.done += 1
                self._emit(FileNotIndexed(root, item.rel_path, item.reason))
            elif isinstance(item, _Unchanged):
                counts.unchanged += 1
                counts.done += 1
            else:
                to_send.append(item)
        if not to_send:
            return
        objects = [o for p in to_send for o in p.objects]
        uuids = [u for p in to_send for u in p.uuids]
        vectors = None if to_send[0].vectors is None else [v for p in to_send for v in p.vectors or []]
        result = await self._store.insert(objects, vectors, uuids)
        if result.successful == 0 and result.errors and all(e["error_type"] in _UNREACHABLE for e in result.errors):
            raise WeaviateUnavailableError(self.settings.weaviate.url, result.errors[0]["error"])
        errors_by_index = {e["index"]: e for e in result.errors}
        offset = 0
        for item in to_send:
            failures = tuple(
                ChunkFailure(chunk.start_line, chunk.end_line, errors_by_index[offset + i]["error"], errors_by_index[offset + i]["error_type"])
                for i, chunk in enumerate(item.chunks)
                if offset + i in errors_by_index
            )
            offset += len(item.chunks)
            counts.done += 1
            counts.chunks += len(item.chunks) - len(failures)
            counts.chunks_failed += len(failures)
            if failures:
                # Old chunks stay until the file indexes cleanly: better stale
                # than missing; the diagnostic says what went wrong.
                counts.failed += 1
                self._emit(FileFailed(root, item.source.rel_path, failures))
                continue
            if self._may_have_stale_chunks(indexed, item):
                await self._store.delete_stale(root.workspace_id, item.source.rel_path, item.file_hash)
            counts.indexed += 1
            self._emit(FileIndexed(root, item.source.rel_path, len(item.chunks)))

    @staticmethod
    def _may_have_stale_chunks(indexed: dict[str, set[str]] | None, item: _Prepared) -> bool:
        """Whether Weaviate may hold chunks of this file with another hash (unknown: assume so)."""
        if indexed is None:
            return True
        return bool(indexed.get(item.source.rel_path, set()) - {item.file_hash})

    def _prepare(
        self,
        root: WorkspaceRoot,
        group: list[SourceFile],
        indexed: dict[str, set[str]] | None,
        force: bool,
    ) -> list[_Prepared | _Unchanged | FileSkipped]:
        """Read, chunk and embed (blocking: runs in a worker thread)."""
        indexing = self.settings.indexing
        options = ChunkingOptions(indexing.chunk_lines, indexing.chunk_overlap, indexing.min_chunk_lines)
        out: list[_Prepared | _Unchanged | FileSkipped] = []
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for source in group:
            try:
                text = read_source(source, indexing.max_file_size_kb * 1024)
            except FileSkipped as skipped:
                out.append(skipped)
                continue
            if not force and indexed is not None and indexed.get(source.rel_path) == {text.file_hash}:
                out.append(_Unchanged(source))
                continue
            chunks = chunk_file(source.rel_path, text.text, options)
            language = language_of(source.rel_path)
            objects = [
                {
                    "content": c.content,
                    "file_path": source.rel_path,
                    "workspace": root.workspace_id,
                    "language": language,
                    "chunk_type": c.kind,
                    "chunk_name": c.name,
                    "start_line": c.start_line,
                    "end_line": c.end_line,
                    "file_hash": text.file_hash,
                    "indexed_at": now,
                }
                for c in chunks
            ]
            uuids = [
                chunk_uuid(root.workspace_id, source.rel_path, c.start_line, c.end_line, c.content) for c in chunks
            ]
            vectors = self._embedder.embed([c.content for c in chunks])
            out.append(_Prepared(source, text.file_hash, chunks, objects, vectors, uuids))
        return out
