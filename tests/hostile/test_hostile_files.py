"""Whatever a cloned repository holds, indexing finishes in bounded time and memory and converges."""

from __future__ import annotations

import asyncio
import os
import tracemalloc
from pathlib import Path

import pytest
import weaviate

from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings, SearchSettings, Settings, WeaviateSettings
from acolyte_lsp.embedding import HashEmbedder
from acolyte_lsp.indexer.events import FileNotIndexed, IndexEvent, WorkspaceRoot
from acolyte_lsp.indexer.service import IndexingService
from acolyte_lsp.metrics import Metrics
from acolyte_lsp.store import queries
from acolyte_lsp.store.chunk_store import ChunkStore
from tests.convergence import assert_converged

RUN_LIMIT_S = 120
RUN_MEMORY_MB = 400


def _plant(root: Path, outside: Path) -> None:
    files: dict[str, bytes] = {
        "binary.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
        "huge.txt": b"x" * (2 * 1024 * 1024),
        "empty.py": b"",
        "nul_inside.c": b"int main() { return 0; }\n\x00\x00garbage",
        "bad_utf8.py": b"def f():\n    return '\xff\xfe\xfa'\n\x81\x8d\x8f\x90\x9d",
        "crlf.py": b"def f():\r\n    return 1\r\n\r\ndef g():\r\n    return 2\r\n",
        "one_line.js": b"var a = [" + b"1," * 450_000 + b"1];\n",
        "deep.py": b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n",
        "deep.js": b"function f() " + b"{" * 20000 + b"}" * 20000 + b"\n",
        "deep.json": b"[" * 50000 + b"]" * 50000,
        "deep.md": b"".join(b"#" * (1 + i % 6) + b" h%d\n" % i for i in range(3000)),
        "name with spaces.py": b"def spaced():\n    return 1\n",
        "new\nline.py": b"def newline():\n    return 1\n",
        "\u00fcnic\u00f8de \u6f22\u5b57.py": "def unicode_name():\n    return '\u6f22'\n".encode(),
        "glob*[x]?.py": b"def globbed():\n    return 1\n",
        "utf16.txt": "hello from utf-16\n".encode("utf-16"),
        "latin1.txt": "caf\u00e9 cr\u00e8me\n".encode("cp1252"),
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    deep = root / Path(*[f"d{i}" for i in range(120)])
    deep.mkdir(parents=True)
    (deep / "bottom.py").write_text("def bottom():\n    return 1\n")
    (root / "loop").mkdir()
    os.symlink(root / "loop", root / "loop" / "again")
    os.symlink(root, root / "loop" / "to_root")
    (outside / "secret_notes.py").write_text("OUTSIDE = 1\n")
    os.symlink(outside / "secret_notes.py", root / "link_out.py")
    os.symlink(outside, root / "dir_out")
    os.symlink(root / "missing-target.py", root / "dangling.py")
    os.mkfifo(root / "pipe.py")


@pytest.fixture
async def store(weaviate_url: str, class_name: str):  # type: ignore[no-untyped-def]
    settings = Settings(
        search=SearchSettings(weaviate_batch_size=50),
        weaviate=WeaviateSettings(url=weaviate_url, class_name=class_name),
        indexing=IndexingSettings(),
        embeddings=EmbeddingSettings(provider="hash"),  # what the service below embeds with
    )
    store = await ChunkStore.open(settings, Metrics())
    yield settings, store
    store.close()


async def test_a_hostile_tree_indexes_within_bounds_and_converges(store, client: weaviate.Client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, chunk_store = store
    root_path, outside = tmp_path / "repo", tmp_path / "outside"
    root_path.mkdir()
    outside.mkdir()
    _plant(root_path, outside)
    events: list[IndexEvent] = []
    service = IndexingService(settings, chunk_store, HashEmbedder(), events.append)
    root = WorkspaceRoot.at(root_path)
    tracemalloc.start()
    try:
        summary = await asyncio.wait_for(service.index_workspace(root), RUN_LIMIT_S)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < RUN_MEMORY_MB * 2**20
    assert summary.error is None and summary.files_failed == 0
    skipped = {e.rel_path: e.reason for e in events if isinstance(e, FileNotIndexed)}
    assert "larger than" in skipped["huge.txt"]
    assert "binary" in skipped["binary.png"] and "binary" in skipped["nul_inside.c"]
    assert "not UTF-8" in skipped["bad_utf8.py"]
    stored = set(queries.indexed_files(client, chunk_store.class_name, root.workspace_id))
    assert {"crlf.py", "one_line.js", "deep.py", "deep.js", "deep.md", "name with spaces.py", "new\nline.py",
            "\u00fcnic\u00f8de \u6f22\u5b57.py", "glob*[x]?.py", "utf16.txt", "latin1.txt"} <= stored
    assert any(p.endswith("d119/bottom.py") for p in stored)
    assert not any("secret_notes" in p or p.startswith(("dir_out", "loop/to_root")) for p in stored)
    assert all(not p.startswith("/") for p in stored)  # workspace-relative, always
    assert_converged(client, chunk_store.class_name, root, settings)


def test_an_unreadable_file_is_skipped_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As root (CI), chmod 000 does not stop reads: the permission error is raised where the read happens.
    from acolyte_lsp.workspace.discovery import FileSkipped, SourceFile, read_source

    locked = tmp_path / "locked.py"
    locked.write_text("x = 1\n")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == locked:
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(FileSkipped) as skipped:
        read_source(SourceFile(locked, "locked.py"), 1024 * 1024)
    assert "Permission denied" in skipped.value.reason
