"""MCP Apps views, named for the tools that show them, and the app-only tools that are a view's buttons.

A tool declares its view with ``view=`` on ``Toolset.tool``; ``kupe_mcp.serve.apps`` serves the
pages. App-only tools are declared here, in ``APP_TOOLS``, which is not a toolset a person
switches on: each is served exactly when a served tool shows its view (``app_tools_for``).
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from kupe_mcp.toolsets._registry import Toolset

__all__ = ["APPROVAL_CARD", "APP_TOOLS", "BATCH_PROGRESS", "CALL_CARD", "USAGE_CHART"]

# place_call and start_batch: what will be dialled, with Approve and Decline
APPROVAL_CARD = "ui://kupe/approval-card.html"
CALL_CARD = "ui://kupe/call-card.html"
BATCH_PROGRESS = "ui://kupe/batch-progress.html"
USAGE_CHART = "ui://kupe/usage-chart.html"

APP_TOOLS = Toolset("apps", "The views' own buttons: app-only tools, never offered to the model.")


class CardAnswer(BaseModel):
    """The person's answer, as recorded."""

    approval_id: str
    status: str


@APP_TOOLS.tool(
    title="Answer a call approval (card only)",
    read_only=False,
    destructive=False,
    idempotent=True,
    open_world=False,
    view=APPROVAL_CARD,
    app_only=True,
)
async def answer_call_approval(
    ctx: Context,
    approval_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")],
    secret: Annotated[str, Field(min_length=16, max_length=128)],
    approve: bool,
) -> CardAnswer:
    """The approval card's Approve/Decline buttons; it needs the card's own secret."""
    from kupe_mcp.safety.channels import answer_from_card  # call safety loads with the first call, not at start

    # The secret reaches only the card (the result's _meta), never the model.
    return CardAnswer.model_validate(await answer_from_card(ctx, approval_id, secret, approve))
