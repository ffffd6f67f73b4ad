"""One workspace served to an AI agent, kept fresh without an editor. No MCP and no LSP here.

The MCP tools (`agent/tools.py`) call into an `AgentSession`: a controller over
the workspace (the same settings, Weaviate, class and workspace id as the
language server, so both read one index), a file watcher feeding the same
debounced change queue the language server uses, and the workspace's lease: a
language server already indexing the folder keeps doing so and this session
only searches, until that one stops.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import logging
from pathlib import Path
from typing import Any

from ..changes import ChangeKind, ChangeQueue
from ..controller import Controller, State
from ..searching import SearchResult
from ..display import printable
from ..index_status import index_status
from ..indexer.events import FileFailed, FileNotIndexed, IndexEvent, IndexFinished, IndexProgress, IndexSummary
from ..notices import Notice
from ..embedded_choice import Answer
from ..settings import Settings
from ..file_watcher import POLL_MS, watch_folders
from ..upkeep import keep_index_converged
from ..workspace.discovery import relative_posix

log = logging.getLogger(__name__)

SETTLE_S = 2.0  # longest a search waits for changes already seen to be indexed
STARTING_S = 30.0  # longest a first call waits for the session to connect (the model loads, Embedded starts)
MAX_WARNINGS = 20  # notices and file problems kept for `index_status`
MAX_LIMIT = 50


class AgentRequestError(ValueError):
    """A tool call that cannot be served as asked, with a message for the agent to act on."""


async def _embedded_instead(reason: str) -> Answer:
    """No one to ask: Weaviate Embedded whenever it can be had, as the command line does."""
    log.warning("%s Using Weaviate Embedded instead.", reason)
    return Answer.START


class AgentSession:
    """A workspace's index for an agent: searched, reported on, re-indexed on request, watched for changes."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.folder = folder.resolve()
        self.controller = Controller(
            [self.folder], settings, self._on_event, self._on_notice, ask_embedded=_embedded_instead,
            lease_holder="MCP server",
        )
        self.changes = ChangeQueue(self._apply_changes, debounce_s=settings.indexing.debounce_ms / 1000)
        self.warnings: collections.deque[str] = collections.deque(maxlen=MAX_WARNINGS)
        self._progress: IndexProgress | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifetime -----------------------------------------------------------------

    async def start(self) -> None:
        """Connect (in the background when Weaviate is not there yet), index, and watch the folder."""
        self._tasks = [
            asyncio.create_task(self._keep_index_converged()),
            asyncio.create_task(self._watch()),
        ]

    async def close(self) -> None:
        """Stop watching and indexing; release Weaviate and the lease."""
        self._stop.set()
        self.changes.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.controller.close()

    async def _keep_index_converged(self) -> None:
        controller = self.controller
        await keep_index_converged(
            controller, lambda: self._index_quietly(controller.index_all()),
            lambda freed: self._index_quietly(controller.index_roots(freed)),
        )

    async def _index_quietly(self, run: Any) -> None:
        try:
            await run
        except Exception as err:  # noqa: BLE001 - the connection reports outages; the next run converges
            log.info("index run stopped: %s", err)

    async def _watch(self) -> None:
        indexing = self.controller.settings.indexing
        watch = functools.partial(watch_folders, [self.folder], indexing.exclude, indexing.include, self.changes.add, self._stop)
        try:
            await watch()
        except OSError as err:  # the kernel's watch limit, a file system without events: walk the tree instead
            self._on_notice(Notice("warning", f"The kernel would not watch {self.folder} ({err}); looking for changes "
                                              f"every {POLL_MS / 1000:g} s instead (raise fs.inotify.max_user_watches to avoid this)."))
            try:
                await watch(polling=True)
            except OSError as again:
                self._on_notice(Notice("warning", f"Watching {self.folder} for changes failed ({again}); changes on disk "
                                                  "are indexed by `reindex` or every indexing.resync_minutes."))

    async def _apply_changes(self, batch: dict[Path, ChangeKind]) -> None:
        await self.controller.apply_changes(batch)  # remembered for the next full run while Weaviate is away

    def _on_event(self, event: IndexEvent) -> None:
        if isinstance(event, IndexProgress):
            self._progress = event
        elif isinstance(event, IndexFinished):
            self._progress = None
        elif isinstance(event, FileFailed):
            self.warnings.append(f"{printable(event.rel_path)}: Weaviate refused {len(event.failures)} chunk(s): "
                                 f"{printable(event.failures[0].message)[:200]}")
        elif isinstance(event, FileNotIndexed) and event.warn:
            self.warnings.append(f"{printable(event.rel_path)}: not indexed: {printable(event.reason)[:200]}")

    def _on_notice(self, notice: Notice) -> None:
        log.log(logging.WARNING if notice.level in ("warning", "error") else logging.INFO, "%s", notice.message)
        if notice.level in ("warning", "error"):
            self.warnings.append(notice.message)

    # -- tools --------------------------------------------------------------------

    async def search(self, query: str, limit: int, path: str | None, language: str | None) -> dict[str, Any]:
        """The best chunks for `query`, each saying whether its file changed since it was indexed."""
        if not 1 <= limit <= MAX_LIMIT:
            raise AgentRequestError(f"limit must be from 1 to {MAX_LIMIT}, got {limit}")
        prefix = None if not path else self._relative(path, "path")
        await self._started()
        await self._settle()
        results = await self.controller.search(query, limit, path_prefix=self._as_prefix(prefix), language=language or None)
        return {
            "results": [self._result_of(r) for r in results],
            "pending_files": self.pending_files(),
            "stale_results": sum(not r.fresh for r in results),
            "indexed_by": self.controller.indexed_by(self.controller.roots[0]),
        }

    async def status(self) -> dict[str, Any]:
        """What `index_status` answers: the index, what is pending, what serves it, and warnings."""
        full = await index_status(self.controller, self.changes.pending)
        [root] = full["roots"]
        return {
            "state": full["state"],
            "workspace": str(self.folder),
            "files": root["files"],
            "chunks": root["chunks_in_weaviate"],
            "last_indexed": root["last_indexed"],
            "pending_files": self.pending_files(),
            "indexed_by": root["indexed_by"],
            "weaviate": {"url": full["weaviate_url"], "class_name": full["class_name"], "embedded": full["weaviate_embedded"]},
            "embedder": full["embedder"],
            "last_error": full["last_error"],
            "warnings": [w for w in (full["embedder_warning"], *self.warnings) if w],
        }

    async def reindex(self, path: str | None) -> dict[str, Any]:
        """Index the workspace, or one file or folder in it, now; answer once it is searchable."""
        await self._started()
        if not self.controller.connected:
            raise AgentRequestError(f"Weaviate is not reachable ({self.controller.connection.last_error or 'connecting'}); "
                                    "nothing can be indexed until it answers")
        if not path:
            summaries = await self.controller.index_roots(self.controller.roots, asked=True)
        else:
            target = self.folder / self._relative(path, "path")
            if not target.exists():
                raise AgentRequestError(f"{printable(path)} does not exist in the workspace")
            summaries = await self.controller.apply_changes({target: ChangeKind.CHANGED}, asked=True)
        summary = summaries[0] if summaries else IndexSummary()
        if summary.error:
            raise AgentRequestError(f"indexing stopped: {summary.error}")
        return dataclasses.asdict(summary) | {"searchable": not summary.cancelled}

    # -- helpers ------------------------------------------------------------------

    def pending_files(self) -> int | None:
        """Files seen changed and not yet indexed here (None when another process indexes the workspace)."""
        leases = self.controller.leases
        if leases is not None and leases.held_elsewhere(self.controller.roots[0]):
            return None
        running = self._progress
        in_run = 0 if running is None or running.total_files is None else max(running.total_files - running.files_done, 0)
        return self.changes.pending + in_run

    async def _started(self) -> None:
        """Wait (bounded) for a session still starting to connect; one that lost Weaviate answers at once."""
        if self.controller.state == State.STARTING:
            try:
                await asyncio.wait_for(self.controller.connection.wait_connected(), STARTING_S)
            except asyncio.TimeoutError:
                pass

    async def _settle(self) -> None:
        """Let changes already seen reach Weaviate, for at most `SETTLE_S`."""
        try:
            await asyncio.wait_for(asyncio.shield(self.changes.wait_idle()), SETTLE_S)
        except asyncio.TimeoutError:
            pass

    def _relative(self, path: str, argument: str) -> str:
        """`path` (workspace-relative or absolute inside the workspace) as a POSIX path under it."""
        if "\x00" in path:
            raise AgentRequestError(f"{argument} contains a NUL character")
        rel = relative_posix(self.folder, self.folder / path)  # an absolute `path` replaces the folder
        if rel is None:
            raise AgentRequestError(f"{argument} {printable(path)[:200]!r} is outside the workspace {self.folder}")
        return rel

    def _as_prefix(self, rel: str | None) -> str | None:
        """A folder matches what is under it (`src/`, not `src2/`); anything else matches as written."""
        if rel is None or rel == ".":
            return None
        return rel + "/" if (self.folder / rel).is_dir() else rel

    def _result_of(self, result: SearchResult) -> dict[str, Any]:
        return {
            "file": result.path.relative_to(self.folder).as_posix() if result.path.is_relative_to(self.folder) else str(result.path),
            "start_line": result.start_line,
            "end_line": result.end_line,
            "name": result.name,
            "kind": result.kind,
            "language": result.language,
            "score": result.score,
            "fresh": result.fresh,
            "text": result.text,
        }
