"""A cloned repository's `.acolyte` cannot run a program, pick where code or keys go, or take over another index.

Its settings that would (weaviate.url, api_key, class_name, every embedded*, workspace_id,
model paths) apply only once the user trusted that folder for exactly what it asks.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from acolyte_lsp.settings import Settings, WeaviateSettings, load_settings
from acolyte_lsp.controller import Controller
from acolyte_lsp.embedding import LoadedEmbedder
from acolyte_lsp.metrics import Metrics
from acolyte_lsp.store.errors import WeaviateUnavailableError
from acolyte_lsp.trust import DISTRUST, TRUST, TrustAnswers
from tests.e2e.conftest import answering_editor, eventually, eventually_status, initialize
from tests.embedded_release import ReleaseServer, free_port, nothing_at_the_default_url, release_archive  # noqa: F401 - fixture
from tests.trust import trust_folder
from tests.weaviate_server import WeaviateTestServer

KEY = "sk-test-SECRET123-trust"
HOSTILE = "weaviate:\n  url: {url}\n  class_name: RedTeam\nindexing:\n  workspace_id: victim\n  chunk_lines: 12\n"


def _hostile(root: Path, url: str) -> None:
    (root / ".acolyte").write_text(HOSTILE.format(url=url))
    (root / "a.py").write_text("def compute_invoice_total(invoice):\n    return 1\n")


def test_an_untrusted_acolyte_keeps_url_class_and_workspace_id_at_their_defaults(tmp_path: Path) -> None:
    _hostile(tmp_path, "http://127.0.0.1:18099")
    loaded = load_settings(tmp_path, env={})
    assert loaded.settings.weaviate.url is None
    assert loaded.settings.weaviate.class_name == "CodeChunk"
    assert loaded.settings.indexing.workspace_id is None
    assert loaded.withheld is not None
    assert loaded.withheld.keys == ("weaviate.url", "weaviate.class_name", "indexing.workspace_id")


def test_settings_that_need_no_trust_apply_from_an_untrusted_file(tmp_path: Path) -> None:
    _hostile(tmp_path, "http://127.0.0.1:18099")
    assert load_settings(tmp_path, env={}).settings.indexing.chunk_lines == 12


def test_a_trusted_acolyte_applies_whole(tmp_path: Path) -> None:
    _hostile(tmp_path, "http://127.0.0.1:18099")
    loaded = load_settings(tmp_path, env={}, trust=lambda asked: True)
    assert (loaded.settings.weaviate.url, loaded.settings.weaviate.class_name) == ("http://127.0.0.1:18099", "RedTeam")
    assert loaded.withheld is None


def test_trust_is_given_to_exactly_that_content_and_an_edited_file_asks_again(tmp_path: Path) -> None:
    _hostile(tmp_path, "http://127.0.0.1:18099")
    answers = TrustAnswers()
    asked = load_settings(tmp_path, env={}).withheld
    assert asked is not None and answers.answer(asked) is None
    answers.remember(asked, True)
    assert load_settings(tmp_path, env={}, trust=answers.trusted).settings.weaviate.url == "http://127.0.0.1:18099"
    _hostile(tmp_path, "http://127.0.0.1:18100")
    edited = load_settings(tmp_path, env={}, trust=answers.trusted)
    assert edited.settings.weaviate.url is None and edited.withheld is not None
    assert answers.answer(edited.withheld) is None


def test_the_users_key_going_to_the_files_url_is_part_of_what_is_trusted(tmp_path: Path) -> None:
    _hostile(tmp_path, "http://127.0.0.1:18099")
    answers = TrustAnswers()
    asked = load_settings(tmp_path, env={}).withheld
    assert asked is not None and not asked.sends_api_key
    answers.remember(asked, True)
    with_key = load_settings(tmp_path, env={"WEAVIATE_API_KEY": KEY}, trust=answers.trusted)
    assert with_key.withheld is not None and with_key.withheld.sends_api_key
    assert with_key.settings.weaviate.url is None  # trusted without the key: asked again with it


def test_a_url_the_user_sets_means_the_files_url_is_not_asked_about(tmp_path: Path) -> None:
    _hostile(tmp_path, "http://127.0.0.1:18099")
    loaded = load_settings(tmp_path, env={"WEAVIATE_URL": "http://mine:8080"})
    assert loaded.settings.weaviate.url == "http://mine:8080"
    assert loaded.withheld is not None and "weaviate.url" not in loaded.withheld.keys


def test_turning_embedded_off_needs_no_trust(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text("weaviate:\n  embedded: false\n")
    loaded = load_settings(tmp_path, env={})
    assert loaded.settings.weaviate.embedded == "false" and loaded.withheld is None


def test_a_withheld_api_key_is_never_in_a_repr(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text(f"weaviate:\n  api_key: {KEY}\n")
    loaded = load_settings(tmp_path, env={})
    assert loaded.settings.weaviate.api_key is None
    assert KEY not in repr(loaded)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acolyte_lsp", *args], capture_output=True, text=True, timeout=120,
        env={k: v for k, v in (os.environ | (env or {})).items() if k != "WEAVIATE_URL"}, stdin=subprocess.DEVNULL,
    )


def test_the_cli_never_downloads_or_runs_the_archive_an_untrusted_acolyte_names(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = release_archive(content=f"#!/bin/sh\necho \"ran with $*\" > '{marker}'\n".encode())
    server = ReleaseServer(evil)
    try:
        port = free_port()
        (tmp_path / ".acolyte").write_text(
            f"weaviate:\n  embedded: true\n  embedded_port: {port}\n  embedded_version: {server.url}\n"
        )
        (tmp_path / "a.py").write_text("x = 1\n")
        done = _cli("index", str(tmp_path), "--url", "http://127.0.0.1:9")
        assert server.downloads == 0 and not marker.exists()
        assert done.stderr.count("only a trusted folder may set") == 1
        assert "weaviate.embedded, weaviate.embedded_port, weaviate.embedded_version" in done.stderr
        assert "--trust" in done.stderr
    finally:
        server.close()


def test_the_cli_sends_neither_code_nor_key_to_the_url_an_untrusted_acolyte_names(tmp_path: Path) -> None:
    with WeaviateTestServer() as listener:
        (tmp_path / ".acolyte").write_text(f"weaviate:\n  url: {listener.url}\n  embedded: false\n")
        (tmp_path / "a.py").write_text("x = 1\n")
        done = _cli("index", str(tmp_path), env={"WEAVIATE_API_KEY": KEY})
        assert listener.requests == []
    assert done.returncode == 2  # nothing answers at the default URL, and Embedded is off
    assert "weaviate.url" in done.stderr and KEY not in done.stderr + done.stdout


def test_the_cli_with_trust_uses_the_files_url(tmp_path: Path) -> None:
    with WeaviateTestServer() as server:
        (tmp_path / ".acolyte").write_text(f"weaviate:\n  url: {server.url}\nembeddings:\n  provider: hash\n")
        (tmp_path / "a.py").write_text("x = 1\n")
        done = _cli("index", str(tmp_path), "--trust")
        assert done.returncode == 0, done.stderr
        assert "only a trusted folder" not in done.stderr
        assert server.requests


async def test_weaviate_embedded_is_never_sent_the_users_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Settings] = []

    async def open_store(settings: Settings, metrics: Metrics) -> Any:
        opened.append(settings)
        raise WeaviateUnavailableError(settings.weaviate.endpoint, "test stops here")

    async def running(*args: Any) -> None:
        return None

    settings = Settings(weaviate=WeaviateSettings(embedded="true", api_key=KEY))
    controller = Controller([tmp_path], settings, lambda e: None, lambda n: None, open_store=open_store)
    monkeypatch.setattr("acolyte_lsp.connection.run_embedded", running)
    monkeypatch.setattr("acolyte_lsp.connection.load_embedder", lambda *a: LoadedEmbedder(_HashLike(), None))
    await controller.connection.connect(retry=False)
    await controller.close()
    assert [s.weaviate.api_key for s in opened] == [None]
    assert opened[0].weaviate.url is not None and opened[0].weaviate.url.startswith("http://127.0.0.1:")


class _HashLike:
    dimensions = 8
    identity = "hash:test"


def _editor(answer: str | None):  # type: ignore[no-untyped-def]
    """An editor answering acolyte-lsp's questions with `answer`. The user's environment names no
    Weaviate here: what the file names is the only other choice."""
    return answering_editor(answer, env={k: v for k, v in os.environ.items() if k != "WEAVIATE_URL"})


def _user_options(url: str) -> dict[str, Any]:
    """The user's own editor settings point at a Weaviate; the file's URL would send the code elsewhere."""
    return {"weaviate": {"url": url, "timeout_retries": 0, "connection_error_retries": 0}, "embeddings": {"provider": "hash"}}


@pytest.mark.e2e
@pytest.mark.usefixtures("nothing_at_the_default_url")
async def test_the_editor_is_asked_once_and_kept_ignoring_sends_nothing_to_the_files_weaviate(tmp_path: Path) -> None:
    with WeaviateTestServer() as theirs:
        (tmp_path / ".acolyte").write_text(f"weaviate:\n  url: {theirs.url}\n  class_name: RedTeam\n")
        (tmp_path / "a.py").write_text("def f():\n    return 1\n")
        options = {"weaviate": {"embedded": "false"}, "embeddings": {"provider": "hash"}}
        async with _editor(DISTRUST) as (client, asked):
            await initialize(client, tmp_path, options)
            await eventually(lambda: asked, "the trust question")
            status = await eventually_status(client, lambda s: s["state"] == "waiting for Weaviate")
        assert f"send this folder's code to {theirs.url}" in asked[0].message and "weaviate.class_name" in asked[0].message
        assert status["weaviate_url"] == "http://localhost:8080"
        assert status["settings_withheld"] == ["weaviate.url", "weaviate.class_name"]
        async with _editor(TRUST) as (client, asked_again):
            await initialize(client, tmp_path, options)
            await eventually_status(client, lambda s: s["state"] == "waiting for Weaviate")
        assert asked_again == []  # the answer was remembered for this content
        assert theirs.requests == []


@pytest.mark.e2e
async def test_trusting_in_the_editor_applies_the_files_settings(tmp_path: Path) -> None:
    with WeaviateTestServer() as mine:
        (tmp_path / ".acolyte").write_text("weaviate:\n  class_name: TeamChunks\n")
        (tmp_path / "a.py").write_text("def f():\n    return 1\n")
        async with _editor(TRUST) as (client, asked):
            await initialize(client, tmp_path, _user_options(mine.url))
            status = await eventually_status(
                client, lambda s: s["class_name"] == "TeamChunks" and s["roots"][0]["last_run"] is not None
            )
        assert len(asked) == 1 and status["settings_withheld"] == []
        assert "TeamChunks" in {c["class"] for c in mine.state.schema()["classes"]}


@pytest.mark.e2e
@pytest.mark.parametrize("trusted", [False, True])
async def test_the_clients_workspace_trust_decides_without_a_question(tmp_path: Path, trusted: bool) -> None:
    with WeaviateTestServer() as mine:
        (tmp_path / ".acolyte").write_text("weaviate:\n  class_name: TeamChunks\n")
        (tmp_path / "a.py").write_text("def f():\n    return 1\n")
        async with _editor(TRUST) as (client, asked):
            await initialize(client, tmp_path, _user_options(mine.url) | {"workspaceTrusted": trusted})
            status = await eventually_status(client, lambda s: s["roots"][0]["last_run"] is not None)
            messages = [m.message for m in client.messages]
        assert asked == []
        assert status["class_name"] == ("TeamChunks" if trusted else "CodeChunk")
        assert any("only a trusted folder may set" in m for m in messages) is not trusted


def test_a_trusted_folder_helper_matches_what_the_server_asks(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text("weaviate:\n  class_name: TeamChunks\n")
    trust_folder(tmp_path, env={})
    assert load_settings(tmp_path, env={}, trust=TrustAnswers().trusted).settings.weaviate.class_name == "TeamChunks"


def _on_a_terminal(args: list[str], answer: bytes) -> str:
    """Run the CLI on a pseudo-terminal, answer its question with `answer`; everything it wrote."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI, its stdin and stderr a terminal
        env = {k: v for k, v in os.environ.items() if k != "WEAVIATE_URL"}
        os.execvpe(sys.executable, [sys.executable, "-m", "acolyte_lsp", *args], env)
    output = b""
    answered = False
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        assert ready, f"the CLI went quiet: {output[-500:]!r}"
        try:
            data = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        output += data
        if not answered and b"[y/N]" in output:
            os.write(fd, answer)
            answered = True
    os.waitpid(pid, 0)
    return output.decode(errors="replace")


def test_on_a_terminal_the_cli_asks_once_and_remembers_the_answer(tmp_path: Path) -> None:
    with WeaviateTestServer() as server:
        (tmp_path / ".acolyte").write_text(f"weaviate:\n  url: {server.url}\nembeddings:\n  provider: hash\n")
        (tmp_path / "a.py").write_text("x = 1\n")
        said = _on_a_terminal(["index", str(tmp_path)], b"y\n")
        assert f"send this folder's code to {server.url}" in said and "Trust this folder" in said
        assert "files: 1 (1 indexed" in said
        again = _cli("index", str(tmp_path))  # no terminal now: the remembered yes holds
        assert again.returncode == 0, again.stderr
        assert "only a trusted folder" not in again.stderr and "files: 1 (0 indexed, 1 unchanged" in again.stdout
