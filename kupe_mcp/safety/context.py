"""How call-safety code reaches the runtime serving it: the ``SafetyRuntime`` protocol and accessors.

Safety sits below the toolsets and the serving layer, so it names only what it uses of the
runtime; ``kupe_mcp.toolsets._context.ToolRuntime`` extends this protocol with what tools need,
and ``kupe_mcp.serve.runtime`` provides both. The layers point one way.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mcp.server.mcpserver import Context

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Settings
from kupe_mcp.safety.page import ApprovalDesk
from kupe_mcp.safety.rules import CallGuards
from kupe_mcp.safety.state import StateKeys, StateStore

__all__ = ["SafetyRuntime", "approvals_of", "guards_of", "kupe", "runtime_of", "server_of", "settings_of"]


@runtime_checkable
class SafetyRuntime(Protocol):
    """What call safety may use of the server running it."""

    kupe_settings: Settings
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


def runtime_of(ctx: Context) -> SafetyRuntime:
    """The runtime behind a call: its request's lifespan context, checked against the protocol (a plain
    MCPServer's lifespan yields no such thing, so these tools cannot run there)."""
    runtime = ctx.request_context.lifespan_context
    if not isinstance(runtime, SafetyRuntime):
        raise TypeError("kupe-app-mcp tools must run with a kupe_mcp.serve.runtime.Runtime as the server's lifespan")
    return runtime


def kupe(ctx: Context) -> KupeClient:
    """The Kupe client for this tool call."""
    return runtime_of(ctx).client_for(ctx)


def settings_of(ctx: Context) -> Settings:
    """The server's settings (upload roots, limits), for tools that need them."""
    return runtime_of(ctx).kupe_settings


def guards_of(ctx: Context) -> CallGuards:
    """The server's call-safety rules and their state (recent calls, confirmation tokens)."""
    return runtime_of(ctx).guards


def approvals_of(ctx: Context) -> ApprovalDesk:
    """The server's approvals (their store and where the approval page is served)."""
    return runtime_of(ctx).approvals


def server_of(ctx: Context) -> SafetyRuntime:
    """The runtime serving this call (its state store and caches)."""
    return runtime_of(ctx)
