"""KupeClient: one async method per Kupe REST operation (see ``_catalogue.ENDPOINTS``).

Methods are thin: they name the route, shape the query and body exactly as Kupe
expects, and validate the answer into a model where the spec defines one. Everything
about auth, retries and errors lives in ``KupeHTTP.request``.
"""

from __future__ import annotations

from typing import Any

from kupe_mcp.client._http import KupeHTTP
from kupe_mcp.client._models import Me

__all__ = ["KupeClient"]

JSON = Any


class KupeClient(KupeHTTP):
    """The Kupe App REST API (``https://api.kupe.in``), typed."""

    # -- Service and current user -------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """``GET /health``: public readiness probe; needs no credentials."""
        result: dict[str, Any] = await self.request("GET", "/health", auth=False)
        return result

    async def me(self) -> Me:
        """``GET /api/v1/me``: the user the credentials belong to."""
        return Me.model_validate(await self.request("GET", "/api/v1/me"))
