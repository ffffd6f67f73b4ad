"""The indexing session of one editor: connection to Weaviate, roots, runs, settings. No LSP here.

The server translates LSP into calls on a `Controller` and its events and
notices back into LSP. The controller keeps the server useful when Weaviate is
away: it says so once, retries with capped exponential backoff, and when
Weaviate answers again the server runs a workspace index, which picks up every
change made in the meantime (a run converges to what is on disk), so changes
seen while away only need counting, not keeping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .changes import Batch, ChangeKind
from .config import Settings
from .downloads import progress_text
from .embedded_choice import Answer, embedded_always, embedded_may_be_offered
from .embedding import Embedder, EmbedderError, load_embedder
from .indexer.events import EventSink, FileFailed, FileIndexed, FileNotIndexed, FileRemoved, IndexEvent, IndexSummary, WorkspaceRoot
from .indexer.service import IndexingService
from .metrics import Metrics
from .secrecy import mask_url
from .store.chunk_store import ChunkStore
from .store.embedded import EmbeddedWeaviate, download_url, embedded_for
from .store.errors import EmbeddedWeaviateError, SchemaMismatchError, StoreError, WeaviateUnavailableError
from .store.queries import WorkspaceSummary
from .workspace.hash_cache import hash_cache_dir_for
from .workspace.discovery import relative_posix

log = logging.getLogger(__name__)

RETRY_INITIAL_S = 1.0
RETRY_MAX_S = 30.0
# Files Weaviate refused are tried again on their own: a refusal may be passing (an
# overloaded node, a class lost in a restart) and nothing else would resend them.
FAILED_RETRY_INITIAL_S = 15.0
FAILED_RETRY_MAX_S = 600.0
MAX_REMEMBERED_AWAY = 10_000  # beyond this, only "a full run is needed" is kept
MAX_QUERY_CHARS = 10_000  # a query is a sentence or a snippet; the model reads 128 word pieces of it
MAX_FOLDERS_UP = 32  # folders above a search path asked whether they are an indexed root


class State:
    """Values of the controller's `state`."""

    STARTING = "starting"
    WAITING_FOR_WEAVIATE = "waiting for Weaviate"
    SETTINGS_ERROR = "settings error"
    INDEXING = "indexing"
    IDLE = "idle"
    STOPPED = "stopped"


class SettingsChange:
    """How a settings change is applied (see `classify_settings_change`)."""

    NONE = "none"
    IN_PLACE = "in place"  # batch size, workers, retries: the next batch uses them
    REINDEX = "reindex"  # which files: a normal run converges
    REINDEX_ALL = "reindex all"  # how files are cut: every file is re-sent
    RESTART = "restart"  # where and how chunks are stored: reconnect, then index


def classify_settings_change(old: Settings, new: Settings) -> str:
    """The least disruptive way to apply `new` over `old`."""
    if old == new:
        return SettingsChange.NONE
    live_weaviate = {
        "num_workers",
        "dynamic_batching",
        "timeout_retries",
        "connection_error_retries",
        "consistency_level",
        "object_retries",
        "retry_backoff_s",
    }
    if (
        old.embeddings != new.embeddings
        or old.indexing.workspace_id != new.indexing.workspace_id
        or any(
            getattr(old.weaviate, f.name) != getattr(new.weaviate, f.name)
            for f in dataclasses.fields(old.weaviate)
            if f.name not in live_weaviate
        )
    ):
        return SettingsChange.RESTART
    cutting = ("chunk_lines", "chunk_overlap", "min_chunk_lines", "redact_secrets")
    if any(getattr(old.indexing, n) != getattr(new.indexing, n) for n in cutting):
        return SettingsChange.REINDEX_ALL
    if old.indexing != new.indexing:
        return SettingsChange.REINDEX
    return SettingsChange.IN_PLACE


class InvalidQuery(ValueError):
    """A search query that cannot be searched (empty, or longer than any query means)."""


@dataclass(frozen=True)
class Notice:
    """Something to tell the user once (the server shows it as a message)."""

    level: str  # "error" | "warning" | "info"
    message: str
    once: bool = False  # shown once per server process, however many sessions repeat it


@dataclass(frozen=True)
class SetupStep:
    """How getting something ready goes (Weaviate Embedded, the embedding model), for the user to watch."""

    message: str
    percentage: int | None = None
    done: bool = False
    title: str = "Weaviate Embedded"


NoticeSink = Callable[[Notice], None]
SetupSink = Callable[[SetupStep], None]
StoreOpener = Callable[[Settings, Metrics], Awaitable[ChunkStore]]
# Whether to start Weaviate Embedded (`reason`: why the default URL will not do): the editor
# asks the user (or recalls their answer), the CLI always says yes. One of `Answer.ALL`, or None.
EmbeddedQuestion = Callable[[str], Awaitable[str | None]]


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
    """Owns the store connection and the indexer for a set of workspace folders."""

    def __init__(
        self,
        folders: Sequence[Path],
        settings: Settings,
        on_event: EventSink,
        on_notice: NoticeSink,
        open_store: StoreOpener = ChunkStore.open,
        ask_embedded: EmbeddedQuestion | None = None,
        on_setup: SetupSink | None = None,
    ) -> None:
        self.settings = settings
        self.roots = WorkspaceRoot.for_folders(list(folders), settings.indexing.workspace_id)
        self.metrics = Metrics()
        self.last_error: str | None = None
        self.last_summaries: dict[Path, IndexSummary] = {}
        self.last_indexed: dict[Path, str] = {}  # when each root's last complete run ended (UTC)
        self._on_event = on_event
        self._notify = on_notice
        self._failed_files: set[Path] = set()
        self._failed_retry_task: asyncio.Task[None] | None = None
        self._failed_retry_delay = FAILED_RETRY_INITIAL_S
        self._open_store = open_store
        self._store: ChunkStore | None = None
        self._embedder: Embedder | None = None
        self.embedder_warning: str | None = None  # why hashing stands in for the configured model
        self._indexer: IndexingService | None = None
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._connect_task: asyncio.Task[None] | None = None
        self._retry_now = asyncio.Event()
        self._settings_error = False
        self._stopped = False
        self._active_runs = 0
        self._changes_while_away: set[Path] = set()
        self._overflowed_while_away = False
        self._ask_embedded = ask_embedded
        self._on_setup = on_setup or (lambda step: None)
        self._embedded: EmbeddedWeaviate | None = None
        self._last_store_error: StoreError | None = None
        self._will_retry = True

    # -- state -----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._store is not None

    @property
    def state(self) -> str:
        if self._stopped:
            return State.STOPPED
        if self._settings_error:
            return State.SETTINGS_ERROR
        if self._store is None:
            return State.STARTING if self.last_error is None else State.WAITING_FOR_WEAVIATE
        return State.INDEXING if self._active_runs else State.IDLE

    @property
    def endpoint(self) -> str:
        """The URL in use, to show: Weaviate Embedded's, or the configured one (credentials masked)."""
        return mask_url(self._embedded.url if self._embedded is not None else self.settings.weaviate.endpoint)

    @property
    def changes_while_away(self) -> int:
        """Changes seen while Weaviate was away (the next run picks them up)."""
        return len(self._changes_while_away)

    # -- connection --------------------------------------------------------------

    async def connect(self, retry: bool = True) -> bool:
        """Set up the embedder, then try once to connect; on failure retry in the background.

        True when connected. A settings problem (an embedder that cannot load, a
        class that cannot hold our vectors) is reported and not retried: only the
        user can fix it, and a settings change starts a new session. When nothing
        answers at the default URL and settings allow it, Weaviate Embedded is
        offered first (the question is awaited).
        """
        self._will_retry = retry
        if self._embedder is None and not await self._load_embedder():
            return False
        if embedded_always(self.settings.weaviate):
            self._use_embedded()
            if self._settings_error:
                return False
        offer = self._embedded is None and self._ask_embedded is not None and embedded_may_be_offered(self.settings.weaviate)
        if await self._try_connect(first=True, announce=not offer):
            return True
        if offer and not self._settings_error and await self._embedded_wanted():
            if await self._try_connect(first=True):
                return True
        if retry and not self._settings_error:
            self._start_retrying()
        return False

    async def _load_embedder(self) -> bool:
        """Find (download once), prepare and load the embedding model, showing progress when it takes time."""
        loop = asyncio.get_running_loop()
        shown = False

        def step(message: str, percentage: int | None) -> None:
            nonlocal shown
            shown = True
            loop.call_soon_threadsafe(self._on_setup, SetupStep(message, percentage, title="Embedding model"))

        try:
            loaded = await asyncio.to_thread(load_embedder, self.settings.embeddings, step)
        except EmbedderError as err:
            self._fail_settings(f"acolyte-lsp cannot index: {err}")
            return False
        finally:
            if shown:
                loop.call_soon_threadsafe(self._on_setup, SetupStep("Embedding model ready", done=True, title="Embedding model"))
        self._embedder = loaded.embedder
        self.embedder_warning = loaded.warning
        if loaded.warning:
            self._notify(Notice("warning", loaded.warning, once=True))
        return True

    @property
    def embedder_identity(self) -> str | None:
        return None if self._embedder is None else self._embedder.identity

    # -- Weaviate Embedded -----------------------------------------------------------

    async def _embedded_wanted(self) -> bool:
        """Ask whether Weaviate Embedded should stand in for the default URL that does not answer."""
        assert self._ask_embedded is not None
        err = self._last_store_error
        reason = f"No Weaviate answers at {err.url} ({err.detail})." if isinstance(err, WeaviateUnavailableError) else str(err)
        try:
            answer = await self._ask_embedded(reason)
        except Exception as failure:  # noqa: BLE001 - a client that cannot ask: say what is wrong instead
            log.info("the Weaviate Embedded question failed: %s", failure)
            answer = None
        if answer == Answer.START and not self._stopped:
            self._use_embedded()
            return self._embedded is not None
        if answer != Answer.SETTINGS:
            self._announce_unavailable()
        return False

    def _announce_unavailable(self) -> None:
        if self.last_error:
            later = " acolyte-lsp keeps running and retries in the background." if self._will_retry else ""
            self._notify(Notice("error", f"{self.last_error}{later}"))

    def _use_embedded(self) -> None:
        weaviate_settings = self.settings.weaviate
        try:
            download_url(weaviate_settings.embedded_version)
        except EmbeddedWeaviateError as err:
            self._fail_settings(str(err))
            return
        self._embedded = embedded_for(weaviate_settings)

    async def _run_embedded(self, embedded: EmbeddedWeaviate, first: bool) -> None:
        """Make Weaviate Embedded answer (fetching it once), with progress; says when it had to be restarted."""
        loop = asyncio.get_running_loop()
        last_percentage = -1

        def downloaded(done: int, total: int | None) -> None:
            nonlocal last_percentage
            percentage, size = progress_text(done, total)
            if percentage is not None and percentage == last_percentage:
                return
            last_percentage = percentage if percentage is not None else last_percentage
            loop.call_soon_threadsafe(self._on_setup, SetupStep(f"Downloading Weaviate Embedded: {size}", percentage))

        if await asyncio.to_thread(embedded.answering):
            await asyncio.to_thread(embedded.ensure_running)  # takes this window's lease on the shared one
            return
        self._on_setup(SetupStep(f"Starting Weaviate Embedded on port {embedded.options.port}"))
        outcome = "did not start"
        try:
            def building(message: str) -> None:
                loop.call_soon_threadsafe(self._on_setup, SetupStep(message))

            started = await asyncio.to_thread(embedded.ensure_running, downloaded, building)
            outcome = "is ready"
        finally:
            self._on_setup(SetupStep(f"Weaviate Embedded {outcome}", done=True))
        if started:
            self._notify(
                Notice(
                    "info",
                    f"Started Weaviate Embedded at {embedded.url} (data in {embedded.options.data_dir})."
                    if first
                    else f"Weaviate Embedded at {embedded.url} had stopped; started it again.",
                )
            )

    def retry_now(self) -> None:
        """Skip the rest of the current backoff wait."""
        self._retry_now.set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def wait_disconnected(self) -> None:
        """Return once a connection that was up has been lost."""
        await self._disconnected.wait()

    async def _try_connect(self, first: bool, announce: bool = True) -> bool:
        try:
            settings = self.settings
            if self._embedded is not None:
                await self._run_embedded(self._embedded, first)
                # Embedded is ours and anonymous: the user's API key is for their own server, never sent here.
                settings = dataclasses.replace(
                    settings, weaviate=dataclasses.replace(settings.weaviate, url=self._embedded.url, api_key=None)
                )
            store = await self._open_store(settings, self.metrics)
            assert self._embedder is not None
            await self._check_vector_size(store, self._embedder)
        except SchemaMismatchError as err:
            self._fail_settings(str(err))
            return False
        except StoreError as err:
            self.last_error = str(err)
            self._last_store_error = err
            if first and announce:
                self._announce_unavailable()
            return False
        self._store = store
        self._indexer = IndexingService(
            self.settings, store, self._embedder, self._track_event, self.metrics, hash_cache_dir_for(self.settings)
        )
        self.last_error = None
        self._disconnected.clear()
        self._connected.set()
        if not first:
            self._notify(Notice("info", f"Connected to Weaviate at {self.endpoint}."))
        return True

    async def _check_vector_size(self, store: ChunkStore, embedder: Embedder) -> None:
        expected = embedder.dimensions
        existing = await store.vector_size()
        if expected is not None and existing is not None and existing != expected:
            await asyncio.to_thread(store.close)
            keep = (
                f"`embeddings.dimensions: {existing}`"
                if self.settings.embeddings.provider == "hash"
                else f"`embeddings.provider: hash` with `embeddings.dimensions: {existing}` (classes made before the "
                "model was the default hold hashed vectors; search by meaning then needs the new class)"
            )
            raise SchemaMismatchError(
                f"Weaviate class '{store.class_name}' holds vectors of {existing} dimensions, but the embedder "
                f"({embedder.identity}) makes {expected}, and a class holds vectors of one size. Set "
                f"`weaviate.class_name` to a new class to index there, or {keep} to keep this one."
            )

    def _fail_settings(self, message: str) -> None:
        self._settings_error = True
        self.last_error = message
        self._notify(Notice("error", message))

    def _start_retrying(self) -> None:
        if self._connect_task is None or self._connect_task.done():
            self._connect_task = asyncio.create_task(self._retry_connect())

    async def _retry_connect(self) -> None:
        delay = RETRY_INITIAL_S
        while not self._settings_error:
            self._retry_now.clear()
            try:
                await asyncio.wait_for(self._retry_now.wait(), delay)
            except asyncio.TimeoutError:
                pass
            if await self._try_connect(first=False):
                return
            delay = min(delay * 2, RETRY_MAX_S)

    def _lost_connection(self, message: str) -> None:
        """Weaviate went away mid-work: say so, drop the store, retry in the background."""
        if self._store is None:
            return
        log.warning("lost Weaviate: %s", message)
        store, self._store, self._indexer = self._store, None, None
        asyncio.get_running_loop().run_in_executor(None, store.close)
        self._connected.clear()
        self._disconnected.set()
        self.last_error = message
        self._notify(Notice("error", f"{message} acolyte-lsp keeps running and retries in the background."))
        self._start_retrying()

    # -- runs --------------------------------------------------------------------

    async def index_all(self, *, force: bool = False, cancel: asyncio.Event | None = None) -> list[IndexSummary]:
        """Index every root in turn (requires a connection)."""
        cancel = cancel or asyncio.Event()
        summaries = await self.index_roots(list(self.roots), force=force, cancel=cancel)
        if not any(s.error for s in summaries) and not cancel.is_set():
            self._changes_while_away.clear()
            self._overflowed_while_away = False
        return summaries

    async def apply_changes(self, batch: Batch, cancel: asyncio.Event | None = None) -> list[IndexSummary]:
        """Index changed paths and drop deleted ones, root by root; remembered while Weaviate is away."""
        by_root: dict[WorkspaceRoot, tuple[list[str], list[str]]] = {}
        for path, kind in batch.items():
            found = self.root_of(path)
            if found is None:
                continue
            changed, deleted = by_root.setdefault(found[0], ([], []))
            (deleted if kind is ChangeKind.DELETED else changed).append(found[1])
        if not by_root:
            return []
        if self._indexer is None:
            self._remember_while_away(batch)
            return []
        summaries = []
        self._active_runs += 1
        try:
            for root, (changed, deleted) in by_root.items():
                summary = await self._indexer.apply_changes(root, changed, deleted, cancel)
                summaries.append(summary)
                if summary.error:
                    self._remember_while_away(batch)
                    break
        finally:
            self._active_runs -= 1
        self._after_run(summaries)
        return summaries

    def _remember_while_away(self, batch: Batch) -> None:
        if len(self._changes_while_away) + len(batch) > MAX_REMEMBERED_AWAY:
            self._overflowed_while_away = True  # the full run after reconnecting covers them all
            return
        self._changes_while_away.update(batch)

    def _after_run(self, summaries: list[IndexSummary]) -> None:
        error = next((s.error for s in summaries if s.error), None)
        if error:
            self._lost_connection(error)
        elif self._failed_files:
            self._schedule_failed_retry()

    # -- files Weaviate refused ------------------------------------------------------

    @property
    def failed_files(self) -> int:
        """Files whose last attempt left chunks unstored (retried in the background)."""
        return len(self._failed_files)

    def _track_event(self, event: IndexEvent) -> None:
        if isinstance(event, FileFailed):
            self._failed_files.add(event.root.path / event.rel_path)
        elif isinstance(event, (FileIndexed, FileNotIndexed)):
            self._failed_files.discard(event.root.path / event.rel_path)
        elif isinstance(event, FileRemoved):
            gone = event.root.path / event.rel_path
            self._failed_files = {p for p in self._failed_files if p != gone and not p.is_relative_to(gone)}
        self._on_event(event)

    async def retry_failed(self) -> list[IndexSummary]:
        """Send the files Weaviate refused again; a class Weaviate lost means every file is sent."""
        self._failed_files = {p for p in self._failed_files if self.root_of(p) is not None}
        if self._indexer is None or self._store is None or not self._failed_files:
            return []
        try:
            lost_class = await self._store.ensure_class()
        except StoreError as err:
            self._lost_connection(str(err))
            return []
        if lost_class:
            self._notify(Notice("warning", f"Weaviate no longer had class '{self._store.class_name}': indexing everything again."))
            return await self.index_all()
        return await self.apply_changes({path: ChangeKind.CHANGED for path in sorted(self._failed_files)})

    def _schedule_failed_retry(self) -> None:
        if self._failed_retry_task is not None and not self._failed_retry_task.done():
            return
        delay = self._failed_retry_delay
        self._failed_retry_delay = min(delay * 2, FAILED_RETRY_MAX_S)

        async def later() -> None:
            await asyncio.sleep(delay)
            self._failed_retry_task = None
            await self.retry_failed()
            if not self._failed_files:
                self._failed_retry_delay = FAILED_RETRY_INITIAL_S

        self._failed_retry_task = asyncio.create_task(later())

    # -- roots -------------------------------------------------------------------

    def root_of(self, path: Path) -> tuple[WorkspaceRoot, str] | None:
        """The root holding `path` and the path relative to it (deepest root wins)."""
        best: tuple[WorkspaceRoot, str] | None = None
        for root in self.roots:
            rel = relative_posix(root.path, path)
            if rel is not None and rel != "." and (best is None or len(str(root.path)) > len(str(best[0].path))):
                best = (root, rel)
        return best

    def set_folders(self, folders: Sequence[Path]) -> list[WorkspaceRoot]:
        """Track exactly these folders; return the roots that are new (to be indexed).

        Chunks of removed folders stay in Weaviate: other tools may read them, and
        opening the folder again finds them up to date.
        """
        old = {r.path for r in self.roots}
        self.roots = WorkspaceRoot.for_folders(list(folders), self.settings.indexing.workspace_id)
        return [r for r in self.roots if r.path not in old]

    async def index_roots(
        self, roots: Sequence[WorkspaceRoot], *, force: bool = False, cancel: asyncio.Event | None = None
    ) -> list[IndexSummary]:
        """Index some roots in turn (all of them, or new workspace folders); stops on cancel or an outage."""
        indexer = self._require_indexer()
        cancel = cancel or asyncio.Event()
        summaries = []
        self._active_runs += 1
        try:
            for root in roots:
                summary = await indexer.index_workspace(root, force=force, cancel=cancel)
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

    # -- settings ------------------------------------------------------------------

    def apply_settings_in_place(self, settings: Settings) -> None:
        """Use `settings` from the next batch on (only for changes classified IN_PLACE/REINDEX*)."""
        self.settings = settings
        if self._store is not None:
            self._store.apply_settings(settings)
        if self._indexer is not None:
            self._indexer.settings = settings

    # -- queries -------------------------------------------------------------------

    async def search(
        self, query: str, limit: int = 10, path_prefix: str | None = None, language: str | None = None
    ) -> list[SearchResult]:
        """Embed `query` like the chunks; the best chunks of every root by hybrid search (`search.alpha`).

        Raises `InvalidQuery` for an empty or oversized query.
        """
        if not query.strip():
            raise InvalidQuery("the search query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidQuery(f"the search query is {len(query):,} characters long; at most {MAX_QUERY_CHARS:,} are searched")
        store = self._require_store()
        assert self._embedder is not None
        vector = await asyncio.to_thread(self._embedder.embed_query, query)
        results: list[SearchResult] = []
        for root in self.roots:
            hits = await store.search(
                root.workspace_id, limit, vector, query, path_prefix, language, self.settings.search.alpha
            )
            for hit in hits:
                results.append(
                    SearchResult(
                        path=root.path / hit.file_path,
                        start_line=hit.start_line,
                        end_line=hit.end_line,
                        name=hit.chunk_name,
                        kind=hit.chunk_type,
                        language=hit.language,
                        score=round(hit.score, 6),
                        preview=hit.content[:200],
                    )
                )
        results.sort(key=lambda r: -r.score)
        return results[:limit]

    async def indexed_root_of(self, path: Path) -> tuple[Path, str | None] | None:
        """The folder at or above `path` whose chunks Weaviate holds, and `path` under it as a path prefix.

        None when neither `path` nor a folder above it is indexed. With a shared
        `indexing.workspace_id` the root is the folder the settings came from.
        """
        store = self._require_store()
        path = path.resolve()
        shared = self.settings.indexing.workspace_id
        folders = [self.roots[0].path] if shared and self.roots else [path, *path.parents][:MAX_FOLDERS_UP]
        for folder in folders:
            if await store.count(WorkspaceRoot.at(folder, shared).workspace_id) > 0:
                under = relative_posix(folder, path)
                return folder, None if under in (None, ".") else under + "/"
        return None

    async def workspaces(self) -> list[WorkspaceSummary]:
        """Every workspace the class holds (files, chunks, last indexed)."""
        return await self._require_store().workspaces()

    async def forget(self, workspace: str) -> int:
        """Remove one workspace's chunks; how many went."""
        return await self._require_store().forget(workspace)

    async def status(self, queued_changes: int = 0) -> dict[str, Any]:
        """State, counts per root, queue and the metrics, for `acolyte.indexStatus`."""
        roots = []
        for root in self.roots:
            summary = self.last_summaries.get(root.path)
            entry: dict[str, Any] = {
                "path": str(root.path),
                "workspace": root.workspace_id,
                "root": root.path.name,
                "files": None if summary is None else summary.files_indexed + summary.files_unchanged,
                "last_indexed": self.last_indexed.get(root.path),
                "last_run": None if summary is None else dataclasses.asdict(summary),
                "chunks_in_weaviate": None,
            }
            if self._store is not None:
                try:
                    entry["chunks_in_weaviate"] = await self._store.count(root.workspace_id)
                except StoreError as err:
                    log.info("status count failed: %s", err)
            roots.append(entry)
        return {
            "state": self.state,
            "weaviate_url": self.endpoint,
            "weaviate_embedded": None if self._embedded is None else {
                "port": self._embedded.options.port,
                "data": str(self._embedded.options.data_dir),
                "windows": len(await asyncio.to_thread(self._embedded.users)),
            },
            "class_name": self.settings.weaviate.class_name,
            "embedder": self.embedder_identity,
            "embedder_warning": self.embedder_warning,
            "batch_size": self.settings.search.weaviate_batch_size,
            "roots": roots,
            "queue": {
                "changes_waiting": queued_changes,
                "changes_while_weaviate_away": self.changes_while_away,
                "full_run_needed": self._overflowed_while_away or bool(self._changes_while_away),
                "failed_files_to_retry": self.failed_files,
            },
            "last_error": self.last_error,
            "metrics": self.metrics.snapshot(),
        }

    async def close(self) -> None:
        """Stop retrying and release the store (waits for the batch in flight)."""
        self._stopped = True
        for task in (self._connect_task, self._failed_retry_task):
            if task is not None:
                task.cancel()
        if self._store is not None:
            store, self._store, self._indexer = self._store, None, None
            await asyncio.to_thread(store.close)
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.release)  # stops it only when no other window uses it

    def _not_connected(self) -> StoreError:
        # last_error is already a whole message (with its advice); do not wrap it in another.
        if self.last_error:
            return StoreError(self.last_error)
        return WeaviateUnavailableError(self.endpoint, "not connected yet")

    def _require_indexer(self) -> IndexingService:
        if self._indexer is None:
            raise self._not_connected()
        return self._indexer

    def _require_store(self) -> ChunkStore:
        if self._store is None:
            raise self._not_connected()
        return self._store
