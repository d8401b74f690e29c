"""Serving the MCP server: stdio, and stateless streamable HTTP behind an auth gate.

HTTP has two modes:

* multi-tenant (no server credentials): each request must carry its own Kupe
  ``x-api-key`` or ``Authorization: Bearer`` header, used for that request only;
  a request with neither gets 401 before MCP sees it.
* single-tenant (server credentials set): clients present ``KUPE_MCP_TOKEN`` as a
  Bearer token. Without a token the server only listens on loopback.

DNS-rebinding (Host/Origin) protection stays on; the SDK enables it for loopback hosts.

A plain ``GET /mcp`` (a person's browser, a health probe: no ``text/event-stream`` in Accept, no session) is answered
at once with a short page saying what this is, instead of the SDK's event stream that never ends or its 406.
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

__all__ = ["AuthGate", "Landing", "http_app", "is_loopback"]

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


_TEXT = (
    "kupe-app-mcp: an MCP server for the Kupe App voice-agent platform (api.kupe.in).\n"
    "This URL is an MCP endpoint (streamable HTTP): connect an MCP client to it; a browser has nothing to show here.\n"
    "{auth}\n"
)
_HTML = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>kupe-app-mcp</title>"
    "<h1>kupe-app-mcp</h1><p>An MCP server for the Kupe App voice-agent platform (api.kupe.in).</p>"
    "<p>This URL is an MCP endpoint (streamable HTTP): connect an MCP client to it, e.g. "
    "<code>claude mcp add --transport http kupe &lt;this URL&gt;</code>. A browser has nothing to show here.</p>"
    "<p>{auth}</p></html>\n"
)


class Landing:
    """ASGI middleware: answer a GET that is not an MCP stream request with a short explanation (200)."""

    def __init__(self, app: ASGIApp, *, path: str, auth: str) -> None:
        self.app = app
        self.paths = {path, path.rstrip("/") + "/", "/"}
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in {"GET", "HEAD"} or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if "text/event-stream" in headers.get("accept", "").lower() or "mcp-session-id" in headers:
            await self.app(scope, receive, send)
            return
        html = "text/html" in headers.get("accept", "").lower()
        body = (_HTML if html else _TEXT).format(auth=self.auth).encode()
        content_type = b"text/html; charset=utf-8" if html else b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


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
    if multi_tenant:
        auth = "Each request must carry its own Kupe API key as the x-api-key header."
    elif token is not None:
        auth = "Clients must present the server's MCP token as Authorization: Bearer <token>."
    else:
        auth = "This server uses its own Kupe credentials; it listens on loopback only."
    return ApprovalsFirst(page, Landing(gated, path="/mcp", auth=auth))


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
