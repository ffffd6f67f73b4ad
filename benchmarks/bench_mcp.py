"""`acolyte-lsp mcp` as an agent meets it: search latency, edit on disk → searchable, and the server's memory.

Starts the MCP server over stdio with the MCP SDK's own client (as Claude Code
or Codex start it) on a mid-size workspace, a copy of some standard-library
packages (code nobody here wrote), with the default embedding model, against
each Weaviate given (`--real URL,…`; the stand-in in its own process when none
is). Measures, in one run per Weaviate:

  first index    until `index_status` says idle with every file (and the MCP server's peak RSS meanwhile)
  idle RSS       the MCP server's resident memory once idle
  search         `search_code` round trips (50 queries): median and p95
  edit → found   a new function written to a file on disk until `search_code` returns it first (20 edits)

Usage: python benchmarks/bench_mcp.py [--real http://127.0.0.1:8080] [--packages asyncio,email,json]
Prints Markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_insert import _start_server, _version_at  # noqa: E402
from tests.e2e.mcp_client import call, mcp_server  # noqa: E402

QUERIES = [
    "parse an email header", "encode a JSON string", "run a coroutine until complete", "read a chunk from a socket",
    "quote a URL path", "cancel a pending task", "format a date for HTTP", "decode base64 in a message",
    "iterate over lines of a file", "raise on an invalid value",
]
SEARCHES = 50
EDITS = 20


def _workspace(target: Path, packages: list[str], class_name: str) -> int:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for package in packages:
        shutil.copytree(stdlib / package, target / package, ignore=shutil.ignore_patterns("__pycache__", "test", "tests"))
    (target / ".acolyte").write_text(f"weaviate:\n  class_name: {class_name}\n")  # every other setting at its default
    return sum(1 for p in target.rglob("*.py"))


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _server_pid(folder: Path) -> int:
    """The `acolyte-lsp mcp FOLDER` process (the SDK's client does not say)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"mcp" in argv and str(folder).encode() in argv:
                return int(proc.name)
    raise RuntimeError("the MCP server process was not found")


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered) * 1000:,.0f} ms / {p95 * 1000:,.0f} ms"


async def _first_index(session: Any, pid: int, files: int) -> tuple[float, float]:
    start, peak = time.perf_counter(), 0.0
    while True:
        peak = max(peak, _rss_mib(pid))
        status = await call(session, "index_status")
        if status["state"] == "idle" and (status["files"] or 0) >= files:
            return time.perf_counter() - start, peak
        await asyncio.sleep(0.2)


async def _edit_to_found(session: Any, folder: Path) -> float:
    name = f"recalibrate_flux_{uuid.uuid4().hex[:8]}"
    target = folder / "agent_edits.py"
    start = time.perf_counter()
    target.write_text(f"def {name}(capacitor):\n    return capacitor.charge * 1.21\n")
    while True:
        reply = await call(session, "search_code", {"query": name.replace("_", " "), "limit": 1})
        if reply["results"] and name in reply["results"][0]["text"]:
            return time.perf_counter() - start
        await asyncio.sleep(0.05)


async def measure(url: str, packages: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ws"
        files = _workspace(folder, packages, f"BenchMcp{uuid.uuid4().hex[:8]}")
        async with mcp_server(folder, url) as session:
            pid = _server_pid(folder.resolve())
            first_s, peak = await _first_index(session, pid, files)
            await asyncio.sleep(2)
            idle = _rss_mib(pid)
            searches = []
            for i in range(SEARCHES):
                start = time.perf_counter()
                await call(session, "search_code", {"query": QUERIES[i % len(QUERIES)], "limit": 10})
                searches.append(time.perf_counter() - start)
            edits = [await _edit_to_found(session, folder) for _ in range(EDITS)]
            status = await call(session, "index_status")
        return {"files": files, "chunks": status["chunks"], "first_s": first_s, "peak": peak, "idle": idle,
                "search": _percentiles(searches), "edit": _percentiles(edits), "embedder": status["embedder"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real", default="", help="','-separated URLs of real Weaviates (else the stand-in)")
    parser.add_argument(
        "--packages",
        default="asyncio,email,json,http,logging,urllib,xml,importlib,concurrent,multiprocessing,unittest,idlelib,"
        "ctypes,sqlite3,wsgiref,tomllib,zoneinfo,html,curses,dbm,venv",
    )
    args = parser.parse_args()
    packages = args.packages.split(",")
    targets = [(_version_at(u), u) for u in args.real.split(",") if u]
    stand_in = None
    if not targets:
        stand_in, url = _start_server(0)
        targets = [("stand-in", url)]
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="bench-mcp-state-")  # leases of this run only
    try:
        print("| Weaviate | files | chunks | first index | MCP server RSS: peak indexing / idle | search_code median / p95 | edit on disk → found median / p95 |")
        print("|---|---|---|---|---|---|---|")
        for label, url in targets:
            r = asyncio.run(measure(url, packages))
            print(f"| {label} | {r['files']:,} | {r['chunks']:,} | {r['first_s']:.1f} s | {r['peak']:.0f} / {r['idle']:.0f} MiB "
                  f"| {r['search']} | {r['edit']} |", flush=True)
        print(f"\nembedder: {r['embedder']}")
    finally:
        if stand_in is not None:
            stand_in.kill()


if __name__ == "__main__":
    main()
