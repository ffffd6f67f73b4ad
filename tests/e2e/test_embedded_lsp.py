"""Zero set-up on a laptop: nothing answers at the default URL, the editor asks once, Weaviate Embedded serves every window.

The Weaviate release is a stand-in archive on loopback whose binary starts the
protocol test server (tests/embedded_release.py); download, start, sharing,
exits and crashes are real processes talking real HTTP.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import weaviate
from lsprotocol import types
from pytest_lsp import LanguageClient

from acolyte_lsp.embedded_choice import Answer
from tests.embedded_release import ReleaseServer, answering, free_port, nothing_at_the_default_url, release  # noqa: F401 - fixtures
from tests.files import lines, write

from .conftest import answering_editor, ended_progress, eventually, initialize

pytestmark = [
    pytest.mark.skipif(bool(os.environ.get("WEAVIATE_URL")), reason="Weaviate Embedded is driven with a stand-in release, not a server"),
    pytest.mark.usefixtures("nothing_at_the_default_url"),
]

CLASS = "EmbeddedChunks"


def _options(release: ReleaseServer, port: int) -> dict[str, Any]:
    """No weaviate.url: the default, where nothing answers."""
    return {
        "weaviate": {"class_name": CLASS, "embedded_version": release.url, "embedded_port": port,
                     "timeout_retries": 0, "connection_error_retries": 0, "read_timeout_s": 5},
        "indexing": {"chunk_lines": 10, "chunk_overlap": 2},
    }


def _window(answer: str | None = Answer.START):  # type: ignore[no-untyped-def]
    """One more editor window, answering the Embedded question with `answer`."""
    return answering_editor(answer)


def _count(port: int) -> int:
    result = weaviate.Client(f"http://127.0.0.1:{port}").query.aggregate(CLASS).with_meta_count().do()
    return int(result["data"]["Aggregate"][CLASS][0]["meta"]["count"])


def _indexed(client: LanguageClient) -> int:
    """Workspace runs that have ended."""
    return sum(1 for reports in ended_progress(client) if reports[0].title == "Indexing workspace")


def _weaviate_pid() -> int:
    [pid_file] = (Path(os.environ["XDG_STATE_HOME"]) / "acolyte-lsp").glob("embedded-*/weaviate.pid")
    return int(pid_file.read_text())


async def test_the_first_window_asks_once_then_starts_embedded_with_progress_and_indexes(
    release: ReleaseServer, tmp_path: Path
) -> None:
    port = free_port()
    write(tmp_path, {"a.py": lines("a", 25)})
    async with _window() as (lsp, asked):
        await initialize(lsp, tmp_path, _options(release, port))
        await eventually(lambda: _indexed(lsp), "the index to end")
        [question] = asked
        assert "No Weaviate answers at http://localhost:8080" in question.message
        assert [a.title for a in question.actions or []] == list(Answer)
        [setup] = [r for r in lsp.progress_reports.values() if r[0].title == "Weaviate Embedded"]
        assert any(isinstance(r, types.WorkDoneProgressReport) and r.percentage == 100 for r in setup)
        assert setup[-1].message == "Weaviate Embedded is ready"
        assert any(f"Started Weaviate Embedded at http://127.0.0.1:{port}" in m.message for m in lsp.messages)
        assert _count(port) == 3
        status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
        assert status["weaviate_url"] == f"http://127.0.0.1:{port}"
        assert status["weaviate_embedded"]["windows"] == 1
    assert release.downloads == 1


async def test_a_second_window_is_not_asked_and_shares_weaviate_which_outlives_the_first(
    release: ReleaseServer, tmp_path: Path
) -> None:
    port = free_port()
    first_root, second_root = tmp_path / "one", tmp_path / "two"
    write(first_root, {"a.py": lines("a", 5)})
    write(second_root, {"b.py": lines("b", 5)})
    async with _window() as (first, _):
        await initialize(first, first_root, _options(release, port))
        await eventually(lambda: _indexed(first), "the first window's index")
        pid = _weaviate_pid()
        async with _window(answer=None) as (second, asked):
            await initialize(second, second_root, _options(release, port))
            await eventually(lambda: _indexed(second), "the second index")
            assert asked == [], "the remembered answer was asked again"
            assert _weaviate_pid() == pid, "a second Weaviate was started"
            await first.shutdown_session()
            assert answering(port), "closing one window stopped Weaviate under the other"
            status = await second.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
            assert status["state"] == "idle" and status["weaviate_embedded"]["windows"] == 1
            assert _count(port) == 2
    deadline = time.monotonic() + 15
    while answering(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not answering(port), "the last window closing should stop Weaviate Embedded"


async def test_a_crashed_embedded_weaviate_is_restarted_and_the_index_converges(
    release: ReleaseServer, tmp_path: Path
) -> None:
    port = free_port()
    write(tmp_path, {"a.py": lines("a", 25), "b.py": lines("b", 5)})
    async with _window() as (lsp, _):
        await initialize(lsp, tmp_path, _options(release, port))
        await eventually(lambda: _indexed(lsp), "the startup index")
        assert _count(port) == 4
        crashed = _weaviate_pid()
        os.kill(crashed, signal.SIGKILL)  # the stand-in keeps nothing: a restarted one is empty
        write(tmp_path, {"c.py": lines("c", 5)})
        lsp.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=(tmp_path / "c.py").as_uri(), type=types.FileChangeType.Created)]
            )
        )
        await eventually(lambda: any("had stopped; started it again" in m.message for m in lsp.messages), "the restart")
        assert _weaviate_pid() != crashed
        await eventually(lambda: answering(port) and _count(port) == 5, "the index to converge after the restart")


async def test_not_now_is_remembered_and_the_outage_is_explained(release: ReleaseServer, tmp_path: Path) -> None:
    port = free_port()
    write(tmp_path, {"a.py": "x = 1\n"})
    async with _window(answer=Answer.NOT_NOW) as (lsp, asked):
        await initialize(lsp, tmp_path, _options(release, port))
        [message] = await eventually(lambda: lsp.messages, "the outage message")
        assert "Cannot reach Weaviate at http://localhost:8080" in message.message
        assert len(asked) == 1
    async with _window(answer=Answer.START) as (lsp, asked):
        await initialize(lsp, tmp_path, _options(release, port))
        await eventually(lambda: lsp.messages, "the outage message")
        assert asked == []
    assert release.downloads == 0 and not answering(port)


async def test_open_settings_shows_a_settings_file_and_asks_again_next_time(release: ReleaseServer, tmp_path: Path) -> None:
    port = free_port()
    write(tmp_path, {"a.py": "x = 1\n"})
    async with _window(answer=Answer.SETTINGS) as (lsp, asked):
        await initialize(lsp, tmp_path, _options(release, port))
        [shown] = await eventually(lambda: lsp.shown_documents, "the settings file to be shown")
        assert shown.uri == (tmp_path / ".acolyte").as_uri()
        assert "embedded: true" in (tmp_path / ".acolyte").read_text()
    async with _window(answer=None) as (lsp, asked):
        await initialize(lsp, tmp_path, _options(release, port))
        await eventually(lambda: asked, "the question again")
    assert release.downloads == 0


async def test_embedded_true_starts_it_without_asking_even_beside_a_url(release: ReleaseServer, tmp_path: Path) -> None:
    port = free_port()
    write(tmp_path, {"a.py": lines("a", 5)})
    options = _options(release, port)
    options["weaviate"].update({"embedded": True, "url": "http://127.0.0.1:9"})
    async with _window(answer=None) as (lsp, asked):
        await initialize(lsp, tmp_path, options)
        await eventually(lambda: _indexed(lsp), "the index in Embedded")
        assert _count(port) == 1
        assert asked == []
