"""pytest-lsp fixtures: acolyte-lsp started as a subprocess over stdio, as an editor starts it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, make_test_lsp_client

SERVER_COMMAND = [sys.executable, "-m", "acolyte_lsp"]
WAIT_LIMIT_S = 60.0


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND))
async def lsp(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    yield
    server = lsp_client._server  # noqa: SLF001 - a test may already have shut the server down
    if server is not None and server.returncode is None:
        await lsp_client.shutdown_session()


def capabilities(progress: bool = True) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=progress),
        text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities()
        ),
    )


async def initialize(client: LanguageClient, root: Path, options: dict[str, Any], progress: bool = True) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(progress),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=options,
        )
    )


async def eventually(condition: Callable[[], Any], what: str) -> Any:
    """Wait (bounded) until `condition()` is truthy; return its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_LIMIT_S
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def eventually_status(lsp: LanguageClient, condition):  # type: ignore[no-untyped-def]
    """Poll acolyte.indexStatus until `condition(status)` holds."""
    for _ in range(200):
        status = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="acolyte.indexStatus"))
        if condition(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError("status never matched")


def ended_progress(client: LanguageClient) -> list[list[Any]]:
    """Progress sequences (begin … end) that have ended."""
    return [
        reports
        for reports in client.progress_reports.values()
        if reports and isinstance(reports[-1], types.WorkDoneProgressEnd)
    ]


def options(url: str, class_name: str = "CodeChunk", **weaviate: Any) -> dict[str, Any]:
    return {
        "weaviate": {
            "url": url,
            "class_name": class_name,
            "timeout_retries": 0,
            "connection_error_retries": 0,
            "read_timeout_s": 5,
            **weaviate,
        },
        "search": {"weaviate_batch_size": 20},
        "indexing": {"chunk_lines": 10, "chunk_overlap": 2},
    }


@asynccontextmanager
async def answering_editor(
    answer: str | None, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[LanguageClient, list[types.ShowMessageRequestParams]]]:
    """One more editor window: acolyte-lsp over stdio, answering its questions with `answer`
    (None: dismissing them), keeping what it was asked."""
    client = make_test_lsp_client()
    asked: list[types.ShowMessageRequestParams] = []

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def on_question(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        asked.append(params)
        return None if answer is None else types.MessageActionItem(title=answer)

    await client.start_io(*SERVER_COMMAND, env=env)
    try:
        yield client, asked
    finally:
        if client._server is not None and client._server.returncode is None:  # noqa: SLF001
            await client.shutdown_session()
        await client.stop()
