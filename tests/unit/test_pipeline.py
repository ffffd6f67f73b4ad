"""The indexing pipeline with an in-memory store: streaming, back-pressure, batching, cleanup."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from acolyte_lsp.settings import IndexingSettings, Settings
from acolyte_lsp.embedding import HashEmbedder
from acolyte_lsp.indexer.events import FileRemoved, IndexEvent, WorkspaceRoot
from acolyte_lsp.indexer.preparing import TIMER_READ_CHUNK
from acolyte_lsp.indexer.service import TIMER_DISCOVER, IndexingService
from acolyte_lsp.indexer.streaming import QUEUE_GROUPS
from acolyte_lsp.store.batch_inserter import BatchResult
from tests.files import lines, write


class MemoryStore:
    """A ChunkSink that keeps chunks in a dict; `gate` can hold inserts back."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.insert_calls = 0
        self.first_insert = asyncio.Event()

    async def insert(self, objects: Sequence[dict[str, Any]], vectors: Any, uuids: Sequence[str]) -> BatchResult:
        self.insert_calls += 1
        self.first_insert.set()
        await self.gate.wait()
        for uuid, obj in zip(uuids, objects):
            self.objects[uuid] = dict(obj)
        return BatchResult(len(objects), 0)

    async def delete_stale(self, workspace: str, file_path: str, keep_hash: str) -> int:
        return self._delete(lambda o: o["file_path"] == file_path and o["file_hash"] != keep_hash)

    async def delete_file(self, workspace: str, file_path: str) -> int:
        return self._delete(lambda o: o["file_path"] == file_path)

    async def delete_path(self, workspace: str, path: str) -> int:
        return self._delete(lambda o: o["file_path"] == path or o["file_path"].startswith(path.rstrip("/") + "/"))

    def stored_vectors(self, workspace: str, keys: Sequence[str]) -> dict[str, Sequence[float]]:
        return {}  # vectors are not kept here: everything is embedded

    async def indexed_files(self, workspace: str) -> dict[str, set[str]]:
        files: dict[str, set[str]] = {}
        for obj in self.objects.values():
            files.setdefault(obj["file_path"], set()).add(obj["file_hash"])
        return files

    def _delete(self, match: Any) -> int:
        gone = [u for u, o in self.objects.items() if match(o)]
        for uuid in gone:
            del self.objects[uuid]
        return len(gone)


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(16)
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return super().embed(texts)


def _service(store: MemoryStore, events: list[IndexEvent] | None = None, embedder: HashEmbedder | None = None) -> IndexingService:
    settings = Settings(indexing=IndexingSettings(chunk_lines=10, chunk_overlap=0))
    return IndexingService(settings, store, embedder or HashEmbedder(16), (events if events is not None else []).append)


async def test_first_chunks_are_sent_while_discovery_is_still_held_back(tmp_path: Path) -> None:
    write(tmp_path, {f"d{i // 50}/f{i:04d}.txt": lines(str(i), 3) for i in range(600)})
    store = MemoryStore()
    store.gate.clear()
    service = _service(store)
    run = asyncio.create_task(service.index_workspace(WorkspaceRoot.at(tmp_path)))
    await asyncio.wait_for(store.first_insert.wait(), 30)
    await asyncio.sleep(0.3)  # give a runaway discovery the chance to show itself
    assert service.metrics.timer_stats(TIMER_DISCOVER).count == 0, "discovery ran ahead of a stalled insert"
    assert service.metrics.timer_stats(TIMER_READ_CHUNK).count <= 2 * QUEUE_GROUPS + 2
    store.gate.set()
    summary = await asyncio.wait_for(run, 60)
    assert (summary.files_total, summary.files_indexed) == (600, 600)
    assert len(await store.indexed_files("")) == 600


async def test_a_group_is_embedded_in_one_call(tmp_path: Path) -> None:
    write(tmp_path, {f"f{i}.txt": lines(str(i), 25) for i in range(3)})
    embedder = CountingEmbedder()
    await _service(MemoryStore(), embedder=embedder).index_workspace(WorkspaceRoot.at(tmp_path))
    assert embedder.calls == 1


async def test_a_file_that_became_unreadable_loses_its_chunks(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "text\n", "b.txt": "more\n"})
    store = MemoryStore()
    service = _service(store)
    await service.index_workspace(WorkspaceRoot.at(tmp_path))
    (tmp_path / "a.txt").write_bytes(b"\x00\x01binary now")
    summary = await service.index_workspace(WorkspaceRoot.at(tmp_path))
    assert summary.files_skipped == 1
    assert set(await store.indexed_files("")) == {"b.txt"}


async def test_newly_ignored_files_lose_their_chunks(tmp_path: Path) -> None:
    write(tmp_path, {"gen/a.txt": "x\n", "b.txt": "y\n"})
    store = MemoryStore()
    events: list[IndexEvent] = []
    service = _service(store, events)
    await service.index_workspace(WorkspaceRoot.at(tmp_path))
    write(tmp_path, {".gitignore": "gen/\n"})
    await service.index_workspace(WorkspaceRoot.at(tmp_path))
    assert set(await store.indexed_files("")) == {"b.txt", ".gitignore"}
    assert [e.rel_path for e in events if isinstance(e, FileRemoved)] == ["gen/a.txt"]


async def test_cancel_stops_between_groups_and_says_so(tmp_path: Path) -> None:
    write(tmp_path, {f"f{i:03d}.txt": "x\n" for i in range(300)})
    store = MemoryStore()
    store.gate.clear()
    cancel = asyncio.Event()
    run = asyncio.create_task(_service(store).index_workspace(WorkspaceRoot.at(tmp_path), cancel=cancel))
    await asyncio.wait_for(store.first_insert.wait(), 30)
    cancel.set()
    store.gate.set()
    summary = await asyncio.wait_for(run, 30)
    assert summary.cancelled
    assert summary.files_indexed < 300
    assert summary.files_removed == 0


async def test_file_locks_are_dropped_after_a_run(tmp_path: Path) -> None:
    write(tmp_path, {f"f{i}.txt": "x\n" for i in range(40)})
    service = _service(MemoryStore())
    await service.index_workspace(WorkspaceRoot.at(tmp_path))
    assert service.file_locks.locks == {}  # memory stays flat across runs


async def test_a_run_without_changes_embeds_and_sends_nothing(tmp_path: Path) -> None:
    write(tmp_path, {f"f{i}.txt": lines(str(i), 5) for i in range(50)})
    store = MemoryStore()
    embedder = CountingEmbedder()
    service = _service(store, embedder=embedder)
    await service.index_workspace(WorkspaceRoot.at(tmp_path))
    calls, inserts = embedder.calls, store.insert_calls
    summary = await service.index_workspace(WorkspaceRoot.at(tmp_path))
    assert summary.files_unchanged == 50
    assert (embedder.calls, store.insert_calls) == (calls, inserts)
    assert service.metrics.timer_stats("indexing.embed").count == calls
