"""The language server: thin LSP handlers over the `Controller`.

Handlers translate LSP into controller calls, and indexer events and
controller notices into progress, diagnostics and messages.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from .. import __version__
from ..config import CONFIG_FILE_NAME, LoadedSettings, load_settings, redacted
from ..controller import Controller, Notice
from ..indexer import FileFailed, FileIndexed, FileNotIndexed, FileRemoved, IndexEvent, IndexProgress, WorkspaceRoot
from ..store.errors import StoreError
from .diagnostics import DiagnosticsBook
from .progress import ProgressReporter

log = logging.getLogger(__name__)

CMD_REINDEX_WORKSPACE = "acolyte.reindexWorkspace"
CMD_REINDEX_FILE = "acolyte.reindexFile"
CMD_INDEX_STATUS = "acolyte.indexStatus"
CMD_SEARCH = "acolyte.search"
COMMANDS = [CMD_REINDEX_WORKSPACE, CMD_REINDEX_FILE, CMD_INDEX_STATUS, CMD_SEARCH]
SHUTDOWN_GRACE_S = 5.0


class AcolyteLanguageServer(LanguageServer):
    """Holds the per-editor session: settings, controller, diagnostics and the progress in flight."""

    def __init__(self) -> None:
        super().__init__(
            name="acolyte-lsp",
            version=__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
        )
        self.initialization_options: dict[str, Any] = {}
        self.controller: Controller | None = None
        self.diagnostics = DiagnosticsBook(self)
        self._progress: ProgressReporter | None = None
        self._progress_by_token: dict[str, ProgressReporter] = {}
        self._run_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self._reported_skips: set[tuple[Path, str, str]] = set()

    # -- session --------------------------------------------------------------

    def workspace_roots(self) -> list[WorkspaceRoot]:
        folders = list(self.workspace.folders.values())
        paths = [Path(to_fs_path(f.uri) or "") for f in folders]
        if not paths and self.workspace.root_path:
            paths = [Path(self.workspace.root_path)]
        return [WorkspaceRoot.at(p) for p in paths if str(p)]

    def load_settings(self, roots: list[WorkspaceRoot]) -> LoadedSettings:
        first = roots[0].path if roots else None
        loaded = load_settings(first, self.initialization_options)
        if first is not None:
            self.diagnostics.config_problems(
                first / CONFIG_FILE_NAME, [p for p in loaded.problems if p.source != "initializationOptions"]
            )
        for problem in loaded.problems:
            if problem.source == "initializationOptions":
                self.show(Notice("warning", f"acolyte settings: {problem}"))
        return loaded

    async def start(self) -> None:
        roots = self.workspace_roots()
        loaded = self.load_settings(roots)
        log.info("settings: %s", redacted(loaded.settings))
        if not roots:
            self.show(Notice("warning", "acolyte-lsp: no workspace folder is open, so there is nothing to index."))
            return
        self.controller = Controller(roots, loaded.settings, self.on_event, self.show)
        await self.controller.connect()
        self.spawn(self._keep_index_converged())

    async def _keep_index_converged(self) -> None:
        """Index whenever a connection comes up: at start and after every outage."""
        controller = self.controller
        assert controller is not None
        while True:
            await controller.wait_connected()
            await self.run_index(force=False, title="Indexing workspace")
            if controller.connected:
                await controller.wait_disconnected()

    async def run_index(self, *, force: bool, title: str) -> list[dict[str, Any]]:
        """One workspace run under a work-done progress; returns the summaries."""
        controller = self.controller
        assert controller is not None
        async with self._run_lock:
            reporter = ProgressReporter(self, title, asyncio.Event())
            self._progress_by_token[reporter.token] = reporter
            self._progress = reporter
            try:
                await reporter.begin(f"{len(controller.roots)} folder(s) · {controller.settings.weaviate.url}")
                summaries = await controller.index_all(force=force, cancel=reporter.cancel)
                reporter.end(" | ".join(s.describe() for s in summaries) or "nothing to index")
            except StoreError as err:
                reporter.end(f"Stopped: {err}")
                raise
            finally:
                self._progress = None
                self._progress_by_token.pop(reporter.token, None)
        return [s.__dict__ for s in summaries]

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_task_failure)

    async def stop(self) -> None:
        """Cancel runs in flight, then release Weaviate within a bounded time."""
        for reporter in list(self._progress_by_token.values()):
            reporter.cancel.set()
        for task in list(self._background):
            task.cancel()
        if self.controller is not None:
            try:
                await asyncio.wait_for(self.controller.close(), SHUTDOWN_GRACE_S)
            except asyncio.TimeoutError:
                log.warning("Weaviate did not finish the batch in flight within %ss", SHUTDOWN_GRACE_S)

    # -- events back to the editor -------------------------------------------

    def on_event(self, event: IndexEvent) -> None:
        if isinstance(event, IndexProgress):
            if self._progress is not None:
                self._progress.report(event)
        elif isinstance(event, FileFailed):
            self.diagnostics.file_failed(event.root.path / event.rel_path, event.failures)
        elif isinstance(event, (FileIndexed, FileRemoved)):
            self.diagnostics.file_clean(event.root.path / event.rel_path)
        elif isinstance(event, FileNotIndexed):
            key = (event.root.path, event.rel_path, event.reason)
            if key in self._reported_skips:
                return  # said once per session; every run would repeat it
            self._reported_skips.add(key)
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Log, message=f"acolyte: not indexed: {event.rel_path}: {event.reason}"
                )
            )

    def show(self, notice: Notice) -> None:
        kind = {
            "error": types.MessageType.Error,
            "warning": types.MessageType.Warning,
        }.get(notice.level, types.MessageType.Info)
        log.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, "%s", notice.message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=notice.message))

    def require_controller(self) -> Controller:
        if self.controller is None:
            raise JsonRpcInvalidParams("acolyte-lsp has no workspace folder open, so there is no index.")
        return self.controller


def _log_task_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())


def _object_arg(args: tuple[Any, ...], command: str) -> dict[str, Any]:
    """The single optional object argument of a command, validated."""
    if not args or args[0] is None:
        return {}
    if len(args) > 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(f"{command} takes one optional object argument, got {args!r}")
    return args[0]


def create_server() -> AcolyteLanguageServer:
    """A server with every feature registered."""
    server = AcolyteLanguageServer()

    @server.feature(types.INITIALIZE)
    def on_initialize(ls: AcolyteLanguageServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        ls.initialization_options = options if isinstance(options, dict) else {}

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: AcolyteLanguageServer, params: types.InitializedParams) -> None:
        await ls.start()

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def on_did_save(ls: AcolyteLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        path = Path(to_fs_path(params.text_document.uri) or "")
        controller = ls.controller
        if controller is None or not str(path):
            return
        if path.name == CONFIG_FILE_NAME and any(path.parent == r.path for r in controller.roots):
            ls.load_settings(controller.roots)
            ls.show(Notice("info", "acolyte settings saved; restart the language server to apply them."))
            return
        await controller.index_path(path)

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def on_cancel(ls: AcolyteLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        reporter = ls._progress_by_token.get(str(params.token))
        if reporter is not None:
            reporter.cancel.set()

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: AcolyteLanguageServer, *args: Any) -> None:
        await ls.stop()

    @server.feature(types.EXIT)
    def on_exit(ls: AcolyteLanguageServer, *args: Any) -> None:
        # A batch stuck in the v3 client's retry sleeps would keep the process
        # alive at interpreter exit (executor threads are joined); cap that wait.
        timer = threading.Timer(SHUTDOWN_GRACE_S, os._exit, args=(0,))
        timer.daemon = True
        timer.start()

    @server.command(CMD_REINDEX_WORKSPACE)
    async def reindex_workspace(ls: AcolyteLanguageServer, *args: Any) -> dict[str, Any]:
        options = _object_arg(args, CMD_REINDEX_WORKSPACE)
        force = options.get("force", False)
        if not isinstance(force, bool):
            raise JsonRpcInvalidParams(f"{CMD_REINDEX_WORKSPACE}: 'force' must be true or false")
        controller = ls.require_controller()
        if not controller.connected:
            return {"started": False, "reason": controller.last_error}
        summaries = await ls.run_index(force=force, title="Re-indexing workspace")
        return {"started": True, "summaries": summaries}

    @server.command(CMD_REINDEX_FILE)
    async def reindex_file(ls: AcolyteLanguageServer, *args: Any) -> dict[str, Any]:
        if len(args) != 1 or not isinstance(args[0], (str, dict)):
            raise JsonRpcInvalidParams(f"{CMD_REINDEX_FILE} takes one argument: a file URI or {{'uri': ...}}")
        uri = args[0] if isinstance(args[0], str) else args[0].get("uri")
        path = Path(to_fs_path(uri) or "") if isinstance(uri, str) else None
        if path is None or not str(path):
            raise JsonRpcInvalidParams(f"{CMD_REINDEX_FILE}: not a file URI: {uri!r}")
        indexed = await ls.require_controller().index_path(path)
        return {"indexed": indexed}

    @server.command(CMD_INDEX_STATUS)
    async def index_status(ls: AcolyteLanguageServer, *args: Any) -> dict[str, Any]:
        return await ls.require_controller().status()

    @server.command(CMD_SEARCH)
    async def search(ls: AcolyteLanguageServer, *args: Any) -> list[dict[str, Any]]:
        options = _object_arg(args, CMD_SEARCH)
        query = options.get("query")
        limit = options.get("limit", 10)
        if not isinstance(query, str) or not query.strip():
            raise JsonRpcInvalidParams(f"{CMD_SEARCH}: 'query' must be a non-empty string")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise JsonRpcInvalidParams(f"{CMD_SEARCH}: 'limit' must be an integer from 1 to 100")
        try:
            results = await ls.require_controller().search(
                query, limit, options.get("path_prefix"), options.get("language")
            )
        except StoreError as err:
            raise JsonRpcInvalidParams(f"{CMD_SEARCH}: {err}") from err
        return [
            {
                "uri": from_fs_path(str(r.path)),
                "range": {
                    "start": {"line": r.start_line - 1, "character": 0},
                    "end": {"line": r.end_line, "character": 0},
                },
                "score": r.score,
                "name": r.name,
                "kind": r.kind,
                "language": r.language,
                "preview": r.preview,
            }
            for r in results
        ]

    return server
