"""How a tool reaches its runtime: the ``ToolRuntime`` protocol and accessors over the call's Context.

The runtime itself (``kupe_mcp.runtime.KupeServer``) lives above this package; tools
depend only on what this protocol names, so the layers point one way.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from kupe_mcp.approvals import ApprovalDesk
from kupe_mcp.client import KupeClient
from kupe_mcp.config import Settings
from kupe_mcp.files import FormatsCache
from kupe_mcp.guards import CallGuards
from kupe_mcp.state import StateKeys, StateStore
from kupe_mcp.toolsets._wait import Pacing

__all__ = ["ToolRuntime", "approvals_of", "guards_of", "kupe", "refuse_server_disk", "server_of", "settings_of"]


@runtime_checkable
class ToolRuntime(Protocol):
    """What a tool may use of the server running it."""

    kupe_settings: Settings
    pacing: Pacing
    upload_formats: FormatsCache
    guards: CallGuards
    state: StateStore
    state_keys: StateKeys
    approvals: ApprovalDesk
    preview_labels: dict[tuple[str, str, str], tuple[float, str]]

    @property
    def multi_tenant(self) -> bool:
        """True on multi-tenant HTTP: each request brings its own Kupe credentials."""
        ...

    def client_for(self, ctx: Context) -> KupeClient: ...

    async def tenant_of(self, ctx: Context) -> str:
        """The Kupe account behind this call's credentials: what call-safety state is keyed by."""
        ...


def _runtime(ctx: Context) -> ToolRuntime:
    server = ctx.mcp_server
    if not isinstance(server, ToolRuntime):
        raise TypeError("kupe-app-mcp tools must run on a kupe_mcp.runtime.KupeServer")
    return server


def kupe(ctx: Context) -> KupeClient:
    """The Kupe client for this tool call."""
    return _runtime(ctx).client_for(ctx)


def settings_of(ctx: Context) -> Settings:
    """The server's settings (upload roots, limits), for tools that need them."""
    return _runtime(ctx).kupe_settings


def guards_of(ctx: Context) -> CallGuards:
    """The server's call-safety rules and their state (recent calls, confirmation tokens)."""
    return _runtime(ctx).guards


def approvals_of(ctx: Context) -> ApprovalDesk:
    """The server's approvals (their store and where the approval page is served)."""
    return _runtime(ctx).approvals


def server_of(ctx: Context) -> ToolRuntime:
    """The runtime serving this tool call (its pacing and caches)."""
    return _runtime(ctx)


def refuse_server_disk(ctx: Context, argument: str, instead: str) -> None:
    """On multi-tenant HTTP a tenant may not make the server read its own disk.

    Checked before the path is looked at, so the refusal says nothing about the operator's
    files (not even whether one exists).
    """
    if _runtime(ctx).multi_tenant:
        raise ToolError(
            f"{argument} is not available on this shared (multi-tenant) server, which never reads its own disk "
            f"for a caller: {instead}."
        )
