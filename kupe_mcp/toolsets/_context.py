"""How a tool reaches its runtime: the ``ToolRuntime`` protocol and accessors over the call's Context.

The runtime itself (``kupe_mcp.serve.runtime.Runtime``, the server's lifespan context) lives above this package; tools
depend only on what this protocol names, so the layers point one way. ``ToolRuntime`` extends
call safety's ``SafetyRuntime`` with what only tools use (polling pace, upload formats).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from kupe_mcp.safety.context import SafetyRuntime, approvals_of, guards_of, kupe, settings_of
from kupe_mcp.toolsets._files import FormatsCache
from kupe_mcp.toolsets._wait import Pacing

__all__ = ["ToolRuntime", "approvals_of", "guards_of", "kupe", "refuse_server_disk", "server_of", "settings_of"]


@runtime_checkable
class ToolRuntime(SafetyRuntime, Protocol):
    """What a tool may use of the server running it."""

    pacing: Pacing
    upload_formats: FormatsCache


def _runtime(ctx: Context) -> ToolRuntime:
    runtime = ctx.request_context.lifespan_context
    if not isinstance(runtime, ToolRuntime):
        raise TypeError("kupe-app-mcp tools must run with a kupe_mcp.serve.runtime.Runtime as the server's lifespan")
    return runtime


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
