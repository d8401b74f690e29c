"""Toolset ``phone``: the user's phone lines and which agent answers each."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from kupe_mcp.client import PhoneMapping
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import Page, View, page_of
from kupe_mcp.toolsets._types import AgentId, PageSize, PhoneNumberId, WorkflowId
from kupe_mcp.toolsets._types import Page as PageNo

toolset = Toolset("phone", "Phone lines and inbound line-to-agent mappings.", default=True)


class LineItem(View):
    id: str
    phone_number: str | None = None
    friendly_name: str | None = None
    country_code: str | None = None
    agent_id: str | None = None
    workflow_id: str | None = None
    is_active: bool | None = None


class Mappings(BaseModel):
    """Where the asked-about line(s) route."""

    mappings: list[PhoneMapping]


def _exactly_one(**ids: object) -> None:
    given = [name for name, value in ids.items() if value is not None]
    if len(given) != 1:
        names = " or ".join(ids)
        raise ToolError(f"Pass exactly one of {names} (got {len(given)}).")


@toolset.tool(title="List phone numbers", read_only=True)
async def list_phone_numbers(ctx: Context, page: PageNo = 1, page_size: PageSize = 50) -> Page[LineItem]:
    """Which phone numbers (lines) I have: id, E.164 number, country, the agent answering each."""
    return page_of(LineItem, await kupe(ctx).list_phone_numbers(), page=page, page_size=page_size)


@toolset.tool(title="Map phone line", read_only=False, destructive=False, idempotent=True)
async def map_phone(
    ctx: Context,
    phone_number_id: PhoneNumberId,
    agent_id: AgentId | None = None,
    workflow_id: WorkflowId | None = None,
) -> PhoneMapping:
    """Choose which agent (bot) or workflow answers incoming calls on a phone number or line: route the number to it.

    To take a line from a bot, map it to another.
    """
    _exactly_one(agent_id=agent_id, workflow_id=workflow_id)
    return await kupe(ctx).create_phone_mapping(
        str(phone_number_id),
        agent_id=str(agent_id) if agent_id else None,
        workflow_id=str(workflow_id) if workflow_id else None,
    )


@toolset.tool(title="Who answers a number", read_only=True)
async def get_phone_mapping(
    ctx: Context,
    agent_id: AgentId | None = None,
    phone_number_id: PhoneNumberId | None = None,
) -> Mappings:
    """Who answers a number: the agent a line rings, or the line an agent answers (pass exactly one id)."""
    _exactly_one(agent_id=agent_id, phone_number_id=phone_number_id)
    client = kupe(ctx)
    if agent_id is not None:
        return Mappings(mappings=await client.get_phone_mapping_for_agent(str(agent_id)))
    return Mappings(mappings=[await client.get_phone_mapping(str(phone_number_id))])
