"""Every use of the MCP SDK's private API, in one place.

``MCPServer`` has no public hook for three things this server needs, so it reaches into the SDK here and nowhere
else (``tests/test_sdk_hooks.py`` fails if another module does):

- ``MCPServer._tool_manager``: swapped for a manager that registers the selected tools on first use (cold start),
  and read to look a tool's parameters up before a call (strict arguments).
- ``MCPServer._lowlevel_server.add_request_handler``: ``completion/complete`` and ``logging/setLevel`` handlers that
  get the request context (the caller's credentials), which ``@completion`` does not give.
- ``MCPServer._handle_list_resources``: overridden so ``resources/list`` sees the request context (recent agents and
  calls need the caller's key).

``check_hooks()`` verifies each of them against the installed SDK and names the one that changed; the test calls it,
so an SDK upgrade that moves one fails loudly instead of silently losing a feature.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import ToolManager
from mcp.server.mcpserver.tools.base import Tool

__all__ = [
    "HOOKS",
    "ContextualResourceList",
    "add_request_handler",
    "check_hooks",
    "get_tool",
    "put_tool",
    "replace_tool_manager",
    "tool_manager",
]

HOOKS: tuple[str, ...] = (
    "MCPServer._tool_manager",
    "MCPServer._lowlevel_server.add_request_handler",
    "MCPServer._handle_list_resources",
    "ToolManager._tools",
)

LifespanT = TypeVar("LifespanT")


def tool_manager(server: MCPServer[Any]) -> ToolManager:
    """The server's tool manager (hook ``MCPServer._tool_manager``)."""
    return server._tool_manager


def replace_tool_manager(server: MCPServer[Any], manager: ToolManager) -> None:
    """Install ``manager`` as the server's tool manager (hook ``MCPServer._tool_manager``)."""
    server._tool_manager = manager


def get_tool(server: MCPServer[Any], name: str) -> Tool | None:
    """A registered tool by name, without listing them all (hook ``MCPServer._tool_manager``)."""
    return server._tool_manager.get_tool(name)


def put_tool(manager: ToolManager, tool: Tool) -> None:
    """Register an already built ``Tool`` (hook ``ToolManager._tools``): ``add_tool`` takes only a function and
    builds the tool's models itself, which a tool listed from stored schemas defers to its first call."""
    manager._tools[tool.name] = tool


def add_request_handler(
    server: MCPServer[Any],
    method: str,
    params_type: type[Any],
    handler: Callable[[ServerRequestContext[Any], Any], Awaitable[Any]],
) -> None:
    """Register a low-level request handler (hook ``MCPServer._lowlevel_server.add_request_handler``)."""
    server._lowlevel_server.add_request_handler(method, params_type, handler)


class ContextualResourceList(MCPServer[LifespanT]):
    """``resources/list`` answered by ``list_resources_in(context)``, which gets the request context.

    Hook ``MCPServer._handle_list_resources``: the SDK binds it as the ``resources/list`` handler in ``__init__``;
    its public ``list_resources()`` takes no context.
    """

    async def list_resources_in(self, context: Context[Any, Any]) -> list[types.Resource]:
        return await self.list_resources()

    async def _handle_list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        context = Context(request_context=ctx, mcp_server=self)
        return types.ListResourcesResult(resources=await self.list_resources_in(context))


def check_hooks() -> list[str]:
    """One sentence per private hook the installed SDK no longer offers as this module uses it (empty = all fine)."""
    problems: list[str] = []
    server: ContextualResourceList[Any] = ContextualResourceList(name="kupe-sdk-hook-check")

    manager = getattr(server, "_tool_manager", None)
    if not isinstance(manager, ToolManager):
        problems.append(f"MCPServer._tool_manager is {type(manager).__name__}, not a ToolManager")
    else:
        for method in ("get_tool", "list_tools", "add_tool", "remove_tool", "call_tool"):
            if not callable(getattr(manager, method, None)):
                problems.append(f"MCPServer._tool_manager has no {method}()")
        if not isinstance(getattr(manager, "_tools", None), dict):
            problems.append("ToolManager._tools is no longer the dict of registered tools")

    lowlevel = getattr(server, "_lowlevel_server", None)
    register = getattr(lowlevel, "add_request_handler", None)
    lookup = getattr(lowlevel, "get_request_handler", None)
    if not callable(register) or not callable(lookup):
        problems.append("MCPServer._lowlevel_server.add_request_handler (or get_request_handler) is gone")
    else:
        params = list(inspect.signature(register).parameters)
        if params[:3] != ["method", "params_type", "handler"]:
            problems.append(f"MCPServer._lowlevel_server.add_request_handler takes {params}, not method/params/handler")
        entry = lookup("resources/list")
        bound = getattr(entry, "handler", None)
        if getattr(bound, "__func__", None) is not ContextualResourceList._handle_list_resources:
            problems.append(
                "MCPServer._handle_list_resources is no longer the resources/list handler, so an override is ignored"
            )

    base = getattr(MCPServer, "_handle_list_resources", None)
    if base is None:
        problems.append("MCPServer._handle_list_resources is gone")
    elif list(inspect.signature(base).parameters) != ["self", "ctx", "params"]:
        problems.append(f"MCPServer._handle_list_resources takes {list(inspect.signature(base).parameters)}")
    return problems
