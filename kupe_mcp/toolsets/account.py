"""Toolset ``account``: who the server is acting as."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from kupe_mcp.client import Me
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset

toolset = Toolset("account", "Who the credentials belong to.", default=True)


@toolset.tool(title="Who am I", read_only=True)
async def whoami(ctx: Context) -> Me:
    """Return the Kupe user these credentials act as (user_id, email, name, auth: api_key or bearer).

    Use it first to check that the connection and credentials work. Free; changes nothing.
    """
    return await kupe(ctx).me()
