"""IndexingService end to end against Weaviate's protocol: what reaches the server, and when."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
import weaviate

from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings, SearchSettings, Settings, WeaviateSettings
from acolyte_lsp.controller import Controller, State
from acolyte_lsp.notices import Notice
from acolyte_lsp.embedding import HashEmbedder, NoEmbedder
from acolyte_lsp.indexer.events import FileFailed, FileIndexed, FileRemoved, IndexEvent, IndexProgress, WorkspaceRoot
from acolyte_lsp.indexer.service import IndexingService
from acolyte_lsp.metrics import Metrics
from acolyte_lsp.store import queries
from acolyte_lsp.store.chunk_store import ChunkStore
from acolyte_lsp.store.errors import StoreError
from tests.files import lines, write
from tests.recording_proxy import RecordingProxy
from tests.weaviate_server import WeaviateTestServer

Recorded = WeaviateTestServer | RecordingProxy  # the stand-in, or a recording proxy before a real Weaviate


def _settings(url: str, class_name: str = "CodeChunk") -> Settings:
    return Settings(
        search=SearchSettings(weaviate_batch_size=20),
        weaviate=WeaviateSettings(url=url, class_name=class_name, timeout_retries=0, connection_error_retries=0, read_timeout_s=5),
        indexing=IndexingSettings(chunk_lines=10, chunk_overlap=2),
    )


class Harness:
    def __init__(self, settings: Settings, store: ChunkStore, root: Path) -> None:
        self.events: list[IndexEvent] = []
        self.store = store
        self.root = WorkspaceRoot.at(root)
        self.service = IndexingService(settings, store, HashEmbedder(), self.events.append)

    def files(self, client: weaviate.Client) -> dict[str, set[str]]:
        return queries.indexed_files(client, self.store.class_name, self.root.workspace_id)

    def count(self, client: weaviate.Client) -> int:
        return queries.count_chunks(client, self.store.class_name, self.root.workspace_id)


@pytest.fixture
async def harness(weaviate_url: str, class_name: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = _settings(weaviate_url, class_name)
    store = await ChunkStore.open(settings, Metrics())
    yield Harness(settings, store, tmp_path)
    store.close()


async def test_workspace_index_stores_every_chunk_of_every_file(harness: Harness, client: weaviate.Client, tmp_path: Path) -> None:
    write(tmp_path, {"a.py": lines("a", 25), "pkg/b.md": lines("b", 5), ".gitignore": "*.log\n", "x.log": "no"})
    summary = await harness.service.index_workspace(harness.root)
    assert (summary.files_total, summary.files_indexed, summary.files_failed) == (3, 3, 0)
    assert summary.chunks == 3 + 1 + 1
    assert set(harness.files(client)) == {"a.py", "pkg/b.md", ".gitignore"}
    assert harness.count(client) == 5


async def test_second_run_without_changes_sends_nothing(harness: Harness, client: weaviate.Client, tmp_path: Path) -> None:
    write(tmp_path, {"a.py": lines("a", 25)})
    await harness.service.index_workspace(harness.root)
    before = harness.store.inserter.metrics.get("weaviate.batch.successful")
    summary = await harness.service.index_workspace(harness.root)
    assert (summary.files_unchanged, summary.files_indexed) == (1, 0)
    assert harness.store.inserter.metrics.get("weaviate.batch.successful") == before


async def test_a_runs_progress_goes_to_its_own_reporter_and_not_to_the_shared_events(
    harness: Harness, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": lines("a", 25), "b.py": lines("b", 5)})
    reported: list[IndexProgress] = []
    await harness.service.index_workspace(harness.root, progress=reported.append)
    assert reported and reported[-1].files_done == 2
    assert not [e for e in harness.events if isinstance(e, IndexProgress)]
    await harness.service.apply_changes(harness.root, ["a.py"], [])  # a run without a reporter of its own
    assert [e for e in harness.events if isinstance(e, IndexProgress)]


async def test_changed_deleted_and_new_files_converge(harness: Harness, client: weaviate.Client, tmp_path: Path) -> None:
    write(tmp_path, {"keep.py": lines("k", 5), "change.py": lines("c", 25), "gone.py": lines("g", 5)})
    await harness.service.index_workspace(harness.root)
    write(tmp_path, {"change.py": lines("changed", 12), "new.py": lines("n", 3)})
    (tmp_path / "gone.py").unlink()
    summary = await harness.service.index_workspace(harness.root)
    assert (summary.files_indexed, summary.files_unchanged, summary.files_removed) == (2, 1, 1)
    files = harness.files(client)
    assert set(files) == {"keep.py", "change.py", "new.py"}
    assert all(len(hashes) == 1 for hashes in files.values()), "stale chunks of change.py were left"
    assert harness.count(client) == 1 + 2 + 1


async def test_force_resends_unchanged_files(harness: Harness, client: weaviate.Client, tmp_path: Path) -> None:
    write(tmp_path, {"a.py": lines("a", 5)})
    await harness.service.index_workspace(harness.root)
    summary = await harness.service.index_workspace(harness.root, force=True)
    assert summary.files_indexed == 1
    assert harness.count(client) == 1


async def test_emptied_class_is_refilled_on_the_next_run(harness: Harness, client: weaviate.Client, tmp_path: Path) -> None:
    write(tmp_path, {"a.py": lines("a", 25)})
    await harness.service.index_workspace(harness.root)
    queries.delete_file_chunks(client, harness.store.class_name, harness.root.workspace_id, "a.py")
    summary = await harness.service.index_workspace(harness.root)
    assert summary.files_indexed == 1
    assert harness.count(client) == 3


async def test_saved_file_gets_new_chunks_and_loses_old_ones(harness: Harness, client: weaviate.Client, tmp_path: Path) -> None:
    write(tmp_path, {"a.py": lines("old", 25)})
    await harness.service.index_workspace(harness.root)
    write(tmp_path, {"a.py": lines("new", 8)})
    await harness.service.index_file(harness.root, "a.py")
    assert len(harness.files(client)["a.py"]) == 1
    assert harness.count(client) == 1
    assert isinstance(harness.events[-1], FileIndexed)


async def test_saving_a_deleted_file_removes_its_chunks(harness: Harness, client: weaviate.Client, tmp_path: Path) -> None:
    write(tmp_path, {"a.py": lines("a", 5)})
    await harness.service.index_workspace(harness.root)
    (tmp_path / "a.py").unlink()
    await harness.service.index_file(harness.root, "a.py")
    assert harness.count(client) == 0
    assert isinstance(harness.events[-1], FileRemoved)


async def test_saving_an_ignored_file_sends_nothing(harness: Harness, client: weaviate.Client, tmp_path: Path) -> None:
    write(tmp_path, {".gitignore": "*.tmp\n", "x.tmp": "scratch"})
    await harness.service.index_file(harness.root, "x.tmp")
    assert harness.count(client) == 0


async def test_rejected_chunks_become_file_failures_with_theirlines(test_server: WeaviateTestServer, tmp_path: Path) -> None:
    test_server.faults.reject_objects(
        lambda obj: "invalid text property 'content' on class 'CodeChunk': poisoned"
        if "POISON" in (obj.get("properties") or {}).get("content", "")
        else None
    )
    settings = _settings(test_server.url)
    store = await ChunkStore.open(settings, Metrics())
    events: list[IndexEvent] = []
    service = IndexingService(settings, store, HashEmbedder(), events.append)
    write(tmp_path, {"bad.py": lines("x", 12) + "POISON\n" + lines("y", 10), "good.py": lines("g", 3)})
    summary = await service.index_workspace(WorkspaceRoot.at(tmp_path))
    store.close()
    assert (summary.files_indexed, summary.files_failed) == (1, 1)
    [failed] = [e for e in events if isinstance(e, FileFailed)]
    assert failed.rel_path == "bad.py"
    assert [(f.start_line, f.end_line) for f in failed.failures] == [(9, 18)]  # line 13 lies only in the second window
    assert failed.failures[0].error_type == "rejected"
    assert "poisoned" in failed.failures[0].message


class _NaNForPoison(HashEmbedder):
    """A model that breaks down on one chunk (NaN, as a diverging model gives)."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[math.nan] * self.dimensions if "POISON" in t else v for t, v in zip(texts, super().embed(texts))]


async def test_an_embedding_float32_cannot_hold_fails_its_file_and_sends_nothing_of_it(
    harness: Harness, client: weaviate.Client, tmp_path: Path
) -> None:
    harness.service = IndexingService(harness.service.settings, harness.store, _NaNForPoison(), harness.events.append)
    write(tmp_path, {"bad.py": lines("x", 12) + "POISON\n" + lines("y", 10), "good.py": lines("g", 3)})
    summary = await harness.service.index_workspace(harness.root)
    assert (summary.files_indexed, summary.files_failed) == (1, 1)
    [failed] = [e for e in harness.events if isinstance(e, FileFailed)]
    assert failed.rel_path == "bad.py"
    assert [(f.start_line, f.end_line) for f in failed.failures] == [(9, 18)]
    assert failed.failures[0].error_type == "invalid_object"
    assert "NaN" in failed.failures[0].message
    assert set(harness.files(client)) == {"good.py"}


async def test_weaviate_going_away_stops_the_run_with_an_error(test_server: WeaviateTestServer, tmp_path: Path) -> None:
    settings = _settings(test_server.url)
    store = await ChunkStore.open(settings, Metrics())
    service = IndexingService(settings, store, HashEmbedder(), lambda e: None)
    write(tmp_path, {f"f{i}.py": lines(str(i), 3) for i in range(40)})
    test_server.faults.drop_requests(None, path="/v1/batch/objects")
    test_server.faults.drop_requests(None, path="/v1/objects")
    summary = await service.index_workspace(WorkspaceRoot.at(tmp_path))
    store.close()
    assert summary.error is not None and "Cannot reach Weaviate" in summary.error
    assert summary.files_failed == 0, "an outage is not a per-file failure"


async def test_provider_none_sends_no_vectors_and_searches_with_weaviates_module(tmp_path: Path) -> None:
    with WeaviateTestServer(modules=("text2vec-transformers",)) as server:
        settings = dataclasses.replace(_settings(server.url), embeddings=EmbeddingSettings(provider="none"))
        store = await ChunkStore.open(settings, Metrics())
        write(tmp_path, {"billing.py": "def invoice_total(invoice):\n    return invoice.total\n", "ui.css": "body { color: red }\n"})
        await IndexingService(settings, store, NoEmbedder(), lambda e: None).index_workspace(WorkspaceRoot.at(tmp_path))
        batch_bodies = server.requests_to("POST", "/v1/batch/objects")
        assert batch_bodies and all(o.vector is not None for o in server.state.all_objects("CodeChunk"))
        assert server.state.get_class("CodeChunk")["vectorizer"] == "text2vec-transformers"
        hits = await store.search(WorkspaceRoot.at(tmp_path).workspace_id, 1, text="invoice total")
        hybrid = await store.search(WorkspaceRoot.at(tmp_path).workspace_id, 1, text="invoice total", alpha=0.25)
        store.close()
    assert hits[0].file_path == "billing.py"
    assert hybrid[0].file_path == "billing.py", "hybrid search with Weaviate's module embedding the query"


async def test_provider_none_without_the_module_is_a_clear_error(test_server: WeaviateTestServer) -> None:
    settings = dataclasses.replace(_settings(test_server.url), embeddings=EmbeddingSettings(provider="none"))
    with pytest.raises(StoreError, match='no module with name "text2vec-transformers" present'):
        await ChunkStore.open(settings, Metrics())


async def test_consistency_level_is_sent_with_batches_and_deletes(
    recorded_weaviate: Recorded, class_name: str, tmp_path: Path
) -> None:
    settings = _settings(recorded_weaviate.url, class_name)
    settings = dataclasses.replace(settings, weaviate=dataclasses.replace(settings.weaviate, consistency_level="QUORUM"))
    store = await ChunkStore.open(settings, Metrics())
    service = IndexingService(settings, store, HashEmbedder(), lambda e: None)
    write(tmp_path, {"a.py": "a\n"})
    await service.index_workspace(WorkspaceRoot.at(tmp_path))
    write(tmp_path, {"a.py": "b\n"})
    await service.index_file(WorkspaceRoot.at(tmp_path), "a.py")
    store.close()
    for method in ("POST", "DELETE"):
        requests_made = recorded_weaviate.requests_to(method, "/v1/batch/objects")
        assert requests_made and all("consistency_level=QUORUM" in r.query for r in requests_made), method


async def test_two_editors_on_one_class_keep_their_own_copies(weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path) -> None:
    settings = _settings(weaviate_url, class_name)
    store = await ChunkStore.open(settings, Metrics())
    service = IndexingService(settings, store, HashEmbedder(), lambda e: None)
    alice, bob = WorkspaceRoot.at(tmp_path / "alice"), WorkspaceRoot.at(tmp_path / "bob")
    write(alice.path, {"a.py": "alice's version\n"})
    write(bob.path, {"a.py": "bob's version\n"})
    await service.index_workspace(alice)
    await service.index_workspace(bob)
    (alice.path / "a.py").unlink()
    await service.index_workspace(alice)
    store.close()
    assert queries.indexed_files(client, class_name, alice.workspace_id) == {}
    assert set(queries.indexed_files(client, class_name, bob.workspace_id)) == {"a.py"}


async def test_a_shared_workspace_id_makes_one_index_where_the_last_save_wins(
    weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    settings = _settings(weaviate_url, class_name)
    store = await ChunkStore.open(settings, Metrics())
    service = IndexingService(settings, store, HashEmbedder(), lambda e: None)
    alice = WorkspaceRoot.at(tmp_path / "alice", "team-repo")
    bob = WorkspaceRoot.at(tmp_path / "bob", "team-repo")
    write(alice.path, {"a.py": "alice's version\n"})
    write(bob.path, {"a.py": "bob's version\n"})
    await service.index_workspace(alice)
    await service.index_file(bob, "a.py")
    store.close()
    hits = queries.indexed_files(client, class_name, "team-repo")
    assert set(hits) == {"a.py"} and len(hits["a.py"]) == 1


async def test_a_class_with_vectors_of_another_size_is_reported_with_what_to_do(
    weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    small = dataclasses.replace(_settings(weaviate_url, class_name), embeddings=EmbeddingSettings(dimensions=16))
    store = await ChunkStore.open(small, Metrics())
    write(tmp_path, {"a.py": "a\n"})
    await IndexingService(small, store, HashEmbedder(16), lambda e: None).index_workspace(WorkspaceRoot.at(tmp_path))
    store.close()
    notices: list[Notice] = []
    controller = Controller([tmp_path], _settings(weaviate_url, class_name), lambda e: None, notices.append)
    assert not await controller.connection.connect()
    assert controller.state == State.SETTINGS_ERROR
    [notice] = notices
    assert f"'{class_name}' holds vectors of 16 dimensions" in notice.message
    assert "makes 384" in notice.message and "`weaviate.class_name` to a new class" in notice.message
    assert "`embeddings.provider: hash` with `embeddings.dimensions: 16`" in notice.message
    await controller.close()


async def test_with_the_hash_cache_a_no_change_run_reads_no_file(
    weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import time

    from acolyte_lsp.indexer import preparing

    root = tmp_path / "ws"
    write(root, {"a.py": lines("a", 25), "b.py": lines("b", 5)})
    past = time.time() - 60
    for name in ("a.py", "b.py"):
        os.utime(root / name, (past, past))
    settings = _settings(weaviate_url, class_name)
    store = await ChunkStore.open(settings, Metrics())
    try:
        service = IndexingService(settings, store, HashEmbedder(), lambda e: None,
                                  hash_cache_dir=tmp_path / "cache")
        workspace = WorkspaceRoot.at(root)
        await service.index_workspace(workspace)
        reads: list[str] = []
        real = preparing.read_source
        monkeypatch.setattr(preparing, "read_source", lambda source, limit: reads.append(source.rel_path) or real(source, limit))
        summary = await service.index_workspace(workspace)
        assert (summary.files_unchanged, reads) == (2, [])
        (root / "b.py").write_text(lines("B", 5))  # same size, new time: read again and sent
        summary = await service.index_workspace(workspace)
        assert (summary.files_indexed, reads) == (1, ["b.py"])
        queries.delete_file_chunks(client, class_name, workspace.workspace_id, "a.py")  # Weaviate lost a file
        summary = await service.index_workspace(workspace)
        assert summary.files_indexed == 1 and "a.py" in reads  # the cache never overrules Weaviate
    finally:
        store.close()


async def test_files_that_yield_no_chunks_are_unchanged_on_a_restart_and_read_no_more(
    weaviate_url: str, class_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import time

    from acolyte_lsp.indexer import preparing

    root = tmp_path / "ws"
    write(root, {"pkg/__init__.py": "", "notes.txt": "", "pkg/code.py": lines("code", 12)})
    past = time.time() - 60
    for name in ("pkg/__init__.py", "notes.txt", "pkg/code.py"):
        os.utime(root / name, (past, past))
    settings = _settings(weaviate_url, class_name)
    store = await ChunkStore.open(settings, Metrics())
    try:
        service = IndexingService(settings, store, HashEmbedder(), lambda e: None, hash_cache_dir=tmp_path / "cache")
        workspace = WorkspaceRoot.at(root)
        first = await service.index_workspace(workspace)
        reads: list[str] = []
        real = preparing.read_source
        monkeypatch.setattr(preparing, "read_source", lambda source, limit: reads.append(source.rel_path) or real(source, limit))
        again = await service.index_workspace(workspace)
    finally:
        store.close()
    assert (first.files_indexed, first.files_unchanged) == (1, 2)  # nothing to store for the empty ones: current already
    assert (again.files_indexed, again.files_unchanged, again.chunks_embedded, reads) == (0, 3, 0, [])


async def test_without_the_hash_cache_a_chunkless_file_is_read_but_counted_unchanged(
    weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, {"__init__.py": "", "a.py": lines("a", 12)})
    settings = _settings(weaviate_url, class_name)
    store = await ChunkStore.open(settings, Metrics())
    try:
        service = IndexingService(settings, store, HashEmbedder(), lambda e: None, hash_cache_dir=None)
        workspace = WorkspaceRoot.at(tmp_path)
        await service.index_workspace(workspace)
        again = await service.index_workspace(workspace)
    finally:
        store.close()
    assert (again.files_indexed, again.files_unchanged, again.chunks_embedded) == (0, 2, 0)


async def test_a_file_emptied_after_indexing_loses_its_chunks(weaviate_url: str, class_name: str, client: weaviate.Client,
                                                              tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root, {"a.py": lines("a", 12)})
    settings = _settings(weaviate_url, class_name)
    store = await ChunkStore.open(settings, Metrics())
    try:
        service = IndexingService(settings, store, HashEmbedder(), lambda e: None, hash_cache_dir=tmp_path / "cache")
        workspace = WorkspaceRoot.at(root)
        await service.index_workspace(workspace)
        (root / "a.py").write_text("")
        emptied = await service.index_workspace(workspace)
    finally:
        store.close()
    assert emptied.files_indexed == 1
    assert queries.indexed_files(client, class_name, workspace.workspace_id) == {}


async def test_a_first_index_sends_the_open_files_then_the_most_recently_changed_then_the_rest(
    weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    import os
    import time

    names = [f"pkg{i % 5}/m{i:02d}.py" for i in range(40)]
    write(tmp_path, {name: lines(name, 12) for name in names})
    now = time.time()
    for age, name in enumerate(names):  # m00 is the newest, m39 the oldest
        os.utime(tmp_path / name, (now - 100 - age, now - 100 - age))
    opened = ["pkg3/m38.py", "pkg0/m10.py"]
    settings = _settings(weaviate_url, class_name)
    store = await ChunkStore.open(settings, Metrics())
    events: list[IndexEvent] = []
    try:
        service = IndexingService(settings, store, HashEmbedder(), events.append, hash_cache_dir=None)
        await service.index_workspace(WorkspaceRoot.at(tmp_path), first=set(opened))
    finally:
        store.close()
    order = [e.rel_path for e in events if isinstance(e, FileIndexed)]
    assert order[:2] == ["pkg0/m10.py", "pkg3/m38.py"]  # the open ones, newest first
    assert order[2:] == [name for name in names if name not in opened]
