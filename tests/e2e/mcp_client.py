"""`acolyte-lsp mcp` started as an agent starts it: a subprocess spoken to by the MCP SDK's own stdio client."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, TextContent

WAIT_LIMIT_S = 60.0


def mcp_workspace_settings(root: Path, class_name: str, extra: str = "") -> None:
    """A workspace's `.acolyte`: its own class, the hashing embedder (fast), quick debounce."""
    (root / ".acolyte").write_text(
        f"weaviate:\n  class_name: {class_name}\nembeddings:\n  provider: hash\nindexing:\n  debounce_ms: 100\n{extra}"
    )


def server_parameters(folder: Path, weaviate_url: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "acolyte_lsp", "mcp", str(folder), "--url", weaviate_url, "--trust"],
        env=dict(os.environ),  # the tests' private XDG folders, PYTHONPATH
    )


@asynccontextmanager
async def mcp_server(folder: Path, weaviate_url: str) -> AsyncIterator[ClientSession]:
    """An initialised MCP client session over a fresh `acolyte-lsp mcp` process."""
    with open(folder.parent / f"{folder.name}-mcp-stderr.log", "a") as errlog:
        async with stdio_client(server_parameters(folder, weaviate_url), errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


async def call(session: ClientSession, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """A tool's structured reply; fails the test when the tool answered with an error."""
    result = await session.call_tool(tool, arguments or {})
    assert not result.is_error, error_text(result)
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


def reply_text(result: CallToolResult) -> str:
    """Everything a reply carries, as text (what a model would read)."""
    return error_text(result) + json.dumps(result.structured_content or {})


async def eventually(condition: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Wait (bounded) until `await condition()` is truthy; return its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_LIMIT_S
    while True:
        value = await condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
