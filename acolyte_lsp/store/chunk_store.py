"""`ChunkStore`: the async face of Weaviate that the indexer uses.

Batches go through the locked `WeaviateBatchInserter`; reads and deletes run
on their own small thread pool so a slow batch never holds up a status query.
Every Weaviate failure leaves here as a `StoreError` subclass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
import weaviate
from weaviate.exceptions import WeaviateBaseError

from ..settings import Settings
from ..display import brief
from ..metrics import Metrics
from . import queries
from .batch_inserter import WeaviateBatchInserter
from .batch_result import BatchResult
from .batch_tuning import BatchConfig
from .client import connect, short_reason
from .client_compat import close_client
from .errors import StoreError, WeaviateUnavailableError
from .queries import SearchHit, WorkspaceSummary
from .schema import ensure_schema

T = TypeVar("T")
log = logging.getLogger(__name__)


class ChunkStore:
    """Chunks of one or more workspaces in one Weaviate class."""

    def __init__(self, clients: Sequence[weaviate.Client], settings: Settings, metrics: Metrics) -> None:
        self._client = clients[0]  # queries and deletes; every client is also an insert lane
        self._clients = list(clients)
        self._url = settings.weaviate.endpoint
        self.class_name = settings.weaviate.class_name
        self._vectorizer = vectorizer_of(settings)
        self._replication_factor = settings.weaviate.replication_factor
        self.inserter = WeaviateBatchInserter(self._clients, metrics=metrics)
        self.inserter.reconfigure(batch_config(settings))
        # Batch deletes read the level from the client's batch object.
        self._client.batch.consistency_level = settings.weaviate.consistency_level
        self._queries = ThreadPoolExecutor(max_workers=2, thread_name_prefix="weaviate-query")

    @classmethod
    async def open(cls, settings: Settings, metrics: Metrics) -> "ChunkStore":
        """Connect and make sure the class exists (both off the event loop)."""

        def _open() -> list[weaviate.Client]:
            client = connect(settings.weaviate)
            try:
                ensure_schema(
                    client, settings.weaviate.class_name, vectorizer_of(settings), settings.weaviate.replication_factor
                )
            except (requests.exceptions.RequestException, WeaviateBaseError) as err:
                raise _store_error(settings.weaviate.endpoint, err) from err
            # One client per parallel batch: a v3 client's batch must never be shared by threads.
            return [client, *(connect(settings.weaviate) for _ in range(settings.weaviate.parallel_clients - 1))]

        return cls(await asyncio.to_thread(_open), settings, metrics)

    async def insert(
        self, objects: Sequence[dict[str, Any]], vectors: Sequence[Sequence[float]] | None, uuids: Sequence[str]
    ) -> BatchResult:
        return await self.inserter.batch_insert(objects, vectors, self.class_name, uuids)

    async def delete_stale(self, workspace: str, file_path: str, keep_hash: str) -> int:
        return await self._run(queries.delete_stale_chunks, self.class_name, workspace, file_path, keep_hash)

    async def delete_file(self, workspace: str, file_path: str) -> int:
        return await self._run(queries.delete_file_chunks, self.class_name, workspace, file_path)

    async def delete_path(self, workspace: str, path: str) -> int:
        return await self._run(queries.delete_path_chunks, self.class_name, workspace, path)

    def stored_vectors(self, workspace: str, keys: Sequence[str]) -> dict[str, Sequence[float]]:
        """Vectors held under these `vector_key`s; empty when Weaviate cannot say (they are then embedded).

        Blocking, for the indexer's worker threads: reads only, which the v3 client serves from any thread.
        """
        try:
            return dict(queries.vectors_by_key(self._client, self.class_name, workspace, keys))
        except (requests.exceptions.RequestException, WeaviateBaseError, queries.QueryError) as err:
            log.info("reading stored vectors failed (embedding instead): %s", err)
            return {}

    async def ensure_class(self) -> bool:
        """Create the class when Weaviate lost it; True when it had to (everything must be sent again)."""
        return await self._run(self._ensure_class_with)

    def _ensure_class_with(self, client: weaviate.Client) -> bool:
        return ensure_schema(client, self.class_name, self._vectorizer, self._replication_factor)

    async def vector_size(self) -> int | None:
        return await self._run(queries.vector_size, self.class_name)

    def apply_settings(self, settings: Settings) -> None:
        """Batch settings that can change between batches (size, workers, retries, consistency)."""
        self.inserter.reconfigure(batch_config(settings))
        self._client.batch.consistency_level = settings.weaviate.consistency_level

    async def count(self, workspace: str) -> int:
        return await self._run(queries.count_chunks, self.class_name, workspace)

    async def indexed_files(self, workspace: str) -> dict[str, set[str]]:
        """What Weaviate holds for `workspace`; a class Weaviate lost (emptied, restored) is made again, empty."""

        def listing(client: weaviate.Client, class_name: str, workspace: str) -> dict[str, set[str]]:
            if self._ensure_class_with(client):
                return {}
            return queries.indexed_files(client, class_name, workspace)

        return await self._run(listing, self.class_name, workspace)

    async def workspaces(self) -> list[WorkspaceSummary]:
        """Every workspace the class holds (walks the class: an administrative query)."""
        return await self._run(queries.workspace_summaries, self.class_name)

    async def forget(self, workspace: str) -> int:
        """Remove every chunk of `workspace`; how many went."""
        return await self._run(queries.delete_workspace, self.class_name, workspace)

    async def search(
        self,
        workspace: str,
        limit: int,
        vector: list[float] | None = None,
        text: str | None = None,
        path_prefix: str | None = None,
        language: str | None = None,
        alpha: float | None = None,
    ) -> list[SearchHit]:
        """The best chunks for a query: hybrid with `alpha` and `text`, else nearest to `vector` (or `text`)."""
        return await self._run(
            queries.search_chunks, self.class_name, workspace, limit, vector, text, path_prefix, language, alpha
        )

    def close(self) -> None:
        """Finish the batch in flight and release threads and connections."""
        self.inserter.close()
        self._queries.shutdown(wait=True)
        for client in self._clients:
            close_client(client)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        def call() -> T:
            try:
                return fn(self._client, *args)
            except (requests.exceptions.RequestException, WeaviateBaseError, queries.QueryError) as err:
                raise _store_error(self._url, err) from err
            except (AttributeError, KeyError, TypeError, ValueError, IndexError) as err:
                # The reply parsed but is not the shape Weaviate's API promises.
                raise StoreError(
                    f"Weaviate at {self._url} sent a reply acolyte-lsp cannot read ({type(err).__name__}: {brief(str(err))}); "
                    "is that URL a Weaviate, and of a supported version?"
                ) from err

        return await asyncio.get_running_loop().run_in_executor(self._queries, call)


def vectorizer_of(settings: Settings) -> str:
    """The class's vectorizer: Weaviate's module with provider none, else none (we send vectors)."""
    return settings.embeddings.vectorizer if settings.embeddings.provider == "none" else "none"


def batch_config(settings: Settings) -> BatchConfig:
    """The inserter's configuration from settings."""
    return BatchConfig(
        batch_size=settings.search.weaviate_batch_size,
        num_workers=settings.weaviate.num_workers,
        dynamic=settings.weaviate.dynamic_batching,
        timeout_retries=settings.weaviate.timeout_retries,
        connection_error_retries=settings.weaviate.connection_error_retries,
        consistency_level=settings.weaviate.consistency_level,
        max_retries=settings.weaviate.object_retries,
        retry_backoff_s=settings.weaviate.retry_backoff_s,
        min_batch_size=settings.weaviate.min_batch_size,
        max_batch_size=settings.weaviate.max_batch_size,
        target_batch_s=settings.weaviate.target_batch_seconds,
    )


def _store_error(url: str, err: BaseException) -> StoreError:
    if isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return WeaviateUnavailableError(url, short_reason(err))
    if isinstance(err, queries.QueryError):
        return StoreError(f"Weaviate at {url} answered with an error: {err}")
    return StoreError(f"Weaviate at {url} answered with an error: {short_reason(err)}")
