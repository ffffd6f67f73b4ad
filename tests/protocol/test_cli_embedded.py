"""`acolyte-lsp index` with nothing at the default URL: Weaviate Embedded when it can be had, saying so and why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from acolyte_lsp.store.embedded_release import BUILD_ENV, RELEASES_ENV
from acolyte_lsp.store.weaviate_build import go_command
from tests.embedded_release import ReleaseServer, answering, free_port, nothing_at_the_default_url, release  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.skipif(bool(os.environ.get("WEAVIATE_URL")), reason="Weaviate Embedded is driven with a stand-in release, not a server"),
    pytest.mark.usefixtures("nothing_at_the_default_url"),
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "acolyte_lsp", *args, "--trust"], capture_output=True, text=True, timeout=120)


def _workspace(root: Path, version: str, port: int) -> None:
    (root / ".acolyte").write_text(f"weaviate:\n  embedded_version: '{version}'\n  embedded_port: {port}\n")
    (root / "a.py").write_text("def compute_invoice_total(invoice):\n    return 1\n")


def test_index_uses_embedded_when_nothing_answers_and_says_why(release: ReleaseServer, tmp_path: Path) -> None:
    port = free_port()
    _workspace(tmp_path, release.url, port)
    done = _run("index", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "No Weaviate answers at http://localhost:8080 (connection refused). Using Weaviate Embedded instead." in done.stderr
    assert f"Started Weaviate Embedded at http://127.0.0.1:{port}" in done.stderr
    assert "Downloading Weaviate Embedded" in done.stderr
    assert "files: 1 (1 indexed" in done.stdout
    assert not answering(port), "the CLI was the only user: Weaviate Embedded should stop with it"


def test_index_says_both_reasons_when_embedded_cannot_be_had(tmp_path: Path) -> None:
    closed = free_port()
    _workspace(tmp_path, f"http://127.0.0.1:{closed}/weaviate.tar.gz", free_port())
    done = _run("index", str(tmp_path))
    assert done.returncode == 2
    assert "No Weaviate answers at http://localhost:8080" in done.stderr
    assert f"Weaviate Embedded http://127.0.0.1:{closed}/weaviate.tar.gz cannot be used: cannot download" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_explicit_url_is_never_replaced_by_embedded(release: ReleaseServer, tmp_path: Path) -> None:
    _workspace(tmp_path, release.url, free_port())
    done = _run("index", str(tmp_path), "--url", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "Cannot reach Weaviate at http://127.0.0.1:9" in done.stderr
    assert "Embedded instead" not in done.stderr and release.downloads == 0


def test_embedded_fetch_status_and_stop(release: ReleaseServer, tmp_path: Path) -> None:
    port = free_port()
    _workspace(tmp_path, release.url, port)
    status = _run("embedded", "status", "--path", str(tmp_path))
    assert "not running" in status.stdout and "not downloaded yet" in status.stdout
    fetched = _run("embedded", "fetch", "--path", str(tmp_path))
    assert fetched.returncode == 0, fetched.stderr
    assert "100%" in fetched.stderr and release.downloads == 1
    assert "(cached)" in _run("embedded", "status", "--path", str(tmp_path)).stdout
    stopped = _run("embedded", "stop", "--path", str(tmp_path))
    assert f"no Weaviate Embedded runs on port {port}" in stopped.stdout


def _run_sh(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "WEAVIATE_URL"}
    return subprocess.run(
        ["bash", str(Path(__file__).resolve().parents[2] / "run.sh"), "index", str(folder), "--trust"],
        capture_output=True, text=True, timeout=180, env=env,
    )


def test_run_sh_uses_embedded_when_it_can_be_had(release: ReleaseServer, tmp_path: Path) -> None:
    _workspace(tmp_path, release.url, free_port())
    done = _run_sh(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Using Weaviate Embedded instead." in done.stderr
    assert "stand-in" not in done.stderr


def test_run_sh_falls_back_to_the_stand_in_only_when_embedded_cannot_be_had(tmp_path: Path) -> None:
    _workspace(tmp_path, f"http://127.0.0.1:{free_port()}/weaviate.tar.gz", free_port())
    done = _run_sh(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cannot download" in done.stderr
    assert "starting the in-memory Weaviate protocol stand-in" in done.stderr
    assert "files: 1 (1 indexed" in done.stdout
    assert not answering(8080), "the stand-in outlived the run"


# The user's own Go build cache (the tests' XDG_CACHE_HOME would send Go to an empty one: minutes of compiling).
GO_CACHE = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True).stdout.strip() if go_command() else ""


@pytest.mark.timeout(1800)
@pytest.mark.skipif(go_command() is None, reason="no Go toolchain: Weaviate cannot be built from its module here")
def test_embedded_fetch_builds_weaviate_from_its_go_module_when_no_release_can_be_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BUILD_ENV, "1")
    monkeypatch.setenv(RELEASES_ENV, f"http://127.0.0.1:{free_port()}")  # a mirror that does not answer
    monkeypatch.setenv("GOCACHE", GO_CACHE)
    done = subprocess.run(
        [sys.executable, "-m", "acolyte_lsp", "embedded", "fetch", "--path", str(tmp_path)],
        capture_output=True, text=True, timeout=1800,
    )
    assert done.returncode == 0, done.stderr
    assert "cannot be downloaded" in done.stderr and "Building Weaviate 1.25.4 from its Go module" in done.stderr
    binary = Path(done.stdout.strip().split(": ", 1)[1])
    version = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=60)
    assert "weaviate" in (version.stdout + version.stderr).lower()
