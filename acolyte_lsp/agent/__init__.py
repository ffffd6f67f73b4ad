"""The MCP server: the workspace index offered to AI agents as tools."""
