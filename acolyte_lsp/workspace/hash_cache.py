"""Content hashes of files kept between runs, keyed by what `stat` says, so unchanged files are not read.

Weaviate stays the truth: a cached hash only stands in for reading the file, and
is still compared with the hashes Weaviate holds. An entry is trusted only while
the file's size, modification time and inode are those recorded, and only when
the modification time was at least `RACY_SECONDS` older than the moment it was
recorded (a file written again within the clock's granularity could otherwise
keep its old size and time: git's "racy clean" problem).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings are only read, never built, here
    from ..settings import Settings

RACY_SECONDS = 2.0
FORMAT = 1


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/acolyte-lsp/file-hashes` (else `~/.cache/…`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "acolyte-lsp" / "file-hashes"


def hash_cache_dir_for(settings: "Settings") -> Path | None:
    """Where the hashes are kept, or None when `indexing.hash_cache` is off."""
    return default_cache_dir() if settings.indexing.hash_cache else None


def _key(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


class HashCache:
    """One workspace's cached hashes; `load` and `save` never fail (a broken cache is an empty one)."""

    def __init__(self, path: Path | None, entries: dict[str, list[object]] | None = None) -> None:
        self._path = path
        self._entries: dict[str, list[object]] = entries or {}
        self._changed = False

    @classmethod
    def load(cls, cache_dir: Path | None, workspace: str) -> "HashCache":
        if cache_dir is None:
            return cls(None)
        path = cache_dir / f"{workspace}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["files"] if data.get("format") == FORMAT and isinstance(data.get("files"), dict) else {}
        except (OSError, ValueError, TypeError, AttributeError, KeyError):
            entries = {}
        return cls(path, entries)

    def lookup(self, rel_path: str, stat: os.stat_result) -> str | None:
        """The content hash recorded for this file, if it is unchanged since."""
        entry = self._entries.get(rel_path)
        if not isinstance(entry, list) or len(entry) not in (2, 3) or entry[0] != _key(stat):
            return None
        return entry[1] if isinstance(entry[1], str) else None

    def remember_chunkless(self, rel_path: str, file_hash: str) -> None:
        """Record that the file just remembered yields no chunks when indexed as `file_hash` (`stored_file_hash`)."""
        entry = self._entries.get(rel_path)
        if isinstance(entry, list) and len(entry) == 2:
            entry.append(file_hash)
            self._changed = True

    def chunkless_as(self, rel_path: str) -> str | None:
        """The `stored_file_hash` under which this file yielded no chunks (check `lookup` first), if any."""
        entry = self._entries.get(rel_path)
        if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], str):
            return entry[2]
        return None

    def remember(self, rel_path: str, stat: os.stat_result, content_hash: str) -> None:
        """Record a hash read from the file whose `stat` was taken before reading it."""
        if stat.st_mtime_ns / 1e9 > time.time() - RACY_SECONDS:
            self._entries.pop(rel_path, None)  # too fresh to trust next time
        else:
            self._entries[rel_path] = [_key(stat), content_hash]
        self._changed = True

    def keep_only(self, rel_paths: set[str]) -> None:
        """Forget files no longer in the workspace."""
        gone = set(self._entries) - rel_paths
        for rel_path in gone:
            del self._entries[rel_path]
        self._changed = self._changed or bool(gone)

    def save(self) -> None:
        """Write the cache atomically (best effort: a cache that cannot be written is only slower)."""
        if self._path is None or not self._changed:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self._path.parent, delete=False) as out:
                json.dump({"format": FORMAT, "files": self._entries}, out)
            os.replace(out.name, self._path)
            self._changed = False
        except OSError:
            pass
