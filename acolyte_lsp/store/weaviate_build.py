"""Building the Weaviate server from its Go module, where a release cannot be downloaded but Go is here.

`go install github.com/weaviate/weaviate/cmd/weaviate-server@vX.Y.Z` fetches the
source through the Go module proxy, which Go checks against its checksum database;
for the versions we know, the module's hash is pinned here as well. The build takes
a few minutes once (about 2.5 on two cores with the modules cached) and its binary
then serves as Weaviate Embedded's, like a downloaded one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

MODULE = "github.com/weaviate/weaviate"
COMMAND = f"{MODULE}/cmd/weaviate-server"
# `go mod download -json` Sum of the versions acolyte-lsp knows (checked after Go's own check).
PINNED_MODULE_SUMS = {
    "1.25.4": "h1:NOpyo1FNcKQaiWpt/1XgzF5zjxMvEFVFbjm3g0m3/Vc=",
    "1.35.2": "h1:D/cB4Lz8BIhE8s6cMUa4dRhlz356r1LRqDLgr5pKhPA=",
}
BUILD_TIMEOUT_S = 3600.0
HEARTBEAT_S = 10.0

Step = Callable[[str], None]


class BuildError(Exception):
    """Weaviate could not be built from its Go module (the message says why and what to do)."""


def go_command() -> str | None:
    """The `go` program on PATH, or None."""
    return shutil.which("go")


def module_sum(go: str, version: str) -> str:
    """The hash of the Weaviate module at `version`, as the Go proxy and checksum database vouch for it."""
    done = subprocess.run(
        [go, "mod", "download", "-json", f"{MODULE}@v{version}"],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=tempfile.gettempdir(), check=False,
    )
    try:
        info = json.loads(done.stdout)
    except ValueError:
        info = {}
    if done.returncode != 0 or not info.get("Sum"):
        reason = info.get("Error") or done.stderr.strip().splitlines()[-1:] or ["no answer"]
        raise BuildError(f"the Go module proxy does not serve {MODULE}@v{version}: {str(reason)[:200]}")
    return str(info["Sum"])


def build_weaviate(version: str, destination: Path, step: Step) -> None:
    """Build Weaviate `version` and put the binary at `destination` (atomically); `step` hears how it goes."""
    go = go_command()
    if go is None:
        raise BuildError("no Go toolchain (`go`) is on PATH")
    step(f"Building Weaviate {version} from its Go module (once; about 3 minutes on 2 cores)")
    found = module_sum(go, version)
    pinned = PINNED_MODULE_SUMS.get(version)
    if pinned is not None and found != pinned:
        raise BuildError(f"{MODULE}@v{version} has hash {found}, not the pinned {pinned}; not built")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".acolyte-build-", dir=destination.parent) as staging:
        env = dict(os.environ, GOBIN=staging, CGO_ENABLED="0")
        _run_go_install(go, version, env, step)
        built = Path(staging) / "weaviate-server"
        if not built.is_file():
            raise BuildError(f"`go install` ended without a weaviate-server binary in {staging}")
        built.replace(destination)
    step(f"Built Weaviate {version}")


def _run_go_install(go: str, version: str, env: dict[str, str], step: Step) -> None:
    process = subprocess.Popen(
        [go, "install", f"{COMMAND}@v{version}"], env=env, cwd=tempfile.gettempdir(),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    started = time.monotonic()
    downloads = 0
    tail: list[str] = []
    finished = threading.Event()

    def heartbeat() -> None:  # `go install` says nothing while it compiles
        while not finished.wait(HEARTBEAT_S):
            step(f"Building Weaviate {version}: compiling, {time.monotonic() - started:.0f} s so far")

    threading.Thread(target=heartbeat, daemon=True).start()
    try:
        assert process.stderr is not None
        for line in process.stderr:
            tail = [*tail[-4:], line.strip()]
            if line.startswith("go: downloading"):
                downloads += 1
                if downloads % 20 == 1:
                    step(f"Building Weaviate {version}: {downloads} Go modules downloaded")
        code = process.wait(timeout=BUILD_TIMEOUT_S)
    finally:
        finished.set()
        if process.poll() is None:
            process.kill()
        if process.stderr is not None:
            process.stderr.close()
    if code != 0:
        raise BuildError(f"`go install {COMMAND}@v{version}` failed (exit {code}): {' | '.join(tail)[:300]}")
