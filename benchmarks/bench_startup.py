"""No-change restart cost, alone in the class and beside many other workspaces' chunks, side by side.

A no-change restart asks Weaviate what it holds for the workspace, walks the tree,
and compares each file's hash (from the file-hash cache when its size and time are
unchanged, else read) with Weaviate's; it sends nothing. Two ways to ask are compared in one run:

  walk          the class walked with the cursor API (cannot be filtered: reads every workspace)
  every chunk   one Aggregate grouped by file_path over this workspace's chunks
  first chunks  one Aggregate grouped by file_path over the files' first chunks, which carry the
                file's chunk count, checked against the workspace's count (the default; falls
                back to "every chunk" when the counts do not add up)

Weaviate is the protocol test server in its own process; "others" are synthetic
chunks of other workspaces put straight into its store before it serves (loading
millions over HTTP would take an hour). Trees: this interpreter's standard library
without its tests, and this project's virtualenv site-packages (real code nobody here wrote).

  python benchmarks/bench_startup.py [--others-factor 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import multiprocessing
import statistics
import sys
import sysconfig
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings, SearchSettings, Settings, WeaviateSettings  # noqa: E402
from acolyte_lsp.embedding import HashEmbedder  # noqa: E402
from acolyte_lsp.indexer.events import WorkspaceRoot  # noqa: E402
from acolyte_lsp.indexer.service import IndexingService  # noqa: E402
from acolyte_lsp.metrics import Metrics  # noqa: E402
from acolyte_lsp.store import queries  # noqa: E402
from acolyte_lsp.store.chunk_store import ChunkStore  # noqa: E402
from acolyte_lsp.store.schema import class_definition  # noqa: E402
from benchmarks.bench_insert import _free_port, _version_at  # noqa: E402

DIMS = 8  # vectors play no part in a no-change restart; small ones let millions fit in memory
CLASS = "CodeChunk"
LOOP = asyncio.new_event_loop()
TREES = {
    "standard library (no tests)": (
        Path(sysconfig.get_paths()["stdlib"]),
        ("site-packages/", "test/", "tests/", "idle_test/", "lib2to3/tests/"),
    ),
    "site-packages of this project's venv": (ROOT / ".venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages", ()),
}


def _serve(port: int, others: int, ready: "multiprocessing.synchronize.Event") -> None:
    import numpy as np

    from tests.weaviate_server import WeaviateTestServer

    server = WeaviateTestServer(port=port)
    server.state.create_class(class_definition(CLASS))
    vector = np.ones(DIMS, dtype=np.float32)
    for i in range(others):
        workspace = f"colleague{i % 3}-{i % 3:012x}"
        server.state.put(
            CLASS,
            str(uuid.UUID(int=i + 1)),
            {
                "content": f"def f{i}(): pass", "file_path": f"pkg{i // 2000}/m{i // 20}.py", "workspace": workspace,
                "language": "python", "chunk_type": "FUNCTION", "chunk_name": f"f{i}", "start_line": 1,
                "end_line": 2, "file_hash": f"{i // 20:064x}", "indexed_at": "2026-11-28T00:00:00Z",
                "chunk_index": i % 20, "file_chunks": 20,
            },
            vector,
        )
    # Python's collector would otherwise rescan millions of stored objects now and then,
    # a pause no Weaviate has: what is loaded stays out of its sight.
    gc.freeze()
    server.start()
    ready.set()
    server.stopping.wait()  # until killed


def _start(others: int) -> tuple[multiprocessing.Process, str]:
    port = _free_port()
    ready = multiprocessing.get_context("fork").Event()
    proc = multiprocessing.get_context("fork").Process(target=_serve, args=(port, others, ready), daemon=True)
    proc.start()
    if not ready.wait(1800):
        raise RuntimeError("server did not start")
    url = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(url + "/v1/.well-known/ready", timeout=5)
    return proc, url


def _settings(url: str, exclude: tuple[str, ...]) -> Settings:
    return Settings(
        search=SearchSettings(weaviate_batch_size=200),
        weaviate=WeaviateSettings(url=url, class_name=CLASS, read_timeout_s=600),
        indexing=IndexingSettings(exclude=exclude),
        embeddings=EmbeddingSettings(dimensions=DIMS),
    )


def _every_chunk(client, class_name, workspace):  # type: ignore[no-untyped-def]
    return queries._files_from_chunks(client, class_name, workspace, queries.count_chunks(client, class_name, workspace))  # noqa: SLF001


LISTINGS = {
    "walk": queries._walked_files,  # noqa: SLF001 - the earlier ways of asking, for comparison
    "every chunk": _every_chunk,
    "first chunks": queries.indexed_files,
}


def _restart_seconds(service: IndexingService, root: WorkspaceRoot, listing: str) -> tuple[float, int]:
    default = queries.indexed_files
    queries.indexed_files = LISTINGS[listing]
    try:
        start = time.perf_counter()
        summary = LOOP.run_until_complete(service.index_workspace(root))
        return time.perf_counter() - start, summary.files_unchanged
    finally:
        queries.indexed_files = default


def _measure(url: str, root: WorkspaceRoot, exclude: tuple[str, ...], cache_dir: Path, repeat: int, walk: bool,
             class_name: str = CLASS) -> tuple[int, int, float | None, float, float]:
    """(files, chunks, walk s, every-chunk s, first-chunks s) of no-change restarts after a first index."""
    settings = _settings(url, exclude)
    settings = dataclasses.replace(settings, weaviate=dataclasses.replace(settings.weaviate, class_name=class_name))
    store = LOOP.run_until_complete(ChunkStore.open(settings, Metrics()))
    # As the server and the CLI run it: with the file-hash cache (the first run fills it).
    service = IndexingService(settings, store, HashEmbedder(DIMS), lambda e: None, hash_cache_dir=cache_dir)
    first = LOOP.run_until_complete(service.index_workspace(root))
    walked = statistics.median(_restart_seconds(service, root, "walk")[0] for _ in range(repeat)) if walk else None
    # Interleaved, so both meet the same machine.
    chunk_runs, head_runs = [], []
    for _ in range(repeat):
        chunk_runs.append(_restart_seconds(service, root, "every chunk")[0])
        head_runs.append(_restart_seconds(service, root, "first chunks")[0])
    store.close()
    return first.files_indexed, first.chunks, walked, statistics.median(chunk_runs), statistics.median(head_runs)


def _row(name: str, where: str, files: int, chunks: int, others: str, walk: float | None, every: float, heads: float) -> str:
    walk_text = f"{walk:.2f}" if walk is not None else "not run (minutes)"
    return (f"| {name} | {where} | {files:,} | {chunks:,} | {others} | {walk_text} | {every:.2f} | "
            f"{heads:.2f} | {heads * 10_000 / max(files, 1):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--others-factor", type=int, default=100, help="others' chunks as a multiple of the tree's")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--walk-factor", type=int, default=10, help="the walk beside others is measured at this factor")
    parser.add_argument("--real", default="", help="','-separated URLs of real Weaviates: the trees alone in a fresh class there")
    args = parser.parse_args()
    print("| tree | Weaviate | files | chunks | others' chunks in the class | walk s | aggregate of every chunk s | "
          "aggregate of first chunks s (default) | default s / 10,000 files |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (path, exclude) in TREES.items():
        if not path.is_dir():
            continue
        root = WorkspaceRoot.at(path)
        chunks = 0
        for factor in (0, args.walk_factor, args.others_factor):
            others = chunks * factor
            proc, url = _start(others)
            try:
                cache_dir = Path(tempfile.mkdtemp(prefix="acolyte-bench-cache-"))
                files, chunks, walk, every, heads = _measure(url, root, exclude, cache_dir, args.repeat, factor <= args.walk_factor)
            finally:
                proc.kill()
                proc.join()
            print(_row(name, "stand-in", files, chunks, f"{others:,} ({factor}x)", walk, every, heads), flush=True)
        for url in filter(None, args.real.split(",")):
            cache_dir = Path(tempfile.mkdtemp(prefix="acolyte-bench-cache-"))
            class_name = f"{CLASS}{uuid.uuid4().hex[:8]}"
            files, chunks, walk, every, heads = _measure(url, root, exclude, cache_dir, args.repeat, True, class_name)
            print(_row(name, _version_at(url), files, chunks, "0 (0x)", walk, every, heads), flush=True)


if __name__ == "__main__":
    main()
