"""How soon a first index makes the user's working set searchable (issue 18, item 3).

Indexes FOLDER into a fresh class on the Weaviate at URL with the default model, as a language server's
first run does, with `--open` files given as the open documents and `--recent` other files modified
just before (as files one was working on are). Reports when the last file of the working set was
stored, when the whole index was, and where the working set would have come in plain directory
order (the order before issue 18).

Then, in the same run: a no-change restart (file-hash cache on, as by default), and one file saved
(a new function appended) until a search finds it; with `--weaviate-pid`, Weaviate's resident memory
after the first index; our own peak RSS.

Usage: python benchmarks/bench_working_set.py URL FOLDER [--open 5] [--recent 20] [--embedder onnx|hash] [--weaviate-pid PID]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.embedding import make_embedder  # noqa: E402
from acolyte_lsp.indexer.events import FileIndexed, IndexEvent, WorkspaceRoot  # noqa: E402
from acolyte_lsp.indexer.service import IndexingService  # noqa: E402
from acolyte_lsp.metrics import Metrics  # noqa: E402
from acolyte_lsp.settings import EmbeddingSettings, Settings, WeaviateSettings  # noqa: E402
from acolyte_lsp.store.chunk_store import ChunkStore  # noqa: E402
from acolyte_lsp.workspace.discovery import discover_files  # noqa: E402


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _save_to_found(service: IndexingService, store: ChunkStore, embedder: Any, root: WorkspaceRoot, rel: str) -> float:
    """Append a new function to `rel` and index it as a save does; seconds until a search finds it."""
    name = f"recalibrate_flux_{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    with (root.path / rel).open("a") as source:
        source.write(f"\n\nfunc {name}(capacitor float64) float64 {{\n\treturn capacitor * 1.21\n}}\n")
    await service.apply_changes(root, [rel], [])
    vector = embedder.embed_query(name.replace("_", " "))
    while not any(name in hit.content for hit in await store.search(root.workspace_id, 5, vector, name, None, None, 0.5)):
        await asyncio.sleep(0.05)
    return time.perf_counter() - start


async def measure(url: str, folder: Path, opened: int, recent: int, provider: str, weaviate_pid: int | None) -> None:
    settings = Settings(weaviate=WeaviateSettings(url=url, class_name=f"BenchWorkingSet{uuid.uuid4().hex[:8]}"),
                        embeddings=EmbeddingSettings(provider=provider))
    in_order = [s.rel_path for s in discover_files(folder, settings.indexing.exclude, settings.indexing.include)]
    rng = random.Random(18)
    working = rng.sample(in_order, opened + recent)
    open_files, recent_files = set(working[:opened]), working[opened:]
    old = time.time() - 86_400
    for rel in in_order:  # a checkout made yesterday …
        os.utime(folder / rel, (old, old))
    for rel in recent_files:  # … and the files worked on since
        os.utime(folder / rel)
    store = await ChunkStore.open(settings, Metrics())
    stored_at: dict[str, float] = {}
    start = time.perf_counter()

    def heard(event: IndexEvent) -> None:
        if isinstance(event, FileIndexed):
            stored_at[event.rel_path] = time.perf_counter() - start

    embedder = make_embedder(settings.embeddings)
    root = WorkspaceRoot.at(folder)
    try:
        service = IndexingService(settings, store, embedder, heard, hash_cache_dir=Path(tempfile.mkdtemp()))
        start = time.perf_counter()
        summary = await service.index_workspace(root, first=open_files)
        first_index = dict(stored_at)  # the restart and the save below are heard too
        weaviate_rss = _rss_mib(weaviate_pid) if weaviate_pid else None
        restart = await service.index_workspace(root)
        saved = await _save_to_found(service, store, embedder, root, sorted(open_files)[0])
    finally:
        store.close()
    indexed = [rel for rel in working if rel in first_index]
    last_open = max(first_index[rel] for rel in open_files if rel in first_index)
    last_working = max(first_index[rel] for rel in indexed)
    positions = sorted(in_order.index(rel) for rel in indexed)
    print(f"files {summary.files_total:,}, chunks {summary.chunks:,}, embedder {embedder.identity}")
    print(f"open files ({len(open_files)}) searchable after {last_open:.1f} s")
    print(f"open + recently changed ({len(indexed)} with chunks) searchable after {last_working:.1f} s")
    print(f"whole index {summary.seconds:.1f} s ({summary.chunks / summary.seconds:,.0f} chunks/s)")
    print(f"in directory order the last of them was file {positions[-1] + 1:,} of {len(in_order):,} "
          f"(about {summary.seconds * (positions[-1] + 1) / len(in_order):.0f} s in)")
    print(f"Weaviate RSS after it: {weaviate_rss:,.0f} MiB" if weaviate_rss else "Weaviate RSS: not asked (--weaviate-pid)")
    print(f"our peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    print(f"no-change restart: {restart.seconds:.2f} s ({restart.files_indexed} indexed, {restart.files_unchanged} unchanged)")
    print(f"one file saved -> found by search: {saved:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--open", type=int, default=5)
    parser.add_argument("--recent", type=int, default=20)
    parser.add_argument("--embedder", default="onnx")
    parser.add_argument("--weaviate-pid", type=int)
    args = parser.parse_args()
    asyncio.run(measure(args.url, args.folder.resolve(), args.open, args.recent, args.embedder, args.weaviate_pid))


if __name__ == "__main__":
    main()
