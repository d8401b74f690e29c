"""Toolset ``webhooks``: where Kupe posts call results, and the HMAC secret of the incoming webhook.

The signing secret is never shown by the read tools: Kupe is never asked to reveal it
and anything secret-looking in its answers is masked. ``rotate_webhook_secret`` is the
one tool whose result carries a secret: the new one, shown once.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from kupe_mcp.client import AgentWebhook, WebhookSecret, WebhookTest
from kupe_mcp.errors import ServerError
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import Page, View, page_of
from kupe_mcp.toolsets._types import AgentId, PageSize
from kupe_mcp.toolsets._types import Page as PageNo

toolset = Toolset("webhooks", "Per-agent webhooks: call-ended URL, test delivery, signing secret rotation.")

HIDDEN = "[hidden; rotate_webhook_secret issues a new one]"


class WebhookItem(View):
    agent_id: str | None = None
    agent_name: str | None = None
    incoming_enabled: bool | None = None
    outgoing_url: str | None = None
    outgoing_enabled: bool | None = None


def mask_secrets(value: Any) -> Any:
    """``value`` with every string under a key containing "secret" replaced by a placeholder."""
    if isinstance(value, dict):
        return {
            k: HIDDEN if "secret" in str(k).lower() and isinstance(v, str) and v else mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


@toolset.tool(title="List agent webhook URLs", read_only=True)
async def list_webhooks(ctx: Context, page: PageNo = 1, page_size: PageSize = 50) -> Page[WebhookItem]:
    """Which agents send their call results to a webhook, and to which URL (secrets hidden)."""
    rows = [mask_secrets(r.to_json()) for r in await kupe(ctx).list_my_webhooks()]
    return page_of(WebhookItem, rows, page=page, page_size=page_size)


@toolset.tool(title="Show webhook URL", read_only=True)
async def get_agent_webhook(ctx: Context, agent_id: AgentId) -> AgentWebhook:
    """Where Kupe sends call results: one agent's webhook URL and config. The secret is never shown."""
    found = await kupe(ctx).get_agent_webhooks(str(agent_id))
    return AgentWebhook.model_validate(mask_secrets(found.to_json()))


@toolset.tool(title="Set agent webhook", read_only=False, destructive=False, idempotent=True)
async def set_agent_webhook(
    ctx: Context,
    agent_id: AgentId,
    config: Annotated[
        dict[str, Any],
        Field(
            description="Sections to change, as get_agent_webhook shows them: "
            "outgoing {url, enabled, method, headers, body_template}, incoming {enabled}."
        ),
    ],
) -> AgentWebhook:
    """Send an agent's call results to a URL: create or change its call-ended webhook; applies from the next call."""
    saved = await kupe(ctx).put_agent_webhooks(str(agent_id), config)
    return AgentWebhook.model_validate(mask_secrets(saved.to_json()))


@toolset.tool(title="Rotate webhook secret", read_only=False, destructive=True, idempotent=False)
async def rotate_webhook_secret(ctx: Context, agent_id: AgentId) -> WebhookSecret:
    """Replace an agent's webhook signing secret (e.g. it leaked); the old one stops working at once.

    The result holds the new secret, shown only here: tell the user to store it.
    """
    return await kupe(ctx).rotate_webhook_secret(str(agent_id))


@toolset.tool(title="Test webhook", read_only=False, destructive=False, idempotent=False)
async def test_agent_webhook(ctx: Context, agent_id: AgentId) -> WebhookTest:
    """Check a webhook works: POSTs a sample call-ended event to the URL and reports the delivery."""
    try:
        result = await kupe(ctx).test_outgoing_webhook(str(agent_id))
    except ServerError as exc:
        if exc.status != 502:
            raise
        # The spec's 502 is "Downstream failed": the agent's URL, not Kupe, refused or never answered.
        raise ToolError(
            f"Kupe could not deliver the test event to agent {agent_id}'s call-ended URL ({exc.detail or 'no detail'})"
            ": check the URL with get_agent_webhook (change it with set_agent_webhook) and that it accepts POSTs, "
            "then test again."
        ) from exc
    if result.delivered is False and not result.url:
        raise ToolError(
            f"Agent {agent_id} has no call-ended webhook URL, so nothing was sent: set one with set_agent_webhook "
            '(config {"outgoing": {"url": "https://...", "enabled": true}}), then test again.'
        )
    return WebhookTest.model_validate(mask_secrets(result.to_json()))
