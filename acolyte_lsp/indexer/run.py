"""What one indexing run carries from stage to stage: its root, its switches, what Weaviate holds, its counts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from ..workspace.hash_cache import HashCache
from .events import EventSink, IndexProgress, IndexSummary, ProgressSink, WorkspaceRoot


@dataclass
class RunCounts:
    """Files and chunks a run has handled so far (`total` None while discovery walks)."""

    total: int | None = None
    indexed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    removed: int = 0
    chunks: int = 0
    chunks_failed: int = 0
    embedded: int = 0
    reused: int = 0
    done: int = 0


@dataclass
class IndexRun:
    """One run over one root (a workspace run, a batch of changes, or a save).

    `indexed` is what Weaviate holds for the workspace (file → hashes), None
    while unknown or when not asked (every file is then sent); `hashes` is the
    hash cache to consult and to remember reads in, None when not used;
    `report` hears the run's progress (the session-wide `emit` when None).
    """

    root: WorkspaceRoot
    emit: EventSink
    force: bool = False
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    hashes: HashCache | None = None
    indexed: dict[str, set[str]] | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    report: ProgressSink | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def progress(self) -> None:
        """Report how far the run is."""
        c = self.counts
        (self.report or self.emit)(IndexProgress(self.root, c.done, c.total, c.chunks, c.failed))

    def summary(self, error: str | None) -> IndexSummary:
        """What the run did, up to now."""
        c = self.counts
        return IndexSummary(
            files_total=c.total or 0,
            files_indexed=c.indexed,
            files_unchanged=c.unchanged,
            files_failed=c.failed,
            files_skipped=c.skipped,
            files_removed=c.removed,
            chunks=c.chunks,
            chunks_failed=c.chunks_failed,
            chunks_embedded=c.embedded,
            chunks_reused=c.reused,
            seconds=time.perf_counter() - self.started,
            cancelled=self.cancelled,
            error=error,
        )
