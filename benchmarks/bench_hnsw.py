"""Weaviate's HNSW build choices against search quality: ingestion time and the index's recall (issue 18, item 4).

The corpus is chunks of standard-library packages (code nobody here wrote), cut by acolyte-lsp's
chunker and embedded once with the default model (all-MiniLM-L6-v2, 384-d; vectors cached in the
temp folder). Queries are the embeddings of 200 chunks' first lines. For each Weaviate given and each
HNSW setting, a fresh class is filled through the v3 client's batch (the vectors as acolyte-lsp sends
them), then:

  insert s    until the batch calls return
  indexed s   until Weaviate's vector queue is empty (differs from insert only with ASYNC_INDEXING=true)
  recall@10   of `nearVector` (limit 10) against the exact cosine top 10 computed here
  query ms    the median `nearVector` round trip

Usage: python benchmarks/bench_hnsw.py URL[,URL…]   (start one with ASYNC_INDEXING=true to compare)
Prints Markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import statistics
import sys
import sysconfig
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import weaviate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.embedding import make_embedder  # noqa: E402
from acolyte_lsp.indexer.preparing import embedded_text  # noqa: E402
from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings  # noqa: E402
from acolyte_lsp.workspace.chunking import ChunkingOptions, chunk_file  # noqa: E402
from benchmarks.bench_insert import _version_at  # noqa: E402

PACKAGES = ["asyncio", "email", "json", "http", "logging", "urllib", "xml", "importlib", "concurrent", "unittest", "idlelib"]
QUERIES = 200
SETTINGS = [  # (label, vectorIndexConfig)
    ("efConstruction 128, maxConnections 64 (1.25's defaults)", {"efConstruction": 128, "maxConnections": 64}),
    ("efConstruction 128, maxConnections 32 (1.35's defaults)", {"efConstruction": 128, "maxConnections": 32}),
    ("efConstruction 64, maxConnections 16", {"efConstruction": 64, "maxConnections": 16}),
    ("efConstruction 256, maxConnections 64", {"efConstruction": 256, "maxConnections": 64}),
    ("efConstruction 128, maxConnections 32, BQ", {"efConstruction": 128, "maxConnections": 32, "bq": {"enabled": True}}),
]


def _corpus() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Chunk texts, their vectors and the query vectors (cached between runs)."""
    indexing = IndexingSettings()
    options = ChunkingOptions(indexing.chunk_lines, indexing.chunk_overlap, indexing.min_chunk_lines)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts: list[str] = []
    for package in PACKAGES:
        for path in sorted((stdlib / package).rglob("*.py")):
            if "test" in path.relative_to(stdlib).parts[1:-1]:
                continue
            rel = path.relative_to(stdlib).as_posix()
            texts.extend(embedded_text(rel, chunk) for chunk in chunk_file(rel, path.read_text(errors="replace"), options))
    cache = Path(tempfile.gettempdir()) / f"bench-hnsw-{len(texts)}.npz"
    if cache.is_file():
        saved = np.load(cache)
        return texts, saved["vectors"], saved["queries"]
    embedder = make_embedder(EmbeddingSettings())
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    rng = np.random.default_rng(7)
    picked = rng.choice(len(texts), QUERIES, replace=False)
    queries = np.asarray([embedder.embed_query(texts[i].splitlines()[0][:200]) for i in picked], dtype=np.float32)
    np.savez(cache, vectors=vectors, queries=queries)
    return texts, vectors, queries


def _queue_empty(url: str, class_name: str) -> bool:
    with urllib.request.urlopen(f"{url}/v1/nodes?output=verbose", timeout=10) as reply:
        import json

        nodes = json.loads(reply.read())["nodes"]
    shards = [s for n in nodes for s in n.get("shards") or [] if s.get("class") == class_name]
    return all(int(s.get("vectorQueueLength") or 0) == 0 for s in shards)


def _measure(url: str, config: dict[str, Any], texts: list[str], vectors: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    client = weaviate.Client(url)
    class_name = f"BenchHnsw{uuid.uuid4().hex[:8]}"
    client.schema.create_class({"class": class_name, "vectorizer": "none",
                                "vectorIndexConfig": {"distance": "cosine", **config},
                                "properties": [{"name": "content", "dataType": ["text"]}]})
    try:
        client.batch.configure(batch_size=200, dynamic=False, num_workers=1)
        start = time.perf_counter()
        with client.batch as batch:
            for i, (text, vector) in enumerate(zip(texts, vectors)):
                batch.add_data_object({"content": text}, class_name, uuid=str(uuid.UUID(int=i + 1)), vector=vector.tolist())
        inserted = time.perf_counter() - start
        while not _queue_empty(url, class_name):
            time.sleep(0.1)
        indexed = time.perf_counter() - start
        exact = np.argsort(-(queries @ vectors.T / np.linalg.norm(vectors, axis=1)), axis=1)[:, :10]
        hits, spent = 0, []
        for query, want in zip(queries, exact):
            asked = time.perf_counter()
            reply = client.query.get(class_name, ["content"]).with_near_vector({"vector": query.tolist()}).with_limit(10) \
                .with_additional(["id"]).do()
            spent.append(time.perf_counter() - asked)
            got = {uuid.UUID(item["_additional"]["id"]).int - 1 for item in reply["data"]["Get"][class_name]}
            hits += len(got & set(want.tolist()))
        return {"insert": inserted, "indexed": indexed, "recall": hits / (10 * len(queries)), "query_ms": statistics.median(spent) * 1000}
    finally:
        client.schema.delete_class(class_name)


def main() -> None:
    texts, vectors, queries = _corpus()
    print(f"{len(texts):,} chunks, {vectors.shape[1]}-d, {len(queries)} queries\n")
    print("| Weaviate | HNSW | insert s | indexed s | chunks/s | recall@10 | query ms |")
    print("|---|---|---|---|---|---|---|")
    for url in sys.argv[1].split(","):
        label = _version_at(url)
        for name, config in SETTINGS:
            try:
                r = _measure(url, config, texts, vectors, queries)
            except Exception as err:  # noqa: BLE001 - a setting this version refuses is a row saying so
                print(f"| {label} | {name} | refused: {str(err)[:120]} | | | | |", flush=True)
                continue
            print(f"| {label} | {name} | {r['insert']:.1f} | {r['indexed']:.1f} | {len(texts) / r['indexed']:,.0f} "
                  f"| {r['recall']:.3f} | {r['query_ms']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
