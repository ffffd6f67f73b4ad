"""The real Weaviate for the test command: built from its Go module, cached, served on loopback.

    python -m tests.real_weaviate versions            the Embedded default and the newest the Go proxy lists
    python -m tests.real_weaviate build VERSION       build (once) into .cache/weaviate/vVERSION/
    python -m tests.real_weaviate serve VERSION FILE  start it, write its URL to FILE, run until killed
    python -m tests.real_weaviate check-log LOG       print the log's error and fatal lines our requests caused

The build is acolyte-lsp's own (`store/weaviate_build.py`, the module hash pinned);
the environment is Weaviate Embedded's (`loopback_node_env`): anonymous access, no
modules, telemetry off, its own data folder, every port free.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from acolyte_lsp.settings import WeaviateSettings
from acolyte_lsp.store.embedded import loopback_node_env
from acolyte_lsp.store.weaviate_build import MODULE, BuildError, build_weaviate, go_command
from tests.embedded_release import answering, free_port

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "weaviate"
EMBEDDED_DEFAULT = WeaviateSettings().embedded_version
READY_TIMEOUT_S = 120.0
# Log lines at level error that tests cause on purpose (a query Weaviate must refuse, a filter made
# only of stopwords, a vector of the wrong length) or by cleaning up (a class deleted right after it
# was created cancels the shard loading Weaviate had started: seen for every create-then-delete).
EXPECTED_ERRORS = (
    "Syntax Error",
    "only stopwords provided",
    "vector lengths don't match",
    "new node has a vector with length",
    "no such prop",
    "Cannot query field",
    "failed to load all shards: context canceled",
    "TYPE_ADD_CLASS: class already exists",  # the tests of creators racing to make one class
    "transferring leadership",  # a single node stopping has no peer to hand over to
    # Weaviate 1.35 logs this for every class made while DEFAULT_QUANTIZATION is unset (its default).
    "invalid default quantization for hnsw index: \"",
    # 1.35 also logs refused requests: a test combining the cursor with a filter on purpose, and a
    # batch a language server still sent while its test was deleting the test's class.
    "cursor api: invalid 'after' parameter",
    "validate: failed to get class: AcolyteTest",
)


def binary(version: str) -> Path:
    return CACHE / f"v{version}" / "weaviate-server"


def newest_version() -> str:
    """The newest release `go list -m -versions` shows for Weaviate's module."""
    go = go_command()
    if go is None:
        raise BuildError("no Go toolchain")
    listed = subprocess.run(
        [go, "list", "-m", "-versions", MODULE], capture_output=True, text=True, timeout=300, cwd=tempfile.gettempdir()
    )
    versions = [v.lstrip("v") for v in listed.stdout.split()[1:] if "-" not in v]
    if listed.returncode != 0 or not versions:
        raise BuildError(f"the Go proxy lists no version of {MODULE}: {listed.stderr.strip()[:200]}")
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def build(version: str) -> Path:
    target = binary(version)
    if not target.is_file():
        build_weaviate(version, target, lambda message: print(message, file=sys.stderr, flush=True))
    return target


def serve(version: str, url_file: Path) -> None:
    """Run Weaviate `version` on free loopback ports until SIGTERM; its URL goes to `url_file` once it is ready."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"weaviate-{version}-", dir=CACHE))
    port = free_port()
    env = dict(os.environ) | loopback_node_env("node1", run_dir / "data")
    log = (run_dir / "weaviate.log").open("wb")
    process = subprocess.Popen(
        [str(binary(version)), "--host", "127.0.0.1", "--port", str(port), "--scheme", "http"],
        env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not answering(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"Weaviate {version} did not start; see {run_dir / 'weaviate.log'}")
        time.sleep(0.2)
    url_file.write_text(json.dumps({"url": url, "log": str(run_dir / "weaviate.log"), "pid": process.pid}))
    process.wait()


def problems(log: Path) -> list[str]:
    """Error and fatal lines of a Weaviate log that no test asked for."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the profiling listener's plain line ("listen tcp :6060 …") is not ours
        if entry.get("level") in ("error", "fatal", "panic"):
            text = json.dumps(entry)
            if not any(expected in text for expected in EXPECTED_ERRORS):
                found.append(text[:400])
    return found


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "versions":
        print(EMBEDDED_DEFAULT, newest_version())
    elif command == "build":
        print(build(args[0]))
    elif command == "serve":
        serve(args[0], Path(args[1]))
    elif command == "check-log":
        lines = problems(Path(args[0]))
        for line in lines:
            print(line)
        return 1 if lines else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
