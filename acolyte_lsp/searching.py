"""Search over the connected store: queries checked, embedded like the chunks, results marked fresh or not. No LSP here."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .connection import Connection
from .indexer.events import WorkspaceRoot
from .indexer.freshness import FreshnessCheck
from .store.chunk_store import ChunkStore
from .store.queries import SearchHit
from .workspace.discovery import relative_posix

MAX_QUERY_CHARS = 10_000  # a query is a sentence or a snippet; the model reads 128 word pieces of it
MAX_FOLDERS_UP = 32  # folders above a search path asked whether they are an indexed root


class InvalidQuery(ValueError):
    """A search query that cannot be searched (empty, or longer than any query means)."""


def check_query(query: str) -> None:
    """Raise `InvalidQuery` for an empty or oversized query."""
    if not query.strip():
        raise InvalidQuery("the search query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"the search query is {len(query):,} characters long; at most {MAX_QUERY_CHARS:,} are searched")


@dataclass(frozen=True)
class SearchResult:
    """A search hit with an absolute path, ready for an editor location."""

    path: Path
    start_line: int
    end_line: int
    name: str
    kind: str
    language: str
    score: float
    preview: str
    text: str  # the whole chunk as indexed
    fresh: bool  # the file on disk is still what this chunk was indexed from

    @classmethod
    def of(cls, root: WorkspaceRoot, hit: SearchHit, fresh: bool) -> SearchResult:
        return cls(
            path=root.path / hit.file_path,
            start_line=hit.start_line,
            end_line=hit.end_line,
            name=hit.chunk_name,
            kind=hit.chunk_type,
            language=hit.language,
            score=round(hit.score, 6),
            preview=hit.content[:200],
            text=hit.content,
            fresh=fresh,
        )


class Searcher:
    """Searches the roots of one connection; remembers file hashes between searches for the freshness check."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._freshness = FreshnessCheck()

    async def search(
        self,
        store: ChunkStore,
        roots: Sequence[WorkspaceRoot],
        query: str,
        limit: int,
        path_prefix: str | None = None,
        language: str | None = None,
    ) -> list[SearchResult]:
        """Embed `query` like the chunks; the best chunks of every root by hybrid search (`search.alpha`).

        Raises `InvalidQuery` for an empty or oversized query.
        """
        check_query(query)
        embedder = self._connection.embedder
        assert embedder is not None
        settings = self._connection.settings
        vector = await asyncio.to_thread(embedder.embed_query, query)
        found: list[tuple[WorkspaceRoot, SearchHit]] = []
        for root in roots:
            hits = await store.search(root.workspace_id, limit, vector, query, path_prefix, language, settings.search.alpha)
            found.extend((root, hit) for hit in hits)
        found.sort(key=lambda pair: -pair[1].score)
        return await asyncio.to_thread(self._with_freshness, found[:limit], embedder.identity)

    def _with_freshness(self, found: list[tuple[WorkspaceRoot, SearchHit]], embedder: str | None) -> list[SearchResult]:
        indexing = self._connection.settings.indexing
        return [
            SearchResult.of(root, hit, self._freshness.is_fresh(root.path / hit.file_path, hit.file_hash, indexing, embedder))
            for root, hit in found
        ]

    async def indexed_root_of(
        self, store: ChunkStore, roots: Sequence[WorkspaceRoot], path: Path
    ) -> tuple[Path, str | None] | None:
        """The folder at or above `path` whose chunks Weaviate holds, and `path` under it as a path prefix.

        None when neither `path` nor a folder above it is indexed. With a shared
        `indexing.workspace_id` the root is the folder the settings came from.
        """
        path = path.resolve()
        shared = self._connection.settings.indexing.workspace_id
        folders = [roots[0].path] if shared and roots else [path, *path.parents][:MAX_FOLDERS_UP]
        for folder in folders:
            if await store.count(WorkspaceRoot.at(folder, shared).workspace_id) > 0:
                under = relative_posix(folder, path)
                return folder, None if under in (None, ".") else under + "/"
        return None
