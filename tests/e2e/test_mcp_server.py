"""`acolyte-lsp mcp`: the index as tools for AI agents, spoken to by the MCP SDK's own stdio client."""

from __future__ import annotations

from pathlib import Path

from acolyte_lsp.identity import workspace_id
from acolyte_lsp.indexing_lease import IndexingLease
from acolyte_lsp.secrecy import mask_url
from acolyte_lsp.settings import WeaviateSettings
from tests.e2e.mcp_client import call, error_text, eventually, mcp_server, mcp_workspace_settings, reply_text
from tests.files import write

BILLING = "def compute_invoice_total(invoice):\n    return sum(line.amount for line in invoice.lines)\n"
COLORS = "body { color: red; margin: 0 auto; }\n"


def _workspace(root: Path, class_name: str) -> None:
    write(root, {"billing.py": BILLING, "styles/colors.css": COLORS})
    mcp_workspace_settings(root, class_name)


async def _indexed(session, files: int) -> dict:  # type: ignore[no-untyped-def]
    async def done() -> dict | None:
        status = await call(session, "index_status")
        return status if status["state"] == "idle" and status["files"] == files else None

    return await eventually(done, f"{files} files indexed")


async def test_the_three_tools_are_listed_with_schemas_and_descriptions(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, weaviate_url) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == {"search_code", "index_status", "reindex"}
    search = tools["search_code"]
    assert search.input_schema["required"] == ["query"]
    assert set(search.input_schema["properties"]) == {"query", "limit", "path", "language"}
    assert search.input_schema["properties"]["limit"]["default"] == 10
    assert all(tool.description and len(tool.description) > 100 for tool in tools.values())
    assert "fresh" in search.description
    assert search.annotations is not None and search.annotations.read_only_hint is True


async def test_search_code_finds_the_function_with_its_lines_text_and_freshness(
    weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, weaviate_url) as session:
        await _indexed(session, 2)
        reply = await call(session, "search_code", {"query": "invoice total", "limit": 2})
    best = reply["results"][0]
    assert (best["file"], best["start_line"], best["end_line"]) == ("billing.py", 1, 2)
    assert best["name"] == "compute_invoice_total" and best["text"] == BILLING and best["fresh"] is True
    assert reply["pending_files"] == 0 and reply["stale_results"] == 0


async def test_search_code_keeps_to_a_path_and_a_language(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, weaviate_url) as session:
        await _indexed(session, 2)
        under = await call(session, "search_code", {"query": "invoice total", "path": "styles"})
        css = await call(session, "search_code", {"query": "invoice total", "language": "css"})
    assert [r["file"] for r in under["results"]] == ["styles/colors.css"]
    assert [r["file"] for r in css["results"]] == ["styles/colors.css"]


async def test_a_file_written_on_disk_becomes_searchable_without_an_editor(
    weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, weaviate_url) as session:
        await _indexed(session, 2)
        write(tmp_path, {"tools/widget.py": "def frobnicate_the_widget(widget):\n    return widget.spin()\n"})

        async def found() -> bool:
            reply = await call(session, "search_code", {"query": "frobnicate widget", "limit": 1})
            return bool(reply["results"]) and reply["results"][0]["file"] == "tools/widget.py"

        await eventually(found, "the new file in the results")


async def test_a_deleted_file_leaves_the_results(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, weaviate_url) as session:
        await _indexed(session, 2)
        (tmp_path / "billing.py").unlink()

        async def gone() -> bool:
            reply = await call(session, "search_code", {"query": "invoice total", "limit": 5})
            return all(r["file"] != "billing.py" for r in reply["results"])

        await eventually(gone, "billing.py to leave the index")


def _hold_lease(folder: Path, url: str, class_name: str) -> IndexingLease:
    """Take the folder's lease as another acolyte-lsp process would (this test process holds it)."""
    endpoint = mask_url(WeaviateSettings(url=url).endpoint)
    lease = IndexingLease.for_workspace(endpoint, class_name, workspace_id(folder), folder.resolve(), "the test")
    assert lease.try_take()
    return lease


async def test_a_result_edited_after_indexing_is_not_fresh_until_reindexed(
    weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, weaviate_url) as session:
        await _indexed(session, 2)
    lease = _hold_lease(tmp_path, weaviate_url, class_name)  # another process indexes: this server only searches
    try:
        async with mcp_server(tmp_path, weaviate_url) as session:
            (tmp_path / "billing.py").write_text(BILLING.replace("sum(", "total_of("))
            stale = await call(session, "search_code", {"query": "invoice total", "limit": 1})
            reindexed = await call(session, "reindex", {"path": "billing.py"})
            fresh = await call(session, "search_code", {"query": "invoice total", "limit": 1})
    finally:
        lease.release()
    assert stale["results"][0]["fresh"] is False and stale["stale_results"] == 1
    assert stale["pending_files"] is None and "the test" in stale["indexed_by"]
    assert reindexed["files_indexed"] == 1 and reindexed["searchable"] is True
    assert fresh["results"][0]["fresh"] is True and "total_of(" in fresh["results"][0]["text"]


async def test_reindex_of_the_workspace_answers_with_what_it_did(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, weaviate_url) as session:
        await _indexed(session, 2)
        reply = await call(session, "reindex")
    assert reply["files_total"] == 2 and reply["files_unchanged"] == 2 and reply["searchable"] is True


async def test_bad_arguments_get_a_tool_error_and_the_server_goes_on(
    weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    _workspace(tmp_path, class_name)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.py").write_text("API_TOKEN = 'do-not-read-me'\n")
    (tmp_path / "link-out").symlink_to(outside)
    cases = [
        ("search_code", {"query": "   "}, "the search query is empty"),
        ("search_code", {"query": "x", "limit": 0}, "limit must be from 1 to 50, got 0"),
        ("search_code", {"query": "x", "limit": "many"}, "limit"),
        ("search_code", {}, "query"),
        ("search_code", {"query": "x", "path": "../"}, "is outside the workspace"),
        ("reindex", {"path": "/etc"}, "is outside the workspace"),
        ("reindex", {"path": "link-out/secret.py"}, "is outside the workspace"),
        ("reindex", {"path": "no/such/file.py"}, "does not exist in the workspace"),
        ("search_code", {"query": "x", "path": "a\x00b"}, "NUL"),
    ]
    async with mcp_server(tmp_path, weaviate_url) as session:
        await _indexed(session, 2)
        for tool, arguments, reason in cases:
            result = await session.call_tool(tool, arguments)
            assert result.is_error, (tool, arguments)
            assert reason in error_text(result), (tool, arguments, error_text(result))
        after = await call(session, "search_code", {"query": "invoice total", "limit": 1})
    assert after["results"][0]["file"] == "billing.py"
    assert "do-not-read-me" not in after["results"][0]["text"]


async def test_a_hostile_query_is_refused_or_searched_never_a_crash(weaviate_url: str, class_name: str, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, weaviate_url) as session:
        await _indexed(session, 2)
        huge = await session.call_tool("search_code", {"query": "invoice " * 262_144})  # 2 MiB
        control = await call(session, "search_code", {"query": 'invoice\x00\x1b[2J"}) { x } \\ \u202e total'})
        after = await call(session, "search_code", {"query": "invoice total", "limit": 1})
    assert huge.is_error and "at most 10,000 are searched" in error_text(huge)
    assert len(reply_text(huge)) < 1000  # the refusal does not echo the query back
    assert isinstance(control["results"], list)
    assert after["results"][0]["file"] == "billing.py"


async def test_no_api_key_appears_in_any_reply(weaviate_url: str, class_name: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key = "sk-acolyte-MCPLEAK-5e2a"
    monkeypatch.setenv("WEAVIATE_API_KEY", key)
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, weaviate_url) as session:
        replies = [
            await session.call_tool("index_status", {}),
            await session.call_tool("search_code", {"query": "invoice total"}),
            await session.call_tool("reindex", {}),
            await session.call_tool("search_code", {"query": ""}),
        ]
    assert all(key not in reply_text(reply) for reply in replies)


async def test_weaviate_away_is_a_clear_tool_error_and_a_status(class_name: str, tmp_path: Path) -> None:
    _workspace(tmp_path, class_name)
    async with mcp_server(tmp_path, "http://127.0.0.1:9") as session:
        search = await session.call_tool("search_code", {"query": "invoice total"})
        status = await call(session, "index_status")
    assert search.is_error and "127.0.0.1:9" in error_text(search)
    assert status["state"] in ("starting", "waiting for Weaviate")

