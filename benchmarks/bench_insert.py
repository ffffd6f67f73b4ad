"""Insert throughput, side by side in one run: one object per request, the seed's batches, ours, and the ceiling.

The Weaviate protocol test server runs in its own process (so it does not
share our GIL), with an optional per-request latency standing in for a real
server's work and network. Objects are full `CodeChunk`s with dense 768-d
vectors (what a real embedding model produces).

  (a) individual  one POST /v1/objects per object (`weaviate_batch_size: 1`)
  (b) seed        one client, fixed batch size 100, the lock, no retries
  (c) ours        `--ours-clients` clients in parallel, each with its lock, `--ours-batch-size`,
                  vectors converted to float32 (what Weaviate stores) inside the timed region,
                  bodies and replies through `wire_json` (orjson)
  ceiling         the same batches as standard JSON, encoded before the clock starts, posted by
                  a bare `requests` session one after another, replies decoded with orjson
  f32 ceiling     the same, with exactly the bytes (c) sends (float32 vectors via `wire_json`)

Usage: python benchmarks/bench_insert.py [--sizes 10,100,1000,10000] [--latencies 0,5,20] [--repeat 3]
       python benchmarks/bench_insert.py --wire-cost | --tuner-trace | --split | --plain-client
Prints Markdown for BENCHMARKS.md (median of --repeat runs per cell).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.settings import WeaviateSettings  # noqa: E402
from acolyte_lsp.identity import chunk_uuid  # noqa: E402
from acolyte_lsp.store import wire_json  # noqa: E402
from acolyte_lsp.store.batch_inserter import WeaviateBatchInserter  # noqa: E402
from acolyte_lsp.store.client import connect  # noqa: E402
from acolyte_lsp.store.schema import ensure_schema  # noqa: E402
from acolyte_lsp.vectors import to_float32  # noqa: E402

DIMS = 768
TRACE_OBJECTS = 6000  # per setting: enough for the tuner to settle
# One event loop for the whole run, as the language server has: a new loop per call
# would add its set-up to every timing.
LOOP = asyncio.new_event_loop()


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


def _objects(n: int, run: int) -> tuple[list[dict[str, Any]], list[list[float]], list[str]]:
    rng = random.Random(run * 1_000_003 + n)
    objects, vectors, uuids = [], [], []
    for i in range(n):
        content = f"def function_{run}_{i}(x):\n    return x * {i}\n"
        path = f"src/m{i % 50}.py"
        objects.append(
            {
                "content": content,
                "file_path": path,
                "workspace": "bench",
                "language": "python",
                "chunk_type": "FUNCTION",
                "chunk_name": f"function_{run}_{i}",
                "start_line": i + 1,
                "end_line": i + 2,
                "file_hash": f"h{run}",
                "indexed_at": "2026-11-28T00:00:00Z",
            }
        )
        vectors.append([rng.gauss(0.0, 0.036) for _ in range(DIMS)])
        uuids.append(chunk_uuid("bench", path, i + 1, i + 2, content))
    return objects, vectors, uuids


def _time_inserter(inserter: WeaviateBatchInserter, n: int, run: int, float32: bool) -> float:
    objects, vectors, uuids = _objects(n, run)
    start = time.perf_counter()
    if float32:
        vectors = to_float32(vectors)
    result = LOOP.run_until_complete(inserter.batch_insert(objects, vectors, "CodeChunk", uuids))
    elapsed = time.perf_counter() - start
    assert result.failed == 0, result.errors[:1]
    return elapsed


def _payloads(objects: list[dict[str, Any]], vectors: Any, uuids: list[str], batch_size: int) -> list[dict[str, Any]]:
    """The `POST /v1/batch/objects` bodies, as the v3 client builds them, before encoding."""
    return [
        {
            "fields": ["ALL"],
            "objects": [
                {"class": "CodeChunk", "properties": o, "id": u, "vector": v}
                for o, v, u in zip(objects[i : i + batch_size], vectors[i : i + batch_size], uuids[i : i + batch_size])
            ],
        }
        for i in range(0, len(objects), batch_size)
    ]


def _bodies(n: int, run: int, batch_size: int, float32: bool) -> list[bytes]:
    """The batch bodies for `n` objects: standard JSON at full precision, or exactly what (c) sends."""
    objects, vectors, uuids = _objects(n, run)
    if float32:
        return [wire_json.encode(p) for p in _payloads(objects, to_float32(vectors), uuids, batch_size)]
    return [json.dumps(p).encode() for p in _payloads(objects, vectors, uuids, batch_size)]


def _time_ceiling(url: str, n: int, run: int, batch_size: int, float32: bool) -> float:
    """Pre-encoded bodies posted back to back by a bare `requests` session; each reply is read and
    decoded (with orjson, the fastest decoder we have), as any client must to learn per-object errors."""
    bodies = _bodies(n, run, batch_size, float32)
    with requests.Session() as session:
        start = time.perf_counter()
        for body in bodies:
            reply = session.post(url + "/v1/batch/objects", data=body, headers={"content-type": "application/json"})
            reply.raise_for_status()
            wire_json.decode(reply.content)
        return time.perf_counter() - start


def tuner_trace() -> None:
    """The batch-size tuner, target 0.25 s per request, on a fast server and then a slow one."""
    print("| server latency per request | batch sizes chosen, in order (objects sent / seconds → next size) |")
    print("|---|---|")
    proc, url = _start_server(0)
    try:
        settings = WeaviateSettings(url=url, read_timeout_s=120)
        ensure_schema(connect(settings), "CodeChunk")
        inserter = WeaviateBatchInserter(connect(settings), batch_size=20, dynamic=True, timeout_retries=0)
        inserter.tuner.bound(10, 1000, 0.25)
        for run, latency_ms in enumerate((0, 200)):
            # The test server reads its latency per request; a fresh process per setting keeps it simple.
            if latency_ms:
                proc.kill()
                proc.wait()
                proc, url = _start_server(latency_ms)
                settings = WeaviateSettings(url=url, read_timeout_s=120)
                ensure_schema(connect(settings), "CodeChunk")
                inserter = WeaviateBatchInserter(connect(settings), batch_size=inserter.tuner.size, dynamic=True, timeout_retries=0)
                inserter.tuner.bound(10, 1000, 0.25)
            objects, vectors, uuids = _objects(TRACE_OBJECTS, run + 10)
            LOOP.run_until_complete(inserter.batch_insert(objects, to_float32(vectors), "CodeChunk", uuids))
            steps = ", ".join(f"{sent}/{seconds:.2f}s→{size}" for sent, seconds, _, size in inserter.tuner.trace)
            print(f"| {latency_ms} ms | {steps} |")
    finally:
        proc.kill()
        proc.wait()


def wire_cost() -> None:
    """Where the client's time goes for 1,000 dense objects in batches of 100, and what each step saves."""
    objects, vectors, uuids = _objects(1000, 7)

    def best(f: Any, repeat: int = 5) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
        return min(times)

    full = _payloads(objects, vectors, uuids, 100)
    f32 = _payloads(objects, to_float32(vectors), uuids, 100)
    full_bodies = [json.dumps(p).encode() for p in full]
    f32_bodies = [wire_json.encode(p) for p in f32]
    # Weaviate's reply echoes every object with its vector as float32, whatever precision was sent.
    echoes = [wire_json.encode([{**o, "result": {"status": "SUCCESS"}} for o in wire_json.decode(b)["objects"]])
              for b in f32_bodies]
    size = lambda bodies: sum(map(len, bodies)) / 1000 / 1024  # noqa: E731 - KB per object
    rows = [
        ("encode, standard library, full precision (the seed)",
         best(lambda: [json.dumps(p) for p in full]), f"{size(full_bodies):.1f} KB/object"),
        ("convert to float32 (`to_float32`, in the indexer's prepare stage)", best(lambda: to_float32(vectors)), ""),
        ("encode, `wire_json` (orjson), float32 shortest form",
         best(lambda: [wire_json.encode(p) for p in f32]), f"{size(f32_bodies):.1f} KB/object"),
        ("decode the replies, standard library", best(lambda: [json.loads(e) for e in echoes]), f"{size(echoes):.1f} KB/object"),
        ("decode the replies, orjson", best(lambda: [wire_json.decode(e) for e in echoes]), ""),
        ("decode the replies, `decode_batch_reply` (echoed vectors left undecoded)",
         best(lambda: [wire_json.decode_batch_reply(e) for e in echoes]), ""),
    ]
    proc, url = _start_server(0)
    try:
        settings = WeaviateSettings(url=url, read_timeout_s=120)
        ensure_schema(connect(settings), "CodeChunk")
        for label, fast, vecs in (
            ("whole insert, one client, the client's own JSON, full precision", False, vectors),
            ("whole insert, one client, `wire_json`, float32 (conversion included)", True, None),
        ):
            inserter = WeaviateBatchInserter(connect(settings, fast_json=fast), batch_size=100, max_retries=0, fast_wire=fast)

            def insert() -> None:
                vs = vecs if vecs is not None else to_float32(vectors)
                result = LOOP.run_until_complete(inserter.batch_insert(objects, vs, "CodeChunk", uuids))
                assert result.failed == 0, result.errors[:1]

            rows.append((label, best(insert), ""))
            inserter.close()
    finally:
        proc.kill()
        proc.wait()
    print("| step (1,000 objects, batches of 100) | time | size |")
    print("|---|---|---|")
    for label, seconds, note in rows:
        print(f"| {label} | {seconds * 1000:.0f} ms | {note} |")


def split_threshold() -> None:
    """Two clients: a short call sent as one request, or split into one part per client."""
    import acolyte_lsp.store.batch_inserter as batch_inserter

    proc, url = _start_server(0)
    try:
        settings = WeaviateSettings(url=url, read_timeout_s=120)
        ensure_schema(connect(settings), "CodeChunk")
        inserter = WeaviateBatchInserter([connect(settings) for _ in range(2)], batch_size=100, dynamic=False)
        print("| objects in the call | one request, obj/s | split over 2 clients, obj/s | split / one |")
        print("|---|---|---|---|")
        for n in (10, 20, 30, 50, 100):
            rates = {}
            for name, threshold in (("one", 10**9), ("split", 1)):
                batch_inserter.MIN_SPLIT_OBJECTS = threshold
                times = [_time_inserter(inserter, n, run, float32=True) for run in range(15)]
                rates[name] = n / statistics.median(times)
            print(f"| {n} | {rates['one']:,.0f} | {rates['split']:,.0f} | {rates['split'] / rates['one']:.2f} |")
        inserter.close()
    finally:
        proc.kill()
        proc.wait()


def plain_client() -> None:
    """A plain `weaviate.Client` handed to the inserter, against one made by `connect()`, side by side."""
    import weaviate

    print("| client handed to `WeaviateBatchInserter` (1,000 objects, batches of 100, 5 ms/request) | obj/s | vs connect() |")
    print("|---|---|---|")
    proc, url = _start_server(5)
    try:
        settings = WeaviateSettings(url=url, read_timeout_s=120)
        ensure_schema(connect(settings), "CodeChunk")
        quiet = dict(batch_size=100, dynamic=False, timeout_retries=0, connection_error_retries=0, max_retries=0)
        inserters = {
            "`connect(settings)`": WeaviateBatchInserter(connect(settings), **quiet),
            "plain `weaviate.Client(url)`": WeaviateBatchInserter(weaviate.Client(url), **quiet),
            "plain `weaviate.Client(url)`, `fast_wire=False` (before)": WeaviateBatchInserter(
                weaviate.Client(url), fast_wire=False, **quiet
            ),
        }
        rates: dict[str, list[float]] = {name: [] for name in inserters}
        for run in range(7):  # interleaved, so drift on a noisy machine hits every row alike
            for name, inserter in inserters.items():
                rates[name].append(1000 / _time_inserter(inserter, 1000, run, float32=True))
        base = statistics.median(rates["`connect(settings)`"])
        for name, values in rates.items():
            print(f"| {name} | {statistics.median(values):,.0f} | {statistics.median(values) / base:.2f} |")
        for inserter in inserters.values():
            inserter.close()
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--latencies", default="0,5,20")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ours-clients", type=int, default=2)
    parser.add_argument("--ours-batch-size", type=int, default=100)
    parser.add_argument("--individual-repeat-above", type=int, default=1000,
                        help="one-per-request runs once (not --repeat times) above this size: minutes per run")
    parser.add_argument("--tuner-trace", action="store_true", help="only show the batch-size tuner at work")
    parser.add_argument("--wire-cost", action="store_true", help="only show where the client's time goes")
    parser.add_argument("--split", action="store_true", help="only compare short calls split over 2 clients or not")
    parser.add_argument("--plain-client", action="store_true", help="only compare a plain weaviate.Client with connect()")
    parser.add_argument("--real", default="", help="','-separated URLs of real Weaviates, measured after the stand-in's rows")
    args = parser.parse_args()
    if args.plain_client:
        plain_client()
        return
    if args.tuner_trace:
        tuner_trace()
        return
    if args.wire_cost:
        wire_cost()
        return
    if args.split:
        split_threshold()
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    latencies = [float(s) for s in args.latencies.split(",")]
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; median of {args.repeat} runs; "
          f"(c) uses {args.ours_clients} clients, batch size {args.ours_batch_size}\n")
    print("| Weaviate | objects | (a) obj/s | (b) obj/s | (c) obj/s | ceiling obj/s | f32 ceiling obj/s "
          "| b/a | c/a | c/b | c/ceiling | c/f32 ceiling |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    servers = [(f"stand-in, {latency:g} ms", latency) for latency in latencies]
    servers += [(_version_at(url), url) for url in filter(None, args.real.split(","))]
    for label, where in servers:
        proc, url = _start_server(where) if isinstance(where, float) else (None, where)
        try:
            settings = WeaviateSettings(url=url, read_timeout_s=120)
            ensure_schema(connect(settings), "CodeChunk")
            quiet = dict(timeout_retries=0, connection_error_retries=0, max_retries=0)
            # The seed sent what the v3 client encodes itself.
            inserters = {
                "a": WeaviateBatchInserter(connect(settings, fast_json=False), batch_size=1, fast_wire=False, **quiet),
                "b": WeaviateBatchInserter(
                    connect(settings, fast_json=False), batch_size=100, num_workers=1, dynamic=False, fast_wire=False, **quiet
                ),
                "c": WeaviateBatchInserter(
                    [connect(settings) for _ in range(args.ours_clients)],
                    batch_size=args.ours_batch_size,
                    num_workers=1,
                    dynamic=False,
                ),
            }
            for n in sizes:
                rates: dict[str, float] = {}
                for name, inserter in inserters.items():
                    repeat = 1 if name == "a" and n > args.individual_repeat_above else args.repeat
                    times = [_time_inserter(inserter, n, run, float32=name == "c") for run in range(repeat)]
                    rates[name] = n / statistics.median(times)
                for name, float32 in (("ceiling", False), ("f32", True)):
                    rates[name] = n / statistics.median(
                        _time_ceiling(url, n, run, args.ours_batch_size, float32) for run in range(args.repeat)
                    )

                def ratio(x: str, y: str) -> str:
                    return f"{rates[x] / rates[y]:.2f}"

                print(
                    f"| {label} | {n:,} | {rates['a']:,.0f} | {rates['b']:,.0f} | {rates['c']:,.0f} | "
                    f"{rates['ceiling']:,.0f} | {rates['f32']:,.0f} | {ratio('b', 'a')} | {ratio('c', 'a')} | "
                    f"{ratio('c', 'b')} | {ratio('c', 'ceiling')} | {ratio('c', 'f32')} |",
                    flush=True,
                )
            for inserter in inserters.values():
                inserter.close()
        finally:
            if proc is not None:
                proc.kill()
                proc.wait()


def _version_at(url: str) -> str:
    with urllib.request.urlopen(f"{url}/v1/meta", timeout=10) as reply:
        return f"Weaviate {json.loads(reply.read())['version']}"


if __name__ == "__main__":
    main()
