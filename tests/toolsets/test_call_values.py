"""place_call's variable_values: sent as the spec's JSON body, and reported honestly when Kupe ignores them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx2
import pytest

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Settings
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.serve.server import create_server
from kupe_mcp.toolsets import calls
from tests._approvals import form_client
from tests._mcp import call, say_yes
from tests.conftest import SANDBOX_URL
from tests.toolsets.conftest import Serve, api_key

pytestmark = pytest.mark.anyio

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]
VALUES = {"name": "Ada", "appointment_date": "Monday"}  # every placeholder of the demo agent's prompt


def ignoring_the_body(app: ASGI) -> ASGI:
    """A Kupe whose create_call route "does not accept a JSON body" (Kupe's docs): the body never arrives."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") == "/api/call/create_call":
            more = True
            while more:
                more = bool((await receive()).get("more_body"))

            async def empty() -> Any:
                return {"type": "http.request", "body": b"", "more_body": False}

            await app(scope, empty, send)
            return
        await app(scope, receive, send)

    return wrapped


async def test_values_kupe_shows_on_the_session_are_reported_applied(serve: Serve) -> None:
    async with serve(calls) as mcp:
        placed = await call(
            mcp, "place_call", phone_number="+919876543210", agent_id=DEMO_AGENT_ID, variable_values=VALUES
        )
    assert placed["placed"] is True
    assert placed["variable_values_applied"] is True
    assert "variable_values_note" not in placed


async def test_values_kupe_did_not_apply_are_reported_instead_of_silent_success(
    sandbox_app: Any, client_mode: str
) -> None:
    kupe = KupeClient(
        base_url=SANDBOX_URL, credentials=api_key(), transport=httpx2.ASGITransport(app=ignoring_the_body(sandbox_app))
    )
    server = create_server(Settings(toolsets=("calls",), calling_hours="off", approval_proof="client"), kupe)
    async with form_client(server, client_mode, say_yes) as mcp:
        placed = await call(
            mcp, "place_call", phone_number="+919876543210", agent_id=DEMO_AGENT_ID, variable_values=VALUES
        )
    assert placed["placed"] is True
    assert placed["variable_values_applied"] is False
    assert "shows the variable_values were not applied" in placed["variable_values_note"]
    assert "create_batch" in placed["variable_values_note"]
