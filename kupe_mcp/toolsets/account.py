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
    """Check which Kupe account and email you are connected as (user_id, email, name, auth).

    Use it first to test the login. Free; changes nothing.
    """
    return (await kupe(ctx).me()).to_json()


@toolset.tool(title="Get credit balance", read_only=True)
async def get_credit_balance(ctx: Context) -> dict[str, Any]:
    """How much credit is left: available balance (USD) and monthly cap use. Check it before calls or a campaign."""
    return as_dict(await kupe(ctx).credit_balance())
