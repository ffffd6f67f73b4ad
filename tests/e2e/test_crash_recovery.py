"""`kill -9` of acolyte-lsp mid-work, then a new start: Weaviate converges to the files on disk."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import weaviate
from lsprotocol import types
from pytest_lsp import LanguageClient

from acolyte_lsp.settings import IndexingSettings, Settings
from acolyte_lsp.indexer.events import WorkspaceRoot
from tests.convergence import assert_converged, convergence_problems
from tests.files import lines, write
from tests.trust import trust_folder
from tests.weaviate_server import WeaviateTestServer

from .conftest import ended_progress, eventually, initialize

CLASS = "CrashChunks"
SETTINGS = Settings(indexing=IndexingSettings(chunk_lines=10, chunk_overlap=2))
BATCHES = "/v1/batch/objects"


def _workspace(root: Path, files: int) -> None:
    (root / ".acolyte").write_text(
        f"weaviate:\n  class_name: {CLASS}\n  timeout_retries: 0\n  connection_error_retries: 0\n"
        "indexing:\n  chunk_lines: 10\n  chunk_overlap: 2\nsearch:\n  weaviate_batch_size: 20\n"
    )
    write(root, {f"pkg{i % 7}/mod{i}.py": lines(f"m{i}", 30) for i in range(files)})
    trust_folder(root)  # the user's own folder: the language server uses its class name too


def _index(root: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acolyte_lsp", "index", str(root), "--url", url, "--trust"], capture_output=True, text=True, timeout=180
    )


def _client(server: WeaviateTestServer) -> weaviate.Client:
    return weaviate.Client(server.url)


def test_kill_during_a_full_index_then_start_again(test_server: WeaviateTestServer, tmp_path: Path) -> None:
    _workspace(tmp_path, 150)
    test_server.faults.latency_s = 0.05
    process = subprocess.Popen(
        [sys.executable, "-m", "acolyte_lsp", "index", str(tmp_path), "--url", test_server.url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(test_server.requests_to("POST", BATCHES)) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    root = WorkspaceRoot.at(tmp_path)
    assert convergence_problems(_client(test_server), CLASS, root, SETTINGS)  # killed half-way
    test_server.faults.latency_s = 0.0
    done = _index(tmp_path, test_server.url)
    assert done.returncode == 0, done.stderr
    assert_converged(_client(test_server), CLASS, tmp_path, SETTINGS)


async def _start(lsp: LanguageClient, root: Path, url: str) -> None:
    await initialize(lsp, root, {"weaviate": {"url": url}})
    await eventually(lambda: ended_progress(lsp), "the startup index to end")


async def _kill_when_delete_arrives(lsp: LanguageClient, server: WeaviateTestServer) -> None:
    """Hold Weaviate's next batch delete, and kill the server while it waits for the answer."""
    before = len(server.requests_to("DELETE", BATCHES))
    await eventually(lambda: len(server.requests_to("DELETE", BATCHES)) > before, "the delete to be sent")
    lsp._server.send_signal(signal.SIGKILL)  # noqa: SLF001 - kill -9, as a crash does
    await asyncio.wait_for(lsp._server.wait(), 10)  # noqa: SLF001


async def test_kill_between_a_saves_insert_and_its_delete_then_start_again(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    _workspace(tmp_path, 3)
    await _start(lsp, tmp_path, test_server.url)
    test_server.faults.delay_requests(30, 1, method="DELETE", path=BATCHES)
    write(tmp_path, {"pkg0/mod0.py": lines("changed", 45)})
    lsp.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=(tmp_path / "pkg0/mod0.py").as_uri()))
    )
    await _kill_when_delete_arrives(lsp, test_server)
    root = WorkspaceRoot.at(tmp_path)
    assert any("stale" in p for p in convergence_problems(_client(test_server), CLASS, root, SETTINGS))
    test_server.faults.clear()
    assert _index(tmp_path, test_server.url).returncode == 0
    assert_converged(_client(test_server), CLASS, tmp_path, SETTINGS)


async def test_kill_during_a_folder_rename_then_start_again(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    _workspace(tmp_path, 14)
    await _start(lsp, tmp_path, test_server.url)
    test_server.faults.delay_requests(30, 1, method="DELETE", path=BATCHES)
    (tmp_path / "pkg1").rename(tmp_path / "lib1")
    lsp.workspace_did_rename_files(
        types.RenameFilesParams(
            files=[types.FileRename(old_uri=(tmp_path / "pkg1").as_uri(), new_uri=(tmp_path / "lib1").as_uri())]
        )
    )
    await _kill_when_delete_arrives(lsp, test_server)
    test_server.faults.clear()
    assert _index(tmp_path, test_server.url).returncode == 0
    assert_converged(_client(test_server), CLASS, tmp_path, SETTINGS)


async def test_an_outage_during_a_burst_of_saves_is_told_once_and_converges(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    _workspace(tmp_path, 6)
    await _start(lsp, tmp_path, test_server.url)
    test_server.stop()
    for i in range(12):
        write(tmp_path, {f"burst/file{i}.py": lines(f"burst{i}", 15)})
        if i in (0, 3):
            (tmp_path / f"pkg{i}/mod{i}.py").unlink()
        lsp.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=(tmp_path / f"burst/file{i}.py").as_uri()))
        )
        await asyncio.sleep(0.05)
    await eventually(lambda: any(m.type == types.MessageType.Error for m in lsp.messages), "the outage to be told")
    await asyncio.sleep(1.0)  # more saves and retries while away
    test_server.start()
    root = WorkspaceRoot.at(tmp_path)
    await eventually(lambda: not convergence_problems(_client(test_server), CLASS, root, SETTINGS), "convergence")
    errors = [m for m in lsp.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1, errors
