"""`acolyte-lsp index` and `search` from a terminal, as users run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import weaviate

from acolyte_lsp.identity import workspace_id
from acolyte_lsp.models.acquire import packaged_model_folder
from acolyte_lsp.models.profiles import DEFAULT_MODEL
from acolyte_lsp.store import queries
from tests.model_hub import ModelHub


def _run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acolyte_lsp", *_trusting(args)], capture_output=True, text=True, timeout=120, cwd=cwd,
        env=None if env is None else os.environ | env,
    )


def _trusting(args: tuple[str, ...]) -> tuple[str, ...]:
    """The folders here are the user's own: their `.acolyte` (class name, model) is trusted."""
    return (*args, "--trust") if args and args[0] in ("index", "search", "workspaces", "forget") else args


def _workspace(root: Path, class_name: str) -> None:
    (root / ".acolyte").write_text(f"weaviate:\n  class_name: {class_name}\nsearch:\n  weaviate_batch_size: 50\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "billing.py").write_text("def compute_invoice_total(invoice):\n    return 1\n")
    (root / "notes.md").write_text("# Notes\n" + "text\n" * 100)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")


def test_index_prints_a_summary_and_stores_the_chunks(weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    done = _run("index", str(tmp_path), "--url", weaviate_url)
    assert done.returncode == 0, done.stderr
    assert "files: 3 (2 indexed, 0 unchanged, 0 failed, 1 skipped, 0 removed)" in done.stdout
    assert "chunks: 3 stored, 0 failed (3 embedded, 0 with vectors Weaviate already held)" in done.stdout
    assert "embedder: onnx:sentence-transformers/all-MiniLM-L6-v2:int8:" in done.stdout
    assert "seconds:" in done.stdout
    assert "100% 3/3 files" in done.stderr
    assert "warning" not in done.stderr
    assert set(queries.indexed_files(client, class_name, workspace_id(tmp_path))) == {"pkg/billing.py", "notes.md"}


def test_index_without_a_model_warns_once_on_stderr_and_indexes_with_hashing(
    weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    _workspace(tmp_path, class_name)
    with (tmp_path / ".acolyte").open("a") as settings:
        settings.write("embeddings:\n  model: example/absent-model\n")
    done = _run("index", str(tmp_path), "--url", weaviate_url)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("hashing embedder") == 1
    assert "warning: acolyte-lsp indexes with the hashing embedder" in done.stderr
    assert "embedder: hash:" in done.stdout


def test_index_downloads_a_hub_model_once_with_a_progress_line(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    _workspace(tmp_path / "repo", class_name)
    with (tmp_path / "repo" / ".acolyte").open("a") as settings:
        settings.write(f"embeddings:\n  model: example/minilm\n  cache_dir: {tmp_path / 'models'}\n")
    with ModelHub("example/minilm", packaged_model_folder(DEFAULT_MODEL)) as hub:  # type: ignore[arg-type]
        online = {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"}
        done = _run("index", str(tmp_path / "repo"), "--url", weaviate_url, env=online)
        asked = len(hub.requests)
        again = _run("index", str(tmp_path / "repo"), "--url", weaviate_url, "--force", env=online)
    assert done.returncode == 0, done.stderr
    assert "Downloading example/minilm: model.safetensors" in done.stderr and "Embedding model ready" in done.stderr
    assert "Preparing example/minilm for ONNX Runtime (once)" in done.stderr
    assert "ResourceWarning" not in done.stderr  # onnxruntime's optimiser leaves its temporary folder to the GC
    assert "embedder: onnx:example/minilm:int8:" in done.stdout
    assert again.returncode == 0 and "Downloading" not in again.stderr and len(hub.requests) == asked


def test_second_index_finds_nothing_to_send(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    _run("index", str(tmp_path), "--url", weaviate_url)
    done = _run("index", str(tmp_path), "--url", weaviate_url)
    assert "(0 indexed, 2 unchanged" in done.stdout
    assert "(0 embedded, 0 with vectors" in done.stdout


def test_search_prints_the_best_location_first(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    _run("index", str(tmp_path), "--url", weaviate_url)
    done = _run("search", "invoice total", "--path", str(tmp_path), "--url", weaviate_url, "--limit", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split()[1] == "pkg/billing.py:1-2"


def test_search_marks_a_result_whose_file_changed_since_it_was_indexed(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    _run("index", str(tmp_path), "--url", weaviate_url)
    fresh = _run("search", "invoice total", "--path", str(tmp_path), "--url", weaviate_url, "--limit", "1")
    assert "changed on disk" not in fresh.stdout
    (tmp_path / "pkg" / "billing.py").write_text("def compute_invoice_total(invoice):\n    return 2\n")
    stale = _run("search", "invoice total", "--path", str(tmp_path), "--url", weaviate_url, "--limit", "1")
    assert stale.stdout.splitlines()[0].endswith("compute_invoice_total  (changed on disk since indexed)")


def test_index_without_weaviate_exits_2_with_the_paragraph(tmp_path: Path) -> None:
    done = _run("index", str(tmp_path), "--url", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "Cannot reach Weaviate at http://127.0.0.1:9 (connection refused)" in done.stderr
    assert "Traceback" not in done.stderr


def test_index_of_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = _run("index", str(tmp_path / "nope"))
    assert done.returncode == 64
    assert "is not a folder" in done.stderr


def test_broken_settings_are_warned_about_and_defaults_used(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text(f"weaviate:\n  class_name: {class_name}\n  num_workers: many\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    done = _run("index", str(tmp_path), "--url", weaviate_url)
    assert done.returncode == 0
    assert ".acolyte:3: weaviate.num_workers: expected an integer, got string 'many' (using the default)" in done.stderr


def test_the_stdio_flag_editors_add_is_accepted() -> None:
    from acolyte_lsp.__main__ import build_parser

    args = build_parser().parse_args(["--stdio"])
    assert args.command is None and args.stdio is True


def test_workspaces_lists_each_workspace_with_files_chunks_and_time(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    first, second = tmp_path / "alpha", tmp_path / "beta"
    for root in (first, second):
        root.mkdir()
        _workspace(root, class_name)
        assert _run("index", str(root), "--url", weaviate_url).returncode == 0
    done = _run("workspaces", "--path", str(first), "--url", weaviate_url)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:]}
    assert rows[workspace_id(first)][1:4] == ["alpha", "2", "3"]
    assert rows[workspace_id(second)][1:4] == ["beta", "2", "3"]
    assert rows[workspace_id(first)][4].startswith("20")  # an RFC 3339 time


def test_forget_asks_for_yes_then_removes_only_that_workspace(
    weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    first, second = tmp_path / "alpha", tmp_path / "beta"
    for root in (first, second):
        root.mkdir()
        _workspace(root, class_name)
        _run("index", str(root), "--url", weaviate_url)
    asked = _run("forget", workspace_id(first), "--path", str(first), "--url", weaviate_url)
    assert asked.returncode == 64 and "would remove 3 chunks of 2 files" in asked.stdout
    assert queries.count_chunks(client, class_name, workspace_id(first)) == 3
    done = _run("forget", workspace_id(first), "--yes", "--path", str(first), "--url", weaviate_url)
    assert done.returncode == 0 and "removed 3 chunks" in done.stdout
    assert queries.count_chunks(client, class_name, workspace_id(first)) == 0
    assert queries.count_chunks(client, class_name, workspace_id(second)) == 3
    unknown = _run("forget", "nobody-000000000000", "--yes", "--path", str(first), "--url", weaviate_url)
    assert unknown.returncode == 64 and "holds no workspace" in unknown.stderr
