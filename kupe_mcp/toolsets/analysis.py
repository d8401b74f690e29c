"""Toolset ``analysis``: post-call analysis rules and which of them run after an agent's calls.

A rule is a prompt plus an output JSON Schema; after each call Kupe fills the schema
from the transcript (results appear on the call in get_call_analytics).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from kupe_mcp.client import AnalysisRule, PostAnalysis
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import Page, View, Written, page_of
from kupe_mcp.toolsets._types import AgentId, PageSize
from kupe_mcp.toolsets._types import Page as PageNo

toolset = Toolset("analysis", "Post-call analysis rules and attaching them to agents.")

RuleId = Annotated[UUID, Field(description="From list_analysis_rules.")]
RuleDefinition = Annotated[
    dict[str, Any],
    Field(
        description="Rule JSON: name, description, rule_type (e.g. structured_output), prompt, "
        "output_schema (JSON Schema of the fields to extract), is_active."
    ),
]
# The same JSON again: a model reads create_analysis_rule's description of it in the same list.
RuleUpdate = Annotated[dict[str, Any], Field(description="As create_analysis_rule takes it.")]


class RuleItem(View):
    id: str | None = None
    name: str | None = None
    rule_type: str | None = None
    is_active: bool | None = None


class AgentPostAnalysis(BaseModel):
    """An agent's post-call analysis configuration rows."""

    agent_id: str
    post_analysis: list[PostAnalysis]


class AttachedRules(BaseModel):
    """The rules now attached to an agent."""

    agent_id: str
    rule_ids: list[str]
    message: str | None = None


@toolset.tool(title="Show my analysis rules", read_only=True)
async def list_analysis_rules(ctx: Context, page: PageNo = 1, page_size: PageSize = 50) -> Page[RuleItem]:
    """Show all my post-call analysis rules: id, name, type; set_agent_analysis_rules attaches them."""
    return page_of(RuleItem, await kupe(ctx).list_analysis_rules(), page=page, page_size=page_size)


@toolset.tool(title="Get analysis rule", read_only=True)
async def get_analysis_rule(ctx: Context, rule_id: RuleId) -> AnalysisRule:
    """One post-call analysis rule in full: what it asks for (prompt) and its output schema."""
    return await kupe(ctx).get_analysis_rule(str(rule_id))


@toolset.tool(title="Create analysis rule", read_only=False, destructive=False, idempotent=False)
async def create_analysis_rule(ctx: Context, definition: RuleDefinition) -> AnalysisRule:
    """Create a post-call analysis rule: what to work out from every call (sentiment, agreed to pay...); runs once
    attached.
    """
    return await kupe(ctx).create_analysis_rule(definition)


@toolset.tool(title="Update analysis rule", read_only=False, destructive=False, idempotent=True)
async def update_analysis_rule(ctx: Context, rule_id: RuleId, definition: RuleUpdate) -> AnalysisRule:
    """Change or tweak a rule, e.g. what it captures; every agent it is attached to uses the new version on its next
    calls.
    """
    return await kupe(ctx).update_analysis_rule(str(rule_id), definition)


@toolset.tool(title="Delete a rule for good", read_only=False, destructive=True, idempotent=True)
async def delete_analysis_rule(ctx: Context, rule_id: RuleId) -> Written:
    """Delete a rule permanently: agents stop running it; past call results are kept. Cannot be undone."""
    ack = await kupe(ctx).delete_analysis_rule(str(rule_id))
    return Written(done="deleted", id=str(rule_id), message=ack.message)


@toolset.tool(title="Duplicate analysis rule", read_only=False, destructive=False, idempotent=False)
async def duplicate_analysis_rule(ctx: Context, rule_id: RuleId) -> AnalysisRule:
    """Copy a rule to experiment without touching the original; the copy is unattached, with a new id."""
    return await kupe(ctx).duplicate_analysis_rule(str(rule_id))


@toolset.tool(title="Show post-call analysis setup", read_only=True)
async def get_agent_post_analysis(ctx: Context, agent_id: AgentId) -> AgentPostAnalysis:
    """What an agent does automatically after each call ends: structured output and HTTP actions."""
    rows = await kupe(ctx).get_agent_post_analysis(str(agent_id))
    return AgentPostAnalysis(agent_id=str(agent_id), post_analysis=rows)


@toolset.tool(title="Set what an agent does after calls", read_only=False, destructive=False, idempotent=True)
async def set_agent_post_analysis(
    ctx: Context,
    agent_id: AgentId,
    config: Annotated[
        dict[str, Any],
        Field(description="Post-call analysis JSON as get_agent_post_analysis shows it (prompt, output schema...)."),
    ],
) -> PostAnalysis:
    """Set what happens automatically after each call: structured output and HTTP actions pushing results (e.g. to a
    CRM).
    """
    body = {**config, "agent_id": str(agent_id)}
    return await kupe(ctx).upsert_agent_post_analysis(str(agent_id), body)


@toolset.tool(title="List agent analysis rules", read_only=True)
async def list_agent_analysis_rules(
    ctx: Context, agent_id: AgentId, page: PageNo = 1, page_size: PageSize = 50
) -> Page[RuleItem]:
    """Which analysis rules run after one agent's calls."""
    rules = await kupe(ctx).list_agent_attached_rules(str(agent_id))
    return page_of(RuleItem, rules, page=page, page_size=page_size)


@toolset.tool(title="Attach analysis rules to an agent", read_only=False, destructive=True, idempotent=True)
async def set_agent_analysis_rules(
    ctx: Context,
    agent_id: AgentId,
    rule_ids: Annotated[
        list[UUID], Field(max_length=50, description="The complete set of rule ids (list_analysis_rules).")
    ],
) -> AttachedRules:
    """Choose exactly which rules run after an agent's calls (attach them): unlisted rules are detached; [] detaches
    all.
    """
    ids = [str(r) for r in rule_ids]
    ack = await kupe(ctx).set_agent_attached_rules(str(agent_id), ids)
    return AttachedRules(agent_id=str(agent_id), rule_ids=ids, message=ack.message)
