"""LSP feature handlers, each translating one message into a session or controller call, and their table.

Handlers are module-level functions (each importable and testable alone);
`create_server` registers them from `FEATURES` and `COMMANDS` on a fresh server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from ..changes import ChangeKind
from ..searching import InvalidQuery
from ..index_status import index_status
from ..store.errors import StoreError
from .locations import search_reply_of, symbol_of
from .session import SHUTDOWN_GRACE_S, AcolyteLanguageServer, watches_files

log = logging.getLogger(__name__)

CMD_REINDEX_WORKSPACE = "acolyte.reindexWorkspace"
CMD_REINDEX_FILE = "acolyte.reindexFile"
CMD_INDEX_STATUS = "acolyte.indexStatus"
CMD_SEARCH = "acolyte.search"

_ALL_FILES = types.FileOperationRegistrationOptions(
    filters=[types.FileOperationFilter(pattern=types.FileOperationPattern(glob="**/*"))]
)


def _object_arg(args: tuple[Any, ...], command: str) -> dict[str, Any]:
    """The single optional object argument of a command, validated."""
    if not args or args[0] is None:
        return {}
    if len(args) > 1 or not isinstance(args[0], dict):
        shown = repr(args)
        shown = shown if len(shown) <= 200 else f"{shown[:200]}… ({len(shown):,} characters)"
        raise JsonRpcInvalidParams(f"{command} takes one optional object argument, got {shown}")
    return args[0]


# -- lifecycle ----------------------------------------------------------------------


def on_initialize(ls: AcolyteLanguageServer, params: types.InitializeParams) -> None:
    ls.set_editor_settings(params.initialization_options)


async def on_initialized(ls: AcolyteLanguageServer, params: types.InitializedParams) -> None:
    await ls.start()
    if watches_files(ls.client_capabilities):
        # Files changed outside the editor (git checkout, formatters, generators).
        options = types.DidChangeWatchedFilesRegistrationOptions(watchers=[types.FileSystemWatcher(glob_pattern="**/*")])
        registration = types.Registration(
            id=str(uuid.uuid4()), method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
        )
        try:
            await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
        except Exception as err:  # noqa: BLE001 - saves still work without watching
            log.warning("the client refused file watching: %s", err)


async def on_shutdown(ls: AcolyteLanguageServer, *args: Any) -> None:
    await ls.stop()


def on_exit(ls: AcolyteLanguageServer, *args: Any) -> None:
    # A batch stuck in the v3 client's retry sleeps would keep the process
    # alive at interpreter exit (executor threads are joined); cap that wait.
    timer = threading.Timer(SHUTDOWN_GRACE_S, os._exit, args=(0,))
    timer.daemon = True
    timer.start()


# -- files and folders ---------------------------------------------------------------


def on_did_save(ls: AcolyteLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.file_changed(params.text_document.uri, ChangeKind.CHANGED)


def on_watched_files(ls: AcolyteLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
    for change in params.changes:
        kind = ChangeKind.DELETED if change.type == types.FileChangeType.Deleted else ChangeKind.CHANGED
        ls.file_changed(change.uri, kind)


def on_create_files(ls: AcolyteLanguageServer, params: types.CreateFilesParams) -> None:
    for created in params.files:
        ls.file_changed(created.uri, ChangeKind.CHANGED)


def on_delete_files(ls: AcolyteLanguageServer, params: types.DeleteFilesParams) -> None:
    for deleted in params.files:
        ls.file_changed(deleted.uri, ChangeKind.DELETED)


def on_rename_files(ls: AcolyteLanguageServer, params: types.RenameFilesParams) -> None:
    for renamed in params.files:  # chunks move: the old path goes, the new one is indexed
        ls.file_changed(renamed.old_uri, ChangeKind.DELETED)
        ls.file_changed(renamed.new_uri, ChangeKind.CHANGED)


async def on_folders(ls: AcolyteLanguageServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    if ls.controller is None:
        await ls.start()
    else:
        await ls.folders_changed()


async def on_configuration(ls: AcolyteLanguageServer, params: types.DidChangeConfigurationParams) -> None:
    pushed = params.settings.get("acolyte") if isinstance(params.settings, dict) else None
    if isinstance(pushed, dict):
        ls.set_editor_settings(pushed)
    else:
        await ls.pull_editor_settings()
    await ls.reload_settings()


# -- search --------------------------------------------------------------------------


async def on_workspace_symbol(ls: AcolyteLanguageServer, params: types.WorkspaceSymbolParams) -> list[types.SymbolInformation]:
    if not params.query.strip() or ls.controller is None or not ls.controller.connected:
        return []
    try:
        results = await ls.controller.search(params.query, 50)
    except (StoreError, InvalidQuery) as err:
        log.info("workspace/symbol failed: %s", err)
        return []
    return [symbol_of(r) for r in results]


# -- commands ------------------------------------------------------------------------


async def reindex_workspace(ls: AcolyteLanguageServer, *args: Any) -> dict[str, Any]:
    options = _object_arg(args, CMD_REINDEX_WORKSPACE)
    force = options.get("force", False)
    if not isinstance(force, bool):
        raise JsonRpcInvalidParams(f"{CMD_REINDEX_WORKSPACE}: 'force' must be true or false")
    controller = ls.require_controller()
    if not controller.connected:
        controller.connection.retry_now()  # the user asked: try Weaviate again now, not at the next backoff
        return {"started": False, "reason": controller.connection.last_error}
    cancel = asyncio.Event()
    run = ls.run_index(force=force, title="Re-indexing workspace", cancel=cancel)
    return {"started": True, "summaries": await ls.run_cancellable(run, cancel)}


async def reindex_file(ls: AcolyteLanguageServer, *args: Any) -> dict[str, Any]:
    if len(args) != 1 or not isinstance(args[0], (str, dict)):
        raise JsonRpcInvalidParams(f"{CMD_REINDEX_FILE} takes one argument: a file URI or {{'uri': ...}}")
    uri = args[0] if isinstance(args[0], str) else args[0].get("uri")
    path = to_fs_path(uri) if isinstance(uri, str) else None
    if not path:
        raise JsonRpcInvalidParams(f"{CMD_REINDEX_FILE}: not a file URI: {uri!r}")
    summaries = await ls.require_controller().apply_changes({Path(path): ChangeKind.CHANGED})
    return {"indexed": sum(s.files_indexed for s in summaries)}


async def status_command(ls: AcolyteLanguageServer, *args: Any) -> dict[str, Any]:
    status = await index_status(ls.require_controller(), queued_changes=ls.changes.pending)
    status["settings_withheld"] = [] if ls.withheld is None else list(ls.withheld.keys)
    return status


def _search_options(args: tuple[Any, ...]) -> tuple[str, int, str | None, str | None]:
    """The query, limit, path prefix and language of `acolyte.search`, validated."""
    options = _object_arg(args, CMD_SEARCH)
    query = options.get("query")
    limit = options.get("limit", 10)
    if not isinstance(query, str) or not query.strip():
        raise JsonRpcInvalidParams(f"{CMD_SEARCH}: 'query' must be a non-empty string")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
        raise JsonRpcInvalidParams(f"{CMD_SEARCH}: 'limit' must be an integer from 1 to 100")
    for key in ("path_prefix", "language"):
        if options.get(key) is not None and not isinstance(options[key], str):
            raise JsonRpcInvalidParams(f"{CMD_SEARCH}: '{key}' must be a string")
    return query, limit, options.get("path_prefix"), options.get("language")


async def search_command(ls: AcolyteLanguageServer, *args: Any) -> list[dict[str, Any]]:
    query, limit, path_prefix, language = _search_options(args)
    try:
        results = await ls.require_controller().search(query, limit, path_prefix, language)
    except (StoreError, InvalidQuery) as err:
        raise JsonRpcInvalidParams(f"{CMD_SEARCH}: {err}") from err
    return [search_reply_of(r) for r in results]


# -- the table -----------------------------------------------------------------------

FEATURES: tuple[tuple[str, Callable[..., Any], Any], ...] = (
    (types.INITIALIZE, on_initialize, None),
    (types.INITIALIZED, on_initialized, None),
    (types.SHUTDOWN, on_shutdown, None),
    (types.EXIT, on_exit, None),
    (types.TEXT_DOCUMENT_DID_SAVE, on_did_save, None),
    (types.WORKSPACE_DID_CHANGE_WATCHED_FILES, on_watched_files, None),
    (types.WORKSPACE_DID_CREATE_FILES, on_create_files, _ALL_FILES),
    (types.WORKSPACE_DID_DELETE_FILES, on_delete_files, _ALL_FILES),
    (types.WORKSPACE_DID_RENAME_FILES, on_rename_files, _ALL_FILES),
    (types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, on_folders, None),
    (types.WORKSPACE_DID_CHANGE_CONFIGURATION, on_configuration, None),
    (types.WORKSPACE_SYMBOL, on_workspace_symbol, None),
)
COMMANDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    (CMD_REINDEX_WORKSPACE, reindex_workspace),
    (CMD_REINDEX_FILE, reindex_file),
    (CMD_INDEX_STATUS, status_command),
    (CMD_SEARCH, search_command),
)


def create_server() -> AcolyteLanguageServer:
    """A fresh server with every feature and command of the table registered."""
    server = AcolyteLanguageServer()
    for method, handler, options in FEATURES:
        server.feature(method, options)(handler)
    for name, handler in COMMANDS:
        server.command(name)(handler)
    return server
