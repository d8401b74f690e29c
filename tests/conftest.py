"""Shared fixtures: the embedded sandbox in-process, a Kupe client on it, and MCP clients in both protocol modes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.runtime import KupeServer
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxSettings, create_app
from kupe_mcp.server import create_server
from tests._mcp import say_yes

SANDBOX_URL = "http://sandbox.kupe.local"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's stdio servers keep their call-safety SQLite file in a fresh folder, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def sandbox_app() -> Any:
    """A fresh sandbox whose calls complete at once (no waiting in tests)."""
    return create_app(SandboxSettings(call_step_s=0))


def make_kupe(app: Any, api_key: str = DEMO_API_KEY) -> KupeClient:
    """A KupeClient talking to ``app`` in-process."""
    return KupeClient(
        base_url=SANDBOX_URL,
        credentials=Credentials(api_key=SecretStr(api_key)),
        transport=httpx2.ASGITransport(app=app),
    )


@pytest.fixture
async def kupe_client(sandbox_app: Any) -> AsyncIterator[KupeClient]:
    async with make_kupe(sandbox_app) as client:
        yield client


ServerFactory = Callable[..., KupeServer]


@pytest.fixture
def make_server(sandbox_app: Any) -> ServerFactory:
    """Build a kupe-app-mcp server on the sandbox; keyword arguments become Settings fields."""

    def factory(**settings: Any) -> KupeServer:
        settings.setdefault("toolsets", ("all",))
        # Tests run at any hour: calling hours are tested on their own (tests/guards, test_call_safety).
        settings.setdefault("calling_hours", "off")
        return create_server(Settings(**settings), make_kupe(sandbox_app))

    return factory


@pytest.fixture(params=["auto", "legacy"])
def client_mode(request: pytest.FixtureRequest) -> str:
    """Both protocol generations: 2026-07-28 (auto) and the 2025-11-25 initialize handshake (legacy)."""
    mode: str = request.param
    return mode


@pytest.fixture
async def mcp(make_server: ServerFactory, client_mode: str) -> AsyncIterator[Client]:
    """An MCP client connected in-process to a server with every toolset; its person confirms every call."""
    async with Client(make_server(), mode=client_mode, elicitation_callback=say_yes) as client:
        yield client
