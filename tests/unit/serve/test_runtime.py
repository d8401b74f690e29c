"""The runtime is the server's lifespan: tools reach it through their request, and it releases what it holds when
the last connection (or the HTTP app) stops, then reopens on the next use."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context, MCPServer
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.safety.context import runtime_of
from kupe_mcp.serve.runtime import Runtime
from kupe_mcp.serve.server import KupeServer, create_server
from kupe_mcp.serve.transports import http_app
from tests.unit._kupe import API_KEY, BASE_URL, Kupe

pytestmark = pytest.mark.anyio

ME = {"user_id": "u-1", "email": "ada@example.com", "name": "Ada"}


class CountingTransport(httpx2.MockTransport):
    """A MockTransport that counts how often the pooled client closed it (once per release)."""

    def __init__(self, kupe: Kupe) -> None:
        super().__init__(kupe)
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


def served(kupe: Kupe) -> tuple[KupeServer, CountingTransport]:
    transport = CountingTransport(kupe)
    client = KupeClient(base_url=BASE_URL, credentials=Credentials(api_key=SecretStr(API_KEY)), transport=transport)
    return create_server(Settings(calling_hours="off"), client), transport


async def whoami(mcp: Client) -> dict[str, Any]:
    result = await mcp.call_tool("whoami", {})
    assert not result.is_error, result
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def test_a_tool_reaches_the_runtime_its_server_yields_as_lifespan_context() -> None:
    kupe = Kupe({"GET /api/v1/me": ME})
    server, _ = served(kupe)
    seen: list[object] = []

    @server.tool(name="probe_runtime")
    def probe(ctx: Context) -> str:
        seen.append(runtime_of(ctx))
        return "ok"

    async with Client(server) as mcp:
        await mcp.call_tool("probe_runtime", {})
    assert seen == [server.runtime]
    assert isinstance(server.runtime, Runtime)


async def test_only_the_last_connection_to_leave_releases_the_kupe_client() -> None:
    kupe = Kupe({"GET /api/v1/me": ME})
    server, transport = served(kupe)
    async with Client(server) as first:
        async with Client(server) as second:
            await whoami(second)
        assert transport.closed == 0  # the first connection still holds the runtime
        await whoami(first)
        assert transport.closed == 0
    assert transport.closed == 1


async def test_a_server_connected_again_after_its_release_still_reaches_kupe() -> None:
    kupe = Kupe({"GET /api/v1/me": ME})
    server, transport = served(kupe)
    async with Client(server) as mcp:
        await whoami(mcp)
    async with Client(server) as mcp:
        again = await whoami(mcp)
    assert transport.closed == 2
    assert kupe.sent.count("GET /api/v1/me") >= 2
    assert "u-1" in str(again)


async def test_the_http_app_releases_the_kupe_client_when_it_shuts_down() -> None:
    kupe = Kupe({"GET /api/v1/me": ME})
    server, transport = served(kupe)
    app = http_app(server, Settings(), host="127.0.0.1", multi_tenant=False)
    with LoopbackServer(app, lifespan="on") as http:
        async with Client(streamable_http_client(f"{http.base_url}/mcp")) as mcp:
            await whoami(mcp)
        assert transport.closed == 0  # stateless requests come and go; the runtime stays open
    assert transport.closed == 1


async def test_kupe_tools_refuse_to_run_on_a_server_whose_lifespan_is_not_a_runtime() -> None:
    plain: MCPServer[Any] = MCPServer(name="plain")
    failures: list[str] = []

    @plain.tool(name="probe_runtime")
    def probe(ctx: Context) -> str:
        try:
            runtime_of(ctx)
        except TypeError as exc:
            failures.append(str(exc))
        return "ok"

    async with Client(plain) as mcp:
        await mcp.call_tool("probe_runtime", {})
    assert failures == ["kupe-app-mcp tools must run with a kupe_mcp.serve.runtime.Runtime as the server's lifespan"]
