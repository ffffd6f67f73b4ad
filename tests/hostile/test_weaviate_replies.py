"""Weaviate answering nonsense (malformed, wrong shape, truncated, enormous) is an error, not a crash or a hang."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
import weaviate

from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings, SearchSettings, Settings, WeaviateSettings
from acolyte_lsp.embedding import HashEmbedder
from acolyte_lsp.indexer.events import IndexEvent, WorkspaceRoot
from acolyte_lsp.indexer.service import IndexingService
from acolyte_lsp.metrics import Metrics
from acolyte_lsp.store.chunk_store import ChunkStore
from tests.convergence import assert_converged
from tests.files import lines, write
from tests.weaviate_server import WeaviateTestServer

ENORMOUS = orjson.dumps([{"id": "x", "result": {}, "padding": "p" * 1000}] * 30_000)  # ~31 MB
REPLIES = {
    "malformed JSON": (b'{"objects": [1, 2', False),
    "wrong shape": (b'{"unexpected": true, "data": 42}', False),
    "a list of nonsense": (b'[1, "two", null, {"result": 5}]', False),
    "truncated": (orjson.dumps([{"id": "x", "result": {"status": "SUCCESS"}}] * 200), True),
    "enormous": (ENORMOUS, False),
}
ROUTES = {"batch insert": ("POST", "/v1/batch/objects"), "batch delete": ("DELETE", "/v1/batch/objects"), "graphql": ("POST", "/v1/graphql")}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("reply", list(REPLIES))
async def test_nonsense_from_weaviate_fails_the_run_cleanly_and_the_next_run_converges(
    test_server: WeaviateTestServer, tmp_path: Path, route: str, reply: str
) -> None:
    settings = Settings(
        search=SearchSettings(weaviate_batch_size=20),
        weaviate=WeaviateSettings(url=test_server.url, class_name="Replies", timeout_retries=0,
                                  connection_error_retries=0, object_retries=1, retry_backoff_s=0.01, read_timeout_s=5),
        indexing=IndexingSettings(chunk_lines=10, chunk_overlap=2),
        embeddings=EmbeddingSettings(provider="hash"),  # what the service below embeds with
    )
    store = await ChunkStore.open(settings, Metrics())
    try:
        events: list[IndexEvent] = []
        service = IndexingService(settings, store, HashEmbedder(), events.append)
        root = WorkspaceRoot.at(tmp_path)
        write(tmp_path, {"a.py": lines("a", 30), "b.py": lines("b", 12)})
        await service.index_workspace(root)
        write(tmp_path, {"a.py": lines("changed", 25)})
        (tmp_path / "b.py").unlink()
        body, truncate = REPLIES[reply]
        method, path = ROUTES[route]
        test_server.faults.answer_raw(body, 3, method=method, path=path, truncate=truncate)
        summary = await asyncio.wait_for(service.index_workspace(root), 60)  # returns: no exception, no hang
        assert summary.error or summary.files_failed or summary.files_indexed  # a failure is reported, or retried away
        test_server.faults.clear()
        await asyncio.wait_for(service.index_workspace(root), 60)
        assert_converged(weaviate.Client(test_server.url), "Replies", root, settings)
    finally:
        store.close()


def test_a_class_weaviate_has_not_put_in_its_graphql_schema_yet_is_asked_again(test_server: WeaviateTestServer) -> None:
    """Weaviate rebuilds its GraphQL schema a moment after a class is created (by another server too)."""
    from acolyte_lsp.store import queries
    from acolyte_lsp.store.client import connect
    from acolyte_lsp.store.schema import ensure_schema

    client = connect(WeaviateSettings(url=test_server.url))
    ensure_schema(client, "Fresh")
    not_yet = orjson.dumps({"errors": [{"message": 'Cannot query field "Fresh" on type "AggregateObjectsObj".'}]})
    test_server.faults.answer_raw(not_yet, 2, path="/v1/graphql")
    assert queries.count_chunks(client, "Fresh", "ws") == 0
    assert len(test_server.requests_to("POST", "/v1/graphql")) == 3
