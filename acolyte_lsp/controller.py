"""The indexing session of one editor: roots, runs and queries over one connection. No LSP here.

The server translates LSP into calls on a `Controller` and its events and
notices back into LSP. The connection (`connection.py`) keeps the way to
Weaviate; the controller runs the indexer over the store while it is there.
When Weaviate is away the server runs a workspace index once it answers again,
which picks up every change made in the meantime (a run converges to what is
on disk), so changes seen while away only need counting, not keeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path

from .changes import Batch, ChangeKind
from .settings import Settings
from .connection import Connection, EmbeddedQuestion, StoreOpener
from .indexer.events import EventSink, IndexEvent, IndexSummary, ProgressSink, WorkspaceRoot
from .indexer.service import IndexingService
from .indexing_lease import WorkspaceLeases
from .metrics import Metrics
from .notices import Notice, NoticeSink, SetupSink
from .refused_files import RefusedFiles
from .store.chunk_store import ChunkStore
from .store.errors import StoreError, WeaviateUnavailableError
from .searching import SearchResult, Searcher
from .store.queries import WorkspaceSummary
from .workspace.discovery import relative_posix
from .workspace.hash_cache import hash_cache_dir_for

log = logging.getLogger(__name__)

MAX_REMEMBERED_AWAY = 10_000  # beyond this, only "a full run is needed" is kept


class State(StrEnum):
    """Values of the controller's `state` (as `acolyte.indexStatus` shows them)."""

    STARTING = "starting"
    WAITING_FOR_WEAVIATE = "waiting for Weaviate"
    SETTINGS_ERROR = "settings error"
    INDEXING = "indexing"
    IDLE = "idle"
    STOPPED = "stopped"


def root_holding(roots: Sequence[WorkspaceRoot], path: Path) -> tuple[WorkspaceRoot, str] | None:
    """The root holding `path` and the path relative to it (deepest root wins)."""
    best: tuple[WorkspaceRoot, str] | None = None
    for root in roots:
        rel = relative_posix(root.path, path)
        if rel is not None and rel != "." and (best is None or len(str(root.path)) > len(str(best[0].path))):
            best = (root, rel)
    return best


def changes_by_root(roots: Sequence[WorkspaceRoot], batch: Batch) -> dict[WorkspaceRoot, tuple[list[str], list[str]]]:
    """A batch of changes split by the root holding each path: (changed, deleted) relative paths."""
    by_root: dict[WorkspaceRoot, tuple[list[str], list[str]]] = {}
    for path, kind in batch.items():
        found = root_holding(roots, path)
        if found is not None:
            changed, deleted = by_root.setdefault(found[0], ([], []))
            (deleted if kind is ChangeKind.DELETED else changed).append(found[1])
    return by_root


class ChangesWhileAway:
    """Paths changed while Weaviate was away: counted for the status, not kept beyond a bound."""

    def __init__(self) -> None:
        self.paths: set[Path] = set()
        self.overflowed = False  # more than MAX_REMEMBERED_AWAY: the full run after reconnecting covers them

    def remember(self, batch: Batch) -> None:
        if len(self.paths) + len(batch) > MAX_REMEMBERED_AWAY:
            self.overflowed = True
            return
        self.paths.update(batch)

    def clear(self) -> None:
        self.paths.clear()
        self.overflowed = False

    @property
    def full_run_needed(self) -> bool:
        return self.overflowed or bool(self.paths)


class Controller:
    """Runs the indexer over a set of workspace folders while the connection holds a store."""

    def __init__(
        self,
        folders: Sequence[Path],
        settings: Settings,
        on_event: EventSink,
        on_notice: NoticeSink,
        open_store: StoreOpener = ChunkStore.open,
        ask_embedded: EmbeddedQuestion | None = None,
        on_setup: SetupSink | None = None,
        lease_holder: str | None = None,
    ) -> None:
        """`lease_holder` names a long-running process (a language server, an MCP server) that indexes a folder
        only while it holds the folder's lease; without it (a one-off `acolyte-lsp index`) every folder is indexed."""
        self.roots = WorkspaceRoot.for_folders(list(folders), settings.indexing.workspace_id)
        self.metrics = Metrics()
        self.connection = Connection(settings, self.metrics, on_notice, on_setup or (lambda step: None), open_store, ask_embedded)
        self.last_summaries: dict[Path, IndexSummary] = {}
        self.last_indexed: dict[Path, str] = {}  # when each root's last complete run ended (UTC)
        self.refused = RefusedFiles()
        self.away = ChangesWhileAway()
        self._on_event = on_event
        self.notify = on_notice
        self._indexing: IndexingService | None = None
        self._refused_retry: asyncio.Task[None] | None = None
        self._active_runs = 0
        self.searcher = Searcher(self.connection)
        self.leases = None if lease_holder is None else WorkspaceLeases(
            lease_holder, on_notice, lambda: (self.connection.endpoint, self.settings.weaviate.class_name)
        )

    @property
    def settings(self) -> Settings:
        return self.connection.settings

    @property
    def connected(self) -> bool:
        return self.connection.store is not None

    @property
    def state(self) -> State:
        connection = self.connection
        if connection.stopped:
            return State.STOPPED
        if connection.settings_error:
            return State.SETTINGS_ERROR
        if connection.store is None:
            return State.STARTING if connection.last_error is None else State.WAITING_FOR_WEAVIATE
        return State.INDEXING if self._active_runs else State.IDLE

    def _indexer(self) -> IndexingService | None:
        """The indexer over the connected store (a new one after each reconnection); None while away."""
        store = self.connection.store
        if store is None:
            return None
        if self._indexing is None or self._indexing.store is not store:
            assert self.connection.embedder is not None
            self._indexing = IndexingService(
                self.settings, store, self.connection.embedder, self._track_event, self.metrics, hash_cache_dir_for(self.settings)
            )
        return self._indexing

    # -- runs --------------------------------------------------------------------

    async def index_all(
        self,
        *,
        force: bool = False,
        cancel: asyncio.Event | None = None,
        progress: ProgressSink | None = None,
        first: Collection[Path] = (),
    ) -> list[IndexSummary]:
        """Index every root in turn (requires a connection); `progress` hears how far the run is; the files
        `first` (the open documents) go before the rest."""
        cancel = cancel or asyncio.Event()
        summaries = await self.index_roots(list(self.roots), force=force, cancel=cancel, progress=progress, first=first)
        if not any(s.error for s in summaries) and not cancel.is_set():
            self.away.clear()
        return summaries

    async def index_roots(
        self,
        roots: Sequence[WorkspaceRoot],
        *,
        force: bool = False,
        cancel: asyncio.Event | None = None,
        progress: ProgressSink | None = None,
        asked: bool = False,
        first: Collection[Path] = (),
    ) -> list[IndexSummary]:
        """Index some roots in turn (all of them, or new workspace folders); stops on cancel or an outage.

        `asked`: a user or agent asked for it, so roots another process indexes are indexed here too
        (harmless: both converge to what is on disk).
        """
        indexer = self._indexer()
        if indexer is None:
            raise self._not_connected()
        roots = list(roots) if asked else self.ours(roots)
        cancel = cancel or asyncio.Event()
        summaries = []
        self._active_runs += 1
        try:
            for root in roots:
                open_here = {rel for path in first if (rel := relative_posix(root.path, path)) not in (None, ".")}
                summary = await indexer.index_workspace(root, force=force, cancel=cancel, progress=progress, first=open_here)
                self.last_summaries[root.path] = summary
                if not summary.error and not summary.cancelled:
                    self.last_indexed[root.path] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                summaries.append(summary)
                if cancel.is_set() or summary.error:
                    break
        finally:
            self._active_runs -= 1
        self._after_run(summaries)
        return summaries

    async def apply_changes(
        self, batch: Batch, cancel: asyncio.Event | None = None, progress: ProgressSink | None = None, asked: bool = False
    ) -> list[IndexSummary]:
        """Index changed paths and drop deleted ones, root by root; remembered while Weaviate is away.

        Changes under a root another process indexes are left to it, unless `asked` (as `index_roots`).
        """
        by_root = changes_by_root(self.roots if asked else self.ours(self.roots), batch)
        indexer = self._indexer()
        if not by_root or indexer is None:
            if by_root:
                self.away.remember(batch)
            return []
        summaries = []
        self._active_runs += 1
        try:
            for root, (changed, deleted) in by_root.items():
                summary = await indexer.apply_changes(root, changed, deleted, cancel, progress)
                summaries.append(summary)
                if summary.error:
                    self.away.remember(batch)
                    break
        finally:
            self._active_runs -= 1
        self._after_run(summaries)
        return summaries

    def ours(self, roots: Sequence[WorkspaceRoot]) -> list[WorkspaceRoot]:
        """The roots this process indexes (all of them, unless another holds a root's lease)."""
        return list(roots) if self.leases is None else self.leases.ours(roots)

    def indexed_by(self, root: WorkspaceRoot) -> str:
        """Who keeps `root` indexed: "this process", or the other acolyte-lsp process holding its lease."""
        return "this process" if self.leases is None else self.leases.indexed_by(root)

    def _after_run(self, summaries: list[IndexSummary]) -> None:
        error = next((s.error for s in summaries if s.error), None)
        if error:
            self.connection.lost(error)
        elif self.refused:
            self._schedule_refused_retry()

    def _track_event(self, event: IndexEvent) -> None:
        self.refused.note(event)
        self._on_event(event)

    def _schedule_refused_retry(self) -> None:
        if self._refused_retry is not None and not self._refused_retry.done():
            return
        delay = self.refused.next_delay()

        async def later() -> None:
            await asyncio.sleep(delay)
            self._refused_retry = None
            await retry_refused(self)
            if not self.refused:
                self.refused.settled()

        self._refused_retry = asyncio.create_task(later())

    # -- roots and settings ---------------------------------------------------------

    def root_of(self, path: Path) -> tuple[WorkspaceRoot, str] | None:
        """The root holding `path` and the path relative to it (deepest root wins)."""
        return root_holding(self.roots, path)

    def set_folders(self, folders: Sequence[Path]) -> list[WorkspaceRoot]:
        """Track exactly these folders; return the roots that are new (to be indexed).

        Chunks of removed folders stay in Weaviate: other tools may read them, and
        opening the folder again finds them up to date.
        """
        old = {r.path for r in self.roots}
        self.roots = WorkspaceRoot.for_folders(list(folders), self.settings.indexing.workspace_id)
        if self.leases is not None:
            self.leases.keep_only(self.roots)
        return [r for r in self.roots if r.path not in old]

    def apply_settings_in_place(self, settings: Settings) -> None:
        """Use `settings` from the next batch on (only for changes classified IN_PLACE/REINDEX*)."""
        self.connection.apply_settings(settings)
        if self._indexing is not None:
            self._indexing.settings = settings

    # -- queries -------------------------------------------------------------------

    async def search(
        self, query: str, limit: int = 10, path_prefix: str | None = None, language: str | None = None
    ) -> list[SearchResult]:
        """The best chunks of every root for `query` (see `Searcher.search`); raises `InvalidQuery`."""
        return await self.searcher.search(self._require_store(), self.roots, query, limit, path_prefix, language)

    async def indexed_root_of(self, path: Path) -> tuple[Path, str | None] | None:
        """The indexed folder at or above `path`, and `path` under it as a path prefix (see `Searcher`)."""
        return await self.searcher.indexed_root_of(self._require_store(), self.roots, path)

    async def workspaces(self) -> list[WorkspaceSummary]:
        """Every workspace the class holds (files, chunks, last indexed)."""
        return await self._require_store().workspaces()

    async def forget(self, workspace: str) -> int:
        """Remove one workspace's chunks; how many went."""
        return await self._require_store().forget(workspace)

    async def close(self) -> None:
        """Stop retrying and release the store (waits for the batch in flight)."""
        if self._refused_retry is not None:
            self._refused_retry.cancel()
        self._indexing = None
        await self.connection.close()
        if self.leases is not None:
            self.leases.release_all()

    def _not_connected(self) -> StoreError:
        # last_error is already a whole message (with its advice); do not wrap it in another.
        if self.connection.last_error:
            return StoreError(self.connection.last_error)
        return WeaviateUnavailableError(self.connection.endpoint, "not connected yet")

    def _require_store(self) -> ChunkStore:
        if (store := self.connection.store) is None:
            raise self._not_connected()
        return store


async def retry_refused(controller: Controller) -> list[IndexSummary]:
    """Send the files Weaviate refused again; a class Weaviate lost means every file is sent."""
    controller.refused.keep_only(lambda path: controller.root_of(path) is not None)
    store = controller.connection.store
    if store is None or not controller.refused:
        return []
    try:
        lost_class = await store.ensure_class()
    except StoreError as err:
        controller.connection.lost(str(err))
        return []
    if lost_class:
        controller.notify(Notice("warning", f"Weaviate no longer had class '{store.class_name}': indexing everything again."))
        return await controller.index_all()
    return await controller.apply_changes({path: ChangeKind.CHANGED for path in controller.refused})
