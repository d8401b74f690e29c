"""Fixtures for the opt-in toolsets: a server holding just the toolsets under test, on the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import ModuleType
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_API_KEY
from kupe_mcp.serve.server import create_server
from tests._approvals import FORM_ONLY, declared_elicitation
from tests._mcp import fail, say_yes
from tests.conftest import SANDBOX_URL

Serve = Callable[..., AbstractAsyncContextManager[Client]]


def sandbox_client(app: Any, credentials: Credentials) -> KupeClient:
    return KupeClient(base_url=SANDBOX_URL, credentials=credentials, transport=httpx2.ASGITransport(app=app))


def api_key(secret: str = DEMO_API_KEY) -> Credentials:
    return Credentials(api_key=SecretStr(secret))


def bearer(token: str) -> Credentials:
    return Credentials(bearer_token=SecretStr(token))


@pytest.fixture
def serve(sandbox_app: Any, client_mode: str) -> Serve:
    """``async with serve(module, credentials=...) as mcp``: an MCP client on a server with that module's tools.

    Calling hours are off (tests run at any hour) and the client's person confirms every call.
    """

    @asynccontextmanager
    async def connect(*modules: ModuleType, credentials: Credentials | None = None) -> AsyncIterator[Client]:
        kupe = sandbox_client(sandbox_app, credentials or api_key())
        settings = Settings(
            toolsets=tuple(m.toolset.name for m in modules), calling_hours="off", approval_proof="client"
        )
        with declared_elicitation(FORM_ONLY):  # the person ticks a form (URL elicitation would outrank it)
            async with Client(create_server(settings, kupe), mode=client_mode, elicitation_callback=say_yes) as c:
                yield c

    return connect


def requests_to_kupe(sandbox_app: Any) -> int:
    """How many requests the sandbox has received so far."""
    return len(sandbox_app.state.sandbox.request_log)


async def refused_before_kupe(mcp: Client, sandbox_app: Any, *cases: tuple[str, dict[str, Any], str]) -> None:
    """Each ``(tool, arguments, words)`` call is refused saying ``words``, and none of them reaches Kupe."""
    before = requests_to_kupe(sandbox_app)
    for tool, args, words in cases:
        assert words in await fail(mcp, tool, **args), (tool, args)
    assert requests_to_kupe(sandbox_app) == before


__all__ = ["Serve", "api_key", "bearer", "refused_before_kupe", "requests_to_kupe", "sandbox_client"]
