"""The editor session: settings sources, the controller, runs under progress, events back as LSP."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from .. import __version__
from ..changes import Batch, ChangeKind, ChangeQueue
from ..settings import (
    CONFIG_FILE_NAME,
    LoadedSettings,
    SettingsChange,
    WithheldSettings,
    classify_settings_change,
    load_settings,
    redacted,
)
from ..controller import Controller
from ..embedded_choice import Answer
from ..indexer.events import IndexSummary
from ..notices import Notice
from ..store.errors import StoreError
from ..upkeep import keep_index_converged
from .diagnostics import DiagnosticsBook
from .editor_messages import EditorMessages, editor_settings_of
from .embedded_dialog import ask_embedded
from .progress import ProgressReporter
from .setup_progress import SetupProgress
from .trust_dialog import TrustDialog

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 5.0
CHANGES_WITH_PROGRESS = 20  # a change batch at least this big gets a progress of its own

Run = Callable[[ProgressReporter], Awaitable[list[IndexSummary]]]  # a run, told its own progress
MsgId = str | int


class AcolyteProtocol(LanguageServerProtocol):
    """pygls' protocol, telling the server when the client cancels a request.

    pygls runs a command behind a future of its own and cancels only that one,
    so a running command would never hear of `$/cancelRequest` (pygls offers no
    public hook for it). The session turns the notice into the same clean stop
    as the progress's cancel button.
    """

    def _handle_cancel_notification(self, msg_id: MsgId) -> None:
        server = self._server
        if isinstance(server, AcolyteLanguageServer):
            server.request_cancelled(msg_id)
        super()._handle_cancel_notification(msg_id)


def watches_files(capabilities: types.ClientCapabilities) -> bool:
    """Whether the editor can send `workspace/didChangeWatchedFiles` for files changed outside it."""
    watched = capabilities.workspace.did_change_watched_files if capabilities.workspace else None
    return bool(watched and watched.dynamic_registration)


class AcolyteLanguageServer(LanguageServer):
    """Holds the per-editor session: settings, controller, change queue, diagnostics, progress."""

    def __init__(self) -> None:
        super().__init__(
            name="acolyte-lsp",
            version=__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
            protocol_cls=AcolyteProtocol,
        )
        self._request_cancels: dict[MsgId, asyncio.Event] = {}
        self.editor_settings: dict[str, Any] = {}
        self.controller: Controller | None = None
        self.diagnostics = DiagnosticsBook(self)
        self.messages = EditorMessages(self, self.diagnostics)
        self.on_event, self.show = self.messages.on_event, self.messages.show
        self.changes = ChangeQueue(self._apply_changes)
        self._runs: set[ProgressReporter] = set()  # runs under progress now (a session stop cancels them)
        self._run_lock = asyncio.Lock()
        self._converge: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.setup_progress = SetupProgress(self)
        self.withheld: WithheldSettings | None = None  # what `.acolyte` asked for and was not given
        self.trust = TrustDialog(self, self.show, self.spawn, self.reload_settings)

    # -- settings ----------------------------------------------------------------

    def folders(self) -> list[Path]:
        paths = [Path(to_fs_path(f.uri) or "") for f in self.workspace.folders.values()]
        if not paths and self.workspace.root_path:
            paths = [Path(self.workspace.root_path)]
        return [p.resolve() for p in paths if str(p)]

    def set_editor_settings(self, options: Any) -> None:
        """initializationOptions or the client's `acolyte` configuration section (same keys)."""
        self.editor_settings, trusted = editor_settings_of(options)
        if trusted is not None:
            self.trust.client_trust = trusted

    def load_settings(self) -> LoadedSettings:
        folders = self.folders()
        first = folders[0] if folders else None
        loaded = load_settings(first, self.editor_settings, trust=self.trust.is_trusted)
        self.withheld = loaded.withheld
        if loaded.withheld is not None:
            self.trust.withheld(loaded.withheld)
        if first is not None:
            self.diagnostics.config_problems(
                first / CONFIG_FILE_NAME, [p for p in loaded.problems if p.source != "initializationOptions"]
            )
        for problem in loaded.problems:
            if problem.source == "initializationOptions":
                self.show(Notice("warning", f"acolyte settings: {problem}"))
        return loaded

    async def pull_editor_settings(self) -> None:
        """Ask the client for its `acolyte` section (`workspace/configuration`), when it can answer."""
        workspace = self.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            return
        try:
            [section] = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="acolyte")])
            )
        except Exception as err:  # noqa: BLE001 - a client that cannot answer keeps what we have
            log.info("workspace/configuration failed: %s", err)
            return
        if isinstance(section, dict):
            self.set_editor_settings(section)

    async def reload_settings(self) -> None:
        """Apply changed settings the least disruptive way (see `classify_settings_change`)."""
        loaded = self.load_settings()
        controller = self.controller
        if controller is None:
            await self.start()
            return
        change = classify_settings_change(controller.settings, loaded.settings)
        log.info("settings change: %s", change)
        if change == SettingsChange.NONE:
            return
        if change == SettingsChange.RESTART:
            self.show(Notice("info", "acolyte settings changed: reconnecting to Weaviate and re-indexing."))
            await self.start(loaded)
            return
        controller.apply_settings_in_place(loaded.settings)
        if change in (SettingsChange.REINDEX, SettingsChange.REINDEX_ALL) and controller.connected:
            force = change == SettingsChange.REINDEX_ALL
            self.spawn(self.run_index(force=force, title="Re-indexing after a settings change"))

    # -- session -----------------------------------------------------------------

    async def start(self, loaded: LoadedSettings | None = None) -> None:
        """(Re)start the session: a controller for the open folders, connected and indexing."""
        loaded = loaded or self.load_settings()
        log.info("settings: %s", redacted(loaded.settings))
        await self._stop_controller()
        folders = self.folders()
        if not folders:
            self.show(Notice("warning", "acolyte-lsp: no workspace folder is open, so there is nothing to index."))
            return
        self.controller = Controller(
            folders, loaded.settings, self.on_event, self.show, ask_embedded=self._ask_embedded, on_setup=self.setup_progress,
            # Only a server that sees changes on disk may index for others (an agent edits on disk):
            # one whose editor does not watch files indexes what it hears of, as if alone.
            lease_holder="language server" if watches_files(self.client_capabilities) else None,
        )
        self.changes = ChangeQueue(self._apply_changes, debounce_s=loaded.settings.indexing.debounce_ms / 1000)
        self._converge = asyncio.ensure_future(self._keep_index_converged(self.controller))

    async def _keep_index_converged(self, controller: Controller) -> None:
        """Index at start, after outages and on taking a folder over, under progress (the user may
        first be asked about Weaviate Embedded)."""
        await keep_index_converged(
            controller,
            lambda: self.run_index(force=False, title="Indexing workspace", controller=controller),
            lambda freed: self.with_progress(
                "Indexing workspace", "taking over from another acolyte-lsp process",
                lambda run: controller.index_roots(freed, cancel=run.cancel, progress=run.report),
            ),
        )

    async def with_progress(
        self, title: str, message: str, run: Run, cancel: asyncio.Event | None = None
    ) -> list[IndexSummary]:
        """Run under a cancellable work-done progress, one such run at a time.

        `cancel` stops the run at its next clean point; the client's cancel
        button on the progress sets it too. The run reports to its own progress.
        """
        async with self._run_lock:
            reporter = ProgressReporter(self, title, cancel or asyncio.Event())
            self._runs.add(reporter)
            try:
                await reporter.begin(message)
                summaries = await run(reporter)
                reporter.end(" | ".join(s.describe() for s in summaries) or "nothing to do")
                return summaries
            except StoreError as err:
                reporter.end(f"Stopped: {err}")
                raise
            finally:
                self._runs.discard(reporter)

    async def run_index(
        self,
        *,
        force: bool,
        title: str,
        controller: Controller | None = None,
        cancel: asyncio.Event | None = None,
    ) -> list[dict[str, Any]]:
        """A workspace run under progress; returns the summaries as plain dicts."""
        controller = controller or self.require_controller()
        message = f"{len(controller.roots)} folder(s) · {controller.connection.endpoint}"
        # What the user has open is searchable first (then what changed last): the rest of a big first index can wait.
        open_files = [Path(path) for uri in self.workspace.text_documents if (path := to_fs_path(uri))]
        summaries = await self.with_progress(
            title, message,
            lambda run: controller.index_all(force=force, cancel=run.cancel, progress=run.report, first=open_files), cancel,
        )
        return [dataclasses.asdict(s) for s in summaries]

    async def run_cancellable(self, coro: Awaitable[Any], cancel: asyncio.Event) -> Any:
        """Await work for the current request; `$/cancelRequest` for it sets `cancel` (a clean stop)."""
        msg_id = self.protocol.msg_id
        if msg_id is not None:
            self._request_cancels[msg_id] = cancel
        try:
            return await coro
        finally:
            if msg_id is not None:
                self._request_cancels.pop(msg_id, None)

    def request_cancelled(self, msg_id: MsgId) -> None:
        cancel = self._request_cancels.get(msg_id)
        if cancel is not None:
            cancel.set()

    async def _apply_changes(self, batch: Batch) -> None:
        controller = self.controller
        if controller is None:
            return
        if len(batch) >= CHANGES_WITH_PROGRESS:
            await self.with_progress(
                "Indexing changed files",
                f"{len(batch)} changed paths",
                lambda run: controller.apply_changes(batch, run.cancel, run.report),
            )
        else:
            await controller.apply_changes(batch)

    def file_changed(self, uri: str, kind: ChangeKind) -> None:
        path = to_fs_path(uri)
        if not path:
            return
        path_obj = Path(path)
        if path_obj.name == CONFIG_FILE_NAME and any(path_obj.parent == f for f in self.folders()):
            self.spawn(self.reload_settings())
            return
        self.changes.add(path_obj, kind)

    async def folders_changed(self) -> None:
        controller = self.require_controller()
        before = {r.path for r in controller.roots}
        added = controller.set_folders(self.folders())
        for removed in before - {r.path for r in controller.roots}:
            self.diagnostics.clear_under(removed)
        if added and controller.connected:
            await self.with_progress(
                "Indexing added folder",
                ", ".join(r.path.name for r in added),
                lambda run: controller.index_roots(added, cancel=run.cancel, progress=run.report),
            )

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_task_failure)

    async def _stop_controller(self) -> None:
        for reporter in list(self._runs):
            reporter.cancel.set()
        if self._converge is not None:
            self._converge.cancel()
        self.changes.close()
        if self.controller is not None:
            controller, self.controller = self.controller, None
            try:
                await asyncio.wait_for(controller.close(), SHUTDOWN_GRACE_S)
            except asyncio.TimeoutError:
                log.warning("Weaviate did not finish the batch in flight within %ss", SHUTDOWN_GRACE_S)

    async def stop(self) -> None:
        """Cancel runs in flight, then release Weaviate within a bounded time."""
        for task in list(self._background):
            task.cancel()
        await self._stop_controller()

    async def _ask_embedded(self, reason: str) -> Answer | None:
        folders = self.folders()
        return await ask_embedded(self, reason, folders[0] if folders else None)

    def require_controller(self) -> Controller:
        if self.controller is None:
            raise JsonRpcInvalidParams("acolyte-lsp has no workspace folder open, so there is no index.")
        return self.controller


def _log_task_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())
