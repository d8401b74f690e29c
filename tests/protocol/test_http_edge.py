"""The HTTP edge over real loopback sockets: DNS rebinding on every bind, Bearer API keys, /healthz."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Settings
from kupe_mcp.sandbox import DEMO_API_KEY, DEMO_BEARER_TOKEN, SandboxServer
from kupe_mcp.serve.runtime import credentials_from_headers
from kupe_mcp.serve.server import build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._mcp import INITIALIZE, STREAM_HEADERS

pytestmark = pytest.mark.anyio


def serve(sandbox: SandboxServer, *, bind: str, declared: str | None = None, **settings: Any) -> LoopbackServer:
    """kupe-app-mcp (multi-tenant) listening on ``bind``; ``declared`` is the --host it believes it has."""
    config = Settings(base_url=sandbox.base_url, **settings)
    server = create_server(config, build_client(config), multi_tenant=True)
    app = http_app(server, config, host=declared or bind, multi_tenant=True)
    return LoopbackServer(app, host=bind, lifespan="on")


def url_host(bind: str, port: str) -> str:
    return f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"


async def post_init(base_url: str, **headers: str) -> int:
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{base_url}/mcp", json=INITIALIZE, headers={**STREAM_HEADERS, "x-api-key": DEMO_API_KEY, **headers}
        )
    return response.status_code


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.0.0.2", "127.0.1.1", "0:0:0:0:0:0:0:1", "::1"])
async def test_a_foreign_host_header_is_refused_on_every_loopback_bind(sandbox: SandboxServer, bind: str) -> None:
    with serve(sandbox, bind=bind) as srv:
        port = srv.base_url.rsplit(":", 1)[1]
        base = f"http://{url_host(bind, port)}"
        evil = await post_init(base, host="evil.example")
        evil_with_port = await post_init(base, host=f"evil.example:{port}")
        evil_origin = await post_init(base, origin="http://evil.example")
        own = await post_init(base)
    assert (evil, evil_with_port, evil_origin) == (421, 421, 403)
    assert own == 200


async def test_a_wildcard_bind_answers_only_the_hosts_and_origins_it_was_told(sandbox: SandboxServer) -> None:
    allowed = {"allowed_hosts": ("mcp.example.com",), "allowed_origins": ("https://app.example.com",)}
    with serve(sandbox, bind="127.0.0.1", declared="0.0.0.0", **allowed) as srv:  # noqa: S104 - only a name here
        named = await post_init(srv.base_url, host="mcp.example.com")
        named_port = await post_init(srv.base_url, host="mcp.example.com:443")
        origin = await post_init(srv.base_url, host="mcp.example.com", origin="https://app.example.com")
        evil = await post_init(srv.base_url, host="evil.example")
        evil_origin = await post_init(srv.base_url, host="mcp.example.com", origin="https://evil.example")
    assert (named, named_port, origin) == (200, 200, 200)
    assert (evil, evil_origin) == (421, 403)


def test_allowed_hosts_and_origins_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {"KUPE_ALLOWED_HOSTS": "mcp.example.com, edge.example.com:8443", "KUPE_ALLOWED_ORIGINS": "https://claude.ai"}
    )
    assert settings.allowed_hosts == ("mcp.example.com", "edge.example.com:8443")
    assert settings.allowed_origins == ("https://claude.ai",)


# -- Authorization: Bearer <Kupe API key> --------------------------------------------------------------


async def whoami(base_url: str, mode: str, headers: dict[str, str]) -> dict[str, Any]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{base_url}/mcp", http_client=http), mode=mode) as mcp,
    ):
        result = await mcp.call_tool("whoami", {})
    assert not result.is_error, result.content
    content: dict[str, Any] = result.structured_content or {}
    return content


async def test_a_kupe_api_key_sent_as_a_bearer_token_works(sandbox: SandboxServer, client_mode: str) -> None:
    with serve(sandbox, bind="127.0.0.1") as srv:
        me = await whoami(srv.base_url, client_mode, {"authorization": f"Bearer {DEMO_API_KEY}"})
    assert me["auth"] == "api_key"


async def test_a_jwt_sent_as_a_bearer_token_stays_a_session(sandbox: SandboxServer, client_mode: str) -> None:
    with serve(sandbox, bind="127.0.0.1") as srv:
        me = await whoami(srv.base_url, client_mode, {"authorization": f"Bearer {DEMO_BEARER_TOKEN}"})
    assert me["auth"] == "bearer"


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"authorization": "Bearer kupe_live_abc123"}, "api_key"),
        ({"authorization": "bearer kupe_live_abc123"}, "api_key"),
        ({"authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig"}, "bearer"),
        ({"x-api-key": "kupe_live_abc123", "authorization": "Bearer other-key"}, "api_key"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, "none"),
    ],
)
def test_credentials_from_headers_tells_a_session_from_an_api_key_by_its_shape(
    headers: dict[str, str], kind: str
) -> None:
    creds = credentials_from_headers(headers)
    assert creds.kind == kind
    if headers.get("x-api-key"):
        assert creds.secrets() == ("kupe_live_abc123",)


# -- /healthz -----------------------------------------------------------------------------------------


async def test_healthz_answers_without_auth_without_calling_kupe_and_says_nothing_else(
    sandbox: SandboxServer,
) -> None:
    before = len(sandbox.sandbox.request_log)
    with serve(sandbox, bind="127.0.0.1") as srv:
        async with httpx2.AsyncClient() as http:
            health = await http.get(f"{srv.base_url}/healthz", headers={"host": "10.0.0.7:8765"})
            head = await http.head(f"{srv.base_url}/healthz")
            post = await http.post(f"{srv.base_url}/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert health.headers["cache-control"] == "no-store"
    assert (head.status_code, head.content) == (200, b"")
    assert post.status_code == 405
    assert len(sandbox.sandbox.request_log) == before
