"""The change queue's debouncing and coalescing, and how settings changes are applied."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from acolyte_lsp.changes import Batch, ChangeKind, ChangeQueue
from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings, SearchSettings, Settings, WeaviateSettings
from acolyte_lsp.settings import SettingsChange, classify_settings_change


async def test_a_burst_becomes_one_batch_with_the_last_kind_per_path() -> None:
    batches: list[Batch] = []

    async def handle(batch: Batch) -> None:
        batches.append(batch)

    queue = ChangeQueue(handle, debounce_s=0.05, max_wait_s=5)
    for i in range(200):
        queue.add(Path(f"/w/f{i % 50}.py"), ChangeKind.CHANGED)
    queue.add(Path("/w/f1.py"), ChangeKind.DELETED)
    await asyncio.wait_for(queue.wait_idle(), 5)
    assert len(batches) == 1
    assert len(batches[0]) == 50
    assert batches[0][Path("/w/f1.py")] is ChangeKind.DELETED


async def test_a_never_ending_stream_is_still_flushed_after_max_wait() -> None:
    batches: list[Batch] = []

    async def handle(batch: Batch) -> None:
        batches.append(batch)

    queue = ChangeQueue(handle, debounce_s=0.05, max_wait_s=0.2)
    for i in range(40):  # an event every 20 ms never leaves 50 ms of quiet
        queue.add(Path(f"/w/{i}.py"), ChangeKind.CHANGED)
        await asyncio.sleep(0.02)
    await asyncio.wait_for(queue.wait_idle(), 5)
    assert len(batches) >= 2
    assert sum(len(b) for b in batches) == 40


async def test_a_failing_batch_does_not_stop_the_next_one() -> None:
    seen: list[int] = []

    async def handle(batch: Batch) -> None:
        seen.append(len(batch))
        if len(seen) == 1:
            raise RuntimeError("boom")

    queue = ChangeQueue(handle, debounce_s=0.01, max_wait_s=1)
    queue.add(Path("/w/a.py"), ChangeKind.CHANGED)
    await asyncio.wait_for(queue.wait_idle(), 5)
    queue.add(Path("/w/b.py"), ChangeKind.CHANGED)
    await asyncio.wait_for(queue.wait_idle(), 5)
    assert seen == [1, 1]


def test_batch_settings_apply_in_place() -> None:
    old = Settings()
    new = dataclasses.replace(old, search=SearchSettings(weaviate_batch_size=7))
    assert classify_settings_change(old, new) == SettingsChange.IN_PLACE
    workers = dataclasses.replace(old, weaviate=dataclasses.replace(old.weaviate, num_workers=4, consistency_level="QUORUM"))
    assert classify_settings_change(old, workers) == SettingsChange.IN_PLACE


def test_a_new_url_class_or_embedder_restarts() -> None:
    old = Settings()
    for new in (
        dataclasses.replace(old, weaviate=WeaviateSettings(url="http://other:8080")),
        dataclasses.replace(old, weaviate=WeaviateSettings(class_name="Other")),
        dataclasses.replace(old, embeddings=EmbeddingSettings(dimensions=384)),
        dataclasses.replace(old, indexing=IndexingSettings(workspace_id="team-repo")),
    ):
        assert classify_settings_change(old, new) == SettingsChange.RESTART


def test_which_files_reindexes_and_how_they_are_cut_reindexes_all() -> None:
    old = Settings()
    assert classify_settings_change(old, dataclasses.replace(old, indexing=IndexingSettings(exclude=("gen/",)))) == SettingsChange.REINDEX
    assert classify_settings_change(old, dataclasses.replace(old, indexing=IndexingSettings(chunk_lines=30))) == SettingsChange.REINDEX_ALL
    assert classify_settings_change(old, Settings()) == SettingsChange.NONE
