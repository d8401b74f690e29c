"""Fixtures for sandbox tests: a controllable clock, a fresh app and in-process clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx2
import pytest
from starlette.applications import Starlette

from kupe_mcp.sandbox import DEMO_API_KEY, DEMO_BEARER_TOKEN, Sandbox, SandboxSettings, create_app

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class FakeClock:
    """Injectable wall clock: tests advance time instead of sleeping."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Starlette:
    return create_app(SandboxSettings(clock=clock, call_step_s=2.0, seed=7))


@pytest.fixture
def sandbox(app: Starlette) -> Sandbox:
    sb: Sandbox = app.state.sandbox
    return sb


ClientFactory = Callable[..., httpx2.AsyncClient]


@pytest.fixture
def make_client(app: Starlette) -> ClientFactory:
    """Build an in-process client with arbitrary headers (e.g. another API key)."""

    def build(**headers: str) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://sandbox.test", headers=headers
        )

    return build


@pytest.fixture
async def client(make_client: ClientFactory) -> AsyncIterator[httpx2.AsyncClient]:
    async with make_client(**{"x-api-key": DEMO_API_KEY}) as c:
        yield c


@pytest.fixture
async def admin(make_client: ClientFactory) -> AsyncIterator[httpx2.AsyncClient]:
    async with make_client(authorization=f"Bearer {DEMO_BEARER_TOKEN}") as c:
        yield c


async def demo_agent_id(client: httpx2.AsyncClient) -> str:
    agents = (await client.get("/api/v1/agents")).json()
    agent_id: str = agents[0]["id"]
    return agent_id


async def phone_ids(client: httpx2.AsyncClient) -> dict[str, str]:
    """Country code -> phone line id for the caller's lines."""
    rows = (await client.get("/api/v1/phone")).json()["phone_numbers"]
    return {row["country_code"]: row["id"] for row in rows}
