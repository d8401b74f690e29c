"""The SDK floor: the smallest useful MCP server (one tool, MCPServer, stdio). Benchmarks compare kupe-app-mcp to it."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("floor")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    server.run()
