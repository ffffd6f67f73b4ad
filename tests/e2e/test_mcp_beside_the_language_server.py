"""A language server and an MCP server on one workspace: one indexes, the other searches; `kill -9` of either converges."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from acolyte_lsp.indexer.events import WorkspaceRoot
from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings, Settings, WeaviateSettings
from acolyte_lsp.store.client import connect
from tests.convergence import convergence_problems
from tests.e2e.conftest import capabilities, ended_progress, eventually_status, initialize, options
from tests.e2e.conftest import eventually as eventually_sync
from tests.e2e.mcp_client import call, eventually, mcp_server
from tests.files import write
from tests.recording_proxy import RecordingProxy
from tests.trust import trust_folder
from tests.weaviate_server import WeaviateTestServer

SETTINGS = Settings(
    indexing=IndexingSettings(chunk_lines=10, chunk_overlap=2), embeddings=EmbeddingSettings(provider="hash")
)


def _workspace(root: Path, class_name: str) -> dict[str, Any]:
    """Files, and the same settings for both servers (`.acolyte` for the MCP server, options for the editor's)."""
    write(root, {"billing.py": "def compute_invoice_total(invoice):\n    return 1\n", "notes.md": "# Notes\nplain text\n"})
    (root / ".acolyte").write_text(
        f"weaviate:\n  class_name: {class_name}\nembeddings:\n  provider: hash\n"
        "indexing:\n  chunk_lines: 10\n  chunk_overlap: 2\n  debounce_ms: 100\n"
    )
    editor = options("", class_name) | {"embeddings": {"provider": "hash"}}
    trust_folder(root)
    return editor


def _objects_sent(weaviate: WeaviateTestServer | RecordingProxy) -> int:
    return sum(r.objects for r in weaviate.requests_to("POST", "/v1/batch/objects"))


async def _initialize_watching(lsp: LanguageClient, root: Path, editor: dict[str, Any]) -> None:
    """Initialise as VS Code does: an editor that watches files changed outside it."""

    @lsp.feature(types.CLIENT_REGISTER_CAPABILITY)
    def registered(params: types.RegistrationParams) -> None:
        del params  # accepted, as an editor accepts it

    watching = capabilities()
    watching.workspace = types.WorkspaceClientCapabilities(
        did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
    )
    await lsp.initialize_session(
        types.InitializeParams(
            capabilities=watching, root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)], initialization_options=editor,
        )
    )


async def _saved(lsp: LanguageClient, path: Path) -> None:
    """The editor saved `path` and its file watcher saw it change, as VS Code reports both."""
    lsp.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri())))
    lsp.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Created)])
    )


def _converged(url: str, class_name: str, root: Path) -> list[str]:
    return convergence_problems(connect(WeaviateSettings(url=url)), class_name, WorkspaceRoot.at(root, None), SETTINGS)


async def test_with_the_mcp_server_indexing_the_language_server_only_searches_and_takes_over_after_kill_9(
    lsp: LanguageClient, recorded_weaviate: WeaviateTestServer | RecordingProxy, class_name: str, tmp_path: Path
) -> None:
    editor = _workspace(tmp_path, class_name)
    editor["weaviate"]["url"] = recorded_weaviate.url
    async with mcp_server(tmp_path, recorded_weaviate.url) as agent:
        await eventually(lambda: _idle_with(agent, 2), "the MCP server's first index")
        await _initialize_watching(lsp, tmp_path, editor)
        status = await eventually_status(lsp, lambda s: "MCP server" in (s["roots"][0]["indexed_by"] or ""))
        mcp_pid = int(status["roots"][0]["indexed_by"].split()[0])
        before = _objects_sent(recorded_weaviate)
        write(tmp_path, {"widget.py": "def frobnicate_the_widget():\n    return 2\n"})
        await _saved(lsp, tmp_path / "widget.py")  # the editor saved it: the language server hears of it too
        await eventually(lambda: _finds(agent, "frobnicate widget", "widget.py"), "the new file searchable")
        await eventually_status(lsp, lambda s: s["queue"]["changes_waiting"] == 0 and s["state"] == "idle")
        assert _objects_sent(recorded_weaviate) - before == 1  # one chunk, sent once: not by both
        os.kill(mcp_pid, signal.SIGKILL)
        write(tmp_path, {"late.py": "def written_after_the_kill():\n    return 3\n"})
        await eventually_status(lsp, lambda s: s["roots"][0]["indexed_by"] == "this process" and s["state"] == "idle")
        await eventually_sync(lambda: not _converged(recorded_weaviate.url, class_name, tmp_path), "the index to converge")


async def test_with_the_language_server_indexing_the_mcp_server_only_searches_and_takes_over_after_kill_9(
    lsp: LanguageClient, recorded_weaviate: WeaviateTestServer | RecordingProxy, class_name: str, tmp_path: Path
) -> None:
    editor = _workspace(tmp_path, class_name)
    editor["weaviate"]["url"] = recorded_weaviate.url
    await _initialize_watching(lsp, tmp_path, editor)
    await eventually_sync(lambda: ended_progress(lsp), "the language server's first index")
    async with mcp_server(tmp_path, recorded_weaviate.url) as agent:
        status = await eventually(lambda: _indexed_by(agent, "language server"), "the MCP server to find the lease taken")
        assert status["pending_files"] is None
        before = _objects_sent(recorded_weaviate)
        write(tmp_path, {"widget.py": "def frobnicate_the_widget():\n    return 2\n"})  # the agent's watcher sees it too
        await _saved(lsp, tmp_path / "widget.py")
        await eventually(lambda: _finds(agent, "frobnicate widget", "widget.py"), "the saved file searchable")
        await eventually_status(lsp, lambda s: s["queue"]["changes_waiting"] == 0 and s["state"] == "idle")
        assert _objects_sent(recorded_weaviate) - before == 1
        server = lsp._server  # noqa: SLF001 - the editor's language server process, killed as a crash would
        assert server is not None
        server.send_signal(signal.SIGKILL)
        await server.wait()
        write(tmp_path, {"late.py": "def written_after_the_kill():\n    return 3\n"})
        await eventually(lambda: _indexed_here(agent), "the MCP server to take over")
        await eventually(lambda: _finds(agent, "written after the kill", "late.py"), "the late file searchable")
        await eventually(lambda: _no_problems(recorded_weaviate.url, class_name, tmp_path), "the index to converge")


async def test_a_language_server_whose_editor_does_not_watch_files_indexes_for_itself_beside_an_mcp_server(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    editor = _workspace(tmp_path, class_name)
    editor["weaviate"]["url"] = weaviate_url
    async with mcp_server(tmp_path, weaviate_url) as agent:
        await eventually(lambda: _idle_with(agent, 2), "the MCP server's first index")
        await initialize(lsp, tmp_path, editor)  # no watched files: agents' edits on disk would go unseen by it
        await eventually_sync(lambda: ended_progress(lsp), "the language server's own index")
        status = await _status(lsp)
    assert status["roots"][0]["indexed_by"] == "this process"
    assert status["roots"][0]["last_run"]["files_unchanged"] == 2  # nothing re-sent: the MCP server's index is current


async def _status(lsp: LanguageClient) -> Any:
    return await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))


async def _idle_with(agent, files: int) -> bool:  # type: ignore[no-untyped-def]
    status = await call(agent, "index_status")
    return status["state"] == "idle" and status["files"] == files


async def _indexed_by(agent, holder: str) -> Any:  # type: ignore[no-untyped-def]
    status = await call(agent, "index_status")
    return status if holder in status["indexed_by"] else None


async def _indexed_here(agent) -> bool:  # type: ignore[no-untyped-def]
    status = await call(agent, "index_status")
    return status["indexed_by"] == "this process" and status["state"] == "idle"


async def _finds(agent, query: str, file: str) -> bool:  # type: ignore[no-untyped-def]
    reply = await call(agent, "search_code", {"query": query, "limit": 1})
    return bool(reply["results"]) and reply["results"][0]["file"] == file


async def _no_problems(url: str, class_name: str, root: Path) -> bool:
    return not _converged(url, class_name, root)
