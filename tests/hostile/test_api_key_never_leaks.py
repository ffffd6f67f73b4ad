"""The Weaviate API key never appears in a log line, message, diagnostic, status reply or crash report."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import eventually, initialize
from tests.trust import trust_folder
from tests.weaviate_server import WeaviateTestServer

KEY = "sk-acolyte-LEAKCHECK-9f3e1d7c5b"
SERVER_KEY = "the-server-wants-another-key"
DEBUG_SERVER = [sys.executable, "-m", "acolyte_lsp", "--log-level", "DEBUG"]


@pytest.fixture
def guarded_weaviate() -> Iterator[WeaviateTestServer]:
    """A Weaviate that refuses our key (401 on every call), so errors are reported everywhere
    (the stand-in only: tests using it are skipped on a real Weaviate before they start)."""
    with WeaviateTestServer(api_key=SERVER_KEY) as server:
        yield server


@pytest_lsp.fixture(config=ClientServerConfig(server_command=DEBUG_SERVER, server_env={**os.environ, "WEAVIATE_API_KEY": KEY}))
async def lsp_env_key(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    yield


@pytest_lsp.fixture(config=ClientServerConfig(server_command=DEBUG_SERVER))
async def lsp_debug(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    yield


def _everything_said(client: LanguageClient, replies: list[Any], captured: Any) -> str:
    return "\n".join(
        [
            repr(client.log_messages),
            repr(client.messages),
            repr(client.diagnostics),
            repr(replies),
            captured.out,
            captured.err,
        ]
    )


async def _exercise(client: LanguageClient, root: Path, options: dict[str, Any], url: str) -> list[Any]:
    (root / "a.py").write_text("def f():\n    return 1\n")
    await initialize(client, root, options)
    await eventually(lambda: client.messages, "the Weaviate error message")
    replies = []
    for command, arguments in (
        ("acolyte.indexStatus", None),
        ("acolyte.search", ["anything"]),
        ("acolyte.reindexWorkspace", None),
        ("acolyte.noSuchCommand", None),
    ):
        try:
            replies.append(
                await client.workspace_execute_command_async(types.ExecuteCommandParams(command=command, arguments=arguments))
            )
        except Exception as err:  # noqa: BLE001 - the error text itself is checked
            replies.append(repr(err))
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"acolyte": {"weaviate": {"url": url, "api_key": KEY + "-2"}}})
    )
    await client.shutdown_session()
    return replies


@pytest.mark.e2e
async def test_key_from_the_settings_file(lsp_debug: LanguageClient, guarded_weaviate: WeaviateTestServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".acolyte").write_text(f"weaviate:\n  url: {guarded_weaviate.url}\n  api_key: {KEY}\n")
    trust_folder(tmp_path)  # the user's own folder: its URL and key are used
    replies = await _exercise(lsp_debug, tmp_path, {}, guarded_weaviate.url)
    said = _everything_said(lsp_debug, replies, capfd.readouterr())
    assert "401" in said  # the error was reported …
    assert KEY not in said  # … and the key was not


@pytest.mark.e2e
async def test_key_from_the_environment(lsp_env_key: LanguageClient, guarded_weaviate: WeaviateTestServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    replies = await _exercise(lsp_env_key, tmp_path, {"weaviate": {"url": guarded_weaviate.url}}, guarded_weaviate.url)
    said = _everything_said(lsp_env_key, replies, capfd.readouterr())
    assert "401" in said
    assert KEY not in said


@pytest.mark.e2e
async def test_key_from_initialization_options(lsp_debug: LanguageClient, guarded_weaviate: WeaviateTestServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    options = {"weaviate": {"url": guarded_weaviate.url, "api_key": KEY}}
    replies = await _exercise(lsp_debug, tmp_path, options, guarded_weaviate.url)
    said = _everything_said(lsp_debug, replies, capfd.readouterr())
    assert "401" in said
    assert KEY not in said


@pytest.mark.parametrize("command", [["settings"], ["index"], ["search", "f"]])
def test_cli_never_prints_the_key(guarded_weaviate: WeaviateTestServer, tmp_path: Path, command: list[str]) -> None:
    (tmp_path / ".acolyte").write_text(f"weaviate:\n  url: {guarded_weaviate.url}\n  api_key: {KEY}\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    path_args = [str(tmp_path)] if command[0] != "search" else ["--path", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "acolyte_lsp", "--log-level", "DEBUG", *command, *path_args, "--trust"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "WEAVIATE_API_KEY": KEY},
    )
    assert KEY not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_log_masking_hides_key_shaped_values_and_known_keys_in_tracebacks() -> None:
    import logging

    from acolyte_lsp.secrecy import SecretFilter, mask_secrets, register_secret

    assert KEY not in mask_secrets(f"params {{'api_key': '{KEY}'}} and \"apiKey\": \"{KEY}\" Bearer {KEY}")
    register_secret("registered-secret-value")
    try:
        raise RuntimeError("failed with registered-secret-value inside")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("registered-secret-value",), sys.exc_info())
    SecretFilter().filter(record)
    assert "registered-secret-value" not in record.getMessage()
    assert "RuntimeError" in record.getMessage()


def test_a_crash_report_masks_the_key() -> None:
    script = (
        "import os; from acolyte_lsp.secrecy import install_log_masking; install_log_masking(); "
        "raise RuntimeError('boom with ' + os.environ['WEAVIATE_API_KEY'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env={**os.environ, "WEAVIATE_API_KEY": KEY}
    )
    assert "RuntimeError: boom with ***" in done.stderr
    assert KEY not in done.stderr
