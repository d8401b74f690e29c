"""kupe-app-mcp: the Kupe App voice-agent platform (api.kupe.in) as an MCP server."""

__version__ = "0.1.0"

__all__ = ["__version__"]
