"""acolyte-lsp over stdio with a real LSP client (pytest-lsp), indexing into Weaviate's protocol."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
import weaviate
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from acolyte_lsp.identity import workspace_id
from acolyte_lsp.store import queries
from tests.weaviate_server import WeaviateTestServer

from tests.files import lines, write

from .conftest import ended_progress, eventually, initialize, options

POISON_MESSAGE = "invalid text property 'content' on class 'CodeChunk': poisoned"


def _poison(server: WeaviateTestServer) -> None:
    server.faults.reject_objects(
        lambda obj: POISON_MESSAGE if "POISON" in (obj.get("properties") or {}).get("content", "") else None
    )


def _chunks(client: weaviate.Client, class_name: str, root: Path) -> dict[str, set[str]]:
    return queries.indexed_files(client, class_name, workspace_id(root))


async def test_startup_index_reports_progress_in_order_and_stores_the_chunks(
    lsp: LanguageClient, weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": lines("a", 25), "docs/b.md": lines("b", 4)})
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    [reports] = await eventually(lambda: ended_progress(lsp), "the startup index to end")
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert reports[0].title == "Indexing workspace" and reports[0].cancellable
    assert all(isinstance(r, types.WorkDoneProgressReport) for r in reports[1:-1])
    assert reports[-2].percentage == 100
    assert reports[-2].message == "2/2 files · 4 chunks · 0 failed"
    assert "2 indexed" in reports[-1].message
    assert set(_chunks(client, class_name, tmp_path)) == {"a.py", "docs/b.md"}
    assert queries.count_chunks(client, class_name, workspace_id(tmp_path)) == 4


async def test_rejected_chunk_gets_a_diagnostic_with_its_range_and_code(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    _poison(test_server)
    write(tmp_path, {"bad.py": lines("x", 12) + "POISON\n" + lines("y", 2), "good.py": lines("g", 3)})
    await initialize(lsp, tmp_path, options(test_server.url))
    uri = (tmp_path / "bad.py").as_uri()
    [diagnostic] = await eventually(lambda: lsp.diagnostics.get(uri), "a diagnostic on bad.py")
    assert diagnostic.source == "acolyte"
    assert diagnostic.code == "rejected"
    assert diagnostic.range.start == types.Position(line=8, character=0)
    assert diagnostic.range.end == types.Position(line=15, character=0)
    assert POISON_MESSAGE in diagnostic.message
    assert (tmp_path / "good.py").as_uri() not in lsp.diagnostics


async def test_saving_a_fixed_file_clears_its_diagnostic(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    _poison(test_server)
    write(tmp_path, {"bad.py": "POISON\n"})
    await initialize(lsp, tmp_path, options(test_server.url))
    uri = (tmp_path / "bad.py").as_uri()
    await eventually(lambda: lsp.diagnostics.get(uri), "a diagnostic on bad.py")
    write(tmp_path, {"bad.py": "fixed\n"})
    lsp.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    await eventually(lambda: len(lsp.diagnostics.get(uri, [None])) == 0, "the diagnostic to clear")
    [stored] = [o for o in test_server.state.all_objects("CodeChunk") if o.properties["file_path"] == "bad.py"]
    assert stored.properties["content"] == "fixed\n"


async def test_save_reindexes_the_file_without_duplicates(
    lsp: LanguageClient, weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": lines("old", 25)})
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    write(tmp_path, {"a.py": lines("new", 5)})
    lsp.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=(tmp_path / "a.py").as_uri()))
    )
    await eventually(lambda: queries.count_chunks(client, class_name, workspace_id(tmp_path)) == 1, "the old chunks to go")
    assert len(_chunks(client, class_name, tmp_path)["a.py"]) == 1


async def test_reindex_workspace_command_runs_a_new_progress_and_returns_summaries(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": lines("a", 5)})
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    reply = await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(command="acolyte.reindexWorkspace", arguments=[{"force": True}])
    )
    assert reply["started"] is True
    [summary] = reply["summaries"]
    assert (summary["files_indexed"], summary["chunks"]) == (1, 1)
    assert len(ended_progress(lsp)) == 2
    assert list(lsp.progress_reports.values())[-1][0].title == "Re-indexing workspace"


async def test_index_status_reports_state_counts_and_metrics(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": lines("a", 25)})
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
    assert status["state"] == "idle"
    [root] = status["roots"]
    assert root["chunks_in_weaviate"] == 3
    assert root["last_run"]["files_indexed"] == 1
    assert (root["workspace"], root["root"], root["files"]) == (workspace_id(tmp_path), tmp_path.name, 1)
    assert root["last_indexed"].startswith("20") and root["last_indexed"].endswith("Z")
    assert status["queue"]["failed_files_to_retry"] == 0
    assert status["metrics"]["weaviate.batch.successful"] == 3
    assert status["metrics"]["indexing_weaviate_batch_insert"]["count"] >= 1


async def test_weaviate_unreachable_shows_one_clear_message_and_the_server_stays_up(
    lsp: LanguageClient, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": "x\n"})
    await initialize(lsp, tmp_path, options("http://127.0.0.1:9"))
    [message] = await eventually(lambda: lsp.messages, "a showMessage")
    assert message.type == types.MessageType.Error
    assert "Cannot reach Weaviate at http://127.0.0.1:9 (connection refused)" in message.message
    assert "weaviate.embedded" in message.message
    status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
    assert status["state"] == "waiting for Weaviate"
    assert "connection refused" in status["last_error"]
    assert len(lsp.messages) == 1, "the outage was announced more than once"


async def test_weaviate_coming_back_later_gets_the_workspace_indexed(
    lsp: LanguageClient, tmp_path: Path
) -> None:
    server = WeaviateTestServer()
    port = server.start().port
    server.stop()
    write(tmp_path, {"a.py": lines("a", 5)})
    await initialize(lsp, tmp_path, options(f"http://127.0.0.1:{port}"))
    await eventually(lambda: lsp.messages, "the outage message")
    server.start()
    try:
        await eventually(lambda: ended_progress(lsp), "indexing after Weaviate came back")
        assert len(server.state.all_objects("CodeChunk")) == 1
        assert "Connected to Weaviate" in lsp.messages[-1].message
    finally:
        server.stop()


async def test_broken_settings_file_gets_a_diagnostic_and_defaults_apply(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, {".acolyte": "search:\n  weaviate_batch_size: lots\n", "a.py": "x\n"})
    await initialize(lsp, tmp_path, options(weaviate_url, class_name) | {"search": {}})
    await eventually(lambda: ended_progress(lsp), "indexing on defaults")
    [diagnostic] = lsp.diagnostics[(tmp_path / ".acolyte").as_uri()]
    assert diagnostic.range.start.line == 1
    assert diagnostic.code == "config"
    assert "search.weaviate_batch_size: expected an integer, got string 'lots'" in diagnostic.message


async def test_search_command_finds_the_file_holding_the_code(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(
        tmp_path,
        {
            "billing.py": "def compute_invoice_total(invoice):\n    return sum(line.amount for line in invoice.lines)\n",
            "colors.css": "body { color: red; margin: 0 auto; }\n",
        },
    )
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    results = await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(command="acolyte.search", arguments=[{"query": "invoice total", "limit": 2}])
    )
    assert results[0]["uri"] == (tmp_path / "billing.py").as_uri()
    assert results[0]["range"]["start"] == {"line": 0, "character": 0}
    assert results[0]["score"] > results[1]["score"]
    assert results[0]["fresh"] is True


async def test_search_result_of_a_file_edited_after_indexing_is_not_fresh(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, {"billing.py": "def compute_invoice_total(invoice):\n    return 1\n"})
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    (tmp_path / "billing.py").write_text("def compute_invoice_total(invoice):\n    return 2\n")  # no save event: on disk only
    [result] = await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(command="acolyte.search", arguments=[{"query": "invoice total", "limit": 1}])
    )
    assert result["uri"] == (tmp_path / "billing.py").as_uri()
    assert result["fresh"] is False


async def test_malformed_command_arguments_get_an_error_reply_not_a_crash(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    for command, arguments in (
        ("acolyte.search", [{"query": 42}]),
        ("acolyte.reindexWorkspace", [{"force": "yes"}]),
        ("acolyte.reindexFile", []),
    ):
        with pytest.raises(JsonRpcInvalidParams):
            await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command=command, arguments=arguments))
    status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
    assert status["state"] in {"starting", "idle", "indexing"}


async def test_client_without_progress_support_gets_log_lines(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": "x\n"})
    await initialize(lsp, tmp_path, options(weaviate_url, class_name), progress=False)
    await eventually(
        lambda: any("Indexing workspace: 1 indexed" in m.message for m in lsp.log_messages), "the summary log line"
    )
    assert lsp.progress_reports == {}


async def test_cancelling_the_progress_stops_indexing_cleanly(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    test_server.faults.latency_s = 0.05
    write(tmp_path, {f"f{i:03d}.py": lines(str(i), 3) for i in range(200)})
    await initialize(lsp, tmp_path, options(test_server.url))
    token = await eventually(
        lambda: next((t for t, r in lsp.progress_reports.items() if len(r) >= 2), None), "the first report"
    )
    lsp.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    [reports] = await eventually(lambda: ended_progress(lsp), "the cancelled run to end")
    assert reports[-1].message.startswith("Cancelled:")
    assert len(test_server.state.all_objects("CodeChunk")) < 200


async def test_status_answers_while_a_slow_index_is_running(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    test_server.faults.delay_requests(2.0, None, path="/v1/batch/objects")
    write(tmp_path, {"a.py": lines("a", 5)})
    await initialize(lsp, tmp_path, options(test_server.url))
    await eventually(lambda: lsp.progress_reports, "the index to begin")
    status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
    assert status["state"] == "indexing"


async def test_shutdown_during_a_stuck_batch_ends_the_process(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    test_server.faults.delay_requests(120.0, None, path="/v1/batch/objects")
    write(tmp_path, {"a.py": lines("a", 5)})
    await initialize(lsp, tmp_path, options(test_server.url, read_timeout_s=120))
    await eventually(lambda: test_server.requests_to("POST", "/v1/batch/objects"), "the batch to be in flight")
    await asyncio.wait_for(lsp.shutdown_session(), timeout=60)  # a hang guard, not a speed check
    assert lsp._server is not None and lsp._server.returncode is not None  # noqa: SLF001


async def test_every_workspace_folder_is_indexed_under_its_own_id(
    lsp: LanguageClient, weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    write(one, {"a.py": lines("a", 5)})
    write(two, {"b.py": lines("b", 5), "c.py": lines("c", 5)})
    await lsp.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=True)),
            workspace_folders=[types.WorkspaceFolder(uri=p.as_uri(), name=p.name) for p in (one, two)],
            initialization_options=options(weaviate_url, class_name),
        )
    )
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    assert set(_chunks(client, class_name, one)) == {"a.py"}
    assert set(_chunks(client, class_name, two)) == {"b.py", "c.py"}
    status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
    assert [r["chunks_in_weaviate"] for r in status["roots"]] == [1, 2]


async def test_startup_sends_exactly_what_changed_since_the_last_index(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    write(tmp_path, {"keep.py": lines("k", 5), "change.py": lines("c", 5), "gone.py": lines("g", 5), "later_ignored.py": lines("i", 5)})
    # Cut as the editor's settings below cut them: a file cut differently counts as changed.
    (tmp_path / ".acolyte").write_text("indexing:\n  chunk_lines: 10\n  chunk_overlap: 2\n")
    indexed = subprocess.run(
        [sys.executable, "-m", "acolyte_lsp", "index", str(tmp_path), "--url", test_server.url],
        capture_output=True, text=True, timeout=120,
    )
    assert indexed.returncode == 0, indexed.stderr
    write(tmp_path, {"change.py": lines("changed", 5), "new.py": lines("n", 5), ".gitignore": "later_ignored.py\n"})
    (tmp_path / "gone.py").unlink()
    test_server.requests.clear()
    await initialize(lsp, tmp_path, options(test_server.url))
    [reports] = await eventually(lambda: ended_progress(lsp), "the startup index to end")
    sent = sorted(o.properties["file_path"] for o in test_server.state.all_objects("CodeChunk"))
    assert sent == [".gitignore", "change.py", "keep.py", "new.py"]
    posted = sum(r.objects for r in test_server.requests_to("POST", "/v1/batch/objects"))
    assert posted == 3, "only change.py, new.py and .gitignore should have been sent"
    assert "3 indexed, 1 unchanged" in reports[-1].message and "2 removed" in reports[-1].message


async def test_startup_refills_a_weaviate_that_was_emptied(
    lsp: LanguageClient, weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": lines("a", 5), "b.py": lines("b", 5)})
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    client.batch.delete_objects(class_name, {"path": ["workspace"], "operator": "Like", "valueText": "*"})
    assert queries.count_chunks(client, class_name, workspace_id(tmp_path)) == 0
    reply = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.reindexWorkspace"))
    assert reply["summaries"][0]["files_indexed"] == 2
    assert queries.count_chunks(client, class_name, workspace_id(tmp_path)) == 2


async def test_a_file_that_cannot_be_read_as_text_is_reported_once(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": "x = 1\n"})
    (tmp_path / "blob.dat").write_bytes(b"\x00\x01\x02binary")
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(command="acolyte.reindexWorkspace", arguments=[{"force": True}])
    )
    notes = [m.message for m in lsp.log_messages if "blob.dat" in m.message]
    assert notes == ["acolyte: not indexed: blob.dat: binary file (contains NUL bytes)"]



async def test_malformed_notifications_unknown_commands_and_huge_payloads_leave_the_server_answering(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": lines("a", 5)})
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    for method, params in (
        ("textDocument/didSave", {}),
        ("textDocument/didSave", {"textDocument": {"uri": 42}}),
        ("textDocument/didSave", {"textDocument": {"uri": "not a uri at all"}}),
        ("workspace/didChangeWatchedFiles", {"changes": "everything"}),
        ("workspace/didChangeWatchedFiles", {"changes": [{"uri": "file:///elsewhere/x.py", "type": 99}]}),
        ("workspace/didRenameFiles", {"files": [{"oldUri": None, "newUri": []}]}),
        ("workspace/didDeleteFiles", {"files": [{"uri": "file:///"}]}),
        ("workspace/didChangeConfiguration", {"settings": {"acolyte": {**options(weaviate_url, class_name), "indexing": "x" * 5_000_000}}}),
        ("workspace/didChangeWorkspaceFolders", {"event": {"added": 7}}),
    ):
        # Raw bytes: a typed client would refuse to send these.
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params}).encode()
        lsp._server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)  # noqa: SLF001
    with pytest.raises(Exception):
        await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.noSuchCommand"))
    huge_query = "find " * 400_000  # a 2 MB query: refused by its length, not searched
    with pytest.raises(JsonRpcInvalidParams) as too_long:
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="acolyte.search", arguments=[{"query": huge_query}])
        )
    assert "2,000,000 characters long" in str(too_long.value) and len(str(too_long.value)) < 1000
    with pytest.raises(JsonRpcInvalidParams) as refused:  # the error does not echo the 2 MB back
        await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.search", arguments=[huge_query]))
    assert len(str(refused.value)) < 1000
    status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
    assert status["state"] in {"idle", "indexing"}
    assert lsp._server.returncode is None  # noqa: SLF001 - still running
