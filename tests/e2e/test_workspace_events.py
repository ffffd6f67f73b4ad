"""A day in the editor: file events, bursts, renames, folders, live settings, outages (pytest-lsp, end to end)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import weaviate
from lsprotocol import types
from pytest_lsp import LanguageClient

from acolyte_lsp.identity import workspace_id
from acolyte_lsp.store import queries
from tests.files import lines, write
from tests.weaviate_server import WeaviateTestServer

from .conftest import ended_progress, eventually, eventually_status, initialize, options


def _files(client: weaviate.Client, class_name: str, root: Path) -> dict[str, set[str]]:
    return queries.indexed_files(client, class_name, workspace_id(root))


def _uri(path: Path) -> str:
    return path.as_uri()


async def _started(lsp: LanguageClient, root: Path, url: str, class_name: str = "CodeChunk", **extra: object) -> None:
    await initialize(lsp, root, options(url, class_name) | extra)
    await eventually(lambda: ended_progress(lsp), "the startup index to end")


async def test_rename_moves_chunks_to_the_new_path(
    lsp: LanguageClient, weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    write(tmp_path, {"old.py": lines("a", 5)})
    await _started(lsp, tmp_path, weaviate_url, class_name)
    (tmp_path / "old.py").rename(tmp_path / "new.py")
    lsp.workspace_did_rename_files(
        types.RenameFilesParams(files=[types.FileRename(old_uri=_uri(tmp_path / "old.py"), new_uri=_uri(tmp_path / "new.py"))])
    )
    await eventually(lambda: set(_files(client, class_name, tmp_path)) == {"new.py"}, "the chunks to move")
    assert queries.count_chunks(client, class_name, workspace_id(tmp_path)) == 1


async def test_renaming_a_folder_moves_everything_under_it(
    lsp: LanguageClient, weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    write(tmp_path, {"pkg/a.py": lines("a", 5), "pkg/sub/b.py": lines("b", 5), "pkgx.py": lines("c", 5)})
    await _started(lsp, tmp_path, weaviate_url, class_name)
    (tmp_path / "pkg").rename(tmp_path / "lib")
    lsp.workspace_did_rename_files(
        types.RenameFilesParams(files=[types.FileRename(old_uri=_uri(tmp_path / "pkg"), new_uri=_uri(tmp_path / "lib"))])
    )
    await eventually(
        lambda: set(_files(client, class_name, tmp_path)) == {"lib/a.py", "lib/sub/b.py", "pkgx.py"}, "the folder to move"
    )


async def test_delete_removes_chunks_and_clears_diagnostics(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    test_server.faults.reject_objects(lambda o: "rejected" if "POISON" in o["properties"].get("content", "") else None)
    write(tmp_path, {"bad.py": "POISON\n", "good.py": "fine\n"})
    await _started(lsp, tmp_path, test_server.url)
    bad = _uri(tmp_path / "bad.py")
    assert lsp.diagnostics[bad]
    (tmp_path / "bad.py").unlink()
    (tmp_path / "good.py").unlink()
    lsp.workspace_did_delete_files(
        types.DeleteFilesParams(files=[types.FileDelete(uri=bad), types.FileDelete(uri=_uri(tmp_path / "good.py"))])
    )
    await eventually(lambda: len(lsp.diagnostics[bad]) == 0, "the diagnostic to clear")
    await eventually(lambda: not test_server.state.all_objects("CodeChunk"), "the chunks to go")


async def test_a_burst_of_watched_file_changes_becomes_one_batch_with_progress(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    write(tmp_path, {"seed.py": "x\n"})
    await _started(lsp, tmp_path, test_server.url)
    write(tmp_path, {f"gen/f{i:03d}.py": lines(str(i), 3) for i in range(120)})
    lsp.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(uri=_uri(tmp_path / f"gen/f{i:03d}.py"), type=types.FileChangeType.Created)
                for i in range(120)
            ]
        )
    )
    await eventually(lambda: len(ended_progress(lsp)) == 2, "the batch's progress to end")
    titles = [reports[0].title for reports in lsp.progress_reports.values()]
    assert titles == ["Indexing workspace", "Indexing changed files"]
    assert len(test_server.state.all_objects("CodeChunk")) == 121


async def test_repeated_saves_of_one_file_are_coalesced(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": "v0\n"})
    await _started(lsp, tmp_path, test_server.url, indexing={"debounce_ms": 300, "chunk_lines": 10, "chunk_overlap": 2})
    before = len(test_server.requests_to("POST", "/v1/batch/objects"))
    for version in range(1, 6):
        write(tmp_path, {"a.py": f"v{version}\n"})
        lsp.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=_uri(tmp_path / "a.py"))))
    await eventually(
        lambda: [o.properties["content"] for o in test_server.state.all_objects("CodeChunk")] == ["v5\n"], "the last save"
    )
    await asyncio.sleep(0.5)
    assert len(test_server.requests_to("POST", "/v1/batch/objects")) - before == 1


async def test_a_save_during_a_full_index_is_kept(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    test_server.faults.latency_s = 0.03
    files = {f"f{i:03d}.py": lines(str(i), 3) for i in range(150)}
    write(tmp_path, files)
    await initialize(lsp, tmp_path, options(test_server.url))
    await eventually(lambda: test_server.requests_to("POST", "/v1/batch/objects"), "the full index to be under way")
    write(tmp_path, {"f149.py": "saved while indexing\n"})
    lsp.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=_uri(tmp_path / "f149.py"))))
    await eventually(lambda: ended_progress(lsp), "the full index to end")
    await eventually(
        lambda: [o.properties["content"] for o in test_server.state.all_objects("CodeChunk") if o.properties["file_path"] == "f149.py"]
        == ["saved while indexing\n"],
        "only the saved content for f149.py",
    )
    assert len(test_server.state.all_objects("CodeChunk")) == 150


async def test_workspace_symbol_is_a_semantic_code_search(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, {"billing.py": "def compute_invoice_total(invoice):\n    return 1\n", "style.css": "a { color: red }\n"})
    await _started(lsp, tmp_path, weaviate_url, class_name)
    symbols = await lsp.workspace_symbol_async(types.WorkspaceSymbolParams(query="invoice total"))
    assert symbols[0].name == "compute_invoice_total"
    assert symbols[0].kind == types.SymbolKind.Function
    assert symbols[0].location.uri == _uri(tmp_path / "billing.py")
    assert await lsp.workspace_symbol_async(types.WorkspaceSymbolParams(query="")) == []


async def test_an_added_workspace_folder_is_indexed(
    lsp: LanguageClient, weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    write(first, {"a.py": "a\n"})
    write(second, {"b.py": "b\n"})
    await _started(lsp, first, weaviate_url, class_name)
    lsp.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[types.WorkspaceFolder(uri=_uri(second), name="two")], removed=[])
        )
    )
    await eventually(lambda: set(_files(client, class_name, second)) == {"b.py"}, "the added folder to be indexed")
    status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
    assert [Path(r["path"]).name for r in status["roots"]] == ["one", "two"]


async def test_a_batch_size_change_applies_without_a_restart(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": "a\n"})
    await _started(lsp, tmp_path, test_server.url)
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"acolyte": options(test_server.url) | {"search": {"weaviate_batch_size": 1}}})
    )
    status = await eventually_status(lsp, lambda s: s["batch_size"] == 1)
    assert status["state"] == "idle"
    write(tmp_path, {"a.py": "changed\n"})
    lsp.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=_uri(tmp_path / "a.py"))))
    await eventually(lambda: test_server.requests_to("POST", "/v1/objects"), "a single-object insert")


async def test_a_class_name_change_reindexes_into_the_new_class(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": "a\n"})
    await _started(lsp, tmp_path, test_server.url)
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"acolyte": options(test_server.url, class_name="Renamed")})
    )
    await eventually(lambda: len(ended_progress(lsp)) == 2, "a second index")
    assert [o.properties["file_path"] for o in test_server.state.all_objects("Renamed")] == ["a.py"]


async def test_editing_acolyte_applies_the_new_excludes(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    write(tmp_path, {"gen/a.py": "a\n", "b.py": "b\n"})
    await _started(lsp, tmp_path, test_server.url)
    write(tmp_path, {".acolyte": "indexing:\n  exclude: ['gen/']\n"})
    lsp.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=_uri(tmp_path / ".acolyte"))))
    await eventually(
        lambda: [o.properties["file_path"] for o in test_server.state.all_objects("CodeChunk")] == ["b.py"], "gen/ to be dropped"
    )


async def test_weaviate_restarting_mid_index_loses_no_save_and_duplicates_nothing(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    test_server.faults.latency_s = 0.02
    write(tmp_path, {f"f{i:03d}.py": lines(str(i), 3) for i in range(120)})
    await initialize(lsp, tmp_path, options(test_server.url))
    await eventually(lambda: len(test_server.state.all_objects("CodeChunk")) >= 10, "the index to be under way")
    test_server.stop()
    write(tmp_path, {"f000.py": "saved while Weaviate was down\n", "new.py": "also new\n"})
    for name in ("f000.py", "new.py"):
        lsp.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=_uri(tmp_path / name))))
    await eventually(lambda: any("Cannot reach Weaviate" in m.message for m in lsp.messages), "the outage to be announced")
    status = await eventually_status(lsp, lambda s: s["queue"]["changes_while_weaviate_away"] == 2)
    assert status["state"] == "waiting for Weaviate"
    assert status["queue"]["full_run_needed"] is True
    test_server.faults.latency_s = 0
    test_server.start()
    await eventually(lambda: any("Connected to Weaviate" in m.message for m in lsp.messages), "the reconnection")

    def converged() -> bool:
        objects = test_server.state.all_objects("CodeChunk")
        by_path = {o.properties["file_path"]: o.properties["content"] for o in objects}
        return len(objects) == 121 and by_path.get("f000.py") == "saved while Weaviate was down\n" and "new.py" in by_path

    await eventually(converged, "every file and both saves, once each")


async def test_cancelling_the_reindex_request_stops_the_run_cleanly(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    write(tmp_path, {f"f{i:03d}.py": lines(str(i), 3) for i in range(200)})
    await _started(lsp, tmp_path, test_server.url)
    test_server.faults.latency_s = 0.3  # seven batches: the run lasts seconds
    reply = asyncio.ensure_future(
        lsp.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="acolyte.reindexWorkspace", arguments=[{"force": True}]),
            msg_id="reindex-1",
        )
    )
    await eventually(lambda: len(lsp.progress_reports) == 2 and len(list(lsp.progress_reports.values())[1]) >= 2, "the re-index to report")
    lsp.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="reindex-1"))
    await eventually(lambda: len(ended_progress(lsp)) == 2, "the cancelled run to end")
    assert list(lsp.progress_reports.values())[1][-1].message.startswith("Cancelled:")
    reply.cancel()
    status = await eventually_status(lsp, lambda s: s["state"] == "idle")
    assert status["roots"][0]["chunks_in_weaviate"] == 200


async def test_a_new_weaviate_url_reconnects_and_indexes_there(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": "a\n"})
    await _started(lsp, tmp_path, test_server.url)
    with WeaviateTestServer() as other:
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"acolyte": options(other.url)})
        )
        await eventually(lambda: [o.properties["file_path"] for o in other.state.all_objects("CodeChunk")] == ["a.py"], "the new server to be filled")
        status = await eventually_status(lsp, lambda s: s["weaviate_url"] == other.url)
        assert status["state"] in {"idle", "indexing"}


async def test_unset_editor_settings_sent_as_null_keep_the_defaults(
    lsp: LanguageClient, test_server: WeaviateTestServer, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": "a\n"})
    await _started(lsp, tmp_path, test_server.url)
    pushed = options(test_server.url) | {"search": {"weaviate_batch_size": None}, "embeddings": {"model": None}, "server": {"command": []}}
    lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"acolyte": pushed}))
    status = await eventually_status(lsp, lambda s: s["batch_size"] == 100)
    assert status["state"] == "idle"
    assert not [m for m in lsp.messages if "acolyte settings" in m.message]
