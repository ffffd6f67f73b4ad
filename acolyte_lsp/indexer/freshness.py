"""Whether a search result still shows its file as it is on disk (blocking; run off the event loop).

Each chunk carries the `file_hash` it was indexed from (the file's bytes and
how they were cut and embedded, `planning.stored_file_hash`). A result is fresh
when the file on disk hashes to the same value now: an agent that edited the
file a moment ago learns that the text it was given is the old one.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from ..settings import IndexingSettings
from ..workspace.hash_cache import RACY_SECONDS
from .planning import chunking_options, stored_file_hash

MAX_REMEMBERED = 4096  # (path, size, mtime, inode) -> hash entries kept between searches


class FreshnessCheck:
    """Compares files on disk with the hash their chunks were indexed from; remembers hashes by `stat`."""

    def __init__(self) -> None:
        self._hashes: dict[tuple[str, int, int, int], str] = {}

    def is_fresh(self, path: Path, indexed_hash: str, indexing: IndexingSettings, embedder: str | None) -> bool:
        """True when `path` on disk is what the chunk with `indexed_hash` was made from."""
        content_hash = self._content_hash(path, indexing.max_file_size_kb * 1024)
        if content_hash is None:
            return False
        options = chunking_options(indexing)
        return stored_file_hash(content_hash, options, indexing.redact_secrets, embedder) == indexed_hash

    def _content_hash(self, path: Path, max_bytes: int) -> str | None:
        try:
            stat = path.stat()
            if stat.st_size > max_bytes or not path.is_file():
                return None  # no longer what was indexed: it would not be indexed at all
            key = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
            if (known := self._hashes.get(key)) is not None:
                return known
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None  # gone or unreadable: the result is not what is on disk
        if time.time() - stat.st_mtime >= RACY_SECONDS:  # a file written again within the clock's tick keeps its stat
            if len(self._hashes) >= MAX_REMEMBERED:
                self._hashes.clear()
            self._hashes[key] = digest
        return digest

