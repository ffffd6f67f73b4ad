"""The README lists the MCP tools with the very descriptions the server gives a model."""

from __future__ import annotations

from scripts.sync_readme_mcp_tools import README, with_tools


def test_the_readme_shows_each_tool_as_the_server_describes_it() -> None:
    readme = README.read_text()
    assert readme == with_tools(readme), "run scripts/sync_readme_mcp_tools.py"
