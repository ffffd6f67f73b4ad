"""A stand-in Weaviate release for Weaviate Embedded tests, served from loopback as GitHub serves releases.

Its `weaviate` "binary" is a script taking the binary's flags (`--host`,
`--port`, `--scheme`) that starts the protocol test server on that port, so
the whole lifecycle (download, start, share, exit, crash) runs for real.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import sys
import tarfile
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARCHIVE = "/releases/weaviate-standin-linux-amd64.tar.gz"


def fake_binary() -> bytes:
    return (
        "#!/bin/sh\n"
        "# Stands in for the Weaviate binary: its flags, the protocol test server behind them.\n"
        f"cd '{REPO}' && exec '{sys.executable}' -m tests.weaviate_server \"$@\"\n"
    ).encode()


def release_archive(entry: str = "weaviate", content: bytes | None = None) -> bytes:
    data = fake_binary() if content is None else content
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(entry)
        info.size = len(data)
        info.mode = 0o755
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class ReleaseServer:
    """Serves one archive at `url` and counts downloads."""

    def __init__(self, archive: bytes) -> None:
        self.archive = archive
        self.downloads = 0
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if not self.path.endswith((".tar.gz", ".zip")):  # ARCHIVE, or a release's path on a mirror
                    self.send_error(404)
                    return
                served.downloads += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(served.archive)))
                self.end_headers()
                self.wfile.write(served.archive)

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_port}{ARCHIVE}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_embedded_weaviates() -> None:
    """Kill every Weaviate Embedded this test's state folder knows of (tests must not leak processes)."""
    state = Path(os.environ["XDG_STATE_HOME"]) / "acolyte-lsp"
    for pid_file in state.glob("embedded-*/weaviate.pid"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def real_release_archive() -> bytes | None:
    """A release archive holding the real Weaviate of Embedded's default version, when it was built here
    (`./run-tests.sh` builds it from its Go module); packed once, kept beside the binary."""
    from tests.real_weaviate import EMBEDDED_DEFAULT, binary

    built = binary(EMBEDDED_DEFAULT)
    if not built.is_file():
        return None
    packed = built.with_name("release.tar.gz")
    if not packed.is_file() or packed.stat().st_mtime < built.stat().st_mtime:
        partial = packed.with_name(f".release.{os.getpid()}.tar.gz")
        with tarfile.open(partial, mode="w:gz", compresslevel=1) as archive:
            archive.add(built, arcname="weaviate")
        partial.replace(packed)
    return packed.read_bytes()


@pytest.fixture(params=["stand-in", "weaviate"], ids=["stand-in release", "real Weaviate release"])
def release(request: pytest.FixtureRequest) -> Iterator[ReleaseServer]:
    """A release served from loopback: the stand-in's (a script starting the protocol test server) and
    the real Weaviate's, built from its Go module (skipped where it was not built)."""
    if request.param == "stand-in":
        archive = release_archive()
    else:
        built = real_release_archive()
        if built is None:
            pytest.skip("the real Weaviate binary is built by ./run-tests.sh where Go is present (.cache/weaviate)")
        archive = built
    server = ReleaseServer(archive)
    yield server
    server.close()
    stop_embedded_weaviates()


def answering(port: int) -> bool:
    """A Weaviate (or the stand-in) says it is ready on this loopback port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/.well-known/ready", timeout=1) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


@pytest.fixture
def nothing_at_the_default_url() -> None:
    """These tests need the default URL silent: that is when Weaviate Embedded is offered."""
    if answering(8080):
        pytest.skip("something answers at the default URL, http://localhost:8080")
