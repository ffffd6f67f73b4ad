"""What the session tells the editor: notices as messages, indexing events as diagnostics and log lines."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from ..display import brief, printable
from ..indexer.events import FileFailed, FileIndexed, FileNotIndexed, FileRemoved, IndexEvent
from ..notices import Notice
from .diagnostics import DiagnosticsBook

log = logging.getLogger(__name__)

CLIENT_ONLY_SECTIONS = ("server", "trace")  # editor-side settings in the acolyte.* namespace
CLIENT_TRUST_KEY = "workspaceTrusted"  # the client's Workspace Trust state, in initializationOptions


class EditorMessages:
    """Events every run shares (a run's progress goes to its own reporter) and notices, said once where that is meant."""

    def __init__(self, ls: LanguageServer, diagnostics: DiagnosticsBook) -> None:
        self._ls = ls
        self._diagnostics = diagnostics
        self._reported_skips: set[tuple[Path, str, str]] = set()
        self._shown_once: set[str] = set()  # said once per process (a settings change re-creates the controller)

    def on_event(self, event: IndexEvent) -> None:
        if isinstance(event, FileFailed):
            self._diagnostics.file_failed(event.root.path / event.rel_path, event.failures)
        elif isinstance(event, FileIndexed):
            self._diagnostics.file_clean(event.root.path / event.rel_path)
        elif isinstance(event, FileRemoved):
            self._diagnostics.clear_under(event.root.path / event.rel_path)
        elif isinstance(event, FileNotIndexed):
            key = (event.root.path, event.rel_path, event.reason)
            if key in self._reported_skips:
                return  # said once per session; every run would repeat it
            self._reported_skips.add(key)
            self._ls.window_log_message(
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
        self._ls.window_show_message(types.ShowMessageParams(type=kind, message=message))


def editor_settings_of(options: Any) -> tuple[dict[str, Any], bool | None]:
    """The acolyte settings in initializationOptions or the client's `acolyte` section, and its trust word.

    Editors report unset settings as null (VS Code does): those keys are left
    to `.acolyte` and the defaults instead of being read as values.
    """
    if not isinstance(options, dict):
        return {}, None
    trusted = options.get(CLIENT_TRUST_KEY)
    settings: dict[str, Any] = {}
    for name, section in options.items():
        if name in CLIENT_ONLY_SECTIONS or name == CLIENT_TRUST_KEY:
            continue
        if isinstance(section, dict):
            section = {k: v for k, v in section.items() if v is not None}
            if not section:
                continue
        settings[name] = section
    return settings, trusted if isinstance(trusted, bool) else None
