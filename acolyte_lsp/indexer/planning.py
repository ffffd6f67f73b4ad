"""What a run has to do: which files are unchanged, which must be read, how changed paths map to files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..settings import IndexingSettings
from ..workspace.chunking import ChunkingOptions
from ..workspace.discovery import IgnoreRules, SourceFile, discover_files
from .events import WorkspaceRoot
from .run import IndexRun

FIRST_GROUP_FILES = 4  # a small first group gets the first chunks out at once
FILES_PER_GROUP = 32
SETTLED_GROUP_FILES = 1024  # a group of files the hash cache vouches for can be this large
# Bumped when the chunker cuts the same text differently, so stored files are re-sent.
CHUNKER_VERSION = "1"
EMBEDDED_TEXT_VERSION = "2"  # bump when embedded_text changes: every file is then sent (and embedded) again


@dataclass(frozen=True)
class Group:
    """Files discovery hands on together, with the content hashes the hash cache holds for some of them."""

    files: list[SourceFile]
    cached: dict[str, str]

    @property
    def has_work(self) -> bool:
        """Whether some file must be read (the cache cannot vouch for it)."""
        return len(self.files) > len(self.cached)


def chunking_options(indexing: IndexingSettings) -> ChunkingOptions:
    """How the settings say files are cut."""
    return ChunkingOptions(indexing.chunk_lines, indexing.chunk_overlap, indexing.min_chunk_lines)


def stored_file_hash(content_hash: str, options: ChunkingOptions, redact: bool, embedder: str | None) -> str:
    """The `file_hash` chunks carry: the file's bytes, how they were cut and masked, and what embedded them.

    A change of chunk sizes, of secret masking or of embedder (a model becoming
    available where hashing stood in) then reads as a changed file, so its old
    chunks are replaced instead of lingering beside the new ones.
    """
    cut = f"{options.max_lines}:{options.overlap}:{options.min_lines}:{int(redact)}:{CHUNKER_VERSION}:{EMBEDDED_TEXT_VERSION}:{embedder}"
    return hashlib.sha256(f"{content_hash}:{cut}".encode()).hexdigest()


def file_stat(source: SourceFile) -> os.stat_result | None:
    """The file's stat, None when it is gone or unreadable."""
    try:
        return source.path.stat()
    except OSError:
        return None


Stated = tuple[SourceFile, os.stat_result | None]  # a discovered file and its stat, when already taken


def ordered_sources(sources: Iterable[SourceFile], first: Collection[str]) -> list[Stated]:
    """The files in the order a user wants them searchable: `first` (the open documents), then the most
    recently modified, so the work in hand is indexed before the rest of a big first index (blocking).
    Each comes with the stat taken to order it, which the hash cache then reads instead of another."""
    stated = [(source, file_stat(source)) for source in sources]
    return sorted(stated, key=lambda pair: (pair[0].rel_path not in first, -(pair[1].st_mtime if pair[1] else 0.0)))


def discovered_groups(run: IndexRun, sources: Iterable[Stated], present: set[str]) -> Iterator[Group]:
    """Group discovered files (blocking: runs in a worker thread); sets the run's total at the end.

    Files the hash cache vouches for cost almost nothing downstream, so only the
    others fill a group.
    """
    group: list[SourceFile] = []
    cached: dict[str, str] = {}
    size = FIRST_GROUP_FILES
    for source, stat in sources:
        present.add(source.rel_path)
        group.append(source)
        if run.hashes is not None and stat is None:
            stat = file_stat(source)
        known = run.hashes.lookup(source.rel_path, stat) if run.hashes is not None and stat is not None else None
        if known is not None:
            cached[source.rel_path] = known
        if len(group) - len(cached) >= size or len(group) >= SETTLED_GROUP_FILES:
            yield Group(group, cached)
            group, cached, size = [], {}, FILES_PER_GROUP
    run.counts.total = len(present)
    if group:
        yield Group(group, cached)


def settle_unchanged(run: IndexRun, group: Group, indexing: IndexingSettings, embedder: str | None) -> list[SourceFile]:
    """Count the files whose cached hash Weaviate already holds (or that yield no chunks, and Weaviate holds none
    of them); return the others (to be read)."""
    if not group.cached or run.indexed is None:
        return group.files
    options = chunking_options(indexing)
    work = []
    for source in group.files:
        known = group.cached.get(source.rel_path)
        stored = run.indexed.get(source.rel_path)
        expected = None if known is None else stored_file_hash(known, options, indexing.redact_secrets, embedder)
        # A file that yields no chunks is current when Weaviate holds none of it.
        chunkless = stored is None and run.hashes is not None and run.hashes.chunkless_as(source.rel_path)
        if expected is not None and (stored == {expected} or chunkless == expected):
            run.counts.unchanged += 1
            run.counts.done += 1
        else:
            work.append(source)
    return work


def changed_sources(root: WorkspaceRoot, changed: Sequence[str], indexing: IndexingSettings) -> list[SourceFile]:
    """Files to index for changed paths: folders are walked; ignored and vanished paths dropped (blocking)."""
    rules = IgnoreRules(root.path, indexing.exclude, indexing.include)  # once per batch, not per file
    out: dict[str, SourceFile] = {}
    for rel_path in changed:
        path = root.path / rel_path
        if path.is_dir():
            for source in discover_files(root.path, indexing.exclude, indexing.include, under=rel_path):
                out[source.rel_path] = source
        elif path.is_file() and rules.allows_file(rel_path):
            out[rel_path] = SourceFile(path, rel_path)
    return list(out.values())


def may_have_stale_chunks(indexed: dict[str, set[str]] | None, rel_path: str, file_hash: str) -> bool:
    """Whether Weaviate may hold chunks of this file with another hash (unknown: assume so)."""
    if indexed is None:
        return True
    return bool(indexed.get(rel_path, set()) - {file_hash})
