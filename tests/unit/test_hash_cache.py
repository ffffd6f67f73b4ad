"""The file-hash cache: trusted only for files unchanged since, never for files written too recently."""

from __future__ import annotations

import os
import time
from pathlib import Path

from acolyte_lsp.workspace.hash_cache import RACY_SECONDS, HashCache


def _old_file(path: Path, text: str) -> os.stat_result:
    path.write_text(text)
    past = time.time() - 60
    os.utime(path, (past, past))
    return path.stat()


def test_a_remembered_hash_is_found_while_the_file_is_unchanged(tmp_path: Path) -> None:
    stat = _old_file(tmp_path / "a.py", "x = 1\n")
    cache = HashCache.load(tmp_path / "cache", "ws")
    cache.remember("a.py", stat, "h1")
    cache.save()
    again = HashCache.load(tmp_path / "cache", "ws")
    assert again.lookup("a.py", (tmp_path / "a.py").stat()) == "h1"


def test_a_changed_size_or_time_misses(tmp_path: Path) -> None:
    stat = _old_file(tmp_path / "a.py", "x = 1\n")
    cache = HashCache(None)
    cache.remember("a.py", stat, "h1")
    (tmp_path / "a.py").write_text("x = 22\n")
    assert cache.lookup("a.py", (tmp_path / "a.py").stat()) is None
    _old_file(tmp_path / "a.py", "x = 1\n")  # same size, another time
    os.utime(tmp_path / "a.py", (time.time() - 30, time.time() - 30))
    assert cache.lookup("a.py", (tmp_path / "a.py").stat()) is None


def test_a_file_written_within_the_racy_window_is_not_trusted(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")  # modified just now
    cache = HashCache(None)
    cache.remember("a.py", (tmp_path / "a.py").stat(), "h1")
    assert cache.lookup("a.py", (tmp_path / "a.py").stat()) is None
    assert RACY_SECONDS >= 1


def test_a_broken_cache_file_is_an_empty_cache(tmp_path: Path) -> None:
    (tmp_path / "ws.json").write_text("{not json")
    cache = HashCache.load(tmp_path, "ws")
    stat = _old_file(tmp_path / "a.py", "x\n")
    assert cache.lookup("a.py", stat) is None
    cache.remember("a.py", stat, "h")
    cache.save()
    assert HashCache.load(tmp_path, "ws").lookup("a.py", stat) == "h"


def test_files_gone_from_the_workspace_are_forgotten(tmp_path: Path) -> None:
    stat = _old_file(tmp_path / "a.py", "x\n")
    cache = HashCache.load(tmp_path / "c", "ws")
    cache.remember("a.py", stat, "h")
    cache.remember("b.py", stat, "h")
    cache.keep_only({"a.py"})
    cache.save()
    again = HashCache.load(tmp_path / "c", "ws")
    assert again.lookup("b.py", stat) is None and again.lookup("a.py", stat) == "h"
