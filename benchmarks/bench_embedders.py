"""Embedding throughput and peak memory per runtime, on the same chunks, side by side.

The chunks are what acolyte-lsp would index from a few standard-library
packages (its own chunker, 60-line windows). Each variant runs in a fresh
process (so peak RSS is its own), one after another, and the rounds alternate
the order; the table reports the median of the rounds and each variant's speed
relative to sentence-transformers on PyTorch float32 measured in the same run.
The model is loaded (and converted to ONNX) before the clock starts.

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

from benchmarks.embedder_specs import parse_spec  # noqa: E402

DEFAULT_SPECS = (
    "sentence-transformers;onnx:quantize=none,max_tokens=256;onnx:max_tokens=256;"
    "onnx:quantize=none;onnx;hash:dimensions=384"
)
PACKAGES = ("json", "asyncio", "email", "http", "logging")
BASELINE = "sentence-transformers"


def corpus(limit: int) -> list[str]:
    """Chunk texts from standard-library packages, cut as the indexer cuts them."""
    from acolyte_lsp.config import IndexingSettings
    from acolyte_lsp.indexer import chunking_options
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


def measure_one(spec: str, limit: int) -> dict[str, float]:
    """Run in a child process: load, warm up, embed the corpus once; chunks/s and peak RSS."""
    from acolyte_lsp.embedding import make_embedder

    texts = corpus(limit)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    embedder = make_embedder(parse_spec(spec))
    embedder.embed(texts[:8])
    started = time.perf_counter()
    embedder.embed(texts)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"chunks_per_s": len(texts) / seconds, "peak_rss_mb": peak / 1024, "model_rss_mb": (peak - before) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--embedders", default=DEFAULT_SPECS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_one(args.child, args.chunks)))
        return
    specs = [s for s in args.embedders.split(";") if s]
    from acolyte_lsp.embedding import make_embedder

    for spec in specs:  # converts each model to ONNX once, so no measured process pays for it
        make_embedder(parse_spec(spec))
    results: dict[str, list[dict[str, float]]] = {s: [] for s in specs}
    for round_number in range(args.rounds):
        order = specs if round_number % 2 == 0 else specs[::-1]
        for spec in order:
            out = subprocess.run(
                [sys.executable, __file__, "--child", spec, "--chunks", str(args.chunks)],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )
            results[spec].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  round {round_number + 1}: {spec}: {results[spec][-1]['chunks_per_s']:.1f} chunks/s", file=sys.stderr)
    median = {s: statistics.median(r["chunks_per_s"] for r in results[s]) for s in specs}
    base = median.get(BASELINE)
    print(f"{args.chunks} chunks, {args.rounds} rounds, median chunks/s; peak RSS of the process (model and runtime included)\n")
    print("| embedder | chunks/s | vs sentence-transformers fp32 | peak RSS MB |")
    print("|---|---|---|---|")
    for spec in specs:
        ratio = f"{median[spec] / base:.2f}x" if base else "n/a"
        peak = statistics.median(r["peak_rss_mb"] for r in results[spec])
        print(f"| {spec} | {median[spec]:.1f} | {ratio} | {peak:.0f} |")


if __name__ == "__main__":
    main()
