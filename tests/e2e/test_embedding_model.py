"""The learned model through the LSP: it indexes and finds, it is fetched with progress, it warns once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from acolyte_lsp.models.acquire import packaged_model_folder
from acolyte_lsp.models.profiles import DEFAULT_MODEL
from tests.files import write
from tests.model_hub import ModelHub

from .conftest import ended_progress, eventually, eventually_status, initialize, options

TOPICS = {
    "mail.py": "import smtplib\n\ndef send_welcome_email(address):\n    smtp = smtplib.SMTP('localhost')\n"
    "    smtp.sendmail('team@example.com', [address], 'Subject: Welcome aboard')\n    smtp.quit()\n",
    "geometry.py": "import math\n\ndef circle_area(radius):\n    return math.pi * radius ** 2\n",
    "storage.py": "import sqlite3\n\ndef save_user(db_path, name):\n    with sqlite3.connect(db_path) as db:\n"
    "        db.execute('INSERT INTO users (name) VALUES (?)', (name,))\n",
}


async def _symbols(lsp: LanguageClient, query: str) -> list[str]:
    found = await lsp.workspace_symbol_async(types.WorkspaceSymbolParams(query=query))
    return [Path(s.location.uri).name for s in found or []]


async def test_the_packaged_model_indexes_and_finds_code_by_meaning(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    write(tmp_path, TOPICS)
    await initialize(lsp, tmp_path, options(weaviate_url, class_name))
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    status = await eventually_status(lsp, lambda s: s["state"] == "idle")
    assert status["embedder"].startswith("onnx:sentence-transformers/all-MiniLM-L6-v2:int8:")
    assert status["embedder_warning"] is None
    # None of the query's words is in the answer: only the model's sense of meaning connects them.
    assert (await _symbols(lsp, "notify a new customer by mail"))[0] == "mail.py"
    assert (await _symbols(lsp, "persist a person in the database"))[0] == "storage.py"
    assert not lsp.messages, "nothing to warn about"


async def test_without_a_model_hashing_stands_in_and_the_user_is_told_once(
    lsp: LanguageClient, test_server, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    write(tmp_path, {"a.py": "def a():\n    return 1\n"})
    settings = options(test_server.url) | {"embeddings": {"model": "example/absent-model"}}
    await initialize(lsp, tmp_path, settings)
    await eventually(lambda: ended_progress(lsp), "the startup index to end")
    [warning] = lsp.messages
    assert warning.type == types.MessageType.Warning
    assert "hashing embedder" in warning.message and "'example/absent-model'" in warning.message
    status = await eventually_status(lsp, lambda s: s["state"] == "idle")
    assert status["embedder"].startswith("hash:") and "hashing embedder" in status["embedder_warning"]
    # A settings change starts a new session with the same fallback: not said again.
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"acolyte": settings | {"search": {"weaviate_batch_size": 7}}})
    )
    await eventually_status(lsp, lambda s: s["batch_size"] == 7 and s["state"] == "idle")
    assert [m for m in lsp.messages if m.type == types.MessageType.Warning] == [warning]


@pytest.fixture
def model_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A loopback hub serving the packaged model as example/minilm, for the server `lsp` starts next."""
    with ModelHub("example/minilm", packaged_model_folder(DEFAULT_MODEL)) as hub:  # type: ignore[arg-type]
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.delenv("HF_HUB_OFFLINE")
        yield


async def test_a_model_from_the_hub_downloads_once_with_progress(
    model_hub: None, lsp: LanguageClient, test_server, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    write(tmp_path / "repo", {"a.py": "def a():\n    return 1\n"})
    cache = tmp_path / "models"
    settings = options(test_server.url) | {"embeddings": {"model": "example/minilm", "cache_dir": str(cache)}}
    await initialize(lsp, tmp_path / "repo", settings)
    await eventually(lambda: len(ended_progress(lsp)) == 2, "the model's progress and the index to end")
    model_progress = next(r for r in ended_progress(lsp) if r[0].title == "Embedding model")
    messages = [r.message for r in model_progress if isinstance(r, types.WorkDoneProgressReport)]
    assert any("Downloading example/minilm: model.safetensors" in m for m in messages)
    assert any(r.percentage == 100 for r in model_progress if isinstance(r, types.WorkDoneProgressReport))
    assert (cache / "hub" / "example--minilm" / "model.safetensors").is_file()
    status = await eventually_status(lsp, lambda s: s["state"] == "idle")
    assert status["embedder"].startswith("onnx:example/minilm:") and status["embedder_warning"] is None


async def test_status_keeps_answering_while_the_model_embeds(
    lsp: LanguageClient, test_server, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    body = "".join(f"def step_{i}(values):\n    return [v * {i} for v in values if v > {i}]\n\n\n" for i in range(8))
    # 100 files: groups of 4, 32, 32 and 32 files, each embedded in its own call.
    write(tmp_path, {f"module_{n:03d}.py": body.replace("step_", f"m{n}_step_") for n in range(100)})
    await initialize(lsp, tmp_path, options(test_server.url) | {"indexing": {"chunk_lines": 8, "min_chunk_lines": 1}})
    await eventually(lambda: lsp.progress_reports, "the index to begin")
    embedded_while_answering: list[int] = []
    for _ in range(2000):  # bounded: ~100 s
        status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
        if status["state"] == "indexing":
            embedded_while_answering.append(status["metrics"].get("indexing.embed", {}).get("count", 0))
        elif status["roots"][0]["last_run"] is not None:
            break
        await asyncio.sleep(0.05)
    # Answers kept coming while the model went on embedding group after group.
    assert len(embedded_while_answering) >= 5
    assert embedded_while_answering[-1] > embedded_while_answering[0]
    assert status["roots"][0]["last_run"]["chunks_embedded"] >= 500
