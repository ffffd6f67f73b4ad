"""Only changed text is embedded: a chunk whose text (and embedder) Weaviate already holds takes its vector from there."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import weaviate

from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings, SearchSettings, Settings, WeaviateSettings
from acolyte_lsp.embedding import HashEmbedder, make_embedder
from acolyte_lsp.indexer.events import WorkspaceRoot
from acolyte_lsp.indexer.preparing import embedded_text
from acolyte_lsp.indexer.service import IndexingService
from acolyte_lsp.metrics import Metrics
from acolyte_lsp.store.chunk_store import ChunkStore
from acolyte_lsp.workspace.chunking import Chunk
from tests.files import write


class CountingEmbedder(HashEmbedder):
    """Counts the texts it is asked to embed."""

    def __init__(self, identity_suffix: str = "") -> None:
        super().__init__(64)
        self.texts: list[str] = []
        self._suffix = identity_suffix

    @property
    def identity(self) -> str:
        return super().identity + self._suffix

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return super().embed(texts)


def _stored(client: weaviate.Client, class_name: str) -> list[dict[str, Any]]:
    """Every stored chunk with its vector."""
    fields = ["content", "chunk_name", "chunk_type", "start_line", "end_line"]
    reply = client.query.get(class_name, fields).with_additional(["vector"]).with_limit(100).do()
    return reply["data"]["Get"][class_name]


def _embedded_text(item: dict[str, Any]) -> str:
    """What the indexer embedded for a stored chunk."""
    chunk = Chunk(item["start_line"], item["end_line"], item["chunk_type"], item["chunk_name"], item["content"])
    return embedded_text("unused", chunk)


def _function(name: str, body_lines: int = 12) -> str:
    body = "".join(f"    step_{i} = {name}_value + {i}\n" for i in range(body_lines))
    return f"def {name}(x):\n{body}    return x\n\n\n"


@pytest.fixture
async def store(weaviate_url: str, class_name: str):  # type: ignore[no-untyped-def]
    settings = Settings(
        search=SearchSettings(weaviate_batch_size=50),
        weaviate=WeaviateSettings(url=weaviate_url, class_name=class_name, read_timeout_s=10),
        indexing=IndexingSettings(chunk_lines=20, chunk_overlap=0),
    )
    opened = await ChunkStore.open(settings, Metrics())
    yield opened
    opened.close()


def _service(store: ChunkStore, embedder: HashEmbedder) -> IndexingService:
    settings = Settings(
        search=SearchSettings(weaviate_batch_size=50),
        weaviate=WeaviateSettings(url="unused", class_name=store.class_name),
        indexing=IndexingSettings(chunk_lines=20, chunk_overlap=0),
    )
    return IndexingService(settings, store, embedder, lambda event: None, Metrics())


async def test_editing_one_function_re_embeds_only_its_chunk(store: ChunkStore, tmp_path: Path) -> None:
    names = [f"function_{i}" for i in range(30)]
    write(tmp_path, {"big.py": "".join(_function(n) for n in names)})
    embedder = CountingEmbedder()
    service, root = _service(store, embedder), WorkspaceRoot.at(tmp_path)
    first = await service.index_workspace(root)
    assert (first.chunks_embedded, first.chunks_reused) == (30, 0)
    write(tmp_path, {"big.py": "".join(_function(n) if n != "function_7" else _function(n, 13) for n in names)})
    embedder.texts.clear()
    second = await service.index_workspace(root)
    assert (second.chunks_embedded, second.chunks_reused) == (1, 29)
    assert len(embedder.texts) == 1 and "def function_7" in embedder.texts[0]


async def test_a_function_moved_to_another_file_is_not_embedded_again(store: ChunkStore, tmp_path: Path) -> None:
    write(tmp_path, {"a.py": _function("keep") + _function("travel")})
    embedder = CountingEmbedder()
    service, root = _service(store, embedder), WorkspaceRoot.at(tmp_path)
    await service.index_workspace(root)
    write(tmp_path, {"a.py": _function("keep"), "b.py": _function("travel")})  # a branch switch moved it
    embedder.texts.clear()
    moved = await service.index_workspace(root)
    assert embedder.texts == [], "moved text was embedded again"
    assert moved.chunks_reused == 2 and moved.files_indexed == 2


async def test_reused_vectors_are_the_vectors_a_fresh_embedding_gives(
    store: ChunkStore, client: weaviate.Client, tmp_path: Path
) -> None:
    write(tmp_path, {"a.py": _function("one") + _function("two") + _function("three")})
    service, root = _service(store, CountingEmbedder()), WorkspaceRoot.at(tmp_path)
    await service.index_workspace(root)
    await service.index_workspace(root, force=True)  # everything re-sent, every vector reused
    stored = _stored(client, store.class_name)
    assert len(stored) == 3
    fresh = HashEmbedder(64).embed([_embedded_text(item) for item in stored])
    for item, vector in zip(stored, fresh):
        assert np.array_equal(np.asarray(item["_additional"]["vector"], dtype=np.float32), np.asarray(vector, dtype=np.float32))


async def test_vectors_of_another_embedder_are_never_reused(store: ChunkStore, tmp_path: Path) -> None:
    write(tmp_path, {"a.py": _function("one") + _function("two")})
    root = WorkspaceRoot.at(tmp_path)
    await _service(store, CountingEmbedder()).index_workspace(root)
    other = CountingEmbedder(identity_suffix=":another-model")
    summary = await _service(store, other).index_workspace(root, force=True)
    assert (summary.chunks_embedded, summary.chunks_reused) == (2, 0)
    assert len(other.texts) == 2


async def test_stored_vectors_that_are_not_vectors_of_this_size_are_embedded_afresh(store: ChunkStore, tmp_path: Path) -> None:
    write(tmp_path, {"a.py": _function("one") + _function("two")})
    embedder = CountingEmbedder()
    service, root = _service(store, embedder), WorkspaceRoot.at(tmp_path)
    await service.index_workspace(root)
    real = store.stored_vectors
    store.stored_vectors = lambda workspace, keys: {  # type: ignore[method-assign]
        key: bad for key, bad in zip(real(workspace, keys), ([0.5] * 3, ["x"] * 64))
    }
    embedder.texts.clear()
    summary = await service.index_workspace(root, force=True)
    assert (summary.files_indexed, summary.files_failed, summary.chunks_embedded, summary.chunks_reused) == (1, 0, 2, 0)


class CountingModel:
    """The real default model, counting the texts it embeds."""

    def __init__(self) -> None:
        self.model = make_embedder(EmbeddingSettings())
        self.texts: list[str] = []
        self.dimensions, self.identity = self.model.dimensions, self.model.identity

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return self.model.embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)


async def test_with_the_real_model_an_edit_re_embeds_one_chunk_and_reused_vectors_equal_fresh_ones(
    store: ChunkStore, client: weaviate.Client, tmp_path: Path
) -> None:
    names = [f"function_{i}" for i in range(6)]
    write(tmp_path, {"big.py": "".join(_function(n) for n in names)})
    model = CountingModel()
    service, root = _service(store, model), WorkspaceRoot.at(tmp_path)  # type: ignore[arg-type]
    await service.index_workspace(root)
    write(tmp_path, {"big.py": "".join(_function(n, 13 if n == "function_2" else 12) for n in names)})
    model.texts.clear()
    edited = await service.index_workspace(root)
    assert (edited.chunks_embedded, edited.chunks_reused) == (1, 5)
    assert len(model.texts) == 1 and "def function_2" in model.texts[0]
    stored = _stored(client, store.class_name)
    fresh = model.model.embed([_embedded_text(item) for item in stored])
    for item, vector in zip(stored, fresh):
        assert np.array_equal(np.asarray(item["_additional"]["vector"], dtype=np.float32), np.asarray(vector, dtype=np.float32))
