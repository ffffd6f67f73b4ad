"""Saving after a one-function edit in a 2,000-line file: chunks embedded vs reused, and save-to-indexed time.

The file is this interpreter's subprocess.py (2,209 lines, real code nobody here
wrote). Each round adds one line to the body of a different function and saves,
as an editor does (the server's save path: read, chunk, embed, insert, drop stale
chunks). Side by side in one run: vectors reused from Weaviate (the default) and
every chunk embedded, with the default model (all-MiniLM-L6-v2 on ONNX Runtime,
int8) and with the hashing embedder.

  python benchmarks/bench_reuse.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.settings import EmbeddingSettings, SearchSettings, Settings, WeaviateSettings  # noqa: E402
from acolyte_lsp.embedding import Embedder, HashEmbedder, make_embedder  # noqa: E402
from acolyte_lsp.indexer.events import IndexSummary, WorkspaceRoot  # noqa: E402
from acolyte_lsp.indexer.service import IndexingService  # noqa: E402
from acolyte_lsp.metrics import Metrics  # noqa: E402
from acolyte_lsp.store.chunk_store import ChunkStore  # noqa: E402
from benchmarks.bench_insert import _start_server  # noqa: E402

class NoReuse:
    """The store, minus its stored vectors: every chunk is embedded (the way before reuse)."""

    def __init__(self, store: ChunkStore) -> None:
        self._store = store

    def stored_vectors(self, workspace: str, keys: Sequence[str]) -> dict[str, Sequence[float]]:
        return {}

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._store, name)


def _function_body_lines(source: str) -> list[tuple[int, int]]:
    """For each function with a body of 3+ statements: (line after which a statement can be added, its indent)."""
    spots = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(node.body) >= 3:
            first = node.body[0]
            spots.append((first.end_lineno or first.lineno, first.col_offset))  # after the whole first statement
    return sorted(set(spots))


async def _rounds(url: str, embedder: Embedder, reuse: bool, rounds: int, class_name: str) -> list[tuple[float, IndexSummary]]:
    settings = Settings(
        search=SearchSettings(weaviate_batch_size=100),
        weaviate=WeaviateSettings(url=url, class_name=class_name, read_timeout_s=120),
    )
    store = await ChunkStore.open(settings, Metrics())
    tree = Path(tempfile.mkdtemp(prefix="acolyte-reuse-"))
    try:
        source = (Path(sysconfig.get_paths()["stdlib"]) / "subprocess.py").read_text()
        (tree / "subprocess.py").write_text(source)
        root = WorkspaceRoot.at(tree)
        sink = store if reuse else NoReuse(store)
        service = IndexingService(settings, sink, embedder, lambda e: None, Metrics())  # type: ignore[arg-type]
        await service.index_workspace(root)
        spots = _function_body_lines(source)
        step = max(1, len(spots) // rounds)
        results = []
        lines = source.splitlines(keepends=True)
        for n, (spot, indent) in enumerate(spots[::step][:rounds]):
            edited = lines[:spot] + [" " * indent + f"_edit_{n} = {n}  # an edit\n"] + lines[spot:]
            (tree / "subprocess.py").write_text("".join(edited))
            started = time.perf_counter()
            summary = await service.apply_changes(root, ["subprocess.py"], [])  # what a save runs
            results.append((time.perf_counter() - started, summary))
        return results
    finally:
        store.close()
        shutil.rmtree(tree, ignore_errors=True)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    proc, url = _start_server(0.0)
    try:
        print("| embedder | vectors | chunks in the file | embedded per save (median) | reused per save (median) | save → indexed median ms | p95 ms |")
        print("|---|---|---|---|---|---|---|")
        embedders = (("all-MiniLM-L6-v2, ONNX int8 (default)", make_embedder(EmbeddingSettings())), ("hash", HashEmbedder()))
        for number, (label, embedder) in enumerate(embedders):
            for reuse in (True, False):
                class_name = f"Reuse{number}{'On' if reuse else 'Off'}"
                found = asyncio.run(_rounds(url, embedder, reuse, args.rounds, class_name))
                times = [t * 1000 for t, _ in found]
                embedded = statistics.median(s.chunks_embedded for _, s in found)
                reused = statistics.median(s.chunks_reused for _, s in found)
                chunks = statistics.median(s.chunks for _, s in found)
                print(f"| {label} | {'reused from Weaviate' if reuse else 'all embedded'} | {chunks:.0f} | {embedded:.0f} | "
                      f"{reused:.0f} | {statistics.median(times):.0f} | {_p95(times):.0f} |", flush=True)
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
