"""Embedding and indexing throughput, and peak memory, per runtime, on the same chunks, side by side.

Embedding: the chunks acolyte-lsp cuts from a few standard-library packages
(its own chunker), embedded in one call. Indexing: the same packages indexed
whole (discover, read, chunk, embed, insert) into the protocol test server,
chunks stored per second. Each variant runs in a fresh process (so peak RSS is
its own), one after another, and the rounds alternate the order; the tables
report the median of the rounds and each variant's speed relative to
sentence-transformers on PyTorch float32 measured in the same run. The model is
loaded (and converted to ONNX) before the clock starts.

  python benchmarks/bench_embedders.py [--chunks 400] [--rounds 3] [--embedders "SPEC;SPEC"]

Needs sentence-transformers (and PyTorch) in the same environment for the baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_insert import _start_server  # noqa: E402
from benchmarks.embedder_specs import parse_spec  # noqa: E402

DEFAULT_SPECS = (
    "sentence-transformers;onnx:quantize=none,max_tokens=256;onnx:max_tokens=256;"
    "onnx:quantize=none;onnx;hash:dimensions=384"
)
PACKAGES = ("json", "asyncio", "email", "http", "logging")
BASELINE = "sentence-transformers"


def corpus(limit: int) -> list[str]:
    """Chunk texts from standard-library packages, cut as the indexer cuts them."""
    from acolyte_lsp.settings import IndexingSettings
    from acolyte_lsp.indexer.planning import chunking_options
    from acolyte_lsp.workspace.chunking import chunk_file

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    options = chunking_options(IndexingSettings())
    texts: list[str] = []
    for package in PACKAGES:
        for path in sorted((stdlib / package).rglob("*.py")):
            rel = path.relative_to(stdlib).as_posix()
            texts.extend(c.content for c in chunk_file(rel, path.read_text(encoding="utf-8"), options))
            if len(texts) >= limit:
                return texts[:limit]
    return texts


def copy_packages(target: Path, limit: int) -> None:
    """The first files of PACKAGES, about `limit` chunks' worth, copied into `target`."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    size = 0
    for package in PACKAGES:
        for path in sorted((stdlib / package).rglob("*.py")):
            copy = target / path.relative_to(stdlib)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())
            size += path.stat().st_size
            if size > limit * 1400:  # ~1.4 kB of source per chunk in these packages
                return


def measure_one(spec: str, limit: int) -> dict[str, float]:
    """Run in a child process: load, warm up, embed the corpus once; chunks/s and peak RSS."""
    from acolyte_lsp.embedding import make_embedder

    texts = corpus(limit)
    embedder = make_embedder(parse_spec(spec))
    embedder.embed(texts[:8])
    started = time.perf_counter()
    embedder.embed(texts)
    seconds = time.perf_counter() - started
    return {"chunks_per_s": len(texts) / seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def index_one(spec: str, limit: int, url: str, class_name: str) -> dict[str, float]:
    """Run in a child process: index the copied packages with this embedder; chunks stored per second."""
    import asyncio
    import shutil
    import tempfile

    from acolyte_lsp.settings import SearchSettings, Settings, WeaviateSettings
    from acolyte_lsp.embedding import make_embedder
    from acolyte_lsp.indexer.events import WorkspaceRoot
    from acolyte_lsp.indexer.service import IndexingService
    from acolyte_lsp.metrics import Metrics
    from acolyte_lsp.store.chunk_store import ChunkStore

    settings = Settings(
        search=SearchSettings(weaviate_batch_size=100),
        weaviate=WeaviateSettings(url=url, class_name=class_name, read_timeout_s=600),
        embeddings=parse_spec(spec),
    )
    embedder = make_embedder(settings.embeddings)
    embedder.embed(["warm up"])
    tree = Path(tempfile.mkdtemp(prefix="acolyte-bench-embedders-"))

    async def run() -> float:
        store = await ChunkStore.open(settings, Metrics())
        try:
            summary = await IndexingService(settings, store, embedder, lambda e: None, Metrics()).index_workspace(WorkspaceRoot.at(tree))
        finally:
            store.close()
        return summary.chunks / summary.seconds

    try:
        copy_packages(tree, limit)
        rate = asyncio.run(run())
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    return {"chunks_per_s": rate, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--embedders", default=DEFAULT_SPECS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--index-into", nargs=2, help=argparse.SUPPRESS)  # URL, class name
    args = parser.parse_args()
    if args.child:
        if args.index_into:
            print(json.dumps(index_one(args.child, args.chunks, *args.index_into)))
        else:
            print(json.dumps(measure_one(args.child, args.chunks)))
        return
    specs = [s for s in args.embedders.split(";") if s]
    for spec in specs:  # converts each model to ONNX once, so no measured process pays for it; in a child,
        # as a child forked from a process holding a model inherits its peak RSS
        subprocess.run([sys.executable, __file__, "--child", spec, "--chunks", "8"], capture_output=True, check=True, cwd=ROOT)
    proc, url = _start_server(0.0)
    try:
        for title, extra in (("embedding alone", []), ("indexing (discover, read, chunk, embed, insert)", ["--index-into", url])):
            results = _rounds(specs, args, extra)
            _table(title, specs, results, args)
    finally:
        proc.kill()
        proc.wait()


def _rounds(specs: list[str], args: argparse.Namespace, extra: list[str]) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {s: [] for s in specs}
    for round_number in range(args.rounds):
        order = specs if round_number % 2 == 0 else specs[::-1]
        for spec in order:
            where = [*extra, f"Bench{specs.index(spec)}R{round_number}"] if extra else []
            out = subprocess.run(
                [sys.executable, __file__, "--child", spec, "--chunks", str(args.chunks), *where],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )
            results[spec].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  round {round_number + 1}{' (index)' if extra else ''}: {spec}: {results[spec][-1]['chunks_per_s']:.1f} chunks/s", file=sys.stderr)
    return results


def _table(title: str, specs: list[str], results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    median = {s: statistics.median(r["chunks_per_s"] for r in results[s]) for s in specs}
    base = median.get(BASELINE)
    print(f"\n{title}: about {args.chunks} chunks, {args.rounds} rounds, median chunks/s; peak RSS of the process\n")
    print("| embedder | chunks/s | vs sentence-transformers fp32 | peak RSS MB |")
    print("|---|---|---|---|")
    for spec in specs:
        ratio = f"{median[spec] / base:.2f}x" if base else "n/a"
        peak = statistics.median(r["peak_rss_mb"] for r in results[spec])
        print(f"| {spec} | {median[spec]:.1f} | {ratio} | {peak:.0f} |", flush=True)

if __name__ == "__main__":
    main()
