"""Sending prepared files: insert their chunks, then delete what the new chunks replace.

A file's new chunks are inserted before its old ones are deleted, so a
re-indexed file never has a moment without chunks; deterministic ids make
re-sending harmless.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..metrics import Metrics
from ..store.batch_result import BatchResult
from ..store.errors import WeaviateUnavailableError
from ..workspace.discovery import FileSkipped
from .events import ChunkFailure, FileFailed, FileIndexed, FileNotIndexed
from .planning import may_have_stale_chunks
from .preparing import Item, Prepared, Unchanged, Unstorable
from .run import IndexRun
from .sink import ChunkSink

TIMER_DELETE = "indexing.delete_stale"


class Sender:
    """Sends a group's items to the store and tells the run what became of each file."""

    def __init__(self, store: ChunkSink, endpoint: str, metrics: Metrics) -> None:
        self._store = store
        self._endpoint = endpoint  # named when Weaviate cannot be reached
        self._metrics = metrics

    async def send(self, run: IndexRun, items: Sequence[Item]) -> None:
        """Insert the prepared files' chunks, then delete what they replace; emit one event per file."""
        to_send: list[Prepared] = []
        for item in items:
            if isinstance(item, Prepared):
                to_send.append(item)
            else:
                await self._settle(run, item)
        if not to_send:
            return
        objects = [o for p in to_send for o in p.objects]
        uuids = [u for p in to_send for u in p.uuids]
        vectors = None if to_send[0].vectors is None else [v for p in to_send for v in p.vectors or []]
        result = await self._store.insert(objects, vectors, uuids)
        if result.unreachable:
            raise WeaviateUnavailableError(self._endpoint, result.errors[0].message)
        offset = 0
        for item in to_send:
            await self._sent(run, item, _failures(result, offset, item))
            offset += len(item.chunks)

    async def _settle(self, run: IndexRun, item: Unchanged | Unstorable | FileSkipped) -> None:
        """Count a file that sends nothing."""
        counts = run.counts
        counts.done += 1
        if isinstance(item, FileSkipped):
            counts.skipped += 1
            run.emit(FileNotIndexed(run.root, item.rel_path, item.reason, item.warn))
            if run.indexed is None or item.rel_path in run.indexed:
                # It was indexed before it became binary, too big or unreadable.
                await self._store.delete_file(run.root.workspace_id, item.rel_path)
        elif isinstance(item, Unchanged):
            counts.unchanged += 1
        else:
            counts.failed += 1
            counts.chunks_failed += len(item.failures)
            run.emit(FileFailed(run.root, item.source.rel_path, item.failures))

    async def _sent(self, run: IndexRun, item: Prepared, failures: tuple[ChunkFailure, ...]) -> None:
        """Count a file whose chunks were sent; delete its stale chunks once all are stored."""
        counts = run.counts
        counts.done += 1
        counts.embedded += item.embedded
        counts.reused += item.reused
        counts.chunks += len(item.chunks) - len(failures)
        counts.chunks_failed += len(failures)
        rel_path = item.source.rel_path
        if failures:
            # Old chunks stay until the file indexes cleanly: better stale
            # than missing; the diagnostic says what went wrong.
            counts.failed += 1
            run.emit(FileFailed(run.root, rel_path, failures))
            return
        if may_have_stale_chunks(run.indexed, rel_path, item.file_hash):
            with self._metrics.timer(TIMER_DELETE):
                await self._store.delete_stale(run.root.workspace_id, rel_path, item.file_hash)
        counts.indexed += 1
        run.emit(FileIndexed(run.root, rel_path, len(item.chunks)))


def _failures(result: BatchResult, offset: int, item: Prepared) -> tuple[ChunkFailure, ...]:
    """The failures of the file whose objects start at `offset` in the insert."""
    by_index = {e.index: e for e in result.errors if offset <= e.index < offset + len(item.chunks)}
    return tuple(
        ChunkFailure(chunk.start_line, chunk.end_line, by_index[offset + i].message, by_index[offset + i].error_type)
        for i, chunk in enumerate(item.chunks)
        if offset + i in by_index
    )
