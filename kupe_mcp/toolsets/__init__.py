"""The MCP tools, one module per toolset; ``TOOLSETS`` is the registry in its fixed order."""

from __future__ import annotations

from kupe_mcp.toolsets import (
    account,
    admin,
    agents,
    analysis,
    billing,
    calls,
    campaigns,
    integrations,
    knowledge,
    phone,
    tuning,
    webhooks,
)
from kupe_mcp.toolsets._apps import APP_TOOLS
from kupe_mcp.toolsets._registry import (
    Toolset,
    ToolSpec,
    app_tools_for,
    select_tools,
    unavailable_reason,
    validate_registry,
)

__all__ = [
    "APP_TOOLS",
    "TOOLSETS",
    "ToolSpec",
    "Toolset",
    "app_tools_for",
    "select_tools",
    "unavailable_reason",
    "validate_registry",
]

TOOLSETS: tuple[Toolset, ...] = (
    account.toolset,
    agents.toolset,
    tuning.toolset,
    phone.toolset,
    calls.toolset,
    knowledge.toolset,
    campaigns.toolset,
    integrations.toolset,
    analysis.toolset,
    webhooks.toolset,
    billing.toolset,
    admin.toolset,
)
