"""Preparing a group of files: read and chunk each, then embed them together, then build the objects.

Blocking throughout: the streaming stage runs it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..settings import IndexingSettings
from ..embedding import Embedder, identifier_words, vector_key
from ..identity import chunk_uuid
from ..metrics import Metrics
from ..store.batch_result import ErrorType
from ..vectors import Float32Vector, VectorError, to_float32
from ..workspace.chunking import Chunk, chunk_file, language_of
from ..workspace.discovery import FileSkipped, SourceFile, read_source
from ..workspace.secrets import SecretMatch, find_secrets, redact_secrets
from .events import ChunkFailure
from .planning import chunking_options, file_stat, stored_file_hash
from .run import IndexRun
from .sink import ChunkSink

TIMER_READ_CHUNK = "indexing.read_chunk"
TIMER_EMBED = "indexing.embed"


def embedded_text(rel_path: str, chunk: Chunk) -> str:
    """What the embedder reads for a chunk: its definition's name as words, then its text.

    Measured in BENCHMARKS.md against the text alone and other contexts. The file path
    would rank better still but is left out on purpose (the benchmarks' variants read
    `rel_path`): text moved to another file then keeps its embedded text, so its vector
    is reused instead of computed again.
    """
    if chunk.kind == "MODULE":  # "imports", "lines 44-58": no name worth reading
        return chunk.content
    return f"{' '.join(identifier_words(chunk.name.split(' [part ')[0]))}\n{chunk.content}"


@dataclass(frozen=True)
class Prepared:
    """A file ready to send: its chunks as Weaviate objects, with their vectors and ids."""

    source: SourceFile
    file_hash: str
    chunks: list[Chunk]
    objects: list[dict[str, Any]]
    vectors: list[Float32Vector] | None
    uuids: list[str]
    embedded: int  # chunks the embedder embedded …
    reused: int  # … and chunks whose vector Weaviate already held for the same text


@dataclass(frozen=True)
class Unchanged:
    """A file Weaviate already holds as it is on disk."""

    source: SourceFile


@dataclass(frozen=True)
class Unstorable:
    """A file whose chunks cannot be sent (the embedder gave a vector float32 cannot hold)."""

    source: SourceFile
    failures: tuple[ChunkFailure, ...]


Item = Prepared | Unchanged | Unstorable | FileSkipped


@dataclass(frozen=True)
class _Chunked:
    """A file read and cut, waiting for its vectors."""

    source: SourceFile
    file_hash: str
    chunks: list[Chunk]


@dataclass(frozen=True)
class _Vectors:
    """Vectors for a group's chunk texts, in order; `keys` None when Weaviate's module embeds."""

    keys: list[str] | None
    vectors: Sequence[Sequence[float]] | None
    reused: list[bool]


def _secret_reason(secret: SecretMatch) -> str:
    return (
        f"holds what looks like a {secret.kind} (line {secret.line}), so it is kept out of Weaviate; remove the "
        "secret, list the file in .acolyteignore, or set indexing.redact_secrets: true to index it with secrets masked"
    )


class Preparer:
    """Turns groups of files into items for the sending stage."""

    def __init__(self, indexing: IndexingSettings, store: ChunkSink, embedder: Embedder, metrics: Metrics) -> None:
        self.indexing = indexing
        self._store = store
        self._embedder = embedder
        self._metrics = metrics

    def prepare(self, run: IndexRun, group: Sequence[SourceFile]) -> list[Item]:
        """Read, chunk, then embed the whole group in one call; one item per file, in order.

        With the run's hash cache, each hash read is remembered for the next run.
        """
        with self._metrics.timer(TIMER_READ_CHUNK):
            read = [self._read_and_chunk(run, source) for source in group]
        chunked = [item for item in read if isinstance(item, _Chunked)]
        texts = [embedded_text(c.source.rel_path, chunk) for c in chunked for chunk in c.chunks]
        # Weaviate may already hold the vector of a text that did not change (or moved): only
        # the rest is embedded. Nothing is held yet in a workspace Weaviate knows nothing of.
        vectors = self._vectors(run.root.workspace_id, texts, may_reuse=run.indexed is None or bool(run.indexed))
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        out: list[Item] = []
        offset = 0
        for item in read:
            if isinstance(item, _Chunked):
                out.append(self._assemble(run, item, vectors, offset, now))
                offset += len(item.chunks)
            else:
                out.append(item)
        return out

    def _read_and_chunk(self, run: IndexRun, source: SourceFile) -> _Chunked | Unchanged | FileSkipped:
        indexing = self.indexing
        stat = file_stat(source) if run.hashes is not None else None  # before reading: what the hash is of
        try:
            text = read_source(source, indexing.max_file_size_kb * 1024)
        except FileSkipped as skipped:
            return skipped
        if stat is not None and run.hashes is not None:
            run.hashes.remember(source.rel_path, stat, text.file_hash)
        options = chunking_options(indexing)
        file_hash = stored_file_hash(text.file_hash, options, indexing.redact_secrets, self._embedder.identity)
        if not run.force and run.indexed is not None and run.indexed.get(source.rel_path) == {file_hash}:
            return Unchanged(source)
        content = text.text
        secrets = find_secrets(content)
        if secrets and not indexing.redact_secrets:
            return FileSkipped(source.rel_path, _secret_reason(secrets[0]), warn=True)
        if secrets:
            content = redact_secrets(content)
        chunks = chunk_file(source.rel_path, content, options)
        if not chunks:
            if run.hashes is not None:
                run.hashes.remember_chunkless(source.rel_path, file_hash)
            if not run.force and run.indexed is not None and source.rel_path not in run.indexed:
                return Unchanged(source)  # nothing to store, and Weaviate holds nothing of it: current
        return _Chunked(source, file_hash, chunks)

    def _vectors(self, workspace: str, texts: list[str], may_reuse: bool) -> _Vectors:
        """Weaviate's vectors for texts it holds under the same embedder, the embedder's for the rest."""
        identity = self._embedder.identity
        if identity is None or not texts:  # Weaviate's module embeds (or there is nothing to embed)
            return _Vectors(None, self._embedder.embed(texts) if texts else [], [False] * len(texts))
        keys = [vector_key(identity, text) for text in texts]
        stored = self._store.stored_vectors(workspace, sorted(set(keys))) if may_reuse else {}
        dimensions = self._embedder.dimensions
        stored = {  # a reply that is not a vector of this embedder's size is no reason to fail a file
            key: vector
            for key, vector in stored.items()
            if isinstance(vector, list) and len(vector) == dimensions
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vector)
        }
        missing = [i for i, key in enumerate(keys) if key not in stored]
        fresh: Sequence[Sequence[float]] = []
        if missing:
            with self._metrics.timer(TIMER_EMBED):
                fresh = self._embedder.embed([texts[i] for i in missing]) or []
        vectors: list[Sequence[float]] = [stored.get(key, ()) for key in keys]
        for i, vector in zip(missing, fresh):
            vectors[i] = vector
        missing_set = set(missing)
        return _Vectors(keys, vectors, [i not in missing_set for i in range(len(texts))])

    def _assemble(self, run: IndexRun, item: _Chunked, vectors: _Vectors, offset: int, now: str) -> Prepared | Unstorable:
        """The file's Weaviate objects; its vectors are `vectors[offset:offset + len(chunks)]`."""
        source, chunks, workspace = item.source, item.chunks, run.root.workspace_id
        language = language_of(source.rel_path)
        objects = [
            {
                "content": c.content,
                "file_path": source.rel_path,
                "workspace": workspace,
                "language": language,
                "chunk_type": c.kind,
                "chunk_name": c.name,
                "start_line": c.start_line,
                "end_line": c.end_line,
                "file_hash": item.file_hash,
                "indexed_at": now,
                "chunk_index": index,
                "file_chunks": len(chunks),
                **({} if vectors.keys is None else {"vector_key": vectors.keys[offset + index]}),
            }
            for index, c in enumerate(chunks)
        ]
        uuids = [chunk_uuid(workspace, source.rel_path, c.start_line, c.end_line, c.content) for c in chunks]
        end = offset + len(chunks)
        file_vectors: list[Float32Vector] | None = None
        if vectors.vectors is not None:
            try:
                file_vectors = to_float32(vectors.vectors[offset:end])
            except VectorError as err:
                bad = chunks[err.index]
                return Unstorable(source, (ChunkFailure(bad.start_line, bad.end_line, str(err), ErrorType.INVALID_OBJECT),))
        reused = sum(vectors.reused[offset:end])
        embedded = 0 if vectors.vectors is None else len(chunks) - reused
        return Prepared(source, item.file_hash, chunks, objects, file_vectors, uuids, embedded, reused)
