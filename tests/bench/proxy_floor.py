"""The SDK's own one-tool proxy: a bare MCPServer whose one tool does the same Kupe GET as ``get_agent``.

``python tests/bench/proxy_floor.py PORT`` serves it over stateless streamable HTTP on loopback;
KUPE_BASE_URL and KUPE_API_KEY say where the GET goes. tests/bench/replicas.py compares
kupe-app-mcp's throughput with it.
"""

import os
import sys

import httpx2
import uvicorn
from mcp.server.mcpserver import MCPServer

server = MCPServer("proxy-floor", log_level="WARNING")  # as kupe-app-mcp: no INFO line per request
_http: httpx2.AsyncClient | None = None


@server.tool()
async def get_agent(agent_id: str) -> str:
    """Fetch one agent from the Kupe API (its JSON, as Kupe sent it)."""
    global _http
    if _http is None:
        _http = httpx2.AsyncClient(
            base_url=os.environ["KUPE_BASE_URL"], headers={"x-api-key": os.environ["KUPE_API_KEY"]}, timeout=30
        )
    response = await _http.get(f"/api/v1/agents/{agent_id}")
    response.raise_for_status()
    return response.text


if __name__ == "__main__":
    # As kupe-app-mcp serves: stateless streamable HTTP under uvicorn, logging warnings only.
    app = server.streamable_http_app(stateless_http=True, host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
