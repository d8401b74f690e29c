"""Tenants kept apart on multi-tenant HTTP: no server disk, no shared cookies, no global log level, no token sent on."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPDeprecationWarning
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_API_KEY, LIMITED_API_KEY
from kupe_mcp.serve.server import build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._mcp import INITIALIZE, STREAM_HEADERS, fail
from tests.conftest import SANDBOX_URL

pytestmark = pytest.mark.anyio

MCP_TOKEN = "mcp-gate-TESTSECRET-6b1d0c"


@dataclass
class Upstream:
    """The sandbox behind a recorder: the headers of every request kupe-app-mcp sent to "Kupe"."""

    app: Any
    seen: list[dict[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@pytest.fixture
def upstream(sandbox_app: Any) -> Upstream:
    return Upstream(sandbox_app)


@pytest.fixture
def multi_tenant_url(upstream: Upstream, tmp_path: Path) -> Iterator[str]:
    """kupe-app-mcp over loopback HTTP with no server credentials; its upload root holds a real file."""
    (tmp_path / "secret-plan.md").write_text("operator's notes")
    (tmp_path / "people.csv").write_text("to_phonenumber\n+919876543210\n")
    config = Settings(base_url=SANDBOX_URL, toolsets=("all",), calling_hours="off", upload_roots=(str(tmp_path),))
    client = build_client(config, transport=httpx2.ASGITransport(app=upstream))
    server = create_server(config, client, multi_tenant=True)
    with LoopbackServer(http_app(server, config, host="127.0.0.1", multi_tenant=True), lifespan="on") as srv:
        yield f"{srv.base_url}/mcp"


@asynccontextmanager
async def tenant(url: str, mode: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as mcp,
    ):
        yield mcp


# -- the server's disk ----------------------------------------------------------------------------


async def test_a_tenant_cannot_upload_a_file_from_the_servers_disk_nor_learn_whether_it_exists(
    multi_tenant_url: str, client_mode: str, tmp_path: Path, upstream: Upstream
) -> None:
    async with tenant(multi_tenant_url, client_mode, {"x-api-key": DEMO_API_KEY}) as mcp:
        existing = await fail(mcp, "upload_knowledge_file", path=str(tmp_path / "secret-plan.md"))
        missing = await fail(mcp, "upload_knowledge_file", path=str(tmp_path / "no-such-file.md"))
        outside = await fail(mcp, "upload_knowledge_file", path="/etc/passwd")
    assert existing == missing == outside
    assert "pass the file's text as content" in existing
    assert str(tmp_path) not in existing
    assert "secret-plan" not in existing
    assert not [h for h in upstream.seen if h.get("content-type", "").startswith("multipart/")]


async def test_a_tenant_cannot_read_a_csv_from_the_servers_disk(
    multi_tenant_url: str, client_mode: str, tmp_path: Path
) -> None:
    batch_id = "5b3f7a1e-0000-4000-8000-000000000001"
    async with tenant(multi_tenant_url, client_mode, {"x-api-key": DEMO_API_KEY}) as mcp:
        existing = await fail(mcp, "add_batch_recipients", batch_id=batch_id, csv_path=str(tmp_path / "people.csv"))
        missing = await fail(mcp, "add_batch_recipients", batch_id=batch_id, csv_path="/nope/people.csv")
    assert existing == missing
    assert "pass the rows as recipients instead" in existing
    assert str(tmp_path) not in existing


# -- cookies ----------------------------------------------------------------------------------------


async def test_a_cookie_set_for_one_tenant_is_never_sent_on_another_tenants_request() -> None:
    sent: list[str | None] = []

    def kupe(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.headers.get("cookie"))
        return httpx2.Response(200, json={}, headers={"set-cookie": "session=tenant-a-cookie; Path=/"})

    shared = KupeClient(base_url="https://api.kupe.test", transport=httpx2.MockTransport(kupe))
    a = shared.with_credentials(Credentials(api_key=SecretStr("kupe_a_0000000000000000")))
    b = shared.with_credentials(Credentials(api_key=SecretStr("kupe_b_0000000000000000")))
    async with shared:
        await a.request("GET", "/api/v1/me")
        await b.request("GET", "/api/v1/me")
        await a.request("GET", "/api/v1/me")
    assert sent == [None, None, None]


# -- logging/setLevel ------------------------------------------------------------------------------


async def test_logging_set_level_from_a_tenant_does_not_change_the_servers_log_level(sandbox_app: Any) -> None:
    config = Settings(base_url=SANDBOX_URL)
    server = create_server(
        config, build_client(config, transport=httpx2.ASGITransport(app=sandbox_app)), multi_tenant=True
    )
    logger = logging.getLogger("kupe_mcp")
    before = logger.level
    try:
        logger.setLevel(logging.WARNING)
        async with Client(server, mode="legacy") as mcp:
            with pytest.warns(MCPDeprecationWarning):
                await mcp.set_logging_level("debug")
        assert logger.level == logging.WARNING
    finally:
        logger.setLevel(before)


# -- KUPE_MCP_TOKEN in multi-tenant mode -------------------------------------------------------------


@pytest.fixture
def gated_url(upstream: Upstream) -> Iterator[str]:
    """Multi-tenant HTTP with KUPE_MCP_TOKEN set too: the token gates, each tenant's key goes to Kupe."""
    config = Settings(base_url=SANDBOX_URL, mcp_token=SecretStr(MCP_TOKEN))
    client = build_client(config, transport=httpx2.ASGITransport(app=upstream))
    server = create_server(config, client, multi_tenant=True)
    with LoopbackServer(http_app(server, config, host="127.0.0.1", multi_tenant=True), lifespan="on") as srv:
        yield f"{srv.base_url}/mcp"


async def test_the_mcp_token_is_never_forwarded_to_kupe_as_a_credential(
    gated_url: str, upstream: Upstream, client_mode: str
) -> None:
    headers = {"authorization": f"Bearer {MCP_TOKEN}", "x-api-key": LIMITED_API_KEY}
    async with tenant(gated_url, client_mode, headers) as mcp:
        result = await mcp.call_tool("whoami", {})
    assert not result.is_error, result.content
    assert upstream.seen
    assert all(MCP_TOKEN not in " ".join(h.values()) for h in upstream.seen)
    assert {h.get("x-api-key") for h in upstream.seen} == {LIMITED_API_KEY}


async def test_the_mcp_token_alone_is_refused_at_the_gate_and_nothing_reaches_kupe(
    gated_url: str, upstream: Upstream
) -> None:
    async with httpx2.AsyncClient() as http:
        token_only = await http.post(
            gated_url, json=INITIALIZE, headers={**STREAM_HEADERS, "authorization": f"Bearer {MCP_TOKEN}"}
        )
        key_only = await http.post(gated_url, json=INITIALIZE, headers={**STREAM_HEADERS, "x-api-key": DEMO_API_KEY})
    assert (token_only.status_code, key_only.status_code) == (401, 401)
    assert "x-api-key" in token_only.json()["error_description"]
    assert "KUPE_MCP_TOKEN" in key_only.json()["error_description"]
    assert upstream.seen == []
