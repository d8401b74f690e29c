"""Serving the MCP server: stdio, and stateless streamable HTTP behind an auth gate.

HTTP has two modes:

* multi-tenant (no server credentials): each request must carry its own Kupe
  ``x-api-key`` or ``Authorization: Bearer`` header, used for that request only;
  a request with neither gets 401 before MCP sees it.
* single-tenant (server credentials set): clients present ``KUPE_MCP_TOKEN`` as a
  Bearer token. Without a token the server only listens on loopback.

DNS-rebinding (Host/Origin) protection stays on; the SDK enables it for loopback hosts.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from kupe_mcp.approval_page import approval_routes, page_hosts
from kupe_mcp.config import Settings
from kupe_mcp.errors import ConfigError
from kupe_mcp.runtime import KupeServer, close_client_on_shutdown, credentials_from_headers

__all__ = ["AuthGate", "http_app", "is_loopback"]

logger = logging.getLogger("kupe_mcp.http")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class AuthGate:
    """ASGI middleware that refuses MCP requests without the credentials the mode requires."""

    def __init__(self, app: ASGIApp, *, multi_tenant: bool, mcp_token: str | None) -> None:
        self.app = app
        self.multi_tenant = multi_tenant
        self._token = mcp_token.encode() if mcp_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self._problem(headers)
        if problem is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "unauthorized", "error_description": problem}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="kupe-app-mcp"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _problem(self, headers: dict[str, str]) -> str | None:
        if self.multi_tenant:
            if credentials_from_headers(headers):
                return None
            return "Send your Kupe API key as the x-api-key header (or a Kupe session as Authorization: Bearer)."
        if self._token is None:
            return None
        auth = headers.get("authorization", "")
        presented = auth[7:].strip().encode() if auth[:7].lower() == "bearer " else b""
        if presented and hmac.compare_digest(presented, self._token):
            return None
        return "Send KUPE_MCP_TOKEN as Authorization: Bearer <token>."


def http_app(server: KupeServer, settings: Settings, *, host: str, multi_tenant: bool) -> Any:
    """The streamable-HTTP ASGI app at ``/mcp``, stateless, behind the auth gate.

    Raises ConfigError when serving server credentials on a non-loopback address without KUPE_MCP_TOKEN.
    """
    token = settings.mcp_token.get_secret_value() if settings.mcp_token else None
    if not multi_tenant and token is None and not is_loopback(host):
        raise ConfigError(
            f"Refusing to serve Kupe credentials on {host} without KUPE_MCP_TOKEN: "
            "set KUPE_MCP_TOKEN, or bind to 127.0.0.1."
        )
    app = server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, host=host)
    gated = AuthGate(close_client_on_shutdown(app, server), multi_tenant=multi_tenant, mcp_token=token)
    server.approvals.served_over_http = True
    base = settings.approval_base_url
    page = approval_routes(server.approvals.store, public_base=base, hosts=page_hosts(host, base))
    return ApprovalsFirst(page, gated)


class ApprovalsFirst:
    """``/approvals/…`` goes to the approval page (a person's browser carries no MCP credentials); the rest to MCP."""

    def __init__(self, page: ASGIApp, app: ASGIApp) -> None:
        self.page = page
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/approvals/"):
            await self.page(scope, receive, send)
            return
        await self.app(scope, receive, send)
