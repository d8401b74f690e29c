"""Toolset ``account``: who the server is acting as, and how much credit the account has left.

The balance lives here rather than in the opt-in ``billing`` toolset because it is the
one billing question everyone asks, and the one to check before placing calls.
"""

from __future__ import annotations

from mcp.server.mcpserver import Context

from kupe_mcp.client import CreditBalance, Me
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset

toolset = Toolset("account", "Who the credentials belong to; credit left.", default=True)


@toolset.tool(title="Who am I", read_only=True)
async def whoami(ctx: Context) -> Me:
    """Which account, email and user this API key belongs to (GET /me): checks the login."""
    return await kupe(ctx).me()


@toolset.tool(title="Get credit balance", read_only=True)
async def get_credit_balance(ctx: Context) -> CreditBalance:
    """How much credit is left, can I afford calls or a campaign: available balance (USD) and monthly cap use."""
    return await kupe(ctx).credit_balance()
