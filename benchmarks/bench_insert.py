"""Insert throughput: one object per request vs. the locked batch inserter, side by side in one run.

Starts the Weaviate protocol test server in its own process (so it does not
share our GIL), optionally with a per-request latency standing in for a real
server's work and network, and inserts 768-d chunk objects through
`WeaviateBatchInserter` in three configurations:

  individual  batch_size 1 (one POST /v1/objects per object, the old path)
  batch       batch_size 100, fixed size, one worker
  batch-dyn   batch_size 100, dynamic sizing, two workers (our defaults)

Usage: python benchmarks/bench_insert.py [--sizes 10,100,1000] [--latencies 0,5] [--repeat 3]
Prints a Markdown table for BENCHMARKS.md (median of --repeat runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.config import WeaviateSettings  # noqa: E402
from acolyte_lsp.embedding import HashEmbedder  # noqa: E402
from acolyte_lsp.identity import chunk_uuid  # noqa: E402
from acolyte_lsp.store.batch_inserter import WeaviateBatchInserter  # noqa: E402
from acolyte_lsp.store.client import connect  # noqa: E402
from acolyte_lsp.store.schema import ensure_schema  # noqa: E402

CONFIGS = {
    "individual": dict(batch_size=1, num_workers=1, dynamic=False),
    "batch": dict(batch_size=100, num_workers=1, dynamic=False),
    "batch-dyn": dict(batch_size=100, num_workers=2, dynamic=True),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.weaviate_server", "--port", str(port), "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/v1/.well-known/ready", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("test server did not start")


def _objects(n: int, run: int):  # type: ignore[no-untyped-def]
    embedder = HashEmbedder(768)
    objects, vectors, uuids = [], [], []
    for i in range(n):
        content = f"def function_{run}_{i}(x):\n    return x * {i}\n"
        objects.append(
            {
                "content": content,
                "file_path": f"src/m{i % 50}.py",
                "workspace": "bench",
                "language": "python",
                "chunk_type": "WINDOW",
                "chunk_name": f"function_{i}",
                "start_line": i,
                "end_line": i + 1,
                "file_hash": "h",
                "indexed_at": "2026-11-28T00:00:00Z",
            }
        )
        vectors.append(embedder.embed_one(content))
        uuids.append(chunk_uuid("bench", f"src/m{i % 50}.py", i, i + 1, content + str(run)))
    return objects, vectors, uuids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--latencies", default="0,5")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-individual", type=int, default=1000, help="skip one-per-request above this size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    latencies = [float(s) for s in args.latencies.split(",")]
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; median of {args.repeat} runs\n")
    print("| latency/request | objects | individual obj/s | batch obj/s | batch-dyn obj/s | batch ÷ individual | batch-dyn ÷ individual |")
    print("|---|---|---|---|---|---|---|")
    for latency in latencies:
        proc, url = _start_server(latency)
        try:
            settings = WeaviateSettings(url=url, read_timeout_s=60)
            ensure_schema(connect(settings), "CodeChunk")
            # One client per configuration, as the server has: a v3 client's batch is configured once.
            clients = {name: connect(settings) for name in CONFIGS}
            for n in sizes:
                rates: dict[str, float | None] = {}
                for name, config in CONFIGS.items():
                    if name == "individual" and n > args.max_individual:
                        rates[name] = None
                        continue
                    samples = []
                    for run in range(args.repeat):
                        objects, vectors, uuids = _objects(n, run)
                        inserter = WeaviateBatchInserter(
                            clients[name], timeout_retries=0, connection_error_retries=0, **config
                        )
                        start = time.perf_counter()
                        result = asyncio.run(inserter.batch_insert(objects, vectors, "CodeChunk", uuids))
                        samples.append(time.perf_counter() - start)
                        inserter.close()
                        assert result.failed == 0, result.errors[:1]
                    rates[name] = n / statistics.median(samples)

                def fmt(v: float | None) -> str:
                    return "n/a" if v is None else f"{v:,.0f}"

                def ratio(a: float | None, b: float | None) -> str:
                    return "n/a" if a is None or b is None else f"{a / b:.1f}x"

                print(
                    f"| {latency:g} ms | {n:,} | {fmt(rates['individual'])} | {fmt(rates['batch'])} | {fmt(rates['batch-dyn'])} "
                    f"| {ratio(rates['batch'], rates['individual'])} | {ratio(rates['batch-dyn'], rates['individual'])} |",
                    flush=True,
                )
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
