"""What the rules and the preview need to know about the agent that will speak: one lookup, remembered briefly.

``label`` is the short per-tenant memo of preview labels (agent name, caller line). On
2026-07-28 a confirmation takes two rounds and the resolvers run in each: the memo spares Kupe
the second lookups and keeps both questions identical. ``agent_facts`` reads the agent once
for both its name (the preview) and its prompt's ``{{placeholders}}`` (the variable check).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from uuid import UUID

from mcp.server.mcpserver import Context

from kupe_mcp.safety.context import kupe, server_of
from kupe_mcp.safety.variables import agent_placeholders

__all__ = ["LABEL_TTL_S", "agent_facts", "forget_agent", "label", "placeholders_of"]

LABEL_TTL_S = 120.0


async def label(ctx: Context, kind: str, key: str, fetch: Callable[[], Awaitable[str]]) -> str:
    """A preview label, remembered ``LABEL_TTL_S`` per tenant."""
    labels = server_of(ctx).preview_labels
    slot = (kupe(ctx).credentials.fingerprint(), kind, key)
    now = time.monotonic()
    hit = labels.get(slot)
    if hit is not None and now - hit[0] < LABEL_TTL_S:
        return hit[1]
    text = await fetch()
    if len(labels) > 1024:
        labels.clear()
    labels[slot] = (now, text)
    return text


async def agent_facts(ctx: Context, agent_id: UUID | str) -> tuple[str, tuple[str, ...]]:
    """The agent's name and the placeholders its system prompt and welcome message use."""

    async def fetch() -> str:
        full = (await kupe(ctx).get_agent(str(agent_id))).to_json()
        row = full.get("agent") or {}
        return json.dumps({"name": row.get("name") or "unnamed agent", "placeholders": agent_placeholders(full)})

    facts = json.loads(await label(ctx, "agent", str(agent_id), fetch))
    return str(facts["name"]), tuple(facts["placeholders"])


async def placeholders_of(ctx: Context, agent_id: UUID | str | None) -> tuple[str, ...]:
    """The placeholders a call or batch must fill: the agent's, or none for a workflow."""
    return (await agent_facts(ctx, agent_id))[1] if agent_id else ()


def forget_agent(ctx: Context, agent_id: UUID | str) -> None:
    """Drop what is remembered about an agent that was just changed here, so its new prompt is checked at once.

    A change made elsewhere (the dashboard) is seen within ``LABEL_TTL_S``.
    """
    labels = server_of(ctx).preview_labels
    for slot in [s for s in labels if s[1] == "agent" and s[2] == str(agent_id)]:
        labels.pop(slot, None)
