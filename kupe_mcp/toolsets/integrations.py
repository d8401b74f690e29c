"""Toolset ``integrations``: custom HTTP tools, MCP-server tools, and which of them an agent may call.

HTTP and MCP tool definitions have identical CRUD routes, so ``_definition_tools``
declares both families from one template: each generated function still gets a real
name, docstring, typed arguments and annotations.

This module deliberately has no ``from __future__ import annotations``: the generated
functions' annotations use the factory's local descriptions, which string annotations
could not resolve later.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, NamedTuple
from uuid import UUID

from mcp.server.mcpserver import Context
from pydantic import BaseModel, ConfigDict, Field

from kupe_mcp.client import Ack, KupeClient, ToolDefinition
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import Page, View, Written, page_of
from kupe_mcp.toolsets._types import AgentId, PageSize
from kupe_mcp.toolsets._types import Page as PageNo

toolset = Toolset("integrations", "Custom HTTP and MCP-server tools and attaching them to agents.")

AgentToolId = Annotated[UUID, Field(description="From list_agent_tools.")]


class AgentToolRef(BaseModel):
    # No docstring on purpose: pydantic would copy it into every schema that uses this model.
    model_config = ConfigDict(extra="allow")

    tool_id: UUID = Field(description="From list_http_tools or list_mcp_tools.")
    tool_type: Literal["http", "mcp"] | None = Field(default=None, description="Which list the id is from.")
    config: dict[str, Any] | None = None


ToolRefs = Annotated[list[AgentToolRef], Field(max_length=50, description="Tools the agent may call.")]


class ToolItem(View):
    id: str | None = None
    name: str | None = None
    description: str | None = None


class AgentToolItem(View):
    id: str | None = None
    tool_id: str | None = None
    tool_type: str | None = None
    name: str | None = None


def _tool_refs(tools: list[AgentToolRef]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", exclude_none=True) for t in tools]


class DefinitionOps(NamedTuple):
    """The client's five CRUD methods for one tool-definition family (unbound, so mypy checks them)."""

    list: Callable[[KupeClient], Awaitable[list[ToolDefinition]]]
    get: Callable[[KupeClient, str], Awaitable[ToolDefinition]]
    create: Callable[[KupeClient, dict[str, Any]], Awaitable[ToolDefinition]]
    update: Callable[[KupeClient, str, dict[str, Any]], Awaitable[ToolDefinition]]
    delete: Callable[[KupeClient, str], Awaitable[Ack]]


def _definition_tools(
    kind: str, label: str, keys: str, ops: DefinitionOps, *, what: str, fields: str, aka: str
) -> None:
    """Declare list/get/create/update/delete_<kind>_tool(s) for one tool-definition family.

    ``what`` is the thing people connect (a REST API, an MCP server), ``fields`` what they change, ``aka`` what
    people call the tools (API integrations, connections).
    """
    id_desc = f"From list_{kind}_tools."
    def_desc = f"Kupe's JSON for the tool: {keys}."

    async def list_defs(ctx: Context, page: PageNo = 1, page_size: PageSize = 50) -> Page[ToolItem]:
        return page_of(ToolItem, await ops.list(kupe(ctx)), page=page, page_size=page_size)

    async def get_def(ctx: Context, tool_id: Annotated[UUID, Field(description=id_desc)]) -> ToolDefinition:
        return await ops.get(kupe(ctx), str(tool_id))

    async def create_def(
        ctx: Context, definition: Annotated[dict[str, Any], Field(description=def_desc)]
    ) -> ToolDefinition:
        return await ops.create(kupe(ctx), definition)

    async def update_def(
        ctx: Context,
        tool_id: Annotated[UUID, Field(description=id_desc)],
        definition: Annotated[dict[str, Any], Field(description=f"As create_{kind}_tool takes it; send it whole.")],
    ) -> ToolDefinition:
        return await ops.update(kupe(ctx), str(tool_id), definition)

    async def delete_def(ctx: Context, tool_id: Annotated[UUID, Field(description=id_desc)]) -> Written:
        ack = await ops.delete(kupe(ctx), str(tool_id))
        return Written(done="deleted", id=str(tool_id), message=ack.message)

    plans: list[tuple[Any, str, str, str, dict[str, Any]]] = [
        (
            list_defs,
            f"list_{kind}_tools",
            f"List my {label} tools ({aka})",
            f"All my custom {label} tools ({aka}): id, name. One agent's tools: list_agent_tools.",
            {"read_only": True},
        ),
        (
            get_def,
            f"get_{kind}_tool",
            f"Get {label} tool",
            f"Show one {label} tool's full configuration, in the shape create_{kind}_tool takes.",
            {"read_only": True},
        ),
        (
            create_def,
            f"create_{kind}_tool",
            f"Create {label} tool",
            f"Connect {what} agents can use during calls: a new {label} tool each time. Then attach_tools_to_agent.",
            {"read_only": False, "destructive": False, "idempotent": False},
        ),
        (
            update_def,
            f"update_{kind}_tool",
            f"Update {label} tool",
            f"Change a {label} tool ({fields}): replaces its definition for every agent's next calls.",
            {"read_only": False, "destructive": False, "idempotent": True},
        ),
        (
            delete_def,
            f"delete_{kind}_tool",
            f"Delete {label} tool",
            f"Delete a {label} tool for every agent. Cannot be undone (detach_tool_from_agent takes it from one).",
            {"read_only": False, "destructive": True, "idempotent": True},
        ),
    ]
    for fn, name, title, doc, hints in plans:
        fn.__name__ = fn.__qualname__ = name
        fn.__doc__ = doc
        toolset.tool(title=title, name=name, **hints)(fn)


_definition_tools(
    "http",
    "HTTP",
    "name, description, url, method (GET/POST...), headers, tool_schema (JSON Schema of the arguments)",
    DefinitionOps(
        KupeClient.list_http_tools,
        KupeClient.get_http_tool,
        KupeClient.create_http_tool,
        KupeClient.update_http_tool,
        KupeClient.delete_http_tool,
    ),
    what="a REST API or webhook endpoint",
    fields="URL, headers, arguments",
    aka="API integrations",
)
_definition_tools(
    "mcp",
    "MCP server",
    "name, description, server url, transport, auth headers, and which of the server's tools to expose",
    DefinitionOps(
        KupeClient.list_mcp_tools,
        KupeClient.get_mcp_tool,
        KupeClient.create_mcp_tool,
        KupeClient.update_mcp_tool,
        KupeClient.delete_mcp_tool,
    ),
    what="an MCP server",
    fields="URL, auth headers, tools",
    aka="connections",
)


@toolset.tool(title="List agent tools", read_only=True)
async def list_agent_tools(
    ctx: Context, agent_id: AgentId, page: PageNo = 1, page_size: PageSize = 50
) -> Page[AgentToolItem]:
    """Which tools (HTTP, MCP) an agent has, is linked to and can use during its calls. All your tools:
    list_http_tools.
    """
    return page_of(AgentToolItem, await kupe(ctx).list_agent_tools(str(agent_id)), page=page, page_size=page_size)


@toolset.tool(title="Attach tools to agent", read_only=False, destructive=False, idempotent=False)
async def attach_tools_to_agent(
    ctx: Context, agent_id: AgentId, tools: Annotated[ToolRefs, Field(min_length=1)]
) -> Written:
    """Give an agent more tools to use on its calls, keeping the ones it has. Create them first (create_http_tool)."""
    ack = await kupe(ctx).add_agent_tools(str(agent_id), _tool_refs(tools))
    return Written(done=f"attached {len(tools)}", id=str(agent_id), message=ack.message)


@toolset.tool(title="Replace agent tools", read_only=False, destructive=True, idempotent=True)
async def replace_agent_tools(
    ctx: Context,
    agent_id: AgentId,
    tools: ToolRefs,
    force_update: Annotated[bool, Field(description="Needed to change the tools of an active agent.")] = False,
) -> Written:
    """Give an agent only these tools and nothing else: sets exactly which tools it has; unlisted ones are taken
    away.
    """
    ack = await kupe(ctx).replace_agent_tools(str(agent_id), _tool_refs(tools), force_update=force_update)
    return Written(done=f"set {len(tools)}", id=str(agent_id), message=ack.message)


@toolset.tool(title="Detach tool from agent", read_only=False, destructive=True, idempotent=True)
async def detach_tool_from_agent(ctx: Context, agent_id: AgentId, tool_id: AgentToolId) -> Written:
    """Take one tool away from an agent; the tool itself is kept (delete_http_tool removes it)."""
    ack = await kupe(ctx).remove_agent_tool(str(agent_id), str(tool_id))
    return Written(done="detached", id=str(tool_id), message=ack.message)
