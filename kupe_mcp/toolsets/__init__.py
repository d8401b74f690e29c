"""The MCP tools, one module per toolset; ``TOOLSETS`` is the registry in its fixed order.

The toolset modules are imported on first use of ``TOOLSETS``, not with this package: answering
``initialize`` needs only the helpers (``_context``, ``_wait`` ...), and cold start is measured.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from typing import TYPE_CHECKING, Any

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
    "BEARER_ONLY",
    "NAMES",
    "TOOLSETS",
    "ToolSpec",
    "Toolset",
    "app_tools_for",
    "load",
    "select_tools",
    "unavailable_reason",
    "validate_registry",
]

# Each toolset's name is its module's name; the order is the registry's (tests check both against TOOLSETS).
NAMES: tuple[str, ...] = (
    "account",
    "agents",
    "tuning",
    "phone",
    "calls",
    "knowledge",
    "campaigns",
    "integrations",
    "analysis",
    "webhooks",
    "billing",
    "admin",
)
BEARER_ONLY = frozenset({"admin"})

if TYPE_CHECKING:
    TOOLSETS: tuple[Toolset, ...]
    APP_TOOLS: Toolset


def load(names: Iterable[str]) -> tuple[Toolset, ...]:
    """The named toolsets in the registry's order, importing only their modules (names must be in ``NAMES``)."""
    wanted = set(names)
    return tuple(import_module(f"{__name__}.{module}").toolset for module in NAMES if module in wanted)


def __getattr__(name: str) -> Any:
    if name == "TOOLSETS":
        loaded = tuple(import_module(f"{__name__}.{module}").toolset for module in NAMES)
        globals()["TOOLSETS"] = loaded
        return loaded
    if name == "APP_TOOLS":  # the views' buttons: loaded with the first view, like the toolsets
        app_tools: Toolset = import_module(f"{__name__}._apps").APP_TOOLS
        globals()["APP_TOOLS"] = app_tools
        return app_tools
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
