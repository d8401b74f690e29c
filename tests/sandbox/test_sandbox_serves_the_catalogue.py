"""The sandbox answers every route the client declares (``@endpoint``), so no tool meets a missing route.

A route is missing when the app's router answers it: 404 ``Not Found`` (no such path) or 405
(no such method on the path). A 404 naming an object ("Agent ... not found") means the route is
served and the made-up id is unknown, which is what a served route should say.
"""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest

from kupe_mcp.client import ENDPOINTS, Endpoint
from kupe_mcp.sandbox import DEMO_BEARER_TOKEN

pytestmark = pytest.mark.anyio

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", UNKNOWN_ID, path)


async def route_missing(app: Any, method: str, path: str) -> bool:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        answer = await http.request(
            method,
            path,
            headers={"Authorization": f"Bearer {DEMO_BEARER_TOKEN}"},
            json=None if method in ("GET", "DELETE") else {},
        )
    if answer.status_code == 405:
        return True
    return answer.status_code == 404 and answer.json().get("detail") == "Not Found"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e.method} {e.path}" for e in ENDPOINTS])
async def test_the_sandbox_serves_every_catalogued_route(sandbox_app: Any, endpoint: Endpoint) -> None:
    assert not await route_missing(sandbox_app, endpoint.method, concrete(endpoint.path))


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/v1/no-such-route"), ("DELETE", "/api/v1/me"), ("PATCH", "/health")]
)
async def test_a_route_the_sandbox_lacks_is_recognised_as_missing(sandbox_app: Any, method: str, path: str) -> None:
    assert await route_missing(sandbox_app, method, path)


def test_the_catalogue_is_read_from_the_client_declarations() -> None:
    from kupe_mcp.client import KupeClient, endpoint_of

    assert len(ENDPOINTS) == len({(e.method, e.path) for e in ENDPOINTS}) > 100
    assert all(endpoint_of(getattr(KupeClient, e.client_method)) is e for e in ENDPOINTS)
