"""How a tool finds its Kupe client: the server carries a ClientProvider.

On stdio and single-tenant HTTP every call uses the server's credentials. On
multi-tenant HTTP (no server credentials) each request's own ``x-api-key`` or
``Authorization: Bearer`` header is used for that request only: it is read from the
request, wrapped in a ``SecretStr`` and never stored or logged.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.files import FormatsCache
from kupe_mcp.guards import CallGuards
from kupe_mcp.toolsets._wait import Pacing

__all__ = [
    "ClientProvider",
    "KupeServer",
    "credentials_from_headers",
    "guards_of",
    "kupe",
    "server_of",
    "settings_of",
]


def credentials_from_headers(headers: Any) -> Credentials:
    """Kupe credentials presented on an HTTP request (``x-api-key`` or ``Authorization: Bearer``)."""
    if headers is None:
        return Credentials()
    api_key = (headers.get("x-api-key") or "").strip()
    auth = (headers.get("authorization") or "").strip()
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    return Credentials(
        api_key=SecretStr(api_key) if api_key else None,
        bearer_token=SecretStr(bearer) if bearer else None,
    )


class ClientProvider:
    """Hands each tool call the Kupe client it must use."""

    def __init__(self, client: KupeClient, *, multi_tenant: bool) -> None:
        self.client = client
        self.multi_tenant = multi_tenant

    def for_context(self, ctx: Context) -> KupeClient:
        if not self.multi_tenant:
            return self.client
        creds = credentials_from_headers(ctx.headers)
        if not creds:
            raise ToolError(
                "This request carries no Kupe credentials: send your Kupe API key as the x-api-key header "
                "(or a session token as Authorization: Bearer)."
            )
        return self.client.with_credentials(creds)


class KupeServer(MCPServer[Any]):
    """An MCPServer that knows how to reach Kupe.

    ``pacing`` is how wait_* tools spend time (tests swap in a fake clock); ``upload_formats``
    caches Kupe's supported file types for the life of the server; ``guards`` holds the
    call-safety rules and their per-process state (recent calls, confirmation tokens).
    """

    def __init__(self, provider: ClientProvider, settings: Settings | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kupe = provider
        self.kupe_settings = settings or Settings()
        self.pacing = Pacing()
        self.upload_formats = FormatsCache()
        self.guards = CallGuards.from_settings(self.kupe_settings)
        # (tenant fingerprint, kind, id) -> (monotonic time, label) for call previews; see _safety._label.
        self.preview_labels: dict[tuple[str, str, str], tuple[float, str]] = {}


def _server(ctx: Context) -> KupeServer:
    server = ctx.mcp_server
    if not isinstance(server, KupeServer):
        raise TypeError("kupe-app-mcp tools must run on a KupeServer")
    return server


def kupe(ctx: Context) -> KupeClient:
    """The Kupe client for this tool call."""
    return _server(ctx).kupe.for_context(ctx)


def settings_of(ctx: Context) -> Settings:
    """The server's settings (upload roots, limits), for tools that need them."""
    return _server(ctx).kupe_settings


def guards_of(ctx: Context) -> CallGuards:
    """The server's call-safety rules and their per-process state (recent calls, confirmation tokens)."""
    return _server(ctx).guards


def server_of(ctx: Context) -> KupeServer:
    """The server running this tool call (its pacing and caches)."""
    return _server(ctx)
