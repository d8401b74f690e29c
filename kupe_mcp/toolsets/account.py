"""Toolset ``account``: who the server is acting as, and how much credit the account has left.

The balance lives here rather than in the opt-in ``billing`` toolset because it is the
one billing question everyone asks, and the one to check before placing calls.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context

from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import as_dict

toolset = Toolset("account", "Who the credentials belong to; credit left.", default=True)


@toolset.tool(title="Who am I", read_only=True)
async def whoami(ctx: Context) -> dict[str, Any]:
    """Return the Kupe user these credentials act as (user_id, email, name, auth: api_key or bearer).

    Use it first to check that the connection and credentials work. Free; changes nothing.
    """
    return (await kupe(ctx).me()).to_json()


@toolset.tool(title="Get credit balance", read_only=True)
async def get_credit_balance(ctx: Context) -> dict[str, Any]:
    """Get the account's available credit balance (USD) and monthly cap usage. Check it before large campaigns."""
    return as_dict(await kupe(ctx).credit_balance())
