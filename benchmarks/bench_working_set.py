"""How soon a first index makes the user's working set searchable (issue 18, item 3).

Indexes FOLDER into a fresh class on the Weaviate at URL with the default model, as a language server's
first run does, with `--open` files given as the open documents and `--recent` other files modified
just before (as files one was working on are). Reports when the last file of the working set was
stored, when the whole index was, and where the working set would have come in plain directory
order (the order before issue 18).

Usage: python benchmarks/bench_working_set.py URL FOLDER [--open 5] [--recent 20] [--embedder onnx|hash]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.embedding import make_embedder  # noqa: E402
from acolyte_lsp.indexer.events import FileIndexed, IndexEvent, WorkspaceRoot  # noqa: E402
from acolyte_lsp.indexer.service import IndexingService  # noqa: E402
from acolyte_lsp.metrics import Metrics  # noqa: E402
from acolyte_lsp.settings import EmbeddingSettings, Settings, WeaviateSettings  # noqa: E402
from acolyte_lsp.store.chunk_store import ChunkStore  # noqa: E402
from acolyte_lsp.workspace.discovery import discover_files  # noqa: E402


async def measure(url: str, folder: Path, opened: int, recent: int, provider: str) -> None:
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
    try:
        service = IndexingService(settings, store, embedder, heard, hash_cache_dir=None)
        start = time.perf_counter()
        summary = await service.index_workspace(WorkspaceRoot.at(folder), first=open_files)
    finally:
        store.close()
    indexed = [rel for rel in working if rel in stored_at]
    last_open = max(stored_at[rel] for rel in open_files if rel in stored_at)
    last_working = max(stored_at[rel] for rel in indexed)
    positions = sorted(in_order.index(rel) for rel in indexed)
    print(f"files {summary.files_total:,}, chunks {summary.chunks:,}, embedder {embedder.identity}")
    print(f"open files ({len(open_files)}) searchable after {last_open:.1f} s")
    print(f"open + recently changed ({len(indexed)} with chunks) searchable after {last_working:.1f} s")
    print(f"whole index {summary.seconds:.1f} s ({summary.chunks / summary.seconds:,.0f} chunks/s)")
    print(f"in directory order the last of them was file {positions[-1] + 1:,} of {len(in_order):,} "
          f"(about {summary.seconds * (positions[-1] + 1) / len(in_order):.0f} s in)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--open", type=int, default=5)
    parser.add_argument("--recent", type=int, default=20)
    parser.add_argument("--embedder", default="onnx")
    args = parser.parse_args()
    asyncio.run(measure(args.url, args.folder.resolve(), args.open, args.recent, args.embedder))


if __name__ == "__main__":
    main()
