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
from pygls.uris import from_fs_path, to_fs_path

from .. import __version__
from ..changes import Batch, ChangeKind, ChangeQueue
from ..config import CONFIG_FILE_NAME, LoadedSettings, WithheldSettings, load_settings, redacted
from ..controller import Controller, Notice, SettingsChange, SetupStep, classify_settings_change
from ..display import brief, printable
from ..embedded_choice import Answer, remember_answer, remembered_answer
from ..indexer.events import FileFailed, FileIndexed, FileNotIndexed, FileRemoved, IndexEvent, IndexProgress, IndexSummary
from ..store.errors import StoreError
from ..trust import ANSWERS as TRUST_ANSWERS
from ..trust import TRUST, TrustAnswers, digest, ignored_warning, question
from .diagnostics import DiagnosticsBook
from .progress import ProgressReporter

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 5.0
CHANGES_WITH_PROGRESS = 20  # a change batch at least this big gets a progress of its own
CLIENT_ONLY_SECTIONS = ("server", "trace")  # editor-side settings in the acolyte.* namespace
CLIENT_TRUST_KEY = "workspaceTrusted"  # the client's Workspace Trust state, in initializationOptions

SETTINGS_TEMPLATE = """\
# acolyte-lsp settings (all keys: `acolyte-lsp schema`). Where Weaviate is:
weaviate:
  # url: http://localhost:8080   # a Weaviate server you run (or set WEAVIATE_URL)
  # embedded: true               # or Weaviate Embedded, run on this machine for every window
"""

Run = Callable[[asyncio.Event], Awaitable[list[IndexSummary]]]
MsgId = str | int


class AcolyteProtocol(LanguageServerProtocol):
    """pygls' protocol, telling the server when the client cancels a request.

    pygls cancels only the future of a request that has not started; a running
    command would never hear of it. The session turns the notice into a clean
    stop of the work behind the request.
    """

    def _handle_cancel_notification(self, msg_id: MsgId) -> None:
        server = self._server
        if isinstance(server, AcolyteLanguageServer):
            server.request_cancelled(msg_id)
        super()._handle_cancel_notification(msg_id)


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
        self.changes = ChangeQueue(self._apply_changes)
        self._progress: ProgressReporter | None = None
        self._progress_by_token: dict[str, ProgressReporter] = {}
        self._run_lock = asyncio.Lock()
        self._converge: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._reported_skips: set[tuple[Path, str, str]] = set()
        self._setup_steps: asyncio.Queue[SetupStep] = asyncio.Queue()
        self._setup_shown: asyncio.Task[None] | None = None
        self._setup_reporter: ProgressReporter | None = None  # one progress from the first step to the last
        self._shown_once: set[str] = set()  # messages said once per process (a settings change re-creates the controller)
        self.withheld: WithheldSettings | None = None  # what `.acolyte` asked for and was not given
        self.client_trust: bool | None = None  # the client's Workspace Trust, when it tells (VS Code does)
        self.trust_answers = TrustAnswers()
        self._trusted_now: set[str] = set()  # trusted in this session (kept even if the answer cannot be saved)
        self._trust_handled: set[str] = set()

    # -- settings ----------------------------------------------------------------

    def folders(self) -> list[Path]:
        paths = [Path(to_fs_path(f.uri) or "") for f in self.workspace.folders.values()]
        if not paths and self.workspace.root_path:
            paths = [Path(self.workspace.root_path)]
        return [p.resolve() for p in paths if str(p)]

    def set_editor_settings(self, options: Any) -> None:
        """initializationOptions or the client's `acolyte` configuration section (same keys).

        Editors report unset settings as null (VS Code does): those keys are left
        to `.acolyte` and the defaults instead of being read as values.
        """
        if not isinstance(options, dict):
            options = {}
        self.editor_settings = {}
        trusted = options.get(CLIENT_TRUST_KEY)
        if isinstance(trusted, bool):
            self.client_trust = trusted
        for name, section in options.items():
            if name in CLIENT_ONLY_SECTIONS or name == CLIENT_TRUST_KEY:
                continue
            if isinstance(section, dict):
                section = {k: v for k, v in section.items() if v is not None}
                if not section:
                    continue
            self.editor_settings[name] = section

    def load_settings(self) -> LoadedSettings:
        folders = self.folders()
        first = folders[0] if folders else None
        loaded = load_settings(first, self.editor_settings, trust=self._is_trusted)
        self.withheld = loaded.withheld
        if loaded.withheld is not None:
            self._settings_withheld(loaded.withheld)
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

    # -- workspace trust -------------------------------------------------------------

    def _is_trusted(self, asked: WithheldSettings) -> bool:
        """The client's word (VS Code's Workspace Trust) when it gave one, else the user's remembered answer."""
        if self.client_trust is not None:
            return self.client_trust
        return digest(asked) in self._trusted_now or self.trust_answers.trusted(asked)

    def _settings_withheld(self, asked: WithheldSettings) -> None:
        """Say (once per content) that `.acolyte` settings are ignored, and ask when nobody has answered yet."""
        key = digest(asked)
        if key in self._trust_handled:
            return
        self._trust_handled.add(key)
        if self.client_trust is False:
            self.show(Notice("warning", ignored_warning(asked, "Trust the workspace (VS Code: Manage Workspace Trust) to use them.")))
        elif self.trust_answers.answer(asked) is None:
            self.spawn(self.ask_trust(asked))
        else:  # declined before: no question, only a line in the log
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Info, message=ignored_warning(asked, "You chose to keep ignoring them.")
            ))

    async def ask_trust(self, asked: WithheldSettings) -> None:
        """Ask whether to trust what `.acolyte` asks for; a yes restarts the session with those settings."""
        try:
            reply = await self.window_show_message_request_async(
                types.ShowMessageRequestParams(
                    type=types.MessageType.Warning,
                    message=question(asked),
                    actions=[types.MessageActionItem(title=title) for title in TRUST_ANSWERS],
                )
            )
        except Exception as err:  # noqa: BLE001 - a client that cannot ask: the safe defaults stay
            log.info("the workspace trust question failed: %s", err)
            return
        if reply is None or reply.title not in TRUST_ANSWERS:
            return  # dismissed: asked again next time
        trusted = reply.title == TRUST
        self.trust_answers.remember(asked, trusted)
        if trusted:
            self._trusted_now.add(digest(asked))
            await self.reload_settings()

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
            folders, loaded.settings, self.on_event, self.show, ask_embedded=self.ask_embedded, on_setup=self.setup_progress
        )
        self.changes = ChangeQueue(self._apply_changes, debounce_s=loaded.settings.indexing.debounce_ms / 1000)
        self._converge = asyncio.ensure_future(self._keep_index_converged(self.controller))

    async def _keep_index_converged(self, controller: Controller) -> None:
        """Connect (the user may be asked about Weaviate Embedded), then index whenever a
        connection comes up: at start and after every outage."""
        await controller.connect()
        while True:
            await controller.wait_connected()
            await self.run_index(force=False, title="Indexing workspace", controller=controller)
            resync_s = controller.settings.indexing.resync_minutes * 60 or None
            while controller.connected:
                try:
                    await asyncio.wait_for(controller.wait_disconnected(), resync_s)
                except asyncio.TimeoutError:
                    await controller.index_all()  # quiet: a no-change run sends nothing

    async def with_progress(
        self, title: str, message: str, run: Run, cancel: asyncio.Event | None = None
    ) -> list[IndexSummary]:
        """Run under a cancellable work-done progress, one such run at a time.

        `cancel` stops the run at its next clean point; the client's cancel
        button on the progress sets it too.
        """
        async with self._run_lock:
            reporter = ProgressReporter(self, title, cancel or asyncio.Event())
            self._progress_by_token[reporter.token] = reporter
            self._progress = reporter
            try:
                await reporter.begin(message)
                summaries = await run(reporter.cancel)
                reporter.end(" | ".join(s.describe() for s in summaries) or "nothing to do")
                return summaries
            except StoreError as err:
                reporter.end(f"Stopped: {err}")
                raise
            finally:
                self._progress = None
                self._progress_by_token.pop(reporter.token, None)

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
        message = f"{len(controller.roots)} folder(s) · {controller.endpoint}"
        summaries = await self.with_progress(
            title, message, lambda stop: controller.index_all(force=force, cancel=stop), cancel
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
                "Indexing changed files", f"{len(batch)} changed paths", lambda cancel: controller.apply_changes(batch, cancel)
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
                "Indexing added folder", ", ".join(r.path.name for r in added), lambda cancel: controller.index_roots(added, cancel=cancel)
            )

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_task_failure)

    async def _stop_controller(self) -> None:
        for reporter in list(self._progress_by_token.values()):
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

    # -- Weaviate Embedded --------------------------------------------------------

    async def ask_embedded(self, reason: str) -> str | None:
        """Ask once whether to start Weaviate Embedded; a remembered answer is not asked again."""
        answer = remembered_answer()
        if answer is not None:
            return answer
        reply = await self.window_show_message_request_async(
            types.ShowMessageRequestParams(
                type=types.MessageType.Warning,
                message=(
                    f"acolyte-lsp: {reason} Start Weaviate Embedded? It runs on this machine for all your "
                    "editor windows and keeps the index between sessions (downloaded once). Or open settings "
                    "to point weaviate.url at your Weaviate."
                ),
                actions=[types.MessageActionItem(title=title) for title in Answer.ALL],
            )
        )
        answer = reply.title if reply is not None and reply.title in Answer.ALL else None
        if answer is not None:
            remember_answer(answer)
        if answer == Answer.SETTINGS:
            await self.open_settings()
        return answer

    async def open_settings(self) -> None:
        """Show the first folder's `.acolyte` in the editor, written from a template when there is none."""
        folders = self.folders()
        if not folders:
            return
        path = folders[0] / CONFIG_FILE_NAME
        if not path.exists():
            await asyncio.to_thread(path.write_text, SETTINGS_TEMPLATE)
        await self.window_show_document_async(types.ShowDocumentParams(uri=from_fs_path(str(path)) or path.as_uri()))

    def setup_progress(self, step: SetupStep) -> None:
        """Getting Weaviate Embedded ready, shown as one work-done progress (steps kept in order)."""
        self._setup_steps.put_nowait(step)
        if self._setup_shown is None or self._setup_shown.done():
            self._setup_shown = asyncio.ensure_future(self._show_setup_steps())

    async def _show_setup_steps(self) -> None:
        while not self._setup_steps.empty():
            step = self._setup_steps.get_nowait()
            if self._setup_reporter is None:
                self._setup_reporter = ProgressReporter(self, step.title, asyncio.Event(), cancellable=False)
                await self._setup_reporter.begin(step.message)
            if step.done:
                self._setup_reporter.end(step.message)
                self._setup_reporter = None
            else:
                self._setup_reporter.report_message(step.message, step.percentage)

    # -- events back to the editor -----------------------------------------------

    def on_event(self, event: IndexEvent) -> None:
        if isinstance(event, IndexProgress):
            if self._progress is not None:
                self._progress.report(event)
        elif isinstance(event, FileFailed):
            self.diagnostics.file_failed(event.root.path / event.rel_path, event.failures)
        elif isinstance(event, FileIndexed):
            self.diagnostics.file_clean(event.root.path / event.rel_path)
        elif isinstance(event, FileRemoved):
            self.diagnostics.clear_under(event.root.path / event.rel_path)
        elif isinstance(event, FileNotIndexed):
            key = (event.root.path, event.rel_path, event.reason)
            if key in self._reported_skips:
                return  # said once per session; every run would repeat it
            self._reported_skips.add(key)
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Warning if event.warn else types.MessageType.Log,
                    message=f"acolyte: not indexed: {printable(event.rel_path)}: {brief(event.reason)}",
                )
            )

    def show(self, notice: Notice) -> None:
        if notice.once:
            if notice.message in self._shown_once:
                return
            self._shown_once.add(notice.message)
        kind = {
            "error": types.MessageType.Error,
            "warning": types.MessageType.Warning,
        }.get(notice.level, types.MessageType.Info)
        message = printable(notice.message)
        log.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, "%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def require_controller(self) -> Controller:
        if self.controller is None:
            raise JsonRpcInvalidParams("acolyte-lsp has no workspace folder open, so there is no index.")
        return self.controller


def _log_task_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())
