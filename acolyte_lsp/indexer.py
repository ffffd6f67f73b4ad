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
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from .config import IndexingSettings, Settings
from .embedding import Embedder, identifier_words, vector_key
from .identity import chunk_uuid, workspace_id
from .metrics import Metrics
from .vectors import Float32Vector, VectorError, to_float32
from .store.batch_inserter import BatchResult, ErrorType
from .store.errors import StoreError, WeaviateUnavailableError
from .workspace.chunking import Chunk, ChunkingOptions, chunk_file, language_of
from .workspace.discovery import FileSkipped, IgnoreRules, SourceFile, discover_files, is_indexable, read_source
from .workspace.hash_cache import HashCache
from .workspace.secrets import SecretMatch, find_secrets, redact_secrets

FIRST_GROUP_FILES = 4
FILES_PER_GROUP = 32
SETTLED_GROUP_FILES = 1024  # a group of files the hash cache vouches for can be this large
QUEUE_GROUPS = 2  # groups waiting between two stages
SETTLED_GROUPS_AHEAD = 64  # groups the hash cache settles whole, queued while Weaviate answers
TIMER_DISCOVER = "indexing.discover"
TIMER_READ_CHUNK = "indexing.read_chunk"
TIMER_EMBED = "indexing.embed"
TIMER_DELETE = "indexing.delete_stale"
_UNREACHABLE = {ErrorType.CONNECTION, ErrorType.TIMEOUT}
# Bumped when the chunker cuts the same text differently, so stored files are re-sent.
CHUNKER_VERSION = "1"
EMBEDDED_TEXT_VERSION = "2"  # bump when embedded_text changes: every file is then sent (and embedded) again


def chunking_options(indexing: IndexingSettings) -> ChunkingOptions:
    """How the settings say files are cut."""
    return ChunkingOptions(indexing.chunk_lines, indexing.chunk_overlap, indexing.min_chunk_lines)


def stored_file_hash(content_hash: str, options: ChunkingOptions, redact: bool, embedder: str | None) -> str:
    """The `file_hash` chunks carry: the file's bytes, how they were cut and masked, and what embedded them.

    A change of chunk sizes, of secret masking or of embedder (a model becoming
    available where hashing stood in) then reads as a changed file, so its old
    chunks are replaced instead of lingering beside the new ones.
    """
    cut = f"{options.max_lines}:{options.overlap}:{options.min_lines}:{int(redact)}:{CHUNKER_VERSION}:{EMBEDDED_TEXT_VERSION}:{embedder}"
    return hashlib.sha256(f"{content_hash}:{cut}".encode()).hexdigest()


def embedded_text(rel_path: str, chunk: Chunk) -> str:
    """What the embedder reads for a chunk: its definition's name as words, then its text.

    Measured in BENCHMARKS.md against the text alone and other contexts. The file path
    would rank better still but is left out on purpose (the benchmarks' variants read
    `rel_path`): text moved to another file then keeps its embedded text, so its vector
    is reused instead of computed again.
    """
    if chunk.kind == "MODULE":  # "imports", "lines 44-58": no name worth reading
        return chunk.content
    return f"{' '.join(identifier_words(chunk.name.split(' [part ')[0]))}\n{chunk.content}"


def _has_work(group: list[SourceFile], cached_hashes: dict[str, str]) -> bool:
    """Whether a discovered group holds files the hash cache cannot vouch for (they must be read)."""
    return len(group) > len(cached_hashes)


def _retrieve_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _stat(source: SourceFile) -> os.stat_result | None:
    try:
        return source.path.stat()
    except OSError:
        return None


def _secret_reason(secret: SecretMatch) -> str:
    return (
        f"holds what looks like a {secret.kind} (line {secret.line}), so it is kept out of Weaviate; remove the "
        "secret, list the file in .acolyteignore, or set indexing.redact_secrets: true to index it with secrets masked"
    )


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
    warn: bool = False  # worth telling the user (a withheld secret), not routine (a binary file)


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

    async def delete_path(self, workspace: str, path: str) -> int: ...

    async def indexed_files(self, workspace: str) -> dict[str, set[str]]: ...

    def stored_vectors(self, workspace: str, keys: Sequence[str]) -> dict[str, Sequence[float]]:
        """Vectors Weaviate holds under these `vector_key`s (blocking; called from worker threads)."""
        ...


@dataclass(frozen=True)
class _Prepared:
    source: SourceFile
    file_hash: str
    chunks: list[Chunk]
    objects: list[dict[str, Any]]
    vectors: list[Float32Vector] | None
    uuids: list[str]
    embedded: int  # chunks the embedder embedded …
    reused: int  # … and chunks whose vector Weaviate already held for the same text


@dataclass(frozen=True)
class _Unchanged:
    source: SourceFile


@dataclass(frozen=True)
class _Unstorable:
    """A file whose chunks cannot be sent (the embedder gave a vector float32 cannot hold)."""

    source: SourceFile
    failures: tuple[ChunkFailure, ...]


_Item = _Prepared | _Unchanged | _Unstorable | FileSkipped


@dataclass
class _RunCounts:
    total: int | None = None
    indexed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    removed: int = 0
    chunks: int = 0
    chunks_failed: int = 0
    embedded: int = 0
    reused: int = 0
    done: int = 0

    def summary(self, seconds: float, cancelled: bool, error: str | None) -> IndexSummary:
        return IndexSummary(
            files_total=self.total or 0,
            files_indexed=self.indexed,
            files_unchanged=self.unchanged,
            files_failed=self.failed,
            files_skipped=self.skipped,
            files_removed=self.removed,
            chunks=self.chunks,
            chunks_failed=self.chunks_failed,
            chunks_embedded=self.embedded,
            chunks_reused=self.reused,
            seconds=seconds,
            cancelled=cancelled,
            error=error,
        )


@dataclass
class _FileLocks:
    """One asyncio lock per file, created on demand and dropped when nobody holds or waits for it."""

    locks: dict[tuple[Path, str], asyncio.Lock] = field(default_factory=dict)
    users: dict[tuple[Path, str], int] = field(default_factory=dict)

    async def acquire(self, root: Path, rel_paths: Sequence[str]) -> None:
        # Sorted acquisition: two holders of several locks can never deadlock.
        keys = sorted({(root, p) for p in rel_paths})
        for key in keys:
            self.users[key] = self.users.get(key, 0) + 1
            self.locks.setdefault(key, asyncio.Lock())
        acquired = 0
        try:
            for key in keys:
                await self.locks[key].acquire()
                acquired += 1
        except BaseException:
            for n, key in enumerate(keys):
                self._done(key, held=n < acquired)
            raise

    def release(self, root: Path, rel_paths: Sequence[str]) -> None:
        for key in sorted({(root, p) for p in rel_paths}):
            self._done(key, held=True)

    def _done(self, key: tuple[Path, str], held: bool) -> None:
        if held:
            self.locks[key].release()
        self.users[key] -= 1
        if self.users[key] == 0:
            del self.users[key], self.locks[key]

    @asynccontextmanager
    async def hold(self, root: Path, rel_paths: Sequence[str]) -> AsyncIterator[None]:
        await self.acquire(root, rel_paths)
        try:
            yield
        finally:
            self.release(root, rel_paths)


class IndexingService:
    """Indexes workspaces and single files into a `ChunkSink`, reporting through events."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkSink,
        embedder: Embedder,
        on_event: EventSink,
        metrics: Metrics | None = None,
        hash_cache_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self._hash_cache_dir = hash_cache_dir  # None: every workspace run reads every file
        self.metrics = metrics or Metrics()
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
        error: str | None = None
        # Asking Weaviate what it holds waits on the network while discovery walks the tree: overlap them.
        listing = asyncio.ensure_future(self._store.indexed_files(root.workspace_id))
        listing.add_done_callback(_retrieve_exception)  # a failure is reported by the run, not by asyncio's logger
        try:
            indexing = self.settings.indexing
            cache = await asyncio.to_thread(HashCache.load, self._hash_cache_dir, root.workspace_id)
            self._emit(IndexStarted(root))
            present = await self._pipeline(
                root, lambda: discover_files(root.path, indexing.exclude, indexing.include), listing, force, cancel, counts,
                cache,
            )
            indexed = await listing
            if not cancel.is_set():
                cache.keep_only(present)
                await asyncio.to_thread(cache.save)
                for rel_path in sorted(set(indexed) - present):
                    async with self._file_locks.hold(root.path, [rel_path]):
                        await self._store.delete_file(root.workspace_id, rel_path)
                    counts.removed += 1
                    self._emit(FileRemoved(root, rel_path))
        except StoreError as err:
            error = str(err)
        finally:
            if not listing.done():
                listing.cancel()
        summary = counts.summary(time.perf_counter() - started, cancel.is_set(), error)
        self._emit(IndexFinished(root, summary))
        return summary

    async def _pipeline(
        self,
        root: WorkspaceRoot,
        sources: Callable[[], Iterable[SourceFile]],
        listing: Awaitable[dict[str, set[str]]] | None,
        force: bool,
        cancel: asyncio.Event,
        counts: _RunCounts,
        cache: HashCache | None = None,
    ) -> set[str]:
        """Discover → prepare (read, chunk, embed) → insert, overlapping, with bounded queues.

        Returns the paths discovery found. At most `QUEUE_GROUPS` groups wait
        between stages, so memory stays flat however large the workspace is.
        `listing` (what Weaviate holds) is awaited before the first group is
        prepared; None means unknown (every file is sent).
        """
        indexed: dict[str, set[str]] | None = None
        loop = asyncio.get_running_loop()
        # Each group carries the cached content hashes discovery found for its files.
        # Groups with files to read wait at most QUEUE_GROUPS deep; groups the hash cache settles
        # whole are light (paths only) and may run further ahead, so discovery finishes while
        # Weaviate is still answering what it holds.
        groups: asyncio.Queue[tuple[list[SourceFile], dict[str, str]] | None] = asyncio.Queue()
        room = {True: threading.Semaphore(QUEUE_GROUPS), False: threading.Semaphore(SETTLED_GROUPS_AHEAD)}
        prepared: asyncio.Queue[tuple[list[SourceFile], list[_Item]] | None] = asyncio.Queue(QUEUE_GROUPS)
        present: set[str] = set()
        stop = threading.Event()

        lookup = cache is not None and not force and listing is not None

        def discover() -> None:
            def put(item: tuple[list[SourceFile], dict[str, str]] | None) -> bool:
                if item is not None:
                    while not room[_has_work(*item)].acquire(timeout=0.1):
                        if stop.is_set():
                            return False
                loop.call_soon_threadsafe(groups.put_nowait, item)
                return True

            group: list[SourceFile] = []
            hashes: dict[str, str] = {}
            size = FIRST_GROUP_FILES  # a small first group gets the first chunks out at once
            with self.metrics.timer(TIMER_DISCOVER):
                for source in sources():
                    if stop.is_set():
                        return
                    present.add(source.rel_path)
                    group.append(source)
                    stat = _stat(source) if lookup else None
                    cached = cache.lookup(source.rel_path, stat) if cache is not None and stat is not None else None
                    if cached is not None:
                        hashes[source.rel_path] = cached
                    # Files likely unchanged cost almost nothing downstream: only the others fill a group.
                    if len(group) - len(hashes) >= size or len(group) >= SETTLED_GROUP_FILES:
                        if not put((group, hashes)):
                            return
                        group, hashes, size = [], {}, FILES_PER_GROUP
            counts.total = len(present)
            if (group and not put((group, hashes))) or not put(None):
                return

        async def prepare() -> None:
            nonlocal indexed
            if listing is not None:
                indexed = await listing
            while (entry := await groups.get()) is not None:
                room[_has_work(*entry)].release()
                if cancel.is_set():
                    stop.set()  # discovery stops at its next file or its next put
                    break
                group = self._settle_unchanged(*entry, indexed, counts)
                if not group:
                    self._emit(IndexProgress(root, counts.done, counts.total, counts.chunks, counts.failed))
                    continue
                paths = [f.rel_path for f in group]
                await self._file_locks.acquire(root.path, paths)
                try:
                    items = await asyncio.to_thread(self._prepare, root, group, indexed, force, cache if lookup else None)
                    await prepared.put((group, items))
                except BaseException:
                    self._file_locks.release(root.path, paths)  # the insert stage never got them
                    raise
            await prepared.put(None)

        async def insert() -> None:
            while (entry := await prepared.get()) is not None:
                group, items = entry
                try:
                    if not cancel.is_set():
                        await self._send(root, items, indexed, counts)
                finally:
                    self._file_locks.release(root.path, [f.rel_path for f in group])
                self._emit(IndexProgress(root, counts.done, counts.total, counts.chunks, counts.failed))

        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(asyncio.to_thread(discover))
                tasks.create_task(prepare())
                tasks.create_task(insert())
        except BaseExceptionGroup as group_error:
            stop.set()
            store_errors = [e for e in group_error.exceptions if isinstance(e, StoreError)]
            if store_errors:
                raise store_errors[0] from None
            raise
        finally:
            stop.set()
            # Locks of groups prepared but never sent (cancelled, or failed).
            while not prepared.empty():
                entry = prepared.get_nowait()
                if entry is not None:
                    self._file_locks.release(root.path, [f.rel_path for f in entry[0]])
        return present

    def _settle_unchanged(
        self, group: list[SourceFile], hashes: dict[str, str], indexed: dict[str, set[str]] | None, counts: _RunCounts
    ) -> list[SourceFile]:
        """Count the files whose cached hash Weaviate already holds; return the others (to be read)."""
        if not hashes or indexed is None:
            return group
        indexing = self.settings.indexing
        options = chunking_options(indexing)
        work = []
        for source in group:
            cached = hashes.get(source.rel_path)
            if cached is not None and indexed.get(source.rel_path) == {
                stored_file_hash(cached, options, indexing.redact_secrets, self._embedder.identity)
            }:
                counts.unchanged += 1
                counts.done += 1
            else:
                work.append(source)
        return work

    def _vectors(
        self, workspace: str, texts: list[str], may_reuse: bool
    ) -> tuple[list[str] | None, Sequence[Sequence[float]] | None, list[bool]]:
        """(vector keys, vectors, which were reused) for `texts`: Weaviate's for texts it holds under
        the same embedder, the embedder's for the rest (blocking: runs in a worker thread)."""
        identity = self._embedder.identity
        if identity is None or not texts:  # Weaviate's module embeds (or there is nothing to embed)
            return None, self._embedder.embed(texts) if texts else [], [False] * len(texts)
        keys = [vector_key(identity, text) for text in texts]
        stored = self._store.stored_vectors(workspace, sorted(set(keys))) if may_reuse else {}
        dimensions = self._embedder.dimensions
        stored = {  # a reply that is not a vector of this embedder's size is no reason to fail a file
            key: vector
            for key, vector in stored.items()
            if isinstance(vector, list) and len(vector) == dimensions
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vector)
        }
        missing = [i for i, key in enumerate(keys) if key not in stored]
        fresh: Sequence[Sequence[float]] = []
        if missing:
            with self.metrics.timer(TIMER_EMBED):
                fresh = self._embedder.embed([texts[i] for i in missing]) or []
        vectors: list[Sequence[float]] = [stored.get(key, ()) for key in keys]
        for i, vector in zip(missing, fresh):
            vectors[i] = vector
        missing_set = set(missing)
        return keys, vectors, [i not in missing_set for i in range(len(texts))]

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
            items = await asyncio.to_thread(self._prepare, root, [source], None, True)
            await self._send(root, items, None, _RunCounts())

    async def apply_changes(
        self,
        root: WorkspaceRoot,
        changed: Sequence[str],
        deleted: Sequence[str],
        cancel: asyncio.Event | None = None,
    ) -> IndexSummary:
        """Index changed paths and drop deleted ones (a path may be a folder) as one batch."""
        started = time.perf_counter()
        cancel = cancel or asyncio.Event()
        counts = _RunCounts()
        error: str | None = None
        try:
            for rel_path in deleted:
                if not (root.path / rel_path).exists():
                    async with self._file_locks.hold(root.path, [rel_path]):
                        await self._store.delete_path(root.workspace_id, rel_path)
                    counts.removed += 1
                    self._emit(FileRemoved(root, rel_path))
            sources = await asyncio.to_thread(self._changed_sources, root, changed)
            if sources:
                # A big batch (a branch switch) is cheaper to compare against
                # what Weaviate holds than to re-send in full.
                listing = self._store.indexed_files(root.workspace_id) if len(sources) > 100 else None
                self._emit(IndexStarted(root))
                await self._pipeline(root, lambda: sources, listing, False, cancel, counts)
        except StoreError as err:
            error = str(err)
        summary = counts.summary(time.perf_counter() - started, cancel.is_set(), error)
        self._emit(IndexFinished(root, summary))
        return summary

    def _changed_sources(self, root: WorkspaceRoot, changed: Sequence[str]) -> list[SourceFile]:
        """Files to index for changed paths: folders are walked; ignored and vanished paths dropped."""
        indexing = self.settings.indexing
        rules = IgnoreRules(root.path, indexing.exclude, indexing.include)  # once per batch, not per file
        out: dict[str, SourceFile] = {}
        for rel_path in changed:
            path = root.path / rel_path
            if path.is_dir():
                for source in discover_files(root.path, indexing.exclude, indexing.include, under=rel_path):
                    out[source.rel_path] = source
            elif path.is_file() and rules.allows_file(rel_path):
                out[rel_path] = SourceFile(path, rel_path)
        return list(out.values())

    async def _send(
        self,
        root: WorkspaceRoot,
        items: list[_Item],
        indexed: dict[str, set[str]] | None,
        counts: _RunCounts,
    ) -> None:
        """Insert the prepared files' chunks, then delete what they replace; emit one event per file."""
        to_send: list[_Prepared] = []
        for item in items:
            if isinstance(item, FileSkipped):
                counts.skipped += 1
                counts.done += 1
                self._emit(FileNotIndexed(root, item.rel_path, item.reason, item.warn))
                if indexed is None or item.rel_path in indexed:
                    # It was indexed before it became binary, too big or unreadable.
                    await self._store.delete_file(root.workspace_id, item.rel_path)
            elif isinstance(item, _Unchanged):
                counts.unchanged += 1
                counts.done += 1
            elif isinstance(item, _Unstorable):
                counts.done += 1
                counts.failed += 1
                counts.chunks_failed += len(item.failures)
                self._emit(FileFailed(root, item.source.rel_path, item.failures))
            else:
                to_send.append(item)
        if not to_send:
            return
        objects = [o for p in to_send for o in p.objects]
        uuids = [u for p in to_send for u in p.uuids]
        vectors = None if to_send[0].vectors is None else [v for p in to_send for v in p.vectors or []]
        result = await self._store.insert(objects, vectors, uuids)
        if result.successful == 0 and result.errors and all(e["error_type"] in _UNREACHABLE for e in result.errors):
            raise WeaviateUnavailableError(self.settings.weaviate.endpoint, result.errors[0]["error"])
        errors_by_index = {e["index"]: e for e in result.errors}
        offset = 0
        for item in to_send:
            failures = tuple(
                ChunkFailure(
                    chunk.start_line,
                    chunk.end_line,
                    errors_by_index[offset + i]["error"],
                    errors_by_index[offset + i]["error_type"],
                )
                for i, chunk in enumerate(item.chunks)
                if offset + i in errors_by_index
            )
            offset += len(item.chunks)
            counts.done += 1
            counts.embedded += item.embedded
            counts.reused += item.reused
            counts.chunks += len(item.chunks) - len(failures)
            counts.chunks_failed += len(failures)
            if failures:
                # Old chunks stay until the file indexes cleanly: better stale
                # than missing; the diagnostic says what went wrong.
                counts.failed += 1
                self._emit(FileFailed(root, item.source.rel_path, failures))
                continue
            if self._may_have_stale_chunks(indexed, item):
                with self.metrics.timer(TIMER_DELETE):
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
        cache: HashCache | None = None,
    ) -> list[_Item]:
        """Read, chunk, then embed the whole group in one call (blocking: runs in a worker thread).

        With `cache`, each hash read is remembered for the next run.
        """
        indexing = self.settings.indexing
        options = chunking_options(indexing)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        out: list[_Item] = []
        chunked: list[tuple[int, SourceFile, str, list[Chunk]]] = []
        with self.metrics.timer(TIMER_READ_CHUNK):
            for source in group:
                stat = _stat(source) if cache is not None else None  # before reading: what the hash is of
                try:
                    text = read_source(source, indexing.max_file_size_kb * 1024)
                except FileSkipped as skipped:
                    out.append(skipped)
                    continue
                if stat is not None and cache is not None:
                    cache.remember(source.rel_path, stat, text.file_hash)
                file_hash = stored_file_hash(text.file_hash, options, indexing.redact_secrets, self._embedder.identity)
                if not force and indexed is not None and indexed.get(source.rel_path) == {file_hash}:
                    out.append(_Unchanged(source))
                    continue
                content = text.text
                secrets = find_secrets(content)
                if secrets and not indexing.redact_secrets:
                    out.append(FileSkipped(source.rel_path, _secret_reason(secrets[0]), warn=True))
                    continue
                if secrets:
                    content = redact_secrets(content)
                chunked.append((len(out), source, file_hash, chunk_file(source.rel_path, content, options)))
                out.append(_Unchanged(source))  # placeholder, replaced below
        texts = [embedded_text(source.rel_path, c) for _, source, _, chunks in chunked for c in chunks]
        # Weaviate may already hold the vector of a text that did not change (or moved): only
        # the rest is embedded. Nothing is held yet in a workspace Weaviate knows nothing of.
        keys, vectors, was_reused = self._vectors(root.workspace_id, texts, may_reuse=indexed is None or bool(indexed))
        offset = 0
        for position, source, file_hash, chunks in chunked:
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
                    "file_hash": file_hash,
                    "indexed_at": now,
                    "chunk_index": index,
                    "file_chunks": len(chunks),
                    **({} if keys is None else {"vector_key": keys[offset + index]}),
                }
                for index, c in enumerate(chunks)
            ]
            uuids = [chunk_uuid(root.workspace_id, source.rel_path, c.start_line, c.end_line, c.content) for c in chunks]
            file_vectors: list[Float32Vector] | None = None
            if vectors is not None:
                try:
                    file_vectors = to_float32(vectors[offset : offset + len(chunks)])
                except VectorError as err:
                    bad = chunks[err.index]
                    failure = ChunkFailure(bad.start_line, bad.end_line, str(err), ErrorType.INVALID_OBJECT)
                    out[position] = _Unstorable(source, (failure,))
                    offset += len(chunks)
                    continue
            reused = sum(was_reused[offset : offset + len(chunks)])
            embedded = 0 if vectors is None else len(chunks) - reused
            offset += len(chunks)
            out[position] = _Prepared(source, file_hash, chunks, objects, file_vectors, uuids, embedded, reused)
        return out
