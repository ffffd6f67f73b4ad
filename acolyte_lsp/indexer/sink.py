"""What the indexer needs from the store (`store.chunk_store.ChunkStore` provides it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..store.batch_result import BatchResult


class ChunkSink(Protocol):
    """Where chunks go, and what it already holds."""

    async def insert(
        self, objects: Sequence[dict[str, Any]], vectors: Sequence[Sequence[float]] | None, uuids: Sequence[str]
    ) -> BatchResult: ...

    async def delete_stale(self, workspace: str, file_path: str, keep_hash: str) -> int: ...

    async def delete_file(self, workspace: str, file_path: str) -> int: ...

    async def delete_path(self, workspace: str, path: str) -> int: ...

    async def indexed_files(self, workspace: str) -> dict[str, set[str]]: ...

    def stored_vectors(self, workspace: str, keys: Sequence[str]) -> dict[str, Sequence[float]]:
        """Vectors Weaviate holds under these `vector_key`s (blocking; called from worker threads)."""
        ...
