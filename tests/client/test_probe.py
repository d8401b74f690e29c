"""The start-up check: a KUPE_BASE_URL that is not Kupe, or a refused key, is said at once and in the first result."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx2
import pytest
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.client._probe import BackendCheck
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxSettings, create_app
from kupe_mcp.serve.server import create_server

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx2.Request], httpx2.Response]


def not_kupe(request: httpx2.Request) -> httpx2.Response:
    """Some other web server: an HTML 404 page for every path."""
    return httpx2.Response(404, text="<html><body>Not Found</body></html>", headers={"content-type": "text/html"})


def wrong_key(request: httpx2.Request) -> httpx2.Response:
    if request.url.path == "/health":
        return httpx2.Response(200, json={"status": "ok", "service": "kupe"})
    return httpx2.Response(401, json={"detail": "Invalid API key"})


def client_on(handler: Handler | httpx2.AsyncBaseTransport) -> KupeClient:
    transport = handler if isinstance(handler, httpx2.AsyncBaseTransport) else httpx2.MockTransport(handler)
    return KupeClient(
        base_url="https://kupe.example.net",
        credentials=Credentials(api_key=SecretStr("kupe_wrong_key")),
        transport=transport,
    )


async def first_tool_result(kupe: KupeClient) -> str:
    async with Client(create_server(Settings(), kupe)) as mcp:
        result = await mcp.call_tool("list_agents", {})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert isinstance(text, str)
    return text


async def test_a_host_that_is_not_kupe_is_named_in_the_log_and_the_first_tool_result(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kupe = client_on(not_kupe)
    with caplog.at_level(logging.ERROR, logger="kupe_mcp.client"):
        problem = await kupe.check_backend().problem()
    text = await first_tool_result(kupe)
    assert problem is not None
    assert "KUPE_BASE_URL https://kupe.example.net is not Kupe's API" in problem
    assert "https://api.kupe.in" in problem
    assert problem in text
    assert "check the id" not in text
    logged = [r.getMessage() for r in caplog.records if r.name == "kupe_mcp.client" and r.levelno >= logging.ERROR]
    assert logged == [f"Start-up check: {problem}"]


async def test_a_refused_key_is_said_in_the_first_tool_result_without_sending_the_tools_request() -> None:
    sent: list[str] = []

    def recording(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.url.path)
        return wrong_key(request)

    kupe = client_on(recording)
    kupe.check_backend()
    text = await first_tool_result(kupe)
    assert "Kupe at https://kupe.example.net refused the credentials (401: Invalid API key)" in text
    assert "KUPE_API_KEY" in text
    assert sent == ["/health", "/api/v1/me"]
    assert "kupe_wrong_key" not in text


async def test_the_sandbox_passes_the_check_and_the_tools_answer() -> None:
    kupe = KupeClient(
        base_url="http://sandbox.test",
        credentials=Credentials(api_key=SecretStr(DEMO_API_KEY)),
        transport=httpx2.ASGITransport(app=create_app(SandboxSettings())),
    )
    assert await kupe.check_backend().problem() is None
    async with Client(create_server(Settings(), kupe)) as mcp:
        result = await mcp.call_tool("list_agents", {})
    assert not result.is_error


async def test_an_unreachable_host_is_not_judged_so_the_tools_say_what_happened() -> None:
    def refused(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused")

    kupe = client_on(refused)
    assert await kupe.check_backend().problem() is None


async def test_a_problem_is_checked_again_once_stale_and_clears_when_fixed() -> None:
    now = [0.0]
    answer: list[Handler] = [wrong_key]
    kupe = client_on(lambda request: answer[0](request))
    check = BackendCheck(kupe, recheck_s=30, clock=lambda: now[0])
    assert await check.problem() is not None
    answer[0] = lambda request: httpx2.Response(200, json={"user_id": "u-1", "auth": "api_key"})
    now[0] = 10.0
    assert await check.problem() is not None  # not stale yet: no new requests
    now[0] = 31.0
    assert await check.problem() is None


async def test_a_caller_with_its_own_credentials_is_not_held_by_the_servers_check() -> None:
    kupe = client_on(wrong_key)
    kupe.check_backend()
    tenant = kupe.with_credentials(Credentials(api_key=SecretStr("kupe_tenant_key")))
    health = await tenant.health()
    assert health.status == "ok"
