"""The indexing service: a short coordinator of runs over the stages. No LSP here.

Weaviate holds the truth: a workspace run first asks it which files (and
content hashes) it has, then sends only files whose content differs, and
removes chunks of files that are gone or now ignored.

A run's steps, for each group of files: plan (`planning`: settle what the hash
cache and Weaviate vouch for) → prepare (`preparing`: read, chunk, embed) →
send (`sending`: insert, delete stale), overlapping through `streaming`.
Per-file locks make a save and a workspace run that touch the same file take
turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..settings import Settings
from ..embedding import Embedder
from ..metrics import Metrics
from ..store.errors import StoreError
from ..workspace.discovery import SourceFile, discover_files, is_indexable
from ..workspace.hash_cache import HashCache
from .events import EventSink, FileRemoved, IndexFinished, IndexStarted, IndexSummary, ProgressSink, WorkspaceRoot
from .file_locks import FileLocks
from .planning import Group, Stated, changed_sources, discovered_groups, ordered_sources, settle_unchanged
from .preparing import Item, Preparer
from .run import IndexRun
from .sending import Sender
from .sink import ChunkSink
from .streaming import stream

TIMER_DISCOVER = "indexing.discover"
LISTED_BATCH = 100  # a batch of more changed files than this is compared against what Weaviate holds


def _retrieve_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class _RunStages:
    """The stages of one run, as `streaming.stream` drives them."""

    def __init__(
        self,
        service: IndexingService,
        run: IndexRun,
        sources: Callable[[], Iterable[Stated]],
        listing: Awaitable[dict[str, set[str]]] | None,
    ) -> None:
        self.run = run
        self.present: set[str] = set()  # every path discovery found
        self._sources = sources
        self._listing = listing
        self._indexing = service.settings.indexing
        self._identity = service.embedder.identity
        self._metrics = service.metrics
        self._locks = service.file_locks
        self._preparer = Preparer(self._indexing, service.store, service.embedder, service.metrics)
        self._sender = Sender(service.store, service.settings.weaviate.endpoint, service.metrics)

    @property
    def cancelled(self) -> bool:
        return self.run.cancelled

    def discover(self) -> Iterator[Group]:
        with self._metrics.timer(TIMER_DISCOVER):
            yield from discovered_groups(self.run, self._sources(), self.present)

    def has_work(self, group: Group) -> bool:
        return group.has_work

    async def ready(self) -> None:
        if self._listing is not None:
            self.run.indexed = await self._listing

    async def prepare(self, group: Group) -> tuple[list[str], list[Item]] | None:
        files = settle_unchanged(self.run, group, self._indexing, self._identity)
        if not files:
            self.run.progress()
            return None
        paths = [f.rel_path for f in files]
        await self._locks.acquire(self.run.root.path, paths)
        try:
            return paths, await asyncio.to_thread(self._preparer.prepare, self.run, files)
        except BaseException:
            self._locks.release(self.run.root.path, paths)  # the send stage never got them
            raise

    async def send(self, prepared: tuple[list[str], list[Item]]) -> None:
        paths, items = prepared
        try:
            if not self.run.cancelled:
                await self._sender.send(self.run, items)
        finally:
            self._locks.release(self.run.root.path, paths)
        self.run.progress()

    def discard(self, prepared: tuple[list[str], list[Item]]) -> None:
        self._locks.release(self.run.root.path, prepared[0])


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
        self.settings = settings  # read at the start of each run: a live change applies to the next one
        self.store = store
        self.embedder = embedder
        self.metrics = metrics or Metrics()
        self.file_locks = FileLocks()
        self._hash_cache_dir = hash_cache_dir  # None: every workspace run reads every file
        self._emit = on_event
        self._workspace_run = asyncio.Lock()  # never two workspace runs at once

    async def index_workspace(
        self,
        root: WorkspaceRoot,
        *,
        force: bool = False,
        cancel: asyncio.Event | None = None,
        progress: ProgressSink | None = None,
        first: Collection[str] = (),
    ) -> IndexSummary:
        """Bring Weaviate in line with the files under `root`; `force` re-sends unchanged files too.

        Files go in the order a user wants them searchable: `first` (relative paths: the open documents),
        then the most recently modified.
        """
        async with self._workspace_run:
            run = IndexRun(root, self._emit, force, cancel or asyncio.Event(), report=progress)
            # Asking Weaviate what it holds waits on the network while discovery walks the tree: overlap them.
            listing = asyncio.ensure_future(self.store.indexed_files(root.workspace_id))
            listing.add_done_callback(_retrieve_exception)  # a failure is reported by the run, not by asyncio's logger
            error: str | None = None
            try:
                await self._workspace_steps(run, listing, first)
            except StoreError as err:
                error = str(err)
            finally:
                if not listing.done():
                    listing.cancel()
            return self._finish(run, error)

    async def _workspace_steps(self, run: IndexRun, listing: asyncio.Future[dict[str, set[str]]], first: Collection[str]) -> None:
        """Stream the tree's files through the stages, remember their hashes, drop the files gone."""
        indexing = self.settings.indexing
        cache = await asyncio.to_thread(HashCache.load, self._hash_cache_dir, run.root.workspace_id)
        if not run.force:
            run.hashes = cache  # looked up and remembered; a forced run reads every file anyway
        self._emit(IndexStarted(run.root))
        stages = _RunStages(
            self, run, lambda: ordered_sources(discover_files(run.root.path, indexing.exclude, indexing.include), first), listing
        )
        await stream(stages)
        indexed = await listing
        if run.cancelled:
            return
        cache.keep_only(stages.present)
        await asyncio.to_thread(cache.save)
        for rel_path in sorted(set(indexed) - stages.present):
            async with self.file_locks.hold(run.root.path, [rel_path]):
                await self.store.delete_file(run.root.workspace_id, rel_path)
            run.counts.removed += 1
            self._emit(FileRemoved(run.root, rel_path))

    async def index_file(self, root: WorkspaceRoot, rel_path: str) -> None:
        """Re-index one file after a save (or drop its chunks when it is gone)."""
        source = SourceFile(root.path / rel_path, rel_path)
        indexing = self.settings.indexing
        async with self.file_locks.hold(root.path, [rel_path]):
            if not source.path.exists():
                await self.store.delete_file(root.workspace_id, rel_path)
                self._emit(FileRemoved(root, rel_path))
                return
            if not is_indexable(root.path, rel_path, indexing.exclude, indexing.include):
                return
            run = IndexRun(root, self._emit, force=True)
            items = await asyncio.to_thread(Preparer(indexing, self.store, self.embedder, self.metrics).prepare, run, [source])
            await Sender(self.store, self.settings.weaviate.endpoint, self.metrics).send(run, items)

    async def apply_changes(
        self,
        root: WorkspaceRoot,
        changed: Sequence[str],
        deleted: Sequence[str],
        cancel: asyncio.Event | None = None,
        progress: ProgressSink | None = None,
    ) -> IndexSummary:
        """Index changed paths and drop deleted ones (a path may be a folder) as one batch."""
        run = IndexRun(root, self._emit, cancel=cancel or asyncio.Event(), report=progress)
        error: str | None = None
        try:
            for rel_path in deleted:
                if not (root.path / rel_path).exists():
                    async with self.file_locks.hold(root.path, [rel_path]):
                        await self.store.delete_path(root.workspace_id, rel_path)
                    run.counts.removed += 1
                    self._emit(FileRemoved(root, rel_path))
            sources = await asyncio.to_thread(changed_sources, root, changed, self.settings.indexing)
            if sources:
                # A big batch (a branch switch) is cheaper to compare against
                # what Weaviate holds than to re-send in full.
                listing = self.store.indexed_files(root.workspace_id) if len(sources) > LISTED_BATCH else None
                self._emit(IndexStarted(root))
                await stream(_RunStages(self, run, lambda: ((source, None) for source in sources), listing))
        except StoreError as err:
            error = str(err)
        return self._finish(run, error)

    def _finish(self, run: IndexRun, error: str | None) -> IndexSummary:
        summary = run.summary(error)
        self._emit(IndexFinished(run.root, summary))
        return summary
