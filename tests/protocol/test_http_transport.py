"""Streamable HTTP over a real loopback socket: tenants, the MCP token, and DNS-rebinding protection."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.errors import ConfigError
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer
from kupe_mcp.serve.server import build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._mcp import INITIALIZE, STREAM_HEADERS

pytestmark = pytest.mark.anyio


def serve_mcp(sandbox: SandboxServer, **settings: Any) -> LoopbackServer:
    """kupe-app-mcp over HTTP on loopback, pointed at the sandbox over its own socket."""
    config = Settings(base_url=sandbox.base_url, **settings)
    multi_tenant = not config.credentials
    server = create_server(config, build_client(config), multi_tenant=multi_tenant)
    return LoopbackServer(http_app(server, config, host="127.0.0.1", multi_tenant=multi_tenant), lifespan="on")


async def whoami_over_http(url: str, mode: str, headers: dict[str, str]) -> dict[str, Any]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as mcp,
    ):
        result = await mcp.call_tool("whoami", {})
        assert not result.is_error, result.content
        content: dict[str, Any] = result.structured_content or {}
        return content


async def test_multi_tenant_http_refuses_a_request_without_kupe_credentials(sandbox: SandboxServer) -> None:
    with serve_mcp(sandbox) as srv:
        async with httpx2.AsyncClient() as http:
            response = await http.post(f"{srv.base_url}/mcp", json=INITIALIZE, headers=STREAM_HEADERS)
    assert response.status_code == 401
    assert "x-api-key" in response.json()["error_description"]


async def test_multi_tenant_http_uses_each_requests_own_key(sandbox: SandboxServer, client_mode: str) -> None:
    with serve_mcp(sandbox) as srv:
        me = await whoami_over_http(f"{srv.base_url}/mcp", client_mode, {"x-api-key": DEMO_API_KEY})
    assert me["auth"] == "api_key"


async def test_multi_tenant_http_with_a_wrong_key_answers_kupes_401_sentence(sandbox: SandboxServer) -> None:
    with serve_mcp(sandbox) as srv:
        async with (
            httpx2.AsyncClient(headers={"x-api-key": "wrong"}, timeout=30) as http,
            Client(streamable_http_client(f"{srv.base_url}/mcp", http_client=http)) as mcp,
        ):
            result = await mcp.call_tool("whoami", {})
    assert result.is_error
    assert "KUPE_API_KEY" in result.content[0].text  # type: ignore[union-attr]


async def test_server_credentials_require_the_mcp_token(sandbox: SandboxServer, client_mode: str) -> None:
    creds = {"credentials": {"api_key": SecretStr(DEMO_API_KEY)}, "mcp_token": SecretStr("s3cret-token")}
    with serve_mcp(sandbox, **creds) as srv:
        async with httpx2.AsyncClient() as http:
            anonymous = await http.post(f"{srv.base_url}/mcp", json=INITIALIZE, headers=STREAM_HEADERS)
            wrong = await http.post(
                f"{srv.base_url}/mcp", json=INITIALIZE, headers={**STREAM_HEADERS, "authorization": "Bearer nope"}
            )
        assert anonymous.status_code == 401
        assert wrong.status_code == 401
        me = await whoami_over_http(f"{srv.base_url}/mcp", client_mode, {"authorization": "Bearer s3cret-token"})
    assert me["user_id"]


def test_server_credentials_without_a_token_refuse_a_non_loopback_address() -> None:
    config = Settings(credentials={"api_key": SecretStr(DEMO_API_KEY)})
    server = create_server(config, build_client(config))
    with pytest.raises(ConfigError, match="KUPE_MCP_TOKEN"):
        http_app(server, config, host="0.0.0.0", multi_tenant=False)  # noqa: S104 - the refusal is the point


async def test_dns_rebinding_protection_refuses_a_foreign_host_header(sandbox: SandboxServer) -> None:
    with serve_mcp(sandbox) as srv:
        async with httpx2.AsyncClient() as http:
            response = await http.post(
                f"{srv.base_url}/mcp",
                json=INITIALIZE,
                headers={**STREAM_HEADERS, "x-api-key": DEMO_API_KEY, "host": "evil.example:80"},
            )
    assert response.status_code in (400, 403, 421)


@pytest.mark.parametrize("accept", ["*/*", "", "application/json"])
async def test_a_plain_get_answers_at_once_with_what_this_endpoint_is(sandbox: SandboxServer, accept: str) -> None:
    """A health probe or curl used to get an event stream that never ended."""
    with serve_mcp(sandbox, credentials=Credentials(api_key=SecretStr(DEMO_API_KEY))) as served:
        async with httpx2.AsyncClient(timeout=5) as http:
            response = await http.get(f"{served.base_url}/mcp", headers={"accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "MCP endpoint" in response.text
    assert DEMO_API_KEY not in response.text


async def test_a_browser_gets_a_short_page_even_on_a_multi_tenant_server(sandbox: SandboxServer) -> None:
    with serve_mcp(sandbox) as served:
        async with httpx2.AsyncClient(timeout=5) as http:
            page = await http.get(f"{served.base_url}/mcp", headers={"accept": "text/html,*/*;q=0.8"})
            head = await http.head(f"{served.base_url}/", headers={"accept": "*/*"})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>kupe-app-mcp</h1>" in page.text
    assert "x-api-key" in page.text
    assert head.status_code == 200
    assert head.content == b""


async def test_an_mcp_stream_get_still_goes_through_the_auth_gate(sandbox: SandboxServer) -> None:
    with serve_mcp(sandbox) as served:
        async with httpx2.AsyncClient(timeout=5) as http:
            response = await http.get(f"{served.base_url}/mcp", headers={"accept": "text/event-stream"})
    assert response.status_code == 401
