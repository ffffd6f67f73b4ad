"""The MCP tools over an `AgentSession`: names, argument schemas and descriptions written for a model to read.

This module only translates MCP: arguments arrive validated by the SDK from
the signatures below, errors leave as tool errors (`is_error` results) with
a message the agent can act on, never as a crash of the server.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from .. import __version__
from ..searching import MAX_QUERY_CHARS, InvalidQuery
from ..display import printable
from ..store.errors import StoreError
from .session import MAX_LIMIT, AgentRequestError, AgentSession

INSTRUCTIONS = (
    "Semantic code search over the workspace this server was started in, kept fresh as files change on disk. "
    "Use search_code to find where something is implemented or used when you do not know the file or the exact name; "
    "each result says whether its file changed since it was indexed (fresh). Use reindex after editing files if you "
    "need the new code searchable at once, and index_status to see whether the index is complete."
)

SEARCH_CODE = (
    "Search the workspace's code by meaning and by keywords (hybrid search over an index of code chunks: functions, "
    "classes, sections of files). Ask in words (\"where are invoices totalled\") or with identifiers and snippets. "
    "Returns up to `limit` chunks, best first, each with `file` (relative to the workspace), `start_line` and "
    "`end_line` (1-based, inclusive), `name` and `kind` of the code unit, `language`, `score` (higher is better), "
    "`text` (the chunk as indexed) and `fresh`: false when the file changed on disk after it was indexed, so `text` "
    "may be out of date (read the file, or call reindex). The reply also says how many files are still waiting to "
    "be indexed (`pending_files`; null when another acolyte-lsp process keeps this workspace indexed)."
)

INDEX_STATUS = (
    "How complete and how fresh the workspace's index is: state (indexing, idle, waiting for Weaviate), files and "
    "chunks indexed, when the last full run ended, files still pending, which process keeps it indexed, the Weaviate "
    "and embedding model in use, and warnings (files that could not be indexed, an unreachable Weaviate)."
)

REINDEX = (
    "Index the whole workspace, or one file or folder in it (`path`, relative to the workspace), now, and answer "
    "once the new content is searchable. Changes on disk are picked up by themselves within a few seconds; use this "
    "when you need a search to see an edit immediately. Only files the workspace's ignore rules allow are indexed."
)


def build_server(session: AgentSession) -> MCPServer[Any]:
    """The MCP server offering `session`'s index as the tools search_code, index_status and reindex."""
    server: MCPServer[Any] = MCPServer(
        "acolyte-lsp", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING",
    )

    @server.tool(description=SEARCH_CODE, annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    async def search_code(
        query: Annotated[str, Field(description=f"What to look for, in words or code (at most {MAX_QUERY_CHARS:,} characters).")],
        limit: Annotated[int, Field(description=f"How many results, 1 to {MAX_LIMIT}.")] = 10,
        path: Annotated[str | None, Field(description="Only files under this workspace-relative folder, or this file.")] = None,
        language: Annotated[str | None, Field(description="Only chunks of this language, e.g. python, typescript, go, markdown.")] = None,
    ) -> dict[str, Any]:
        return await _answer(session.search(query, limit, path, language))

    @server.tool(description=INDEX_STATUS, annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    async def index_status() -> dict[str, Any]:
        return await _answer(session.status())

    @server.tool(description=REINDEX, annotations=ToolAnnotations(idempotent_hint=True, open_world_hint=False))
    async def reindex(
        path: Annotated[str | None, Field(description="A workspace-relative file or folder; omit for the whole workspace.")] = None,
    ) -> dict[str, Any]:
        return await _answer(session.reindex(path))

    return server


async def _answer(call: Any) -> dict[str, Any]:
    """Await a session call; what the agent can fix or wait out becomes a tool error with its reason."""
    try:
        result: dict[str, Any] = await call
        return result
    except (AgentRequestError, InvalidQuery) as err:
        raise ToolError(printable(str(err))) from None
    except StoreError as err:
        raise ToolError(f"Weaviate could not answer: {printable(str(err))}") from None


async def serve_stdio(session: AgentSession) -> None:
    """Serve MCP on stdin/stdout until the client goes away, with `session` indexing and watching meanwhile."""
    await session.start()
    try:
        await build_server(session).run_stdio_async()
    finally:
        await session.close()
