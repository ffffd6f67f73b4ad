"""The indexing session of one editor: connection to Weaviate, state, runs. No LSP here.

The server translates LSP into calls on a `Controller` and its events and
notices back into LSP. The controller keeps the server useful when Weaviate is
away: it says so once, retries with capped exponential backoff, and when
Weaviate answers again it runs a workspace index, which picks up every file
saved in the meantime (the index converges to what is on disk).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Settings
from .embedding import Embedder, EmbedderError, make_embedder
from .indexer import EventSink, IndexingService, IndexSummary, WorkspaceRoot
from .metrics import Metrics
from .store.chunk_store import ChunkStore
from .store.errors import StoreError, WeaviateUnavailableError
from .workspace.discovery import relative_posix

log = logging.getLogger(__name__)

RETRY_INITIAL_S = 1.0
RETRY_MAX_S = 30.0


class State:
    """Values of the controller's `state`."""

    STARTING = "starting"
    WAITING_FOR_WEAVIATE = "waiting for Weaviate"
    SETTINGS_ERROR = "settings error"
    INDEXING = "indexing"
    IDLE = "idle"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Notice:
    """Something to tell the user once (the server shows it as a message)."""

    level: str  # "error" | "warning" | "info"
    message: str


NoticeSink = Callable[[Notice], None]
StoreOpener = Callable[[Settings, Metrics], Awaitable[ChunkStore]]


@dataclass(frozen=True)
class SearchResult:
    """A search hit with an absolute path, ready for an editor location."""

    path: Path
    start_line: int
    end_line: int
    name: str
    kind: str
    language: str
    score: float
    preview: str


class Controller:
    """Owns the store connection and the indexer for a set of workspace roots."""

    def __init__(
        self,
        roots: list[WorkspaceRoot],
        settings: Settings,
        on_event: EventSink,
        on_notice: NoticeSink,
        open_store: StoreOpener = ChunkStore.open,
    ) -> None:
        self.roots = roots
        self.settings = settings
        self.metrics = Metrics()
        self.state = State.STARTING
        self.last_error: str | None = None
        self.last_summaries: dict[Path, IndexSummary] = {}
        self._on_event = on_event
        self._notify = on_notice
        self._open_store = open_store
        self._store: ChunkStore | None = None
        self._embedder: Embedder | None = None
        self._indexer: IndexingService | None = None
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._connect_task: asyncio.Task[None] | None = None
        self._saves_while_away: set[tuple[Path, str]] = set()

    @property
    def connected(self) -> bool:
        return self._store is not None

    async def connect(self) -> bool:
        """Set up the embedder, then try once to connect; on failure retry in the background.

        True when connected. A settings problem (an embedder that cannot load)
        is reported and not retried: only the user can fix it.
        """
        if self._embedder is None:
            try:
                self._embedder = await asyncio.to_thread(make_embedder, self.settings.embeddings)
            except EmbedderError as err:
                self.state = State.SETTINGS_ERROR
                self.last_error = str(err)
                self._notify(Notice("error", f"acolyte-lsp cannot index: {err}"))
                return False
        if await self._try_connect(first=True):
            return True
        if self._connect_task is None or self._connect_task.done():
            self._connect_task = asyncio.create_task(self._retry_connect())
        return False

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def wait_disconnected(self) -> None:
        """Return once a connection that was up has been lost."""
        await self._disconnected.wait()

    async def _try_connect(self, first: bool) -> bool:
        try:
            store = await self._open_store(self.settings, self.metrics)
        except WeaviateUnavailableError as err:
            self.state = State.WAITING_FOR_WEAVIATE
            self.last_error = str(err)
            if first:
                self._notify(Notice("error", f"{err} acolyte-lsp keeps running and retries in the background."))
            return False
        except StoreError as err:
            self.state = State.WAITING_FOR_WEAVIATE
            self.last_error = str(err)
            if first:
                self._notify(Notice("error", str(err)))
            return False
        self._store = store
        assert self._embedder is not None
        self._indexer = IndexingService(self.settings, store, self._embedder, self._on_event, self.metrics)
        self.state = State.IDLE
        self.last_error = None
        self._disconnected.clear()
        self._connected.set()
        if not first:
            self._notify(Notice("info", f"Connected to Weaviate at {self.settings.weaviate.url}."))
        return True

    async def _retry_connect(self) -> None:
        delay = RETRY_INITIAL_S
        while not await self._try_connect(first=False):
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def index_all(self, *, force: bool = False, cancel: asyncio.Event | None = None) -> list[IndexSummary]:
        """Index every root in turn (requires a connection)."""
        indexer = self._require_indexer()
        cancel = cancel or asyncio.Event()
        summaries = []
        self.state = State.INDEXING
        try:
            for root in self.roots:
                summary = await indexer.index_workspace(root, force=force, cancel=cancel)
                self.last_summaries[root.path] = summary
                summaries.append(summary)
                if summary.error:
                    self.last_error = summary.error
                if cancel.is_set() or summary.error:
                    break
        finally:
            self.state = State.IDLE if self._store is not None else State.WAITING_FOR_WEAVIATE
        if any(s.error for s in summaries):
            self._lost_connection(next(s.error for s in summaries if s.error) or "")
        else:
            self._saves_while_away.clear()
        return summaries

    def root_of(self, path: Path) -> tuple[WorkspaceRoot, str] | None:
        """The root holding `path` and the path relative to it (deepest root wins)."""
        best: tuple[WorkspaceRoot, str] | None = None
        for root in self.roots:
            rel = relative_posix(root.path, path)
            if rel is not None and (best is None or len(str(root.path)) > len(str(best[0].path))):
                best = (root, rel)
        return best

    async def index_path(self, path: Path) -> bool:
        """Re-index one saved file; False when it is outside every root or Weaviate is away."""
        found = self.root_of(path)
        if found is None:
            return False
        if self._indexer is None:
            self._saves_while_away.add((found[0].path, found[1]))
            return False
        try:
            await self._indexer.index_file(*found)
        except StoreError as err:
            self._saves_while_away.add((found[0].path, found[1]))
            self._lost_connection(str(err))
            return False
        return True

    async def search(
        self, query: str, limit: int = 10, path_prefix: str | None = None, language: str | None = None
    ) -> list[SearchResult]:
        """Embed `query` like the chunks and find the nearest chunks in every root."""
        store = self._require_store()
        assert self._embedder is not None
        vector = await asyncio.to_thread(self._embedder.embed_query, query)
        results: list[SearchResult] = []
        for root in self.roots:
            hits = await store.search(root.workspace_id, limit, vector, None if vector else query, path_prefix, language)
            for hit in hits:
                results.append(
                    SearchResult(
                        path=root.path / hit.file_path,
                        start_line=hit.start_line,
                        end_line=hit.end_line,
                        name=hit.chunk_name,
                        kind=hit.chunk_type,
                        language=hit.language,
                        score=round(1.0 - hit.distance, 6),
                        preview=hit.content[:200],
                    )
                )
        results.sort(key=lambda r: -r.score)
        return results[:limit]

    async def status(self) -> dict[str, Any]:
        """State, counts per root and the metrics, for `acolyte.indexStatus`."""
        roots = []
        for root in self.roots:
            summary = self.last_summaries.get(root.path)
            entry: dict[str, Any] = {
                "path": str(root.path),
                "workspace": root.workspace_id,
                "last_run": None if summary is None else summary.__dict__,
            }
            if self._store is not None and self.state != State.INDEXING:
                try:
                    entry["chunks_in_weaviate"] = await self._store.count(root.workspace_id)
                except StoreError as err:
                    entry["chunks_in_weaviate"] = None
                    self.last_error = str(err)
            roots.append(entry)
        return {
            "state": self.state,
            "weaviate_url": self.settings.weaviate.url,
            "class_name": self.settings.weaviate.class_name,
            "batch_size": self.settings.search.weaviate_batch_size,
            "roots": roots,
            "pending_saves": len(self._saves_while_away),
            "last_error": self.last_error,
            "metrics": self.metrics.snapshot(),
        }

    async def close(self) -> None:
        """Stop retrying and release the store (waits for the batch in flight)."""
        self.state = State.STOPPED
        if self._connect_task is not None:
            self._connect_task.cancel()
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None
            self._indexer = None

    def _lost_connection(self, message: str) -> None:
        """Weaviate went away mid-work: say so, drop the store, retry in the background."""
        if self._store is None:
            return
        log.warning("lost Weaviate: %s", message)
        store, self._store, self._indexer = self._store, None, None
        asyncio.get_running_loop().run_in_executor(None, store.close)
        self._connected.clear()
        self._disconnected.set()
        self.state = State.WAITING_FOR_WEAVIATE
        self.last_error = message
        self._notify(Notice("error", f"{message} acolyte-lsp keeps running and retries in the background."))
        self._connect_task = asyncio.create_task(self._retry_connect())

    def _require_indexer(self) -> IndexingService:
        if self._indexer is None:
            raise WeaviateUnavailableError(self.settings.weaviate.url, self.last_error or "not connected")
        return self._indexer

    def _require_store(self) -> ChunkStore:
        if self._store is None:
            raise WeaviateUnavailableError(self.settings.weaviate.url, self.last_error or "not connected")
        return self._store
