"""How fast the server answers `acolyte.indexStatus` while a full index is running.

Starts `acolyte-lsp` over stdio (as an editor does) on a generated 3,000-file
workspace, with the Weaviate protocol test server in its own process adding
5 ms to every request, and times 50 status requests made during the startup
index. Prints median and p95 for BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402
from pytest_lsp.client import make_test_lsp_client  # noqa: E402

from benchmarks.bench_indexing import _generate  # noqa: E402
from benchmarks.bench_insert import _start_server  # noqa: E402

CALLS = 50


async def measure(url: str, root: Path) -> tuple[list[float], int]:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "acolyte_lsp")
    await client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=True)),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options={"weaviate": {"url": url}},
        )
    )
    while not client.progress_reports:
        await asyncio.sleep(0.01)
    samples: list[float] = []
    indexing = 0
    for _ in range(CALLS):
        start = time.perf_counter()
        status = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
        samples.append(time.perf_counter() - start)
        indexing += status["state"] == "indexing"
        await asyncio.sleep(0.02)
    await client.shutdown_session()
    return samples, indexing


def main() -> None:
    proc, url = _start_server(5)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "ws"
            _generate(root, 3_000)
            samples, indexing = asyncio.run(measure(url, root))
    finally:
        proc.kill()
        proc.wait()
    samples.sort()
    p95 = samples[int(round(0.95 * (len(samples) - 1)))]
    print("### `acolyte.indexStatus` during a full index\n")
    print(
        f"{CALLS} requests over stdio while the startup index of 3,000 files ran against a server adding 5 ms "
        f"per request ({indexing} of them answered `indexing`): median **{statistics.median(samples) * 1000:.1f} ms**, "
        f"p95 **{p95 * 1000:.1f} ms**, max {samples[-1] * 1000:.1f} ms.\n"
    )


if __name__ == "__main__":
    main()
