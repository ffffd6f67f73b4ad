"""Indexing benchmarks: a real codebase, no-change startups, save latency, memory on a huge tree.

Weaviate is the protocol test server in its own process on loopback.

  python benchmarks/bench_indexing.py stdlib        full index of this interpreter's standard library, by stage
  python benchmarks/bench_indexing.py nochange      no-change re-index: the stdlib tree and a generated 10,000-file tree
  python benchmarks/bench_indexing.py save          save-to-indexed latency of a 1,000-line file (median, p95)
  python benchmarks/bench_indexing.py memory        peak RSS of `acolyte-lsp index` on 5,000 and 50,000 generated files
  python benchmarks/bench_indexing.py all

Each prints Markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.settings import IndexingSettings, SearchSettings, Settings, WeaviateSettings  # noqa: E402
from acolyte_lsp.embedding import HashEmbedder  # noqa: E402
from acolyte_lsp.indexer.events import IndexSummary, WorkspaceRoot  # noqa: E402
from acolyte_lsp.indexer.preparing import TIMER_EMBED, TIMER_READ_CHUNK  # noqa: E402
from acolyte_lsp.indexer.sending import TIMER_DELETE  # noqa: E402
from acolyte_lsp.indexer.service import TIMER_DISCOVER, IndexingService  # noqa: E402
from acolyte_lsp.metrics import Metrics  # noqa: E402
from acolyte_lsp.store.batch_inserter import BATCH_TIMER  # noqa: E402
from acolyte_lsp.store.chunk_store import ChunkStore  # noqa: E402
from acolyte_lsp.workspace.discovery import discover_files  # noqa: E402
from benchmarks.bench_insert import _start_server  # noqa: E402


# The interpreter's lib folder also holds site-packages (whatever pip installed);
# the benchmark indexes the standard library itself.
STDLIB_EXCLUDE = ("site-packages/",)


def _settings(url: str) -> Settings:
    return Settings(
        search=SearchSettings(weaviate_batch_size=100),
        weaviate=WeaviateSettings(url=url, read_timeout_s=120),
        indexing=IndexingSettings(exclude=STDLIB_EXCLUDE),
    )


class TimedStore:
    """Wraps a ChunkStore to note when the first insert finished."""

    def __init__(self, store: ChunkStore) -> None:
        self._store = store
        self.first_insert_at: float | None = None

    async def insert(self, *args: Any) -> Any:
        result = await self._store.insert(*args)
        if self.first_insert_at is None:
            self.first_insert_at = time.perf_counter()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def _index(
    url: str, path: Path, force: bool = False, cache_dir: Path | None = None
) -> tuple[IndexSummary, Metrics, float | None]:
    settings = _settings(url)
    metrics = Metrics()
    store = TimedStore(await ChunkStore.open(settings, metrics))
    service = IndexingService(settings, store, HashEmbedder(), lambda e: None, metrics, cache_dir)  # type: ignore[arg-type]
    started = time.perf_counter()
    summary = await service.index_workspace(WorkspaceRoot.at(path), force=force)
    store.close()
    first = None if store.first_insert_at is None else store.first_insert_at - started
    return summary, metrics, first


def _stdlib() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait()


def bench_stdlib() -> None:
    started = time.perf_counter()
    walked = sum(1 for _ in discover_files(_stdlib(), STDLIB_EXCLUDE))
    walk_alone = time.perf_counter() - started
    proc, url = _start_server(0)
    try:
        summary, metrics, first = asyncio.run(_index(url, _stdlib()))
    finally:
        _stop(proc)
    assert walked == summary.files_total
    total = summary.seconds
    print(f"### Full index of the standard library ({_stdlib()})\n")
    print(f"{summary.files_total:,} files ({summary.files_indexed:,} indexed, {summary.files_skipped} skipped), "
          f"{summary.chunks:,} chunks in {total:.1f} s: **{summary.files_total / total:,.0f} files/s, "
          f"{summary.chunks / total:,.0f} chunks/s**; first chunks stored after {first:.2f} s.\n")
    print("| stage | busy seconds | share of wall time |")
    print("|---|---|---|")
    for label, name in (
        ("discover (walk + ignore rules)", TIMER_DISCOVER),
        ("read + chunk", TIMER_READ_CHUNK),
        ("embed (hash, 768-d)", TIMER_EMBED),
        ("insert (Weaviate batches)", BATCH_TIMER),
        ("delete stale", TIMER_DELETE),
    ):
        busy = metrics.timer_stats(name).total_s
        print(f"| {label} | {busy:.2f} | {busy / total:.0%} |")
    print(
        "\nStages overlap (discover, prepare and insert run as a pipeline), so shares add up to more than 100%. "
        "Discovery is held back by the bounded queues, so its busy time is mostly waiting: "
        f"walking the same tree alone takes {walk_alone:.2f} s.\n"
    )


def _generate(root: Path, files: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for i in range(files):
        folder = root / f"pkg{i // 500:03d}" / f"mod{i // 50 % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        n = rng.randint(1, 3)
        body = "".join(
            f"def handler_{i}_{k}(request, limit={k}):\n    '''Handle request {i}.{k}.'''\n"
            f"    return [item for item in request.items[:limit] if item.id != {rng.randint(0, 999)}]\n\n"
            for k in range(n)
        )
        (folder / f"m{i:05d}.py").write_text(body)


def bench_nochange() -> None:
    proc, url = _start_server(0)
    try:
        print("### No-change re-index\n")
        print("| tree | files | first index | no-change, every file read | no-change, file-hash cache (default) "
              "| objects sent on re-index | embed calls on re-index |")
        print("|---|---|---|---|---|---|---|")
        with tempfile.TemporaryDirectory() as tmp:
            generated = Path(tmp) / "gen10k"
            _generate(generated, 10_000)
            past = time.time() - 3600  # as a checkout made earlier: the cache trusts files older than 2 s
            for file in generated.rglob("*"):
                os.utime(file, (past, past))
            for label, path in (("standard library (no site-packages)", _stdlib()), ("generated", generated)):
                cache = Path(tmp) / f"cache-{path.name}"
                first, _, _ = asyncio.run(_index(url, path, cache_dir=cache))
                reading, _, _ = asyncio.run(_index(url, path))
                again, metrics, _ = asyncio.run(_index(url, path, cache_dir=cache))
                sent = int(metrics.get("weaviate.batch.successful"))
                embeds = metrics.timer_stats(TIMER_EMBED).count
                print(f"| {label} | {again.files_total:,} | {first.seconds:.1f} s | {reading.seconds:.2f} s | "
                      f"**{again.seconds:.2f} s** | {sent} | {embeds} |")
        print()
    finally:
        _stop(proc)


def bench_save(iterations: int = 40) -> None:
    proc, url = _start_server(0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            target = root / "big.py"

            def write(version: int) -> None:
                target.write_text("".join(f"def f{i}(x):\n    return x + {i} * {version}\n\n" for i in range(333)) + "# end\n")

            write(0)

            async def run() -> list[float]:
                settings = _settings(url)
                metrics = Metrics()
                store = await ChunkStore.open(settings, metrics)
                service = IndexingService(settings, store, HashEmbedder(), lambda e: None, metrics)
                workspace = WorkspaceRoot.at(root)
                await service.index_workspace(workspace)
                samples = []
                for version in range(1, iterations + 1):
                    write(version)
                    start = time.perf_counter()
                    await service.index_file(workspace, "big.py")
                    samples.append(time.perf_counter() - start)
                store.close()
                return samples

            samples = asyncio.run(run())
    finally:
        _stop(proc)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    print("### Save-to-indexed latency, 1,000-line Python file (333 functions)\n")
    print(f"{iterations} saves, each changing every function: median **{statistics.median(samples) * 1000:.0f} ms**, "
          f"p95 **{p95 * 1000:.0f} ms** (read, chunk, embed, insert the new chunks, delete the old ones).\n")


def _peak_rss_of_index(url: str, path: Path) -> tuple[float, float, int]:
    """Peak RSS (MiB), wall seconds and chunks stored of `acolyte-lsp index` in a fresh process."""
    script = (
        "import resource, sys, time, runpy;"
        "t=time.perf_counter();"
        "sys.argv=['acolyte-lsp','index',sys.argv[1],'--url',sys.argv[2]];"
        "import acolyte_lsp.__main__ as m;"
        "rc=m.main(sys.argv[1:]);"
        "print('RESULT', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()-t, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path), url], capture_output=True, text=True, cwd=ROOT)
    line = next(l for l in done.stderr.splitlines() if l.startswith("RESULT"))
    _, rss_kib, seconds = line.split()
    chunks = next(int(l.split()[1]) for l in done.stdout.splitlines() if l.startswith("chunks:"))
    return int(rss_kib) / 1024, float(seconds), chunks


def bench_memory() -> None:
    print("### Peak memory of `acolyte-lsp index` (process RSS)\n")
    print("| generated files | chunks | peak RSS | wall time |")
    print("|---|---|---|---|")
    for files in (5_000, 50_000):
        proc, url = _start_server(0)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp) / "tree"
                _generate(root, files)
                rss, seconds, chunks = _peak_rss_of_index(url, root)
                print(f"| {files:,} | {chunks:,} | {rss:.0f} MiB | {seconds:.0f} s |", flush=True)
                shutil.rmtree(root)
        finally:
            _stop(proc)
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=["stdlib", "nochange", "save", "memory", "all"])
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    for name, fn in (("stdlib", bench_stdlib), ("nochange", bench_nochange), ("save", bench_save), ("memory", bench_memory)):
        if args.which in (name, "all"):
            fn()


if __name__ == "__main__":
    main()
