"""Fault injection in-process and over a real loopback socket, plus SandboxServer and persistence."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette

from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings, create_app

pytestmark = pytest.mark.anyio

KEY = {"x-api-key": DEMO_API_KEY}


def _client(app: Starlette) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://sandbox.test", headers=KEY)


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("429", 429), ("503", 503), ("html", 502)])
async def test_faults_answer_with_their_status(kind: str, status: int) -> None:
    app = create_app(SandboxSettings(fault_rate=1.0, fault_kinds=(kind,), seed=1))
    async with _client(app) as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == status
    if kind == "html":
        assert response.headers["content-type"].startswith("text/html")
        assert "<html>" in response.text
    else:
        assert isinstance(response.json()["detail"], str)
    if kind == "429":
        assert response.headers["retry-after"] == "1"
    assert app.state.sandbox.faults_injected == 1


async def test_health_is_never_faulted_but_every_request_is_logged() -> None:
    app = create_app(SandboxSettings(fault_rate=1.0, fault_kinds=("500",)))
    async with _client(app) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/api/v1/me")).status_code == 500
    sandbox = app.state.sandbox
    assert sandbox.request_log == [("GET", "/health"), ("GET", "/api/v1/me")]
    assert sandbox.faults_injected == 1


async def test_fault_rate_can_be_flipped_at_runtime_and_is_reproducible_with_a_seed() -> None:
    runs = []
    for _ in range(2):
        app = create_app(SandboxSettings(fault_rate=0.5, fault_kinds=("500", "503"), seed=42))
        async with _client(app) as client:
            runs.append([(await client.get("/api/v1/me")).status_code for _ in range(12)])
            app.state.sandbox.settings.fault_rate = 0.0
            assert (await client.get("/api/v1/me")).status_code == 200
    assert runs[0] == runs[1]
    assert {200, 500, 503} >= set(runs[0])
    assert len(set(runs[0])) > 1


async def test_stall_waits_then_answers_normally() -> None:
    app = create_app(SandboxSettings(fault_rate=1.0, fault_kinds=("stall",), stall_s=0.05))
    async with _client(app) as client:
        assert (await client.get("/api/v1/me")).status_code == 200
    assert app.state.sandbox.faults_injected == 1


async def test_reset_in_process_surfaces_as_a_transport_error() -> None:
    app = create_app(SandboxSettings(fault_rate=1.0, fault_kinds=("reset",)))
    async with _client(app) as client:
        with pytest.raises(httpx2.TransportError):
            await client.get("/api/v1/me")


def test_server_over_loopback_serves_requests_and_shuts_down() -> None:
    with SandboxServer() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        with httpx2.Client(base_url=server.base_url, headers=KEY) as client:
            assert client.get("/health").json()["status"] == "healthy"
            assert client.get("/api/v1/me").json()["auth"] == "api_key"
        assert ("GET", "/api/v1/me") in server.sandbox.request_log


def test_reset_fault_over_a_socket_is_a_transport_error() -> None:
    settings = SandboxSettings(fault_rate=1.0, fault_kinds=("reset",))
    with SandboxServer(settings) as server, httpx2.Client(base_url=server.base_url, headers=KEY, timeout=5) as client:
        with pytest.raises(httpx2.TransportError):
            client.get("/api/v1/agents")
        server.sandbox.settings.fault_rate = 0.0
        assert client.get("/api/v1/agents").status_code == 200


def test_html_fault_over_a_socket_is_a_502_html_page() -> None:
    settings = SandboxSettings(fault_rate=1.0, fault_kinds=("html",))
    with SandboxServer(settings) as server, httpx2.Client(base_url=server.base_url, headers=KEY, timeout=5) as client:
        response = client.get("/api/v1/agents")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")


def test_stall_fault_over_a_socket_outlasts_a_short_client_timeout() -> None:
    settings = SandboxSettings(fault_rate=1.0, fault_kinds=("stall",), stall_s=0.5)
    with (
        SandboxServer(settings) as server,
        httpx2.Client(base_url=server.base_url, headers=KEY, timeout=0.1) as client,
        pytest.raises(httpx2.ReadTimeout),
    ):
        client.get("/api/v1/agents")


async def test_file_database_persists_state_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    async with _client(create_app(SandboxSettings(db_path=db))) as client:
        created = await client.post("/api/v1/agents/simple", json={"name": "Persistent"})
        agent_id = created.json()["agent"]["id"]
    async with _client(create_app(SandboxSettings(db_path=db))) as client:
        names = [a["name"] for a in (await client.get("/api/v1/agents")).json()]
        assert (await client.get(f"/api/v1/agents/{agent_id}")).status_code == 200
    assert names.count("Persistent") == 1
    assert len(names) == 2  # seeding happened once
